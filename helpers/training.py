"""Training plumbing: the course's train/validation split, epoch timing, the benchmark's runs over seeds."""

from __future__ import annotations

from helpers.results import RESULTS, label

import json
import os
import time
from pathlib import Path

import keras
import numpy as np

VALIDATION_SIZE = 10_000  # the last 10,000 training images: the course's fixed validation set
TRAIN_SIZE = 60_000 - VALIDATION_SIZE


def train_val_split(
    x: np.ndarray, y: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split MNIST's training set into ``(x_train, y_train), (x_val, y_val)``: the last 10,000 for validation.

    Every notebook and the benchmarks use this one fixed split, so every comparison is made on the
    same 10,000 validation images and the test set stays for the final measurement. (Keras'
    ``validation_split=`` also holds back the *last* images, but a fraction of whatever it is given.)
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels: pass the images and labels of the same set")
    if len(x) <= VALIDATION_SIZE:
        raise ValueError(
            f"cannot hold back {VALIDATION_SIZE:,} of {len(x):,} images for validation: "
            "pass MNIST's 60,000 training images (x_train, y_train), not the test set or a subset"
        )
    cut = len(x) - VALIDATION_SIZE
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


class EpochTimer(keras.callbacks.Callback):
    """Record the wall time of every training epoch in ``self.seconds``."""

    def on_train_begin(self, logs=None) -> None:
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.seconds.append(time.perf_counter() - self._start)

    @property
    def per_epoch(self) -> float:
        """Median seconds per epoch (the first epoch includes graph tracing, so the median)."""
        return float(np.median(self.seconds)) if self.seconds else float("nan")


def _benchmark_section(section: str, path: str | os.PathLike | None) -> dict:
    """One section of the benchmark's results file, or an error saying what to run."""
    path = Path(path) if path is not None else RESULTS
    remeasure = f"run `make bench` (or `python benchmarks/bench.py --only {section}`)"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {remeasure} to measure it")
    results = json.loads(path.read_text(encoding="utf-8"))
    found = results.get(section) if isinstance(results, dict) else None
    if not isinstance(found, dict) or not found.get("seeds"):
        raise ValueError(f"{path} has no {section!r} section measured over seeds: {remeasure}")
    return found


def benchmark_runs(section: str, path: str | os.PathLike | None = None):
    """Every training of one benchmark section (``make bench``), one row per model and seed (a DataFrame).

    The per-seed values, for a test over seeds (``helpers.evaluation.compare_seeds``). Sections
    "accuracy" and "steps": columns model (the key), label, epochs, batch_size, parameters, seed,
    val_accuracy, test_accuracy, train_seconds, epoch_seconds. Section "cnn" adds budget ("equal
    epochs", "equal time", "candidate", "the CNN's recipe"). Section "gate": seed, threshold,
    test_digits_refused, test_not_digits_refused, seconds. ``.attrs["measured"]`` is the date.
    """
    import pandas as pd

    found = _benchmark_section(section, path)
    if section == "gate":
        heads = [({}, found)]
    else:
        entries = found["models"].items() if "models" in found else [(r["model"], r) for r in found["rows"]]
        keep = ("epochs", "batch_size", "parameters", "budget")
        heads = [({"model": key, "label": label(key)} | {k: m[k] for k in keep if k in m}, m) for key, m in entries]
    runs = pd.DataFrame([head | run for head, m in heads for run in m["runs"]])
    runs.attrs["measured"] = str(found.get("machine", {}).get("date", "unknown"))[:10] + (
        " (quick run: not representative)" if found.get("quick") else ""
    )
    return runs
