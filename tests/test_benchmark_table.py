"""helpers.training.benchmark_accuracy and benchmark_runs: the benchmark's tables, read from a results.json.

Also what needs helpers.training (and so Keras): the committed results stay readable by the notebooks,
and benchmarks/bare_keras.py splits and scales exactly as the notebooks do.
"""

from __future__ import annotations

import helpers  # noqa: F401  (quiet TensorFlow first: helpers.training imports keras)
from helpers.models import CNN_BODIES, CNN_EPOCHS
from helpers.training import BENCHMARK_NAMES, BENCHMARK_RESULTS, benchmark_accuracy, benchmark_runs, train_val_split

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


# ------------------------------------------------------------------ benchmark_runs: one row per model and seed

GATE_RUNS = [
    {"seed": 0, "threshold": 0.512, "test_digits_refused": 0.004, "test_not_digits_refused": 0.95, "seconds": 30.0},
    {"seed": 1, "threshold": 0.498, "test_digits_refused": 0.006, "test_not_digits_refused": 0.97, "seconds": 32.0},
]


def _cnn_row(model, epochs, budget, val):
    return {**_model(epochs, 512, val, [v + 0.001 for v in val], [70.0, 72.0]), "model": model, "budget": budget}


def _all_sections(quick=False) -> dict:
    """The accuracy section and, shaped as bench.py writes them, steps, cnn and gate (seeds 0 and 1)."""
    results = _results(quick=quick)
    head = {k: results["accuracy"][k] for k in ("quick", "machine", "seeds")}
    samples = {"train_samples": 50_000, "validation_samples": 10_000, "test_samples": 10_000}
    results["steps"] = (
        head
        | samples
        | {
            "settings": {"seeds": [0, 1], "n_train": None},
            "models": {
                "batch512": _model(10, 512, [0.978, 0.980], [0.979, 0.981], [18.0, 20.0]),
                "batch512_lr3e-3": _model(10, 512, [0.981, 0.982], [0.982, 0.983], [19.0, 21.0]),
            },
        }
    )
    results["cnn"] = (
        head
        | samples
        | {
            "settings": {"seeds": [0, 1], "epochs": 10, "n_train": None},
            "rows": [
                _cnn_row("cnn", 20, "the CNN's recipe", [0.993, 0.994]),
                _cnn_row("improved", 10, "equal epochs", [0.988, 0.989]),
                _cnn_row("cnn", 10, "equal epochs", [0.991, 0.992]),
                _cnn_row("improved", 30, "equal time", [0.989, 0.990]),
                _cnn_row("cnn_pooling", 10, "candidate", [0.992, 0.993]),
                _cnn_row("cnn_one_conv", 10, "candidate", [0.985, 0.986]),
                _cnn_row("cnn_keras_io", 10, "candidate", [0.989, 0.990]),
            ],
        }
    )
    results["gate"] = head | {
        "settings": {"seeds": [0, 1], "n_train": None},
        "test_not_digits": 2_000,
        "test_digits": 10_000,
        "runs": GATE_RUNS,
    }
    return results


RUN_COLUMNS = ["seed", "val_accuracy", "test_accuracy", "train_seconds", "epoch_seconds"]


def test_runs_of_the_accuracy_and_steps_sections_are_one_row_per_model_and_seed(tmp_path):
    path = _write(tmp_path, _all_sections())
    runs = benchmark_runs("accuracy", path)
    assert list(runs.columns) == ["model", "label", "epochs", "batch_size", "parameters", *RUN_COLUMNS]
    assert list(runs["model"]) == [m for m in NOTEBOOK_04 for _ in range(2)]
    assert list(runs["label"]) == [BENCHMARK_NAMES[m] for m in runs["model"]]
    assert list(runs["seed"]) == [0, 1] * 4
    improved = runs[runs["model"] == "improved"]
    assert list(improved["val_accuracy"]) == [0.987, 0.989] and list(improved["train_seconds"]) == [24.0, 26.0]
    assert list(improved["batch_size"]) == [512, 512] and list(improved["parameters"]) == [669_706] * 2
    steps = benchmark_runs("steps", path)
    assert list(steps["model"]) == ["batch512", "batch512", "batch512_lr3e-3", "batch512_lr3e-3"]
    assert list(steps["label"]) == ["+ batch 512"] * 2 + ["+ peak rate 0.003"] * 2
    assert list(steps["val_accuracy"]) == [0.978, 0.980, 0.981, 0.982]
    assert "budget" not in steps.columns
    assert runs.attrs["measured"] == steps.attrs["measured"] == "2030-01-02"


def test_runs_of_the_cnn_section_keep_each_rows_budget_and_epochs(tmp_path):
    runs = benchmark_runs("cnn", _write(tmp_path, _all_sections()))
    assert list(runs.columns) == ["model", "label", "epochs", "batch_size", "parameters", "budget", *RUN_COLUMNS]
    assert len(runs) == 7 * 2
    firsts = runs[runs["seed"] == 0]
    assert list(zip(firsts["model"], firsts["epochs"], firsts["budget"], strict=True)) == [
        ("cnn", 20, "the CNN's recipe"),
        ("improved", 10, "equal epochs"),
        ("cnn", 10, "equal epochs"),
        ("improved", 30, "equal time"),
        ("cnn_pooling", 10, "candidate"),
        ("cnn_one_conv", 10, "candidate"),
        ("cnn_keras_io", 10, "candidate"),
    ]
    assert list(firsts["label"]) == [
        "CNN",
        "+ shifts (improved)",
        "CNN",
        "+ shifts (improved)",
        "CNN, max pooling",
        "CNN, one convolution",
        "keras.io convnet",
    ]
    equal_epochs = runs[(runs["model"] == "cnn") & (runs["budget"] == "equal epochs")]
    assert list(equal_epochs["val_accuracy"]) == [0.991, 0.992] and list(equal_epochs["seed"]) == [0, 1]


def test_runs_of_the_gate_section_are_its_seeds(tmp_path):
    runs = benchmark_runs("gate", _write(tmp_path, _all_sections()))
    assert list(runs.columns) == ["seed", "threshold", "test_digits_refused", "test_not_digits_refused", "seconds"]
    assert runs.to_dict("records") == GATE_RUNS
    assert runs.attrs["measured"] == "2030-01-02"


def test_runs_of_a_quick_run_say_so(tmp_path):
    path = _write(tmp_path, _all_sections(quick=True))
    for section in ("accuracy", "steps", "cnn", "gate"):
        assert benchmark_runs(section, path).attrs["measured"] == "2030-01-02 (quick run: not representative)"


def test_runs_say_what_to_run_when_the_file_or_the_section_is_missing(tmp_path):
    remeasure = r"run `make bench` \(or `python benchmarks/bench.py --only cnn`\)"
    with pytest.raises(FileNotFoundError, match=r"results\.json not found: " + remeasure):
        benchmark_runs("cnn", tmp_path / "results.json")
    with pytest.raises(ValueError, match=r"has no 'cnn' section measured over seeds: " + remeasure):
        benchmark_runs("cnn", _write(tmp_path, _results()))  # the accuracy section only
    no_seeds = _all_sections()
    no_seeds["gate"]["seeds"] = []
    with pytest.raises(ValueError, match=r"has no 'gate' section .*--only gate"):
        benchmark_runs("gate", _write(tmp_path, no_seeds))


def test_every_cnn_candidate_has_a_readable_name():
    assert all(f"cnn_{body}" in BENCHMARK_NAMES for body in CNN_BODIES if body != "strided")
    assert len(set(BENCHMARK_NAMES.values())) == len(BENCHMARK_NAMES)  # no two models under one label


# ------------------------------------------------------------------ the committed results, section by section

STEPS_MODELS = {"batch512", "batch512_lr3e-3"}
CNN_ROWS = {
    ("cnn", "the CNN's recipe"),
    ("improved", "equal epochs"),
    ("cnn", "equal epochs"),
    ("improved", "equal time"),
    ("cnn_pooling", "candidate"),
    ("cnn_one_conv", "candidate"),
    ("cnn_keras_io", "candidate"),
}


def check_section(section: str, path=None) -> None:
    """What the notebooks read from ``section``: every expected model, each over 3 or more seeds."""
    runs = benchmark_runs(section, path)
    assert len(runs) and "quick" not in runs.attrs["measured"], runs.attrs["measured"]
    if section == "gate":
        assert runs["seed"].nunique() >= 3
        for column in ("test_digits_refused", "test_not_digits_refused"):
            assert runs[column].between(0, 1).all(), runs[column]
        assert (runs["seconds"] > 0).all()
        return
    if section == "steps":
        assert set(runs["model"]) == STEPS_MODELS
        seeds = runs.groupby("model")["seed"].nunique()
    else:
        rows = {(m, b) for m, b in zip(runs["model"], runs["budget"], strict=True)}
        assert rows == CNN_ROWS, rows
        recipe = runs[runs["budget"] == "the CNN's recipe"]
        assert set(recipe["epochs"]) == {CNN_EPOCHS}, recipe["epochs"]
        equal = runs[runs["budget"] == "equal epochs"].groupby("model")["epochs"].unique()
        assert len(equal["cnn"]) == 1 and list(equal["cnn"]) == list(equal["improved"])  # the same epochs
        seeds = runs.groupby(["model", "budget"])["seed"].nunique()
    assert (seeds >= 3).all(), seeds
    assert runs["val_accuracy"].between(0.9, 1).all() and runs["test_accuracy"].between(0.9, 1).all()


def test_the_section_checks_accept_results_shaped_as_bench_writes_them(tmp_path):
    results = _all_sections()
    for section in ("steps", "cnn", "gate"):  # 3 seeds, as the committed results need
        s = results[section]
        for spec in s.get("rows") or s.get("models", {}).values():
            spec["runs"].append(spec["runs"][-1] | {"seed": 2})
        if section == "gate":
            s["runs"] = [*GATE_RUNS, GATE_RUNS[-1] | {"seed": 2}]
    path = _write(tmp_path, results)
    for section in ("steps", "cnn", "gate"):
        check_section(section, path)
    results["cnn"]["rows"].pop(3)  # no "equal time" row
    with pytest.raises(AssertionError):
        check_section("cnn", _write(tmp_path, results))
    results["steps"]["models"]["batch512"]["runs"].pop()  # 2 seeds only
    with pytest.raises(AssertionError):
        check_section("steps", _write(tmp_path, results))


@pytest.mark.parametrize("section", ["steps", "cnn", "gate"])
def test_the_committed_results_hold_each_new_section_the_notebooks_read(section):
    results = json.loads(BENCHMARK_RESULTS.read_text(encoding="utf-8"))
    assert results.get("accuracy"), "the committed results need the accuracy section"
    if section not in results:
        pytest.skip(f"{section} not measured yet: python benchmarks/bench.py --only {section}")
    check_section(section)


def test_the_committed_accuracy_runs_are_there_for_a_test_over_seeds():
    runs = benchmark_runs("accuracy")
    assert list(dict.fromkeys(runs["model"])) == [*NOTEBOOK_04, "cnn"]
    assert (runs.groupby("model")["seed"].nunique() >= 3).all()
    assert "quick" not in runs.attrs["measured"] and runs["val_accuracy"].between(0.97, 1).all()
