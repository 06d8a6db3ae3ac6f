"""Evaluation tables and plots on tiny predictions whose answers are known by hand."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
from helpers import evaluation, plots

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

# 10 images: digits 4 and 9 are mixed up three times, 3 -> 5 once.
Y_TRUE = np.array([4, 4, 4, 9, 9, 9, 3, 3, 5, 5])
Y_PRED = np.array([4, 9, 9, 9, 4, 9, 3, 5, 5, 5])


def test_confusion_counts_rows_and_pairs():
    cm = evaluation.confusion(Y_TRUE, Y_PRED)  # row: true digit, column: predicted
    assert cm.shape == (10, 10) and cm.sum() == 10 and (cm[4, 9], cm[9, 4], cm[3, 5], cm[4, 4]) == (2, 1, 1, 1)
    normalized = evaluation.confusion(Y_TRUE, Y_PRED, normalize=True)
    assert (normalized[4, 4], normalized[4, 9]) == pytest.approx((1 / 3, 2 / 3))
    assert normalized[0].sum() == 0  # a digit with no images gives a zero row, not NaN
    assert normalized[[3, 4, 5, 9]].sum(axis=1) == pytest.approx([1, 1, 1, 1])
    pairs = evaluation.confused_pairs(cm, top=3)  # both directions added, most first
    assert pairs["pair"].tolist() == ["4↔9", "3↔5"] and pairs.iloc[0][["a→b", "b→a", "total"]].tolist() == [2, 1, 3]
    with pytest.raises(ValueError, match="square"):
        evaluation.confused_pairs(np.zeros((3, 4)))


def test_per_class_report_and_confidence_summary_match_hand_computation():
    report = evaluation.per_class_report(Y_TRUE, Y_PRED)
    assert list(report.index) == list(range(10))
    # digit 9: predicted 9 four times, two of them right; 3 true 9s, two found
    assert report.loc[9, ["precision", "recall"]].tolist() == pytest.approx([2 / 4, 2 / 3])
    assert report.loc[5, ["precision", "recall"]].tolist() == pytest.approx([2 / 3, 1])
    assert report.loc[0, ["support", "f1"]].tolist() == [0, 0]
    assert evaluation.per_class_f1(Y_TRUE, Y_PRED) == pytest.approx(report["f1"].to_numpy())
    table = evaluation.confidence_summary(np.array([0.999, 0.95, 0.6, 0.55]), np.array([True, True, False, True]))
    assert table.columns[0] == "predictions" and table.loc["wrong"].tolist() == pytest.approx([1, 0.6, 0, 0])
    assert table.loc["correct"].tolist() == pytest.approx([3, (0.999 + 0.95 + 0.55) / 3, 2 / 3, 1 / 3])


def test_summarize_runs_gives_mean_and_sample_std_per_model():
    runs = [{"model": "a", "seed": s, "val_accuracy": v, "note": "x"} for s, v in enumerate([0.97, 0.98, 0.99])]
    table = evaluation.summarize_runs([*runs, {"model": "b", "seed": 0, "val_accuracy": 0.95, "note": "y"}])
    assert list(table.index) == ["a", "b"]  # in the order the runs came, not sorted
    assert list(table.columns) == [("seeds", "n"), ("val_accuracy", "mean"), ("val_accuracy", "std")]
    assert table.loc["a"].tolist() == pytest.approx([3, 0.98, 0.01])  # sample std (n - 1)
    assert table.loc["b", ("seeds", "n")] == 1 and np.isnan(table.loc["b", ("val_accuracy", "std")])  # no spread


def test_confusion_plots_show_the_numbers():
    cm = evaluation.confusion(Y_TRUE, Y_PRED)
    ax = plots.plot_confusion_matrix(cm)
    cells = {(round(t.get_position()[1] - 0.5), round(t.get_position()[0] - 0.5)): t.get_text() for t in ax.texts}
    assert len(cells) == 100 and cells[4, 9] == "2" and cells[9, 4] == "1"  # rows: true digit, columns: predicted
    better = cm.copy()
    better[4, 9], better[4, 4] = 0, 3
    texts = [t.get_text() for t in plots.plot_confusion_difference(cm, better).axes[0].texts]
    assert [t for t in texts if t] == ["-2"]  # the diagonal (+2) is masked, unchanged cells stay blank
    fig = plots.plot_confidence_histograms(np.array([0.99, 0.97, 0.6]), np.array([True, True, False]))
    assert [sum(p.get_height() for p in ax.patches) for ax in fig.axes] == [2, 1]  # correct, wrong
    plt.close("all")


def test_bootstrap_draws_the_same_images_from_every_array_and_repeats_with_its_seed():
    values = np.arange(1000)
    same = evaluation.bootstrap(lambda a, b: float((a == b).mean()), values, values.copy(), n_resamples=50)
    assert same.tolist() == [1.0] * 50  # one draw of images, applied to both arrays
    first = evaluation.bootstrap(np.mean, values, n_resamples=20, seed=3).tolist()
    assert first == evaluation.bootstrap(np.mean, values, n_resamples=20, seed=3).tolist()
    assert first != evaluation.bootstrap(np.mean, values, n_resamples=20, seed=4).tolist()
    with pytest.raises(ValueError, match="one value per image"):
        evaluation.bootstrap(np.mean, values, values[:10])
    right = np.arange(10_000) < 9_000  # a recall of 0.9 on 10,000 images: sqrt(0.9 * 0.1 / 10,000) = 0.003
    assert evaluation.bootstrap(np.mean, right).std(ddof=1) == pytest.approx(0.003, rel=0.1)


def test_f1_ranking_says_which_differences_are_beyond_the_noise():
    y_true = np.repeat(np.arange(10), 500)
    y_pred = y_true.copy()
    y_pred[np.flatnonzero(y_true == 9)[:100]] = 8  # 100 nines called 8: 9 loses recall, 8 precision
    ranking = evaluation.f1_ranking(y_true, y_pred, n_resamples=300)
    assert list(ranking.index) == list(range(1, 11)) and ranking["digit"].tolist() == list(range(10))  # ties: in order
    assert ranking["f1"].iloc[:8].tolist() == [1.0] * 8 and ranking["se"].iloc[:8].tolist() == [0.0] * 8
    assert ranking.loc[9, "f1"] == pytest.approx(1000 / 1100) and ranking.loc[10, "f1"] == pytest.approx(800 / 900)
    # equal F1s are never "beyond the noise"; the perfect digits beat 8 and 9
    assert ranking["above_next"].tolist()[:7] == [False] * 7 and ranking.loc[8, "above_next"]
    assert ranking["beats"].iloc[:8].tolist() == [2] * 8 and ranking.loc[9, "beaten_by"] == 8
    assert ranking["beats"].sum() == ranking["beaten_by"].sum()


def test_mcnemar_counts_only_the_images_the_models_disagree_on():
    a = np.array([True] * 50 + [False] * 5 + [True] * 1 + [False] * 9)  # both right 50, both wrong 5
    b = np.array([True] * 50 + [False] * 5 + [False] * 1 + [True] * 9)  # a alone right once, b alone 9 times
    # two-sided binomial: P(X <= 1 or X >= 9), n = 10
    assert evaluation.mcnemar_exact(a, b) == pytest.approx({"a_only": 1, "b_only": 9, "p": 2 * (1 + 10) / 2**10})
    assert evaluation.mcnemar_exact(a, a) == {"a_only": 0, "b_only": 0, "p": 1.0}
    with pytest.raises(ValueError, match="one True/False per image"):
        evaluation.mcnemar_exact(a, b[:10])


def test_expected_calibration_error_and_reliability_table_by_hand():
    for confidence, correct, bins, ece in [
        ([0.75] * 4 + [0.95] * 20, [1, 1, 1, 0] + [1] * 19 + [0], 10, 0),  # 3 of 4 and 19 of 20 right: calibrated
        ([0.9] * 10 + [0.55] * 10, [1] * 6 + [0] * 4 + [1] * 5 + [0] * 5, 10, 0.5 * 0.3 + 0.5 * 0.05),
        ([0.92, 0.98], [1, 0], 10, 0.45),  # one bin: its mean confidence 0.95 against accuracy 0.5
        ([0.92, 0.98], [1, 0], 100, 0.5 * 0.08 + 0.5 * 0.98),  # two bins
    ]:
        got = evaluation.expected_calibration_error(np.array(confidence), np.array(correct, dtype=bool), bins=bins)
        assert got == pytest.approx(ece, abs=1e-12), (confidence, bins)
    confidence, correct = np.array([0.0, 0.9, 0.9, 0.95, 1.0]), np.array([False, True, False, True, True])
    table = evaluation.reliability_table(confidence, correct)
    assert table["images"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 2, 2]  # 0.9 closes (0.8, 0.9]; 0 opens the first
    assert table.index[8] == "(0.80, 0.90]" and np.isnan(table.iloc[1]["accuracy"])  # an empty bin has no accuracy
    assert table.iloc[8][["accuracy", "gap"]].tolist() == pytest.approx([0.5, -0.4])  # over-confident
    assert table.iloc[9][["confidence", "gap"]].tolist() == pytest.approx([0.975, 0.025])
    assert len(evaluation.reliability_table(confidence, correct, bins=15)) == 15
    for confidence, correct, message in [
        ([95.0, 80.0], [True, False], "between 0 and 1"),  # percentages, not probabilities
        ([0.9, 0.8], [True], "one confidence and one right/wrong per image"),
    ]:
        with pytest.raises(ValueError, match=message):
            evaluation.expected_calibration_error(np.asarray(confidence), np.asarray(correct))


def test_compare_seeds_is_welchs_test_b_minus_a_worked_by_hand():
    # a: mean 2, sample variance 1; b: mean 7, sample variance 20/3.
    # s_a²/n_a = 1/3, s_b²/n_b = 5/3: t = 5 / sqrt(2); df = 2² / ((1/3)²/2 + (5/3)²/3) = 4 / (1/18 + 25/27)
    t, df = 5 / 2**0.5, 4 / (1 / 18 + 25 / 27)
    c = evaluation.compare_seeds([1.0, 2.0, 3.0], [4.0, 6.0, 8.0, 10.0])
    assert c == pytest.approx({"difference": 5.0, "t": t, "df": df, "p": 2 * stats.t.sf(t, df)})
    assert 0.02 < c["p"] < 0.03
    down = evaluation.compare_seeds([4.0, 6.0, 8.0, 10.0], [1.0, 2.0, 3.0])
    assert down == pytest.approx({"difference": -5.0, "t": -t, "df": df, "p": c["p"]})
    # a constant: s_a = 0, so t = (mean_b - mean_a) / (s_b / sqrt(n_b)) and df = n_b - 1
    c = evaluation.compare_seeds([0.983, 0.983, 0.983], [0.987, 0.989, 0.988])
    assert (c["difference"], c["t"], c["df"]) == pytest.approx((0.005, 0.005 / (0.001 / 3**0.5), 2))
    assert c["p"] == pytest.approx(0.0131, abs=1e-4)


def test_compare_seeds_without_any_spread_or_with_too_few_values():
    # the float mean of [0.1] * 5 is not 0.1, and its std ~1e-17: no spread all the same
    for a, b, difference, p in [([0.1] * 5, [0.1] * 3, 0, 1), ([0.75] * 2, [0.25] * 2, -0.5, 0)]:
        c = evaluation.compare_seeds(a, b)
        assert c["difference"] == pytest.approx(difference) and c["p"] == p
        assert np.isnan(c["t"]) and np.isnan(c["df"])  # the test is undefined, the answer is not
    for pair in [([0.98], [0.97, 0.99]), ([0.97, 0.99], [[0.97, 0.98], [0.99, 0.98]])]:
        with pytest.raises(ValueError, match="at least 2 values per side"):
            evaluation.compare_seeds(*pair)
