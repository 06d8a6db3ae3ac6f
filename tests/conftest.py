"""Shared test parts: loopback ports, real Keras models with weights set by hand (so their answers are known), and
nbgrader submissions of notebook 01 (tests/test_grading.py, tests/test_hub.py)."""

from __future__ import annotations

import helpers  # noqa: F401  (quiet TensorFlow before anything imports it)

import re
import socket
from pathlib import Path

import nbformat
import numpy as np


def free_port() -> int:
    """A loopback port that was free a moment ago, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


# One wrong answer for notebook 01's exercise 2 (full marks but that exercise's points), and the hidden tests.
WRONG = {"ex2_answer": "x_test_scaled = x_test / 255  # float64: the check wants float32"}
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def hidden_lines(path: Path) -> list[str]:
    """The non-blank lines of an instructor notebook's hidden tests: none may reach a student."""
    source = "\n".join(c.source for c in nbformat.read(path, 4).cells)
    return [line.strip() for block in HIDDEN.findall(source) for line in block.splitlines() if line.strip()]


def answered(released, instructor: Path, wrong: dict[str, str]):
    """A released (student) notebook with the instructor's answers typed in, and `wrong` in place of some."""
    nb = nbformat.from_dict(released)
    solution = lambda c: c.metadata.get("nbgrader", {}).get("solution", False)  # noqa: E731
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(instructor, 4).cells if solution(c)}
    for cell in (c for c in nb.cells if solution(c)):
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        answer = re.sub(r"^\s*### (BEGIN|END) SOLUTION\s*\n", "", answers[grade_id], flags=re.M)
        cell.source = wrong.get(grade_id, answer)
    return nb
