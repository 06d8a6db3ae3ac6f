"""Benchmark the notebook series: run time, training efficiency, batch size, and accuracy over seeds.

    python benchmarks/bench.py                     # every section (about 90 min on 2 cores; class about 55)
    python benchmarks/bench.py --only accuracy     # rerun one section (or several), keep the others
    python benchmarks/bench.py --quick             # smoke test, tiny settings -> build/bench-quick/
    python benchmarks/bench.py --out FOLDER        # write results.json and results.md there

Sections: notebooks, efficiency (the notebooks' path against bare_keras.py), batch_size, accuracy, steps, cnn,
gate, threads (1, 2, 4 students training at once under a CPU limit, with and without helpers' thread setting;
needs root and a cgroup cpu controller), class (1, 2, 4 students "Run All" each notebook at once on a real
JupyterHub, scripts/class_hub.py; needs root). Every training runs in a fresh process as the notebooks
train: load_mnist, train_val_split, x.astype("float32") / 255.0, and the model's recipe in
helpers.models.RECIPES (epochs, batch size, builder).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "scripts")]
from helpers.files import write_atomic  # noqa: E402
from helpers.results import RESULTS  # noqa: E402

import report  # noqa: E402

SEED = 42  # notebook 02's seed
ENV = dict(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", JUPYTER_PREFER_ENV_PATH="1", PYTHONNOUSERSITE="1")
FULL = {"notebooks": {"runs": 3, "only_first": False}, "efficiency": {"pairs": 4, "epochs": 6, "n_train": None}}
FULL["batch_size"] = {"batch_sizes": [32, 128, 512], "epochs": None, "n_train": None}  # None: the recipe's
FULL["accuracy"] = {"seeds": [0, 1, 2, 3, 4], "epochs": None, "n_train": None}
FULL["steps"] = {"seeds": [0, 1, 2, 3, 4], "n_train": None}
FULL["cnn"] = {"seeds": [0, 1, 2], "epochs": None, "n_train": None}  # equal epochs; None: the improved model's
FULL["gate"] = {"seeds": [0, 1, 2, 3, 4], "n_train": None}
FULL["threads"] = {"students": [1, 2, 4], "epochs": None, "n_train": None}  # students at once, sharing the cores
QUICK = {"runs": 1, "only_first": True, "pairs": 1, "epochs": 2, "n_train": 6000, "seeds": [0, 1]}  # where a key fits
FULL["class"] = {"students": [1, 2, 4], "notebooks": None}  # None: every notebook, in series order
QUICK_SECTION = {
    "threads": {"epochs": 1, "n_train": 2000},
    "class": {"students": [1, 2], "notebooks": ["01"]},
}  # a section's own quick settings, over QUICK's
SET_BY_HELPERS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "PJRT_NPROC")  # helpers.cpu
THREAD_VARS = ("MNIST_CPUS", "NPROC", *SET_BY_HELPERS)


class BenchError(RuntimeError):
    """A measurement could not be made; the message says which and why."""


class BenchSkipped(BenchError):
    """A measurement this machine cannot make (no root or cgroups for the threads section): skipped, not failed."""


def machine_facts() -> dict:
    """CPU, cores, RAM, OS and versions: no host name, user name or path."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []  # Linux
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), platform.machine())
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ram_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    system = f"{platform.system()} {platform.release()} ({platform.machine()})"
    facts = {"cpu_model": cpu, "cpu_count": os.cpu_count(), "cpus_usable": usable, "ram_gb": ram_gb, "os": system}
    versions = {"python": platform.python_version(), "keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow")}
    versions |= {p: version(p) for p in ("tensorflow", "keras", "numpy")}
    return facts | versions | {"date": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}


def run_worker(task: dict) -> dict:
    """Run ``task`` in a fresh process (bare_keras.py for "bare", else work_series); return its result."""
    bare = task["task"] == "bare"
    script, task = (
        ([HERE / "bare_keras.py"], {k: v for k, v in task.items() if k != "task"})
        if bare
        else ([HERE / "bench.py", "--worker"], task)
    )
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        cmd = [sys.executable, *script, json.dumps(task), Path(tmp) / "result.json"]
        proc = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            raise BenchError(f"{script[0].name} {task} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        return json.loads((Path(tmp) / "result.json").read_text())


def work_series(model: str, seeds: list[int], epochs=None, batch_size=None, n_train=None) -> dict:
    """Train ``model`` once per seed as its notebook does: accuracy and seconds of each training."""
    from helpers import models as m  # helpers first, as in the notebooks: it quiets TensorFlow's start-up
    from helpers.data import load_mnist
    from helpers.training import EpochTimer, train_val_split

    import keras

    (x, y), (x_test, y_test) = load_mnist(verbose=False)
    (x_train, y_train), (x_val, y_val) = train_val_split(x, y)
    x_train, x_val, x_test = (x.astype("float32") / 255.0 for x in (x_train[:n_train], x_val, x_test))
    y_train = y_train[:n_train]

    baseline, improved, cnn = (m.RECIPES[name] for name in ("baseline", "improved", "cnn"))

    def build_adam(learning_rate):  # notebook 04's steps: the baseline's layers with another optimizer
        def build(n, e):
            net = baseline["build"](n)
            net.compile(optimizer=keras.optimizers.Adam(learning_rate(n, e)), loss=net.loss, metrics=["accuracy"])
            return net

        return build

    # name: (build(n_train, epochs), the recipe whose epochs and batch size it trains with). The improved
    # model's and the CNN's builders take the epochs too: their learning-rate schedule spans the training.
    builders = {
        "baseline": (lambda n, e: baseline["build"](n), baseline),
        "seed_improved": (lambda n, e: m.build_seed_improved(), baseline),  # notebook 04 trains it as the baseline
        "batch512": (build_adam(lambda n, e: 1e-3), improved),  # Adam's default rate, batches of 512
        "batch512_lr3e-3": (build_adam(lambda n, e: m.IMPROVED_PEAK_LR), improved),  # the peak rate, constant
        "schedule": (build_adam(m.improved_schedule), improved),  # ... decaying (cosine)
        "improved": (improved["build"], improved),
        **{
            "cnn" if body == "strided" else f"cnn_{body}": (lambda n, e, body=body: cnn["build"](n, e, body=body), cnn)
            for body in m.CNN_BODIES
        },
    }
    build, recipe = builders[model]
    fit = {"epochs": epochs or recipe["epochs"], "batch_size": batch_size or recipe["batch_size"]}
    runs = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        net, timer, start = build(len(x_train), fit["epochs"]), EpochTimer(), time.perf_counter()
        net.fit(x_train, y_train, validation_data=(x_val, y_val), callbacks=[timer], verbose=0, **fit)
        run = {"seed": seed, "val_accuracy": float(net.evaluate(x_val, y_val, verbose=0)[1])}
        run["test_accuracy"] = float(net.evaluate(x_test, y_test, verbose=0)[1])
        runs.append(run | {"train_seconds": time.perf_counter() - start, "epoch_seconds": timer.seconds})
        parameters = net.count_params()
        keras.backend.clear_session()
    samples = {"train_samples": len(x_train), "validation_samples": len(x_val), "test_samples": len(x_test)}
    return {"model": model, "parameters": parameters, **fit, **samples, "runs": runs}


def bench_notebooks(settings: dict) -> dict:
    """Headless "Run All" of every notebook, each in a fresh kernel, ``runs`` times in series order."""
    from run_notebooks import run_one

    paths = sorted((HERE.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))[: 1 if settings["only_first"] else None]
    seconds, failures = {p.name: [] for p in paths}, []
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as tmp:
        for run in range(1, settings["runs"] + 1):
            for src in paths:
                ok, s, error = run_one(src, Path(tmp) / src.name)
                seconds[src.name].append(round(s, 3))
                failures += [] if ok else [{"run": run, "notebook": src.name, "error": error}]
                print(f"[notebooks] run {run} {src.name:32s} {s:6.1f} s {'' if ok else error}", flush=True)
    return {"settings": settings, "seconds": seconds, "failures": failures}


def bench_efficiency(settings: dict) -> dict:
    """The notebooks' path against bare_keras.py on the seed baseline, one process each, alternating."""
    from helpers.data import load_mnist
    from helpers.models import RECIPES

    import numpy as np

    fit = {"epochs": settings["epochs"], "n_train": settings["n_train"]}
    fit["batch_size"] = RECIPES["baseline"]["batch_size"]  # both paths at notebook 02's batch size
    order = (["series", "bare", "bare", "series"] * settings["pairs"])[: 2 * settings["pairs"]]
    runs = {"series": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        (x_train, y_train), (x_test, y_test) = load_mnist(verbose=False)
        np.savez(f"{tmp}/mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        series = {"task": "series", "model": "baseline", "seeds": [SEED]}
        bare = {"task": "bare", "data": f"{tmp}/mnist.npz", "seed": SEED}
        for path in order:
            runs[path].append(run_worker({"series": series, "bare": bare}[path] | fit))
    facts, runs["series"] = runs["series"][-1], [r["runs"][0] for r in runs["series"]]
    if any(run["parameters"] != facts["parameters"] for run in runs["bare"]):
        raise BenchError("bare_keras.py's model has a different parameter count from build_baseline()")
    keep = {k: facts[k] for k in ("parameters", "epochs", "batch_size", "train_samples", "validation_samples")}
    return {"settings": settings, "model": "baseline", "seed": SEED, **keep, "order": order, **runs}


def bench_batch_size(settings: dict) -> dict:
    """The seed baseline at several batch sizes, one process each, notebook 02's seed."""
    runs = []
    for batch_size in settings["batch_sizes"]:
        fit = {"batch_size": batch_size, "epochs": settings["epochs"], "n_train": settings["n_train"]}
        facts = run_worker({"task": "series", "model": "baseline", "seeds": [SEED], **fit})
        steps = -(-facts["train_samples"] // batch_size)
        runs.append({"batch_size": batch_size, "steps_per_epoch": steps, **facts["runs"][0]})
    keep = {k: facts[k] for k in ("epochs", "train_samples", "validation_samples")}
    return {"settings": settings, "model": "baseline", "seed": SEED, **keep, "runs": runs}


def bench_accuracy(settings: dict) -> dict:
    """Each model over the seeds, one process per model, trained as its notebook trains it."""
    models, fit = {}, {"seeds": settings["seeds"], "epochs": settings["epochs"], "n_train": settings["n_train"]}
    for name in ("baseline", "seed_improved", "schedule", "improved", "cnn"):
        models[name] = run_worker({"task": "series", "model": name, **fit})
        samples = {k: models[name].pop(k) for k in ("train_samples", "validation_samples", "test_samples")}
    return {"settings": settings, "seeds": settings["seeds"], **samples, "models": models}


def bench_steps(settings: dict) -> dict:
    """Notebook 04's bundle taken apart: batches of 512, then the peak rate, each alone, over the seeds."""
    fit, models = {"seeds": settings["seeds"], "n_train": settings["n_train"]}, {}
    for name in ("batch512", "batch512_lr3e-3"):
        models[name] = run_worker({"task": "series", "model": name, **fit})
        samples = {k: models[name].pop(k) for k in ("train_samples", "validation_samples", "test_samples")}
    return {"settings": settings, "seeds": settings["seeds"], **samples, "models": models}


def bench_cnn(settings: dict) -> dict:
    """The CNN against the improved MLP at equal budgets, and the CNN candidates, on validation data.

    Equal epochs: both at ``epochs`` (default: the improved model's), and the CNN at its recipe's. Equal
    time: the MLP for as many epochs as take it as long as one CNN training here. Candidates: ``CNN_BODIES``.
    """
    from helpers.models import CNN_BODIES, RECIPES

    fit = {"seeds": settings["seeds"], "n_train": settings["n_train"]}
    equal = settings["epochs"] or RECIPES["improved"]["epochs"]  # the equal-epochs budget
    rows = []

    def row(model: str, epochs: int, budget: str) -> dict:
        rows.append(run_worker({"task": "series", "model": model, "epochs": epochs, **fit}) | {"budget": budget})
        print(f"[cnn] {model} {epochs} epochs ({budget}) done", flush=True)
        return rows[-1]

    cnn = row("cnn", RECIPES["cnn"]["epochs"], "the CNN's recipe")
    mlp = row("improved", equal, "equal epochs")
    row("cnn", equal, "equal epochs")
    cnn_s = sum(r["train_seconds"] for r in cnn["runs"])
    mlp_s_per_epoch = sum(sum(r["epoch_seconds"]) / len(r["epoch_seconds"]) for r in mlp["runs"])
    row("improved", max(1, round(cnn_s / mlp_s_per_epoch)), "equal time")
    for body in (b for b in CNN_BODIES if b != "strided"):
        row(f"cnn_{body}", equal, "candidate")
    samples = {k: rows[0][k] for k in ("train_samples", "validation_samples", "test_samples")}
    for r in rows:
        for k in samples:
            r.pop(k)
    return {"settings": settings, "seeds": settings["seeds"], **samples, "rows": rows}


def work_gate(seeds: list[int], n_train=None) -> dict:
    """Train notebook 08's gate once per seed; its threshold on validation digits, its refusals on test."""
    from helpers import models, nodigit
    from helpers.data import load_mnist
    from helpers.training import train_val_split

    import keras
    import numpy as np

    (x, y), (x_test, _) = load_mnist(verbose=False)
    (x_train, _), (x_val, _) = train_val_split(x, y)
    x_train, x_val, x_test = (a.astype("float32") / 255.0 for a in (x_train[:n_train], x_val, x_test))
    drawn = {split: nodigit.prepare(nodigit.not_digits(*nodigit.DRAWS[split])[0]) for split in ("train", "test")}
    x_gate, y_gate, class_weight = nodigit.gate_training_set(x_train, drawn["train"][0])  # as notebook 08
    not_digits, refused_by_preprocessing = drawn["test"]
    n = len(not_digits)
    x_val, _ = nodigit.prepare(list(x_val))  # the threshold is chosen on validation digits, as in notebook 08
    x_test, _ = nodigit.prepare(list(x_test))  # as notebook 08 measures them: through to_mnist, like any picture
    runs = []
    for s in seeds:
        start = time.perf_counter()
        model = models.train("gate", x_gate, y_gate, seed=s, class_weight=class_weight, verbose=0)
        gate = nodigit.Gate(model, threshold=0.0)
        gate.threshold = nodigit.threshold_for(gate.scores(x_val))
        refused = ~gate.accepts(not_digits) | refused_by_preprocessing
        run = {"seed": s, "threshold": gate.threshold, "test_digits_refused": float(np.mean(~gate.accepts(x_test)))}
        runs.append(run | {"test_not_digits_refused": float(refused.mean()), "seconds": time.perf_counter() - start})
        keras.backend.clear_session()
    return {"test_not_digits": n, "test_digits": len(x_test), "runs": runs}


def bench_gate(settings: dict) -> dict:
    """Notebook 08's digit gate over seeds: its threshold and what it refuses on test data."""
    facts = run_worker({"task": "gate", "seeds": settings["seeds"], "n_train": settings["n_train"]})
    return {"settings": settings, "seeds": settings["seeds"], **facts}


def work_threads(**fit) -> dict:
    """work_series on the baseline, and the CPUs and thread settings this process ended up with."""
    from helpers.cpu import available_cpus

    env = {k: os.environ.get(k) for k in SET_BY_HELPERS}
    return work_series("baseline", [SEED], **fit) | {"cpus": available_cpus(), "env": env}


def cpu_controller() -> tuple[Path, str]:
    """A cgroup folder under which this process can make children with a CPU quota, and its kind."""
    from helpers.cpu import writable_cpu_controller

    if found := writable_cpu_controller():
        return found
    raise BenchSkipped(
        "needs root and a writable cgroup cpu controller (v1 /sys/fs/cgroup/cpu, or v2 with cpu enabled), "
        "to put each student in a cgroup with a CPU limit"
    )


def run_students(k: int, cpus: float, env: dict, fit: dict) -> list[dict]:
    """k workers at once, each in a cgroup of its own limited to ``cpus`` CPUs; seconds and exit of each."""
    from helpers.cpu import cpu_limited_cgroup

    controller, children = cpu_controller(), []
    with tempfile.TemporaryDirectory(prefix="bench-threads-") as tmp, contextlib.ExitStack() as cgroups:
        try:
            for i in range(k):
                procs = cgroups.enter_context(cpu_limited_cgroup(f"mnist-bench-{os.getpid()}-{i}", cpus, controller))
                task = json.dumps({"task": "threads", **fit})
                join = 'echo $$ > "$0" && exec "$@"'  # into the cgroup before Python starts a thread
                cmd = ["sh", "-c", join, procs, sys.executable, HERE / "bench.py", "--worker", task]
                result, log = Path(tmp) / f"{i}.json", Path(tmp) / f"{i}.log"
                with log.open("wb") as stderr:
                    proc = subprocess.Popen([*map(str, cmd), str(result)], cwd=HERE.parent, env=env, stderr=stderr)
                children.append((proc, time.perf_counter(), result))
            ends, deadline = {}, time.perf_counter() + 3600
            while len(ends) < k:  # each one's end as it comes, so that no student waits for another's
                if time.perf_counter() > deadline:
                    raise BenchError(f"{k} students at once: still running after an hour")
                ends |= {
                    i: time.perf_counter()
                    for i, (proc, _, _) in enumerate(children)
                    if i not in ends and proc.poll() is not None
                }
                time.sleep(0.05)
            students = []
            for i, (proc, start, result) in enumerate(children):
                run = {"wall_seconds": ends[i] - start, "returncode": proc.returncode}
                if proc.returncode == 0:
                    facts = json.loads(result.read_text())
                    run |= {k: facts[k] for k in ("cpus", "env", "epochs", "batch_size", "train_samples")}
                    run |= {k: facts["runs"][0][k] for k in ("train_seconds", "test_accuracy")}
                else:
                    run["stderr"] = result.with_suffix(".log").read_text(errors="replace")[-2000:]
                students.append(run)
            return students
        finally:  # before the cgroups are removed
            for proc, _, _ in children:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


def bench_threads(settings: dict) -> dict:
    """1, 2, 4 students training notebook 02's baseline at once on the cores, each limited to cores/k CPUs.

    With: helpers reads the limit and sizes the thread pools to it. Without: MNIST_CPUS=cores, the pools
    TensorFlow starts by default (one thread per core it may be scheduled on).
    """
    cpu_controller()  # root and a cgroup, or a BenchError that says what is missing
    cores = len(os.sched_getaffinity(0))
    fit = {"epochs": settings["epochs"], "n_train": settings["n_train"]}
    base = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}  # each worker decides from its cgroup
    rows, failures = [], []
    for i, k in enumerate(settings["students"]):
        order = [("with", base), ("without", base | {"MNIST_CPUS": str(cores)})][:: -1 if i % 2 else 1]  # alternate
        for setting, env in order:
            start = time.perf_counter()
            runs = run_students(k, cores / k, env, fit)
            row = {
                "students": k,
                "cpus_each": cores / k,
                "setting": setting,
                "wall_seconds": time.perf_counter() - start,
            }
            rows.append(row | {"runs": runs})
            failures += [{"students": k, "setting": setting, **run} for run in runs if run["returncode"]]
            walls = ", ".join(f"{run['wall_seconds']:.1f}" for run in runs)
            print(f"[threads] {k} students, {cores / k:g} CPUs each, {setting} the setting: {walls} s", flush=True)
    done = next((run for row in rows for run in row["runs"] if not run["returncode"]), {})
    keep = {k: done.get(k) for k in ("epochs", "batch_size", "train_samples")}
    data = {"settings": settings, "model": "baseline", "seed": SEED, "cores": cores, **keep, "rows": rows}
    return data | ({"failures": failures} if failures else {})


def bench_class(settings: dict) -> dict:
    """A class on a real JupyterHub (scripts/class_hub.py): 1, 2 and 4 students "Run All" each notebook at once.

    Every student is a Unix account with a server of their own; each notebook runs in a fresh kernel over its
    websocket, the students of a round side by side, notebook by notebook in series order (so all of them
    are on the same notebook, as when a class is told "now run 02"). Each round starts in new folders, so
    the notebooks train their models as on a first Run All. Per kernel: peak and final resident memory and
    CPU seconds; per round: the wall time until the last student's notebook finished.
    """
    import class_hub

    if reason := class_hub.why_not():
        raise BenchSkipped(reason)
    paths = sorted((HERE.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if settings["notebooks"]:
        paths = [p for p in paths if p.name[:2] in settings["notebooks"]]
    cells = {p.name: class_hub.code_cells(p) for p in paths}
    names = [f"student{i}" for i in range(1, max(settings["students"]) + 1)]
    rows, failures = [], []
    with class_hub.class_hub(names) as hub:
        hub.start_servers(*names)
        servers = {name: class_hub.resident_mb(hub.users[name]) for name in names}  # the servers alone, no kernel
        for k in settings["students"]:
            for name in names[:k]:  # new folders: the notebooks train their models afresh
                folder = hub.home(name) / f"round{k}"
                shutil.copytree(HERE.parent / "notebooks", folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
                class_hub.give(folder, hub.users[name])
            for path in paths:
                plan = {name: [(f"round{k}/{path.name}", [*cells[path.name], class_hub.REPORT])] for name in names[:k]}
                start = time.perf_counter()
                runs = hub.run_together(plan, timeout=3600)
                wall = time.perf_counter() - start
                students = []
                for name, (run,) in runs.items():
                    report_line = run["outputs"][-1] if not run["error"] else "{}"
                    students.append({"seconds": run["seconds"], "error": run["error"], **json.loads(report_line)})
                    if run["error"]:
                        failures.append({"students": k, "notebook": path.name, "student": name, "error": run["error"]})
                rows.append({"students": k, "notebook": path.name, "wall_seconds": wall, "runs": students})
                print(f"[class] {k} at once, {path.name}: {wall:.0f} s", flush=True)
    data = {"settings": settings, "cores": len(os.sched_getaffinity(0)), "server_mb": servers, "rows": rows}
    return data | ({"failures": failures} if failures else {})


def results_file(out: Path) -> Path:  # benchmarks/ keeps its results in the package: notebook 04 reads them
    return RESULTS if out.resolve() == HERE else out / "results.json"


def save_section(out: Path, name: str, data: dict) -> None:
    """Merge one finished section into the results (see results_file), then render OUT/results.md."""
    path, md = results_file(out), out / "results.md"
    old = report.load_results(path) if path.exists() else {}
    sections = {s: data if s == name else old[s] for s in report.SECTIONS if s == name or s in old}
    quick = any(section.get("quick") for section in sections.values())
    results = {"schema": report.SCHEMA, "quick": quick, "machine": data["machine"], **sections}
    write_atomic(path, json.dumps(results, indent=1) + "\n")
    write_atomic(md, report.results_md(results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny settings for a smoke test; results marked quick")
    parser.add_argument("--only", nargs="+", choices=report.SECTIONS, metavar="SECTION", help="only these sections")
    parser.add_argument("--out", type=Path, help="results folder (default: benchmarks/, build/bench-quick/ if quick)")
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        task = json.loads(args.worker[0])
        work = {"series": work_series, "gate": work_gate, "threads": work_threads}[task.pop("task")]
        Path(args.worker[1]).write_text(json.dumps(work(**task)))
        return 0
    out = args.out or (HERE.parent / "build" / "bench-quick" if args.quick else HERE)
    sections = args.only or report.SECTIONS
    try:
        existing = report.load_results(results) if (results := results_file(out)).exists() else {}
    except report.ReportError as exc:
        sys.exit(f"error: {exc}")
    if args.quick and (full := [s for s in sections if s in existing and not existing[s].get("quick")]):
        sys.exit(f"error: {results} holds full results for {', '.join(full)}: use another --out")
    os.environ.update(ENV | dict(os.environ))  # every worker and notebook kernel inherits these
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in sections:
        print(f"[{name}] starting", flush=True)
        facts, start = machine_facts(), time.perf_counter()
        load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
        try:
            quick = {k: v for k, v in QUICK.items() if k in FULL[name]} | QUICK_SECTION.get(name, {})
            settings = FULL[name] | (quick if args.quick else {})
            data = globals()[f"bench_{name}"](settings)
        except BenchSkipped as exc:
            print(f"[{name}] skipped: {exc}", file=sys.stderr, flush=True)
            continue
        except (BenchError, subprocess.TimeoutExpired) as exc:
            print(f"[{name}] FAILED: {exc}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        wall = round(time.perf_counter() - start, 1)
        head = {"quick": args.quick, "machine": facts, "load_at_start": load, "wall_seconds": wall}
        save_section(out, name, head | data)
        failed += [name] if data.get("failures") else []
        print(f"[{name}] done in {report.minutes(wall)}: {results_file(out)}, results.md", flush=True)
    if failed:
        print(f"error: {', '.join(failed)} did not complete (see above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
