"""Exercise checks: a right answer passes, each wrong answer students give gets its message, and no input
(of whatever type) gets anything but CheckFailed, except a student's NotImplementedError."""

from __future__ import annotations

import helpers  # noqa: F401  (before keras: quiet TensorFlow)
from helpers import checks
from helpers.nodigit import Gate
from helpers.preprocess import to_mnist

import functools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

Failed = checks.CheckFailed

# ------------------------------------------------------------------------- small real contexts

Y_TEST = np.array([0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9], dtype=np.uint8)
Y_TRAIN = (np.arange(20) % 10).astype(np.uint8)
X_TRAIN = np.zeros((len(Y_TRAIN), 28, 28), dtype=np.uint8)
X_TRAIN[Y_TRAIN == 8] = 200  # digit 8 has the most ink in this toy set
TEST_SHARES = np.bincount(Y_TEST, minlength=10) / len(Y_TEST)

CM = np.diag([10] * 10)
CM[4, 9], CM[9, 4], CM[3, 5] = 5, 2, 1

CONFIDENCE = np.array([0.999, 0.995, 0.5, 0.98, 0.2])
PREDICTED = np.array([1, 2, 3, 4, 5])
Y_COVERAGE = np.array([1, 0, 3, 4, 5])

ACC = [0.80, 0.90, 0.95]
VAL = [0.85, 0.93, 0.97]
GAP = ACC[-1] - VAL[-1]  # -0.02
REFERENCE_GAP = -0.0081

RUNS = [
    *({"model": "improved", "seed": s, "val_accuracy": v, "test_accuracy": t}
      for s, v, t in [(0, 0.984, 0.983), (1, 0.987, 0.985), (2, 0.992, 0.990)]),
    *({"model": "baseline", "seed": s, "val_accuracy": v, "test_accuracy": t}
      for s, v, t in [(0, 0.975, 0.974), (1, 0.979, 0.977), (2, 0.980, 0.981)]),
]  # fmt: skip
IMPROVED = [0.984, 0.987, 0.992]

WITH, WITHOUT = [0.975, 0.978, 0.977], [0.970, 0.971, 0.969]  # "better"


@functools.cache
def identity_model():
    """A real Keras model whose prediction is the argmax of its 10 inputs."""
    import keras

    return keras.Sequential([keras.Input((10,)), keras.layers.Dense(10, use_bias=False, kernel_initializer="identity")])


X_VAL = np.eye(10, dtype="float32")[[3, 1, 4, 1, 5]]
Y_VAL = np.array([3, 1, 4, 1, 6])
X_TEST = np.eye(10, dtype="float32")[[7, 2, 9, 0, 8, 6]]


@functools.cache
def _set_steps(model, steps: int):
    """Compile ``model`` and set its optimizer's step count, as if fit had taken ``steps`` steps."""
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(steps)
    return model


def dropout_model(*rates: float, seed: int = 0, steps: int = 3 * 157):
    """A baseline-shaped model built right after set_random_seed(seed), with ``steps`` optimizer steps taken."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(512, activation="relu")]
    for rate in rates:
        layers += [keras.layers.Dropout(rate), keras.layers.Dense(3, activation="relu")]
    return _set_steps(keras.Sequential([*layers, keras.layers.Dense(2, activation="softmax")]), steps)


# Validation images for the A/B check: pixel 0 rises from 0 to 1 across them, all labelled 0.
X_AB = np.zeros((1000, 28, 28), np.float32)
X_AB[:, 0, 0] = (np.arange(1000) + 0.5) / 1000
Y_AB = np.zeros(1000, np.uint8)


def ab_model(accuracy: float, seed: int, batch_norm: bool, steps: int = 2 * 40):
    """A model whose validation accuracy on X_AB is ``accuracy``: it answers 0 where pixel 0 > 1 - accuracy.

    Only pixel 0's weights are set; the other rows of the first layer keep their seed's initial values.
    """
    import keras

    keras.utils.set_random_seed(seed)
    norm = [keras.layers.BatchNormalization()] if batch_norm else []
    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(512, use_bias=False), *norm]
        + [keras.layers.ReLU(), keras.layers.Dense(10)]
    )
    first, last = model.layers[1], model.layers[-1]
    kernel = first.get_weights()[0]
    kernel[0] = 0.0
    kernel[0, 0] = 1.0  # hidden unit 0 = pixel 0
    first.set_weights([kernel])
    w, b = np.zeros((512, 10), np.float32), np.zeros(10, np.float32)
    w[0, 0], b[0] = 100.0, -100.0 * (1 - accuracy)  # class 0 wins where pixel 0 > 1 - accuracy
    last.set_weights([w, b])
    if batch_norm:  # undo the epsilon of a fresh layer's inference: x / sqrt(1 + 0.001)
        gamma, beta, mean, var = model.layers[2].get_weights()
        model.layers[2].set_weights([gamma, beta, mean, var - 0.001])
    return _set_steps(model, steps)


def ab_experiment(with_accuracies, without_accuracies, **kwargs):
    """(with, without, models_with, models_without): real models, and the accuracies they score on X_AB."""
    models = [[ab_model(a, i, bn, **kwargs) for i, a in enumerate(accs)] for bn, accs in
              ((True, with_accuracies), (False, without_accuracies))]  # fmt: skip
    scored = [[float(m.evaluate(X_AB, Y_AB, verbose=0)[1]) for m in ms] for ms in models]
    return (*scored, *models)


def render(digit, family="DejaVu Sans", weight="normal", angle=0):
    """A digit in a matplotlib font, dark on white, optionally rotated (like notebook 06's)."""
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

    path = font_manager.findfont(font_manager.FontProperties(family=family, weight=weight))
    page = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(page).text((35, 10), str(digit), fill=0, font=ImageFont.truetype(path, 80))
    return page.rotate(angle, fillcolor=255)


@functools.cache
def template_model():
    """A real (28, 28) -> 10 softmax model with fixed weights: each digit's rendered template."""
    import keras

    templates = np.stack([to_mnist(render(d)).ravel() for d in range(10)])
    kernel = (templates / np.linalg.norm(templates, axis=1, keepdims=True)).T * 5
    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    model.layers[-1].set_weights([kernel.astype("float32"), np.zeros(10, "float32")])
    return model


def no_centring(path):
    """The right answer: the 20×20 step in the top-left corner of a black 28×28 frame."""
    _, steps = to_mnist(path, return_steps=True)
    small = steps["scaled to 20×20"]
    frame = np.zeros((28, 28), dtype="float32")
    frame[: small.shape[0], : small.shape[1]] = small
    return frame


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory):
    """Real PNG files of rendered digits, and their labels as notebook 06 has them (pandas Int64)."""
    folder = tmp_path_factory.mktemp("digits")
    paths = []
    for d in range(6):
        paths.append(folder / f"{d}.png")
        render(d).save(paths[-1])
    return paths, pd.Series(range(6), dtype="Int64")


def count_correct(images, labels) -> int:
    return int((template_model().predict(np.stack(images), verbose=0).argmax(axis=1) == np.asarray(labels)).sum())


# ------------------------------------------------------------------------- notebook 01


def test_class_proportions():
    assert checks.check_class_proportions(TEST_SHARES, Y_TEST, Y_TRAIN).startswith("Correct:")
    assert checks.check_class_proportions(list(TEST_SHARES), Y_TEST, Y_TRAIN).startswith("Correct:")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "still empty"),
        ("0.1, 0.2", "stored text"),
        (np.bincount(Y_TEST, minlength=10), "look like counts"),
        (TEST_SHARES * 100, "look like percentages"),
        (np.bincount(Y_TRAIN, minlength=10) / len(Y_TRAIN), "training set's proportions; the exercise asks for y_test"),
        (TEST_SHARES[:9], r"shape \(10,\), got shape \(9,\)"),
        (np.roll(TEST_SHARES, 1), "shifted by 9 place"),
        (np.ones(10) / 12, "sum to 1"),
        (np.full(10, np.nan), "NaN"),
        (["0.1"] * 10, "holds text"),
    ],
    ids=["none", "text", "counts", "percent", "training", "nine", "rolled", "sum", "nan", "strings"],
)
def test_class_proportions_wrong_answers(answer, message):
    with pytest.raises(Failed, match=message):
        checks.check_class_proportions(answer, Y_TEST, Y_TRAIN)


def test_scaled():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert checks.check_scaled(x.astype("float32") / 255, x).startswith("Correct:")
    for answer, message in [
        (x / 255, "use float32"),
        (x.astype("float32"), "did you divide by 255"),
        ((x.astype("float32") / 255).ravel(), "should not reshape"),
        (x.astype("float32") / 256, "not by the maximum"),
        (None, "still empty"),
        ([["0.5"] * 16] * 16, "holds text"),
        (np.full((16, 16), np.nan, dtype="float32"), "NaN"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_scaled(answer, x)


def test_most_ink_digit():
    assert "digit 8" in checks.check_most_ink_digit(8, X_TRAIN, Y_TRAIN)
    assert checks.check_most_ink_digit(np.int64(8), X_TRAIN, Y_TRAIN).startswith("Correct:")
    for answer, message in [
        (3, "another digit has more"),
        (True, "yes/no value"),
        ("0", "stored text '0'"),
        (7.9, "not a whole number"),
        (8.0, "store it as an int"),
        (np.array([8, 1]), "should be one number, got ndarray"),
        (12, "between 0 and 9"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_most_ink_digit(answer, X_TRAIN, Y_TRAIN)


# ------------------------------------------------------------------------- notebook 02


def test_dense_params():
    assert checks.check_dense_params(lambda n, u: n * u + u).startswith("Correct:")
    for function, message in [
        (lambda n, u: n * u, "not the 512 biases"),
        (lambda n, u: n * u + n, r"one bias per \*unit\*"),
        (401_920, "should be a function"),
        (lambda n, u: str(n * u + u), "stored text '401920'"),
        (lambda n, u: n * u + u + 0.5, "not a whole number"),
        (lambda n, u: None, "forget `return`"),
        (lambda n: n, "your function `dense_params` raised TypeError"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_dense_params(function)


def test_unanswered_function_raises_not_implemented(digit_files):
    def unanswered(*args):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        checks.check_dense_params(unanswered)
    paths, labels = digit_files
    with pytest.raises(NotImplementedError):
        checks.check_centring_matters(unanswered, 0, template_model(), paths, labels)


def test_predictions():
    model = identity_model()
    assert checks.check_predictions(np.array([3, 1, 4, 1, 5]), model, X_VAL, Y_VAL, X_TEST).startswith("Correct:")
    for answer, message in [
        (model.predict(X_VAL, verbose=0), "argmax"),
        (Y_VAL, "those are the true labels, not the model's predictions"),
        (np.array([7, 2, 9, 0, 8]), r"predictions for the test images; use x_val\[:5\]"),
        (np.array([3.0, 1, 4, 1, 5]), "integers"),
        (np.array([3, 1, 4, 1, 5, 9]), r"shape \(5,\)"),
        (np.array([3, 1, 4, 1, 7]), "image 4: you predict 7"),
        (["3", "1", "4", "1", "5"], "holds text"),
        (None, "still empty"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_predictions(answer, model, X_VAL, Y_VAL, X_TEST)


def test_dropout_gap():
    import keras

    model, history = dropout_model(0.5, 0.5), {"accuracy": ACC, "val_accuracy": VAL}
    message = checks.check_dropout_gap(GAP, history, model, REFERENCE_GAP)
    assert message.startswith("Measured: with dropout 0.5 the gap is -2.00%, 1.19 percentage points below")
    assert "the 0.2 model's -0.81% measured the same way" in message
    fit = keras.callbacks.History()
    fit.history = history
    assert "above the 0.2 model's -3.00%" in checks.check_dropout_gap(GAP, fit, model, -0.03)
    with pytest.raises(Failed, match="should be the Keras model"):
        checks.check_dropout_gap(GAP, history, [0.5, 0.5], REFERENCE_GAP)
    trained = dropout_model(0.5, 0.5)  # training changes every row of inked pixels; the never-inked ones stay
    kernel = trained.layers[1].get_weights()[0]
    kernel[:700] += 0.01
    trained.layers[1].set_weights([kernel, trained.layers[1].get_weights()[1]])
    assert checks.check_dropout_gap(GAP, history, trained, REFERENCE_GAP).startswith("Measured:")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (lambda: dropout_model(0.5, 0.5, steps=3 * 391), "took 1173 training steps, but 3 epochs of 20,000 images"),
        (lambda: dropout_model(0.5, 0.5, steps=3 * 625), "took 1875 training steps"),  # batch 32
        (lambda: dropout_model(0.5, 0.5, steps=0), "took 0 training steps"),  # never trained
        (lambda: dropout_model(0.5, 0.5, seed=1), "did not start from seed 0"),
    ],
    ids=["all-images", "batch-32", "untrained", "seed-1"],
)
def test_dropout_gap_wrong_setting(model, message):
    with pytest.raises(Failed, match=message):
        checks.check_dropout_gap(GAP, {"accuracy": ACC, "val_accuracy": VAL}, model(), REFERENCE_GAP)


@pytest.mark.parametrize(
    ("gap", "history", "rates", "message"),
    [
        (-GAP, None, (0.5, 0.5), "subtracted the wrong way"),
        (GAP * 100, None, (0.5, 0.5), "looks like a percentage"),
        (ACC[0] - VAL[0], None, (0.5, 0.5), "first epoch's difference"),
        (-0.03, None, (0.5, 0.5), "not the last epoch's accuracy - val_accuracy"),
        (math.nan, None, (0.5, 0.5), "NaN"),
        ("-0.02", None, (0.5, 0.5), "stored text"),
        (GAP, None, (0.2, 0.2), "Dropout rates 0.2, 0.2: use Dropout"),
        (GAP, None, (0.5, 0.2), "Dropout rates 0.5, 0.2"),
        (GAP, None, (), "no Dropout layer"),
        (GAP, {"accuracy": ACC}, (0.5, 0.5), r"validation_data=\(x_val, y_val\)"),
        (GAP, {"accuracy": ACC * 2, "val_accuracy": VAL * 2}, (0.5, 0.5), "6 epochs: train for 3"),
        (GAP, [0.95, 0.97], (0.5, 0.5), "should be what fit returns"),
    ],
    ids=["reversed", "percent", "first", "other", "nan", "text", "rate", "one-rate", "none", "no-val", "6", "list"],
)
def test_dropout_gap_wrong_answers(gap, history, rates, message):
    history = {"accuracy": ACC, "val_accuracy": VAL} if history is None else history
    with pytest.raises(Failed, match=message):
        checks.check_dropout_gap(gap, history, dropout_model(*rates), REFERENCE_GAP)


# ------------------------------------------------------------------------- notebook 03


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _right_gradient(z, y):
    g = _softmax(z)
    g[np.arange(len(y)), y] -= 1
    return g / len(y)


def _mutating_gradient(z, y):
    z -= z.max(axis=1, keepdims=True)  # changes the caller's array
    return _right_gradient(z, y)


def test_logit_gradient():
    assert checks.check_logit_gradient(_right_gradient).startswith("Correct: (softmax(z) - onehot(y)) / n")


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (lambda z, y: _right_gradient(z, y) * len(y), "forgot to divide by the batch size"),
        (lambda z, y: _softmax(z) / len(y), "forgot to subtract the one-hot labels"),
        (lambda z, y: _softmax(z), "softmax alone"),
        (lambda z, y: -_right_gradient(z, y), "the sign is flipped: the gradient is p - onehot"),
        (lambda z, y: -_right_gradient(z, y) * len(y), "sign is flipped .*divide by the batch size"),
        (lambda z, y: (np.exp(z) / np.exp(z).sum() - np.eye(10)[y]) / len(y), "each row"),
        (lambda z, y: _right_gradient(z, y) / 2, r"is not \(softmax\(z\) - onehot\(y\)\) / n"),
        (_mutating_gradient, "changed the `z` it was given"),
        (lambda z, y: None, "forget `return`"),
        (lambda z, y: _right_gradient(z, y)[:, :9], r"return shape \(4, 9\)"),
        (lambda z, y: 1 / 0, "raised ZeroDivisionError"),
        ("p - y", "should be a function"),
    ],
    ids=["no-mean", "no-onehot", "softmax", "sign", "sign-no-mean", "whole-batch", "other", "mutates", "none",
         "shape", "raises", "text"],
)  # fmt: skip
def test_logit_gradient_wrong_answers(function, message):
    with pytest.raises(Failed, match=message):
        checks.check_logit_gradient(function)


# Validation losses with a temporary dip: patience 3 stops after epoch 6 and keeps epoch 3; the
# lowest value of the whole run is epoch 7's. Training loss lowest at epoch 10, accuracy highest at 8.
ES_HISTORY = {
    "val_loss": [0.5, 0.4, 0.35, 0.36, 0.37, 0.38, 0.30, 0.31, 0.32, 0.33, 0.34],
    "loss": [0.9, 0.5, 0.3, 0.2, 0.15, 0.1, 0.08, 0.06, 0.05, 0.04, 0.045],
    "val_accuracy": [0.9, 0.92, 0.93, 0.93, 0.93, 0.93, 0.94, 0.95, 0.94, 0.94, 0.94],
}


def test_early_stopping_replay():
    assert checks.early_stopping_epochs(ES_HISTORY["val_loss"], 3) == (6, 3)
    assert checks.early_stopping_epochs(ES_HISTORY["val_loss"], 4) == (11, 7)  # never stops: runs to the end
    assert checks.early_stopping_epochs([0.3, 0.3, 0.3], 1) == (2, 1)  # equal is no improvement


def test_early_stopping_replay_agrees_with_a_real_fit():
    """The replay over a fit's recorded val_loss gives the epochs the real callback stopped at and restored."""
    import keras

    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, 64)
    x_val, y_val = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, 64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=30, validation_data=(x_val, y_val), callbacks=[callback], verbose=0)
    epochs = len(history.history["val_loss"])
    assert epochs < 30, "this noisy problem should overfit and stop early"
    assert checks.early_stopping_epochs(history.history["val_loss"], 2) == (epochs, callback.best_epoch + 1)
    message = checks.check_early_stopping(epochs, callback.best_epoch + 1, history, patience=2)
    assert message.startswith("Correct: with patience 2")


@pytest.mark.parametrize(
    ("stopped", "kept", "message"),
    [
        (6, 11, "last epoch of section 7's run"),
        (6, 10, r"lowest \*training\* loss"),
        (6, 6, "the epoch after which training stops"),
        (6, 2, "off by one"),
        (6, 7, "lowest validation loss of the whole run, but with patience 3"),
        (6, 8, r"highest validation \*accuracy\*"),
        (6, 1, "kept_epoch_3 = 1 is not it"),
        (5, 3, "stopped_epoch_3 = 5: off by one"),
        (11, 3, "section 7's last epoch"),
        (9, 3, "3 epochs in a row"),
        (6.0, 3, "store it as an int"),
        ("6", 3, "stored text"),
    ],
    ids=["last", "training", "stop", "zero-based", "global", "accuracy", "other", "stop-zero-based",
         "stop-last", "stop-other", "float", "text"],
)  # fmt: skip
def test_early_stopping_wrong_answers(stopped, kept, message):
    with pytest.raises(Failed, match=message):
        checks.check_early_stopping(stopped, kept, ES_HISTORY, patience=3)


def test_early_stopping_right_answer():
    assert checks.check_early_stopping(6, 3, ES_HISTORY, patience=3).startswith("Correct:")


# ------------------------------------------------------------------------- notebook 04


def test_wide_params():
    assert "814,090" in checks.check_wide_params(814_090)
    assert checks.check_wide_params(np.int64(814_090)).startswith("Correct:")
    assert not hasattr(checks, "check_two_hidden_params")
    for answer, message in [
        (813_056, "forgot the biases"),
        (803_840, "only the hidden layer"),
        (407_050, "512-wide model"),
        ("814,090", "stored text '814,090'"),
        (814_090.5, "not a whole number"),
        (814_090.0, "store it as an int"),
        (True, "yes/no"),
        (np.array([814_090]), "one number"),
        (669_706, "not it"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_wide_params(answer)


def test_mean_accuracy():
    assert checks.check_mean_accuracy(float(np.mean(IMPROVED)), RUNS, "improved").startswith("Correct:")
    assert checks.check_mean_accuracy(np.mean(IMPROVED), RUNS, "improved").startswith("Correct:")
    every = np.mean([r["val_accuracy"] for r in RUNS])
    for answer, message in [
        (np.mean(IMPROVED) * 100, "looks like a percentage"),
        (every, r"mean over \*all\* runs"),
        (np.mean([0.975, 0.979, 0.980]), "that is the mean of 'baseline'"),
        (0.987, "one seed; average over all seeds of 'improved'"),
        (np.std(IMPROVED, ddof=1), "standard deviation"),
        (0.5, "is not the mean val_accuracy"),
        ("0.985", "stored text '0.985'"),
        (None, "still empty"),
        (math.nan, "NaN"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_mean_accuracy(answer, RUNS, "improved")
    with pytest.raises(Failed, match="run the training cells"):
        checks.check_mean_accuracy(0.98, RUNS, "+ shifts (improved)")


@functools.cache
def ab_cases():
    return {
        "better": ab_experiment(WITH, WITHOUT),
        "same": ab_experiment([0.975, 0.970, 0.978], [0.974, 0.973, 0.976]),
        "worse": ab_experiment(WITHOUT, WITH),
    }


def test_ab_result():
    better, same, worse = (ab_cases()[k] for k in ("better", "same", "worse"))
    message = checks.check_ab_result(*better[:2], "better", *better[2:], X_AB, Y_AB)
    assert message.startswith("Measured: batch normalization changes validation accuracy by +0.67% (Welch's t = ")
    assert message.endswith(": better.")
    assert checks.check_ab_result(*same[:2], "no difference", *same[2:], X_AB, Y_AB).endswith(": no difference.")
    assert checks.check_ab_result(*worse[:2], " Worse ", *worse[2:], X_AB, Y_AB).endswith(": worse.")


def _swap(case):
    w, wo, mw, mwo = case
    return wo, w, mw, mwo


@pytest.mark.parametrize(
    ("case", "verdict", "message"),
    [
        (lambda c: (0.976, *c["better"][1:]), "better", "store one accuracy per seed, as a list"),
        (lambda c: ([97.5, 97.8, 97.7], *c["better"][1:]), "better", "percentages"),
        (lambda c: ([0.975, math.nan, 0.977], *c["better"][1:]), "better", "NaN"),
        (lambda c: ([0.3, 0.4, 0.35], *c["better"][1:]), "worse", "not an accuracy after training"),
        (lambda c: (c["better"][0], c["better"][0], *c["better"][2:]), "no difference", "the same model twice"),
        (lambda c: (c["better"][0], c["better"][1] + [0.97], *c["better"][2:]), "better", "same seeds"),
        (lambda c: c["better"], "yes", "write one of 'better', 'worse', 'no difference'"),
        (lambda c: c["better"], True, "write one of"),
        (lambda c: c["same"], "better", "Welch's t-test says 'no difference'"),
        (lambda c: c["better"], "no difference", r"t-test says 'better': the difference of the means is \+0.67%"),
        # the experiment itself, not only the arithmetic
        (lambda c: _swap(c["better"]), "worse", "the accuracies are swapped"),
        (lambda c: ([0.99, 0.99, 0.991], *c["better"][1:]), "better", "but models_with\\[0\\] scores 0.975"),
        (lambda c: (*c["better"][:2], c["better"][3], c["better"][2]), "better", "has no BatchNormalization layer"),
        (lambda c: (*c["better"][:3], c["better"][2]), "better", "models_without\\[0\\] has BatchNormalization"),
        (lambda c: (*c["better"][:2], c["better"][2][:2], c["better"][3]), "better", "a list of the 3 trained"),
        (lambda c: (*c["better"][:2], None, c["better"][3]), "better", "still empty"),
    ],
    ids=["one-number", "percent", "nan", "untrained", "twice", "seeds", "word", "bool", "noise-not-better",
         "better-not-noise", "swapped", "hard-coded", "models-swapped", "bn-in-both", "two-models", "no-models"],
)  # fmt: skip
def test_ab_result_wrong_answers(case, verdict, message):
    with_, without, models_with, models_without = case(ab_cases())
    with pytest.raises(Failed, match=message):
        checks.check_ab_result(with_, without, verdict, models_with, models_without, X_AB, Y_AB)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"steps": 2 * 157}, "took 314 training steps, but 2 epochs of 20,000 images in batches of 512 take 80")],
    ids=["batch-128"],
)
def test_ab_result_wrong_setting(kwargs, message):
    case = ab_experiment(WITH, WITHOUT, **kwargs)
    with pytest.raises(Failed, match=message):
        checks.check_ab_result(*case[:2], "better", *case[2:], X_AB, Y_AB)


def test_ab_result_wrong_seeds():
    w, wo, mw, mwo = ab_cases()["better"]
    with pytest.raises(Failed, match=r"models_with\[0\]` did not start from seed 0"):
        checks.check_ab_result([w[1], w[0], w[2]], wo, "better", [mw[1], mw[0], mw[2]], mwo, X_AB, Y_AB)


# ------------------------------------------------------------------------- notebook 05


def test_most_common_mistake():
    assert checks.check_most_common_mistake((4, 9), CM).startswith("Correct:")
    assert checks.check_most_common_mistake(np.array([4, 9]), CM).startswith("Correct:")
    for answer, message in [
        ((4.5, 9), r"most_common_mistake\[0\]` is 4.5, not a whole number"),
        (("4", "9"), "stored text '4'"),
        ("(4, 9)", "stored text"),
        ((True, 9), "yes/no"),
        ((4, 9, 1), "store a pair"),
        (4, "store a pair"),
        ((4, 10), "between 0 and 9"),
        ((4, 4), "diagonal"),
        ((9, 4), "swapped"),
        ((3, 5), "another mistake happens 5 times"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_most_common_mistake(answer, CM)


def test_recall():
    assert checks.check_recall(10 / 15, CM, digit=4).startswith("Correct:")
    assert checks.check_recall(CM[9, 9] / CM[9].sum(), CM, digit=9).startswith("Correct:")
    for answer, message in [
        (10 / 15, "that is the precision"),
        (83.33, "percentage"),
        (math.nan, "NaN"),
        ("0.83", "stored text"),
        (None, "still empty"),
        (np.array([0.83, 0.9]), "one number"),
        (0.5, "sum of row 9"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_recall(answer, CM, digit=9)


def test_coverage():
    args = (CONFIDENCE, PREDICTED, Y_COVERAGE, 0.99)
    assert checks.check_coverage(0.4, 0.5, *args).startswith("Correct:")
    for coverage, accuracy, message in [
        (0.4, 0.8, "accuracy on all images"),
        (0.4, 0.3, "only on the answered images"),
        (0.6, 0.5, "below"),
        (0.3, 0.5, "not the share of images"),
        (40.0, 0.5, "looks like a percentage"),
        (0.4, 50.0, "looks like a percentage"),
        (250, 0.5, "a count"),
        (None, 0.5, "`coverage` is still empty"),
        (0.4, "0.5", "stored text"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_coverage(coverage, accuracy, *args)


# ------------------------------------------------------------------------- notebook 06


def bar_page(left: int = 25, right: int = 35) -> np.ndarray:
    """Exercise 1's picture of a 1: a dark vertical bar on light paper."""
    page = np.ones((100, 60))
    page[10:90, left:right] = 0
    return page


def right_reading(page) -> tuple[int, float]:
    """Exercise 1's right answer for ``page``: the digit the template model reads in it, and its probability."""
    from helpers.predict import predict_digit

    digit, probabilities = predict_digit(template_model(), page, gate=False)
    return digit, float(probabilities[digit])


def test_digit_reading():
    model, page = template_model(), bar_page()
    digit, confidence = right_reading(page)
    probabilities = np.full(10, (1 - confidence) / 9)
    probabilities[digit] = confidence
    message = checks.check_digit_reading(digit, confidence, model, page)
    assert message.startswith("Correct: the model reads your picture as a 1,")
    assert checks.check_digit_reading(np.int64(digit), np.float32(confidence), model, page).startswith("Correct:")
    seven = render(7)
    for digit_1, confidence_1, picture, message in [
        ((digit, probabilities), confidence, page, "unpack it"),
        ("1", confidence, page, "stored text '1'"),
        (True, confidence, page, "yes/no"),
        (1.5, confidence, page, "not a whole number"),
        (1, probabilities, page, r"keep the probability of the digit: probabilities\[digit_1\]"),
        (1, 91.0, page, "percentage"),
        (1, math.nan, page, "NaN"),
        (7, confidence, page, "`digit_1` is 7, but the model reads your picture as a 1: store the digit"),
        (7, confidence, seven, r"the model reads `page` as a 7: does it show a 1\? Draw a dark vertical bar"),
        (1, 0.99, page, r"`confidence_1` is 0.99, but the model gives your picture 1.0000 for a 1: .*not a number you"),
        (1, round(confidence, 2) - 0.01, page, "not a number you typed or rounded"),
        (1, 1 - confidence, page, "at least 0.1"),
        (1, 0.0, page, "at least 0.1"),
        (1, 1.5, page, "percentage"),
        (None, confidence, page, "`digit_1` is still empty"),
        (1, confidence, None, "`page` is still empty"),
        (1, confidence, np.ones((100, 60)), "the model cannot read your picture `page`: no digit found"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_digit_reading(digit_1, confidence_1, model, picture)
    thin = bar_page(28, 32)  # another picture, another probability: a hard-coded one fits only one of them
    assert checks.check_digit_reading(*right_reading(thin), model, thin).startswith("Correct:")
    assert not math.isclose(right_reading(thin)[1], confidence, rel_tol=1e-5)
    with pytest.raises(Failed, match="not a number you typed"):
        checks.check_digit_reading(1, confidence, model, thin)


def test_centring_matters(digit_files):
    paths, labels = digit_files
    model = template_model()
    n = count_correct([no_centring(p) for p in paths], labels)
    k = count_correct([to_mnist(p) for p in paths], labels)
    assert n < k  # the fixed-weight model, like the trained one, reads centred digits better
    message = checks.check_centring_matters(no_centring, n, model, paths, labels)
    assert message.startswith(f"Correct: your count of the {len(paths)} sample digits read without centring")
    assert checks.check_centring_matters(no_centring, n, model, [str(p) for p in paths], list(range(6)))

    def bottom_right(path):
        return np.rot90(no_centring(path), 2)

    for function, count, message in [
        (no_centring, k, f"you counted {k}, your function gives {n}. Did you predict on the centred images"),
        (no_centring, (n + 1) % k, "your function gives"),
        (no_centring, 7.5, "not a whole number"),
        (no_centring, "3", "stored text"),
        (no_centring, 99, "a count between 0 and 6"),
        (to_mnist, n, "this is the centred image; paste the 20×20 step into the top-left corner"),
        (bottom_right, n, "puts the ink at row [1-9]"),
        (lambda p: to_mnist(p, return_steps=True)[1]["scaled to 20×20"], n, "28×28 float array"),
        (lambda p: (no_centring(p) * 255).astype("uint8"), n, "28×28 float array"),
        (lambda p: None, n, "did you forget `return frame`"),
        (lambda p: 1 / 0, n, "your function `no_centring` raised ZeroDivisionError"),
        (None, n, "should be a function"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_centring_matters(function, count, model, paths, labels)


def test_misread():
    from PIL import Image

    model = template_model()
    message = checks.check_misread({"digit": 4, "angle": 60}, model, render)
    assert message.startswith("Correct: the model reads another digit")

    def blank(digit, angle=0):
        return Image.new("L", (60, 60), 255)

    for misread, function, message in [
        ({"digit": 1}, render, "reads this one correctly as 1; try a bolder font or a larger angle"),
        ({"digit": 1, "family": "DejaVu Sans", "weight": "bold"}, render, "correctly as 1"),
        ([1, 60], render, "should be a dict of render's arguments"),
        ({"angle": 60}, render, "needs a 'digit' key"),
        ({"digit": "4"}, render, "stored text '4'"),
        ({"digit": 12}, render, "between 0 and 9"),
        ({"digit": 4, "rotation": 60}, render, "no argument 'rotation': the allowed keys are digit, family"),
        ({"digit": 4, "weight": "heaviest"}, render, "render\\(\\*\\*misread\\) raised ValueError"),
        ({"digit": 4}, blank, "the model cannot read this picture: no digit found"),
        (None, render, "still empty"),
        ({"digit": 6, "angle": 180}, render, "a 6 turned upside down is a 9 .*the model reads it right"),
        ({"digit": 9, "angle": 180}, render, "a 9 turned upside down is a 6"),
        ({"digit": 6, "angle": 170}, render, "a 6 turned upside down is a 9"),
        ({"digit": 6, "angle": -180}, render, "a 6 turned upside down is a 9"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_misread(misread, model, function)


# ------------------------------------------------------------------------- the safety net


def test_unexpected_errors_become_check_failed():
    with pytest.raises(Failed, match=r"could not check `improved_mean` = float 0.98 \(KeyError"):
        checks.check_mean_accuracy(0.98, [{"model": "a"}], "a")
    assert checks.check_mean_accuracy.__name__ == "check_mean_accuracy"


odd = st.one_of(  # neither text nor a dict
    st.none(),
    st.just(Ellipsis),
    st.booleans(),
    st.just(np.True_),
    st.sampled_from([math.nan, math.inf, -math.inf, np.float32("nan")]),
    st.just(object()),
)
text = st.text(max_size=8) | st.sampled_from(["669,706", "0.985", "814,090", "1", "7", ""])
junk = odd | text | st.dictionaries(st.text(max_size=3), st.integers(), max_size=3)
several = st.one_of(
    st.lists(st.integers(0, 9) | st.floats(0, 1), min_size=2, max_size=5),
    hnp.arrays(np.float64, st.integers(2, 5), elements=st.floats(0, 1)),
    st.tuples(st.integers(0, 9), st.floats()),
)
not_whole = st.floats(-1e6, 1e6).filter(lambda x: not x.is_integer())
not_arrays = st.one_of(
    junk,
    st.integers(),
    st.floats(),
    st.lists(st.text(max_size=3), min_size=1, max_size=4),
    st.just([[1, 2], [3]]),
)
bad_pairs = st.tuples(junk | not_whole, st.integers(0, 9)) | st.lists(st.integers(0, 9), max_size=4)
bad_dicts = st.fixed_dictionaries({"digit": junk | not_whole}) | st.just({"digit": 4, "colour": "red"})
percentages = st.lists(st.floats(50, 100), min_size=3, max_size=4).filter(lambda v: max(v) > 1)
not_verdicts = st.text(max_size=12).filter(lambda s: s.strip().lower() not in checks.VERDICTS)
WRONG = {
    "number": junk | several,
    "integer": junk | several | not_whole,
    "array": not_arrays,
    "function": junk | st.integers() | st.builds(lambda v: lambda *_: v, junk | not_whole | several),
    "pair": junk | st.integers() | bad_pairs.filter(lambda v: not isinstance(v, list) or len(v) != 2),
    "dict": odd | text | bad_dicts,
    "per_seed": junk | st.floats(0.5, 1) | st.lists(st.floats(0.6, 1), max_size=2) | percentages,
    "verdict": odd | st.integers() | st.floats() | not_verdicts,
}


def test_conv_params():
    assert "18,496" in checks.check_conv_params(lambda k, c, f: k * k * c * f + f)
    for function, message in [
        (lambda k, c, f: k * k * c * f, "not the 32 biases"),
        (lambda k, c, f: k * k * f + f if c > 1 else k * k * c * f + f, "all 32 input channels"),
        (lambda k, c, f: k * c * f + f, "covers 5 × 5 pixels"),
        (lambda k, c, f: k * k * c * f + c * f, r"one bias per filter \(64\), not one per filter and input channel"),
        (lambda k, c, f: k * k * c * f + c, r"one bias per filter \(32\), not one per input channel"),
        (lambda k, c, f: k * k * c + f, "each of the 32 filters has its own 5 × 5 × 1 weights"),
        (lambda k, c, f: float(k * k * c * f + f), "store it as an int"),
        (lambda k, c, f: (k * k * c + 1) * (f + 1), "expected 832"),
        (18_496, "should be a function"),
        (lambda k, c, f: None, "forget `return`"),
        (lambda k, c: k, "your function `conv_params` raised TypeError"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_conv_params(function)


class RowModel:
    """Reads the brightest row of each image as a digit (ROW_DIGIT): moving an image down changes its answer."""

    def predict(self, x, verbose=0):
        rows = np.asarray(x).sum(axis=2).argmax(axis=1)
        return np.eye(10)[ROW_DIGIT[rows]]


ROW_DIGIT = np.zeros(28, dtype=int)
ROW_DIGIT[[2, 5, 8]], ROW_DIGIT[[7, 10]], ROW_DIGIT[20] = 1, 2, 3
X_ROWS = np.zeros((3, 28, 28), dtype=np.float32)
X_ROWS[[0, 1, 2], [5, 10, 20], 10] = 1.0  # one bright pixel in rows 5, 10 and 20
Y_ROWS = np.array([1, 2, 3])  # unshifted all right; moved down 3: 1 of 3 right; moved up 3: 2 of 3


def test_shift_accuracy():
    assert checks.check_shift_accuracy(1 / 3, RowModel(), X_ROWS, Y_ROWS).startswith("Correct:")
    for answer, message in [
        (1.0, "accuracy on the unshifted images"),
        (2 / 3, "accuracy on images moved up"),
        (0.5, "is not it"),
        (33.3, "percentage"),
        ("0.33", "stored text"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_shift_accuracy(answer, RowModel(), X_ROWS, Y_ROWS)


class PixelModel:
    """Reads the one bright pixel of each image at (row, col) as the digit (row + 3 × col) % 10: every move counts."""

    def predict(self, x, verbose=0):
        rows, cols = np.divmod(np.asarray(x).reshape(len(x), -1).argmax(axis=1), 28)
        return np.eye(10)[(rows + 3 * cols) % 10]


# 28 copies of one pixel at (12, 6), read as 0; moved by (down, right) they read (down + 3 × right) % 10.
# Each label is the reading of one move, in different numbers, so each move's accuracy is its own: 6/28 moved down 3.
X_PIXEL = np.zeros((28, 28, 28), dtype=np.float32)
X_PIXEL[:, 12, 6] = 1.0
MOVES = {"down 3": (3, 6), "unshifted": (0, 1), "up": (7, 2), "right": (9, 3), "left": (1, 4), "down 2": (2, 5)}
MOVES["down 4"] = (4, 7)  # digit read, images with that label
Y_PIXEL = np.concatenate([np.full(n, digit) for digit, n in MOVES.values()])


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (1 / 28, "accuracy on the unshifted images"),
        (2 / 28, "accuracy on images moved up"),
        (3 / 28, "accuracy on images moved right"),
        (4 / 28, "accuracy on images moved left"),
        ((6 + 2 + 3 + 4) / 4 / 28, "mean over down, up, right and left"),
        (22 / 28, "error rate"),
        (5 / 28, "moved 2 pixels down"),
        (7 / 28, "moved 4 pixels down"),
        (6 / 2800, "is not it"),
    ],
)
def test_shift_accuracy_names_each_wrong_value(answer, message):
    assert checks.check_shift_accuracy(6 / 28, PixelModel(), X_PIXEL, Y_PIXEL).startswith("Correct:")
    with pytest.raises(Failed, match=message):
        checks.check_shift_accuracy(answer, PixelModel(), X_PIXEL, Y_PIXEL)


def ink_gate() -> Gate:
    """A real Keras gate whose score is sigmoid((total ink - 392) / 10): images with more ink score higher."""
    import keras

    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")]
    )
    model.layers[-1].set_weights([np.full((784, 1), 0.1, np.float32), np.array([-39.2], np.float32)])
    return Gate(model, threshold=0.3)


GATE = ink_gate()
_levels = np.random.default_rng(0).uniform(0.47, 0.53, (3, 500))  # the mean ink of each image
GATE_VAL, GATE_TEST, GATE_NOT = (np.broadcast_to(lv[:, None, None], (500, 28, 28)).astype(np.float32) for lv in _levels)


def test_gate_threshold():
    val_scores = GATE.scores(GATE_VAL)
    right = float(np.quantile(val_scores, 0.02))
    assert checks.check_gate_threshold(right, GATE, GATE_VAL, GATE_TEST).startswith("Correct:")
    for answer, message in [
        (float(np.quantile(GATE.scores(GATE_TEST), 0.02)), "choose thresholds on the validation digits"),
        (float(np.quantile(val_scores, 0.98)), "refuses 98% of the digits"),
        (5.0, "not a gate score"),
        (float(np.quantile(val_scores, 0.2)), "not 2%"),
        ("0.3", "stored text"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_gate_threshold(answer, GATE, GATE_VAL, GATE_TEST)


def test_refused_share():
    threshold = float(np.quantile(GATE.scores(GATE_VAL), 0.4))
    right = float((GATE.scores(GATE_NOT) < threshold).mean())
    assert checks.check_refused_share(right, GATE, threshold, GATE_NOT, GATE_TEST).startswith("Correct:")
    for answer, message in [
        (1 - right, "lets through"),
        (float((GATE.scores(GATE_TEST) < threshold).mean()), "validation not-digits"),
        (float((GATE.scores(GATE_NOT) < GATE.threshold).mean()), "own threshold"),
        (right * 100, "percentage"),
        (None, "still empty"),
    ]:
        with pytest.raises(Failed, match=message):
            checks.check_refused_share(answer, GATE, threshold, GATE_NOT, GATE_TEST)


# ------------------------------------------------- the same message whatever training produced

# nbval compares a check cell's message with the committed output, and what comes out of training
# (accuracies, counts of mistakes, thresholds) differs in its last digits from one CPU to another.
# So each check on trained values is given two right answers from two different "trainings", and
# must say the same thing about both: what was checked, never the value itself.


def _cm_with(true: int, predicted: int, count: int) -> np.ndarray:
    """CM with one cell changed: another training's confusion matrix."""
    cm = CM.copy()
    cm[true, predicted] = count
    return cm


def _first_misreads(n: int) -> list[dict]:
    """The first ``n`` rendered digits the template model misreads, each as another digit read."""
    from helpers.predict import predict_digit

    found, reads = [], set()
    for angle in [45, 60, 90, 135, 180]:
        for digit in range(10):
            read, _ = predict_digit(template_model(), render(digit, angle=angle), gate=False)
            if read != digit and (digit, read) not in reads:
                found.append({"digit": digit, "angle": angle})
                reads.add((digit, read))
            if len(found) == n:
                return found
    raise AssertionError("the template model misreads too few rendered digits for this test")


def _two_trainings(name: str, digit_files) -> tuple[str, str]:
    paths, labels = digit_files
    other_runs = [{**r, "val_accuracy": r["val_accuracy"] - 0.01} if r["model"] == "improved" else r for r in RUNS]
    other_labels = pd.Series([0, 1, 2, 3, 5, 5], dtype="Int64")  # one label changed: other counts
    confidence = CONFIDENCE[::-1].copy()
    threshold_a, threshold_b = (float(np.quantile(GATE.scores(GATE_VAL), q)) for q in (0.4, 0.7))
    misread_a, misread_b = _first_misreads(2)
    other_history = {**ES_HISTORY, "val_loss": [0.5, 0.45, 0.44, 0.43, 0.42, 0.43, 0.44, 0.45, 0.3, 0.3, 0.3]}
    cases = {
        "check_early_stopping": lambda: [
            checks.check_early_stopping(*checks.early_stopping_epochs(h["val_loss"], 3), h)
            for h in (ES_HISTORY, other_history)
        ],
        "check_predictions": lambda: [
            checks.check_predictions(np.array([3, 1, 4, 1, 5]), identity_model(), X_VAL, y, X_TEST)
            for y in (Y_VAL, np.array([3, 1, 4, 1, 5]))
        ],
        "check_mean_accuracy": lambda: [
            checks.check_mean_accuracy(
                float(np.mean([r["val_accuracy"] for r in runs if r["model"] == "improved"])), runs, "improved"
            )
            for runs in (RUNS, other_runs)
        ],
        "check_most_common_mistake": lambda: [
            checks.check_most_common_mistake((4, 9), cm) for cm in (CM, _cm_with(4, 9, 7))
        ],
        "check_recall": lambda: [
            checks.check_recall(cm[9, 9] / cm[9].sum(), cm, digit=9) for cm in (CM, _cm_with(9, 4, 6))
        ],
        "check_coverage": lambda: [
            checks.check_coverage(
                float(answered.mean()),
                float((PREDICTED == Y_COVERAGE)[answered].mean()),
                conf,
                PREDICTED,
                Y_COVERAGE,
                0.9,
            )
            for conf in (CONFIDENCE, confidence)
            for answered in [conf >= 0.9]
        ],
        "check_digit_reading": lambda: [
            checks.check_digit_reading(*right_reading(page), template_model(), page)
            for page in (bar_page(), bar_page(28, 32))
        ],
        "check_centring_matters": lambda: [
            checks.check_centring_matters(
                no_centring, count_correct([no_centring(p) for p in paths], y), template_model(), paths, y
            )
            for y in (labels, other_labels)
        ],
        "check_misread": lambda: [checks.check_misread(m, template_model(), render) for m in (misread_a, misread_b)],
        "check_shift_accuracy": lambda: [
            checks.check_shift_accuracy(answer, RowModel(), X_ROWS, y)
            for answer, y in ((1 / 3, Y_ROWS), (1.0, np.array([1, 0, 0])))
        ],
        "check_gate_threshold": lambda: [
            checks.check_gate_threshold(float(np.quantile(GATE.scores(val), 0.02)), GATE, val, GATE_NOT)
            for val in (GATE_VAL, GATE_TEST)
        ],
        "check_refused_share": lambda: [
            checks.check_refused_share(float((GATE.scores(GATE_NOT) < t).mean()), GATE, t, GATE_NOT, GATE_TEST)
            for t in (threshold_a, threshold_b)
        ],
    }
    return tuple(cases[name]())


TRAINED = [
    "check_predictions", "check_early_stopping", "check_mean_accuracy", "check_most_common_mistake",
    "check_recall", "check_coverage", "check_digit_reading", "check_centring_matters", "check_misread",
    "check_shift_accuracy", "check_gate_threshold", "check_refused_share",
]  # fmt: skip


@pytest.mark.parametrize("name", TRAINED)
def test_correct_messages_do_not_quote_trained_values(digit_files, name):
    first, second = _two_trainings(name, digit_files)
    assert first.startswith("Correct:")
    assert first == second, f"{name} quotes a value that depends on the training: {first!r} vs {second!r}"


SIGNATURES = {
    "check_class_proportions": "proportions, y_test, y_train",
    "check_scaled": "x_test_scaled, x_test",
    "check_most_ink_digit": "most_ink, x_train, y_train",
    "check_dense_params": "dense_params",
    "check_predictions": "first_predictions, model, x_val, y_val, x_test",
    "check_dropout_gap": "gap_dropout_05, history_05, model_05, reference_gap, n_images",
    "check_logit_gradient": "logit_gradient",
    "check_early_stopping": "stopped_epoch_3, kept_epoch_3, history, patience",
    "check_wide_params": "params_wide",
    "check_mean_accuracy": "improved_mean, runs, model_name, metric",
    "check_ab_result": (
        "with_technique, without_technique, verdict, models_with, models_without, x_val, y_val, technique, layer"
    ),
    "check_most_common_mistake": "most_common_mistake, cm",
    "check_recall": "recall_9, cm, digit",
    "check_coverage": "coverage, accuracy_answered, confidence, predicted, y, threshold",
    "check_digit_reading": "digit_1, confidence_1, model, page, expected",
    "check_centring_matters": "no_centring, correct_uncentred, model, paths, labels",
    "check_misread": "misread, model, render",
    "check_conv_params": "conv_params",
    "check_shift_accuracy": "accuracy_down_3, model, x_val, y_val",
    "check_gate_threshold": "threshold_2, gate, val_digits, test_digits",
    "check_refused_share": "refused_2, gate, threshold_2, test_not_digits, val_not_digits",
}


def test_public_checks_and_their_signatures():
    import inspect

    public = {name for name in dir(checks) if name.startswith("check_")}
    assert public == set(SIGNATURES)
    for name, parameters in SIGNATURES.items():
        assert ", ".join(inspect.signature(getattr(checks, name)).parameters) == parameters, name


def cases(paths, labels):
    """{case: (kind of wrong answer, check, position of the answer, the other arguments)}."""
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    history, model_05 = {"accuracy": ACC, "val_accuracy": VAL}, dropout_model(0.5, 0.5)
    model_28, coverage_args = template_model(), (CONFIDENCE, PREDICTED, Y_COVERAGE, 0.99)
    ab = ab_cases()["better"]
    ab_rest = (*ab[2:], X_AB, Y_AB)
    return {
        "class_proportions": ("array", checks.check_class_proportions, 0, (Y_TEST, Y_TRAIN)),
        "scaled": ("array", checks.check_scaled, 0, (x,)),
        "most_ink_digit": ("integer", checks.check_most_ink_digit, 0, (X_TRAIN, Y_TRAIN)),
        "dense_params": ("function", checks.check_dense_params, 0, ()),
        "predictions": ("array", checks.check_predictions, 0, (identity_model(), X_VAL, Y_VAL, X_TEST)),
        "dropout_gap": ("number", checks.check_dropout_gap, 0, (history, model_05, REFERENCE_GAP)),
        "dropout_history": ("number", checks.check_dropout_gap, 1, (GAP, model_05, REFERENCE_GAP)),
        "dropout_model": ("number", checks.check_dropout_gap, 2, (GAP, history, REFERENCE_GAP)),
        "logit_gradient": ("function", checks.check_logit_gradient, 0, ()),
        "stopped_epoch": ("integer", checks.check_early_stopping, 0, (3, ES_HISTORY)),
        "kept_epoch": ("integer", checks.check_early_stopping, 1, (6, ES_HISTORY)),
        "wide_params": ("integer", checks.check_wide_params, 0, ()),
        "mean_accuracy": ("number", checks.check_mean_accuracy, 0, (RUNS, "improved")),
        "ab_with": ("per_seed", checks.check_ab_result, 0, (ab[1], "better", *ab_rest)),
        "ab_without": ("per_seed", checks.check_ab_result, 1, (ab[0], "better", *ab_rest)),
        "ab_verdict": ("verdict", checks.check_ab_result, 2, (*ab[:2], *ab_rest)),
        "most_common_mistake": ("pair", checks.check_most_common_mistake, 0, (CM,)),
        "recall": ("number", checks.check_recall, 0, (CM, 9)),
        "coverage": ("number", checks.check_coverage, 0, (0.5, *coverage_args)),
        "accuracy_answered": ("number", checks.check_coverage, 1, (0.4, *coverage_args)),
        "digit": ("integer", checks.check_digit_reading, 0, (0.9, model_28, bar_page())),
        "confidence": ("number", checks.check_digit_reading, 1, (1, model_28, bar_page())),
        "no_centring": ("function", checks.check_centring_matters, 0, (0, model_28, paths, labels)),
        "correct_uncentred": ("integer", checks.check_centring_matters, 1, (no_centring, model_28, paths, labels)),
        "misread": ("dict", checks.check_misread, 0, (model_28, render)),
        "conv_params": ("function", checks.check_conv_params, 0, ()),
        "shift_accuracy": ("number", checks.check_shift_accuracy, 0, (RowModel(), X_ROWS, Y_ROWS)),
        "gate_threshold": ("number", checks.check_gate_threshold, 0, (GATE, GATE_VAL, GATE_TEST)),
        "refused_share": ("number", checks.check_refused_share, 0, (GATE, 0.5, GATE_TEST, GATE_VAL)),
    }


CASES = [
    "class_proportions", "scaled", "most_ink_digit", "dense_params", "predictions", "dropout_gap",
    "dropout_history", "dropout_model", "logit_gradient", "stopped_epoch", "kept_epoch", "wide_params",
    "mean_accuracy", "ab_with", "ab_without", "ab_verdict", "most_common_mistake", "recall", "coverage",
    "accuracy_answered", "digit", "confidence", "no_centring", "correct_uncentred", "misread", "conv_params",
    "shift_accuracy", "gate_threshold", "refused_share",
]  # fmt: skip


def test_every_check_is_probed(digit_files):
    probed = cases(*digit_files)
    assert list(probed) == CASES
    assert {check.__name__ for _, check, _, _ in probed.values()} == set(SIGNATURES)


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=30, deadline=None, database=None)
@given(data=st.data())
def test_wrong_types_get_a_message_never_a_traceback(digit_files, name, data):
    kind, check, position, others = cases(*digit_files)[name]
    value = data.draw(WRONG[kind], label=kind)
    with pytest.raises(Failed) as failure:
        check(*others[:position], value, *others[position:])
    assert str(failure.value).strip()


def test_failures_carry_no_chained_traceback():
    with pytest.raises(Failed) as failure:
        checks.check_dense_params(lambda n: n)
    assert failure.value.__suppress_context__ and failure.value.__cause__ is None
    with pytest.raises(Failed) as failure:
        checks.check_mean_accuracy(0.98, [{"model": "a"}], "a")
    assert failure.value.__suppress_context__
