"""The course's model builders: exact seed architectures, real training, safe save/load."""

from __future__ import annotations

from helpers import models  # helpers first: it quiets TensorFlow
from helpers.data import load_mnist

import io
import zipfile

import keras
import numpy as np
import pytest

CONV = [("Reshape", 0), ("RandomTranslation", 0)]  # the shifted opening of the improved model, the CNN and the gate
ARCHITECTURES = {
    "baseline": [("Flatten", 0), ("Dense", 401_920), ("Dropout", 0), ("Dense", 262_656), ("Dropout", 0),
                 ("Dense", 5_130)],
    "seed_improved": [("Flatten", 0), ("ReLU", 0), ("Dropout", 0), ("Dense", 401_920), ("ReLU", 0), ("Dropout", 0),
                      ("Dense", 5_130)],
    "cnn": [*CONV, ("Conv2D", 5 * 5 * 1 * 32 + 32), ("Conv2D", 3 * 3 * 32 * 64 + 64), ("Flatten", 0),
            ("Dense", 7 * 7 * 64 * 128 + 128), ("Dropout", 0), ("Dense", 128 * 10 + 10)],
    "gate": [*CONV, ("Conv2D", 5 * 5 * 16 + 16), ("Conv2D", 3 * 3 * 16 * 32 + 32), ("Flatten", 0),
             ("Dense", 7 * 7 * 32 * 64 + 64), ("Dense", 65)],
}  # fmt: skip
BUILDERS = {"baseline": models.build_baseline, "seed_improved": models.build_seed_improved,
            "cnn": lambda: models.build_cnn(n_train=50_000), "gate": models.build_gate}  # fmt: skip


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_the_builders_make_the_seeds_and_the_courses_exact_layers(name):
    model = BUILDERS[name]()
    assert [(type(layer).__name__, layer.count_params()) for layer in model.layers] == ARCHITECTURES[name]
    assert model.count_params() == dict(baseline=669_706, seed_improved=407_050, cnn=422_154, gate=105_537)[name]
    assert model.input_shape == (None, 28, 28)
    if name in ("baseline", "seed_improved"):  # the seed's compile settings and activations, exactly
        assert model.loss == "sparse_categorical_crossentropy" and isinstance(model.optimizer, keras.optimizers.Adam)
        activations = [x.get_config()["activation"] for x in model.layers if isinstance(x, keras.layers.Dense)]
        assert activations == (["relu", "relu", "softmax"] if name == "baseline" else ["linear", "softmax"])
        assert {layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)} == {0.2}
    else:  # trained on shifted images, like the improved model
        shift = model.layers[1].get_config()
        assert shift["height_factor"] == shift["width_factor"] == models.MAX_SHIFT
    if name == "cnn":
        assert [layer.output.shape[1:3] for layer in model.layers[2:4]] == [(14, 14), (7, 7)]  # each halves the image


def test_architecture_comparison_names_the_difference():
    models.assert_same_architecture(models.build_baseline(), models.build_baseline())
    with pytest.raises(AssertionError, match="layer 1 differs"):
        models.assert_same_architecture(models.build_seed_improved(), models.build_baseline())
    layers = models._baseline_layers()
    layers[2] = keras.layers.Dropout(0.3)  # one rate changed
    with pytest.raises(AssertionError, match="layer 2 differs"):
        models.assert_same_architecture(keras.Sequential([keras.Input((28, 28)), *layers]), models.build_baseline())


@pytest.fixture(scope="module")
def small_real_data():
    (x_train, y_train), (x_test, y_test) = load_mnist(verbose=False)
    return (x_train[:4000] / 255.0, y_train[:4000]), (x_test[:1000] / 255.0, y_test[:1000])


@pytest.mark.parametrize("name", ["baseline", "cnn"])
def test_short_real_training_is_far_above_chance_and_saves_and_loads_exactly(small_real_data, tmp_path, name):
    (x, y), (xt, yt) = small_real_data
    keras.utils.set_random_seed(0)
    model = BUILDERS[name]()
    history = model.fit(x, y, epochs=2, batch_size=128, verbose=0).history
    _, accuracy = model.evaluate(xt, yt, verbose=0)
    assert accuracy > 0.8, f"2 epochs on 4,000 real images should reach well above chance, got {accuracy:.2%}"
    path = models.save_model(model, tmp_path / "m.keras", history=history)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.history.json", "m.keras"]  # no temp files left
    np.testing.assert_array_equal(models.load_model(path).predict(xt, verbose=0), model.predict(xt, verbose=0))
    assert models.load_history(path)["loss"] == pytest.approx(history["loss"])


def test_loading_uses_safe_mode_and_errors_say_what_to_do(tmp_path):
    """A model with a Python lambda could run arbitrary code on load: safe mode refuses it."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda t: t * 2)])
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        models.load_model(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match=r"\.keras extension"):
        models.save_model(models.build_baseline(), tmp_path / "model.h5")
    with pytest.raises(FileNotFoundError, match="run the notebook that trains it"):
        models.load_model(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="choose one of"):
        models.load_or_train("resnet", None, None)
    with pytest.raises(ValueError, match=r"unknown CNN body 'resnet'.*keras_io.*one_conv.*pooling.*strided"):
        models.build_cnn(body="resnet")


@pytest.fixture(scope="module")
def saved_baseline(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "baseline.keras"
    return models.save_model(models.build_baseline(), path)


def without_config(raw: bytes) -> bytes:
    """The same .keras zip, valid and whole, without the model's config.json."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as keras_zip, zipfile.ZipFile(out, "w") as renamed:
        for name in set(keras_zip.namelist()) - {"config.json"}:
            renamed.writestr(name, keras_zip.read(name))
    return out.getvalue()


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda raw: b"", "it is empty"),
        (lambda raw: raw[: len(raw) // 2], "not a complete .keras archive"),
        (lambda raw: raw[:2000] + bytes([raw[2000] ^ 0xFF]) + raw[2001:], "fails its checksum"),
        (without_config, r"a zip archive without config\.json"),
    ],
    ids=["empty", "truncated", "flipped-byte", "no-config"],
)
def test_a_damaged_model_file_is_named_as_damaged(saved_baseline, tmp_path, damage, expected):
    path = tmp_path / "baseline.keras"
    path.write_bytes(damage(saved_baseline.read_bytes()))
    with pytest.raises(models.DamagedModelError, match=expected) as err:
        models.load_model(path)
    assert "is damaged" in str(err.value) and "Delete it" in str(err.value)


@pytest.mark.parametrize(
    ("saved", "problem"),
    [
        (models.build_seed_improved, r"layer 1 differs"),
        # 14×56 inputs flatten to 784 too: every layer and the parameter count match, the input does not
        (lambda: models._compile(keras.Sequential([keras.Input((14, 56)), *models._baseline_layers()])),
         r"it takes inputs of shape \(None, 14, 56\), not \(None, 28, 28\)\)\. Move it aside or delete it, then run"),
    ],
    ids=["architecture", "input-shape"],
)  # fmt: skip
def test_load_or_train_refuses_a_saved_model_that_is_not_the_recipes(monkeypatch, tmp_path, saved, problem):
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    model = saved()  # saved models are trained ones (an untrained one saves no optimizer state)
    model.fit(np.zeros((8, *model.input_shape[1:]), "float32"), np.zeros(8, "uint8"), epochs=1, verbose=0)
    models.save_model(model, tmp_path / "baseline.keras")
    with pytest.raises(ValueError, match=r"models/baseline\.keras is not the course's baseline model \(" + problem):
        models.load_or_train("baseline", np.zeros((8, 28, 28), "float32"), np.zeros(8, "uint8"))


@pytest.mark.parametrize("name", ["baseline", "gate"])
def test_load_or_train_trains_by_the_recipe_saves_and_then_loads(monkeypatch, tmp_path, capsys, name):
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    monkeypatch.setitem(models.RECIPES, name, {**models.RECIPES[name], "epochs": 1})
    x, y = np.random.default_rng(0).random((64, 28, 28), "float32"), np.arange(64) % 10
    fit = {}
    if name == "gate":  # the gate learns digits against not-digits, weighted: the recipe passes class_weight on
        y, fit = (y < 5).astype("float32"), {"class_weight": {0: 10.0, 1: 0.1}}
    model = models.load_or_train(name, x, y, **fit)
    notebook = models.RECIPES[name]["notebook"]
    assert f"not found (notebook {notebook} saves it); training it now: 1 epochs" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.history.json", f"{name}.keras"]
    assert len(models.load_history(tmp_path / f"{name}.keras")["loss"]) == 1
    loaded = models.load_or_train(name, x, y)
    assert f"{name}: loaded models/{name}.keras" in capsys.readouterr().out
    np.testing.assert_allclose(loaded.predict(x[:4], verbose=0), model.predict(x[:4], verbose=0))
    if name == "gate":  # weighted towards "not a digit": the scores sit low, unlike an unweighted fit
        plain = models.train(name, x, y, verbose=0)
        assert model.predict(x, verbose=0).mean() < plain.predict(x, verbose=0).mean()


def test_every_cnn_body_builds_and_predicts_ten_probabilities():
    assert set(models.CNN_BODIES) == {"strided", "pooling", "one_conv", "keras_io"}
    one_conv = (5 * 5 * 32 + 32) + (14 * 14 * 32 * 128 + 128) + (128 * 10 + 10)  # 805,066
    keras_io = (3 * 3 * 32 + 32) + (3 * 3 * 32 * 64 + 64) + (5 * 5 * 64 * 10 + 10)  # 34,826: keras.io's count
    for body, parameters in dict(strided=422_154, pooling=422_154, one_conv=one_conv, keras_io=keras_io).items():
        model = models.build_cnn(n_train=1_000, epochs=2, body=body)
        assert model.name == ("cnn" if body == "strided" else f"cnn_{body}")
        assert model.count_params() == parameters, body
        assert model.input_shape == (None, 28, 28) and model.output_shape == (None, 10)
        assert type(model.layers[1]).__name__ == "RandomTranslation"  # every candidate trains on shifted images
        np.testing.assert_allclose(model.predict(np.zeros((2, 28, 28), "float32"), verbose=0).sum(axis=1), 1, rtol=1e-5)
        if body in ("strided", "pooling"):  # the same sizes before Flatten: by strides, or by max pooling
            flatten = next(i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.Flatten))
            assert tuple(model.layers[flatten - 1].output.shape[1:]) == (7, 7, 64)
            assert [type(x).__name__ for x in model.layers].count("MaxPooling2D") == (2 if body == "pooling" else 0)


def _learning_rate_at(model, step: int) -> float:
    model.optimizer.iterations.assign(step)
    return float(model.optimizer.learning_rate)


@pytest.mark.parametrize(
    ("build", "epochs", "default_epochs"),
    [
        (lambda n, e: models.build_cnn(n, e), 3, models.CNN_EPOCHS),
        (lambda n, e: models.build_cnn(n, e, body="keras_io"), 4, models.CNN_EPOCHS),
        (lambda n, e: models.build_improved(n, e), 4, models.IMPROVED_EPOCHS),
    ],
)
def test_the_cosine_schedule_spans_the_epochs_asked_for(build, epochs, default_epochs):
    end = (steps_per_epoch := -(-50_000 // models.IMPROVED_BATCH_SIZE)) * epochs  # 98 batches of 512 an epoch
    model = build(50_000, epochs)
    assert model.optimizer.get_config()["learning_rate"]["config"]["decay_steps"] == end
    assert _learning_rate_at(model, 0) == pytest.approx(models.IMPROVED_PEAK_LR)
    assert _learning_rate_at(model, end // 2) == pytest.approx(models.IMPROVED_PEAK_LR / 2, rel=1e-3)
    assert _learning_rate_at(model, end) == pytest.approx(0, abs=1e-9)
    default = build(50_000, default_epochs)  # the recipe's own length: at ``end`` it is still far from 0
    assert _learning_rate_at(default, end) > 0.5 * models.IMPROVED_PEAK_LR
    assert _learning_rate_at(default, steps_per_epoch * default_epochs) == pytest.approx(0, abs=1e-9)
