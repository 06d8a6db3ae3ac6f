"""Evaluation tables and plots on a tiny confusion matrix whose answers are known by hand."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
from helpers import evaluation, plots

import matplotlib.pyplot as plt
import numpy as np
import pytest

# 10 images: digits 4 and 9 are mixed up three times, 3 -> 5 once.
Y_TRUE = np.array([4, 4, 4, 9, 9, 9, 3, 3, 5, 5])
Y_PRED = np.array([4, 9, 9, 9, 4, 9, 3, 5, 5, 5])


def test_confusion_counts_and_rows():
    cm = evaluation.confusion(Y_TRUE, Y_PRED)
    assert cm.shape == (10, 10) and cm.sum() == 10
    assert cm[4, 9] == 2 and cm[9, 4] == 1 and cm[3, 5] == 1 and cm[4, 4] == 1
    normalized = evaluation.confusion(Y_TRUE, Y_PRED, normalize=True)
    assert normalized[4].tolist()[4] == pytest.approx(1 / 3) and normalized[4, 9] == pytest.approx(2 / 3)
    assert normalized[0].sum() == 0  # a digit with no images gives a zero row, not NaN
    assert np.allclose(normalized[[3, 4, 5, 9]].sum(axis=1), 1)


def test_confused_pairs_adds_both_directions():
    cm = evaluation.confusion(Y_TRUE, Y_PRED)
    pairs = evaluation.confused_pairs(cm, top=3)
    assert pairs["pair"].tolist() == ["4↔9", "3↔5"]
    first = pairs.iloc[0]
    assert (first["a→b"], first["b→a"], first["total"]) == (2, 1, 3)
    with pytest.raises(ValueError, match="square"):
        evaluation.confused_pairs(np.zeros((3, 4)))


def test_per_class_report_matches_hand_computation():
    report = evaluation.per_class_report(Y_TRUE, Y_PRED)
    assert list(report.index) == list(range(10))
    # digit 9: predicted 9 four times, three of them right; 3 true 9s, two found
    assert report.loc[9, "precision"] == pytest.approx(2 / 4)
    assert report.loc[9, "recall"] == pytest.approx(2 / 3)
    assert report.loc[5, "precision"] == pytest.approx(2 / 3) and report.loc[5, "recall"] == 1
    assert report.loc[0, "support"] == 0 and report.loc[0, "f1"] == 0


def test_confidence_summary_splits_right_and_wrong():
    confidence = np.array([0.999, 0.95, 0.6, 0.55])
    correct = np.array([True, True, False, True])
    table = evaluation.confidence_summary(confidence, correct)
    assert table.loc["correct", "predictions"] == 3 and table.loc["wrong", "predictions"] == 1
    assert table.loc["correct", "share above 0.9"] == pytest.approx(2 / 3)
    assert table.loc["correct", "share above 0.99"] == pytest.approx(1 / 3)
    assert table.loc["wrong", "share above 0.99"] == 0
    assert table.loc["wrong", "mean confidence"] == pytest.approx(0.6)


def test_summarize_runs_gives_mean_and_sample_std_per_model():
    runs = [{"model": "a", "seed": s, "val_accuracy": v, "note": "x"} for s, v in enumerate([0.97, 0.98, 0.99])]
    runs.append({"model": "b", "seed": 0, "val_accuracy": 0.95, "note": "y"})
    table = evaluation.summarize_runs(runs)
    assert list(table.index) == ["a", "b"]  # in the order the runs came, not sorted
    assert list(table.columns) == [("seeds", "n"), ("val_accuracy", "mean"), ("val_accuracy", "std")]
    assert table.loc["a", ("seeds", "n")] == 3 and table.loc["b", ("seeds", "n")] == 1
    assert table.loc["a", ("val_accuracy", "mean")] == pytest.approx(0.98)
    assert table.loc["a", ("val_accuracy", "std")] == pytest.approx(0.01)  # sample std (n - 1)
    assert np.isnan(table.loc["b", ("val_accuracy", "std")])  # one seed: no spread to report


def test_confusion_plots_show_the_numbers():
    cm = evaluation.confusion(Y_TRUE, Y_PRED)
    ax = plots.plot_confusion_matrix(cm)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 100 and texts[4 * 10 + 9] == "2"
    assert ax.get_xlabel() == "predicted digit" and ax.get_ylabel() == "true digit"
    plt.close("all")
    better = cm.copy()
    better[4, 9], better[4, 4] = 0, 3
    fig = plots.plot_confusion_difference(cm, better)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "-2" in texts and "+1" not in texts  # diagonal masked, one cell improved by 2
    plt.close(fig)
    fig = plots.plot_confidence_histograms(np.array([0.99, 0.6]), np.array([True, False]))
    assert "wrong predictions (1)" in fig.axes[1].get_title()
    plt.close(fig)
