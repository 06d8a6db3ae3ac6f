"""Friendly checks for the exercises: a wrong answer gets a message that says what to look at."""

from __future__ import annotations

import numpy as np


class CheckFailed(AssertionError):
    """An exercise answer is not right yet; the message says why."""


def _fail(message: str) -> None:
    raise CheckFailed(message)


def _as_array(answer, name: str) -> np.ndarray:
    if answer is None or answer is Ellipsis:
        _fail(f"`{name}` is still empty: write your answer in the cell above and run it.")
    try:
        return np.asarray(answer)
    except Exception:
        _fail(f"`{name}` should be an array of numbers, got {type(answer).__name__}.")


def check_class_proportions(proportions, y) -> str:
    """Check an array of 10 class proportions computed from labels ``y``."""
    p = _as_array(proportions, "proportions")
    if p.shape != (10,):
        _fail(f"expected 10 proportions (one per digit 0-9), got shape {p.shape}: did you drop a label?")
    if np.all(p > 1) or p.sum() > 1.5:
        _fail(f"your values sum to {p.sum():,.0f}: those look like counts. Divide by the number of labels.")
    if not np.isclose(p.sum(), 1.0, atol=1e-6):
        _fail(f"proportions must sum to 1, yours sum to {p.sum():.4f}.")
    expected = np.bincount(y, minlength=10) / len(y)
    if not np.allclose(p, expected, atol=1e-6):
        worst = int(np.argmax(np.abs(p - expected)))
        _fail(
            f"digit {worst}: you have {p[worst]:.4f}, expected {expected[worst]:.4f}. "
            "Is index i the proportion of digit i?"
        )
    return f"Correct: each digit is between {p.min():.1%} and {p.max():.1%} of the labels."


def check_scaled(scaled, original) -> str:
    """Check that ``scaled`` is ``original`` (uint8 0-255) mapped to float32 in [0, 1]."""
    s = _as_array(scaled, "x_test_scaled")
    original = np.asarray(original)
    if s.shape != original.shape:
        _fail(f"shape {s.shape} differs from the original {original.shape}: scaling should not reshape.")
    if s.dtype != np.float32:
        _fail(f"dtype is {s.dtype}; use float32 (Keras' default), e.g. `x.astype('float32') / 255`.")
    if s.max() > 1.0 + 1e-6:
        _fail(f"the largest value is {s.max():.1f}, expected 1.0: did you divide by 255?")
    expected = original.astype(np.float32) / 255.0
    if not np.allclose(s, expected, atol=1e-6):
        _fail(
            "values are in [0, 1] but not equal to pixel / 255: divide by 255, not by the maximum "
            "of each image, and do not subtract anything."
        )
    return "Correct: float32 in [0, 1], same shape, pixel / 255."


def check_most_ink_digit(answer, x, y) -> str:
    """Check the digit whose images have the most ink (highest mean pixel value) on average."""
    if isinstance(answer, (np.ndarray, list, tuple)):
        _fail("answer with one digit (an int 0-9), not an array.")
    if answer is None or isinstance(answer, float) or not 0 <= int(answer) <= 9:
        _fail(f"answer with one digit 0-9, got {answer!r}.")
    ink = np.array([x[y == d].mean() for d in range(10)])
    expected = int(np.argmax(ink))
    if int(answer) != expected:
        _fail(
            f"digit {int(answer)} has mean pixel value {ink[int(answer)]:.1f}, but another digit has "
            f"more ({ink.max():.1f}). Compute x[y == d].mean() for every d and take the argmax."
        )
    return f"Correct: digit {expected} uses the most ink (mean pixel value {ink.max():.1f})."


def check_dense_params(dense_params) -> str:
    """Check a function ``dense_params(n_inputs, units)`` against Keras' own count."""
    if not callable(dense_params):
        _fail("`dense_params` should be a function of (n_inputs, units).")
    cases = [(784, 512, 401_920), (512, 512, 262_656), (512, 10, 5_130), (3, 2, 8)]
    for n, u, expected in cases:
        got = dense_params(n, u)
        if got == expected:
            continue
        if got == n * u:
            _fail(f"dense_params({n}, {u}) = {got}: you counted the weights but not the {u} biases.")
        if got == (n + 1) * (u + 1) or got == n * u + n:
            _fail(f"dense_params({n}, {u}) = {got}: there is one bias per *unit* (output), not per input.")
        _fail(f"dense_params({n}, {u}) = {got}, expected {expected}: inputs × units weights + units biases.")
    return "Correct: inputs × units + units, e.g. 784 × 512 + 512 = 401,920."


def check_predictions(predictions, model, x, y) -> str:
    """Check predicted digits (argmax of ``model.predict``) for the images ``x``."""
    p = _as_array(predictions, "first_predictions")
    if p.ndim == 2 and p.shape[-1] == 10:
        _fail(f"you have probabilities of shape {p.shape}; take the most probable digit with .argmax(axis=1).")
    if p.shape != (len(x),):
        _fail(f"expected one digit per image, shape ({len(x)},), got {p.shape}.")
    if not np.issubdtype(p.dtype, np.integer):
        _fail(f"digits should be integers, got dtype {p.dtype}.")
    expected = model.predict(x, verbose=0).argmax(axis=1)
    if not np.array_equal(p, expected):
        bad = int(np.flatnonzero(p != expected)[0])
        _fail(f"image {bad}: you predict {p[bad]}, the model's most probable digit is {expected[bad]}.")
    correct = int((p == np.asarray(y)).sum())
    return f"Correct: these are the model's predictions; {correct} of {len(p)} match the true labels."


def check_dropout_gap(gap) -> str:
    """Check the training-minus-validation accuracy gap measured with dropout 0.5."""
    if isinstance(gap, (list, tuple, np.ndarray)) or gap is None:
        _fail("store one number: final training accuracy minus final validation accuracy.")
    gap = float(gap)
    if abs(gap) > 1:
        _fail(f"{gap:.1f} is not a difference of two accuracies (both are between 0 and 1).")
    if gap > 0.02:
        _fail(
            f"{gap:+.2%}: with dropout 0.5 the training accuracy (measured with dropout on) should be "
            "*below* the validation accuracy. Did you subtract in the right order?"
        )
    if gap < -0.2:
        _fail(f"{gap:+.2%} is a suspiciously large gap: check you trained for 3 epochs on 20,000 images.")
    return (
        f"Plausible: {gap:+.2%}. More dropout makes training harder (training accuracy is measured with "
        "dropout on), so the gap gets smaller or negative: dropout fights overfitting."
    )


def check_two_hidden_params(answer) -> str:
    """Check the parameter count of the seed's model with a second Dense(512) hidden layer."""
    expected = (784 * 512 + 512) + (512 * 512 + 512) + (512 * 10 + 10)
    if answer is None or isinstance(answer, (list, tuple, np.ndarray)):
        _fail("store one whole number.")
    if answer == 407_050:
        _fail("407,050 is the seed's model as it is; add the second 512 → 512 layer.")
    if answer == expected - 512:
        _fail("close: you forgot the 512 biases of the new layer.")
    if answer == 512 * 512:
        _fail("262,144 is only the new layer's weights; the question asks for the whole model.")
    if answer != expected:
        _fail(f"{answer:,} is not it: add 512 × 512 + 512 for the new layer to the 407,050 the model has.")
    return f"Correct: {expected:,}, exactly the baseline's count: with two hidden layers it *is* the baseline."


def check_mean_accuracy(answer, runs, model_name: str) -> str:
    """Check a mean test accuracy computed from a list of run dicts."""
    values = [r["test_accuracy"] for r in runs if r["model"] == model_name]
    if not values:
        _fail(f"no run named {model_name!r} in `runs`: run the training cells first.")
    if answer is None or isinstance(answer, (list, tuple, np.ndarray)):
        _fail("store one number, the mean over the seeds.")
    expected = float(np.mean(values))
    if answer > 1.0:
        _fail(f"{answer} looks like a percentage; keep accuracies as fractions between 0 and 1.")
    every = [r["test_accuracy"] for r in runs]
    if np.isclose(answer, np.mean(every)):
        _fail("that is the mean over *all* runs; keep only the runs of the improved model.")
    if not np.isclose(answer, expected, atol=1e-9):
        _fail(f"{answer:.4f} is not the mean of the {len(values)} runs of {model_name!r}.")
    return f"Correct: {expected:.2%} over {len(values)} seeds."


def check_ab_result(with_value, without_value, technique: str = "the technique") -> str:
    """Check an A/B measurement (mean accuracy with and without a technique) and say how to read it."""
    for name, v in [("with", with_value), ("without", without_value)]:
        if v is None or isinstance(v, (list, tuple, np.ndarray)):
            _fail(f"the '{name}' value should be one number, the mean test accuracy over the two seeds.")
        if not 0.5 < float(v) <= 1.0:
            _fail(f"the '{name}' value is {v}: expected a test accuracy between 0.5 and 1 after 2 epochs.")
    diff = float(with_value) - float(without_value)
    verdict = (
        "within the usual seed-to-seed noise of a few tenths of a percent: no evidence either way"
        if abs(diff) < 0.003
        else f"{'better' if diff > 0 else 'worse'} by more than the usual noise"
    )
    return f"Measured: {technique} changes test accuracy by {diff:+.2%}, {verdict}."


def check_most_common_mistake(answer, cm) -> str:
    """Check the (true, predicted) cell with the largest off-diagonal count."""
    cm = np.asarray(cm)
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        _fail("store a pair (true digit, predicted digit), e.g. (4, 9).")
    t, p = (int(v) for v in answer)
    if t == p:
        _fail(f"({t}, {p}) is on the diagonal: those are the correct predictions. Look off the diagonal.")
    off = cm - np.diag(np.diag(cm))
    best = off.max()
    if off[p, t] == best and off[t, p] != best:
        _fail(f"({t}, {p}) is swapped: rows are the true digit, columns the prediction.")
    if off[t, p] != best:
        _fail(f"{t} called {p} happens {off[t, p]} times, but another mistake happens {best} times.")
    return f"Correct: {t} predicted as {p}, {best} times."


def check_recall(answer, cm, digit: int) -> str:
    """Check the recall of ``digit`` computed from a confusion matrix."""
    cm = np.asarray(cm)
    expected = cm[digit, digit] / cm[digit].sum()
    precision = cm[digit, digit] / cm[:, digit].sum()
    if answer is None:
        _fail("`recall_9` is still empty.")
    answer = float(answer)
    if np.isclose(answer, precision) and not np.isclose(precision, expected):
        _fail("that is the precision (divided by the column). Recall divides by the row: all real 9s.")
    if not np.isclose(answer, expected):
        _fail(f"{answer:.4f} is not it: the diagonal cell divided by the sum of row {digit}.")
    return f"Correct: recall of {digit} is {expected:.2%}."


def check_coverage(coverage, accuracy_answered, confidence, predicted, y, threshold: float) -> str:
    """Check the share answered at a confidence threshold and the accuracy on those answers."""
    answered = np.asarray(confidence) >= threshold
    expected_cov = answered.mean()
    expected_acc = (np.asarray(predicted)[answered] == np.asarray(y)[answered]).mean()
    if coverage is None or accuracy_answered is None:
        _fail("compute both `coverage` and `accuracy_answered`.")
    if np.isclose(coverage, 1 - expected_cov):
        _fail("your coverage is the share *below* the threshold; count the answered ones (>= threshold).")
    if not np.isclose(coverage, expected_cov):
        _fail(f"coverage {coverage:.4f} is not the share of images with confidence >= {threshold}.")
    if not np.isclose(accuracy_answered, expected_acc):
        _fail("accuracy_answered should be measured only on the answered images.")
    return (
        f"Correct: it answers {expected_cov:.1%} of the images with {expected_acc:.2%} accuracy: "
        "fewer answers, fewer mistakes."
    )


def check_digit_reading(answer, expected: int) -> str:
    """Check a digit returned by predict_digit (the first element of its result)."""
    if isinstance(answer, tuple):
        _fail("predict_digit returns (digit, probabilities); keep only the digit: `digit, _ = ...`.")
    if answer is None or (isinstance(answer, (list, np.ndarray)) and np.ndim(answer) > 0):
        _fail("store one digit (an int).")
    if int(answer) != expected:
        _fail(f"the model reads {int(answer)}; did you pass the right file (it shows a {expected})?")
    return f"Correct: the model reads {expected}."


def check_centring_matters(correct_uncentred, correct_centred: int, total: int) -> str:
    """Check the count of correct readings without centring, and say what it shows."""
    if correct_uncentred is None or (
        isinstance(correct_uncentred, float) and not float(correct_uncentred).is_integer()
    ):
        _fail("store a whole number: how many sample digits were read correctly.")
    n = int(correct_uncentred)
    if not 0 <= n <= total:
        _fail(f"{n} is not a count between 0 and {total}.")
    if n > correct_centred:
        _fail(
            f"{n} correct without centring, more than the {correct_centred} with it? Check that you "
            "pasted into the top-left corner and predicted on the uncentred images."
        )
    return (
        f"Plausible: {n} of {total} without centring against {correct_centred} with it. A Dense "
        "network has no notion of 'the same shape moved': position matters to it."
    )
