"""Keras backends: the user's KERAS_BACKEND, else the installed one (TensorFlow, else JAX); each in a fresh Python."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent

# Every part of helpers, then Keras, as a notebook imports them.
IMPORT_ALL = (
    "import helpers, helpers.canvas, helpers.checks, helpers.data, helpers.evaluation, helpers.files, "
    "helpers.models, helpers.nodigit, helpers.plots, helpers.predict, helpers.preprocess, helpers.training, keras"
)

needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="jax is not installed (pip install -c requirements-lock.txt -e '.[dev]')",
)


def run_python(code: str, tmp_path: Path, backend: str | None) -> dict:
    """Run ``code`` in a fresh Python with KERAS_BACKEND=``backend`` (None: unset); return its last line, JSON."""
    # an empty KERAS_HOME: a ~/.keras/keras.json on the machine plays no part
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras-home"), "PYTHONNOUSERSITE": "1", "KERAS_BACKEND": backend}
    env = {k: v for k, v in env.items() if v is not None}
    command = [sys.executable, "-c", textwrap.dedent(code)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"the subprocess failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(extra: str = "") -> str:
    """Code that prints the backend, KERAS_BACKEND, whether TensorFlow and JAX are loaded, and ``extra`` entries."""
    seen = '"backend": keras.backend.backend(), "env": os.environ.get("KERAS_BACKEND"), '
    seen += '"tensorflow": "tensorflow" in sys.modules, "jax": "jax" in sys.modules, '
    return f"\nimport json, os, sys\nprint(json.dumps({{{seen}{extra}}}))\n"


# Code run before helpers is imported: TensorFlow then cannot be found or imported, as on Python 3.14 and later.
NO_TENSORFLOW = """
import importlib.abc, sys

class NoTensorFlow(importlib.abc.MetaPathFinder):  # import tensorflow -> ImportError, as if not installed
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)

sys.meta_path.insert(0, NoTensorFlow())
"""


@pytest.mark.parametrize(
    ("before", "backend", "expected"),
    [
        pytest.param("", "jax", "jax", marks=needs_jax),
        ("", "numpy", "numpy"),  # the user's KERAS_BACKEND wins
        ("", None, "tensorflow"),  # unset: helpers sets it to the installed backend, TensorFlow first
        pytest.param(NO_TENSORFLOW, None, "jax", marks=needs_jax),  # unset, no TensorFlow: JAX
        ("", "", "tensorflow"),  # set but empty counts as unset
        # a notebook may import helpers, then set KERAS_BACKEND itself, then import Keras
        pytest.param("import os, helpers\nos.environ['KERAS_BACKEND'] = 'jax'\n", None, "jax", marks=needs_jax),
    ],
    ids=["jax", "numpy", "unset", "unset-no-tensorflow", "empty", "set-after-helpers"],
)
def test_the_backend_is_the_users_choice_else_the_installed_one(tmp_path, before, backend, expected):
    seen = run_python(before + IMPORT_ALL + report(), tmp_path, backend=backend)
    assert seen["env"] == seen["backend"] == expected, seen
    # under TensorFlow, JAX may be loaded too: TensorFlow imports it where installed (tensorflow/lite/python/util.py)
    assert seen["tensorflow"] == (expected == "tensorflow"), f"{expected}: TensorFlow loaded or not as it should"


@needs_jax
def test_the_course_models_train_save_and_load_under_jax_without_tensorflow(tmp_path):
    """Where TensorFlow is not installed (blocked here: else Keras imports it to save or seed), JAX alone runs them."""
    code = textwrap.dedent(f"""
    import importlib.abc, sys, warnings

    class NoTensorFlow(importlib.abc.MetaPathFinder):  # import tensorflow -> ImportError, as if not installed
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] == "tensorflow":
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)

    sys.meta_path.insert(0, NoTensorFlow())
    warnings.filterwarnings("error", category=UserWarning, module="keras")  # as pyproject's pytest settings
    {IMPORT_ALL}
    import numpy as np
    from helpers import models
    models.MODELS_DIR = __import__("pathlib").Path({str(tmp_path / "models")!r})
    rng = np.random.default_rng(0)
    x = rng.random((96, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 96)
    models.RECIPES["improved"]["epochs"] = 1  # the recipe's model and batch, one short epoch
    trained = models.load_or_train("improved", x, y)
    loaded = models.load_or_train("improved", x, y)  # now from models/improved.keras
    same = bool(np.array_equal(trained.predict(x, verbose=0), loaded.predict(x, verbose=0)))
    shifted = keras.ops.convert_to_numpy(trained.layers[1](x[:8, :, :, None], training=True))
    # notebook 07's CNN and notebook 08's gate, saved and reloaded by load_or_train under JAX
    models.RECIPES["cnn"]["epochs"] = 1
    cnn = models.load_or_train("cnn", x, y)
    same_cnn = bool(np.array_equal(cnn.predict(x, verbose=0), models.load_or_train("cnn", x, y).predict(x, verbose=0)))
    from helpers import nodigit
    models.RECIPES["gate"]["epochs"] = 1
    weights = {{0: 1.0, 1: 1.0}}
    gate = nodigit.Gate(models.load_or_train("gate", x, (y % 2).astype("float32"), class_weight=weights), 0.5)
    reloaded = nodigit.load_gate(nodigit.save_gate(gate))
    same_gate = bool(np.allclose(gate.scores(x), reloaded.scores(x))) and reloaded.threshold == 0.5
    """) + report('"same": same, "shifted_shape": list(shifted.shape), "same_cnn": same_cnn, "same_gate": same_gate')
    seen = run_python(code, tmp_path, backend="jax")
    assert seen["backend"] == "jax" and not seen["tensorflow"], seen
    assert seen["same"], "the reloaded model predicts differently from the one saved"
    assert seen["shifted_shape"] == [8, 28, 28, 1]
    assert seen["same_cnn"] and seen["same_gate"], "the CNN or the gate predicts differently once reloaded"


@needs_jax
def test_the_improved_model_is_compiled_whole_under_jax_and_still_shifts(tmp_path):
    """``allow_jit``: Keras opts RandomTranslation out of XLA, which under JAX slows the whole model."""
    code = textwrap.dedent(f"""
    {IMPORT_ALL}
    import numpy as np
    from helpers import models
    model = models.build_improved(n_train=256)
    shift = next(layer for layer in model.layers if isinstance(layer, keras.layers.RandomTranslation))
    state = lambda: keras.ops.convert_to_numpy(shift.generator.state).tolist()
    before = state()
    rng = np.random.default_rng(0)
    x = np.zeros((256, 28, 28), np.float32)
    x[:, 10:18, 10:18] = 1  # a square that a shift moves
    history = model.fit(x, rng.integers(0, 10, 256), epochs=1, batch_size=64, verbose=0)
    a, b = (keras.ops.convert_to_numpy(model.layers[1](x[:4, :, :, None], training=True)) for _ in range(2))
    """) + report(
        '"jit": model.jit_compile, "seed_moved": state() != before, "loss": history.history["loss"][0],'
        ' "shifts_differ": bool((a != b).any())'
    )
    seen = run_python(code, tmp_path, backend="jax")
    assert seen["backend"] == "jax" and seen["jit"] is True, seen
    assert seen["seed_moved"], "training under jit did not advance the shifting layer's random seed"
    assert seen["shifts_differ"] and np.isfinite(seen["loss"]), seen


def test_the_improved_model_keeps_keras_choice_under_tensorflow(tmp_path):
    code = IMPORT_ALL + "\nfrom helpers import models\nmodel = models.build_improved(n_train=256)\n"
    seen = run_python(code + report('"jit": model.jit_compile'), tmp_path, backend="tensorflow")
    assert seen["backend"] == "tensorflow" and seen["jit"] is False, "TensorFlow on a CPU: Keras' own choice, no XLA"
