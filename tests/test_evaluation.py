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


# ------------------------------------------------------------------ uncertainty, paired test, calibration


def test_per_class_f1_matches_scikit_learn():
    assert evaluation.per_class_f1(Y_TRUE, Y_PRED) == pytest.approx(
        evaluation.per_class_report(Y_TRUE, Y_PRED)["f1"].to_numpy()
    )
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    assert evaluation.per_class_f1(y_true, y_pred) == pytest.approx(
        evaluation.per_class_report(y_true, y_pred)["f1"].to_numpy()
    )


def test_bootstrap_draws_the_same_images_from_every_array_and_repeats_with_its_seed():
    values = np.arange(1000)
    same = evaluation.bootstrap(lambda a, b: float((a == b).mean()), values, values.copy(), n_resamples=50)
    assert same.tolist() == [1.0] * 50  # one draw of images, applied to both arrays
    first = evaluation.bootstrap(np.mean, values, n_resamples=20, seed=3)
    assert first.tolist() == evaluation.bootstrap(np.mean, values, n_resamples=20, seed=3).tolist()
    assert first.tolist() != evaluation.bootstrap(np.mean, values, n_resamples=20, seed=4).tolist()
    with pytest.raises(ValueError, match="one value per image"):
        evaluation.bootstrap(np.mean, values, values[:10])


def test_bootstrap_standard_error_of_a_share_matches_the_binomial_formula():
    right = np.arange(10_000) < 9_000  # a recall of 0.9 on 10,000 images: sqrt(0.9 * 0.1 / 10,000) = 0.003
    se = evaluation.bootstrap(np.mean, right, n_resamples=1000).std(ddof=1)
    assert se == pytest.approx(0.003, rel=0.1)


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


def test_expected_calibration_error_is_zero_when_confidence_matches_accuracy():
    confidence = np.array([0.75] * 4 + [0.95] * 20)
    correct = np.array([True] * 3 + [False] + [True] * 19 + [False])  # 3 of 4 and 19 of 20 right
    assert evaluation.expected_calibration_error(confidence, correct) == pytest.approx(0, abs=1e-12)
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.1, 1, 200_000)
    correct = rng.random(200_000) < confidence  # right exactly as often as the model claims, up to chance
    assert evaluation.expected_calibration_error(confidence, correct) < 0.005
    assert evaluation.expected_calibration_error(confidence, correct, bins=15) < 0.005


def test_expected_calibration_error_of_an_over_confident_model_by_hand():
    # 10 predictions at 0.9 with 6 right (gap 0.3), 10 at 0.55 with 5 right (gap 0.05): ECE = 0.5·0.3 + 0.5·0.05
    confidence = np.array([0.9] * 10 + [0.55] * 10)
    correct = np.array([True] * 6 + [False] * 4 + [True] * 5 + [False] * 5)
    assert evaluation.expected_calibration_error(confidence, correct) == pytest.approx(0.175)
    # inside a bin the mean confidence counts: 0.92 and 0.98, one right -> |0.5 - 0.95| = 0.45
    pair, one_right = np.array([0.92, 0.98]), np.array([True, False])
    assert evaluation.expected_calibration_error(pair, one_right) == pytest.approx(0.45)
    assert evaluation.expected_calibration_error(pair, one_right, bins=100) == pytest.approx(0.5 * 0.08 + 0.5 * 0.98)


def test_reliability_table_bins_and_gaps():
    confidence = np.array([0.0, 0.9, 0.9, 0.95, 1.0])
    correct = np.array([False, True, False, True, True])
    table = evaluation.reliability_table(confidence, correct)
    assert len(table) == 10 and table["images"].sum() == 5
    assert table["images"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 2, 2]  # 0.9 closes (0.8, 0.9]; 0 opens the first
    assert table.index[8] == "(0.80, 0.90]"
    assert table.iloc[8]["accuracy"] == 0.5 and table.iloc[8]["gap"] == pytest.approx(-0.4)  # over-confident
    assert table.iloc[9]["confidence"] == pytest.approx(0.975) and table.iloc[9]["gap"] == pytest.approx(0.025)
    assert np.isnan(table.iloc[1]["accuracy"])  # an empty bin has no accuracy
    assert len(evaluation.reliability_table(confidence, correct, bins=15)) == 15


@pytest.mark.parametrize(
    ("confidence", "correct", "message"),
    [
        (np.array([95.0, 80.0]), np.array([True, False]), "between 0 and 1"),  # percentages, not probabilities
        (np.array([0.9, 0.8]), np.array([True]), "one confidence and one right/wrong per image"),
        (np.zeros((2, 10)), np.zeros((2, 10), dtype=bool), "one confidence and one right/wrong per image"),
    ],
)
def test_calibration_rejects_what_is_not_one_probability_per_image(confidence, correct, message):
    with pytest.raises(ValueError, match=message):
        evaluation.expected_calibration_error(confidence, correct)


# ---------------------------------------------------------------- Welch's t-test over seeds (compare_seeds)


def test_compare_seeds_matches_the_welch_formula_worked_by_hand():
    # a: mean 2, sample variance 1; b: mean 7, sample variance 20/3.
    # s_a²/n_a = 1/3, s_b²/n_b = 5/3: t = 5 / sqrt(2); df = 2² / ((1/3)²/2 + (5/3)²/3) = 4 / (1/18 + 25/27)
    a, b = [1.0, 2.0, 3.0], [4.0, 6.0, 8.0, 10.0]
    c = evaluation.compare_seeds(a, b)
    assert set(c) == {"difference", "t", "df", "p"}
    assert c["difference"] == pytest.approx(5.0)
    assert c["t"] == pytest.approx(5 / 2**0.5)
    assert c["df"] == pytest.approx(4 / (1 / 18 + 25 / 27))
    assert c["df"] == pytest.approx(4.0755, abs=1e-4)
    from scipy import stats

    assert c["p"] == pytest.approx(2 * stats.t.sf(5 / 2**0.5, 4 / (1 / 18 + 25 / 27)))
    assert 0.02 < c["p"] < 0.03


def test_compare_seeds_agrees_with_scipy_welch_on_random_seeds():
    from scipy import stats

    rng = np.random.default_rng(0)
    for n_a, n_b in [(2, 2), (3, 5), (5, 3), (10, 4)]:
        a, b = rng.normal(0.98, 0.002, n_a), rng.normal(0.981, 0.004, n_b)
        c = evaluation.compare_seeds(a, b)
        expected = stats.ttest_ind(b, a, equal_var=False)
        var_a, var_b = a.var(ddof=1) / n_a, b.var(ddof=1) / n_b
        df = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))  # Welch–Satterthwaite
        assert c["difference"] == pytest.approx(b.mean() - a.mean())
        assert c["t"] == pytest.approx((b.mean() - a.mean()) / np.sqrt(var_a + var_b))
        assert c["t"] == pytest.approx(expected.statistic)
        assert c["df"] == pytest.approx(df)
        assert c["p"] == pytest.approx(expected.pvalue)
        assert 0 <= c["p"] <= 1


def test_compare_seeds_is_b_minus_a():
    worse, better = [0.979, 0.980, 0.981], [0.987, 0.989, 0.988]
    up, down = evaluation.compare_seeds(worse, better), evaluation.compare_seeds(better, worse)
    assert up["difference"] == pytest.approx(0.008) and up["t"] > 0
    assert down["difference"] == pytest.approx(-0.008) and down["t"] < 0
    assert up["t"] == pytest.approx(-down["t"]) and up["df"] == pytest.approx(down["df"])
    assert up["p"] == pytest.approx(down["p"]) and up["p"] < evaluation.SIGNIFICANCE
    assert evaluation.SIGNIFICANCE == 0.05


def test_compare_seeds_sees_no_difference_inside_the_noise():
    c = evaluation.compare_seeds([0.979, 0.981, 0.980], [0.9802, 0.9792, 0.9812])
    assert c["difference"] == pytest.approx(0.0002)
    assert c["p"] > 0.5


@pytest.mark.parametrize(
    ("a", "b"),
    [([0.98], [0.97, 0.99]), ([0.97, 0.99], [0.98]), ([], [0.97, 0.99]), ([[0.97, 0.98], [0.99, 0.98]], [0.9, 0.8])],
)
def test_compare_seeds_refuses_fewer_than_two_values_per_side(a, b):
    with pytest.raises(ValueError, match="at least 2 values per side"):
        evaluation.compare_seeds(a, b)


def test_compare_seeds_without_any_spread():
    same = evaluation.compare_seeds([0.5, 0.5, 0.5], [0.5, 0.5])
    assert same["difference"] == 0 and same["p"] == 1
    assert np.isnan(same["t"]) and np.isnan(same["df"])
    apart = evaluation.compare_seeds([0.25, 0.25, 0.25], [0.75, 0.75, 0.75])
    assert apart["difference"] == 0.5 and apart["p"] == 0
    assert np.isnan(apart["t"]) and np.isnan(apart["df"])
    below = evaluation.compare_seeds([0.75, 0.75], [0.25, 0.25])
    assert below["difference"] == -0.5 and below["p"] == 0


def test_compare_seeds_with_spread_on_one_side_only_is_a_one_sample_test():
    # a constant: s_a = 0, so t = (mean_b - mean_a) / (s_b / sqrt(n_b)) and df = n_b - 1
    c = evaluation.compare_seeds([0.983, 0.983, 0.983], [0.987, 0.989, 0.988])
    assert c["difference"] == pytest.approx(0.005)
    assert c["t"] == pytest.approx(0.005 / (0.001 / 3**0.5))
    assert c["df"] == pytest.approx(2)
    assert c["p"] == pytest.approx(0.0131, abs=1e-4)


def test_compare_seeds_without_spread_for_values_whose_float_mean_is_inexact():
    # the float mean of [0.1] * 3 is not 0.1, so its std is ~1e-17: no spread must be seen all the same
    same = evaluation.compare_seeds([0.1] * 5, [0.1] * 3)
    assert same["p"] == 1 and np.isnan(same["t"])
    apart = evaluation.compare_seeds([0.1] * 3, [0.2] * 3)
    assert apart["p"] == 0 and np.isnan(apart["t"])
