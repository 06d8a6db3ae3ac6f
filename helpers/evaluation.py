"""Evaluation plumbing: turn predictions and runs into tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


def summarize_runs(runs: list[dict], by: str = "model"):
    """Mean ± std of each numeric column over seeds, one row per ``by`` value (a DataFrame)."""
    import pandas as pd

    df = pd.DataFrame(runs)
    numeric = [c for c in df.columns if c not in (by, "seed") and pd.api.types.is_numeric_dtype(df[c])]
    summary = df.groupby(by, sort=False)[numeric].agg(["mean", "std"])
    summary.insert(0, ("seeds", "n"), df.groupby(by, sort=False)["seed"].count())
    return summary
