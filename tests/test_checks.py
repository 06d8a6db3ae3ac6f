"""Exercise checks: a right answer passes, each kind of wrong answer students give gets its message, and no input
(of whatever type) gets anything but CheckFailed, except a student's NotImplementedError.

Each check is called with the right arguments of a small real context (RIGHT); a wrong answer replaces one or more
of them (WRONG: one case per distinct message or branch of a check, and one per kind of wrong type)."""

from __future__ import annotations

import helpers  # noqa: F401  (before keras: quiet TensorFlow)
from helpers import checks
from helpers.predict import predict_digit
from helpers.preprocess import render_digit as render
from helpers.preprocess import to_mnist

import functools
import math

import keras
import numpy as np
import pandas as pd
import pytest

from conftest import ink_gate

# ------------------------------------------------------------------------- small real contexts

Y_TEST, Y_TRAIN = np.array([0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9], np.uint8), (np.arange(20) % 10).astype(np.uint8)
X_TRAIN = np.full((20, 28, 28), 200, np.uint8) * (Y_TRAIN == 8)[:, None, None]  # digit 8 has the most ink
TEST_SHARES, X16 = np.bincount(Y_TEST, minlength=10) / len(Y_TEST), np.arange(256, dtype=np.uint8).reshape(16, 16)
X_VAL, Y_VAL = np.eye(10, dtype="float32")[[3, 1, 4, 1, 5]], np.array([3, 1, 4, 1, 6])
X_TEST, PRED = np.eye(10, dtype="float32")[[7, 2, 9, 0, 8, 6]], np.array([3, 1, 4, 1, 5])
ACC, VAL, REFERENCE_GAP = [0.80, 0.90, 0.95], [0.85, 0.93, 0.97], -0.0081
HISTORY, GAP = {"accuracy": ACC, "val_accuracy": VAL}, ACC[-1] - VAL[-1]  # -0.02
# patience 3 stops after epoch 6 and keeps epoch 3; the lowest val_loss is epoch 7's, the lowest loss epoch 10's
ES_HISTORY = {
    "val_loss": [0.5, 0.4, 0.35, 0.36, 0.37, 0.38, 0.30, 0.31, 0.32, 0.33, 0.34],
    "loss": [0.9, 0.5, 0.3, 0.2, 0.15, 0.1, 0.08, 0.06, 0.05, 0.04, 0.045],
    "val_accuracy": [0.9, 0.92, 0.93, 0.93, 0.93, 0.93, 0.94, 0.95, 0.94, 0.94, 0.94],
}
OTHER_ES = {**ES_HISTORY, "val_loss": [0.5, 0.45, 0.44, 0.43, 0.42, 0.43, 0.44, 0.45, 0.3, 0.3, 0.3]}
IMPROVED, BASELINE = [0.984, 0.987, 0.992], [0.975, 0.979, 0.980]
RUNS = [{"model": m, "seed": s, "val_accuracy": v} for m, vs in (("improved", IMPROVED), ("baseline", BASELINE))
        for s, v in enumerate(vs)]  # fmt: skip
OTHER_RUNS = [{**r, "val_accuracy": r["val_accuracy"] - 0.01} for r in RUNS]
WITH, WITHOUT = [0.975, 0.978, 0.977], [0.970, 0.971, 0.969]  # "better"
CM, OTHER_CM = np.diag([10] * 10), np.diag([10] * 10)
CM[4, 9], CM[9, 4], CM[3, 5], OTHER_CM[4, 9], OTHER_CM[9, 4], OTHER_CM[3, 5] = 5, 2, 1, 7, 6, 1
CONFIDENCE, PREDICTED, Y_COVERAGE = np.array([0.999, 0.995, 0.5, 0.98, 0.2]), np.arange(1, 6), np.array([1, 0, 3, 4, 5])
# 28 copies of one pixel at (12, 6); Pixel reads it moved by (down, right) as (2 + right + 3 × down) % 10. Each
# move's images get their reading as label, in different numbers: 6/28 right moved down 3, 1/28 unmoved, ...
X_PIXEL = np.tile(np.pad(np.ones((1, 1), np.float32), ((12, 15), (6, 21))), (28, 1, 1))
Y_PIXEL = np.repeat([1, 2, 3, 5, 9, 8, 4], [6, 1, 2, 3, 4, 5, 7])  # down 3, unmoved, up, right, left, down 2, down 4
# pixel 0 rises from 0 to 1 across the images, all labelled 0
X_AB = np.pad((np.arange(1000, dtype=np.float32)[:, None, None] + 0.5) / 1000, ((0, 0), (0, 27), (0, 27)))
GATE_VAL, GATE_TEST, GATE_NOT = (np.broadcast_to(level[:, None, None], (500, 28, 28)).astype(np.float32)
                                 for level in np.random.default_rng(0).uniform(0.47, 0.53, (3, 500)))  # fmt: skip


class Pixel:
    """Reads the brightest pixel, at (row, col) in rows of 28, as (col + 3 × row) % 10: of 10 values, the argmax."""

    def predict(self, x, verbose=0):
        rows, cols = np.divmod(np.asarray(x).reshape(len(x), -1).argmax(axis=1), 28)
        return np.eye(10)[(cols + 3 * rows) % 10]


def net(*rates, seed=0, steps=3 * 157, accuracy=None, norm=False):
    """A baseline-shaped model built right after set_random_seed(seed), as if fit had taken ``steps`` steps (Dense comes
    first: a Dropout made before it would draw from the seed). With an ``accuracy``, it scores that on X_AB: hidden
    unit 0 is pixel 0, and it answers 0 where pixel 0 > 1 - accuracy."""
    keras.utils.set_random_seed(seed)
    m = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(512, use_bias=False),
                          *map(keras.layers.Dropout, rates), *[keras.layers.BatchNormalization()] * norm,
                          keras.layers.ReLU(), keras.layers.Dense(10)])  # fmt: skip
    if accuracy is not None:  # the other rows of the first kernel keep their seed's values
        kernel, w, b = m.layers[1].get_weights()[0], np.zeros((512, 10), np.float32), np.zeros(10, np.float32)
        kernel[0], kernel[0, 0], w[0, 0], b[0] = 0.0, 1.0, 100.0, -100.0 * (1 - accuracy)
        m.layers[1].set_weights([kernel])
        m.layers[-1].set_weights([w, b])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.optimizer.build(m.trainable_variables)
    m.optimizer.iterations.assign(steps)
    return m


def dropout_fit():
    """The dropout check's arguments with what fit returns (not its .history dict) and a model whose training
    changed the weights of every inked pixel: the never-inked ones keep their seed's values."""
    history, m = keras.callbacks.History(), net(0.5, 0.5)
    history.history = HISTORY
    m.layers[1].set_weights([m.layers[1].get_weights()[0] + 0.01 * (np.arange(784) < 700)[:, None]])
    return GAP, history, m, -0.03


def ab(with_accuracies, without_accuracies, verdict):
    """The A/B check's arguments: the accuracies real models score on X_AB, the verdict, the models."""
    models = [[net(seed=i, steps=2 * 40, accuracy=a, norm=norm) for i, a in enumerate(accs)]
              for norm, accs in ((True, with_accuracies), (False, without_accuracies))]  # fmt: skip
    scored = [[float(m.evaluate(X_AB, np.zeros(1000, np.uint8), verbose=0)[1]) for m in ms] for ms in models]
    return (*scored, verdict, *models, X_AB, np.zeros(1000, np.uint8))


@functools.cache
def template():
    """A real Keras model that reads a 28×28 picture as the printed digit it is most like."""
    t = np.stack([to_mnist(render(d)).ravel() for d in range(10)])
    m = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    m.layers[-1].set_weights([(t / np.linalg.norm(t, axis=1, keepdims=True)).T * 5, np.zeros(10, "float32")])
    return m


gate_model = functools.cache(lambda: ink_gate(0.1, -39.2, threshold=0.3))  # scores sigmoid((total ink - 392) / 10)


def bar_page(left: int = 25, right: int = 35) -> np.ndarray:
    """Exercise 1's picture of a 1: a dark vertical bar on light paper."""
    return np.pad(np.zeros((80, right - left)), ((10, 10), (left, 60 - right)), constant_values=1)


def reading(page) -> tuple:
    """Exercise 1's right answer for ``page``, then the rest of the check's arguments."""
    digit, probabilities = predict_digit(template(), page, gate=False)
    return digit, float(probabilities[digit]), template(), page


def no_centring(path):
    """The right answer: the 20×20 step in the top-left corner of a black 28×28 frame."""
    small = to_mnist(path, return_steps=True)[1]["scaled to 20×20"]
    return np.pad(small, ((0, 28 - small.shape[0]), (0, 28 - small.shape[1]))).astype("float32")


def count_correct(function, labels) -> int:
    images = np.stack([function(render(d)) for d in range(6)])
    return int((template().predict(images, verbose=0).argmax(axis=1) == np.asarray(labels)).sum())


def centring(labels):
    return no_centring, count_correct(no_centring, labels), template(), [render(d) for d in range(6)], labels


def gate(val, test=GATE_NOT, q=0.02):
    return float(np.quantile(gate_model().scores(val), q)), gate_model(), val, test


def refused(q: float):
    share = float((gate_model().scores(GATE_NOT) < (threshold := gate(GATE_VAL, q=q)[0])).mean())
    return share, gate_model(), threshold, GATE_NOT, GATE_TEST


def coverage(c):
    return (a := c >= 0.99).mean(), (PREDICTED == Y_COVERAGE)[a].mean(), c, PREDICTED, Y_COVERAGE, 0.99


def softmax(z):
    return (e := np.exp(z - z.max(axis=1, keepdims=True))) / e.sum(axis=1, keepdims=True)


def right_gradient(z, y):
    return (softmax(z) - np.eye(10)[y]) / len(y)


C = checks
# Each context: (check, its right arguments, a part of its message). A name ending in 2 is another "training".
RIGHT = {
    "proportions": (C.check_class_proportions, lambda: (list(TEST_SHARES), Y_TEST, Y_TRAIN), ""),
    "scaled": (C.check_scaled, lambda: (X16.astype("float32") / 255, X16), ""),
    "ink": (C.check_most_ink_digit, lambda: (np.int64(8), X_TRAIN, Y_TRAIN), "Correct: digit 8"),
    "dense": (C.check_dense_params, lambda: (lambda n, u: n * u + u,), "401,920"),
    "predictions": (C.check_predictions, lambda: (PRED, Pixel(), X_VAL, Y_VAL, X_TEST), "the 5 images"),
    "predictions2": (C.check_predictions, lambda: (PRED, Pixel(), X_VAL, PRED, X_TEST), ""),
    "dropout": (C.check_dropout_gap, lambda: (GAP, HISTORY, net(0.5, 0.5), REFERENCE_GAP),
                "gap is -2.00%, 1.19 percentage points below the 0.2 model's -0.81%"),
    "dropout_fit": (C.check_dropout_gap, dropout_fit, "1.00 percentage points above the 0.2 model's -3.00%"),
    "gradient": (C.check_logit_gradient, lambda: (right_gradient,), "Correct: (softmax(z) - onehot(y)) / n"),
    "stopping": (C.check_early_stopping, lambda: (6, 3, ES_HISTORY, 3), "Correct: with patience 3"),
    "stopping2": (C.check_early_stopping, lambda: (*C.early_stopping_epochs(OTHER_ES["val_loss"], 3), OTHER_ES), ""),
    "wide": (C.check_wide_params, lambda: (np.int64(814_090),), "Correct: 814,090"),
    "mean": (C.check_mean_accuracy, lambda: (np.mean(IMPROVED), RUNS, "improved"), "the 3 seeds of 'improved'"),
    "mean2": (C.check_mean_accuracy, lambda: (np.mean(IMPROVED) - 0.01, OTHER_RUNS, "improved"), ""),
    "ab": (C.check_ab_result, lambda: ab(WITH, WITHOUT, "better"), "by +0.67% (Welch's t = "),
    "ab_same": (C.check_ab_result, lambda: ab([0.975, 0.97, 0.978], [0.974, 0.973, 0.976], "no difference"),
                ": no difference."),
    "ab_worse": (C.check_ab_result, lambda: ab(WITHOUT, WITH, " Worse "), ": worse."),
    "mistake": (C.check_most_common_mistake, lambda: ((4, 9), CM), ""),
    "mistake2": (C.check_most_common_mistake, lambda: (np.array([4, 9]), OTHER_CM), ""),
    "recall": (C.check_recall, lambda: (CM[9, 9] / CM[9].sum(), CM, 9), "the recall of 9"),
    "recall4": (C.check_recall, lambda: (10 / 15, CM, 4), "the recall of 4"),
    "recall2": (C.check_recall, lambda: (OTHER_CM[9, 9] / OTHER_CM[9].sum(), OTHER_CM, 9), ""),
    "coverage": (C.check_coverage, lambda: coverage(CONFIDENCE), "confidence >= 0.99"),
    "coverage2": (C.check_coverage, lambda: coverage(CONFIDENCE[::-1]), ""),
    "reading": (C.check_digit_reading, lambda: reading(bar_page()), "Correct: the model reads your picture as a 1,"),
    "reading_np": (C.check_digit_reading, lambda: (np.int64(1), np.float32(right("reading")[1]), *right("reading")[2:]),
                   "as a 1,"),
    "reading2": (C.check_digit_reading, lambda: reading(bar_page(28, 32)), ""),
    "centring": (C.check_centring_matters, lambda: centring(pd.Series(range(6), dtype="Int64")), "the 6 sample"),
    "centring2": (C.check_centring_matters, lambda: centring([0, 1, 2, 3, 5, 5]), ""),
    "misread": (C.check_misread, lambda: ({"digit": 4, "angle": 60}, template(), render), ""),
    "misread2": (C.check_misread, lambda: ({"digit": 2, "angle": 45}, template(), render), ""),
    "conv": (C.check_conv_params, lambda: (lambda k, c, f: k * k * c * f + f,), "18,496"),
    "shift": (C.check_shift_accuracy, lambda: (6 / 28, Pixel(), X_PIXEL, Y_PIXEL), ""),
    "shift2": (C.check_shift_accuracy, lambda: (1.0, Pixel(), X_PIXEL, np.full(28, 1)), ""),
    "gate": (C.check_gate_threshold, lambda: gate(GATE_VAL, GATE_TEST), ""),
    "gate2": (C.check_gate_threshold, lambda: gate(GATE_TEST), ""),
    "refused": (C.check_refused_share, lambda: refused(0.4), ""),
    "refused2": (C.check_refused_share, lambda: refused(0.7), ""),
}  # fmt: skip


@functools.cache
def right(name: str) -> tuple:
    return RIGHT[name][1]()


class Later(functools.partial):
    """A table value made when its case runs: models, and what they compute, are too slow to make at collection."""


def made(value):
    return value() if isinstance(value, Later) else value


def R(name: str, i: int, change=lambda v: v) -> Later:
    """Argument ``i`` of context ``name``'s right arguments, changed by ``change``."""
    return Later(lambda: change(right(name)[i]))


def W(name: str, answer, match, at=0):
    """A wrong answer at position ``at`` (or several: a tuple of positions and answers) of the context named
    before the id's first '-'."""
    at, answer = (at, answer) if isinstance(at, tuple) else ((at,), (answer,))
    return pytest.param(name.split("-")[0], answer, match, at, id=name)


K_CENTRED = Later(lambda: count_correct(to_mnist, right("centring")[4]))
# The shared validation (an empty answer, text, NaN, a percentage, a yes/no value, ...) is probed once per kind
# of wrong value and of answer (a number, a whole number, a fraction, an array, a function, a pair, a dict, ...).
# fmt: off
WRONG = [
    W("proportions-empty", None, "still empty"), W("proportions-nan", np.full(10, np.nan), "NaN"),
    W("proportions-counts", np.bincount(Y_TEST, minlength=10), "look like counts"),
    W("proportions-percent", TEST_SHARES * 100, "look like percentages"),
    W("proportions-training", np.bincount(Y_TRAIN, minlength=10) / 20, "training set's proportions; the exercise asks"),
    W("proportions-nine", TEST_SHARES[:9], r"shape \(10,\), got shape \(9,\)"),
    W("proportions-rolled", np.roll(TEST_SHARES, 1), "shifted by 9 place"),
    W("proportions-sum", np.ones(10) / 12, "sum to 1"), W("proportions-strings", ["0.1"] * 10, "holds text"),
    W("proportions-other", TEST_SHARES[[1, 0, *range(2, 10)]], "digit 0: you have 0.1667, expected 0.0833"),
    W("proportions-ragged", [[0.5, 0.5], [1.0]], "cannot make one"), W("proportions-dicts", [{}] * 10, "type object"),
    W("scaled-float64", X16 / 255, "use float32"), W("scaled-unscaled", X16.astype("float32"), "did you divide by 255"),
    W("scaled-flat", (X16.astype("float32") / 255).ravel(), "should not reshape"),
    W("scaled-256", X16.astype("float32") / 256, "not by the maximum"),
    W("ink-bool", True, "yes/no"), W("ink-decimals", 7.9, "not a whole number"), W("ink-float", 8.0, "as an int"),
    W("ink-array", np.array([8, 1]), "should be one number"), W("ink-other", 3, "another digit has more"),
    W("ink-12", 12, "between 0 and 9"), W("ink-text", "0", "stored text '0'"),
    W("dense-no-bias", lambda n, u: n * u, r"dense_params\(784, 512\) = 401408: .*not the 512 biases"),
    W("dense-bias-per-input", lambda n, u: n * u + n, r"one bias per \*unit\*"),
    W("dense-number", 401_920, "should be a function"), W("dense-none", lambda n, u: None, "forget `return`"),
    W("dense-text", lambda n, u: str(n * u + u), "stored text '401920'"),
    W("dense-other", lambda n, u: n * u + 2 * u, "expected 401920: inputs × units weights"),
    W("dense-arguments", lambda n: n, "your function `dense_params` raised TypeError"),
    W("predictions-probabilities", X_VAL, "argmax"), W("predictions-labels", Y_VAL, "true labels, not the model's"),
    W("predictions-test", np.array([7, 2, 9, 0, 8]), r"predictions for the test images; use x_val\[:5\]"),
    W("predictions-float", np.array([3.0, 1, 4, 1, 5]), "integers"), W("predictions-six", np.arange(6), r"\(5,\)"),
    W("predictions-other", np.array([3, 1, 4, 1, 7]), "image 4: you predict 7"), W("predictions-one", 3, "one value"),
    W("dropout-steps", Later(lambda: net(0.5, 0.5, steps=3 * 391)), "took 1173 training steps, but 3 epochs", at=2),
    W("dropout-seed-1", Later(lambda: net(0.5, 0.5, seed=1)), "did not start from seed 0", at=2),
    W("dropout-rates", Later(lambda: net(0.5, 0.2)), "Dropout rates 0.5, 0.2: use Dropout", at=2),
    W("dropout-no-dropout", Later(net), "no Dropout layer", at=2),
    W("dropout-not-a-model", [0.5, 0.5], "should be the Keras model", at=2),
    W("dropout-percent", GAP * 100, "percentage"), W("dropout-reversed", -GAP, "subtracted the wrong way"),
    W("dropout-first", ACC[0] - VAL[0], "first epoch's difference"),
    W("dropout-other", -0.03, "not the last epoch's accuracy - val_accuracy"),
    W("dropout-no-val", {"accuracy": ACC}, r"validation_data=\(x_val, y_val\)", at=1),
    W("dropout-6-epochs", {"accuracy": ACC * 2, "val_accuracy": VAL * 2}, "6 epochs: train for 3", at=1),
    W("dropout-list", [0.95, 0.97], "should be what fit returns", at=1),
    W("gradient-no-mean", lambda z, y: right_gradient(z, y) * len(y), "batch of 4: you forgot to divide by the batch"),
    W("gradient-no-onehot", lambda z, y: softmax(z) / len(y), "forgot to subtract the one-hot labels"),
    W("gradient-softmax", lambda z, y: softmax(z), "softmax alone"), W("gradient-text", "p - y", "a function of"),
    W("gradient-sign", lambda z, y: -right_gradient(z, y), "the sign is flipped: the gradient is p - onehot"),
    W("gradient-sign-no-mean", lambda z, y: -right_gradient(z, y) * len(y), "sign is flipped .*divide by the batch"),
    W("gradient-whole-batch", lambda z, y: (np.exp(z) / np.exp(z).sum() - np.eye(10)[y]) / len(y), "each row"),
    W("gradient-other", lambda z, y: right_gradient(z, y) / 2, r"batch of 4 the gradient is not \(softmax\(z\)"),
    W("gradient-mutates", lambda z, y: right_gradient(np.subtract(z, 1, out=z), y), "changed the `z` it was given"),
    W("gradient-shape", lambda z, y: right_gradient(z, y)[:, :9], r"return shape \(4, 9\)"),
    W("stopping-last", 11, "last epoch of section 7's run", at=1), W("stopping-training", 10, r"\*training\*", at=1),
    W("stopping-stop", 6, "the epoch after which training stops", at=1), W("stopping-zero-based", 2, "off by", at=1),
    W("stopping-global", 7, "lowest validation loss of the whole run, but with patience 3", at=1),
    W("stopping-accuracy", 8, r"highest validation \*accuracy\*", at=1),
    W("stopping-other", 1, "= 1 is not it", at=1), W("stopping-stop-zero-based", 5, "stopped_epoch_3 = 5: off by one"),
    W("stopping-stop-last", 11, "section 7's last epoch"), W("stopping-stop-other", 9, "3 epochs in a row"),
    W("wide-no-biases", 813_056, "forgot the biases"), W("wide-hidden", 803_840, "only the hidden layer"),
    W("wide-512", 407_050, "512-wide model"), W("wide-other", 669_706, "669,706 is not it"),
    W("mean-percent", np.mean(IMPROVED) * 100, "percentage"), W("mean-text", "0.985", "stored text '0.985'"),
    W("mean-nan", math.nan, "NaN"), W("mean-inf", -math.inf, "infinite"), W("mean-dict", {}, "one number, got dict"),
    W("mean-all", np.mean([r["val_accuracy"] for r in RUNS]), r"mean over \*all\* runs"),
    W("mean-baseline", np.mean(BASELINE), "that is the mean of 'baseline'"),
    W("mean-one-seed", 0.987, "one seed; average over all seeds of 'improved'"),
    W("mean-std", np.std(IMPROVED, ddof=1), "standard deviation"), W("mean-other", 0.5, "0.5000 is not the mean"),
    W("mean-no-run", "+ shifts (improved)", "run the training cells", at=2),
    W("mean-broken-runs", (0.98, [{"model": "a"}], "a"), r"`improved_mean` = float 0.98 \(KeyError", at=(0, 1, 2)),
    W("ab-empty", None, "`models_with` is still empty", at=3), W("ab-two", [0.97, 0.98], "at least 3 seeds"),
    W("ab-one-number", 0.976, "one accuracy per seed"), W("ab-twice", R("ab", 0), "the same model twice", at=1),
    W("ab-percent", [97.5, 97.8, 97.7], "percentages"), W("ab-untrained", [0.3, 0.4, 0.35], "not an accuracy after"),
    W("ab-seeds", R("ab", 1, lambda v: [*v, 0.97]), "same seeds", at=1),
    W("ab-word", "yes", "write one of 'better', 'worse', 'no difference'", at=2),
    W("ab_same-noise-not-better", "better", "Welch's t-test says 'no difference'", at=2),
    W("ab-better-not-noise", "no difference", r"t-test says 'better': the difference of the means is \+0.67%", at=2),
    W("ab-swapped", Later(lambda: (*right("ab")[1::-1], "worse")), "the accuracies are swapped", at=(0, 1, 2)),
    W("ab-hard-coded", [0.99, 0.99, 0.991], r"but models_with\[0\] scores 0.975"),
    W("ab-models-swapped", Later(lambda: right("ab")[4:2:-1]), r"models_with\[0\] has no BatchNorm", at=(3, 4)),
    W("ab-bn-in-both", R("ab", 3), r"models_without\[0\] has BatchNormalization", at=4),
    W("ab-two-models", R("ab", 3, lambda v: v[:2]), "a list of the 3 trained", at=3),
    W("ab-batch-128", Later(lambda: [net(seed=i, steps=2 * 157, accuracy=a, norm=True) for i, a in enumerate(WITH)]),
      "took 314 training steps, but 2 epochs of 20,000 images in batches of 512 take 80", at=3),
    W("ab-seeds-swapped", Later(lambda: [[v[1], v[0], v[2]] for v in (right("ab")[0], right("ab")[3])]),
      r"models_with\[0\]` did not start from seed 0", at=(0, 3)),
    W("mistake-text", "(4, 9)", "stored text"), W("mistake-one", 4, "store a pair"),
    W("mistake-10", (4, 10), "between 0 and 9"), W("mistake-diagonal", (4, 4), "diagonal"),
    W("mistake-swapped", (9, 4), "swapped"), W("mistake-other", (3, 5), "another mistake happens 5 times"),
    W("recall-precision", 10 / 15, "that is the precision"), W("recall-other", 0.5, "sum of row 9"),
    W("coverage-all", (0.4, 0.8), "on all images", at=(0, 1)), W("coverage-below", (0.6, 0.5), "below", at=(0, 1)),
    W("coverage-other-accuracy", (0.4, 0.3), "only on the answered images", at=(0, 1)),
    W("coverage-other", (0.3, 0.5), "not the share of images", at=(0, 1)),
    W("coverage-count", (250, 0.5), "a count", at=(0, 1)), W("coverage-text", (0.4, "0.5"), "stored text", at=(0, 1)),
    W("reading-pair", (1, np.full(10, 0.1)), "unpack it"),
    W("reading-ten", np.full(10, 0.1), r"keep the probability of the digit: probabilities\[digit_1\]", at=1),
    W("reading-digit", 7, "`digit_1` is 7, but the model reads your picture as a 1: store the digit"),
    W("reading-page", Later(lambda: (7, render(7))), r"reads `page` as a 7: does it show a 1\? Draw a dark", at=(0, 3)),
    W("reading-typed", 0.99, r"`confidence_1` is 0.99, but the model gives your picture 1.0000 for a 1: .*not a", at=1),
    W("reading-zero", 0.0, "at least 0.1", at=1), W("reading-no-page", None, "`page` is still empty", at=3),
    W("reading-blank-page", np.ones((100, 60)), "the model cannot read your picture `page`: no digit found", at=3),
    W("centring-centred", K_CENTRED, Later(lambda: f"you counted {made(K_CENTRED)}, your function gives "
                                                   f"{right('centring')[1]}. Did you predict on the centred"), at=1),
    W("centring-other", Later(lambda: right("centring")[1] + 1), "your function gives", at=1),
    W("centring-99", 99, "a count between 0 and 6", at=1), W("centring-none", lambda p: None, "`return frame`"),
    W("centring-centred-images", to_mnist, "this is the centred image; paste the 20×20 step into the top-left corner"),
    W("centring-bottom-right", lambda p: np.rot90(no_centring(p), 2), "puts the ink at row [1-9]"),
    W("centring-20", lambda p: to_mnist(p, return_steps=True)[1]["scaled to 20×20"], "28×28 float array"),
    W("centring-not-a-function", None, "should be a function"), W("misread-empty", None, "still empty"),
    W("misread-right", {"digit": 1}, "reads this one correctly as 1; try a bolder font or a larger angle"),
    W("misread-list", [1, 60], "a dict of render's arguments"), W("misread-no-digit", {"angle": 60}, "needs a 'digit'"),
    W("misread-key", {"digit": 4, "rotation": 60}, "no argument 'rotation': the allowed keys are digit, family"),
    W("misread-value", {"digit": 4, "weight": "heaviest"}, r"render\(\*\*misread\) raised ValueError"),
    W("misread-blank", ({"digit": 4}, lambda **_: np.ones((60, 60))), "cannot read this picture: no digit", at=(0, 2)),
    W("misread-6", {"digit": 6, "angle": -180}, "a 6 turned upside down is a 9 .*the model reads it right"),
    W("conv-no-bias", lambda k, c, f: k * k * c * f, "not the 32 biases"),
    W("conv-one-channel", lambda k, c, f: k * k * f + f if c > 1 else k * k * c * f + f, "all 32 input channels"),
    W("conv-kernel", lambda k, c, f: k * c * f + f, "covers 5 × 5 pixels"),
    W("conv-bias-per-pair", lambda k, c, f: k * k * c * f + c * f, r"per filter \(64\), not one per filter and input"),
    W("conv-bias-per-channel", lambda k, c, f: k * k * c * f + c, r"one bias per filter \(32\), not one per input"),
    W("conv-shared", lambda k, c, f: k * k * c + f, "each of the 32 filters has its own 5 × 5 × 1 weights"),
    W("conv-other", lambda k, c, f: (k * k * c + 1) * (f + 1), "expected 832"),
    W("shift-unshifted", 1 / 28, "accuracy on the unshifted images"), W("shift-up", 2 / 28, "images moved up"),
    W("shift-right", 3 / 28, "images moved right"), W("shift-left", 4 / 28, "accuracy on images moved left"),
    W("shift-four", (6 + 2 + 3 + 4) / 4 / 28, "mean over down, up, right and left"),
    W("shift-error-rate", 22 / 28, "error rate"), W("shift-2", 5 / 28, "moved 2 pixels down"),
    W("shift-4", 7 / 28, "moved 4 pixels down"), W("shift-other", 6 / 2800, "is not it"),
    W("gate-test", R("gate2", 0), "choose thresholds on the validation digits"), W("gate-5", 5.0, "not a gate score"),
    W("gate-98", Later(lambda: gate(GATE_VAL, q=0.98)[0]), "refuses 98% of the digits"),
    W("gate-20", Later(lambda: gate(GATE_VAL, q=0.2)[0]), "refuses 20.00% of the validation digits, not 2%"),
    W("refused-through", R("refused", 0, lambda v: 1 - v), "lets through"),
    W("refused-validation", R("refused", 2, lambda t: (gate_model().scores(GATE_TEST) < t).mean()), "validation not-"),
    W("refused-own", Later(lambda: (gate_model().scores(GATE_NOT) < 0.3).mean()), "own threshold"),
]
# fmt: on


@pytest.mark.parametrize(("context", "answer", "match", "at"), WRONG)
def test_wrong_answer_gets_its_message(context, answer, match, at):
    args = list(right(context))
    for i, value in zip(at, made(answer), strict=True):
        args[i] = made(value)
    with pytest.raises(checks.CheckFailed, match=made(match)) as failure:
        RIGHT[context][0](*args)
    assert failure.value.__cause__ is None and failure.value.__suppress_context__  # no chained traceback


def test_every_check_is_probed():
    assert {check.__name__ for check, _, _ in RIGHT.values()} == {n for n in dir(checks) if n.startswith("check_")}


@pytest.mark.parametrize("context", RIGHT)
def test_right_answer_passes(context):
    message = RIGHT[context][0](*right(context))
    assert message.startswith(("Correct:", "Measured:")) and RIGHT[context][2] in message


@pytest.mark.parametrize("context", [name[:-1] for name in RIGHT if name.endswith("2")])
def test_correct_messages_do_not_quote_trained_values(context):
    """nbval compares a check's message with the committed output, and what training gives differs in its last
    digits from one CPU to another: two "trainings" get the same message, which says what was checked."""
    first, second = (RIGHT[name][0](*right(name)) for name in (context, context + "2"))
    assert first.startswith("Correct:") and first == second


def test_centring_reads_image_files(tmp_path):
    """As notebook 06 calls it: paths of image files (or their names), the labels as a list."""
    paths = [tmp_path / f"{d}.png" for d in range(6)]
    for d, path in enumerate(paths):
        render(d).save(path)
    for files in (paths, [str(p) for p in paths]):
        message = checks.check_centring_matters(no_centring, right("centring")[1], template(), files, range(6))
        assert message.startswith("Correct:")


@pytest.mark.parametrize("context", ["dense", "gradient", "conv", "centring"])
def test_unanswered_function_raises_not_implemented(context):
    def unanswered(*args):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        RIGHT[context][0](unanswered, *right(context)[1:])


def test_early_stopping_replay_agrees_with_a_real_fit():
    """The replay over a fit's recorded val_loss gives the epochs the real callback stopped at and restored."""
    assert checks.early_stopping_epochs(ES_HISTORY["val_loss"], 4) == (11, 7)  # never stops: runs to the end
    assert checks.early_stopping_epochs([0.3, 0.3, 0.3], 1) == (2, 1)  # equal is no improvement
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, 64)
    x_val, y_val = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, 64)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(2)])
    m.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = m.fit(x, y, epochs=30, validation_data=(x_val, y_val), callbacks=[callback], verbose=0)
    epochs = len(history.history["val_loss"])
    assert epochs < 30, "this noisy problem should overfit and stop early"
    assert checks.early_stopping_epochs(history.history["val_loss"], 2) == (epochs, callback.best_epoch + 1)
    message = checks.check_early_stopping(epochs, callback.best_epoch + 1, history, patience=2)
    assert message.startswith("Correct: with patience 2")
