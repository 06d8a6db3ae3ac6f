"""Evaluation plumbing: get the trained models, and turn predictions into tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from helpers import models as course_models

DIGITS = list(range(10))

# How each saved model is trained when a notebook needs it and it is missing.
RECIPES = {
    # build(n_train): the improved model's schedule spans the run, so it needs the training-set size
    "baseline": dict(build=lambda n_train: course_models.build_baseline(), epochs=10, batch_size=128, notebook="02"),
    "improved": dict(
        build=course_models.build_improved,
        epochs=course_models.IMPROVED_EPOCHS,
        batch_size=course_models.IMPROVED_BATCH_SIZE,
        notebook="03",
    ),
}


def load_or_train(name: str, x_train: np.ndarray, y_train: np.ndarray, seed: int = 0):
    """Load ``models/NAME.keras`` (safe mode); if it is missing, say so, train it and save it.

    Pass the training split (``helpers.data.train_val_split``), as the notebooks train on it.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown model {name!r}: choose one of {sorted(RECIPES)}")
    path = course_models.MODELS_DIR / f"{name}.keras"
    if path.is_file():
        print(f"{name}: loaded models/{path.name}")
        return course_models.load_model(path)
    import keras

    recipe = RECIPES[name]
    print(
        f"{name}: models/{path.name} not found (notebook {recipe['notebook']} saves it); "
        f"training it now: {recipe['epochs']} epochs, batch {recipe['batch_size']}"
    )
    keras.utils.set_random_seed(seed)
    model = recipe["build"](len(x_train))
    history = model.fit(x_train, y_train, epochs=recipe["epochs"], batch_size=recipe["batch_size"], verbose=1)
    course_models.save_model(model, path, history=history.history)
    return model


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
