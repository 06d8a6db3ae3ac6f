"""Exercise checks: a right answer passes, each typical wrong answer gets its helpful message."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import checks

Y = np.array([0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9], dtype=np.uint8)
X = np.zeros((len(Y), 28, 28), dtype=np.uint8)
X[Y == 8] = 200  # digit 8 has the most ink in this toy set


def test_class_proportions_right_answer_passes():
    assert checks.check_class_proportions(np.bincount(Y, minlength=10) / len(Y), Y).startswith("Correct")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "still empty"),
        (np.ones(9) / 9, "expected 10 proportions"),
        (np.bincount(Y, minlength=10), "look like counts"),
        (np.ones(10) / 12, "sum to 1"),
        (np.roll(np.bincount(Y, minlength=10) / len(Y), 1), "Is index i the proportion of digit i"),
    ],
    ids=["empty", "nine-classes", "counts", "bad-sum", "shifted"],
)
def test_class_proportions_wrong_answers(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        checks.check_class_proportions(answer, Y)


def test_scaled_right_and_wrong():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert checks.check_scaled(x.astype("float32") / 255, x).startswith("Correct")
    with pytest.raises(checks.CheckFailed, match="use float32"):
        checks.check_scaled(x / 255, x)  # float64
    with pytest.raises(checks.CheckFailed, match="did you divide by 255"):
        checks.check_scaled(x.astype("float32"), x)
    with pytest.raises(checks.CheckFailed, match="should not reshape"):
        checks.check_scaled((x.astype("float32") / 255).ravel(), x)
    with pytest.raises(checks.CheckFailed, match="not by the maximum"):
        checks.check_scaled(x.astype("float32") / 256, x)


def test_most_ink_digit_right_and_wrong():
    assert "digit 8" in checks.check_most_ink_digit(8, X, Y)
    with pytest.raises(checks.CheckFailed, match="another digit has more"):
        checks.check_most_ink_digit(3, X, Y)
    with pytest.raises(checks.CheckFailed, match="not an array"):
        checks.check_most_ink_digit(np.array([8]), X, Y)
    with pytest.raises(checks.CheckFailed, match="one digit 0-9"):
        checks.check_most_ink_digit(12, X, Y)


def test_dense_params_catches_the_usual_mistakes():
    assert checks.check_dense_params(lambda n, u: n * u + u).startswith("Correct")
    with pytest.raises(checks.CheckFailed, match="not the 512 biases"):
        checks.check_dense_params(lambda n, u: n * u)
    with pytest.raises(checks.CheckFailed, match="one bias per \\*unit\\*"):
        checks.check_dense_params(lambda n, u: n * u + n)
    with pytest.raises(checks.CheckFailed, match="should be a function"):
        checks.check_dense_params(401_920)


def test_predictions_check():
    import keras

    # A real Keras model whose prediction is the argmax of its input (identity weights).
    model = keras.Sequential(
        [keras.Input((10,)), keras.layers.Dense(10, use_bias=False, kernel_initializer="identity")]
    )
    x = np.eye(10, dtype="float32")[[3, 1, 4, 1, 5]]
    y = np.array([3, 1, 4, 1, 6])
    assert "4 of 5 match" in checks.check_predictions(np.array([3, 1, 4, 1, 5]), model, x, y)
    with pytest.raises(checks.CheckFailed, match="argmax"):
        checks.check_predictions(model.predict(x, verbose=0), model, x, y)
    with pytest.raises(checks.CheckFailed, match="image 4: you predict 6"):
        checks.check_predictions(np.array([3, 1, 4, 1, 6]), model, x, y)
    with pytest.raises(checks.CheckFailed, match="integers"):
        checks.check_predictions(np.array([3.0, 1, 4, 1, 5]), model, x, y)


def test_dropout_gap_check():
    assert checks.check_dropout_gap(-0.03).startswith("Plausible")
    with pytest.raises(checks.CheckFailed, match="right order"):
        checks.check_dropout_gap(0.05)
    with pytest.raises(checks.CheckFailed, match="one number"):
        checks.check_dropout_gap([0.9, 0.95])


def test_two_hidden_params_check():
    assert "669,706" in checks.check_two_hidden_params(669_706)
    with pytest.raises(checks.CheckFailed, match="as it is"):
        checks.check_two_hidden_params(407_050)
    with pytest.raises(checks.CheckFailed, match="forgot the 512 biases"):
        checks.check_two_hidden_params(669_706 - 512)


def test_mean_accuracy_check():
    runs = [
        {"model": "a", "test_accuracy": 0.90},
        {"model": "b", "test_accuracy": 0.98},
        {"model": "b", "test_accuracy": 0.99},
    ]
    assert "98.50%" in checks.check_mean_accuracy(0.985, runs, "b")
    with pytest.raises(checks.CheckFailed, match="mean over \\*all\\* runs"):
        checks.check_mean_accuracy(np.mean([0.90, 0.98, 0.99]), runs, "b")
    with pytest.raises(checks.CheckFailed, match="percentage"):
        checks.check_mean_accuracy(98.5, runs, "b")
    with pytest.raises(checks.CheckFailed, match="no run named"):
        checks.check_mean_accuracy(0.9, runs, "c")


def test_ab_result_check():
    assert "batch norm changes test accuracy by -0.10%, within" in checks.check_ab_result(0.951, 0.952, "batch norm")
    assert "worse by more" in checks.check_ab_result(0.94, 0.95)
    with pytest.raises(checks.CheckFailed, match="one number"):
        checks.check_ab_result([0.9, 0.91], 0.9)


def test_confusion_matrix_exercise_checks():
    cm = np.diag([10] * 10)
    cm[4, 9], cm[9, 4], cm[3, 5] = 5, 2, 1
    assert "4 predicted as 9, 5 times" in checks.check_most_common_mistake((4, 9), cm)
    with pytest.raises(checks.CheckFailed, match="swapped"):
        checks.check_most_common_mistake((9, 4), cm)
    with pytest.raises(checks.CheckFailed, match="diagonal"):
        checks.check_most_common_mistake((4, 4), cm)
    assert "66.67%" in checks.check_recall(10 / 15, cm, digit=4)
    with pytest.raises(checks.CheckFailed, match="precision"):
        checks.check_recall(10 / 15, cm, digit=9)


def test_coverage_check():
    confidence = np.array([0.999, 0.995, 0.5, 0.98, 0.2])
    predicted = np.array([1, 2, 3, 4, 5])
    y = np.array([1, 0, 3, 4, 5])
    assert "40.0% of the images with 50.00%" in checks.check_coverage(0.4, 0.5, confidence, predicted, y, 0.99)
    with pytest.raises(checks.CheckFailed, match="only on the answered"):
        checks.check_coverage(0.4, 0.8, confidence, predicted, y, 0.99)
    with pytest.raises(checks.CheckFailed, match="below"):
        checks.check_coverage(0.6, 0.5, confidence, predicted, y, 0.99)


def test_new_image_exercise_checks():
    assert checks.check_digit_reading(7, 7).startswith("Correct")
    with pytest.raises(checks.CheckFailed, match="keep only the digit"):
        checks.check_digit_reading((7, np.ones(10) / 10), 7)
    with pytest.raises(checks.CheckFailed, match="reads 1"):
        checks.check_digit_reading(1, 7)
    assert "3 of 12" in checks.check_centring_matters(3, 10, 12)
    with pytest.raises(checks.CheckFailed, match="more than the 10 with it"):
        checks.check_centring_matters(11, 10, 12)
