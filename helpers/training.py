"""Training plumbing: the course's train/validation split, epoch timing, the benchmark's accuracy."""

from __future__ import annotations

from helpers.evaluation import summarize_runs

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

BENCHMARK_RESULTS = Path(__file__).resolve().parent / "benchmark_results.json"  # written by make bench
# The benchmark's model keys, named as notebook 04's comparison table names them.
BENCHMARK_NAMES = {
    "baseline": "baseline",
    "seed_improved": "seed 'improved'",
    "batch512": "+ batch 512",
    "batch512_lr3e-3": "+ peak rate 0.003",
    "schedule": "+ schedule",
    "improved": "+ shifts (improved)",
    "cnn": "CNN",
    "cnn_pooling": "CNN, max pooling",
    "cnn_one_conv": "CNN, one convolution",
    "cnn_keras_io": "keras.io convnet",
}


VALIDATION_SIZE = 10_000  # the last 10,000 training images: the course's fixed validation set
TRAIN_SIZE = 60_000 - VALIDATION_SIZE


def train_val_split(
    x: np.ndarray, y: np.ndarray, n_val: int = VALIDATION_SIZE
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split MNIST's training set into ``(x_train, y_train), (x_val, y_val)``: the last ``n_val`` for validation.

    Every notebook and the benchmarks use this one fixed split, so every comparison is made on the
    same 10,000 validation images and the test set stays for the final measurement. (Keras'
    ``validation_split=`` also holds back the *last* images, but a fraction of whatever it is given.)
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels: pass the images and labels of the same set")
    if not 0 < n_val < len(x):
        raise ValueError(
            f"cannot hold back {n_val:,} of {len(x):,} images for validation: "
            "pass MNIST's 60,000 training images (x_train, y_train), not the test set or a subset"
        )
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:])


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
    path = Path(path) if path is not None else BENCHMARK_RESULTS
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
        heads = [
            ({"model": key, "label": BENCHMARK_NAMES.get(key, key)} | {k: m[k] for k in keep if k in m}, m)
            for key, m in entries
        ]
    runs = pd.DataFrame([head | run for head, m in heads for run in m["runs"]])
    runs.attrs["measured"] = str(found.get("machine", {}).get("date", "unknown"))[:10] + (
        " (quick run: not representative)" if found.get("quick") else ""
    )
    return runs


def benchmark_accuracy(path: str | os.PathLike | None = None, models: Sequence[str] | None = None):
    """The benchmark's accuracy over seeds (``make bench``), one row per model (a DataFrame).

    ``models``: the benchmark's keys to keep, in that order (default: every model measured), for
    example ``["baseline", "improved"]``; see ``BENCHMARK_NAMES``.

    Read from ``helpers/benchmark_results.json`` (shipped with the package): each model trained from
    scratch once per seed on the training split and measured on the validation and the test images.
    Columns: model, epochs, batch_size, seeds (how many), mean and sample std of ``val_accuracy`` and
    ``test_accuracy`` (std NaN for a single seed), s_per_training (mean seconds of ``fit``) and
    measured (the date).
    """
    import pandas as pd

    wanted, path = models, Path(path) if path is not None else BENCHMARK_RESULTS
    remeasure = "run `make bench` (or `python benchmarks/bench.py --only accuracy`)"
    section = _benchmark_section("accuracy", path)
    models = section.get("models")
    if not models or not all(m.get("runs") and all("val_accuracy" in r for r in m["runs"]) for m in models.values()):
        raise ValueError(f"{path} holds no accuracy measured on the validation split (an older format): {remeasure}")
    if wanted is not None:
        if missing := [key for key in wanted if key not in models]:
            raise ValueError(f"{path} has no results for {', '.join(missing)}: {remeasure}")
        models = {key: models[key] for key in wanted}
    measured = str(section.get("machine", {}).get("date", "unknown"))[:10]
    if section.get("quick"):
        measured += " (quick run: not representative)"
    runs = [
        {"model": BENCHMARK_NAMES.get(key, key), "epochs": m["epochs"], "batch_size": m["batch_size"], **run}
        for key, m in models.items()
        for run in m["runs"]
    ]
    stats = summarize_runs(runs)  # mean and sample std over seeds, as for the notebooks' own runs
    return pd.DataFrame(
        {
            "model": stats.index,
            "epochs": stats[("epochs", "mean")].astype(int).to_numpy(),
            "batch_size": stats[("batch_size", "mean")].astype(int).to_numpy(),
            "seeds": stats[("seeds", "n")].to_numpy(),
            **{
                f"{m} {s}": stats[(m, s)].to_numpy() for m in ("val_accuracy", "test_accuracy") for s in ("mean", "std")
            },
            "s_per_training": stats[("train_seconds", "mean")].to_numpy(),
            "measured": measured,
        }
    )
