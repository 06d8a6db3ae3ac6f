"""Training plumbing: time each epoch, summarise runs over seeds, read the benchmark's accuracy."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras
import numpy as np

BENCHMARK_RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results.json"
# The benchmark's model keys, named as notebook 03's comparison table names them.
BENCHMARK_NAMES = {
    "baseline": "baseline",
    "seed_improved": "seed 'improved'",
    "schedule": "+ schedule",
    "improved": "+ shifts (improved)",
}


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


def scale_pixels(x: np.ndarray) -> np.ndarray:
    """uint8 pixels 0-255 -> float32 in [0, 1], as notebook 01 explains."""
    if x.dtype != np.uint8:
        raise ValueError(f"expected raw uint8 pixels, got {x.dtype}: were they scaled already?")
    return x.astype("float32") / 255.0


def summarize_runs(runs: list[dict], by: str = "model"):
    """Mean ± std of each numeric column over seeds, one row per ``by`` value (a DataFrame)."""
    import pandas as pd

    df = pd.DataFrame(runs)
    numeric = [c for c in df.columns if c not in (by, "seed") and pd.api.types.is_numeric_dtype(df[c])]
    summary = df.groupby(by, sort=False)[numeric].agg(["mean", "std"])
    summary.insert(0, ("seeds", "n"), df.groupby(by, sort=False)["seed"].count())
    return summary


def benchmark_accuracy(path: str | os.PathLike | None = None):
    """The benchmark's accuracy over seeds (``make bench``), one row per model (a DataFrame).

    Read from ``benchmarks/results.json``: each model trained from scratch once per seed on the
    training split and measured on the validation and the test images. Columns: model, epochs,
    batch_size, seeds (how many), mean and sample std of ``val_accuracy`` and ``test_accuracy``
    (std NaN for a single seed), s_per_training (mean seconds of ``fit``) and measured (the date).
    """
    import pandas as pd

    path = Path(path) if path is not None else BENCHMARK_RESULTS
    remeasure = "run `make bench` (or `python benchmarks/bench.py --only accuracy`)"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {remeasure} to measure the models")
    results = json.loads(path.read_text(encoding="utf-8"))
    section = results.get("accuracy") if isinstance(results, dict) else None
    models = section.get("models") if isinstance(section, dict) else None
    if not models or not all(m.get("runs") and all("val_accuracy" in r for r in m["runs"]) for m in models.values()):
        raise ValueError(f"{path} holds no accuracy measured on the validation split (an older format): {remeasure}")
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
