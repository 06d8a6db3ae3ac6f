"""benchmarks/: report.py on a small hand-made results set, bench.py's results file, bare_keras.py's split.

No training and no TensorFlow: every number here is computed from the synthetic results below.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
report = importlib.import_module("report")
bench = importlib.import_module("bench")
bare_keras = importlib.import_module("bare_keras")

MACHINE = {"cpu_model": "Test CPU", "cpu_count": 2, "cpus_usable": 2, "ram_gb": 8.0, "os": "Linux 6.0 (x86_64)"}
MACHINE |= {
    "python": "3.11.7",
    "tensorflow": "2.99.0",
    "keras": "3.99.1",
    "numpy": "2.9.0",
    "date": "2030-01-02T03:04:05",
}


def _section(**data) -> dict:
    return {"quick": False, "machine": dict(MACHINE), "load_at_start": 0.1, "wall_seconds": 100.0, **data}


def _model(parameters, batch_size, val, test) -> dict:
    """Seeds 0, 1, 2 with these accuracies; 40, 41, 42 s per training; 5 s per epoch after the first."""
    runs = [
        {"seed": i, "val_accuracy": v, "test_accuracy": t, "train_seconds": 40.0 + i, "epoch_seconds": [9.0, 5.0, 5.0]}
        for i, (v, t) in enumerate(zip(val, test, strict=True))
    ]
    return {"parameters": parameters, "epochs": 10, "batch_size": batch_size, "runs": runs}


@pytest.fixture
def results() -> dict:
    """Series 5 min 20 s (misses 5 min), baseline 98.10% (misses 98.2%), improved 98.90% (meets), overhead 1.025."""
    seconds = {"01_a.ipynb": [10.0, 12.0, 11.0], "02_b.ipynb": [60.0, 58.0, 62.0], "03_c.ipynb": [250.0, 240.0, 260.0]}
    batch_runs = [(512, 98, 2.0, 0.9781, 0.9790), (32, 1563, 12.0, 0.9799, 0.9805), (128, 391, 5.0, 0.9818, 0.9812)]
    return {
        "schema": 2,
        "quick": False,
        "machine": dict(MACHINE),
        "notebooks": _section(settings={"runs": 3}, seconds=seconds, failures=[]),
        "efficiency": _section(
            parameters=669_706,
            epochs=3,
            batch_size=128,
            seed=42,
            train_samples=50_000,
            validation_samples=10_000,
            order=["series", "bare", "bare", "series"],
            series=[{"epoch_seconds": [9.0, 4.1, 4.1]}, {"epoch_seconds": [9.0, 4.1, 4.1]}],
            bare=[{"epoch_seconds": [9.0, 4.0, 4.0]}, {"epoch_seconds": [9.0, 3.9, 4.1]}],
        ),
        "batch_size": _section(
            seed=42,
            epochs=10,
            train_samples=50_000,
            runs=[
                {"batch_size": b, "steps_per_epoch": n, "val_accuracy": val, "test_accuracy": test}
                | {"train_seconds": 10 * s, "epoch_seconds": [s + 2, s, s]}
                for b, n, s, val, test in batch_runs
            ],
        ),
        "accuracy": _section(
            seeds=[0, 1, 2],
            train_samples=50_000,
            validation_samples=10_000,
            test_samples=10_000,
            models={
                "baseline": _model(669_706, 128, [0.979, 0.980, 0.981], [0.980, 0.981, 0.982]),
                "seed_improved": _model(407_050, 128, [0.976, 0.978, 0.977], [0.978, 0.979, 0.977]),
                "schedule": _model(669_706, 512, [0.983, 0.983, 0.983], [0.984, 0.985, 0.986]),
                "improved": _model(669_706, 512, [0.987, 0.989, 0.988], [0.988, 0.989, 0.990]),
            },
        ),
    }


def tables(markdown: str) -> list[list[dict]]:
    """Every pipe table in ``markdown``: one dict per row, keyed by the header's cells."""
    found, block = [], []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif block:
            assert set("".join(block[1])) <= set(":-"), f"the second line of a table is its rule: {block[1]}"
            found.append([dict(zip(block[0], row, strict=True)) for row in block[2:]])
            block = []
    return found


def section(markdown: str, title: str) -> str:
    """The text under ``## title``, up to the next heading of that level."""
    return markdown.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


# ------------------------------------------------------------------ numbers


def test_seconds_per_epoch_skip_the_first_and_accuracy_is_mean_and_sample_std():
    assert report.per_epoch([9.0, 4.0, 5.0, 6.0]) == 5.0
    assert report.per_epoch([3.0]) == 3.0
    assert report.mean_std([0.980, 0.981, 0.982]) == "98.10% ± 0.10%"
    assert report.mean_std([0.99]) == "99.00% ± 0.00%"
    assert report.spread([12.0, 10.0, 11.0]) == "11.0 s (10.0 s–12.0 s, 3 runs)"
    assert [report.minutes(s) for s in (45.2, 300, 320.4)] == ["45 s", "5 min 00 s", "5 min 20 s"]


def test_targets_say_met_or_missed_by_how_much(results):
    rows = tables(section(report.results_md(results), "Targets (reported, not enforced)"))[0]
    assert [list(row.values()) for row in rows] == [
        ["notebooks 01–06 run time", "≤ 6 min 00 s", "5 min 20 s", "met"],
        ["notebook 03 run time", "≤ 90.0 s", "250 s", "missed by 160 s"],
        ["baseline: mean test accuracy", "≥ 98.20%", "98.10%", "missed by 0.10%"],
        ["improved: mean test accuracy", "≥ 98.70%", "98.90%", "met"],
        ["cnn: mean test accuracy", "≥ 99.30%", "–", "not measured"],
        ["cnn: one training", "≤ 120 s", "–", "not measured"],
        ["helpers overhead: s/epoch series / bare", "≤ 1.050", "1.025", "met"],
    ]
    cnn = {"cnn": _model(422_154, 512, [0.993, 0.994, 0.993], [0.992, 0.993, 0.993])}  # 40, 41, 42 s
    with_cnn = results | {"accuracy": results["accuracy"] | {"models": results["accuracy"]["models"] | cnn}}
    rows = tables(section(report.results_md(with_cnn), "Targets (reported, not enforced)"))[0]
    assert [list(row.values()) for row in rows][4:6] == [
        ["cnn: mean test accuracy", "≥ 99.30%", "99.27%", "missed by 0.03%"],
        ["cnn: one training", "≤ 120 s", "41.0 s", "met"],
    ]


def test_a_failed_notebook_run_is_listed_and_left_out_of_the_series_total(results):
    results["notebooks"]["failures"] = [{"run": 2, "notebook": "03_c.ipynb", "error": "CellExecutionError"}]
    assert report.series_totals(results["notebooks"]) == [320.0, 333.0]
    rows = tables(section(report.results_md(results), "notebooks"))[0]
    assert rows[-2] == {"notebook": "whole series", "seconds": "5 min 26 s (5 min 20 s–5 min 33 s, 2 runs)"}
    assert rows[-1] == {"notebook": "03_c.ipynb FAILED in run 2", "seconds": "CellExecutionError"}


def test_every_section_has_its_table_with_the_numbers(results):
    md = report.results_md(results)
    notebooks = tables(section(md, "notebooks"))[0]
    assert [row["notebook"] for row in notebooks] == ["01_a.ipynb", "02_b.ipynb", "03_c.ipynb", "whole series"]
    assert notebooks[0]["seconds"] == "11.0 s (10.0 s–12.0 s, 3 runs)"
    assert notebooks[-1]["seconds"] == "5 min 20 s (5 min 10 s–5 min 33 s, 3 runs)"
    efficiency = tables(section(md, "efficiency"))[0]
    assert [row["path"] for row in efficiency] == ["series", "bare"]
    assert efficiency[0]["s/epoch"] == "4.10 s (4.10 s–4.10 s, 2 runs)"
    assert efficiency[0]["GFLOP/s"] == f"{6 * 669_706 * 50_000 / 4.1 / 1e9:.1f}" == "49.0"
    assert efficiency[1]["GFLOP/s"] == "50.2"  # median of 4.0 and 4.0 s per epoch
    batch = tables(section(md, "batch_size"))[0]
    assert list(batch[0]) == ["batch_size", "steps_per_epoch", "s/epoch", "val_accuracy", "test_accuracy"]
    assert [row["batch_size"] for row in batch] == ["32", "128", "512"]
    assert batch[0] == {
        "batch_size": "32",
        "steps_per_epoch": "1563",
        "s/epoch": "12.0 s",
        "val_accuracy": "97.99%",
        "test_accuracy": "98.05%",
    }
    facts = tables(section(md, "Machine facts"))[0]
    assert list(facts[0]) == ["fact", "notebooks", "efficiency", "batch_size", "accuracy"]
    assert {row["fact"]: row["accuracy"] for row in facts}["cpu_model"] == "Test CPU"


def test_readme_block_is_the_accuracy_table_and_the_series_time(results):
    block = report.readme_block(results)
    assert block.startswith("**What to expect**: measured by `make bench` on Test CPU (2 cores), 2030-01-02;")
    assert "TensorFlow 2.99.0, Keras 3.99.1, backend tensorflow (details: [results.md](benchmarks/results.md))" in block
    accuracy = results["accuracy"] | {"machine": results["accuracy"]["machine"] | {"keras_backend": "jax"}}
    jax = report.readme_block(results | {"accuracy": accuracy})  # the accuracy table's machine and date
    assert "Keras 3.99.1, backend jax (details" in jax
    rows = tables(block)[0]
    assert list(rows[0]) == [
        "model",
        "parameters",
        "training",
        "validation accuracy",
        "test accuracy",
        "time per training",
    ]
    assert [row["model"] for row in rows] == [
        report.LABELS[k] for k in ("baseline", "seed_improved", "schedule", "improved")
    ]
    assert rows[0] == {
        "model": "seed baseline (02)",
        "parameters": "669,706",
        "training": "10 epochs, batch 128",
        "validation accuracy": "98.00% ± 0.10%",
        "test accuracy": "98.10% ± 0.10%",
        "time per training": "41.0 s",
    }
    assert rows[2]["validation accuracy"] == "98.30% ± 0.00%"
    assert "Mean ± std over 3 seeds; trained on the first 50,000, validated on the last 10,000 images." in block
    assert block.endswith(
        "(5 min 10 s–5 min 33 s, 3 runs); target ≤ 6 min 00 s. Notebook 03 alone: 250 s; target ≤ 90.0 s."
    )


def test_the_going_further_notebooks_are_judged_one_by_one(results):
    results["notebooks"]["seconds"] |= {"07_d.ipynb": [120.0, 130.0, 125.0], "08_e.ipynb": [150.0, 170.0, 160.0]}
    judged = {row["target"]: (row["measured"], row["result"]) for row in report.targets(results)}
    assert judged["notebooks 01–06 run time"] == ("5 min 20 s", "met")  # 07 and 08 are not in it
    assert judged["notebook 03 run time"] == ("250 s", "missed by 160 s")  # in it, and judged on its own too
    assert judged["notebook 07 run time"] == ("125 s", "met")
    assert judged["notebook 08 run time"] == ("160 s", "missed by 10.0 s")
    block = report.readme_block(results)
    assert 'Notebooks 01, 02, 03, headless "Run All": 5 min 20 s' in block
    assert block.endswith("Going further, median: 07 125 s, 08 160 s; target ≤ 150 s each.")
    assert report.series_totals(results["notebooks"]) == [590.0, 610.0, 618.0]  # the whole table's total


def test_missing_sections_say_how_to_measure_them(results):
    del results["accuracy"], results["efficiency"]
    md = report.results_md(results)
    assert "Not measured: `python benchmarks/bench.py --only efficiency`." in section(md, "efficiency")
    results_by_target = {row["target"]: row["result"] for row in report.targets(results)}
    assert results_by_target["baseline: mean test accuracy"] == "not measured"
    assert results_by_target["helpers overhead: s/epoch series / bare"] == "not measured"
    assert "| model" not in report.readme_block(results)


def test_a_busy_machine_is_flagged_in_its_section_only(results):
    assert "Busy" not in report.results_md(results)
    results["batch_size"]["load_at_start"] = 1.5
    md = report.results_md(results)
    assert "**Busy: load 1.5 on 2 cores at the start.**" in section(md, "batch_size")
    assert md.count("Busy") == 1


# ------------------------------------------------------------------ quick runs


def test_a_quick_run_is_flagged_and_not_judged(results, tmp_path):
    results["accuracy"]["quick"] = True
    md = report.results_md(results)
    assert "**Quick run (accuracy): tiny settings, not representative.**" in md
    judged = {row["target"]: row["result"] for row in report.targets(results)}
    assert judged["baseline: mean test accuracy"] == judged["improved: mean test accuracy"] == "quick run: not judged"
    assert judged["notebooks 01–06 run time"] == "met"
    readme = tmp_path / "README.md"
    readme.write_bytes(README.encode())
    with pytest.raises(report.ReportError, match=r"accuracy: from a --quick run.*--allow-quick"):
        report.update_readme(readme, results, tmp_path / "results.md")
    assert readme.read_bytes() == README.encode()
    assert report.update_readme(readme, results, tmp_path / "results.md", allow_quick=True)
    assert "**Quick run (accuracy)" in readme.read_text()


def test_bench_refuses_a_quick_run_over_full_results(results, tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps(results))
    with pytest.raises(SystemExit, match=r"holds full results for accuracy: use another --out"):
        bench.main(["--quick", "--only", "accuracy", "--out", str(tmp_path)])
    assert json.loads((tmp_path / "results.json").read_text()) == results


# ------------------------------------------------------------------ README block

README = "# Course\n\nIntro ✓\r\n\n<!-- bench:start -->\nold table\n<!-- bench:end -->\n\n## Next\ntail\n"


def test_readme_block_is_replaced_and_nothing_outside_it_changes(results, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_bytes(README.encode("utf-8"))
    assert report.update_readme(readme, results, tmp_path / "benchmarks" / "results.md") is True
    text = readme.read_bytes().decode("utf-8")
    head, tail = README.split("<!-- bench:start -->")[0], README.split("<!-- bench:end -->")[1]
    assert text.startswith(head + "<!-- bench:start -->\n**What to expect**")
    assert text.endswith("target ≤ 90.0 s.\n<!-- bench:end -->" + tail)
    assert "old table" not in text and "[results.md](benchmarks/results.md)" in text
    assert report.update_readme(readme, results, tmp_path / "benchmarks" / "results.md") is False
    assert readme.read_bytes().decode("utf-8") == text


@pytest.mark.parametrize(
    "text, message",
    [
        ("# no markers\n", "has 0 <!-- bench:start --> and 0 <!-- bench:end -->: it needs exactly one of each"),
        ("<!-- bench:start -->\n<!-- bench:start -->\n<!-- bench:end -->\n", "has 2 <!-- bench:start --> and 1"),
        ("<!-- bench:start -->\n<!-- bench:end -->\n<!-- bench:end -->\n", "and 2 <!-- bench:end -->"),
        ("<!-- bench:end -->\n<!-- bench:start -->\n", "<!-- bench:end --> comes before <!-- bench:start -->"),
    ],
)
def test_bad_markers_raise_a_clear_error_and_leave_the_file_alone(results, tmp_path, text, message):
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(report.ReportError, match=message):
        report.update_readme(readme, results, tmp_path / "results.md")
    assert readme.read_text() == text


# ------------------------------------------------------------------ results files


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found: run `make bench`"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is not a schema-2 results file"),
        ('{"schema": 1, "machine": {}, "accuracy": {"machine": {}}}', "is not a schema-2 results file"),
        ('{"schema": 2, "machine": {}}', "with measured sections"),
        ('{"schema": 2, "machine": {}, "accuracy": {"models": {}}}', "with measured sections"),
    ],
)
def test_bad_or_old_results_say_what_to_run(tmp_path, content, message):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(report.ReportError, match=message):
        report.load_results(path)
    assert report.main(["--results", str(path)]) == 1
    assert not (tmp_path / "results.md").exists()


def test_cli_writes_results_md_beside_the_results_and_the_readme_block(results, tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps(results))
    readme = tmp_path / "README.md"
    readme.write_text(README)
    assert report.main(["--results", str(tmp_path / "results.json"), "--readme", str(readme)]) == 0
    assert (tmp_path / "results.md").read_text() == report.results_md(results)
    assert tables(readme.read_text())[0][3]["test accuracy"] == "98.90% ± 0.10%"
    assert "updated" in capsys.readouterr().out
    assert report.main(["--results", str(tmp_path / "results.json"), "--readme", str(tmp_path / "nothing.md")]) == 1


def test_bench_merges_a_section_into_the_results_and_keeps_the_others(results, tmp_path):
    old = copy.deepcopy(results)
    del old["accuracy"]
    (tmp_path / "results.json").write_text(json.dumps(old))
    bench.save_section(tmp_path, "accuracy", results["accuracy"])
    merged = json.loads((tmp_path / "results.json").read_text())
    assert list(merged) == ["schema", "quick", "machine", "notebooks", "efficiency", "batch_size", "accuracy"]
    assert merged == results
    assert (tmp_path / "results.md").read_text() == report.results_md(results)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "results.md"]  # no temp files left


# ------------------------------------------------------------------ bare_keras.py


def test_bare_script_holds_back_the_last_10000_images_and_scales_to_0_1():
    x = np.arange(10_050 * 4, dtype=np.int64).reshape(10_050, 2, 2).astype(np.uint8)
    y = np.arange(10_050) % 10
    (x_train, y_train), (x_val, _) = bare_keras.split_and_scale(x, y)
    assert (x_train.shape, x_val.shape, x_train.dtype, x_val.dtype) == (
        (50, 2, 2),
        (10_000, 2, 2),
        "float32",
        "float32",
    )
    np.testing.assert_array_equal(x_val, x[-10_000:].astype("float32") / 255.0)
    np.testing.assert_array_equal(y_train, y[:50])
    assert x_train.max() <= 1.0 and x_val.max() == 1.0
    (x_small, y_small), (x_val_small, _) = bare_keras.split_and_scale(x, y, n_train=20)
    assert len(x_small) == len(y_small) == 20 and len(x_val_small) == 10_000
    np.testing.assert_array_equal(x_small, x_train[:20])


# ------------------------------------------------------------------ the committed files


def test_readme_block_and_results_md_are_the_ones_rendered_from_the_committed_results():
    results = report.load_results(report.RESULTS)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    regenerated = report.replace_block(readme, report.readme_block(results, "benchmarks/results.md"))
    assert regenerated == readme, (
        "README.md's bench block is stale: run `.venv/bin/python benchmarks/report.py --readme README.md`"
    )
    assert (REPO / "benchmarks" / "results.md").read_text(encoding="utf-8") == report.results_md(results), (
        "benchmarks/results.md is stale: run `.venv/bin/python benchmarks/report.py`"
    )
