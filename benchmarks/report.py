"""Render the benchmark's results as benchmarks/results.md and the README's "what to expect" block.

    python benchmarks/report.py                        # helpers/benchmark_results.json -> results.md
    python benchmarks/report.py --readme README.md     # ...and the README's block between its markers

Every median, mean, ratio and verdict is computed here from bench.py's raw measurements.
Seconds per epoch: the median of epochs 2..n (epoch 1 traces the graph). GFLOP/s: 6 × parameters × images.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from itertools import pairwise
from pathlib import Path
from statistics import fmean, median, stdev

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from helpers.evaluation import SIGNIFICANCE, compare_seeds  # noqa: E402
from helpers.files import write_atomic  # noqa: E402
from helpers.results import NOTEBOOKS, RESULTS, label  # noqa: E402  (no TensorFlow: rendering needs none)

SECTIONS = ("notebooks", "efficiency", "batch_size", "accuracy", "steps", "cnn", "gate", "threads", "class")
SCHEMA = 2
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"
GUIDE_START, GUIDE_END = "<!-- capacity:start -->", "<!-- capacity:end -->"  # docs/instructors.md's block
# The capacity plan's assumptions (docs/instructors.md states them with the table).
CLASS_SIZES, TRAINING_SHARE, SLOWDOWN = (10, 30, 100, 300), 1 / 3, 2.0  # a third train at once; at most 2x slower
NODE = (16, 64)  # cores and GiB of one server past the first, for the Kubernetes rows
RUN = "run `make bench` (or `python benchmarks/bench.py`)"
SERIES_S, OVERHEAD, ACCURACY = 360.0, 1.05, {"baseline": 0.982, "improved": 0.987, "cnn": 0.993}  # targets, reported
CNN_S = 120.0  # target: one training of the CNN (median over seeds)
CORE, FURTHER_S = ("01", "02", "03", "04", "05", "06"), 150.0  # the core series' 6-min target; each later ≤ 150 s
OWN_S = {"03": 90.0}  # notebooks of the core series with a target of their own
BUSY = 0.5  # load average per core at a section's start above which its timings are flagged
# Pairs whose difference the accuracy table's readers ask about: (a, b) for b minus a.
ACCURACY_PAIRS = [
    ("baseline", "seed_improved"),
    ("baseline", "schedule"),
    ("schedule", "improved"),
    ("improved", "cnn"),
]


class ReportError(Exception):
    """The results or the README cannot be used; the message says why and what to do."""


def load_results(path: str | os.PathLike) -> dict:
    """Read results.json; raise ReportError saying what is wrong and what to run."""
    try:
        results = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path} not found: {RUN} first") from None
    except ValueError as exc:
        raise ReportError(f"{path} is not valid JSON ({exc}): {RUN} again") from None
    present = [results[s] for s in SECTIONS if s in results] if isinstance(results, dict) else []
    ok = present and results.get("schema") == SCHEMA and all(isinstance(s, dict) and "machine" in s for s in present)
    if not ok:
        raise ReportError(f"{path} is not a schema-{SCHEMA} results file with measured sections: {RUN} again")
    return results


def per_epoch(epoch_seconds: list[float]) -> float:
    return median(epoch_seconds[1:] or epoch_seconds)


def secs(s: float) -> str:
    return f"{s:.{2 if s < 10 else 1 if s < 100 else 0}f} s"


def minutes(s: float) -> str:
    return f"{round(s) // 60} min {round(s) % 60:02d} s" if s >= 59.5 else f"{round(s)} s"


def mean_std(values: list[float], fmt=None) -> str:
    fmt = fmt or "{:.2%}".format
    return f"{fmt(fmean(values))} ± {fmt(stdev(values) if len(values) > 1 else 0)}"


def spread(values: list[float], fmt=secs) -> str:
    return f"{fmt(median(values))} ({fmt(min(values))}–{fmt(max(values))}, {len(values)} run{'s' * (len(values) > 1)})"


def table(rows: list[dict] | pd.DataFrame) -> str:
    return pd.DataFrame(rows).fillna("–").to_markdown(index=False, disable_numparse=True)


def series_totals(section: dict, only: tuple[str, ...] | None = None) -> list[float]:
    """Series seconds (of the notebooks numbered ``only``) of each run in which every notebook ran and none failed."""
    seconds = [v for name, v in section["seconds"].items() if only is None or name[:2] in only]
    failed = {f["run"] for f in section["failures"]}
    return [sum(v[i] for v in seconds) for i in range(min(map(len, seconds))) if i + 1 not in failed]


def going_further(section: dict) -> dict[str, list[float]]:
    """The seconds of each notebook after the core series (07, 08...), judged one by one against FURTHER_S."""
    return {name[:2]: v for name, v in section["seconds"].items() if name[:2] not in CORE}


def own_targets(section: dict | None) -> dict[str, list[float]]:
    """The seconds of each measured notebook of the core series that has its own target (OWN_S)."""
    return {name[:2]: v for name, v in (section or {}).get("seconds", {}).items() if name[:2] in OWN_S}


def epochs(efficiency: dict, path: str) -> list[float]:
    return [per_epoch(r["epoch_seconds"]) for r in efficiency[path]]


def target(name: str, section: dict | None, value: float | None, limit: float, fmt, at_least=False) -> dict:
    """A target's row: the measured value, and met, missed by how much, not measured, or not judged."""
    row = {"target": name, "goal": f"{'≥' if at_least else '≤'} {fmt(limit)}", "measured": "–"}
    if value is None:
        return row | {"result": "not measured"}
    miss = limit - value if at_least else value - limit
    result = "quick run: not judged" if section.get("quick") else f"missed by {fmt(miss)}" if miss > 0 else "met"
    return row | {"measured": fmt(value), "result": result}


def targets(results: dict) -> list[dict]:
    nb, eff, acc = (results.get(s) for s in ("notebooks", "efficiency", "accuracy"))
    totals = series_totals(nb, CORE) if nb else []
    rows = [
        target(f"notebooks {CORE[0]}–{CORE[-1]} run time", nb, median(totals) if totals else None, SERIES_S, minutes)
    ]
    rows += [target(f"notebook {n} run time", nb, median(v), OWN_S[n], secs) for n, v in own_targets(nb).items()]
    further = going_further(nb) if nb else {}
    rows += [target(f"notebook {n} run time", nb, median(v), FURTHER_S, secs) for n, v in further.items()]
    for key, limit in ACCURACY.items():
        test = [r["test_accuracy"] for r in acc["models"][key]["runs"]] if acc and key in acc["models"] else []
        mean = fmean(test) if test else None
        rows.append(target(f"{key}: mean test accuracy", acc, mean, limit, "{:.2%}".format, at_least=True))
    cnn = acc["models"].get("cnn") if acc else None
    rows.append(
        target("cnn: one training", acc, median(r["train_seconds"] for r in cnn["runs"]) if cnn else None, CNN_S, secs)
    )
    ratio = median(epochs(eff, "series")) / median(epochs(eff, "bare")) if eff else None
    return rows + [target("helpers overhead: s/epoch series / bare", eff, ratio, OVERHEAD, "{:.3f}".format)]


def accuracy_rows(acc: dict) -> list[dict]:
    rows = []
    for key, spec in acc["models"].items():
        runs = spec["runs"]
        row = {"model": f"{label(key)} ({NOTEBOOKS[key]})" if key in NOTEBOOKS else label(key)}
        row["parameters"] = f"{spec['parameters']:,}"
        row["training"] = f"{spec['epochs']} epochs, batch {spec['batch_size']}"
        row["validation accuracy"] = mean_std([r["val_accuracy"] for r in runs])
        row["test accuracy"] = mean_std([r["test_accuracy"] for r in runs])
        rows.append(row | {"time per training": secs(median(r["train_seconds"] for r in runs))})
    return rows


def significance(a: tuple[str, list[dict]], b: tuple[str, list[dict]]) -> dict:
    """One row: b minus a in validation accuracy over seeds, Welch's t, its df, p, and whether p < SIGNIFICANCE."""
    (name_a, runs_a), (name_b, runs_b) = a, b
    c = compare_seeds([r["val_accuracy"] for r in runs_a], [r["val_accuracy"] for r in runs_b])
    return {
        "comparison": f"{name_b} minus {name_a}",
        "val_accuracy difference": f"{c['difference'] * 100:+.2f} points",
        "Welch t": f"{c['t']:.1f}",
        "df": f"{c['df']:.1f}",
        "p": f"{c['p']:.3f}" if c["p"] >= 0.001 else "< 0.001",
        f"significant (p < {SIGNIFICANCE:g})": "yes" if c["p"] < SIGNIFICANCE else "no",
    }


def accuracy_significance(acc: dict) -> list[dict]:
    pairs = [(a, b) for a, b in ACCURACY_PAIRS if a in acc["models"] and b in acc["models"]]
    return [significance(*((label(k), acc["models"][k]["runs"]) for k in pair)) for pair in pairs]


def readme_block(results: dict, results_md: str = "benchmarks/results.md") -> str:
    """The README's "what to expect": accuracy over seeds and the whole series' run time."""
    acc, nb = results.get("accuracy"), results.get("notebooks")
    m = (acc or results)["machine"]  # the accuracy table's machine and date
    quick = [s for s in SECTIONS if s in results and results[s].get("quick")]
    lines = [f"**Quick run ({', '.join(quick)}): tiny settings, not representative.**", ""] if quick else []
    cores, link = m.get("cpus_usable") or m.get("cpu_count"), f"[{Path(results_md).name}]({results_md})"
    lines += [
        f"**What to expect**: measured by `make bench` on {m.get('cpu_model')} ({cores} cores), {m['date'][:10]}; "
        f"TensorFlow {m.get('tensorflow')}, Keras {m.get('keras')}, backend {m.get('keras_backend', 'tensorflow')} "
        f"(details: {link}).",
    ]
    if acc:
        samples = f"trained on the first {acc['train_samples']:,}, validated on the last {acc['validation_samples']:,}"
        lines += ["", table(accuracy_rows(acc)), "", f"Mean ± std over {len(acc['seeds'])} seeds; {samples} images."]
    if totals := series_totals(nb, CORE) if nb else []:
        which = ", ".join(name[:2] for name in nb["seconds"] if name[:2] in CORE)  # the notebooks measured, 01, 02...
        time = f"{spread(totals, minutes)}; target ≤ {minutes(SERIES_S)}"
        further = [f"{n} {secs(median(v))}" for n, v in going_further(nb).items()]
        more = f" Going further, median: {', '.join(further)}; target ≤ {secs(FURTHER_S)} each." if further else ""
        own = "".join(
            f" Notebook {n} alone: {secs(median(v))}; target ≤ {secs(OWN_S[n])}." for n, v in own_targets(nb).items()
        )
        lines += ["", f'Notebooks {which}, headless "Run All": {time}.{own}{more}']
    return "\n".join(lines)


def notebooks_md(s: dict, results: dict) -> tuple[str, list[dict]]:
    rows = [{"notebook": name, "seconds": spread(v)} for name, v in s["seconds"].items()]
    rows += [{"notebook": "whole series", "seconds": spread(series_totals(s), minutes)}] if series_totals(s) else []
    rows += [{"notebook": f"{f['notebook']} FAILED in run {f['run']}", "seconds": f["error"]} for f in s["failures"]]
    return "Each notebook in a fresh kernel.", rows


def efficiency_md(s: dict, results: dict) -> tuple[str, list[dict]]:
    gflop, times = 6e-9 * s["parameters"] * s["train_samples"], {p: epochs(s, p) for p in ("series", "bare")}
    rows = [{"path": p, "s/epoch": spread(v), "GFLOP/s": f"{gflop / median(v):.1f}"} for p, v in times.items()]
    about = f"Seed baseline, {s['epochs']} epochs, batch {s['batch_size']}, {s['train_samples']:,} images; series: the "
    return about + f"notebooks' path, bare: bare_keras.py; one process each: {', '.join(s['order'])}.", rows


def batch_size_md(s: dict, results: dict) -> tuple[str, pd.DataFrame]:
    df = pd.DataFrame(s["runs"]).sort_values("batch_size")
    df["s/epoch"] = df["epoch_seconds"].map(per_epoch).map(secs)
    df[["val_accuracy", "test_accuracy"]] = df[["val_accuracy", "test_accuracy"]].map("{:.2%}".format)
    about = f"Seed baseline, seed {s['seed']}, {s['epochs']} epochs, {s['train_samples']:,} images."
    return about, df[["batch_size", "steps_per_epoch", "s/epoch", "val_accuracy", "test_accuracy"]]


def _model_row(name: str, spec: dict, **extra: str) -> dict:
    runs = spec["runs"]
    row = {"model": name, **extra, "parameters": f"{spec['parameters']:,}"}
    row["training"] = f"{spec['epochs']} epochs, batch {spec['batch_size']}"
    row["validation accuracy"] = mean_std([r["val_accuracy"] for r in runs])
    return row | {"seeds": len(runs), "time per training": secs(median(r["train_seconds"] for r in runs))}


def steps_md(s: dict, results: dict) -> tuple[str, list[dict]]:
    """Notebook 04's bundle one change at a time: baseline -> batch 512 -> peak rate -> cosine decay."""
    models = dict(s["models"])
    acc = (results.get("accuracy") or {}).get("models", {})
    chain = [k for k in ("baseline", "batch512", "batch512_lr3e-3", "schedule", "improved") if k in models or k in acc]
    specs = {k: models.get(k) or acc[k] for k in chain}
    rows = [_model_row(label(k), specs[k]) for k in chain]
    tests = [significance(*((label(k), specs[k]["runs"]) for k in pair)) for pair in pairwise(chain)]
    about = (
        "Notebook 04's first step changes three things (batches of 512, a peak learning rate of 0.003, cosine "
        "decay); here each is added in turn to the baseline's layers (rows from this section and the accuracy "
        "section, same seeds), then the shifts. Each step against the one before: Welch's t-test over seeds."
    )
    return about, (rows, tests)


def cnn_md(s: dict, results: dict) -> tuple[str, list[dict]]:
    """The CNN against the improved MLP at equal epochs and equal time, and the CNN candidates."""
    rows, by = [], {}
    for r in s["rows"]:
        name = f"{label(r['model'])}, {r['epochs']} epochs"
        by[r["model"], r["budget"]] = (name, r["runs"])
        rows.append(_model_row(name, r, budget=r["budget"]))
    pairs = [
        (("improved", "equal epochs"), ("cnn", "equal epochs")),
        (("improved", "equal time"), ("cnn", "the CNN's recipe")),
    ]
    pairs += [(("cnn", "equal epochs"), (model, "candidate")) for model, budget in by if budget == "candidate"]
    tests = [significance(by[a], by[b]) for a, b in pairs if a in by and b in by]
    about = (
        f"On the validation set, {len(s['seeds'])} seeds each. Equal epochs: both models for the same number of "
        "epochs. Equal time: the MLP for as many epochs as one 20-epoch CNN training takes here. Candidates: the "
        "other CNN bodies of helpers.models.CNN_BODIES, at equal epochs, against the course's CNN (strided). "
        "Differences: Welch's t-test over seeds."
    )
    return about, (rows, tests)


def gate_md(s: dict, results: dict) -> tuple[str, list[dict]]:
    """Notebook 08's digit gate over seeds."""
    runs = s["runs"]
    rows = [{"seeds": len(runs), "threshold (validation)": mean_std([r["threshold"] for r in runs], "{:.3f}".format)}]
    rows[0]["test digits refused"] = mean_std([r["test_digits_refused"] for r in runs])
    rows[0]["test not-digits refused"] = mean_std([r["test_not_digits_refused"] for r in runs])
    rows[0]["time per training"] = secs(median(r["seconds"] for r in runs))
    about = (
        f"The gate trained as notebook 08 trains it, once per seed; its threshold refuses 0.5% of the validation "
        f"digits; measured on the {s['test_digits']:,} MNIST test digits and {s['test_not_digits']:,} test not-digits."
    )
    return about, rows


def _throughput(row: dict, s: dict) -> tuple[float, float]:
    """Trainings per minute and images per second of all the students of a row together."""
    done = sum(run["returncode"] == 0 for run in row["runs"])
    images = done * (s["epochs"] or 0) * (s["train_samples"] or 0)  # None if no student finished
    return 60 * done / row["wall_seconds"], images / row["wall_seconds"]


def threads_md(s: dict, results: dict) -> tuple[str, list[dict]]:
    """k students training at once on the cores, each under a limit of cores/k CPUs, with and without the setting."""
    rows = []
    for row in sorted(s["rows"], key=lambda r: (r["students"], r["setting"] != "with")):  # measured in turns
        runs, ok = row["runs"], [run for run in row["runs"] if run["returncode"] == 0]
        threads = next((run["env"]["TF_NUM_INTRAOP_THREADS"] for run in ok), None) or s["cores"]
        walls, per_minute, per_second = [run["wall_seconds"] for run in ok], *_throughput(row, s)
        wall = f"{secs(fmean(walls))} ({secs(min(walls))}–{secs(max(walls))})" if walls else "–"
        killed = [run["returncode"] for run in runs if run["returncode"] < 0]
        rows.append(
            {
                "students at once": str(row["students"]),
                "CPUs each": f"{row['cpus_each']:g}",
                "thread pools": f"{threads} ({'helpers' if row['setting'] == 'with' else 'default'})",
                "wall time per student (mean, range)": wall,
                "training time per student": secs(fmean(run["train_seconds"] for run in ok)) if ok else "–",
                "trainings/min (all)": f"{per_minute:.2f}",
                "images/s (all)": f"{per_second:,.0f}",
                "exited 0": f"{len(ok)}/{len(runs)}",
                "killed": f"{len(killed)}" + (f" (signals {', '.join(str(-c) for c in killed)})" if killed else ""),
            }
        )
    ks, epochs = ", ".join(str(k) for k in s["settings"]["students"]), f"{s['epochs']} epoch{'s' * (s['epochs'] != 1)}"
    about = (
        f"Notebook 02's baseline ({epochs}, batch {s['batch_size']}, {s['train_samples']:,} images), "
        f"trained by {ks} processes at once on {s['cores']} cores, each in a cgroup limited to cores/k CPUs: with "
        "helpers' setting (pools sized to the limit) and without (MNIST_CPUS=cores: TensorFlow's default, one thread "
        "per core). Wall time: the process's, start to exit (Python, TensorFlow, data, training)."
    )
    both = {(r["students"], r["setting"]): r for r in s["rows"]}
    killed = sum(run["returncode"] < 0 for r in s["rows"] for run in r["runs"])
    about += f" {killed} of {sum(len(r['runs']) for r in s['rows'])} processes were killed."
    if paired := [k for k, setting in both if setting == "with" and (k, "without") in both]:
        k = max(paired)
        with_, without = (_throughput(both[k, setting], s)[0] for setting in ("with", "without"))
        change = f" ({with_ / without - 1:+.0%})" if without else ""
        about += (
            f" With {k} students at {both[k, 'with']['cpus_each']:g} CPU each, pools sized to the limit give "
            f"{with_:.2f} trainings per minute in all, against {without:.2f} without{change}."
        )
    return about, rows


def _class_rounds(s: dict) -> dict[tuple[int, str], dict]:
    return {(row["students"], row["notebook"]): row for row in s["rows"]}


def class_md(s: dict, results: dict) -> tuple[str, tuple[list[dict], list[dict]]]:
    """Per notebook on the hub: one student's kernel (memory, CPU), and the wall time with k students at once."""
    rounds, ks = _class_rounds(s), s["settings"]["students"]
    notebooks = sorted({row["notebook"] for row in s["rows"]})
    rows = []
    for nb in notebooks:
        alone = rounds.get((1, nb))
        ok = [run for run in (alone or {}).get("runs", []) if not run.get("error")]
        row = {"notebook": nb.split("_")[0]}
        row["peak memory of the kernel"] = f"{ok[0]['peak_mb'] / 1024:.2f} GB" if ok else "–"
        row["kernel memory at the end"] = f"{ok[0]['rss_mb'] / 1024:.2f} GB" if ok else "–"
        row["CPU time of a Run All"] = secs(ok[0]["cpu_s"]) if ok else "–"
        row["cores used, alone"] = f"{ok[0]['cpu_s'] / ok[0]['seconds']:.2f}" if ok else "–"
        for k in ks:
            r = rounds.get((k, nb))
            failed = sum(bool(run.get("error")) for run in r["runs"]) if r else 0
            row[f"wall, {k} at once"] = (
                (secs(r["wall_seconds"]) + (f" ({failed} failed)" if failed else "")) if r else "–"
            )
        rows.append(row)
    totals = {
        "notebook": "all",
        **{
            f"wall, {k} at once": minutes(sum(r["wall_seconds"] for (kk, _), r in rounds.items() if kk == k))
            for k in ks
        },
    }
    rows.append(totals)
    server = fmean(s["server_mb"].values()) if s.get("server_mb") else None
    runs = [(row, run) for row in s["rows"] for run in row["runs"]]
    errors = [f"{row['students']} at once, {row['notebook']}: {run['error']}" for row, run in runs if run.get("error")]
    about = (
        f"A class on a real JupyterHub on {s['cores']} cores (scripts/class_hub.py: one Unix account and server per "
        f"student, LocalProcessSpawner, the course installed once, MNIST in one read-only folder). In each round, "
        f'{", ".join(map(str, ks))} students "Run All" the same notebook at once, each in a fresh kernel of their '
        "own server, notebook by notebook in series order, from new folders (so 02, 04, 07 and 08 train). Memory "
        "and CPU time: the kernel's own (getrusage and /proc at the notebook's end, one student alone); cores "
        "used: CPU time / wall time. Wall time: until the last student of the round finished."
    )
    about += f" Each student's server (no kernel) holds {server / 1024:.2f} GB." if server else ""
    about += f" {len(errors)} of {len(runs)} notebook runs failed: {'; '.join(errors)}." if errors else ""
    about += "" if errors else f" All {len(runs)} notebook runs finished: no kernel failed or was killed."
    return about, (rows, capacity_rows(s))


def capacity(s: dict) -> dict:
    """Per student figures from the class section that the capacity plan scales (see capacity_rows)."""
    alone = [
        run | {"notebook": r["notebook"]}
        for (k, _), r in _class_rounds(s).items()
        if k == 1
        for run in r["runs"]
        if not run.get("error")
    ]
    if not alone:
        raise ReportError("the class section has no notebook that one student ran without an error")
    server = fmean(s["server_mb"].values()) / 1024 if s.get("server_mb") else 0.0
    peak = max(run["peak_mb"] for run in alone) / 1024
    idle = max(run["rss_mb"] for run in alone) / 1024
    busiest = max(alone, key=lambda run: run["cpu_s"] / run["seconds"])
    largest = max(alone, key=lambda run: run["peak_mb"])
    return {
        "memory_gb": server + peak + idle,  # the server, the notebook running, one earlier kernel left open
        "memory_limit_gb": server + 2 * peak,  # two notebooks running at once still fit
        "cores": busiest["cpu_s"] / busiest["seconds"],  # what one training student uses on the cores alone
        "busiest": busiest["notebook"],
        "largest": largest["notebook"],
        "peak_gb": peak,
        "server_gb": server,
        "idle_gb": idle,
    }


def _up(gb: float) -> str:
    """GB rounded up to a tenth: a guarantee or limit set lower than measured would not hold."""
    return f"{math.ceil(gb * 10) / 10:.1f}"


def capacity_rows(s: dict) -> list[dict]:
    """Cores and memory for a class, projected from one student's measured figures (assumptions: CLASS_SIZES)."""
    c = capacity(s)
    rows = []
    for n in CLASS_SIZES:
        training = max(1, round(n * TRAINING_SHARE))
        cores = max(2, math.ceil(training * c["cores"] / SLOWDOWN))
        all_at_once = math.ceil(n * c["cores"] / SLOWDOWN)
        memory = math.ceil(n * c["memory_gb"])
        nodes = max(math.ceil(cores / NODE[0]), math.ceil(memory / NODE[1]))
        rows.append(
            {
                "students": str(n),
                "training at once": str(training),
                "cores": str(cores),
                "memory": f"{memory} GB",
                "per student: cpu guarantee / limit": f"{cores / n:.2f} / 2",
                "per student: memory guarantee / limit": f"{_up(c['memory_gb'])} GB / {_up(c['memory_limit_gb'])} GB",
                f"servers of {NODE[0]} cores, {NODE[1]} GB": str(nodes),
                "cores if all train at once": str(all_at_once),
            }
        )
    return rows


def guide_block(results: dict) -> str:
    """docs/instructors.md's capacity block: the measured figures, then the projection (see capacity_rows)."""
    if not (s := results.get("class")):
        return f"Not measured yet: {RUN} as root (its class section starts a hub)."
    c, when = capacity(s), s["machine"]["date"][:10]
    measured = (
        f"**Measured** (`make bench`, class section, {when}, {s['cores']} cores; [results.md]"
        "(../benchmarks/results.md#class)): one student's server holds "
        f"{c['server_gb']:.2f} GB; the largest kernel peaks at {c['peak_gb']:.2f} GB (notebook "
        f"{c['largest'].split('_')[0]}) and a finished one keeps up to {c['idle_gb']:.2f} GB while it stays open; a "
        f"training notebook keeps up to {c['cores']:.2f} cores busy (notebook {c['busiest'].split('_')[0]}) when its "
        "student is alone."
    )
    projected = (
        f"**Projected** from those figures, not measured: a third of the class trains at any moment, and each "
        f"training may take up to {SLOWDOWN:g}× as long as it does alone on 2 cores, so a training student needs "
        f"{c['cores'] / SLOWDOWN:.2f} cores; each student has one notebook running and one earlier kernel open "
        f"({_up(c['memory_gb'])} GB). The last column is the 10:05 case: everybody presses Run All on a training "
        "notebook at once."
    )
    return "\n\n".join([measured, projected + model_check(s), table(capacity_rows(s)), helm_values(s, 30)])


def model_check(s: dict) -> str:
    """The projection's CPU model (a run shares the cores evenly) against the most crowded measured round."""
    rounds, c = _class_rounds(s), capacity(s)
    k, nb = max(s["settings"]["students"]), c["busiest"]
    if k == 1 or (k, nb) not in rounds or (1, nb) not in rounds:
        return ""
    predicted = max(1.0, k * c["cores"] / s["cores"])
    measured = rounds[k, nb]["wall_seconds"] / rounds[1, nb]["wall_seconds"]
    return (
        f" Check against the measurement: with {k} students on {s['cores']} cores, that model says notebook "
        f"{nb.split('_')[0]} takes {predicted:.1f}× as long as alone; it took {measured:.1f}×."
    )


def helm_values(s: dict, students: int) -> str:
    """Zero to JupyterHub's singleuser settings for a class of ``students`` (the capacity plan's row)."""
    c, row = capacity(s), next(r for r in capacity_rows(s) if r["students"] == str(students))
    guarantee = int(row["cores"]) / students
    lines = [
        f"For {students} students in Zero to JupyterHub's `config.yaml` (the same figures):",
        "",
        "```yaml",
        "singleuser:",
        "  cpu:",
        f"    guarantee: {guarantee:.2f}",
        "    limit: 2",
        "  memory:",
        f"    guarantee: {_up(c['memory_gb'])}G",
        f"    limit: {_up(c['memory_limit_gb'])}G",
        "```",
    ]
    return "\n".join(lines)


def update_guide(guide: str | os.PathLike, results: dict) -> bool:
    """Rewrite the instructor guide's capacity block; True if the file changed."""
    guide = Path(guide)
    text = guide.read_bytes().decode("utf-8")
    new = replace_block(text, guide_block(results), str(guide), GUIDE_START, GUIDE_END)
    if new != text:
        write_atomic(guide, new)
    return new != text


def results_md(results: dict) -> str:
    """results.md: the targets, the README's block, a table per section and the machine facts."""
    out = ["# Benchmark results", "", "Written by `python benchmarks/report.py` from its results file.", ""]
    out += ["## Targets (reported, not enforced)", "", table(targets(results)), ""]
    out += ["## Accuracy over seeds: the README's block", "", readme_block(results, "results.md"), ""]
    if acc := results.get("accuracy"):
        out += ["Which differences are beyond the noise (validation accuracy, Welch's t-test over seeds):", ""]
        out += [table(accuracy_significance(acc)), ""]
    for name in ("notebooks", "efficiency", "batch_size", "steps", "cnn", "gate", "threads", "class"):
        if name in ("threads", "class") and name not in results:  # measured as root: no line until then
            continue
        if not (s := results.get(name)):
            out += [f"## {name}", "", f"Not measured: `python benchmarks/bench.py --only {name}`.", ""]
            continue
        about, rows = globals()[f"{name}_md"](s, results)
        cores, load = s["machine"].get("cpus_usable") or s["machine"].get("cpu_count") or 1, s.get("load_at_start")
        about += " **Quick run: not representative.**" if s.get("quick") else ""
        about += f" **Busy: load {load:g} on {cores} cores at the start.**" if (load or 0) >= BUSY * cores else ""
        out += [f"## {name}", "", about, ""]
        for rows_ in rows if isinstance(rows, tuple) else (rows,):
            out += [table(rows_), ""]
    facts = pd.DataFrame({s: results[s]["machine"] for s in SECTIONS if s in results}).rename_axis("fact")
    return "\n".join([*out, "## Machine facts", "", table(facts.reset_index())]) + "\n"


def replace_block(text: str, block: str, origin: str = "README", start: str = MARK_START, end: str = MARK_END) -> str:
    """Put ``block`` between the markers; everything outside them stays byte for byte."""
    starts, ends = text.count(start), text.count(end)
    if starts != 1 or ends != 1:
        raise ReportError(f"{origin} has {starts} {start} and {ends} {end}: it needs exactly one of each")
    i, j = text.index(start) + len(start), text.index(end)
    if j < i:
        raise ReportError(f"{origin}: {end} comes before {start}")
    return text[:i] + "\n" + block.strip("\n") + "\n" + text[j:]


def update_readme(readme: str | os.PathLike, results: dict, results_md: str | os.PathLike, allow_quick=False) -> bool:
    """Rewrite the README's block; True if the file changed. Refuses a quick run unless allowed."""
    if (quick := [s for s in SECTIONS if s in results and results[s].get("quick")]) and not allow_quick:
        raise ReportError(f"{', '.join(quick)}: from a --quick run; the README needs a full one (or --allow-quick)")
    readme = Path(readme)
    link = Path(os.path.relpath(Path(results_md).resolve(), readme.resolve().parent)).as_posix()
    text = readme.read_bytes().decode("utf-8")
    new = replace_block(text, readme_block(results, link), str(readme))
    if new != text:
        write_atomic(readme, new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS, help="results to read")
    parser.add_argument("--readme", type=Path, help=f"Markdown file whose {MARK_START} block to rewrite")
    parser.add_argument("--guide", type=Path, help=f"Markdown file whose {GUIDE_START} block to rewrite")
    parser.add_argument("--allow-quick", action="store_true", help="let --quick results into the README")
    args = parser.parse_args(argv)
    try:
        results = load_results(args.results)
        md = write_atomic((args.results.parent, HERE)[args.results == RESULTS] / "results.md", results_md(results))
        print(f"wrote {md}")
        if args.readme:
            changed = update_readme(args.readme, results, md, allow_quick=args.allow_quick)
            print(f"{'updated' if changed else 'unchanged'}: {args.readme}")
        if args.guide:
            if results.get("class", {}).get("quick") and not args.allow_quick:
                raise ReportError("class: from a --quick run; the guide needs a full one (or --allow-quick)")
            print(f"{'updated' if update_guide(args.guide, results) else 'unchanged'}: {args.guide}")
    except (ReportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
