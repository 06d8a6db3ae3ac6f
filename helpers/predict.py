"""Ask a model which digit a picture shows: ``to_mnist`` first, then the digit gate, then the model.

``predict_digit`` and ``predict_folder`` sit above ``helpers.preprocess`` (the picture made
MNIST-like) and ``helpers.nodigit`` (the digit gate, which notebook 08 trains): both refuse a
picture with "no digit found" (``NoDigitError``) when it is blank or the gate does not take it
for a digit.
"""

from __future__ import annotations

from helpers.nodigit import course_gate
from helpers.preprocess import PATTERNS, NoDigitError, _no_digit, to_mnist

import fnmatch
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["NoDigitError", "predict_digit", "predict_folder"]


def _gate_refusal(score: float, threshold: float) -> NoDigitError:
    return _no_digit(
        f"the digit gate gives it {score:.2f}, and pictures under {threshold:.2f} are not taken for digits "
        "(notebook 08)",
        "Is it one digit, upright, and nothing else? (gate=False skips this check)",
    )


def _probabilities(model, batch: np.ndarray) -> np.ndarray:
    probs = np.asarray(model.predict(batch, verbose=0), dtype=np.float64)
    if probs.shape != (len(batch), 10):
        raise ValueError(
            f"the model returned shape {probs.shape}; expected (N, 10) probabilities "
            "(a Keras model with a 10-way softmax output)."
        )
    return probs


def _top3(probs: np.ndarray) -> str:
    return ", ".join(f"{d} ({probs[d]:.2f})" for d in np.argsort(probs)[::-1][:3])


def _gate(gate):
    """The gate to ask: the course's (``gate=True``), none (``False``), or the ``Gate`` given."""
    if gate is True:
        return course_gate()
    if gate is False or gate is None:
        return None
    if not (hasattr(gate, "scores") and hasattr(gate, "threshold")):
        raise TypeError(f"gate must be True, False or a helpers.nodigit.Gate, not {type(gate).__name__}")
    return gate


def predict_digit(model, image, *, gate=True) -> tuple[int, np.ndarray]:
    """Preprocess ``image`` with ``to_mnist`` and return (most probable digit, its 10 probabilities).

    Raises ``NoDigitError`` (a ValueError) "no digit found" when there is nothing to read: a blank
    picture, or, whichever ``model`` is given, a picture the course's digit gate does not take for a
    digit (a letter, noise, a scribble; notebook 08). ``gate=False`` skips the gate and lets the
    model answer anyway; ``gate=`` a ``helpers.nodigit.Gate`` asks that one instead.
    """
    x = to_mnist(image)[None]
    checker = _gate(gate)
    if checker is not None:
        score = float(checker.scores(x)[0])
        if score < checker.threshold:
            raise _gate_refusal(score, checker.threshold)
    probs = _probabilities(model, x)[0]
    return int(probs.argmax()), probs


def predict_folder(model, folder, pattern: str | Sequence[str] = PATTERNS, *, gate=True) -> pd.DataFrame:
    """Predict every image file in ``folder`` matching ``pattern`` (case-insensitive): a DataFrame, one row per file.

    Columns: file, digit, confidence, top3, error. A file that cannot be read or holds no
    digit (blank, or refused by the digit gate as in ``predict_digit``), and a matching name that
    is no file (a broken link, a FIFO), gets its error message, digit None and confidence NaN; the
    others still run.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {str(folder)!r} (relative paths start at {Path.cwd()}).")
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    files = sorted(  # anything with a matching name but a folder: a broken link or a FIFO gets a row saying so
        p
        for p in folder.iterdir()
        if not p.is_dir() and any(fnmatch.fnmatch(p.name.lower(), pat.lower()) for pat in patterns)
    )
    rows, inputs = [], []
    for path in files:
        try:
            inputs.append(to_mnist(path))
            rows.append({"file": path.name, "error": None})
        except (ValueError, OSError) as exc:
            rows.append({"file": path.name, "digit": None, "confidence": np.nan, "top3": "", "error": str(exc)})
    good = [row for row in rows if row["error"] is None]
    try:
        checker = _gate(gate) if good else None
    except ValueError as exc:  # the saved gate is broken: every readable picture's row says so, nothing is lost
        for row in good:
            row.update(digit=None, confidence=np.nan, top3="", error=str(exc))
        good, checker = [], None
    if checker is not None:
        scores = checker.scores(np.stack(inputs))
        for row, score in zip(good, scores, strict=True):
            if score < checker.threshold:
                row.update(digit=None, confidence=np.nan, top3="", error=str(_gate_refusal(score, checker.threshold)))
        inputs = [x for x, score in zip(inputs, scores, strict=True) if score >= checker.threshold]
        good = [row for row in good if row["error"] is None]
    if good:
        for row, probs in zip(good, _probabilities(model, np.stack(inputs)), strict=True):
            row.update(digit=int(probs.argmax()), confidence=float(probs.max()), top3=_top3(probs))
    table = pd.DataFrame(rows, columns=["file", "digit", "confidence", "top3", "error"])
    table["digit"] = pd.Series([row.get("digit") for row in rows], dtype=object)  # int, or None (not NaN)
    return table
