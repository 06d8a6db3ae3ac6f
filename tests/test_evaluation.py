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
    cm = evaluation.confusion(Y_TRUE, Y_PRED)
    assert cm.shape == (10, 10) and cm.sum() == 10
    assert (cm[4, 9], cm[9, 4], cm[3, 5], cm[4, 4]) == (2, 1, 1, 1)  # row: true digit, column: predicted
    normalized = evaluation.confusion(Y_TRUE, Y_PRED, normalize=True)
    assert (normalized[4, 4], normalized[4, 9]) == pytest.approx((1 / 3, 2 / 3))
    assert normalized[0].sum() == 0  # a digit with no images gives a zero row, not NaN
    assert normalized[[3, 4, 5, 9]].sum(axis=1) == pytest.approx([1, 1, 1, 1])
    pairs = evaluation.confused_pairs(cm, top=3)  # both directions added, most first
    assert pairs["pair"].tolist() == ["4↔9", "3↔5"]
    assert pairs.iloc[0][["a→b", "b→a", "total"]].tolist() == [2, 1, 3]
    with pytest.raises(ValueError, match="square"):
        evaluation.confused_pairs(np.zeros((3, 4)))


def test_per_class_report_matches_hand_computation_and_f1_matches_it():
    report = evaluation.per_class_report(Y_TRUE, Y_PRED)
    assert list(report.index) == list(range(10))
    # digit 9: predicted 9 four times, two of them right; 3 true 9s, two found
    assert report.loc[9, ["precision", "recall"]].tolist() == pytest.approx([2 / 4, 2 / 3])
    assert report.loc[5, ["precision", "recall"]].tolist() == pytest.approx([2 / 3, 1])
    assert report.loc[0, ["support", "f1"]].tolist() == [0, 0]
    rng = np.random.default_rng(1)
    for y_true, y_pred in [(Y_TRUE, Y_PRED), (rng.integers(0, 10, 500), rng.integers(0, 10, 500))]:
        expected = evaluation.per_class_report(y_true, y_pred)["f1"].to_numpy()
        assert evaluation.per_class_f1(y_true, y_pred) == pytest.approx(expected)


def test_confidence_summary_splits_right_and_wrong():
    table = evaluation.confidence_summary(np.array([0.999, 0.95, 0.6, 0.55]), np.array([True, True, False, True]))
    assert table.loc["correct"].tolist() == pytest.approx([3, (0.999 + 0.95 + 0.55) / 3, 2 / 3, 1 / 3])
    assert table.loc["wrong"].tolist() == pytest.approx([1, 0.6, 0, 0])
    assert table.columns[0] == "predictions"


def test_summarize_runs_gives_mean_and_sample_std_per_model():
    runs = [{"model": "a", "seed": s, "val_accuracy": v, "note": "x"} for s, v in enumerate([0.97, 0.98, 0.99])]
    runs.append({"model": "b", "seed": 0, "val_accuracy": 0.95, "note": "y"})
    table = evaluation.summarize_runs(runs)
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


# ------------------------------------------------------------------ uncertainty, paired test, calibration


def test_bootstrap_draws_the_same_images_from_every_array_and_repeats_with_its_seed():
    values = np.arange(1000)
    same = evaluation.bootstrap(lambda a, b: float((a == b).mean()), values, values.copy(), n_resamples=50)
    assert same.tolist() == [1.0] * 50  # one draw of images, applied to both arrays
    first = evaluation.bootstrap(np.mean, values, n_resamples=20, seed=3)
    assert first.tolist() == evaluation.bootstrap(np.mean, values, n_resamples=20, seed=3).tolist()
    assert first.tolist() != evaluation.bootstrap(np.mean, values, n_resamples=20, seed=4).tolist()
    with pytest.raises(ValueError, match="one value per image"):
        evaluation.bootstrap(np.mean, values, values[:10])
    right = np.arange(10_000) < 9_000  # a recall of 0.9 on 10,000 images: sqrt(0.9 * 0.1 / 10,000) = 0.003
    assert evaluation.bootstrap(np.mean, right).std(ddof=1) == pytest.approx(0.003, rel=0.1)


def test_f1_ranking_says_which_differences_are_beyond_the_noise():
    y_true = np.repeat(np.arange(10), 500)
    y_pred = y_true.copy()
    y_pred[np.flatnonzero(y_true == 9)[:100]] = 8  # 100 nines called 8: 9 loses recall, 8 precision
    ranking = evaluation.f1_ranking(y_true, y_pred, n_resamples=300)
    assert list(ranking.index) == list(range(1, 11))
    assert ranking["digit"].tolist() == list(range(10))  # ties (F1 = 1) keep the digits' order
    assert ranking["f1"].iloc[:8].tolist() == [1.0] * 8 and ranking["se"].iloc[:8].tolist() == [0.0] * 8
    assert ranking.loc[9, "f1"] == pytest.approx(1000 / 1100) and ranking.loc[10, "f1"] == pytest.approx(800 / 900)
    # equal F1s are never "beyond the noise"; the perfect digits beat 8 and 9
    assert ranking["above_next"].tolist()[:7] == [False] * 7 and ranking.loc[8, "above_next"]
    assert ranking["beats"].iloc[:8].tolist() == [2] * 8 and ranking.loc[9, "beaten_by"] == 8
    assert ranking["beats"].sum() == ranking["beaten_by"].sum()
    perfect = evaluation.f1_ranking(y_true, y_true, n_resamples=50)
    assert perfect["se"].max() == 0 and perfect["beats"].sum() == 0


def test_mcnemar_counts_only_the_images_the_models_disagree_on():
    a = np.array([True] * 50 + [False] * 5 + [True] * 1 + [False] * 9)  # both right 50, both wrong 5
    b = np.array([True] * 50 + [False] * 5 + [False] * 1 + [True] * 9)  # a alone right once, b alone 9 times
    result = evaluation.mcnemar_exact(a, b)
    assert (result["a_only"], result["b_only"]) == (1, 9)
    assert result["p"] == pytest.approx(2 * (1 + 10) / 2**10)  # two-sided binomial: P(X <= 1 or X >= 9), n = 10
    assert evaluation.mcnemar_exact(b, a)["p"] == pytest.approx(result["p"])
    assert evaluation.mcnemar_exact(a, a) == {"a_only": 0, "b_only": 0, "p": 1.0}
    with pytest.raises(ValueError, match="one True/False per image"):
        evaluation.mcnemar_exact(a, b[:10])


@pytest.mark.parametrize(
    ("confidence", "correct", "bins", "ece"),
    [
        ([0.75] * 4 + [0.95] * 20, [1, 1, 1, 0] + [1] * 19 + [0], 10, 0),  # 3 of 4 and 19 of 20 right: calibrated
        ([0.9] * 10 + [0.55] * 10, [1] * 6 + [0] * 4 + [1] * 5 + [0] * 5, 10, 0.5 * 0.3 + 0.5 * 0.05),
        ([0.92, 0.98], [1, 0], 10, 0.45),  # one bin: its mean confidence 0.95 against accuracy 0.5
        ([0.92, 0.98], [1, 0], 100, 0.5 * 0.08 + 0.5 * 0.98),  # two bins
    ],
    ids=["calibrated", "over-confident", "one-bin", "two-bins"],
)
def test_expected_calibration_error_by_hand(confidence, correct, bins, ece):
    result = evaluation.expected_calibration_error(np.array(confidence), np.array(correct, dtype=bool), bins=bins)
    assert result == pytest.approx(ece, abs=1e-12)


def test_expected_calibration_error_of_a_calibrated_model_is_near_zero():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.1, 1, 200_000)
    correct = rng.random(200_000) < confidence  # right exactly as often as the model claims, up to chance
    assert evaluation.expected_calibration_error(confidence, correct) < 0.005
    assert evaluation.expected_calibration_error(confidence, correct, bins=15) < 0.005
    assert evaluation.expected_calibration_error(confidence, ~correct) > 0.1


def test_reliability_table_bins_and_gaps():
    confidence, correct = np.array([0.0, 0.9, 0.9, 0.95, 1.0]), np.array([False, True, False, True, True])
    table = evaluation.reliability_table(confidence, correct)
    assert table["images"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 2, 2]  # 0.9 closes (0.8, 0.9]; 0 opens the first
    assert table.index[8] == "(0.80, 0.90]"
    assert table.iloc[8][["accuracy", "gap"]].tolist() == pytest.approx([0.5, -0.4])  # over-confident
    assert table.iloc[9][["confidence", "gap"]].tolist() == pytest.approx([0.975, 0.025])
    assert np.isnan(table.iloc[1]["accuracy"])  # an empty bin has no accuracy
    assert len(evaluation.reliability_table(confidence, correct, bins=15)) == 15
    for confidence, correct, message in [
        ([95.0, 80.0], [True, False], "between 0 and 1"),  # percentages, not probabilities
        ([0.9, 0.8], [True], "one confidence and one right/wrong per image"),
        (np.zeros((2, 10)), np.zeros((2, 10), dtype=bool), "one confidence and one right/wrong per image"),
    ]:
        with pytest.raises(ValueError, match=message):
            evaluation.expected_calibration_error(np.asarray(confidence), np.asarray(correct))


# ---------------------------------------------------------------- Welch's t-test over seeds (compare_seeds)


def test_compare_seeds_matches_the_welch_formula_worked_by_hand():
    # a: mean 2, sample variance 1; b: mean 7, sample variance 20/3.
    # s_a²/n_a = 1/3, s_b²/n_b = 5/3: t = 5 / sqrt(2); df = 2² / ((1/3)²/2 + (5/3)²/3) = 4 / (1/18 + 25/27)
    t, df = 5 / 2**0.5, 4 / (1 / 18 + 25 / 27)
    c = evaluation.compare_seeds([1.0, 2.0, 3.0], [4.0, 6.0, 8.0, 10.0])
    assert c == pytest.approx({"difference": 5.0, "t": t, "df": df, "p": 2 * stats.t.sf(t, df)})
    assert 0.02 < c["p"] < 0.03


def test_compare_seeds_is_b_minus_a_and_sees_no_difference_inside_the_noise():
    worse, better = [0.979, 0.980, 0.981], [0.987, 0.989, 0.988]
    up, down = evaluation.compare_seeds(worse, better), evaluation.compare_seeds(better, worse)
    assert up["difference"] == pytest.approx(0.008) and up["t"] > 0 and up["p"] < evaluation.SIGNIFICANCE
    assert down == pytest.approx({"difference": -0.008, "t": -up["t"], "df": up["df"], "p": up["p"]})
    noise = evaluation.compare_seeds([0.979, 0.981, 0.980], [0.9802, 0.9792, 0.9812])
    assert noise["difference"] == pytest.approx(0.0002) and noise["p"] > 0.5


@pytest.mark.parametrize("a", [[0.98], [], [[0.97, 0.98], [0.99, 0.98]]])
def test_compare_seeds_refuses_fewer_than_two_values_per_side(a):
    for pair in [(a, [0.97, 0.99]), ([0.97, 0.99], a)]:
        with pytest.raises(ValueError, match="at least 2 values per side"):
            evaluation.compare_seeds(*pair)


# the float mean of [0.1] * 3 is not 0.1, and its std ~1e-17: no spread all the same
@pytest.mark.parametrize(
    ("a", "b", "difference", "p"),
    [([0.5] * 3, [0.5] * 2, 0, 1), ([0.25] * 3, [0.75] * 3, 0.5, 0), ([0.75] * 2, [0.25] * 2, -0.5, 0)]
    + [([0.1] * 5, [0.1] * 3, 0, 1), ([0.1] * 3, [0.2] * 3, 0.1, 0)],
)
def test_compare_seeds_without_any_spread(a, b, difference, p):
    c = evaluation.compare_seeds(a, b)
    assert c["difference"] == pytest.approx(difference) and c["p"] == p
    assert np.isnan(c["t"]) and np.isnan(c["df"])  # the test is undefined, the answer is not


def test_compare_seeds_with_spread_on_one_side_only_is_a_one_sample_test():
    # a constant: s_a = 0, so t = (mean_b - mean_a) / (s_b / sqrt(n_b)) and df = n_b - 1
    c = evaluation.compare_seeds([0.983, 0.983, 0.983], [0.987, 0.989, 0.988])
    assert (c["difference"], c["t"], c["df"]) == pytest.approx((0.005, 0.005 / (0.001 / 3**0.5), 2))
    assert c["p"] == pytest.approx(0.0131, abs=1e-4)
