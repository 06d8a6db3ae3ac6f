"""benchmarks/: report.py on a small hand-made results set, bench.py's results file, bare_keras.py's split.

No training: every number here is computed from the synthetic results below. (report.py imports
helpers.training for the models' names, and so Keras.)
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


def _row(model, epochs, budget, parameters, val) -> dict:
    """A row of the cnn section as bench_cnn writes it: the worker's result and its budget."""
    spec = _model(parameters, 512, val, [v + 0.001 for v in val])
    return {"model": model, **spec, "epochs": epochs, "budget": budget}


# Validation accuracies of the new sections, each against the one it is compared with (Welch, 3 seeds each):
# batch512 - baseline: -0.40 points, t -4.9, df 4, p 0.008; batch512_lr3e-3 - batch512: +0.02 points, p 0.819;
# schedule (no spread) - batch512_lr3e-3: +0.68, t 11.8, df 2, p 0.007; improved - schedule: +0.50, t 8.7, p 0.013.
STEPS = {"batch512": [0.975, 0.976, 0.977], "batch512_lr3e-3": [0.9752, 0.9772, 0.9762]}
# cnn 10 - improved 10: +0.40, p 0.008; cnn 20 - improved "equal time": +0.30, t 3.7, p 0.021;
# pooling - cnn 10: +0.02, p 0.819 (no); one_conv: -0.60, t -7.3, p 0.002; keras_io: -0.20, t -2.4, p 0.071 (no).
CNN_ROWS = [
    ("cnn", 20, "the CNN's recipe", 422_154, [0.992, 0.993, 0.994]),
    ("improved", 10, "equal epochs", 669_706, [0.987, 0.988, 0.989]),
    ("cnn", 10, "equal epochs", 422_154, [0.991, 0.992, 0.993]),
    ("improved", 30, "equal time", 669_706, [0.989, 0.990, 0.991]),
    ("cnn_pooling", 10, "candidate", 422_154, [0.9912, 0.9932, 0.9922]),
    ("cnn_one_conv", 10, "candidate", 805_066, [0.985, 0.986, 0.987]),
    ("cnn_keras_io", 10, "candidate", 34_826, [0.989, 0.990, 0.991]),
]
GATE = [(0.512, 0.004, 0.95, 30.0), (0.498, 0.006, 0.97, 32.0), (0.505, 0.005, 0.96, 31.0)]
SAMPLES = {"train_samples": 50_000, "validation_samples": 10_000, "test_samples": 10_000}


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
        "steps": _section(
            settings={"seeds": [0, 1, 2], "n_train": None},
            seeds=[0, 1, 2],
            **SAMPLES,
            models={k: {"model": k} | _model(669_706, 512, v, [x + 0.001 for x in v]) for k, v in STEPS.items()},
        ),
        "cnn": _section(
            settings={"seeds": [0, 1, 2], "epochs": 10, "n_train": None},
            seeds=[0, 1, 2],
            **SAMPLES,
            rows=[_row(*row) for row in CNN_ROWS],
        ),
        "gate": _section(
            settings={"seeds": [0, 1, 2], "n_train": None},
            seeds=[0, 1, 2],
            test_not_digits=2_000,
            test_digits=10_000,
            runs=[
                {"seed": i, "threshold": t, "test_digits_refused": d, "test_not_digits_refused": n, "seconds": s}
                for i, (t, d, n, s) in enumerate(GATE)
            ],
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
    assert list(facts[0]) == ["fact", *report.SECTIONS]
    assert report.SECTIONS == ("notebooks", "efficiency", "batch_size", "accuracy", "steps", "cnn", "gate")
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
    assert list(merged) == ["schema", "quick", "machine", *report.SECTIONS]
    assert merged == results
    assert (tmp_path / "results.md").read_text() == report.results_md(results)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "results.md"]  # no temp files left


# ------------------------------------------------------------------ which differences are beyond the noise

COMPARISON_COLUMNS = [
    "comparison",
    "val_accuracy difference",
    "Welch t",
    "df",
    "p",
    "significant (p < 0.05)",
]


def welch(row: dict) -> list[str]:
    return [row[c] for c in COMPARISON_COLUMNS[1:]]


def _runs(val, test=None) -> list[dict]:
    return [{"seed": i, "val_accuracy": v, "test_accuracy": (test or val)[i]} for i, v in enumerate(val)]


def test_a_significance_row_is_b_minus_a_with_welchs_numbers():
    far = report.significance(("A", _runs([0.900, 0.901, 0.902])), ("B", _runs([0.990, 0.991, 0.992])))
    assert list(far) == COMPARISON_COLUMNS
    # t = 0.09 / sqrt(2 · 0.001² / 3) = 110.2, df = 4: p is about 4e-8
    assert far == {
        "comparison": "B minus A",
        "val_accuracy difference": "+9.00 points",
        "Welch t": "110.2",
        "df": "4.0",
        "p": "< 0.001",
        "significant (p < 0.05)": "yes",
    }
    back = report.significance(("B", _runs([0.990, 0.991, 0.992])), ("A", _runs([0.900, 0.901, 0.902])))
    assert welch(back) == ["-9.00 points", "-110.2", "4.0", "< 0.001", "yes"]
    same = report.significance(("A", _runs([0.979, 0.981, 0.980])), ("B", _runs([0.979, 0.981, 0.980])))
    assert welch(same) == ["+0.00 points", "0.0", "4.0", "1.000", "no"]
    on_test = report.significance(
        ("A", _runs([0.97, 0.98], [0.950, 0.952])), ("B", _runs([0.97, 0.98], [0.960, 0.962])), metric="test_accuracy"
    )
    assert on_test["test_accuracy difference"] == "+1.00 points" and on_test["Welch t"] == "7.1"
    assert on_test["significant (p < 0.05)"] == "yes" and "val_accuracy difference" not in on_test


@pytest.mark.parametrize(
    ("p", "shown", "significant"),
    [(0.0004, "< 0.001", "yes"), (0.001, "0.001", "yes"), (0.0126, "0.013", "yes"), (0.05, "0.050", "no")],
)
def test_p_has_three_decimals_and_below_0_001_says_so(monkeypatch, p, shown, significant):
    monkeypatch.setattr(report, "compare_seeds", lambda a, b: {"difference": 0.001, "t": 2.0, "df": 3.5, "p": p})
    row = report.significance(("A", _runs([0.97, 0.98])), ("B", _runs([0.97, 0.98])))
    assert welch(row) == ["+0.10 points", "2.0", "3.5", shown, significant]


def test_the_accuracy_block_says_which_differences_are_beyond_the_noise(results):
    md = section(report.results_md(results), "Accuracy over seeds: the README's block")
    accuracy, tests = tables(md)
    assert len(accuracy) == 4
    assert list(tests[0]) == COMPARISON_COLUMNS
    assert {row["comparison"]: welch(row) for row in tests} == {
        "seed 'improved' minus baseline": ["-0.30 points", "-3.7", "4.0", "0.021", "yes"],
        "+ schedule minus baseline": ["+0.30 points", "5.2", "2.0", "0.035", "yes"],  # no spread on one side: df 2
        "+ shifts (improved) minus + schedule": ["+0.50 points", "8.7", "2.0", "0.013", "yes"],
    }
    assert "| comparison" not in report.readme_block(results)  # the README keeps its one table
    cnn = {"cnn": _model(422_154, 512, [0.988, 0.989, 0.987], [0.992, 0.993, 0.993])}  # as good as improved
    results["accuracy"]["models"] |= cnn
    tests = tables(section(report.results_md(results), "Accuracy over seeds: the README's block"))[1]
    assert welch(tests[-1]) == ["+0.00 points", "0.0", "4.0", "1.000", "no"] and tests[-1]["comparison"] == (
        "CNN minus + shifts (improved)"
    )


def test_steps_add_each_change_in_turn_and_test_each_against_the_one_before(results):
    rows, tests = tables(section(report.results_md(results), "steps"))
    assert list(rows[0]) == ["model", "parameters", "training", "validation accuracy", "seeds", "time per training"]
    assert [(r["model"], r["training"], r["validation accuracy"]) for r in rows] == [
        ("baseline", "10 epochs, batch 128", "98.00% ± 0.10%"),  # from the accuracy section
        ("+ batch 512", "10 epochs, batch 512", "97.60% ± 0.10%"),
        ("+ peak rate 0.003", "10 epochs, batch 512", "97.62% ± 0.10%"),
        ("+ schedule", "10 epochs, batch 512", "98.30% ± 0.00%"),  # from the accuracy section
        ("+ shifts (improved)", "10 epochs, batch 512", "98.80% ± 0.10%"),
    ]
    assert {r["seeds"] for r in rows} == {"3"} and {r["time per training"] for r in rows} == {"41.0 s"}
    assert [[r["comparison"], *welch(r)] for r in tests] == [
        ["+ batch 512 minus baseline", "-0.40 points", "-4.9", "4.0", "0.008", "yes"],
        ["+ peak rate 0.003 minus + batch 512", "+0.02 points", "0.2", "4.0", "0.819", "no"],
        ["+ schedule minus + peak rate 0.003", "+0.68 points", "11.8", "2.0", "0.007", "yes"],
        ["+ shifts (improved) minus + schedule", "+0.50 points", "8.7", "2.0", "0.013", "yes"],
    ]


def test_steps_without_the_accuracy_section_compare_their_own_two_models(results):
    del results["accuracy"]
    rows, tests = tables(section(report.results_md(results), "steps"))
    assert [r["model"] for r in rows] == ["+ batch 512", "+ peak rate 0.003"]
    assert [r["comparison"] for r in tests] == ["+ peak rate 0.003 minus + batch 512"]


def test_cnn_compares_equal_epochs_equal_time_and_the_candidates(results):
    rows, tests = tables(section(report.results_md(results), "cnn"))
    assert list(rows[0]) == [
        "model",
        "budget",
        "parameters",
        "training",
        "validation accuracy",
        "seeds",
        "time per training",
    ]
    assert [(r["model"], r["budget"], r["parameters"], r["validation accuracy"]) for r in rows] == [
        ("CNN, 20 epochs", "the CNN's recipe", "422,154", "99.30% ± 0.10%"),
        ("+ shifts (improved), 10 epochs", "equal epochs", "669,706", "98.80% ± 0.10%"),
        ("CNN, 10 epochs", "equal epochs", "422,154", "99.20% ± 0.10%"),
        ("+ shifts (improved), 30 epochs", "equal time", "669,706", "99.00% ± 0.10%"),
        ("CNN, max pooling, 10 epochs", "candidate", "422,154", "99.22% ± 0.10%"),
        ("CNN, one convolution, 10 epochs", "candidate", "805,066", "98.60% ± 0.10%"),
        ("keras.io convnet, 10 epochs", "candidate", "34,826", "99.00% ± 0.10%"),
    ]
    assert rows[0]["training"] == "20 epochs, batch 512" and rows[3]["training"] == "30 epochs, batch 512"
    assert [[r["comparison"], *welch(r)] for r in tests] == [
        ["CNN, 10 epochs minus + shifts (improved), 10 epochs", "+0.40 points", "4.9", "4.0", "0.008", "yes"],
        ["CNN, 20 epochs minus + shifts (improved), 30 epochs", "+0.30 points", "3.7", "4.0", "0.021", "yes"],
        ["CNN, max pooling, 10 epochs minus CNN, 10 epochs", "+0.02 points", "0.2", "4.0", "0.819", "no"],
        ["CNN, one convolution, 10 epochs minus CNN, 10 epochs", "-0.60 points", "-7.3", "4.0", "0.002", "yes"],
        ["keras.io convnet, 10 epochs minus CNN, 10 epochs", "-0.20 points", "-2.4", "4.0", "0.070", "no"],
    ]


def test_cnn_leaves_out_the_comparisons_whose_rows_were_not_measured(results):
    results["cnn"]["rows"] = [r for r in results["cnn"]["rows"] if r["budget"] not in ("equal time", "candidate")]
    rows, tests = tables(section(report.results_md(results), "cnn"))
    assert len(rows) == 3
    assert [r["comparison"] for r in tests] == ["CNN, 10 epochs minus + shifts (improved), 10 epochs"]


def test_gate_is_the_mean_and_std_of_its_threshold_and_refusals(results):
    (row,) = tables(section(report.results_md(results), "gate"))[0]
    assert row == {
        "seeds": "3",
        "threshold (validation)": "0.505 ± 0.007",
        "test digits refused": "0.50% ± 0.10%",
        "test not-digits refused": "96.00% ± 1.00%",
        "time per training": "31.0 s",  # the median
    }
    assert report.mean_std([0.512, 0.498, 0.505], "{:.3f}".format) == "0.505 ± 0.007"
    assert report.mean_std([0.25], "{:.1f}".format) == "0.2 ± 0.0"


def test_missing_new_sections_say_how_to_measure_them(results):
    del results["steps"], results["cnn"], results["gate"]
    md = report.results_md(results)
    for name in ("steps", "cnn", "gate"):
        assert section(md, name).strip() == f"Not measured: `python benchmarks/bench.py --only {name}`."
    assert list(tables(section(md, "Machine facts"))[0][0]) == ["fact", *report.SECTIONS[:4]]


def test_a_quick_or_busy_new_section_is_flagged_in_its_own_section(results):
    results["cnn"]["quick"] = True
    results["gate"]["load_at_start"] = 1.5
    md = report.results_md(results)
    assert "**Quick run: not representative.**" in section(md, "cnn")
    assert "**Busy: load 1.5 on 2 cores at the start.**" in section(md, "gate")
    assert md.count("Quick run: not representative") == 1 and md.count("Busy") == 1
    assert "**Quick run (cnn): tiny settings, not representative.**" in report.readme_block(results)


# ------------------------------------------------------------------ bench.py: sections and workers


def test_bench_has_settings_and_a_measurement_for_every_section():
    assert set(bench.FULL) == set(report.SECTIONS)
    for name in report.SECTIONS:
        assert callable(getattr(bench, f"bench_{name}")), name
        quick = bench.FULL[name] | {k: v for k, v in bench.QUICK.items() if k in bench.FULL[name]}
        assert set(quick) == set(bench.FULL[name])
    for name in ("steps", "cnn", "gate"):
        assert len(bench.FULL[name]["seeds"]) >= 3, name  # enough seeds for a t-test
    assert bench.FULL["steps"]["seeds"] == bench.FULL["accuracy"]["seeds"]  # steps reuses accuracy's rows


class FakeRun:
    """Stands in for subprocess.run: records each command and writes ``result`` where the worker would."""

    def __init__(self, result=None, returncode=0):
        self.commands, self.result, self.returncode = [], result or {"ok": 1}, returncode

    def __call__(self, cmd, **kwargs):
        self.commands.append([str(c) for c in cmd])
        Path(cmd[-1]).write_text(json.dumps(self.result))
        return bench.subprocess.CompletedProcess(cmd, self.returncode, "", "worker's stderr")


def test_run_worker_gives_bare_keras_the_task_without_its_task_key(monkeypatch):
    fake = FakeRun()
    monkeypatch.setattr(bench.subprocess, "run", fake)
    task = {"task": "bare", "data": "mnist.npz", "seed": 42, "epochs": 6}
    assert bench.run_worker(task) == {"ok": 1}
    (cmd,) = fake.commands
    assert Path(cmd[1]).name == "bare_keras.py" and len(cmd) == 4
    assert json.loads(cmd[2]) == {"data": "mnist.npz", "seed": 42, "epochs": 6}  # bare_keras.train(**task)
    assert task["task"] == "bare"  # the caller's task is left as it was


@pytest.mark.parametrize("kind", ["series", "gate"])
def test_run_worker_gives_bench_its_task_with_the_task_key(monkeypatch, kind):
    fake = FakeRun()
    monkeypatch.setattr(bench.subprocess, "run", fake)
    task = {"task": kind, "seeds": [0, 1], "n_train": None}
    bench.run_worker(task)
    (cmd,) = fake.commands
    assert Path(cmd[1]).name == "bench.py" and cmd[2] == "--worker"
    assert json.loads(cmd[3]) == task and task["task"] == kind


def test_a_failing_worker_raises_with_its_exit_status(monkeypatch):
    monkeypatch.setattr(bench.subprocess, "run", FakeRun(returncode=3))
    with pytest.raises(bench.BenchError, match=r"bare_keras\.py .* failed \(exit 3\):\nworker's stderr"):
        bench.run_worker({"task": "bare", "seed": 1})


@pytest.mark.parametrize("kind", ["series", "gate"])
def test_the_worker_dispatches_by_task_and_writes_the_result(monkeypatch, tmp_path, kind):
    calls = []
    monkeypatch.setattr(bench, f"work_{kind}", lambda **kw: calls.append(kw) or {"done": kind})
    task = {"task": kind, "seeds": [0, 1], "n_train": 600}
    assert bench.main(["--worker", json.dumps(task), str(tmp_path / "out.json")]) == 0
    assert calls == [{"seeds": [0, 1], "n_train": 600}]
    assert json.loads((tmp_path / "out.json").read_text()) == {"done": kind}


def _fake_series(train_seconds, epoch_seconds):
    """A run_worker stand-in for series tasks: every seed takes these seconds; records the tasks."""
    tasks = []

    def run(task):
        tasks.append(task)
        epochs = task.get("epochs") or 10
        runs = [
            {"seed": s, "val_accuracy": 0.99, "test_accuracy": 0.99}
            | {
                "train_seconds": train_seconds[task["model"]],
                "epoch_seconds": [epoch_seconds.get(task["model"], 5.0)] * epochs,
            }
            for s in task["seeds"]
        ]
        facts = {"model": task["model"], "parameters": 1_000, "epochs": epochs, "batch_size": 512, **SAMPLES}
        return facts | {"runs": runs}

    return run, tasks


def test_bench_cnn_gives_the_mlp_as_many_epochs_as_one_cnn_training_takes(monkeypatch, results):
    cnn_models = ["cnn", "cnn_pooling", "cnn_one_conv", "cnn_keras_io"]
    run, tasks = _fake_series({"improved": 30.0} | dict.fromkeys(cnn_models, 70.0), {"improved": 3.0})
    monkeypatch.setattr(bench, "run_worker", run)
    data = bench.bench_cnn({"seeds": [0, 1, 2], "epochs": 10, "n_train": None})
    assert [(t["model"], t["epochs"]) for t in tasks] == [
        ("cnn", 20),
        ("improved", 10),
        ("cnn", 10),
        ("improved", 23),  # 70 s per CNN training / 3 s per MLP epoch = 23.3
        ("cnn_pooling", 10),
        ("cnn_one_conv", 10),
        ("cnn_keras_io", 10),
    ]
    assert all(t["task"] == "series" and t["seeds"] == [0, 1, 2] for t in tasks)
    budgets = ["the CNN's recipe", "equal epochs", "equal epochs", "equal time", *["candidate"] * 3]
    assert [r["budget"] for r in data["rows"]] == budgets
    assert {k: data[k] for k in SAMPLES} == SAMPLES and not any(k in r for r in data["rows"] for k in SAMPLES)
    results["cnn"] = data | {k: results["cnn"][k] for k in ("quick", "machine", "load_at_start")}
    tests = tables(section(report.results_md(results), "cnn"))[1]
    assert tests[1]["comparison"] == "CNN, 20 epochs minus + shifts (improved), 23 epochs"


def test_bench_steps_trains_the_two_new_steps_with_their_notebook_recipe(monkeypatch):
    run, tasks = _fake_series(dict.fromkeys(["batch512", "batch512_lr3e-3"], 20.0), {})
    monkeypatch.setattr(bench, "run_worker", run)
    data = bench.bench_steps({"seeds": [0, 1], "n_train": 6000})
    assert tasks == [
        {"task": "series", "model": "batch512", "seeds": [0, 1], "n_train": 6000},
        {"task": "series", "model": "batch512_lr3e-3", "seeds": [0, 1], "n_train": 6000},
    ]
    assert list(data["models"]) == ["batch512", "batch512_lr3e-3"] and data["seeds"] == [0, 1]
    assert {k: data[k] for k in SAMPLES} == SAMPLES


def test_bench_gate_runs_one_gate_worker(monkeypatch):
    tasks = []
    monkeypatch.setattr(bench, "run_worker", lambda t: tasks.append(t) or {"test_digits": 10_000, "runs": []})
    data = bench.bench_gate({"seeds": [0, 1, 2], "n_train": None})
    assert tasks == [{"task": "gate", "seeds": [0, 1, 2], "n_train": None}]
    assert data["test_digits"] == 10_000 and data["seeds"] == [0, 1, 2]


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
