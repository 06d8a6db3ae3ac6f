"""helpers.training.benchmark_accuracy: the benchmark's accuracy table, read from a results.json.

Also what needs helpers.training (and so Keras): the committed results stay readable by the notebooks,
and benchmarks/bare_keras.py splits and scales exactly as the notebooks do.
"""

from __future__ import annotations

import helpers  # noqa: F401  (quiet TensorFlow first: helpers.training imports keras)
from helpers.training import BENCHMARK_RESULTS, benchmark_accuracy, train_val_split

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import tomllib

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_04 = ["baseline", "seed_improved", "schedule", "improved"]


def _model(epochs, batch_size, val, test, seconds):
    runs = [
        {"seed": i, "val_accuracy": v, "test_accuracy": t, "train_seconds": s, "epoch_seconds": [s / epochs] * epochs}
        for i, (v, t, s) in enumerate(zip(val, test, seconds, strict=True))
    ]
    return {"model": "?", "parameters": 669_706, "epochs": epochs, "batch_size": batch_size, "runs": runs}


def _results(**accuracy) -> dict:
    section = {
        "quick": False,
        "machine": {"cpu_model": "Test CPU", "date": "2030-01-02T03:04:05+00:00"},
        "seeds": [0, 1],
        "train_samples": 50_000,
        "validation_samples": 10_000,
        "test_samples": 10_000,
        "models": {
            "baseline": _model(10, 128, [0.979, 0.981], [0.980, 0.984], [40.0, 44.0]),
            "seed_improved": _model(10, 128, [0.976, 0.978], [0.977, 0.979], [20.0, 22.0]),
            "schedule": _model(10, 512, [0.983, 0.983], [0.985, 0.985], [21.0, 23.0]),
            "improved": _model(10, 512, [0.987, 0.989], [0.988, 0.990], [24.0, 26.0]),
        },
        **accuracy,
    }
    return {"schema": 2, "quick": False, "machine": section["machine"], "accuracy": section}


def _write(tmp_path, results) -> str:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    return str(path)


def test_one_row_per_model_with_readable_names_and_the_right_numbers(tmp_path):
    table = benchmark_accuracy(_write(tmp_path, _results()))
    assert list(table["model"]) == ["baseline", "seed 'improved'", "+ schedule", "+ shifts (improved)"]
    assert list(table.columns) == [
        "model",
        "epochs",
        "batch_size",
        "seeds",
        "val_accuracy mean",
        "val_accuracy std",
        "test_accuracy mean",
        "test_accuracy std",
        "s_per_training",
        "measured",
    ]
    baseline = table.iloc[0]
    assert (baseline["epochs"], baseline["batch_size"], baseline["seeds"]) == (10, 128, 2)
    assert baseline["val_accuracy mean"] == pytest.approx(0.980)
    assert baseline["val_accuracy std"] == pytest.approx(0.002 / 2**0.5)  # sample std of two values 0.002 apart
    assert baseline["test_accuracy mean"] == pytest.approx(0.982)
    assert baseline["test_accuracy std"] == pytest.approx(0.004 / 2**0.5)  # sample std of two values 0.004 apart
    assert baseline["s_per_training"] == pytest.approx(42.0)
    assert table.iloc[2]["val_accuracy std"] == 0
    assert list(table["batch_size"]) == [128, 128, 512, 512]
    assert set(table["measured"]) == {"2030-01-02"}


def test_a_quick_run_says_so(tmp_path):
    table = benchmark_accuracy(_write(tmp_path, _results(quick=True)))
    assert set(table["measured"]) == {"2030-01-02 (quick run: not representative)"}


def test_the_default_is_the_packaged_benchmark_file_and_notebook_04_can_read_it():
    """The results ship inside helpers/, so an installed course (Colab, a hub) has them too."""
    assert REPO / "helpers" / "benchmark_results.json" == BENCHMARK_RESULTS
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert BENCHMARK_RESULTS.name in package_data["helpers"], "pyproject.toml must ship the benchmark results"
    table = benchmark_accuracy(models=NOTEBOOK_04)  # as notebook 04 reads it
    assert list(table["model"]) == ["baseline", "seed 'improved'", "+ schedule", "+ shifts (improved)"]
    assert list(table["epochs"]) == [10] * 4 and all(table["seeds"] >= 3)
    assert table["val_accuracy mean"].between(0.97, 0.995).all()
    cnn = benchmark_accuracy().set_index("model").loc["CNN"]  # every model, the CNN last
    assert cnn["seeds"] >= 3 and cnn["test_accuracy mean"] >= 0.99, cnn


def test_asking_for_a_model_that_was_not_measured_says_so(tmp_path):
    path = _write(tmp_path, _results())
    assert list(benchmark_accuracy(path, models=["improved", "baseline"])["model"]) == [
        "+ shifts (improved)",
        "baseline",
    ]
    with pytest.raises(ValueError, match=r"has no results for cnn: run `make bench`"):
        benchmark_accuracy(path, models=["baseline", "cnn"])


def test_a_missing_file_says_to_run_the_benchmark(tmp_path):
    remeasure = r"not found: run `make bench` \(or `python benchmarks/bench.py --only accuracy`\)"
    with pytest.raises(FileNotFoundError, match=remeasure):
        benchmark_accuracy(tmp_path / "results.json")


def test_an_old_format_file_says_to_remeasure(tmp_path):
    old = _results()
    for model in old["accuracy"]["models"].values():  # schema 1: test accuracy only
        for run in model["runs"]:
            del run["val_accuracy"]
    with pytest.raises(ValueError, match=r"no accuracy measured on the validation split.*`make bench`"):
        benchmark_accuracy(_write(tmp_path, old))
    del old["accuracy"]
    with pytest.raises(ValueError, match="--only accuracy"):
        benchmark_accuracy(_write(tmp_path, old))


def test_the_bare_keras_script_splits_and_scales_as_the_notebooks_do():
    spec = importlib.util.spec_from_file_location("bare_keras", REPO / "benchmarks" / "bare_keras.py")
    bare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bare)
    x = np.random.default_rng(0).integers(0, 256, size=(10_100, 28, 28), dtype=np.uint8)
    y = np.arange(10_100) % 10
    (x_train, y_train), (x_val, y_val) = train_val_split(x, y)  # the notebooks: split, then scale
    (bare_x_train, bare_y_train), (bare_x_val, bare_y_val) = bare.split_and_scale(x, y)
    np.testing.assert_array_equal(bare_x_train, x_train.astype("float32") / 255.0)
    np.testing.assert_array_equal(bare_x_val, x_val.astype("float32") / 255.0)
    np.testing.assert_array_equal(bare_y_train, y_train)
    np.testing.assert_array_equal(bare_y_val, y_val)
