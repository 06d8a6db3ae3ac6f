"""Ask a model which digit a picture shows: ``to_mnist`` first, then a digit gate if there is one, then the model.

``predict_digit`` and ``predict_folder`` sit above ``helpers.preprocess`` (the picture made
MNIST-like) and ``helpers.nodigit`` (the digit gate of notebook 08). A blank picture is refused by
the preprocessing with "no digit found" (``NoDigitError``). A digit gate is asked only when one is
given, or when notebook 08 has saved one (``models/gate.keras``): these functions never train one.
Each answer names the model that read the picture and the gate that let it through, if any.
"""

from __future__ import annotations

from helpers.nodigit import GATE_FILE, Gate, load_gate
from helpers.preprocess import PATTERNS, NoDigitError, _no_digit, to_mnist

import fnmatch
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["NoDigitError", "Reading", "choose_gate", "model_name", "predict_digit", "predict_folder"]

SAVED_GATE = f"{GATE_FILE}, saved by notebook 08"  # how the answers name the saved gate


class Reading(tuple):
    """What ``predict_digit`` answers: ``digit, probabilities = predict_digit(...)`` unpacks it.

    It also says who answered: ``.model`` is the model's name (``model.name``, e.g. "improved") and
    ``.gate`` the name of the digit gate that let the picture through, or None where no gate was asked.
    """

    def __new__(cls, digit: int, probabilities: np.ndarray, model: str, gate: str | None) -> Reading:
        reading = super().__new__(cls, (digit, probabilities))
        reading.model, reading.gate = model, gate
        return reading

    def __getnewargs__(self) -> tuple:  # copy and pickle rebuild it with its names
        return (*self, self.model, self.gate)

    @property
    def digit(self) -> int:
        return self[0]

    @property
    def probabilities(self) -> np.ndarray:
        return self[1]

    def __repr__(self) -> str:
        return (
            f"Reading(digit={self.digit}, probability={self.probabilities[self.digit]:.2f}, "
            f"model={self.model!r}, gate={self.gate!r})"
        )


def model_name(model) -> str:
    """The name a Keras model was built with ("improved", "cnn"...), or its type's name for anything else."""
    return str(getattr(model, "name", None) or type(model).__name__)


_saved: dict[Path, tuple[tuple, Gate]] = {}


def _stamp(path: Path) -> tuple[int, int] | None:
    """A file's modification time and size (None if it is missing): a file saved again shows here."""
    if not path.exists():
        return None
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _saved_gate() -> Gate | None:
    """The gate notebook 08 saved (``models/gate.keras`` and ``gate.json``), loaded once; None if there is none."""
    from helpers.models import MODELS_DIR  # read at each call: tests and $MNIST_MODELS_DIR move it

    path = MODELS_DIR / GATE_FILE
    if not path.is_file():
        return None
    stamp = (_stamp(path), _stamp(path.with_suffix(".json")))  # gate.json too: an edited threshold is read again
    if path not in _saved or _saved[path][0] != stamp:
        _saved[path] = (stamp, load_gate(path))
    return _saved[path][1]


def choose_gate(gate=None) -> tuple[Gate | None, str | None]:
    """The digit gate to ask, and its name: ``(None, None)`` where no gate is asked.

    ``gate=False``: no gate. ``gate=None`` (the default of ``predict_digit``): the gate notebook 08
    saved, if it has saved one, else none. ``gate=True``: the saved gate, and an error if there is
    none. A ``helpers.nodigit.Gate``: that one. No gate is ever trained here.
    """
    if gate is False:
        return None, None
    if gate is None or gate is True:
        saved = _saved_gate()
        if saved is None and gate is True:
            raise FileNotFoundError(
                f"no digit gate has been saved ({GATE_FILE} is missing): notebook 08 trains and saves it. "
                "Run notebook 08 first, or pass gate=False to read without a gate."
            )
        return saved, SAVED_GATE if saved is not None else None
    if not (hasattr(gate, "scores") and hasattr(gate, "threshold")):
        raise TypeError(
            f"gate must be True, False or a helpers.nodigit.Gate (or None: the saved gate, if any), "
            f"not {type(gate).__name__}"
        )
    return gate, f"{model_name(getattr(gate, 'model', gate))!r}, passed in"


def _gate_refusal(score: float, threshold: float, name: str) -> NoDigitError:
    return _no_digit(
        f"the digit gate gives it {score:.2f}, and pictures under {threshold:.2f} are not taken for digits "
        f"(gate: {name})",
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


def predict_digit(model, image, *, gate=None) -> Reading:
    """Preprocess ``image`` with ``to_mnist`` and return (most probable digit, its 10 probabilities).

    The answer is a :class:`Reading`: it unpacks to ``digit, probabilities``, and its ``.model``
    and ``.gate`` name the model that read the picture and the digit gate asked, if any.
    Raises ``NoDigitError`` (a ValueError) "no digit found" when there is nothing to read: a blank
    picture, or a picture the digit gate does not take for a digit (a letter, a scribble). Which
    gate: see :func:`choose_gate`; ``gate=False`` asks the model alone, ``gate=None`` (the default)
    the gate notebook 08 saved, if any.
    """
    x = to_mnist(image)[None]
    checker, gate_name = choose_gate(gate)
    if checker is not None:
        score = float(checker.scores(x)[0])
        if score < checker.threshold:
            raise _gate_refusal(score, checker.threshold, gate_name)
    probs = _probabilities(model, x)[0]
    return Reading(int(probs.argmax()), probs, model_name(model), gate_name)


def predict_folder(model, folder, pattern: str | Sequence[str] = PATTERNS, *, gate=None) -> pd.DataFrame:
    """Predict every image file in ``folder`` matching ``pattern`` (case-insensitive): a DataFrame, one row per file.

    Columns: file, digit, confidence, top3, error, model, gate (the names of the model that read
    the pictures and of the digit gate asked, None for none; ``gate`` as in ``predict_digit``). A file
    that cannot be read or holds no digit (blank, or refused by the digit gate), and a matching name
    that is no file (a broken link, a FIFO), gets its error message, digit None and confidence NaN;
    the others still run.
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
    checker, gate_name = None, None
    try:
        if good:
            checker, gate_name = choose_gate(gate)
    except (ValueError, OSError) as exc:  # the saved gate is broken or missing: every readable picture's row says so
        for row in good:
            row.update(digit=None, confidence=np.nan, top3="", error=str(exc))
        good = []
    if checker is not None:
        scores = checker.scores(np.stack(inputs))
        for row, score in zip(good, scores, strict=True):
            if score < checker.threshold:
                refusal = _gate_refusal(score, checker.threshold, gate_name)
                row.update(digit=None, confidence=np.nan, top3="", error=str(refusal))
        inputs = [x for x, score in zip(inputs, scores, strict=True) if score >= checker.threshold]
        good = [row for row in good if row["error"] is None]
    if good:
        for row, probs in zip(good, _probabilities(model, np.stack(inputs)), strict=True):
            row.update(digit=int(probs.argmax()), confidence=float(probs.max()), top3=_top3(probs))
    table = pd.DataFrame(rows, columns=["file", "digit", "confidence", "top3", "error"])
    table["digit"] = pd.Series([row.get("digit") for row in rows], dtype=object)  # int, or None (not NaN)
    table["error"] = pd.Series([row["error"] for row in rows], dtype=object)  # text, or None (pandas 3: not NaN)
    table["model"] = model_name(model)
    table["gate"] = pd.Series([gate_name] * len(rows), dtype=object)
    return table
