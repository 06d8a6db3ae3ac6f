"""Training plumbing: time each epoch, summarise runs over seeds."""

from __future__ import annotations

import time

import keras
import numpy as np


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
