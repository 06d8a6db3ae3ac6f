"""benchmarks/report.py on a small hand-made results set (no real timings, no TensorFlow)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

REPORT_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "report.py"


def _load_report():
    spec = importlib.util.spec_from_file_location("bench_report_under_test", REPORT_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


report = _load_report()

MACHINE = {
    "cpu_model": "Test CPU 9000",
    "cpu_count": 2,
    "cpus_usable": 2,
    "ram_gb": 8.0,
    "os": "Linux 6.0 (x86_64)",
    "python": "3.11.7",
    "tensorflow": "2.99.0",
    "keras": "3.99.1",
    "numpy": "2.9.0",
    "date": "2030-01-02T03:04:05+00:00",
}


def _model(parameters, epochs, batch_size, test_accuracies, val_accuracies):
    """One model of the accuracy section: seeds 0, 1, ... with these accuracies, 40 s, 41 s, ... per training."""
    return {
        "parameters": parameters,
        "epochs": epochs,
        "batch_size": batch_size,
        "runs": [
            {
                "seed": i,
                "val_accuracy": val,
                "test_accuracy": test,
                "train_seconds": 40.0 + i,
                "epoch_seconds": [9.0, 5.0, 5.0],
            }
            for i, (test, val) in enumerate(zip(test_accuracies, val_accuracies, strict=True))
        ],
    }


def _section(**data):
    return {"quick": False, "machine": dict(MACHINE), "load_at_start": 0.1, "wall_seconds": 100.0, **data}


@pytest.fixture
def results() -> dict:
    """Series 5 min 20 s (misses 5 min), baseline 98.10% (misses 98.2%), improved 98.90%, overhead 1.025."""
    return {
        "schema": 2,
        "quick": False,
        "machine": dict(MACHINE),
        "notebooks": _section(
            settings={"runs": 3},
            failures=[],
            seconds={
                "01_a.ipynb": [10.0, 12.0, 11.0],
                "02_b.ipynb": [60.0, 58.0, 62.0],
                "03_c.ipynb": [250.0, 240.0, 260.0],
            },
        ),
        "efficiency": _section(
            model="baseline",
            parameters=669_706,
            epochs=4,
            batch_size=128,
            seed=42,
            train_samples=50_000,
            validation_samples=10_000,
            order=["series", "bare", "bare", "series"],
            series=[
                {"epoch_seconds": [9.0, 4.0, 4.2, 4.1], "test_accuracy": 0.9801},
                {"epoch_seconds": [9.0, 4.1, 4.1, 4.1]},
            ],
            bare=[
                {"epoch_seconds": [9.0, 4.0, 4.0, 4.0], "test_accuracy": 0.9802},
                {"epoch_seconds": [9.0, 4.0, 3.9, 4.1]},
            ],
            roofline={"n": 2048, "seconds": [0.1, 0.09, 0.095], "blas": "testblas 1.0, 2 threads"},
        ),
        "batch_size": _section(
            model="baseline",
            seed=42,
            epochs=10,
            train_samples=50_000,
            validation_samples=10_000,
            runs=[
                {
                    "batch_size": 512,
                    "steps_per_epoch": 98,
                    "val_accuracy": 0.9781,
                    "test_accuracy": 0.9790,
                    "train_seconds": 25.0,
                    "epoch_seconds": [4.0, 2.0, 2.0],
                },
                {
                    "batch_size": 32,
                    "steps_per_epoch": 1563,
                    "val_accuracy": 0.9799,
                    "test_accuracy": 0.9805,
                    "train_seconds": 120.0,
                    "epoch_seconds": [14.0, 12.0, 12.0],
                },
                {
                    "batch_size": 128,
                    "steps_per_epoch": 391,
                    "val_accuracy": 0.9818,
                    "test_accuracy": 0.9812,
                    "train_seconds": 50.0,
                    "epoch_seconds": [7.0, 5.0, 5.0],
                },
            ],
        ),
        "accuracy": _section(
            seeds=[0, 1, 2],
            train_samples=50_000,
            validation_samples=10_000,
            test_samples=10_000,
            models={
                "baseline": _model(669_706, 10, 128, [0.980, 0.981, 0.982], [0.979, 0.980, 0.981]),
                "seed_improved": _model(407_050, 10, 128, [0.978, 0.979, 0.977], [0.976, 0.978, 0.977]),
                "schedule": _model(669_706, 10, 512, [0.984, 0.985, 0.986], [0.983, 0.983, 0.983]),
                "improved": _model(669_706, 10, 512, [0.988, 0.989, 0.990], [0.987, 0.989, 0.988]),
            },
        ),
    }


def _schema_1(results: dict) -> dict:
    """The same results as bench.py wrote them before the fixed split: Keras' validation_split=0.1."""
    results["schema"] = 1
    results["efficiency"].update(train_samples=54_000, validation_samples=6_000)
    results["batch_size"].update(train_samples=54_000)
    del results["batch_size"]["validation_samples"]
    for run in results["batch_size"]["runs"]:
        del run["val_accuracy"]
    accuracy = results["accuracy"]
    for key in ("train_samples", "validation_samples"):
        del accuracy[key]
    del accuracy["models"]["schedule"]
    for model in accuracy["models"].values():
        model.update(validation_split=0.1, train_samples=54_000, validation_samples=6_000)
        for run in model["runs"]:
            del run["val_accuracy"]
    return results


def _targets(results: dict) -> dict:
    return {t["name"].split(":")[0].split(" (")[0]: t for t in report.evaluate_targets(results)}


# ------------------------------------------------------------------ formatting


def test_median_and_range_formatting():
    assert report.fmt_median_range([12.0, 10.0, 11.0]) == "11.0 s (range 10.0 s–12.0 s, 3 runs)"
    assert report.fmt_median_range([4.214]) == "4.21 s (1 run)"
    assert (
        report.fmt_median_range([320, 310, 333], report.fmt_minutes)
        == "5 min 20 s (range 5 min 10 s–5 min 33 s, 3 runs)"
    )
    assert report.fmt_seconds(312.4) == "312 s" and report.fmt_seconds(62.34) == "62.3 s"
    assert report.fmt_minutes(45.2) == "45 s" and report.fmt_minutes(300) == "5 min 00 s"


def test_epoch_seconds_skip_the_first_epoch_and_accuracy_is_mean_and_sample_std():
    assert report.steady_epoch_seconds([9.0, 4.0, 5.0, 6.0]) == 5.0
    assert report.steady_epoch_seconds([3.0]) == 3.0
    assert report.fmt_mean_std([0.980, 0.981, 0.982]) == "98.10% ± 0.10%"
    assert report.fmt_mean_std([0.99]) == "99.00% ± 0.00%"


# ------------------------------------------------------------------ targets


def test_targets_say_met_or_missed_by_how_much_and_what_would_close_it(results):
    t = _targets(results)
    series = t["whole series run time"]
    assert series["met"] is False
    assert series["result"] == "missed by 20.0 s (7%)"
    assert "03_c.ipynb dominates: 250 s, 78% of the series" in series["note"]
    assert "8% less time in 03_c.ipynb" in series["note"]
    assert (
        "batch 512 where it trains at batch 128 (2.00 s instead of 5.00 s per epoch, "
        "validation accuracy 97.81% vs 98.18% with one seed)" in series["note"]
    )

    baseline = t["seed baseline"]
    assert baseline["measured"] == "98.10% ± 0.10% (3 seeds)"
    assert baseline["result"] == "missed by 0.10 pp"
    assert "1.0× its seed-to-seed std" in baseline["note"]
    assert "on the same 50,000 training images" in baseline["note"] and "60,000" not in baseline["note"]
    assert "(mean test accuracy here: 98.50% with the schedule alone, 98.90% with the shifts too)." in baseline["note"]

    assert t["improved"]["result"] == "met" and t["improved"]["met"] is True and t["improved"]["note"] == ""
    overhead = t["helpers overhead"]
    assert overhead["result"] == "met" and overhead["measured"].startswith("1.025 ")


def test_improved_miss_names_the_gap_and_remedies(results):
    results["accuracy"]["models"]["improved"] = _model(669_706, 10, 512, [0.985, 0.986, 0.987], [0.99] * 3)
    improved = _targets(results)["improved"]
    assert improved["result"] == "missed by 0.10 pp"
    assert "more epochs" in improved["note"] and "augmentation" in improved["note"]


def test_overhead_miss_consistent_across_pairs(results):
    results["efficiency"]["series"] = [{"epoch_seconds": [9.0, 4.4, 4.4]}, {"epoch_seconds": [9.0, 4.6, 4.6]}]
    overhead = _targets(results)["helpers overhead"]
    assert overhead["result"] == "missed by 7.5 pp (overhead 12.5% > 5%)"
    assert "Every pair is above the target (1.100–1.150)" in overhead["note"]
    assert "EpochTimer" in overhead["note"]


def test_overhead_miss_within_noise_says_so(results):
    results["efficiency"]["series"] = [{"epoch_seconds": [9.0, 4.0, 4.0]}, {"epoch_seconds": [9.0, 4.6, 4.6]}]
    overhead = _targets(results)["helpers overhead"]
    assert overhead["result"].startswith("missed by 2.5 pp")
    assert "within run-to-run noise" in overhead["note"] and "--only efficiency" in overhead["note"]


def test_overhead_met_by_median_but_not_by_every_pair_says_so(results):
    results["efficiency"]["series"] = [{"epoch_seconds": [9.0, 3.0, 3.0]}, {"epoch_seconds": [9.0, 4.6, 4.6]}]
    overhead = _targets(results)["helpers overhead"]
    assert overhead["met"] is True
    assert overhead["result"] == "met by the median, not by every pair"
    assert "range 0.750–1.150" in overhead["note"] and "no firm answer" in overhead["note"]


def test_missing_sections_and_quick_runs_are_not_judged(results):
    del results["accuracy"]
    results["notebooks"]["quick"] = True
    t = _targets(results)
    assert t["seed baseline"]["result"] == "not measured: run `python benchmarks/bench.py --only accuracy`"
    assert (
        t["whole series run time"]["result"] == "quick run: not evaluated" and t["whole series run time"]["met"] is None
    )
    md = report.render_results_md(results)
    assert "NOT representative" in md and "Quick smoke run** in: notebooks" in md


# ------------------------------------------------------------------ results.md


def test_results_md_has_machine_facts_and_every_table(results):
    md = report.render_results_md(results)
    assert (
        "Machine: Test CPU 9000, 2 logical cores, 8.0 GB RAM; Linux 6.0 (x86_64); Python 3.11.7, "
        "TensorFlow 2.99.0, Keras 3.99.1, NumPy 2.9.0; measured 2030-01-02." in md
    )
    assert "| cpu_model | Test CPU 9000 | Test CPU 9000 | Test CPU 9000 | Test CPU 9000 |" in md
    assert "| 01_a.ipynb | 11.0 s (range 10.0 s–12.0 s, 3 runs) |" in md
    assert "| **whole series** | 5 min 20 s (range 5 min 10 s–5 min 33 s, 3 runs) |" in md
    assert "| ratio series / bare (target ≤ 1.05) | 1.025 (single pairs 1.025–1.025) |" in md
    assert "49.0 GFLOP/s = 6 × 669,706 parameters × 50,000 images / 4.10 s" in md
    assert "| achieved / roofline | 25.7% |" in md  # 49.0 / 190.9 (2 × 2048³ / 0.09 s)
    assert "| test accuracy, series / bare (same seed: equal when both compute the same) | 98.01% / 98.02% |" in md
    assert "50,000 training images, validated on the last 10,000, seed 42" in md
    assert md.count("Validation on the fixed last 10,000 training images, as in the notebooks.") == 2
    assert "Measured before the fixed validation split" not in md
    assert (
        md.index("| 32 | 1563 | 12.0 s | 120 s | 97.99% | 98.05% |")
        < md.index("| 128 | 391 | 5.00 s |")
        < md.index("| 512 | 98 |")
    )
    accuracy = md.split("## Accuracy over seeds")[1]
    assert "on the first 50,000 training images, validated on the last 10,000" in accuracy
    assert "| seed baseline | 02 | 669,706 | 10 | 128 | 3 | 98.00% ± 0.10% | 98.10% ± 0.10% | 41.0 s | 5.00 s |" in (
        accuracy
    )
    assert "| model | seed 0 | seed 1 | seed 2 |" in accuracy
    assert "| baseline layers + schedule, batch 512 | 98.30% / 98.40% | 98.30% / 98.50% | 98.30% / 98.60% |" in (
        accuracy
    )
    assert (
        "| whole series run time | ≤ 5 min 00 s on 2 cores | 5 min 20 s (median of 3 runs) "
        "| missed by 20.0 s (7%) |" in md
    )


def test_a_busy_machine_is_flagged(results):
    assert "The machine was busy" not in report.render_results_md(results)
    results["accuracy"]["load_at_start"] = 1.5
    md = report.render_results_md(results)
    assert md.count("The machine was busy") == 1
    assert "load average 1.5 on 2 cores" in md.split("## Accuracy over seeds")[1]


# ------------------------------------------------------------------ README block

README = "# Course\n\nIntro line.\r\n\n<!-- bench:start -->\nold table\n<!-- bench:end -->\n\n## Next\ntail ✓\n"


def test_readme_block_is_replaced_idempotently_and_nothing_else_changes(results, tmp_path):
    readme, md = tmp_path / "README.md", tmp_path / "results.md"
    readme.write_bytes(README.encode("utf-8"))
    assert report.update_readme(readme, results, md) is True
    text = readme.read_bytes().decode("utf-8")
    before, after = README.split("<!-- bench:start -->")[0], README.split("<!-- bench:end -->")[1]
    assert text.startswith(before + "<!-- bench:start -->\n") and text.endswith("<!-- bench:end -->" + after)
    assert "old table" not in text
    assert "measured by `make bench` on Test CPU 9000 (2 cores), 2030-01-02" in text
    assert "(details: [results.md](results.md))" in text
    assert (
        "| model | parameters | training | validation accuracy | test accuracy | time per training |\n"
        "|---|---|---|---|---|---|\n"
        "| seed baseline (02) | 669,706 | 10 epochs, batch 128 | 98.00% ± 0.10% (3 seeds) "
        "| 98.10% ± 0.10% (3 seeds) | 41.0 s |\n"
        '| seed "improved" (03) | 407,050 | 10 epochs, batch 128 | 97.70% ± 0.10% (3 seeds) '
        "| 97.80% ± 0.10% (3 seeds) | 41.0 s |\n"
        "| baseline layers + schedule, batch 512 (03) | 669,706 | 10 epochs, batch 512 | 98.30% ± 0.00% (3 seeds) "
        "| 98.50% ± 0.10% (3 seeds) | 41.0 s |\n"
        "| improved: same layers + schedule + shifts (03) | 669,706 | 10 epochs, batch 512 "
        "| 98.80% ± 0.10% (3 seeds) | 98.90% ± 0.10% (3 seeds) | 41.0 s |\n"
        "\nEvery model trains on the first 50,000 training images; decisions in the notebooks are made on "
        "validation accuracy (the last 10,000 training images), and the test column is the final measurement.\n"
    ) in text
    assert 'Whole series (3 notebooks, headless "Run All"): 5 min 20 s (range' in text
    assert "; target ≤ 5 min 00 s.\n<!-- bench:end -->" in text
    assert report.update_readme(readme, results, md) is False
    assert readme.read_bytes().decode("utf-8") == text


@pytest.mark.parametrize(
    "text, message",
    [
        ("# no markers here\n", "add the two lines <!-- bench:start --> and <!-- bench:end -->"),
        ("<!-- bench:start -->\n<!-- bench:start -->\n<!-- bench:end -->\n", "keep exactly one of each"),
        ("<!-- bench:end -->\n<!-- bench:start -->\n", "comes before"),
    ],
)
def test_bad_markers_raise_a_clear_error_and_leave_the_file_alone(results, tmp_path, text, message):
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(report.ReportError, match=message):
        report.update_readme(readme, results, tmp_path / "results.md")
    assert readme.read_text() == text


def test_quick_results_need_allow_quick_for_the_readme(results, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(README)
    results["accuracy"]["quick"] = True
    with pytest.raises(report.ReportError, match="--allow-quick"):
        report.update_readme(readme, results, tmp_path / "results.md")
    assert report.update_readme(readme, results, tmp_path / "results.md", allow_quick=True)
    assert "Quick smoke run (accuracy): tiny settings, NOT representative" in readme.read_text()


# ------------------------------------------------------------------ files


def test_atomic_writes_leave_no_temp_files_and_keep_permissions(results, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(README)
    readme.chmod(0o640)
    report.write_results_md(results, tmp_path / "results.md")
    report.update_readme(readme, results, tmp_path / "results.md")
    assert sorted(os.listdir(tmp_path)) == ["README.md", "results.md"]
    assert readme.stat().st_mode & 0o777 == 0o640


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "results.md"
    target.write_text("old\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(report.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        report.write_atomic(target, "new\n")
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["results.md"]


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found: run `make bench`"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"schema": 99}', "schema 99"),
        ('{"schema": 2, "machine": {}}', "no measured section"),
        ('{"schema": 2, "machine": {}, "accuracy": {"models": {}}}', "section 'accuracy' is malformed"),
    ],
)
def test_load_results_says_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(report.ReportError, match=message):
        report.load_results(path)


def test_cli_writes_results_md_and_readme(results, tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps(results))
    readme = tmp_path / "README.md"
    readme.write_text(README)
    assert report.main(["--results", str(tmp_path / "results.json"), "--readme", str(readme)]) == 0
    assert "missed by 0.10 pp" in (tmp_path / "results.md").read_text()
    assert "| 98.80% ± 0.10% (3 seeds) | 98.90% ± 0.10% (3 seeds) |" in readme.read_text()
    assert "updated" in capsys.readouterr().out


def test_a_schema_1_file_keeps_its_other_sections_and_asks_to_remeasure_accuracy(results, tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(_schema_1(results)))
    readme = tmp_path / "README.md"
    readme.write_text(README)
    assert report.main(["--results", str(tmp_path / "results.json"), "--readme", str(readme)]) == 0
    remeasure = (
        "not measured with the current protocol (validation on the fixed last 10,000 training images): "
        "run `python benchmarks/bench.py --only accuracy`"
    )
    block = readme.read_text().split("<!-- bench:start -->")[1]
    assert f"Accuracy: {remeasure}." in block and "| model |" not in block
    assert 'Whole series (3 notebooks, headless "Run All"): 5 min 20 s' in block
    md = (tmp_path / "results.md").read_text()
    assert md.split("## Accuracy over seeds")[1].startswith(f"\n\nN{remeasure[1:]}.\n")
    t = _targets(results)
    assert t["seed baseline"]["result"] == t["improved"]["result"] == remeasure
    assert t["seed baseline"]["met"] is None
    # the timings stay, flagged as measured the old way, with the command that remeasures them
    assert "54,000 training images, validated on the last 6,000, seed 42" in md
    assert "**Measured before the fixed validation split** (with Keras' `validation_split=0.1`): rerun " in md
    assert "`python benchmarks/bench.py --only efficiency`." in md and "--only batch_size`." in md
    assert "| 32 | 1563 | 12.0 s | 120 s | – | 98.05% |" in md
    assert "test accuracy 97.90% vs 98.12% with one seed" in t["whole series run time"]["note"]


def test_bench_merges_a_new_section_into_a_schema_1_file(results, tmp_path):
    """`bench.py --only accuracy` over a schema-1 results.json: the new section in, the others kept."""
    spec = importlib.util.spec_from_file_location("bench_under_test", REPORT_PATH.with_name("bench.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    accuracy = results["accuracy"]
    (tmp_path / "results.json").write_text(json.dumps(_schema_1(json.loads(json.dumps(results)))))
    merged = bench.save_section(tmp_path, "accuracy", accuracy)
    assert merged["schema"] == report.SCHEMA == 2
    assert json.loads((tmp_path / "results.json").read_text()) == merged
    assert merged["accuracy"] == accuracy and merged["efficiency"]["validation_samples"] == 6_000
    md = (tmp_path / "results.md").read_text()
    assert "| improved: mean test accuracy | ≥ 98.7% | 98.90% ± 0.10% (3 seeds) | met |" in md
    assert "--only efficiency`." in md


def test_cli_reports_missing_results_and_markers(results, tmp_path, capsys):
    assert report.main(["--results", str(tmp_path / "nothing.json")]) == 1
    assert "run `make bench`" in capsys.readouterr().err
    (tmp_path / "results.json").write_text(json.dumps(results))
    (tmp_path / "README.md").write_text("no block\n")
    assert report.main(["--results", str(tmp_path / "results.json"), "--readme", str(tmp_path / "README.md")]) == 1
    assert "<!-- bench:start -->" in capsys.readouterr().err


def test_readme_table_is_the_one_generated_from_the_committed_results():
    """The README's "what to expect" block is exactly what report.py makes of benchmarks/results.json."""
    repo = REPORT_PATH.parent.parent
    results_path = repo / "benchmarks" / "results.json"
    if not results_path.is_file():
        pytest.skip("no benchmarks/results.json yet: run `make bench`")
    results = report.load_results(results_path)
    readme = (repo / "README.md").read_text(encoding="utf-8")
    regenerated = report.replace_block(readme, report.render_readme_block(results, "benchmarks/results.md"))
    assert regenerated == readme, (
        "README.md's bench block is stale: run `.venv/bin/python benchmarks/report.py --readme README.md`"
    )
    assert (repo / "benchmarks" / "results.md").read_text(encoding="utf-8") == report.render_results_md(results), (
        "benchmarks/results.md is stale: run `.venv/bin/python benchmarks/report.py`"
    )
