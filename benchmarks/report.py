"""Turn benchmarks/results.json into benchmarks/results.md and the README's "what to expect" table.

    python benchmarks/report.py                          # results.json -> results.md beside it
    python benchmarks/report.py --readme README.md       # ...and rewrite the README's bench block

Pure Python (no TensorFlow, no NumPy). ``results.json`` holds raw measurements only
(written by ``benchmarks/bench.py``); every median, mean, ratio and verdict is derived
here, so the numbers in results.md and the README always come from one place.
The README block is the text between ``<!-- bench:start -->`` and ``<!-- bench:end -->``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Schema 2: training on the fixed split (helpers.data.train_val_split), accuracy runs with val_accuracy,
# a "schedule" model. Schema-1 files are still read: their sections measured with validation_split=0.1
# are flagged, and their accuracy section is shown as not measured with the current protocol.
SCHEMA = 2
READ_SCHEMAS = (1, 2)
VALIDATION_SAMPLES = 10_000  # helpers.data.VALIDATION_SIZE: the last 10,000 training images
SECTIONS = ("notebooks", "efficiency", "batch_size", "accuracy")
MARK_START = "<!-- bench:start -->"
MARK_END = "<!-- bench:end -->"

# The targets: reported, never enforced by a timed test.
SERIES_TARGET_S = 300.0  # whole series on 2 cores
BASELINE_TARGET = 0.982  # seed baseline, mean over seeds
IMPROVED_TARGET = 0.987  # improved model, mean over seeds
OVERHEAD_TARGET = 1.05  # series path / bare Keras, seconds per epoch
BUSY_LOAD = 0.5  # load average per core at a section's start above which its timings are flagged

MODEL_LABELS = {
    "baseline": ("seed baseline", "02"),
    "seed_improved": ('seed "improved"', "03"),
    "schedule": ("baseline layers + schedule, batch 512", "03"),
    "improved": ("improved: same layers + schedule + shifts", "03"),
}
RUN_BENCH = "run `make bench` (or `python benchmarks/bench.py`)"


class ReportError(Exception):
    """The results or the README cannot be used; the message says why and what to do."""


# ------------------------------------------------------------------ reading


def load_results(path: str | os.PathLike) -> dict:
    """Read and sanity-check results.json; raise ReportError saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"{path} not found: {RUN_BENCH} first")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path} is not valid JSON ({exc}): {RUN_BENCH} to write it again") from None
    check_results(results, str(path))
    return results


def check_results(results: Any, origin: str = "results") -> None:
    """Raise ReportError unless ``results`` looks like bench.py's output."""
    if not isinstance(results, dict):
        raise ReportError(f"{origin}: expected a JSON object, got {type(results).__name__}: {RUN_BENCH}")
    if results.get("schema") not in READ_SCHEMAS:
        raise ReportError(
            f"{origin}: schema {results.get('schema')!r}, this report reads schemas "
            f"{', '.join(map(str, READ_SCHEMAS))}: "
            f"{RUN_BENCH} to write it again"
        )
    present = [s for s in SECTIONS if s in results]
    if not present:
        raise ReportError(f"{origin}: no measured section (expected one of {', '.join(SECTIONS)}): {RUN_BENCH}")
    for name in present:
        section = results[name]
        if not isinstance(section, dict) or not isinstance(section.get("machine"), dict):
            raise ReportError(
                f"{origin}: section {name!r} is malformed (no machine facts): "
                f"rerun `python benchmarks/bench.py --only {name}`"
            )
    if "machine" not in results or not isinstance(results["machine"], dict):
        raise ReportError(f"{origin}: no machine facts: {RUN_BENCH}")


# ------------------------------------------------------------------ statistics


def steady_epoch_seconds(epoch_seconds: Sequence[float]) -> float:
    """Seconds per epoch: median of epochs 2..n (epoch 1 includes graph tracing); epoch 1 if alone."""
    if not epoch_seconds:
        raise ReportError("a run recorded no epoch times")
    rest = list(epoch_seconds[1:]) or list(epoch_seconds)
    return float(statistics.median(rest))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1, as pandas); std 0 for a single value."""
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else 0.0)


# ------------------------------------------------------------------ formatting


def fmt_seconds(s: float) -> str:
    """3 significant digits up to 100 s, whole seconds above: '4.21 s', '62.3 s', '312 s'."""
    if s < 10:
        return f"{s:.2f} s"
    if s < 100:
        return f"{s:.1f} s"
    return f"{s:.0f} s"


def fmt_minutes(s: float) -> str:
    """'45 s' below a minute, else '5 min 12 s'."""
    whole = round(s)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60:02d} s"


def fmt_median_range(
    values: Sequence[float], fmt: Callable[[float], str] = fmt_seconds, what: tuple[str, str] = ("run", "runs")
) -> str:
    """'62.3 s (range 60.1 s–64.0 s, 3 runs)': median, then min–max; '62.3 s (1 run)' for one value."""
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{fmt(values[0])} (1 {what[0]})"
    return f"{fmt(statistics.median(values))} (range {fmt(min(values))}–{fmt(max(values))}, {len(values)} {what[1]})"


def plural(n: int, word: str) -> str:
    """'1 epoch', '10 epochs'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def fmt_pct(x: float, digits: int = 2) -> str:
    return f"{x * 100:.{digits}f}%"


def fmt_mean_std(values: Sequence[float]) -> str:
    """Accuracy over seeds: '98.21% ± 0.07%'."""
    mean, std = mean_std(values)
    return f"{fmt_pct(mean)} ± {fmt_pct(std)}"


def fmt_pp(x: float) -> str:
    """A difference of two fractions in percentage points: '0.12 pp' ('<0.01 pp' when tiny)."""
    return "<0.01 pp" if abs(x) < 0.00005 else f"{abs(x) * 100:.2f} pp"


def machine_line(m: dict) -> str:
    """One line naming the machine: CPU, cores, RAM, OS and versions."""
    cores = f"{m.get('cpu_count', '?')} logical cores"
    usable = m.get("cpus_usable")
    if usable is not None and usable != m.get("cpu_count"):
        cores += f" ({usable} usable)"
    if m.get("cpu_quota"):
        cores += f", CPU quota {m['cpu_quota']:g} cores"
    return (
        f"{m.get('cpu_model', 'unknown CPU')}, {cores}, {m.get('ram_gb', '?')} GB RAM; {m.get('os', '?')}; "
        f"Python {m.get('python', '?')}, TensorFlow {m.get('tensorflow', '?')}, Keras {m.get('keras', '?')}, "
        f"NumPy {m.get('numpy', '?')}"
    )


def short_machine(m: dict) -> str:
    cores = m.get("cpus_usable") or m.get("cpu_count") or "?"
    return f"{m.get('cpu_model', 'unknown CPU')} ({cores} cores)"


def _date(section_or_machine: dict) -> str:
    return str(section_or_machine.get("date", "?"))[:10]


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


# ------------------------------------------------------------------ derived numbers


def notebook_stats(section: dict) -> dict:
    """Per-notebook and whole-series seconds (series totals only over runs where every notebook ran)."""
    seconds: dict[str, list[float]] = section["seconds"]
    runs = max((len(v) for v in seconds.values()), default=0)
    failed_runs = {f["run"] for f in section.get("failures", [])}
    totals = [
        sum(v[i] for v in seconds.values())
        for i in range(runs)
        if i + 1 not in failed_runs and all(len(v) > i for v in seconds.values())
    ]
    medians = {name: statistics.median(v) for name, v in seconds.items() if v}
    return {
        "per_notebook": seconds,
        "medians": medians,
        "totals": totals,
        "runs": runs,
        "failures": section.get("failures", []),
    }


def efficiency_stats(section: dict) -> dict:
    """Seconds per epoch of each path (one value per process), their ratio, GFLOP/s and the roofline."""
    series = [steady_epoch_seconds(r["epoch_seconds"]) for r in section["series"]]
    bare = [steady_epoch_seconds(r["epoch_seconds"]) for r in section["bare"]]
    s_med, b_med = statistics.median(series), statistics.median(bare)
    flop = 6 * section["parameters"] * section["train_samples"]
    roof = section.get("roofline")
    roof_gflops = 2 * roof["n"] ** 3 / min(roof["seconds"]) / 1e9 if roof else None
    gflops = flop / s_med / 1e9
    return {
        "series": series,
        "bare": bare,
        "series_median": s_med,
        "bare_median": b_med,
        "ratio": s_med / b_med,
        "pair_ratios": [s / b for s, b in zip(series, bare, strict=True)],
        "gflops": gflops,
        "gflops_bare": flop / b_med / 1e9,
        "roofline_gflops": roof_gflops,
        "roofline_ratio": gflops / roof_gflops if roof_gflops else None,
    }


def fixed_split(section: dict) -> bool:
    """Whether a section validated on the fixed last 10,000 training images (not Keras' validation_split)."""
    return section.get("validation_samples") == VALIDATION_SAMPLES


def accuracy_section(results: dict) -> dict | None:
    """The accuracy section if it was measured with the current protocol (the fixed split), else None."""
    section = results.get("accuracy")
    return section if section and fixed_split(section) else None


def accuracy_missing(results: dict) -> str:
    """Why there are no accuracy numbers to show, and the command that measures them."""
    why = "not measured"
    if "accuracy" in results:
        why += f" with the current protocol (validation on the fixed last {VALIDATION_SAMPLES:,} training images)"
    return f"{why}: run `python benchmarks/bench.py --only accuracy`"


def accuracy_stats(model: dict) -> dict:
    """Validation and test accuracy over seeds (mean and std of the test accuracy), medians of the times."""
    val = [r["val_accuracy"] for r in model["runs"]]
    test = [r["test_accuracy"] for r in model["runs"]]
    mean, std = mean_std(test)
    return {
        "n": len(test),
        "val": val,
        "test": test,
        "mean": mean,
        "std": std,
        "train_seconds": statistics.median(r["train_seconds"] for r in model["runs"]),
        "s_per_epoch": statistics.median(steady_epoch_seconds(r["epoch_seconds"]) for r in model["runs"]),
    }


def batch_rows(section: dict) -> list[dict]:
    return [
        {**r, "s_per_epoch": steady_epoch_seconds(r["epoch_seconds"])}
        for r in sorted(section["runs"], key=lambda r: r["batch_size"])
    ]


# ------------------------------------------------------------------ targets


def evaluate_targets(results: dict) -> list[dict]:
    """One dict per target: name, goal, measured, result ('met', 'missed by …', …) and what would close it."""
    return [
        _series_target(results),
        _accuracy_target(results, "baseline", BASELINE_TARGET),
        _accuracy_target(results, "improved", IMPROVED_TARGET),
        _overhead_target(results),
    ]


def _not_measured(name: str, goal: str, section: str) -> dict:
    return {
        "name": name,
        "goal": goal,
        "measured": "not measured",
        "met": None,
        "result": f"not measured: run `python benchmarks/bench.py --only {section}`",
        "note": "",
    }


def _verdict(target: dict, section: dict, met: bool, missed_by: str) -> dict:
    target["met"] = met
    target["result"] = "met" if met else f"missed by {missed_by}"
    if section.get("quick"):
        target["met"] = None
        target["result"] = "quick run: not evaluated"
        target["note"] = "rerun without --quick to evaluate this target"
    elif met:
        target["note"] = ""
    return target


def _series_target(results: dict) -> dict:
    name, goal = "whole series run time", f"≤ {fmt_minutes(SERIES_TARGET_S)} on 2 cores"
    if "notebooks" not in results:
        return _not_measured(name, goal, "notebooks")
    section = results["notebooks"]
    stats = notebook_stats(section)
    if not stats["totals"]:
        target = _not_measured(name, goal, "notebooks")
        target["result"] = "no complete run: a notebook failed (see the notebooks table)"
        return target
    total = statistics.median(stats["totals"])
    target = {
        "name": name,
        "goal": goal,
        "measured": f"{fmt_minutes(total)} (median of {plural(len(stats['totals']), 'run')})",
    }
    over = total - SERIES_TARGET_S
    worst = max(stats["medians"], key=stats["medians"].get)
    worst_s = stats["medians"][worst]
    note = (
        f"{worst} dominates: {fmt_seconds(worst_s)}, {worst_s / total:.0%} of the series. The series meets the "
        f"target if it gets {fmt_seconds(over)} faster, e.g. {over / worst_s:.0%} less time in {worst}: "
        "fewer training runs (seeds) or epochs there"
    )
    if "batch_size" in results:
        rows = {r["batch_size"]: r for r in batch_rows(results["batch_size"])}
        if 128 in rows and 512 in rows:
            fast, slow = rows[512], rows[128]
            what, key = ("validation", "val_accuracy") if "val_accuracy" in fast else ("test", "test_accuracy")
            note += (
                f", or batch 512 where it trains at batch 128 ({fmt_seconds(fast['s_per_epoch'])} instead of "
                f"{fmt_seconds(slow['s_per_epoch'])} per epoch, {what} accuracy {fmt_pct(fast[key])} "
                f"vs {fmt_pct(slow[key])} with one seed)"
            )
    target["note"] = note + "."
    return _verdict(target, section, over <= 0, f"{fmt_seconds(over)} ({over / SERIES_TARGET_S:.0%})")


def _accuracy_target(results: dict, model: str, goal_value: float) -> dict:
    label = MODEL_LABELS[model][0].split(":")[0]
    name, goal = f"{label}: mean test accuracy", f"≥ {fmt_pct(goal_value, 1)}"
    section = accuracy_section(results)
    if not section or model not in section["models"]:
        return {**_not_measured(name, goal, "accuracy"), "result": accuracy_missing(results)}
    spec = section["models"][model]
    st = accuracy_stats(spec)
    target = {"name": name, "goal": goal, "measured": f"{fmt_mean_std(st['test'])} ({st['n']} seeds)"}
    gap = goal_value - st["mean"]
    noise = f"{gap / st['std']:.1f}× its seed-to-seed std" if st["std"] > 0 else "no spread measured"
    if model == "baseline":
        note = (
            f"The gap is {fmt_pp(gap)} ({noise}). The seed baseline's layers, epochs and batch size "
            f"({plural(spec['epochs'], 'epoch')}, batch {spec['batch_size']}) are the seed's own; what closes the "
            "gap is what notebook 03 adds to the same layers on the same "
            f"{section['train_samples']:,} training images: a cosine learning-rate schedule at a bigger batch "
            "and random shifts"
        )
        reached = [
            f"{fmt_pct(accuracy_stats(section['models'][key])['mean'])} {what}"
            for key, what in (("schedule", "with the schedule alone"), ("improved", "with the shifts too"))
            if key in section["models"]
        ]
        if reached:
            note += f" (mean test accuracy here: {', '.join(reached)})"
    else:
        note = (
            f"The gap is {fmt_pp(gap)} ({noise}). What would close it: more epochs with the same cosine "
            f"schedule (now {spec['epochs']} at batch {spec['batch_size']}, {fmt_seconds(st['train_seconds'])} "
            "per training), stronger augmentation (small rotations and zoom), or a small convolutional network "
            "(above 99% on MNIST); each adds run time to notebook 03"
        )
    target["note"] = note + "."
    return _verdict(target, section, gap <= 0, fmt_pp(gap))


def _overhead_target(results: dict) -> dict:
    name, goal = "helpers overhead (series path / bare Keras, s/epoch)", f"≤ {OVERHEAD_TARGET:.2f}"
    if "efficiency" not in results:
        return _not_measured(name, goal, "efficiency")
    section = results["efficiency"]
    st = efficiency_stats(section)
    ratio = st["ratio"]
    target = {
        "name": name,
        "goal": goal,
        "measured": f"{ratio:.3f} ({fmt_seconds(st['series_median'])} vs {fmt_seconds(st['bare_median'])})",
    }
    lo, hi = min(st["pair_ratios"]), max(st["pair_ratios"])
    note = (
        "The two paths share the per-step work: the helpers add only `import helpers`, `scale_pixels` before "
        "fit and the `EpochTimer` callback at epoch boundaries, none of it inside the training loop. "
    )
    if lo <= OVERHEAD_TARGET:
        note += (
            f"The ratios of the single pairs range {lo:.3f}–{hi:.3f}, so the miss is within run-to-run noise "
            "on a shared CPU: rerun `python benchmarks/bench.py --only efficiency` on an idle machine."
        )
    else:
        note += (
            f"Every pair is above the target ({lo:.3f}–{hi:.3f}): profile one epoch of each path "
            "(e.g. with the EpochTimer callback removed) to find which of these costs time."
        )
    target["note"] = note
    over = (ratio - OVERHEAD_TARGET) * 100
    target = _verdict(
        target,
        section,
        ratio <= OVERHEAD_TARGET,
        f"{over:.1f} pp (overhead {(ratio - 1) * 100:.1f}% > {(OVERHEAD_TARGET - 1) * 100:.0f}%)",
    )
    if target["met"] and hi > OVERHEAD_TARGET:  # the median meets it, single pairs disagree
        target["result"] = "met by the median, not by every pair"
        target["note"] = (
            f"The ratios of the single pairs range {lo:.3f}–{hi:.3f}: epoch times vary more between processes "
            "than the 5% being measured, so this is no firm answer. Rerun "
            "`python benchmarks/bench.py --only efficiency` on an idle machine, or with more pairs."
        )
    return target


# ------------------------------------------------------------------ rendering


def quick_sections(results: dict) -> list[str]:
    return [s for s in SECTIONS if s in results and results[s].get("quick")]


def render_readme_block(results: dict, results_md: str = "benchmarks/results.md") -> str:
    """The README's "what to expect" table, with a caption naming the machine and date."""
    machine = results["machine"]
    lines = []
    if quick_sections(results):
        lines += [
            f"**Quick smoke run ({', '.join(quick_sections(results))}): tiny settings, NOT representative. "
            "Run `make bench` for real numbers.**",
            "",
        ]
    lines += [
        f"**What to expect**: measured by `make bench` on {short_machine(machine)}, {_date(machine)}; "
        f"TensorFlow {machine.get('tensorflow', '?')}, Keras {machine.get('keras', '?')} "
        f"(details: [{Path(results_md).name}]({results_md})).",
        "",
    ]
    section = accuracy_section(results)
    if section:
        rows = []
        for key, spec in section["models"].items():
            st = accuracy_stats(spec)
            label, nb = MODEL_LABELS.get(key, (key, "?"))
            rows.append(
                [
                    f"{label} ({nb})",
                    f"{spec['parameters']:,}",
                    f"{plural(spec['epochs'], 'epoch')}, batch {spec['batch_size']}",
                    f"{fmt_mean_std(st['val'])} ({st['n']} seeds)",
                    f"{fmt_mean_std(st['test'])} ({st['n']} seeds)",
                    fmt_seconds(st["train_seconds"]),
                ]
            )
        header = ["model", "parameters", "training", "validation accuracy", "test accuracy", "time per training"]
        lines += _table(header, rows)
        lines += [
            "",
            f"Every model trains on the first {section['train_samples']:,} training images; decisions in the "
            "notebooks are made on validation accuracy (the last "
            f"{section['validation_samples']:,} training images), and the test column is the final measurement.",
        ]
    else:
        lines.append(f"Accuracy: {accuracy_missing(results)}.")
    lines.append("")
    if "notebooks" in results and notebook_stats(results["notebooks"])["totals"]:
        st = notebook_stats(results["notebooks"])
        lines.append(
            f'Whole series ({plural(len(st["medians"]), "notebook")}, headless "Run All"): '
            f"{fmt_median_range(st['totals'], fmt_minutes)}; "
            f"target ≤ {fmt_minutes(SERIES_TARGET_S)}."
        )
    else:
        lines.append("Whole series run time: not measured yet (`python benchmarks/bench.py --only notebooks`).")
    return "\n".join(lines)


def render_results_md(results: dict, results_link: str = "results.md") -> str:
    """The whole results.md: targets, the README table, and one table per section."""
    out = ["# Benchmark results", ""]
    quick = quick_sections(results)
    if quick:
        out += [
            f"> **Quick smoke run** in: {', '.join(quick)}. Tiny settings (subset of the data, 1–2 epochs, "
            "few seeds or runs): these numbers are NOT representative. Run `make bench` for real ones.",
            "",
        ]
    out += [
        f"Machine: {machine_line(results['machine'])}; measured {_date(results['machine'])}.",
        "",
        "Written by `python benchmarks/report.py` from `results.json` (raw measurements from "
        "`python benchmarks/bench.py`, run by `make bench`). Targets are reported, not enforced.",
        "",
    ]

    out += ["## Targets", ""]
    rows = [[t["name"], t["goal"], t["measured"], t["result"], t["note"] or "–"] for t in evaluate_targets(results)]
    out += _table(["target", "goal", "measured", "result", "what would close it"], rows) + [""]

    out += ["## What to expect (the README's table)", "", render_readme_block(results, results_link), ""]
    out += _notebooks_md(results.get("notebooks"))
    out += _efficiency_md(results.get("efficiency"))
    out += _batch_md(results.get("batch_size"))
    out += _accuracy_md(results)
    out += _machines_md(results)
    return "\n".join(out).rstrip("\n") + "\n"


def _missing(title: str, section: str) -> list[str]:
    return [f"## {title}", "", f"Not measured yet: `python benchmarks/bench.py --only {section}`.", ""]


def _split_note(section: dict, name: str) -> str:
    """How a section validated: the fixed split, or a flag that it predates it and how to remeasure."""
    if fixed_split(section):
        return f"Validation on the fixed last {VALIDATION_SAMPLES:,} training images, as in the notebooks."
    return (
        f"**Measured before the fixed validation split** (with Keras' `validation_split=0.1`): rerun "
        f"`python benchmarks/bench.py --only {name}`."
    )


def _section_head(title: str, section: dict) -> list[str]:
    head = [f"## {title}", ""]
    if section.get("quick"):
        head += ["*Quick smoke run: not representative.*", ""]
    load, cores = (
        section.get("load_at_start"),
        section["machine"].get("cpus_usable") or section["machine"].get("cpu_count"),
    )
    if load is not None and cores and load >= BUSY_LOAD * cores:
        head += [
            f"*The machine was busy when this section started (load average {load:g} on {cores} cores): "
            "the timings may be slower than on an idle machine.*",
            "",
        ]
    return head


def _notebooks_md(section: dict | None) -> list[str]:
    title = 'Notebooks: wall time of a headless "Run All"'
    if not section:
        return _missing(title, "notebooks")
    st = notebook_stats(section)
    out = _section_head(title, section)
    out += [
        "Each notebook executed by nbclient in a fresh kernel (as `make run` does), "
        f"{plural(st['runs'], 'run')} of the series; the time includes starting the kernel. "
        "Median and range over the runs.",
        "",
    ]
    rows = [[name, fmt_median_range(v)] for name, v in st["per_notebook"].items()]
    if st["totals"]:
        rows.append(["**whole series**", f"{fmt_median_range(st['totals'], fmt_minutes)}"])
    out += _table(["notebook", "seconds: median (range)"], rows) + [""]
    for f in st["failures"]:
        out.append(f"- FAILED in run {f['run']}: {f['notebook']}: {f['error']}")
    return out + ([""] if st["failures"] else [])


def _efficiency_md(section: dict | None) -> list[str]:
    title = "Training efficiency: the seed baseline"
    if not section:
        return _missing(title, "efficiency")
    st = efficiency_stats(section)
    roof = section.get("roofline") or {}
    out = _section_head(title, section)
    out += [
        f"{plural(section['epochs'], 'epoch')}, batch {section['batch_size']}, {section['train_samples']:,} training "
        f"images, validated on the last {section['validation_samples']:,}, seed {section['seed']}, each run in its "
        f"own process in alternating order ({', '.join(section['order'])}). Seconds per epoch: median of epochs 2.."
        f"{section['epochs']} of each process (epoch 1 includes graph tracing), then the median over processes. "
        + _split_note(section, "efficiency"),
        "",
    ]
    per_process = ("process", "processes")
    rows = [
        ["series path (helpers, as notebook 02)", f"{fmt_median_range(st['series'], what=per_process)} per epoch"],
        ["bare 20-line Keras script", f"{fmt_median_range(st['bare'], what=per_process)} per epoch"],
        [
            "ratio series / bare (target ≤ 1.05)",
            f"{st['ratio']:.3f} (single pairs {min(st['pair_ratios']):.3f}–{max(st['pair_ratios']):.3f})",
        ],
        [
            "achieved (series path)",
            f"{st['gflops']:.1f} GFLOP/s = 6 × {section['parameters']:,} parameters × "
            f"{section['train_samples']:,} images / {fmt_seconds(st['series_median'])}",
        ],
        ["achieved (bare script)", f"{st['gflops_bare']:.1f} GFLOP/s"],
    ]
    first = [runs[0].get("test_accuracy") for runs in (section["series"], section["bare"])]
    if None not in first:
        rows.append(
            [
                "test accuracy, series / bare (same seed: equal when both compute the same)",
                f"{fmt_pct(first[0])} / {fmt_pct(first[1])}",
            ]
        )
    if st["roofline_gflops"]:
        blas = f", {roof['blas']}" if roof.get("blas") else ""
        rows += [
            [
                f"NumPy sgemm roofline ({roof['n']}×{roof['n']} float32, best of {len(roof['seconds'])}{blas})",
                f"{st['roofline_gflops']:.1f} GFLOP/s",
            ],
            ["achieved / roofline", f"{st['roofline_ratio']:.1%}"],
        ]
    out += _table(["measure", "value"], rows) + [""]
    out += [
        "The FLOP count leaves out the validation pass (forward only, 2 × parameters × "
        f"{section['validation_samples']:,} images) and the optimizer update; both paths call `fit` with "
        "`verbose=0`, so the notebooks' progress bar is not part of this comparison.",
        "",
    ]
    return out


def _batch_md(section: dict | None) -> list[str]:
    title = "Batch size: the seed baseline"
    if not section:
        return _missing(title, "batch_size")
    out = _section_head(title, section)
    out += [
        f"One seed ({section['seed']}), {plural(section['epochs'], 'epoch')} each, "
        f"{section['train_samples']:,} training images, one process per batch size. With one seed, accuracy "
        "differences below about 0.2 pp are noise. " + _split_note(section, "batch_size"),
        "",
    ]
    rows = [
        [
            r["batch_size"],
            r["steps_per_epoch"],
            fmt_seconds(r["s_per_epoch"]),
            fmt_seconds(r["train_seconds"]),
            fmt_pct(r["val_accuracy"]) if "val_accuracy" in r else "–",
            fmt_pct(r["test_accuracy"]),
        ]
        for r in batch_rows(section)
    ]
    header = ["batch size", "steps/epoch", "s/epoch", "training time", "validation accuracy", "test accuracy"]
    return out + _table(header, rows) + [""]


def _accuracy_md(results: dict) -> list[str]:
    title = "Accuracy over seeds"
    section = accuracy_section(results)
    if not section:
        why = accuracy_missing(results)
        return [f"## {title}", "", f"{why[0].upper()}{why[1:]}.", ""]
    out = _section_head(title, section)
    out += [
        f"Seeds {', '.join(str(s) for s in section['seeds'])}; each model trained from scratch per seed on the "
        f"first {section['train_samples']:,} training images, validated on the last "
        f"{section['validation_samples']:,} (the fixed split of `helpers.data.train_val_split`, on which the "
        f"notebooks decide), and measured once on the {section['test_samples']:,} test images. "
        "Mean ± sample std; time per training is the median wall time of `fit`.",
        "",
    ]
    rows, per_seed = [], []
    for key, spec in section["models"].items():
        st = accuracy_stats(spec)
        label, nb = MODEL_LABELS.get(key, (key, "?"))
        rows.append(
            [
                label,
                nb,
                f"{spec['parameters']:,}",
                spec["epochs"],
                spec["batch_size"],
                st["n"],
                fmt_mean_std(st["val"]),
                fmt_mean_std(st["test"]),
                fmt_seconds(st["train_seconds"]),
                fmt_seconds(st["s_per_epoch"]),
            ]
        )
        by_seed = {r["seed"]: r for r in spec["runs"]}
        per_seed.append(
            [label]
            + [
                f"{fmt_pct(by_seed[s]['val_accuracy'])} / {fmt_pct(by_seed[s]['test_accuracy'])}"
                if s in by_seed
                else "–"
                for s in section["seeds"]
            ]
        )
    header = [
        "model",
        "notebook",
        "parameters",
        "epochs",
        "batch",
        "seeds",
        "validation accuracy",
        "test accuracy",
        "time per training",
        "s/epoch",
    ]
    out += _table(header, rows) + ["", "Every seed's validation / test accuracy:", ""]
    return out + _table(["model"] + [f"seed {s}" for s in section["seeds"]], per_seed) + [""]


def _machines_md(results: dict) -> list[str]:
    out = ["## Machine facts", ""]
    keys = [
        "cpu_model",
        "cpu_count",
        "cpus_usable",
        "cpu_quota",
        "ram_gb",
        "os",
        "python",
        "tensorflow",
        "keras",
        "numpy",
        "date",
    ]
    present = [s for s in SECTIONS if s in results]
    header = ["fact"] + present
    rows = [[k] + [str(results[s]["machine"].get(k, "–")) for s in present] for k in keys]
    rows.append(["load average (1 min) at start"] + [str(results[s].get("load_at_start", "–")) for s in present])
    rows.append(
        ["section wall time"]
        + [fmt_minutes(results[s]["wall_seconds"]) if "wall_seconds" in results[s] else "–" for s in present]
    )
    return out + _table(header, rows) + [""]


# ------------------------------------------------------------------ writing


def replace_block(text: str, block: str, origin: str = "README") -> str:
    """Put ``block`` between the bench markers; everything outside them stays byte for byte."""
    starts, ends = text.count(MARK_START), text.count(MARK_END)
    if starts == 0 or ends == 0:
        raise ReportError(
            f"{origin} has no benchmark block: add the two lines {MARK_START} and {MARK_END} "
            'where the "what to expect" table should go'
        )
    if starts > 1 or ends > 1:
        raise ReportError(f"{origin} has {starts} {MARK_START} and {ends} {MARK_END} markers: keep exactly one of each")
    i, j = text.index(MARK_START) + len(MARK_START), text.index(MARK_END)
    if j < i:
        raise ReportError(f"{origin}: {MARK_END} comes before {MARK_START}: swap them")
    return text[:i] + "\n" + block.strip("\n") + "\n" + text[j:]


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write via a temp file in the same folder and os.replace; keep an existing file's permissions."""
    path = Path(path)
    if path.exists():
        mode = path.stat().st_mode & 0o777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_results_md(results: dict, path: str | os.PathLike) -> Path:
    path = Path(path)
    write_atomic(path, render_results_md(results))
    return path


def update_readme(
    readme: str | os.PathLike, results: dict, results_md: str | os.PathLike, allow_quick: bool = False
) -> bool:
    """Rewrite the README's bench block; True if the file changed. Refuses quick results unless allowed."""
    readme = Path(readme)
    if not readme.is_file():
        raise ReportError(f"{readme} not found")
    quick = quick_sections(results)
    if quick and not allow_quick:
        raise ReportError(
            f"the results of {', '.join(quick)} come from a --quick smoke run; the README should show "
            "a full run (`make bench`), or pass --allow-quick to show them anyway"
        )
    link = Path(os.path.relpath(Path(results_md).resolve(), readme.resolve().parent)).as_posix()
    text = readme.read_bytes().decode("utf-8")
    new = replace_block(text, render_readme_block(results, link), str(readme))
    if new == text:
        return False
    write_atomic(readme, new)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=HERE / "results.json", help="results.json to read")
    parser.add_argument("--out", type=Path, help="results.md to write (default: beside results.json)")
    parser.add_argument("--readme", type=Path, help=f"Markdown file whose {MARK_START} block to rewrite")
    parser.add_argument("--allow-quick", action="store_true", help="let --quick results into the README")
    args = parser.parse_args(argv)
    try:
        results = load_results(args.results)
        md = write_results_md(results, args.out or args.results.with_name("results.md"))
        print(f"wrote {md}")
        if args.readme:
            changed = update_readme(args.readme, results, md, allow_quick=args.allow_quick)
            print(f"{'updated' if changed else 'unchanged'}: {args.readme} ({MARK_START} block)")
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
