"""helpers.training.benchmark_runs: the benchmark's results as the notebooks read them (test_bench_report's data)."""

from __future__ import annotations

import helpers  # noqa: F401  (quiet TensorFlow first: helpers.training imports keras)
from helpers import training
from helpers.models import CNN_BODIES
from helpers.results import NAMES, RESULTS, label
from helpers.training import benchmark_runs, train_val_split

import importlib
import json
import re

import numpy as np
import pytest
import tomllib
from test_bench_report import CNN_ROWS, REPO, synthetic_results

RUN = ["seed", "val_accuracy", "test_accuracy", "train_seconds", "epoch_seconds"]
CANDIDATES = {f"cnn_{body}" for body in CNN_BODIES if body != "strided"}


def test_runs_are_one_row_per_model_and_seed_with_the_models_names(tmp_path):
    results = synthetic_results()
    results["gate"]["quick"] = True
    (path := tmp_path / "results.json").write_text(json.dumps(results))
    runs = benchmark_runs("accuracy", path)
    assert list(runs.columns) == ["model", "label", "epochs", "batch_size", "parameters", *RUN]
    assert list(runs["model"]) == [m for m in ("baseline", "seed_improved", "schedule", "improved") for _ in "abc"]
    assert list(runs["label"]) == [label(m) for m in runs["model"]] and list(runs["seed"]) == [0, 1, 2] * 4
    improved = runs[runs["model"] == "improved"]
    assert list(improved["val_accuracy"]) == [0.987, 0.989, 0.988] and set(improved["batch_size"]) == {512}
    steps = benchmark_runs("steps", path)
    assert list(steps["label"]) == ["+ batch 512"] * 3 + ["+ peak rate 0.003"] * 3 and "budget" not in steps
    cnn = benchmark_runs("cnn", path)
    assert list(cnn.columns) == ["model", "label", "epochs", "batch_size", "parameters", "budget", *RUN]
    firsts = cnn[cnn["seed"] == 0][["label", "epochs", "budget"]].to_numpy().tolist()
    assert firsts == [[label(model), epochs, budget] for model, epochs, budget, *_ in CNN_ROWS]
    gate = benchmark_runs("gate", path)
    assert gate.to_dict("records") == results["gate"]["runs"]
    assert runs.attrs["measured"] == cnn.attrs["measured"] == "2030-01-02"
    assert gate.attrs["measured"] == "2030-01-02 (quick run: not representative)"


def test_a_missing_file_or_section_says_what_to_run(tmp_path):
    path, results = tmp_path / "results.json", synthetic_results()
    remeasure = r"run `make bench` \(or `python benchmarks/bench.py --only cnn`\)"
    with pytest.raises(FileNotFoundError, match=r"results\.json not found: " + remeasure):
        benchmark_runs("cnn", path)
    for damage in (lambda: results["cnn"].update(seeds=[]), lambda: results.pop("cnn")):
        damage()
        path.write_text(json.dumps(results))
        with pytest.raises(ValueError, match=r"has no 'cnn' section measured over seeds: " + remeasure):
            benchmark_runs("cnn", path)


def test_every_model_has_a_name_of_its_own():
    assert set(NAMES) >= CANDIDATES and len(set(NAMES.values())) == len(NAMES)


@pytest.mark.parametrize("section", ["accuracy", "steps", "cnn", "gate"])
def test_the_packaged_results_hold_what_the_notebooks_read(section):
    """Notebooks 04, 05, 07 and 08 read the file shipped inside helpers/, so an installed course has it too."""
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert RESULTS.parent == REPO / "helpers" and RESULTS.name in package_data["helpers"]
    runs = benchmark_runs(section)  # the default file
    assert "quick" not in runs.attrs["measured"]
    by = {"accuracy": ["model"], "steps": ["model"], "cnn": ["model", "budget"]}.get(section, [])
    assert (runs.groupby(by)["seed"].nunique() >= 3).all() if by else runs["seed"].nunique() >= 3  # for a t-test
    if section == "cnn":  # every candidate the CNN was chosen from, and every budget
        assert set(runs.loc[runs["budget"] == "candidate", "model"]) == CANDIDATES
        assert set(runs["budget"]) == {"the CNN's recipe", "equal epochs", "equal time", "candidate"}


def test_the_notebooks_imports_from_helpers_training_still_resolve():
    imported = []
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        for names in re.findall(r"from helpers\.training import ([\w, ]+)", path.read_text(encoding="utf-8")):
            imported += [name.strip() for name in names.split(",")]
    assert {"EpochTimer", "benchmark_runs", "train_val_split"} <= set(imported)
    assert [name for name in imported if not hasattr(training, name)] == []


def test_bare_keras_splits_and_scales_as_the_notebooks_do():
    bare_keras = importlib.import_module("bare_keras")  # benchmarks/ is on the path (test_bench_report)
    x = np.random.default_rng(0).integers(0, 256, size=(10_050, 2, 2), dtype=np.uint8)
    y = np.arange(10_050) % 10
    (x_train, y_train), (x_val, y_val) = train_val_split(x, y)  # the notebooks: split, then scale
    for n_train in (None, 20):
        want = [x_train[:n_train].astype("float32") / 255.0, y_train[:n_train], x_val.astype("float32") / 255.0, y_val]
        (bare_x, bare_y), (bare_x_val, bare_y_val) = bare_keras.split_and_scale(x, y, n_train)
        for got, expected in zip([bare_x, bare_y, bare_x_val, bare_y_val], want, strict=True):
            assert got.dtype == expected.dtype and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)
        assert len(bare_x) == (n_train or 50) and len(bare_x_val) == 10_000
