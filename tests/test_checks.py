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
