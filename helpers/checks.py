"""Friendly checks for the exercises: a wrong answer gets a message that says what to look at.

Every check returns a string starting with "Correct:" (or "Measured:" for a measurement) and
raises ``CheckFailed`` otherwise, whatever it is given. Only a ``NotImplementedError`` from an
unanswered exercise goes through unchanged.

A "Correct:" message never quotes a number that comes out of training (an accuracy, a count of
mistakes, a threshold): it says what was checked. Such numbers differ in their last digits from
one CPU to another, while the message must read the same everywhere, since nbval compares it with
the committed output. The notebook's answer cell prints the student's own value.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., str])
VERDICTS = ("better", "worse", "no difference")


class CheckFailed(AssertionError):
    """An exercise answer is not right yet; the message says why."""


def _fail(message: str) -> NoReturn:
    raise CheckFailed(message) from None  # no chained traceback from inside the check


def _describe(value: Any) -> str:
    text = repr(value).replace("\n", " ")
    return f"{type(value).__name__} {text if len(text) <= 50 else text[:47] + '...'}"


def _errors_as_check_failed(answers: int) -> Callable[[F], F]:
    """Decorate a check: any unexpected error inside it becomes CheckFailed naming its first ``answers`` arguments."""

    def decorate(check: F) -> F:
        names = list(inspect.signature(check).parameters)[:answers]

        @functools.wraps(check)
        def wrapper(*args: Any, **kwargs: Any) -> str:
            try:
                return check(*args, **kwargs)
            except (CheckFailed, NotImplementedError):
                raise
            except Exception as exc:
                given = dict(zip(names, args, strict=False), **{k: v for k, v in kwargs.items() if k in names})
                got = ", ".join(f"`{name}` = {_describe(value)}" for name, value in given.items())
                _fail(
                    f"could not check {got or 'your answer'} ({type(exc).__name__}: {exc}). "
                    "Does it hold what the exercise asks for? Run the cells above again, in order."
                )

        return wrapper  # type: ignore[return-value]

    return decorate


def _close(a: Any, b: Any, atol: float, rtol: float) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _judge(answer: Any, right: Any, wrong: Any, otherwise: str, *, said: str = "", atol=0.0, rtol=0.0) -> None:
    """Pass if ``answer`` is close to ``right``. Else fail with ``said`` and the message of the first (wrong value,
    message) in ``wrong`` that it is close to, or with ``otherwise``. A wrong value close to ``right`` is skipped:
    there the mistake happens to give the right answer. ``wrong`` may be a function giving the pairs, when they
    cost time to compute: it is called only for a wrong answer."""
    if _close(answer, right, atol, rtol):
        return
    for value, message in wrong() if callable(wrong) else wrong:
        if _close(answer, value, atol, rtol) and not _close(value, right, atol, rtol):
            _fail(said + message)
    _fail(otherwise)


def _present(value: Any, name: str, what: str = "a number") -> None:
    """Refuse an empty answer, and text where something else belongs."""
    if value is None or value is Ellipsis:
        _fail(f"`{name}` is still empty: write your answer in the cell above and run it.")
    if isinstance(value, (str, bytes)):
        _fail(f"you stored text {value!r} in `{name}`, not {what}: remove the quotes.")


def _number(value: Any, name: str, *, integer: bool = False, fraction: bool = False) -> float:
    """One finite number (an int if ``integer``; between 0 and 1 if ``fraction``), or CheckFailed."""
    _present(value, name)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)):
        _fail(f"`{name}` is {value}, a yes/no value: store a number.")
    if not isinstance(value, numbers.Real):
        _fail(f"`{name}` should be one number, got {_describe(value)}.")
    if integer and isinstance(value, numbers.Integral):
        return int(value)
    x = float(value)
    if math.isnan(x):
        _fail(f"`{name}` is NaN (not a number): a division by zero, or a mean of nothing? Compute it again.")
    if math.isinf(x):
        _fail(f"`{name}` is infinite: a division by zero? Compute it again.")
    if integer and not x.is_integer():
        _fail(f"`{name}` is {x:g}, not a whole number: store an int (digits and counts have no decimals).")
    if integer:
        _fail(
            f"`{name}` is the float {x!r}: store it as an int, e.g. `int(...)` (digits and counts are whole numbers)."
        )
    if fraction and 1 < x <= 100:
        _fail(f"`{name}` is {x:g}: that looks like a percentage; keep fractions between 0 and 1.")
    if fraction and not 0 <= x <= 1:
        _fail(f"`{name}` is {x:g}: a fraction is between 0 and 1 (a count? divide by the total).")
    return x


def _digit(value: Any, name: str) -> int:
    d = _number(value, name, integer=True)
    if not 0 <= d <= 9:
        _fail(f"`{name}` is {d}: a digit is between 0 and 9.")
    return d


def _array(value: Any, name: str) -> np.ndarray:
    """An array of finite numbers (not text, not True/False), or CheckFailed."""
    _present(value, name, "numbers")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        _fail(f"`{name}` should be an array of numbers; numpy cannot make one of it (rows of different lengths?).")
    if arr.ndim == 0:
        _fail(f"`{name}` should be an array of numbers, got one value: {_describe(value)}.")
    if arr.dtype.kind not in "iuf":
        what = {"U": "text", "S": "text", "b": "True/False values"}.get(arr.dtype.kind, f"values of type {arr.dtype}")
        _fail(f"`{name}` holds {what}; it should hold numbers.")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        _fail(f"`{name}` contains NaN or infinite values: a division by zero? Compute it again.")
    return arr


def _call(function: Callable, name: str, *args: Any, said: str = "", returns: str = "`return`") -> Any:
    """Call a student's function: its errors (except NotImplementedError) and a None it returns fail the check."""
    try:
        result = function(*args)
    except NotImplementedError:
        raise
    except Exception as exc:
        _fail(f"your function `{name}` raised {type(exc).__name__}: {exc}")
    if result is None:
        _fail(f"{said or name} returned None: did you forget {returns}?")
    return result


def _check_counts(answer: Any, name: str, arguments: str | None, cases: list, formula: str) -> None:
    """Check a parameter count, or a function of ``arguments`` computing them, case by case: each case is
    (the function's arguments, or () for a count; Keras' own count; (count, why) for the usual mistakes)."""
    if arguments and not callable(answer):
        _fail(f"`{name}` should be a function of ({arguments}), got {_describe(answer)}.")
    for args, expected, mistakes in cases:
        if arguments:
            call = f"{name}({', '.join(map(str, args))})"
            got = _number(_call(answer, name, *args, said=call), call, integer=True)
            said, otherwise = f"{call} = {got}: ", f"{call} = {got}, expected {expected}: {formula}."
        else:
            got = _number(answer, name, integer=True)
            said, otherwise = f"{got:,}: ", f"{got:,} is not it: {formula}."
        _judge(got, expected, mistakes, otherwise, said=said)


def _shares(y: Any) -> np.ndarray:
    y = np.asarray(y, dtype=int).ravel()
    return np.bincount(y, minlength=10)[:10] / len(y)


# ------------------------------------------------------------------------- notebook 01


@_errors_as_check_failed(1)
def check_class_proportions(proportions: Any, y_test: Any, y_train: Any) -> str:
    """Check the 10 class proportions of the test labels: np.bincount(y_test, minlength=10) / len(y_test)."""
    p = _array(proportions, "proportions")
    expected = _shares(y_test)
    if p.shape != (10,):
        _fail(f"expected 10 proportions (one per digit 0-9), shape (10,), got shape {p.shape}.")
    if np.isclose(p.sum(), 100, atol=0.5):
        _fail("your values sum to 100: those look like percentages; keep fractions between 0 and 1.")
    if p.sum() > 1.5:
        _fail(f"your values sum to {p.sum():,.0f}: those look like counts. Divide by the number of labels.")
    if not np.isclose(p.sum(), 1.0, atol=1e-6):
        _fail(f"proportions must sum to 1, yours sum to {p.sum():.4f}.")
    worst = int(np.argmax(np.abs(p - expected)))
    wrong = [(_shares(y_train), "those are the training set's proportions; the exercise asks for y_test.")]
    for shift in range(1, 10):  # np.roll(p, shift) would be right
        message = f"your proportions are shifted by {shift} place(s): index i must be the share of digit i."
        wrong.append((np.roll(expected, -shift), message))
    otherwise = f"digit {worst}: you have {p[worst]:.4f}, expected {expected[worst]:.4f}. Did you count y_test?"
    _judge(p, expected, wrong, otherwise, atol=1e-6, rtol=1e-5)
    return f"Correct: each digit is between {p.min():.1%} and {p.max():.1%} of the test labels."


@_errors_as_check_failed(1)
def check_scaled(x_test_scaled: Any, x_test: Any) -> str:
    """Check that ``x_test_scaled`` is ``x_test`` (uint8 0-255) as float32 in [0, 1]."""
    s = _array(x_test_scaled, "x_test_scaled")
    original = np.asarray(x_test)
    if s.shape != original.shape:
        _fail(f"shape {s.shape} differs from the original {original.shape}: scaling should not reshape.")
    if s.dtype != np.float32:
        _fail(f"dtype is {s.dtype}; use float32 (Keras' default), e.g. `x_test.astype('float32') / 255`.")
    if s.max() > 1.0 + 1e-6:
        _fail(f"the largest value is {s.max():.1f}, expected 1.0: did you divide by 255?")
    if not np.allclose(s, original.astype(np.float32) / 255.0, atol=1e-6):
        _fail(
            "values are in [0, 1] but not equal to pixel / 255: divide by 255, not by the maximum "
            "of each image, and do not subtract anything."
        )
    return "Correct: float32 in [0, 1], same shape, pixel / 255."


@_errors_as_check_failed(1)
def check_most_ink_digit(most_ink: Any, x_train: Any, y_train: Any) -> str:
    """Check the digit whose images have the most ink (highest mean pixel value) on average."""
    d = _digit(most_ink, "most_ink")
    x, y = np.asarray(x_train), np.asarray(y_train)
    ink = np.array([x[y == k].mean() for k in range(10)])
    expected = int(np.argmax(ink))
    if d != expected:
        _fail(
            f"digit {d} has mean pixel value {ink[d]:.1f}, but another digit has more ({ink.max():.1f}). "
            "Compute x_train[y_train == d].mean() for every d and take the argmax."
        )
    return f"Correct: digit {expected} uses the most ink (mean pixel value {ink.max():.1f})."


# ------------------------------------------------------------------------- notebook 02


@_errors_as_check_failed(1)
def check_dense_params(dense_params: Any) -> str:
    """Check a function ``dense_params(n_inputs, units)`` against Keras' own count."""
    cases = []
    for n, u, expected in [(784, 512, 401_920), (512, 512, 262_656), (512, 10, 5_130), (3, 2, 8)]:
        per_unit = "there is one bias per *unit* (output), not per input."
        mistakes = [(n * u, f"you counted the weights but not the {u} biases."), ((n + 1) * (u + 1), per_unit)]
        cases.append(((n, u), expected, [*mistakes, (n * u + n, per_unit)]))
    _check_counts(dense_params, "dense_params", "n_inputs, units", cases, "inputs × units weights + units biases")
    return "Correct: inputs × units + units, e.g. 784 × 512 + 512 = 401,920."


@_errors_as_check_failed(1)
def check_predictions(first_predictions: Any, model: Any, x_val: Any, y_val: Any, x_test: Any) -> str:
    """Check the predicted digits for ``x_val``: ``model.predict(x_val).argmax(axis=1)``."""
    p = _array(first_predictions, "first_predictions")
    n = len(x_val)
    if p.ndim == 2 and p.shape[-1] == 10:
        _fail(f"you have probabilities of shape {p.shape}; take the most probable digit with .argmax(axis=1).")
    if p.shape != (n,):
        _fail(f"expected one digit per image, shape ({n},), got {p.shape}.")
    if p.dtype.kind not in "iu":
        _fail(f"digits should be integers, got dtype {p.dtype}: .argmax(axis=1) gives integers.")
    expected = model.predict(x_val, verbose=0).argmax(axis=1)
    on_test = model.predict(np.asarray(x_test)[:n], verbose=0).argmax(axis=1)
    wrong = [
        (y_val, "those are the true labels, not the model's predictions: use model.predict(...).argmax(axis=1)."),
        (on_test, f"those are predictions for the test images; use x_val[:{n}] (the test set waits for the end)."),
    ]
    bad = int(np.argmax(p != expected))  # the first image where they differ
    otherwise = f"image {bad}: you predict {p[bad]}, the model's most probable digit is {expected[bad]}."
    _judge(p, expected, wrong, otherwise)
    return f"Correct: these are the model's predictions for the {n} images, the most probable digit of each."


def _history(history: Any, name: str) -> dict[str, np.ndarray]:
    _present(history, name, "a training history")
    h = getattr(history, "history", history)
    if not isinstance(h, Mapping):
        _fail(f"`{name}` should be what fit returns (or its .history dict), got {_describe(history)}.")
    for key in ("accuracy", "val_accuracy"):
        if key not in h:
            _fail(
                f"`{name}` has no {key!r} (it has {sorted(map(str, h))}): compile with metrics=['accuracy'] "
                "and pass validation_data=(x_val, y_val) to fit."
            )
    curves = {key: np.asarray(h[key], dtype=float).ravel() for key in ("accuracy", "val_accuracy")}
    if not all(np.isfinite(c).all() for c in curves.values()):
        _fail(f"`{name}` contains NaN: training went wrong. Build a fresh model and fit it again.")
    return curves


def _check_training_steps(model: Any, name: str, epochs: int, n_images: int, batch_size: int) -> None:
    """Refuse a model trained on another number of images, batches or epochs than the exercise asks for."""
    optimizer = getattr(model, "optimizer", None)  # a model never compiled has taken no step
    steps = int(np.asarray(optimizer.iterations)) if optimizer is not None else 0
    expected = epochs * math.ceil(n_images / batch_size)
    if steps != expected:
        _fail(
            f"`{name}` took {steps} training steps, but {epochs} epochs of {n_images:,} images in batches of "
            f"{batch_size} take {expected}: train a fresh model on exactly those images with batch_size={batch_size}."
        )


def _check_seed(model: Any, name: str, seed: int) -> None:
    """Refuse a model whose first Dense layer did not start from ``seed``.

    Weights of pixels that are 0 in every training image never change (notebook 02, section 4), so
    they still hold the initial values: a model built right after set_random_seed(seed) shares them.
    """
    import keras

    dense = next((layer for layer in model.layers if isinstance(layer, keras.layers.Dense)), None)
    if dense is None or dense.get_weights()[0].shape[0] != 784:
        _fail(f"`{name}` should start like the baseline: Flatten, then Dense(512) on the 784 pixels.")
    keras.utils.set_random_seed(seed)  # rebuild the first layer as the exercise builds it
    reference = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(), keras.layers.Dense(512)])
    same_rows = np.all(dense.get_weights()[0] == reference.layers[-1].get_weights()[0], axis=1)
    if not same_rows.any():
        _fail(
            f"`{name}` did not start from seed {seed}: call keras.utils.set_random_seed({seed}) right before "
            "building it, as the reference cell does, so that only the dropout rate differs."
        )


@_errors_as_check_failed(1)
def check_dropout_gap(gap_dropout_05: Any, history_05: Any, model_05: Any, reference_gap: float) -> str:
    """Check the last-epoch training-minus-validation accuracy gap with Dropout(0.5), against 0.2's.

    The setting must be the reference's: 3 epochs on 20,000 images in batches of 128, seed 0.
    """
    import keras

    gap = _number(gap_dropout_05, "gap_dropout_05")
    _present(model_05, "model_05", "a Keras model")
    if not isinstance(model_05, keras.Model):
        _fail(f"`model_05` should be the Keras model you built and trained, got {_describe(model_05)}.")
    rates = [float(layer.rate) for layer in model_05.layers if isinstance(layer, keras.layers.Dropout)]
    if not rates:
        _fail("`model_05` has no Dropout layer: build the baseline with Dropout(0.5) in both places.")
    if any(rate != 0.5 for rate in rates):
        _fail(f"`model_05` has Dropout rates {', '.join(f'{r:g}' for r in rates)}: use Dropout(0.5) in both places.")
    h = _history(history_05, "history_05")
    acc, val = h["accuracy"], h["val_accuracy"]
    if len(acc) != 3 or len(val) != 3:
        _fail(f"`history_05` has {len(acc)} epochs: train for 3 (epochs=3), starting from a fresh model.")
    _check_training_steps(model_05, "model_05", epochs=3, n_images=20_000, batch_size=128)
    _check_seed(model_05, "model_05", seed=0)
    expected = acc[-1] - val[-1]
    if abs(gap) > 1:
        _fail(f"{gap:g} looks like a percentage: a difference of two accuracies is between -1 and 1.")
    wrong = [
        (-expected, "you subtracted the wrong way: the gap is training minus validation accuracy."),
        (acc[0] - val[0], "that is the first epoch's difference: take the last epoch, index [-1]."),
    ]
    otherwise = f"{gap:+.4f} is not the last epoch's accuracy - val_accuracy in history_05 ({expected:+.4f})."
    _judge(gap, expected, wrong, otherwise, atol=1e-6)
    ref = _number(reference_gap, "reference_gap")
    points = (gap - ref) * 100
    side = "below" if points < 0 else "above"
    relation = "the same as" if abs(points) < 0.005 else f"{abs(points):.2f} percentage points {side}"
    meaning = (
        "makes training harder and the model overfits less."
        if points < 0
        else "usually shrinks the gap (less overfitting); after 3 epochs, seed-to-seed noise can hide that."
    )
    return (
        f"Measured: with dropout 0.5 the gap is {gap:+.2%}, {relation} the 0.2 model's {ref:+.2%} measured the same "
        f"way. Training accuracy is measured with dropout on, so more dropout {meaning}"
    )


# ------------------------------------------------------------------------- notebook 03


@_errors_as_check_failed(1)
def check_logit_gradient(logit_gradient: Any) -> str:
    """Check ``logit_gradient(z, y)``: the gradient of the mean cross-entropy of a batch for its logits."""
    if not callable(logit_gradient):
        _fail(f"`logit_gradient` should be a function of (z, y), got {_describe(logit_gradient)}.")
    rng = np.random.default_rng(3)
    for n in (4, 1):  # a batch first: with one image, forgetting to divide by n goes unnoticed
        z, y = rng.normal(0.0, 3.0, size=(n, 10)), rng.permutation(10)[:n]
        p, onehot = np.exp(z - z.max(axis=1, keepdims=True)), np.eye(10)[y]
        p /= p.sum(axis=1, keepdims=True)
        given = z.copy()
        got = _call(logit_gradient, "logit_gradient", given, y.copy())
        if not np.array_equal(given, z):
            _fail("logit_gradient changed the `z` it was given: work on a copy (np.exp(...) makes a new array).")
        got = _array(got, f"logit_gradient(z of shape {z.shape}, y)")
        if got.shape != z.shape:
            _fail(f"for z of shape {z.shape} you return shape {got.shape}: one gradient per logit, the shape of z.")
        wrong = [  # (a usual wrong answer, what to say)
            (p - onehot, "you forgot to divide by the batch size: the loss is the *mean* over the n images."),
            (p / n, "you forgot to subtract the one-hot labels: the gradient is p minus 1 at the true digit."),
            (p, "that is the softmax alone: subtract 1 at the true digit, then divide by the batch size."),
            ((onehot - p) / n, "the sign is flipped: the gradient is p - onehot (it points uphill), not onehot - p."),
            (onehot - p, "the sign is flipped (p - onehot, not onehot - p), and divide by the batch size."),
            ((np.exp(z) / np.exp(z).sum() - onehot) / n, "softmax normalises each row (axis=1), not the whole batch."),
        ]
        otherwise = f"for a batch of {n} the gradient is not (softmax(z) - onehot(y)) / n: compare with section 3's G."
        _judge(got, (p - onehot) / n, wrong, otherwise, said=f"for a batch of {n}: ", atol=1e-8, rtol=1e-5)
    return "Correct: (softmax(z) - onehot(y)) / n, the probabilities minus the truth, averaged over the batch."


def early_stopping_epochs(val_loss: Any, patience: int) -> tuple[int, int]:
    """(stopped, kept): the epochs, counted from 1, at which Keras' EarlyStopping on ``val_loss`` stops and
    which it restores, replayed with the real callback over a recorded list of validation losses."""
    from types import SimpleNamespace

    import keras

    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=False)
    callback.set_model(SimpleNamespace(stop_training=False))
    callback.on_train_begin()
    values = [float(v) for v in val_loss]
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {"val_loss": value})
        if callback.model.stop_training:
            return epoch + 1, int(callback.best_epoch) + 1
    return len(values), int(callback.best_epoch) + 1


@_errors_as_check_failed(2)
def check_early_stopping(stopped_epoch_3: Any, kept_epoch_3: Any, history: Any, patience: int = 3) -> str:
    """Check the epochs (from 1) at which EarlyStopping(patience) on val_loss would stop, and which it keeps."""
    stopped = _number(stopped_epoch_3, "stopped_epoch_3", integer=True)
    kept = _number(kept_epoch_3, "kept_epoch_3", integer=True)
    h = getattr(history, "history", history)
    val_loss = np.asarray(h["val_loss"], dtype=float)
    expected_stop, expected_kept = early_stopping_epochs(val_loss, patience)
    wrong = [
        (len(val_loss), "that is the last epoch of section 7's run: the weights kept are the best epoch's."),
        (int(np.argmin(h["loss"])) + 1, "that epoch has the lowest *training* loss; the callback watches val_loss."),
        (expected_stop, "that is the epoch after which training stops; the weights kept are from the best epoch."),
        (expected_kept - 1, "off by one: count epochs from 1, as Keras prints them (index + 1)."),
        (
            int(np.argmin(val_loss)) + 1,
            f"that is the lowest validation loss of the whole run, but with patience {patience} training stops "
            f"earlier, before reaching it: look for the first epoch followed by {patience} epochs without a new "
            "lowest value.",
        ),
    ]
    if "val_accuracy" in h:
        message = "that epoch has the highest validation *accuracy*; the callback watches val_loss."
        wrong.append((int(np.argmax(h["val_accuracy"])) + 1, message))
    otherwise = f"kept_epoch_3 = {kept} is not it: the kept epoch has the lowest val_loss seen before training stops."
    _judge(kept, expected_kept, wrong, otherwise, said=f"kept_epoch_3 = {kept}: ")
    said = f"stopped_epoch_3 = {stopped}"
    wrong = [
        (expected_stop - 1, f"{said}: off by one; count epochs from 1, as Keras prints them."),
        (len(val_loss), f"{said} is section 7's last epoch (patience 20); less patience stops sooner."),
    ]
    otherwise = (
        f"{said}: training stops once {patience} epochs in a row bring no new lowest val_loss, that is, the "
        "patience-th epoch after the kept one."
    )
    _judge(stopped, expected_stop, wrong, otherwise)
    return (
        f"Correct: with patience {patience}, training stops {patience} epochs after the last new lowest validation "
        "loss, and keeps that epoch's weights."
    )


# ------------------------------------------------------------------------- notebook 04


@_errors_as_check_failed(1)
def check_wide_params(params_wide: Any) -> str:
    """Check the parameter count of the seed's improved model with a hidden layer of 1024 units."""
    expected = (784 * 1024 + 1024) + (1024 * 10 + 10)
    mistakes = [
        (784 * 1024 + 1024 * 10, "you forgot the biases: one per unit, 1024 + 10 of them."),
        (784 * 1024 + 1024, "that is only the hidden layer; add the output layer, 1024 × 10 + 10."),
        (407_050, "407,050 is the 512-wide model; the question asks for 1024 hidden units."),
    ]
    formula = "784 × 1024 + 1024 for the hidden layer, plus 1024 × 10 + 10 for the output"
    _check_counts(params_wide, "params_wide", None, [((), expected, mistakes)], formula)
    return f"Correct: {expected:,}, about twice the 512-wide model's 407,050, almost all in the first layer."


@_errors_as_check_failed(1)
def check_mean_accuracy(improved_mean: Any, runs: Any, model_name: str) -> str:
    """Check the mean val_accuracy over the runs of ``model_name`` in ``runs`` (a list of dicts)."""
    x = _number(improved_mean, "improved_mean", fraction=True)
    by_model: dict[str, list[float]] = {}
    for run in runs:
        by_model.setdefault(run["model"], []).append(float(run["val_accuracy"]))
    values = by_model.get(model_name)
    if not values:
        _fail(f"no run of {model_name!r} in `runs`: run the training cells above first.")
    keep = f"keep only the runs of {model_name!r}."
    wrong = [(np.mean([v for vs in by_model.values() for v in vs]), f"that is the mean over *all* runs; {keep}")]
    wrong += [(np.mean(vs), f"that is the mean of {other!r}; {keep}") for other, vs in by_model.items()]
    wrong += [(v, f"that is the accuracy of one seed; average over all seeds of {model_name!r}.") for v in values]
    noise = "that is the standard deviation (the noise); the exercise asks for the mean."
    wrong += [(np.std(values, ddof=ddof), noise) for ddof in (0, 1)[: len(values)]]  # ddof=1 needs two runs
    otherwise = f"{x:.4f} is not the mean val_accuracy of the {len(values)} runs of {model_name!r}."
    _judge(x, np.mean(values), wrong, otherwise, atol=1e-6)
    return f"Correct: the mean val_accuracy over the {len(values)} seeds of {model_name!r}."


def _per_seed(value: Any, name: str) -> np.ndarray:
    _present(value, name)
    if isinstance(value, numbers.Number) or (isinstance(value, np.ndarray) and value.ndim == 0):
        _fail(f"{name}: you stored one number; store one accuracy per seed, as a list.")
    a = _array(value, name)
    if a.ndim != 1:
        _fail(f"{name}: shape {a.shape}; store a flat list, one accuracy per seed.")
    if len(a) < 3:
        _fail(f"{name}: {len(a)} value(s); use at least 3 seeds, or the noise cannot be measured.")
    if (a > 1).any() and (a <= 100).all():
        _fail(f"{name}: those look like percentages; keep accuracies as fractions between 0 and 1.")
    bad = a[(a <= 0.5) | (a > 1)]
    if bad.size:
        _fail(f"{name}: {bad[0]:g} is not an accuracy after training (expected between 0.5 and 1).")
    return a.astype(float)


def _trained_models(models: Any, name: str, n: int) -> list:
    import keras

    _present(models, name, "a list of Keras models")
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    if len(models) != n or not all(isinstance(m, keras.Model) for m in models):
        _fail(f"`{name}` should be a list of the {n} trained Keras models, one per seed, in the accuracies' order.")
    return models


@_errors_as_check_failed(3)
def check_ab_result(
    with_technique: Any,
    without_technique: Any,
    verdict: Any,
    models_with: Any,
    models_without: Any,
    x_val: Any,
    y_val: Any,
) -> str:
    """Check an A/B experiment: per-seed accuracies of the trained models, and the verdict of Welch's t-test.

    The models must be the experiment's: BatchNormalization in every model with the technique (batch
    normalization) and in none without, seeds 0, 1, 2, ..., 2 epochs of 20,000 images in batches of 512, and
    each accuracy must be what its model scores on ``(x_val, y_val)``.
    """
    from helpers.evaluation import SIGNIFICANCE, compare_seeds

    technique = "batch normalization"
    a = _per_seed(with_technique, f"the accuracies with {technique}")
    b = _per_seed(without_technique, f"the accuracies without {technique}")
    if len(a) != len(b):
        _fail(f"{len(a)} seeds with {technique}, {len(b)} without: use the same seeds for both.")
    if np.array_equal(a, b):
        _fail("the two lists are identical: did you train the same model twice?")
    if not isinstance(verdict, str) or verdict.strip().lower() not in VERDICTS:
        _fail(f"`verdict` is {_describe(verdict)}; write one of {', '.join(map(repr, VERDICTS))}.")
    groups = {"with": _trained_models(models_with, "models_with", len(a))}
    groups["without"] = _trained_models(models_without, "models_without", len(b))
    for side, models in groups.items():
        for i, model in enumerate(models):
            has = any(type(lay).__name__ == "BatchNormalization" for lay in model.layers)
            if has != (side == "with"):
                swap = " Did you swap the two lists?" if side == "with" or has else ""
                _fail(f"models_{side}[{i}] {'has' if has else 'has no'} BatchNormalization layer.{swap}")
            _check_training_steps(model, f"models_{side}[{i}]", epochs=2, n_images=20_000, batch_size=512)
            _check_seed(model, f"models_{side}[{i}]", seed=i)
    measured = {side: np.array([m.evaluate(x_val, y_val, verbose=0)[1] for m in ms]) for side, ms in groups.items()}
    if np.allclose(a, measured["without"], atol=1e-5) and np.allclose(b, measured["with"], atol=1e-5):
        _fail(f"the accuracies are swapped: the first list is for the models with {technique}.")
    for given, side in ((a, "with"), (b, "without")):
        if (wrong := np.flatnonzero(~np.isclose(given, measured[side], atol=1e-5))).size:
            i = wrong[0]
            _fail(
                f"accuracy {i} {side} {technique} is {given[i]:.4f}, but models_{side}[{i}] scores "
                f"{measured[side][i]:.4f} on (x_val, y_val): store what evaluate returns for each model."
            )
    test = compare_seeds(b, a)
    expected = "no difference" if test["p"] >= SIGNIFICANCE else "better" if test["difference"] > 0 else "worse"
    if verdict.strip().lower() != expected:
        _fail(
            f"Welch's t-test says {expected!r}: the difference of the means is {test['difference']:+.2%}, "
            f"t = {test['t']:.2f}, p = {test['p']:.3f}; only p < {SIGNIFICANCE:g} makes it 'better' or 'worse'."
        )
    return (
        f"Measured: {technique} changes validation accuracy by {test['difference']:+.2%} "
        f"(Welch's t = {test['t']:.2f}, p = {test['p']:.3f}): {expected}."
    )


# ------------------------------------------------------------------------- notebook 05


@_errors_as_check_failed(1)
def check_most_common_mistake(most_common_mistake: Any, cm: Any) -> str:
    """Check the (true, predicted) cell with the largest count off the diagonal."""
    answer = most_common_mistake
    _present(answer, "most_common_mistake", "a pair of digits")
    pair = answer.shape == (2,) if isinstance(answer, np.ndarray) else isinstance(answer, (tuple, list))
    if not pair or len(answer) != 2:
        _fail(f"store a pair (true digit, predicted digit), e.g. (4, 9); got {_describe(answer)}.")
    t, p = (_digit(v, f"most_common_mistake[{i}]") for i, v in enumerate(answer))
    if t == p:
        _fail(f"({t}, {p}) is on the diagonal: those are the correct predictions. Look off the diagonal.")
    cm = np.asarray(cm)
    off = cm - np.diag(np.diag(cm))
    best = off.max()
    if off[p, t] == best and off[t, p] != best:
        _fail(f"({t}, {p}) is swapped: rows are the true digit, columns the prediction.")
    if off[t, p] != best:
        _fail(f"{t} predicted as {p} happens {off[t, p]} times, but another mistake happens {best} times.")
    return "Correct: that pair is the largest count off the diagonal, the model's most frequent mistake."


@_errors_as_check_failed(1)
def check_recall(recall_9: Any, cm: Any, digit: int) -> str:
    """Check the recall of ``digit`` computed from a confusion matrix (rows: true digit)."""
    r = _number(recall_9, "recall_9", fraction=True)
    cm = np.asarray(cm)
    expected = cm[digit, digit] / cm[digit].sum()
    precision = cm[digit, digit] / cm[:, digit].sum()
    column = f"that is the precision (divided by the column). Recall divides by the row: all real {digit}s."
    otherwise = f"{r:.4f} is not it: the diagonal cell divided by the sum of row {digit}."
    _judge(r, expected, [(precision, column)], otherwise, atol=1e-6)
    return f"Correct: the recall of {digit}, the diagonal cell over the sum of row {digit} (all real {digit}s)."


@_errors_as_check_failed(2)
def check_coverage(
    coverage: Any, accuracy_answered: Any, confidence: Any, predicted: Any, y: Any, threshold: float
) -> str:
    """Check the share answered at a confidence threshold and the accuracy on those answers."""
    cov = _number(coverage, "coverage", fraction=True)
    acc = _number(accuracy_answered, "accuracy_answered", fraction=True)
    answered = np.asarray(confidence) >= threshold
    right = np.asarray(predicted) == np.asarray(y)
    expected_cov = float(answered.mean())
    expected_acc = float(right[answered].mean()) if answered.any() else math.nan
    below = "your coverage is the share *below* the threshold; count the answered ones (>= threshold)."
    otherwise = f"coverage {cov:.4f} is not the share of images with confidence >= {threshold}."
    _judge(cov, expected_cov, [(1 - expected_cov, below)], otherwise, atol=1e-6)
    everything = "that is the accuracy on all images; measure accuracy_answered only on the answered ones."
    otherwise = "accuracy_answered should be measured only on the answered images (confidence >= threshold)."
    _judge(acc, expected_acc, [(right.mean(), everything)], otherwise, atol=1e-6)
    return (
        f"Correct: the share of images with confidence >= {threshold}, and the accuracy on those alone. "
        "Compare it with the accuracy on all images: fewer answers, fewer mistakes."
    )


# ------------------------------------------------------------------------- notebook 06


@_errors_as_check_failed(2)
def check_digit_reading(digit_1: Any, confidence_1: Any, model: Any, page: Any, expected: int = 1) -> str:
    """Check the digit and confidence against what ``predict_digit(model, page, gate=False)`` reads in ``page``."""
    from helpers.predict import predict_digit

    if isinstance(digit_1, tuple) and len(digit_1) == 2:
        _fail("predict_digit returns (digit, probabilities); unpack it: `digit_1, probabilities = predict_digit(...)`.")
    digit = _digit(digit_1, "digit_1")
    several = isinstance(confidence_1, (list, tuple, np.ndarray)) and np.asarray(confidence_1, dtype=object).size
    if several == 10:
        _fail("`confidence_1` holds 10 probabilities; keep the probability of the digit: probabilities[digit_1].")
    confidence = _number(confidence_1, "confidence_1", fraction=True)
    _present(page, "page", "a picture")
    try:
        read, probabilities = predict_digit(model, page, gate=False)  # what the model really reads in it
    except ValueError as exc:
        _fail(f"the model cannot read your picture `page`: {exc}")
    if read != expected:
        hint = "a dark vertical bar on light paper, " if expected == 1 else "a dark digit on light paper, "
        _fail(f"the model reads `page` as a {read}: does it show a {expected}? Draw {hint}large and thick.")
    if digit != read:
        _fail(
            f"`digit_1` is {digit}, but the model reads your picture as a {read}: store the digit that "
            "predict_digit returns, not a number you typed."
        )
    given = float(probabilities[read])
    if confidence < 0.1:  # the right answer is at least 0.1
        _fail(
            f"`confidence_1` is {confidence:g}: the digit read is the most probable of 10, so its probability "
            "is at least 0.1. Keep probabilities[digit_1]."
        )
    wrong = [(1 - given, "`confidence_1` is 1 minus the digit's probability: keep probabilities[digit_1] itself.")]
    otherwise = (
        f"`confidence_1` is {confidence:g}, but the model gives your picture {given:.4f} for a {read}: store "
        "probabilities[digit_1] as predict_digit returns it, not a number you typed or rounded."
    )
    _judge(confidence, given, wrong, otherwise, atol=1e-6, rtol=1e-5)
    return f"Correct: the model reads your picture as a {digit}, and `confidence_1` is its probability."


@_errors_as_check_failed(2)
def check_centring_matters(no_centring: Any, correct_uncentred: Any, model: Any, paths: Any, labels: Any) -> str:
    """Check ``no_centring`` (the 20×20 step in the top-left corner) and the count it reads correctly."""
    from helpers.preprocess import to_mnist

    if not callable(no_centring):
        _fail(f"`no_centring` should be a function of one image path, got {_describe(no_centring)}.")
    paths, labels = list(paths), np.asarray(labels, dtype=int)
    count = _number(correct_uncentred, "correct_uncentred", integer=True)
    if not 0 <= count <= len(paths):
        _fail(f"`correct_uncentred` is {count}: a count between 0 and {len(paths)}.")
    uncentred, centred = [], []
    for path in paths:
        image = _array(_call(no_centring, "no_centring", path, returns="`return frame`"), "no_centring(path)")
        if image.shape != (28, 28) or image.dtype.kind != "f":
            _fail(f"no_centring should return a 28×28 float array; it returned {image.dtype} {image.shape}.")
        result, steps = to_mnist(path, return_steps=True)
        small = steps["scaled to 20×20"]
        expected = np.zeros((28, 28), dtype=np.float32)
        expected[: small.shape[0], : small.shape[1]] = small
        if not (np.allclose(image, expected, atol=1e-5) or np.allclose(image, expected / expected.max(), atol=1e-5)):
            if np.allclose(image, result, atol=1e-5):
                _fail("this is the centred image; paste the 20×20 step into the top-left corner.")
            rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
            where = f"at row {rows[0]}, column {cols[0]}" if len(rows) else "nowhere (the frame is empty)"
            _fail(
                f"no_centring({getattr(path, 'name', path)}) puts the ink {where}: paste "
                "steps['scaled to 20×20'] as it is at the top-left corner, frame[:h, :w] = step."
            )
        uncentred.append(image)
        centred.append(result)
    n = int((model.predict(np.stack(uncentred), verbose=0).argmax(axis=1) == labels).sum())
    k = int((model.predict(np.stack(centred), verbose=0).argmax(axis=1) == labels).sum())
    said = f"you counted {count}, your function gives {n}."
    _judge(count, n, [(k, f"{said} Did you predict on the centred images?")], said)
    return (
        f"Correct: your count of the {len(paths)} sample digits read without centring. Compare it with the "
        "count with centring: a Dense network has no notion of 'the same shape moved', position matters to it."
    )


UPSIDE_DOWN = {6: 9, 9: 6}  # turned 180°, these digits are each other (0, 1 and 8 stay themselves)
UPSIDE_DOWN_TOLERANCE = 30  # degrees either side of 180 that still read as upside down


@_errors_as_check_failed(1)
def check_misread(misread: Any, model: Any, render: Callable) -> str:
    """Check that ``render(**misread)`` gives a picture the model reads as another digit."""
    from helpers.predict import predict_digit

    _present(misread, "misread", "a dict")
    if not isinstance(misread, Mapping):
        _fail(f"`misread` should be a dict of render's arguments, e.g. {{'digit': 4}}; got {_describe(misread)}.")
    if "digit" not in misread:
        _fail("`misread` needs a 'digit' key: the digit to draw, e.g. {'digit': 4, 'angle': 60}.")
    digit = _digit(misread["digit"], 'misread["digit"]')
    parameters = inspect.signature(render).parameters
    allowed = ", ".join(parameters)
    unknown = [key for key in misread if key not in parameters]
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        _fail(f"render has no argument {', '.join(map(repr, unknown))}: the allowed keys are {allowed}.")
    try:
        image = render(**misread)
    except NotImplementedError:
        raise
    except Exception as exc:
        _fail(f"render(**misread) raised {type(exc).__name__}: {exc}. Keys: {allowed}; check their values.")
    try:
        read, _ = predict_digit(model, image, gate=False)  # the model's own answer, not the gate's
    except ValueError as exc:
        _fail(f"the model cannot read this picture: {exc}")
    if read == digit:
        _fail(
            f"the model reads this one correctly as {digit}; try a bolder font or a larger angle: "
            "section 3's tables list some it misreads."
        )
    turned = abs(float(misread.get("angle", 0)) % 360 - 180) <= UPSIDE_DOWN_TOLERANCE
    if turned and UPSIDE_DOWN.get(digit) == read:
        _fail(
            f"a {digit} turned upside down is a {read} to anyone who reads it: the model reads it right, that is "
            "no misreading. Choose another digit or another angle."
        )
    return (
        "Correct: the model reads another digit than the one drawn. Printed digits are not MNIST's "
        "handwriting: the test accuracy holds only for data like the test data."
    )


# ------------------------------------------------------------------------- notebook 07


@_errors_as_check_failed(1)
def check_conv_params(conv_params: Any) -> str:
    """Check a function ``conv_params(kernel, channels_in, filters)`` against Keras' own count."""
    cases = []
    for k, c, f, expected in [(5, 1, 32, 832), (3, 32, 64, 18_496), (3, 3, 8, 224)]:
        mistakes = [  # (a formula students write, what it misses), first match wins
            (k * k * c * f, f"you counted the weights but not the {f} biases, one per filter."),
            (k * k * c * f + c * f, f"one bias per filter ({f}), not one per filter and input channel."),
            (k * k * c * f + c, f"one bias per filter ({f}), not one per input channel."),
            (k * k * f + f, f"each filter looks at all {c} input channels, not at one."),
            (k * c * f + f, f"a kernel of size {k} covers {k} × {k} pixels, not {k}."),
            (k * k * c + f, f"each of the {f} filters has its own {k} × {k} × {c} weights."),
        ]
        cases.append(((k, c, f), expected, mistakes))
    formula = "k × k × channels_in × filters + filters"
    _check_counts(conv_params, "conv_params", "kernel, channels_in, filters", cases, formula)
    return "Correct: kernel × kernel × channels in × filters + filters, e.g. 3 × 3 × 32 × 64 + 64 = 18,496."


@_errors_as_check_failed(1)
def check_shift_accuracy(accuracy_down_3: Any, model: Any, x_val: Any, y_val: Any) -> str:
    """Check the validation accuracy of ``model`` on the images moved 3 pixels down."""
    from helpers.preprocess import shift_images

    answer = _number(accuracy_down_3, "accuracy_down_3", fraction=True)
    x_val, y_val = np.asarray(x_val), np.asarray(y_val)

    def accuracy(down: int, right: int) -> float:
        predicted = np.asarray(model.predict(shift_images(x_val, down, right), verbose=0)).argmax(axis=1)
        return float((predicted == y_val).mean())

    def mistakes() -> list:  # (a value students compute instead, what it is): each costs a pass over x_val
        moved = {(d, r): accuracy(d, r) for d, r in [(0, 0), (-3, 0), (0, 3), (0, -3), (2, 0), (4, 0)]}
        four = np.mean([expected, moved[-3, 0], moved[0, 3], moved[0, -3]])  # section 1's four directions
        return [
            (moved[0, 0], "the accuracy on the unshifted images: shift_images(x_val, down=3) moves them down."),
            (moved[-3, 0], "the accuracy on images moved up: shift_images(x_val, down=3) moves them down."),
            (moved[0, 3], "the accuracy on images moved right: shift_images(x_val, down=3) moves them down."),
            (moved[0, -3], "the accuracy on images moved left: shift_images(x_val, down=3) moves them down."),
            (four, "the mean over down, up, right and left (section 1's table): only down is asked."),
            (1 - expected, "the share read wrongly (the error rate): the question asks for the share read correctly."),
            (moved[2, 0], "the accuracy on images moved 2 pixels down: the question asks for 3."),
            (moved[4, 0], "the accuracy on images moved 4 pixels down: the question asks for 3."),
        ]

    expected = accuracy(3, 0)
    otherwise = f"{answer:.4f} is not it: predict on shift_images(x_val, down=3), then compare the argmax with y_val."
    _judge(answer, expected, mistakes, otherwise, said=f"{answer:.4f} is ", atol=1e-4)
    return "Correct: the share of the validation digits moved 3 pixels down that the model reads correctly."


# ------------------------------------------------------------------------- notebook 08


@_errors_as_check_failed(1)
def check_gate_threshold(threshold_2: Any, gate: Any, val_digits: Any, test_digits: Any) -> str:
    """Check the gate threshold that refuses 2% of the validation digits: their scores' 2% quantile."""
    answer = _number(threshold_2, "threshold_2")
    val_scores, test_scores = gate.scores(val_digits), gate.scores(test_digits)
    refused, right = float((val_scores < answer).mean()), np.quantile(val_scores, 0.02)
    on_test = "that is the 2% point of the test digits' scores: choose thresholds on the validation digits."
    wrong = [(np.quantile(test_scores, 0.02), on_test)]
    if abs(refused - 0.02) <= 0.5 / len(val_scores) and not _close(answer, wrong[0][0], atol=1e-9, rtol=1e-5):
        right = answer  # another threshold between the same two scores refuses the same digits
    most = f"below {answer:.3f} the gate refuses 98% of the digits: the threshold is the scores' 2% quantile."
    wrong.append((np.quantile(val_scores, 0.98), most))
    otherwise = (
        f"below {answer:.3f} the gate refuses {refused:.2%} of the validation digits, not 2%: "
        "use threshold_for(gate.scores(val_digits), rejected=0.02)."
        if 0 <= answer <= 1
        else f"{answer:g} is not a gate score: the gate's scores are probabilities between 0 and 1."
    )
    _judge(answer, right, wrong, otherwise, atol=1e-9, rtol=1e-5)
    return "Correct: below that threshold the gate refuses 2% of the validation digits (their scores' 2% quantile)."


@_errors_as_check_failed(1)
def check_refused_share(refused_2: Any, gate: Any, threshold_2: Any, test_not_digits: Any, val_not_digits: Any) -> str:
    """Check the share of the test not-digits whose gate score is below ``threshold_2``."""
    answer = _number(refused_2, "refused_2", fraction=True)
    test_scores = gate.scores(test_not_digits)
    expected = float((test_scores < threshold_2).mean())

    def mistakes() -> list:  # scoring val_not_digits costs a pass of the gate: only for a wrong answer
        on_val, at_own = (gate.scores(val_not_digits) < threshold_2).mean(), (test_scores < gate.threshold).mean()
        return [
            (1 - expected, "is the share the gate lets through (scores at or above the threshold), not refuses."),
            (on_val, "is measured on the validation not-digits: measure on the test not-digits."),
            (at_own, f"is at the gate's own threshold ({gate.threshold:.3f}): use threshold_2."),
        ]

    otherwise = f"{answer:.4f} is not it: the share of gate.scores(test_not_digits) below threshold_2."
    _judge(answer, expected, mistakes, otherwise, said=f"{answer:.4f} ", atol=1e-4)
    return "Correct: the share of the test not-digits whose gate score is below threshold_2."
