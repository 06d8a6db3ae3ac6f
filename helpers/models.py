"""The course's models as compiled Keras models; saving, loading, and training one that is missing.

Notebooks 02 (baseline), 04 (improved), 07 (CNN) and 08 (digit gate) write these models in the
open; each asserts that its model has the same architecture as the builder here. ``RECIPES`` says
how each saved model is trained, so a later notebook, the benchmark and the tests get the same
model from ``load_or_train`` without drift.
"""

from __future__ import annotations

from helpers.files import atomic_path, course_folder, write_atomic
from helpers.training import TRAIN_SIZE

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

# $MNIST_MODELS_DIR, else models/ in the clone; an installed course saves into models/ in the working folder.
MODELS_DIR = course_folder("models", "MNIST_MODELS_DIR")


def _compile(model: keras.Model, optimizer: Any = "adam") -> keras.Model:
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_baseline() -> keras.Model:
    """The seed's first model (In [1]), exactly: two hidden Dense(512, relu) layers with dropout.

    Seed: ``Flatten(input_shape=(28, 28)) -> Dense(512, relu) -> Dropout(0.2) ->
    Dense(512, relu) -> Dropout(0.2) -> Dense(10, softmax)``, compiled with ``adam``,
    ``sparse_categorical_crossentropy`` and ``accuracy``. 669,706 parameters.
    """
    model = keras.Sequential([keras.Input(shape=(28, 28)), *_baseline_layers()], name="baseline")
    return _compile(model)


def _baseline_layers() -> list:
    """Flatten and the seed baseline's Dense/Dropout stack (shared by the improved model)."""
    return [
        layers.Flatten(),
        layers.Dense(512, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(512, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ]


def build_seed_improved() -> keras.Model:
    """The seed's second model (In [2]), exactly, which the seed calls an improvement.

    Seed: ``Flatten(input_shape=(28, 28)) -> ReLU() -> Dropout(0.2) -> Dense(512) ->
    ReLU() -> Dropout(0.2) -> Dense(10, softmax)``, same compile settings. It has one
    hidden layer, not two; 407,050 parameters.
    """
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            layers.Flatten(),
            layers.ReLU(),
            layers.Dropout(0.2),
            layers.Dense(512),
            layers.ReLU(),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax"),
        ],
        name="seed_improved",
    )
    return _compile(model)


# Training settings that belong to the improved model (notebook 04 explains each).
IMPROVED_EPOCHS = 10
IMPROVED_BATCH_SIZE = 512
IMPROVED_PEAK_LR = 3e-3
MAX_SHIFT = 0.08  # of the image size: 0.08 * 28 = about 2 pixels


def _shifted_input() -> list:
    """The opening of the improved model, the CNN and the gate: a 28×28 input, shifted at random
    by up to ``MAX_SHIFT`` while training (no change when predicting)."""
    return [
        keras.Input(shape=(28, 28)),
        layers.Reshape((28, 28, 1)),
        layers.RandomTranslation(MAX_SHIFT, MAX_SHIFT, fill_mode="constant", interpolation="nearest"),
    ]


def improved_schedule(
    n_train: int = TRAIN_SIZE, epochs: int = IMPROVED_EPOCHS, batch_size: int = IMPROVED_BATCH_SIZE
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Cosine decay from ``IMPROVED_PEAK_LR`` to 0 over the whole training run."""
    steps = -(-n_train // batch_size) * epochs
    return keras.optimizers.schedules.CosineDecay(IMPROVED_PEAK_LR, decay_steps=steps)


def build_improved(n_train: int = TRAIN_SIZE, epochs: int = IMPROVED_EPOCHS) -> keras.Model:
    """A genuinely better model (notebook 04): the baseline's exact layers, trained on images
    shifted at random by up to ~2 pixels, with a bigger batch and a cosine learning-rate
    schedule (train with ``IMPROVED_EPOCHS`` and ``IMPROVED_BATCH_SIZE``). 669,706 parameters.
    The schedule spans ``epochs``: pass the number of epochs you will train for.
    """
    model = keras.Sequential(
        [
            *_shifted_input(),
            *_baseline_layers(),
        ],
        name="improved",
    )
    schedule = improved_schedule(n_train, epochs, IMPROVED_BATCH_SIZE)
    return allow_jit(_compile(model, keras.optimizers.Adam(schedule)))


# The convolutional network (notebook 07): the improved model's training recipe, twice the epochs.
CNN_EPOCHS = 20
CNN_BATCH_SIZE = IMPROVED_BATCH_SIZE


# The candidates the CNN was chosen from (make bench, section "cnn"): the layers between the
# shifted 28×28×1 input and the softmax. "strided" is the course's CNN.
CNN_BODIES = {
    "strided": lambda: [
        layers.Conv2D(32, 5, strides=2, padding="same", activation="relu"),  # 28×28 -> 14×14, 32 maps
        layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),  # 14×14 -> 7×7, 64 maps
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.4),
    ],
    "pooling": lambda: [  # the same sizes, reached by max pooling after full-resolution convolutions
        layers.Conv2D(32, 5, padding="same", activation="relu"),  # 28×28, 32 maps
        layers.MaxPooling2D(2),  # -> 14×14
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),  # -> 7×7, 64 maps
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.4),
    ],
    "one_conv": lambda: [  # one strided convolution only
        layers.Conv2D(32, 5, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.4),
    ],
    "keras_io": lambda: [  # keras.io's "Simple MNIST convnet" example, with this recipe
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.5),
    ],
}


def build_cnn(n_train: int = TRAIN_SIZE, epochs: int = CNN_EPOCHS, body: str = "strided") -> keras.Model:
    """A small convolutional network: two strided convolutions, then Dense(128) and the softmax.

    Trained like the improved model (random shifts of up to ~2 pixels, batch 512, the cosine
    schedule over ``epochs``), for ``CNN_EPOCHS``. 422,154 parameters; its time per training on
    2 CPU cores is in benchmarks/results.md (``make bench``). ``body`` picks one of the candidates
    in ``CNN_BODIES``, which the benchmark compares on validation data.
    """
    if body not in CNN_BODIES:
        raise ValueError(f"unknown CNN body {body!r}: choose one of {sorted(CNN_BODIES)}")
    model = keras.Sequential(
        [
            *_shifted_input(),
            *CNN_BODIES[body](),
            layers.Dense(10, activation="softmax"),
        ],
        name="cnn" if body == "strided" else f"cnn_{body}",
    )
    schedule = improved_schedule(n_train, epochs, CNN_BATCH_SIZE)
    return allow_jit(_compile(model, keras.optimizers.Adam(schedule)))


# The digit gate (notebook 08): one number per input, the probability that it is a digit at all.
GATE_EPOCHS = 5
GATE_BATCH_SIZE = 256


def build_gate() -> keras.Model:
    """A small CNN that tells digits from pictures that are not digits: one sigmoid output.

    Trained in notebook 08 on the MNIST training digits (1) and drawn not-digits (0) from
    ``helpers.nodigit.not_digits``, with the same random shifts as the improved model. Its
    threshold is chosen on validation data (``helpers.nodigit``). About 106,000 parameters.
    """
    model = keras.Sequential(
        [
            *_shifted_input(),
            layers.Conv2D(16, 5, strides=2, padding="same", activation="relu"),  # 16 maps of 14×14
            layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),  # 32 maps of 7×7
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(1, activation="sigmoid"),  # P(a digit)
        ],
        name="gate",
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return allow_jit(model)


def allow_jit(model: keras.Model) -> keras.Model:
    """Under JAX, compile the compiled ``model``'s steps with XLA although ``RandomTranslation`` opts out.

    Keras 3 marks ``RandomTranslation`` as not compilable (``supports_jit = False``, for TensorFlow's
    sake), and one such layer makes Keras run the whole model op by op. Under JAX the layer compiles
    and trains the same, and the series runs about a quarter faster on two CPU cores than without this
    (tests/test_backends.py checks it trains and still shifts). Other backends: nothing changes.
    """
    if keras.backend.backend() == "jax":
        for layer in model.layers:
            if isinstance(layer, layers.RandomTranslation):
                layer.supports_jit = True
        model.jit_compile = True
    return model


# ----------------------------------------------------------------- architecture


def describe(model: keras.Model) -> list[tuple]:
    """One tuple per layer: (type, units, activation, rate, other shape facts) and the total."""
    rows = []
    for layer in model.layers:
        cfg = layer.get_config()
        act = cfg.get("activation")
        rows.append(
            (
                type(layer).__name__,
                cfg.get("units"),
                act if isinstance(act, str) else (act and act.get("config", {}).get("name")),
                cfg.get("rate"),
                cfg.get("use_bias"),
                tuple(cfg["target_shape"]) if "target_shape" in cfg else None,
                (cfg.get("height_factor"), cfg.get("width_factor"), cfg.get("interpolation"))
                if "height_factor" in cfg
                else None,
            )
        )
    rows.append(("total parameters", model.count_params()))
    return rows


def assert_same_architecture(model: keras.Model, reference: keras.Model) -> None:
    """Raise AssertionError naming the first difference between two models' architectures."""
    mine, theirs = describe(model), describe(reference)
    for i, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a != b:
            raise AssertionError(f"layer {i} differs: notebook has {a}, helpers.models has {b}")
    if len(mine) != len(theirs):
        raise AssertionError(f"the notebook's model has {len(mine) - 1} layers, the helper's {len(theirs) - 1}")


# ------------------------------------------------------------------ save / load


class DamagedModelError(ValueError):
    """A saved ``.keras`` file exists but cannot be read; the message says what to do."""


def save_model(model: keras.Model, path: str | os.PathLike, history: dict | None = None) -> Path:
    """Save ``model`` (and its training history as JSON beside it), each written atomically."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path.name}: save models with the .keras extension (Keras 3's format)")
    with atomic_path(path) as tmp:
        model.save(tmp)
    if history is not None:
        history = {k: [float(v) for v in vs] for k, vs in history.items()}
        write_atomic(history_path(path), json.dumps(history, indent=1))
    return path


def history_path(model_path: str | os.PathLike) -> Path:
    """Where a model's training history is stored: ``NAME.history.json`` beside it."""
    p = Path(model_path)
    return p.with_name(p.stem + ".history.json")


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` model in safe mode (no arbitrary code from the file is run).

    The archive is checked first (a ``.keras`` file is a zip): an empty, truncated or corrupted
    file, or a zip without the model's ``config.json``, raises :class:`DamagedModelError`, which
    says to delete it and train it again.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the notebook that trains it first")
    try:
        with zipfile.ZipFile(path) as archive:
            damage = archive.testzip()  # the CRC of every member: a flipped byte shows here
            damage = damage and f"{damage} inside it fails its checksum"
            if not damage and "config.json" not in archive.namelist():
                damage = "it is a zip archive without config.json, so not a saved Keras model (a renamed .zip?)"
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        size = path.stat().st_size
        damage = "it is empty" if size == 0 else f"{size:,} bytes that are not a complete .keras archive ({exc})"
    if damage:
        raise DamagedModelError(
            f"{path} is damaged: {damage}. An interrupted copy or download? Delete it and run the notebook that "
            "trains it again (notebooks 05 and 06 retrain a missing model by themselves)."
        )
    return allow_jit(keras.models.load_model(path, safe_mode=True))


def load_history(model_path: str | os.PathLike) -> dict[str, list[float]]:
    """Load the history saved beside a model by :func:`save_model`."""
    return json.loads(history_path(model_path).read_text(encoding="utf-8"))


# ------------------------------------------------------------- load or train

# How each saved model is trained when a notebook needs it and it is missing.
RECIPES = {
    # build(n_train): the improved model's schedule spans the run, so it needs the training-set size
    "baseline": dict(build=lambda n_train: build_baseline(), epochs=10, batch_size=128, notebook="02"),
    "improved": dict(build=build_improved, epochs=IMPROVED_EPOCHS, batch_size=IMPROVED_BATCH_SIZE, notebook="04"),
    "cnn": dict(build=build_cnn, epochs=CNN_EPOCHS, batch_size=CNN_BATCH_SIZE, notebook="07"),
    # the gate learns from helpers.nodigit.gate_training_set: pass its class_weight to load_or_train
    "gate": dict(build=lambda n_train: build_gate(), epochs=GATE_EPOCHS, batch_size=GATE_BATCH_SIZE, notebook="08"),
}


def _check_saved(model: keras.Model, reference: keras.Model, name: str, path: Path) -> None:
    """Refuse a saved model whose layers or input shape differ from the recipe's, saying what to do."""
    problem = None
    if model.input_shape != reference.input_shape:  # the same layers may take other shapes (14×56 is 784 too)
        problem = f"it takes inputs of shape {model.input_shape}, not {reference.input_shape}"
    try:
        assert_same_architecture(model, reference)
    except AssertionError as exc:
        problem = str(exc)
    if problem:
        raise ValueError(
            f"models/{path.name} is not the course's {name} model ({problem}). Move it aside or delete it, "
            f"then run notebook {RECIPES[name]['notebook']} (or this cell) to save the course's model."
        )


def _recipe(name: str) -> dict:
    if name not in RECIPES:
        raise ValueError(f"unknown model {name!r}: choose one of {sorted(RECIPES)}")
    return RECIPES[name]


def train(name: str, x_train: np.ndarray, y_train: np.ndarray, seed: int = 0, **fit: Any) -> keras.Model:
    """Train the model ``name`` by its recipe in ``RECIPES`` from ``seed`` (not saved); ``fit`` goes to
    ``model.fit`` (``class_weight`` for the gate, ``verbose``, ``callbacks``...)."""
    recipe = _recipe(name)
    keras.utils.set_random_seed(seed)
    model = recipe["build"](len(x_train))
    model.fit(x_train, y_train, epochs=recipe["epochs"], batch_size=recipe["batch_size"], **fit)
    return model


def load_or_train(name: str, x_train: np.ndarray, y_train: np.ndarray, seed: int = 0, **fit: Any) -> keras.Model:
    """Load ``models/NAME.keras`` (safe mode); if it is missing, say so, train it by ``RECIPES`` and save it.

    Pass the training split (``helpers.training.train_val_split``), as the notebooks train on it; for the
    gate, ``helpers.nodigit.gate_training_set``'s inputs and labels, and its ``class_weight=`` (the
    gate's threshold is chosen and saved by notebook 08: ``helpers.nodigit.save_gate``).
    A saved model whose architecture or input shape is not the recipe's is refused, naming the difference.
    """
    recipe = _recipe(name)
    path = MODELS_DIR / f"{name}.keras"
    if path.is_file():
        model = load_model(path)
        _check_saved(model, recipe["build"](len(x_train)), name, path)
        print(f"{name}: loaded models/{path.name}")
        return model
    print(
        f"{name}: models/{path.name} not found (notebook {recipe['notebook']} saves it); "
        f"training it now: {recipe['epochs']} epochs, batch {recipe['batch_size']}"
    )
    model = train(name, x_train, y_train, seed, **fit)
    save_model(model, path, history={k: list(v) for k, v in model.history.history.items()})
    return model
