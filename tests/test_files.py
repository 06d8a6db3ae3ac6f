"""The repository's one atomic write: all or nothing, permissions kept, a killed writer's leftovers removed."""

from __future__ import annotations

from helpers import files
from helpers.files import STALE_SECONDS, atomic_path, write_atomic

import os
import subprocess
import sys
import time

import pytest

REPO = files.REPOSITORY_ROOT


def test_write_atomic_writes_all_or_nothing_keeps_permissions_and_clears_a_killed_writers_leftovers(tmp_path):
    target = tmp_path / "sub" / "model.keras"
    assert write_atomic(target, "héllo\n") == target and target.read_bytes() == "héllo\n".encode()
    target.chmod(0o640)
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01" and target.stat().st_mode & 0o777 == 0o640
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(target) as tmp:
        assert tmp.name.startswith(".model.keras.part-") and tmp.suffix == ".keras"  # Keras wants .keras
        tmp.write_bytes(b"half a new mo")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"\x00\x01" and [p.name for p in target.parent.iterdir()] == ["model.keras"]
    target = tmp_path / "results.json"  # a killed writer leaves a temp file that a later write removes
    code = (
        "import os, sys, helpers.data; from helpers.files import atomic_path\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules, flush=True)  # importing them loads neither\n"
        f"with atomic_path({str(target)!r}) as tmp:\n"
        "    tmp.write_text('{\"half\": '); os._exit(9)  # killed mid-write: no cleanup runs\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 9 and done.stdout.split() == ["False", "False"], done.stderr
    (leftover,) = tmp_path.glob(".results.json.part-*")
    assert not target.exists()
    write_atomic(target, "{}")  # too recent to be sure its writer is dead: kept
    assert leftover.exists()
    os.utime(leftover, (time.time() - STALE_SECONDS - 60,) * 2)
    write_atomic(target, "{}")
    assert not leftover.exists() and target.read_text() == "{}"


def test_course_folders_follow_their_variable_else_the_clone(monkeypatch, tmp_path):  # installed: test_installed.py
    monkeypatch.delenv("MNIST_MODELS_DIR", raising=False)
    assert files.running_from_clone()
    assert files.course_folder("models", "MNIST_MODELS_DIR") == files.REPOSITORY_ROOT / "models"
    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path / "mine"))
    assert files.course_folder("models", "MNIST_MODELS_DIR") == tmp_path / "mine"
