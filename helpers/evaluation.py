"""Evaluation plumbing: turn predictions and runs into tables."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

DIGITS = list(range(10))


def per_class_report(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """Precision, recall, F1 and support of each digit (scikit-learn), one row per digit."""
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=DIGITS, zero_division=0)
    return pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support}, index=pd.Index(DIGITS, name="digit")
    )


def confusion(y_true: np.ndarray, y_pred: np.ndarray, normalize: bool = False) -> np.ndarray:
    """Confusion matrix: row = true digit, column = predicted digit; rows sum to 1 if normalized."""
    cm = confusion_matrix(y_true, y_pred, labels=DIGITS)
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        return np.divide(cm, totals, out=np.zeros(cm.shape, dtype=float), where=totals > 0)
    return cm


def confused_pairs(cm: np.ndarray, top: int = 5) -> pd.DataFrame:
    """The pairs of digits mixed up most often, both directions added (a↔b), most first."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix is square, got shape {cm.shape}")
    rows = []
    n = cm.shape[0]
    for a in range(n):
        for b in range(a + 1, n):
            total = int(cm[a, b] + cm[b, a])
            if total:
                rows.append(
                    {"pair": f"{a}↔{b}", "a": a, "b": b, "a→b": int(cm[a, b]), "b→a": int(cm[b, a]), "total": total}
                )
    table = pd.DataFrame(rows, columns=["pair", "a", "b", "a→b", "b→a", "total"])
    return table.sort_values(["total", "a", "b"], ascending=[False, True, True]).head(top).reset_index(drop=True)


def confidence_summary(confidence: np.ndarray, correct: np.ndarray) -> pd.DataFrame:
    """Mean confidence and the shares of confident (> 0.9, > 0.99) predictions, for right and wrong ones."""
    confidence, correct = np.asarray(confidence), np.asarray(correct, dtype=bool)
    rows = {}
    for label, mask in [("correct", correct), ("wrong", ~correct)]:
        c = confidence[mask]
        rows[label] = {
            "predictions": int(mask.sum()),
            "mean confidence": float(c.mean()) if c.size else float("nan"),
            "share above 0.9": float((c > 0.9).mean()) if c.size else float("nan"),
            "share above 0.99": float((c > 0.99).mean()) if c.size else float("nan"),
        }
    return pd.DataFrame(rows).T


def summarize_runs(runs: list[dict]) -> pd.DataFrame:
    """Mean and sample std of each numeric column over seeds, one row per model (``runs``: one dict per run)."""
    df = pd.DataFrame(runs)
    numeric = [c for c in df.columns if c not in ("model", "seed") and pd.api.types.is_numeric_dtype(df[c])]
    summary = df.groupby("model", sort=False)[numeric].agg(["mean", "std"])
    summary.insert(0, ("seeds", "n"), df.groupby("model", sort=False)["seed"].count())
    return summary


SIGNIFICANCE = 0.05  # a difference over seeds counts as real when Welch's test gives p below this


def compare_seeds(a, b) -> dict[str, float]:
    """Welch's t-test on per-seed values: mean(b) - mean(a), t, its degrees of freedom and the two-sided p.

    Welch's test does not assume the two sets of seeds vary equally, and with few seeds its t
    quantile is far above 2 (about 2.8 for 3 seeds against 3), which "two standard errors" ignores.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or b.ndim != 1 or min(a.size, b.size) < 2:
        raise ValueError(f"compare_seeds needs at least 2 values per side, one per seed; got {a.size} and {b.size}")
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # no spread at all: the test is undefined, the answer is not
        difference = float(b[0] - a[0])
        return {"difference": difference, "t": float("nan"), "df": float("nan"), "p": float(difference == 0)}
    difference = float(b.mean() - a.mean())
    with warnings.catch_warnings():  # one side without spread: scipy warns about precision, the test still holds
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(b, a, equal_var=False)
    return {"difference": difference, "t": float(result.statistic), "df": float(result.df), "p": float(result.pvalue)}


# ---------------------------------------------------------------- uncertainty of per-digit scores (notebook 05)


def per_class_f1(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """F1 of each digit, 2·TP / (2·TP + FP + FN), as scikit-learn computes it, fast enough to repeat 1,000 times."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    n = len(DIGITS)
    cm = np.bincount(n * y_true + y_pred, minlength=n * n).reshape(n, n)
    denominator = cm.sum(axis=0) + cm.sum(axis=1)  # (TP + FP) + (TP + FN)
    return np.divide(2 * np.diag(cm), denominator, out=np.zeros(n), where=denominator > 0)


def bootstrap(statistic, *arrays, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """``statistic(*arrays)`` on ``n_resamples`` resamples of the images, one result per resample (stacked).

    Each resample draws as many images as there are, with replacement, the same draw for every array
    (so one image keeps its label, prediction and confidence together): the spread of the results is
    how much the statistic would move with another test set of the same size.
    """
    arrays = [np.asarray(a) for a in arrays]
    sizes = {len(a) for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"the arrays need one value per image each; got lengths {sorted(sizes)}")
    n = sizes.pop()
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(n_resamples):
        chosen = rng.integers(0, n, size=n)
        results.append(statistic(*(a[chosen] for a in arrays)))
    return np.asarray(results)


def f1_ranking(
    y_true: np.ndarray, y_pred: np.ndarray, *, n_resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> pd.DataFrame:
    """Digits ranked by F1, with its bootstrap standard error and which differences are beyond the noise.

    One row per rank (1 = highest F1). Columns: digit, f1, se (the bootstrap standard deviation),
    above_next (the ``level`` bootstrap interval of this F1 minus the next one excludes 0), beats (how
    many digits have an F1 lower beyond the noise) and beaten_by (how many higher beyond the noise).
    """
    f1 = per_class_f1(y_true, y_pred)
    resampled = bootstrap(per_class_f1, y_true, y_pred, n_resamples=n_resamples, seed=seed)
    differences = resampled[:, :, None] - resampled[:, None, :]  # [resample, a, b]: F1 of a minus F1 of b
    # two-sided at ``level``: a's F1 is above b's beyond the noise when the interval's lower end is above 0
    higher = np.percentile(differences, 100 * (1 - level) / 2, axis=0) > 0  # higher[a, b]
    order = np.argsort(-f1, kind="stable")
    return pd.DataFrame(
        {
            "digit": order,
            "f1": f1[order],
            "se": resampled.std(axis=0, ddof=1)[order],
            "above_next": [bool(higher[a, b]) for a, b in itertools.pairwise(order)] + [False],
            "beats": higher.sum(axis=1)[order],
            "beaten_by": higher.sum(axis=0)[order],
        },
        index=pd.RangeIndex(1, len(order) + 1, name="rank"),
    )


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, float]:
    """McNemar's exact test for two models scored on the same images: is one right more often than chance allows?

    Only the images on which they disagree count: ``a_only`` right by a alone, ``b_only`` by b alone. If
    the models were equally good, each of those would go either way with probability 1/2, so ``p`` is the
    two-sided binomial test of ``b_only`` out of ``a_only + b_only`` (1 when they never disagree).
    """
    correct_a, correct_b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if correct_a.shape != correct_b.shape or correct_a.ndim != 1:
        raise ValueError(f"one True/False per image for each model; got shapes {correct_a.shape}, {correct_b.shape}")
    a_only, b_only = int((correct_a & ~correct_b).sum()), int((~correct_a & correct_b).sum())
    p = stats.binomtest(b_only, a_only + b_only, 0.5).pvalue if a_only + b_only else 1.0
    return {"a_only": a_only, "b_only": b_only, "p": float(p)}


# ---------------------------------------------------------------- calibration (notebook 05)


def _binned(confidence: np.ndarray, correct: np.ndarray, bins: int) -> tuple[np.ndarray, ...]:
    """Edges, counts, mean confidence and accuracy of ``bins`` equal-width bins (low, high]; NaN where empty."""
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=bool)
    if confidence.ndim != 1 or confidence.shape != correct.shape or not confidence.size:
        raise ValueError(f"one confidence and one right/wrong per image; got {confidence.shape}, {correct.shape}")
    if confidence.min() < 0 or confidence.max() > 1:
        raise ValueError("confidences are probabilities between 0 and 1: pass the highest softmax probability")
    edges = np.linspace(0, 1, bins + 1)
    which = np.digitize(confidence, edges[1:-1], right=True)  # bin j holds edges[j] < c <= edges[j + 1]; 0 in bin 0
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, weights=confidence, minlength=bins) / counts
        accuracy = np.bincount(which, weights=correct, minlength=bins) / counts
    return edges, counts, mean_confidence, accuracy


def reliability_table(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Predictions grouped into ``bins`` equal-width confidence bins (low, high]: count, mean confidence, accuracy.

    One row per bin, empty ones included (their confidence and accuracy are NaN); ``gap`` is accuracy
    minus confidence: negative where the model is over-confident, positive where it is under-confident.
    """
    edges, counts, mean_confidence, accuracy = _binned(confidence, correct, bins)
    return pd.DataFrame(
        {
            "low": edges[:-1],
            "high": edges[1:],
            "images": counts,
            "confidence": mean_confidence,
            "accuracy": accuracy,
            "gap": accuracy - mean_confidence,
        },
        index=pd.Index([f"({lo:.2f}, {hi:.2f}]" for lo, hi in itertools.pairwise(edges)], name="bin"),
    )


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """ECE: the sum over equal-width confidence bins of (n_b / N) · |accuracy_b - confidence_b| (0 = calibrated)."""
    _, counts, mean_confidence, accuracy = _binned(confidence, correct, bins)
    filled = counts > 0
    return float((counts[filled] / counts.sum() * np.abs(accuracy[filled] - mean_confidence[filled])).sum())
