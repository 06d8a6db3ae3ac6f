"""Grade the course's notebooks with nbgrader: what `make grade` runs.

    python grading/grade.py                         # course folder grading/course/
    python grading/grade.py --course ~/mnist-2025   # any other folder
    python grading/grade.py --source notebooks/01_data_exploration.ipynb   # a new course of one notebook
    python grading/grade.py --check-sandbox         # only say how submissions would run, then stop

The course folder is an ordinary nbgrader course (nbgrader's own layout):

    COURSE/nbgrader_config.py           copy of grading/nbgrader_config.py, refreshed on every run
    COURSE/source/mnist/                the instructor notebooks (copied from notebooks/ on the first run)
    COURSE/release/mnist/               the student versions (nbgrader generate_assignment)
    COURSE/submitted/STUDENT/mnist/     the students' notebooks: you put them here (or nbgrader collect)
    COURSE/autograded/STUDENT/mnist/    executed, with the hidden tests: for you, not for students
    COURSE/feedback/STUDENT/mnist/      HTML feedback without the hidden tests: return these
    COURSE/gradebook.db, COURSE/grades.csv
    COURSE/refused/STUDENT/mnist[-N]/   submissions this script refused, each with a .txt saying why
    COURSE/needs-review.txt             the students of the last run whose grading needs a look

Every run: refresh the config, lay out source/ if it is missing, and make the student versions
(`generate`, which `make student` runs too: `nbgrader generate_assignment`, again whenever source/
changed since release/ was made); then, when there are submissions, one student at a time: check
the submission (a broken or altered notebook is refused and moved to refused/), then `nbgrader
autograde mnist --student ID`, each kernel in a sandbox (grading/kernel_sandbox.py) with limits on
time, memory and processes; then `nbgrader generate_feedback` and `nbgrader export` for the class.
One student's submission can fail only that student's grading: the summary says which students
need a look and why, and this script exits non-zero only when the grading itself failed. autograde
skips what is up to date, so a second run grades only new or changed submissions; the feedback is
always written again (it then includes manual grades and comments from the formgrader). The
course's source/ is never replaced: it is what the students' version was made from. Delete
COURSE/source/ to start again from notebooks/.

Environment: MNIST_GRADING_SANDBOX=auto (default: the sandbox where it works, else unconfined with a
warning), =off (unconfined), =required (stop unless the sandbox works); MNIST_GRADING_USER, the
account kernels run as when this runs as root (default: nobody); MNIST_GRADING_BWRAP, the
bubblewrap program (default: bwrap on PATH).
"""

from __future__ import annotations

from helpers.files import course_folder

import argparse
import collections
import contextlib
import filecmp
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import kernel_sandbox
from submission_checks import check_submission

REPO = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).with_name("nbgrader_config.py")
ASSIGNMENT = "mnist"
IGNORED = ("__pycache__", "*.pyc", ".ipynb_checkpoints")
STUDENT_TIMEOUT = 7200  # seconds one student's grading may take in all (every cell also has its own limit)
LOG_LINES = 60  # lines of nbgrader's log shown per student; all of it when the grading failed (its end)
GiB = 2**30


def nbgrader_env() -> dict[str, str]:
    # nbgrader runs the `alembic` command of its own environment for its database;
    # the environment's own kernel wins over one in the user's home
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "JUPYTER_PREFER_ENV_PATH": "1"}


def nbgrader(course: Path, *args: str) -> None:
    """Run one nbgrader command in the course folder; stop on failure."""
    print(f"\n== nbgrader {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=nbgrader_env())
    if done.returncode != 0:
        raise SystemExit(f"nbgrader {args[0]} failed (exit code {done.returncode}, see above).")


def notebooks_in(paths: list[Path]) -> list[Path]:
    return [p for path in paths for p in (sorted(path.glob("*.ipynb")) if path.is_dir() else [path])]


def lay_out_source(source: Path, notebooks: list[Path]) -> None:
    """Copy the instructor notebooks (folders are copied whole, e.g. notebooks/ with its images/)."""
    staging = source.with_name(f".{source.name}.part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for path in notebooks:
        if path.is_dir():
            shutil.copytree(path, staging, ignore=shutil.ignore_patterns(*IGNORED), dirs_exist_ok=True)
        else:
            shutil.copy2(path, staging / path.name)
    staging.rename(source)  # source/ appears complete, or not at all


def differs(source: Path, notebooks: list[Path]) -> list[str]:
    """Names of the given notebooks that are not identical in the course's source/."""
    files = notebooks_in(notebooks)
    return [p.name for p in files if not (source / p.name).is_file() or not filecmp.cmp(p, source / p.name, False)]


def outdated(source: Path, release: Path) -> bool:
    """Whether release/ does not hold source/'s notebooks or is older than one of them."""
    made = {p.name: p.stat().st_mtime for p in release.glob("*.ipynb")}
    return made.keys() != {p.name for p in source.glob("*.ipynb")} or any(
        p.stat().st_mtime > made[p.name] for p in source.glob("*.ipynb")
    )


def generate(course: Path, notebooks: list[Path], *options: str) -> Path:
    """The one way to student versions: lay out COURSE as an nbgrader course (its config refreshed,
    source/ copied from `notebooks` unless it is there), then `nbgrader generate_assignment`.
    Returns release/ASSIGNMENT, the student versions. What `make grade` and `make student` run."""
    course.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CONFIG, course / "nbgrader_config.py")
    source, release = course / "source" / ASSIGNMENT, course / "release" / ASSIGNMENT
    new = not source.is_dir()
    if new:
        lay_out_source(source, notebooks)
        print(f"Course folder {course}: instructor notebooks copied to source/{ASSIGNMENT}/")
    elif changed := differs(source, notebooks):
        print(
            f"Note: {', '.join(changed)} in {source} differ from {', '.join(map(str, notebooks))}; this uses "
            "the course's copy (what its student versions are made from). Delete that folder to start again."
        )
    # nbgrader skips a release/ that exists, however old: it is made again when source/ is new or changed since,
    # or the gradebook (which holds the assignment) is gone
    if release.is_dir() and not new and not outdated(source, release) and (course / "gradebook.db").is_file():
        print(f"Student versions up to date: {release}")
        return release
    nbgrader(course, "generate_assignment", ASSIGNMENT, *(["--force"] if release.is_dir() else []), *options)
    return release


def submissions(course: Path) -> list[str]:
    return sorted(p.parent.name for p in (course / "submitted").glob(f"*/{ASSIGNMENT}") if p.is_dir())


# --- the sandbox -----------------------------------------------------------------------------------


@dataclass
class Sandbox:
    settings: dict  # what every student's kernel settings share (kernel_sandbox.launch reads them)
    summary: str  # one line for the instructor
    confined: bool
    tried: list[str] = field(default_factory=list)  # why the better ways did not work


def size(text: str) -> int:
    """'8G', '512M', '1.5G' or bytes."""
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def default_memory() -> int:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return min(8 * GiB, max(2 * GiB, total * 3 // 4))


def sandbox_user() -> list[int] | None:
    """uid and gid for kernels when this runs as root: $MNIST_GRADING_USER (a name or uid), else nobody."""
    if os.getuid() != 0:
        return None
    name = os.environ.get("MNIST_GRADING_USER", "nobody")
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except (KeyError, ValueError):
        if name.isdigit():
            return [int(name), int(name)]
        raise SystemExit(f"MNIST_GRADING_USER={name}: no such user") from None
    if entry.pw_uid == 0:
        raise SystemExit(f"MNIST_GRADING_USER={name} is root: name an unprivileged account")
    return [entry.pw_uid, entry.pw_gid]


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def python_paths(python: str) -> list[str]:
    """Folders a kernel started with `python` reads: its installation(s) and the `helpers` package."""
    code = (
        "import sys, json, importlib.util\n"
        "spec = importlib.util.find_spec('helpers')\n"
        "dirs = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]\n"
        "dirs += list(spec.submodule_search_locations or []) if spec else []\n"
        "print(json.dumps(dirs))"
    )
    done = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(done.stdout.splitlines()[-1])


def read_only_paths(python: str) -> list[str]:
    """What a sandboxed kernel sees read-only besides the system: Python, helpers, the MNIST data."""
    paths = python_paths(python) + python_paths(sys.executable)
    paths.append(str(course_folder("data", "MNIST_DATA_DIR")))
    if os.environ.get("MNIST_PATH"):
        paths.append(os.environ["MNIST_PATH"])
    found = []
    for path in paths:
        for form in (os.path.abspath(os.path.expanduser(path)), os.path.realpath(os.path.expanduser(path))):
            if os.path.exists(form) and form not in found and not form.startswith(("/usr/", "/etc/")):
                found.append(form)
    return sorted(found)


def choose_sandbox(course: Path, tmp: Path, python: str, limits: dict) -> Sandbox:
    """The best way to run kernels that works here: bubblewrap (as an unprivileged user when root),
    else unconfined. Each way is tried on a trivial command first."""
    mode = os.environ.get("MNIST_GRADING_SANDBOX", "auto").strip().lower()
    if mode not in {"auto", "off", "required"}:
        raise SystemExit(f"MNIST_GRADING_SANDBOX={mode}: use auto, off or required")
    read_only = read_only_paths(python)
    data_dir = str(course_folder("data", "MNIST_DATA_DIR"))
    env = {"MNIST_DATA_DIR": os.path.abspath(os.path.expanduser(data_dir))}
    if os.environ.get("MNIST_PATH"):
        env["MNIST_PATH"] = os.path.abspath(os.path.expanduser(os.environ["MNIST_PATH"]))
    base = {"limits": limits, "read_only": read_only, "env": env, "python": python}
    secret_places = [course / "gradebook.db", course / "source", course / "submitted", REPO / "notebooks"]
    hidden = kernel_sandbox.visible_inside(secret_places + [Path.home(), tmp / "jupyter"], read_only)
    user = sandbox_user()
    bwrap = os.environ.get("MNIST_GRADING_BWRAP") or shutil.which("bwrap")
    tried = []
    ways = []
    if mode != "off":
        if bwrap:
            ways += [("bubblewrap", u) for u in ([user, None] if user else [None])]
        else:
            tried.append("bubblewrap: not installed (Debian/Ubuntu: apt-get install bubblewrap)")
    if mode == "off":
        tried.append("the sandbox is switched off (MNIST_GRADING_SANDBOX=off)")
    if mode != "required":
        ways += [("unconfined", u) for u in ([user, None] if user else [None])]
    for number, (kind, who) in enumerate(ways):
        settings = {**base, "kind": kind, "user": who, "bwrap": bwrap, "events": str(tmp / "probe.events")}
        folder = tmp / f"probe-{number}"
        settings["home"] = str(folder / "home")
        folder.mkdir(mode=0o711)
        (folder / "home").mkdir(mode=0o755)
        sandboxed = kind == "bubblewrap"
        works, found = kernel_sandbox.probe(settings, folder, hidden if sandboxed else [], python, deep=sandboxed)
        shutil.rmtree(folder, ignore_errors=True)
        as_whom = f" as {user_name(who[0] if who else os.getuid())}"
        if not works:
            tried.append(f"{kind}{as_whom}: {found}")
            continue
        settings.pop("home")
        network = json.loads(found)["interfaces"]
        if kind == "bubblewrap":
            summary = (
                f"bubblewrap sandbox, kernels run{as_whom}: each sees only its own working folder and home, "
                f"the Python installation, helpers/ and the MNIST data (read-only); "
                f"network: {'none' if network == ['lo'] else ', '.join(network)}"
            )
        else:
            summary = f"UNCONFINED, kernels run{as_whom}"
        return Sandbox(settings, summary, kind == "bubblewrap", tried)
    raise SystemExit(
        "The grading sandbox does not work here and MNIST_GRADING_SANDBOX=required:\n  " + "\n  ".join(tried)
    )


def announce(sandbox: Sandbox, limits: dict) -> None:
    print(
        f"\nSubmissions run in: {sandbox.summary}.\nLimits per kernel: memory {limits['memory'] / GiB:.1f} GiB, "
        f"{limits['processes']} processes and threads, files of {limits['file_size'] / GiB:.1f} GiB at most.",
        flush=True,
    )
    if sandbox.confined:
        return
    bar = "!" * 100
    print(
        f"\n{bar}\n!!! WARNING: students' code runs UNCONFINED on this machine.\n"
        "!!! A submission can read and change whatever the account above can: the gradebook, the hidden\n"
        "!!! tests in source/, other students' work, your files; and use the network. Grade only\n"
        "!!! submissions you trust, or make the sandbox work (docs/instructors.md, 'Autograding').\n"
        + "".join(f"!!! Not available: {why}\n" for why in sandbox.tried)
        + bar,
        flush=True,
    )


def kernel_specs(notebooks: list[Path], folder: Path) -> list[str]:
    """Write sandboxed copies of the kernels the notebooks use into folder/kernels/; their Pythons."""
    from jupyter_client.kernelspec import KernelSpecManager

    names = {"python3"} if not notebooks else set()
    for path in notebooks:
        names.add(json.loads(path.read_text()).get("metadata", {}).get("kernelspec", {}).get("name", "python3"))
    manager = KernelSpecManager()
    pythons = []
    for name in sorted(names):
        spec = manager.get_kernel_spec(name).to_dict()
        argv = list(spec["argv"])
        argv[0] = shutil.which(argv[0]) or argv[0]
        pythons.append(argv[0])
        spec["argv"] = kernel_sandbox.kernel_command(argv)
        spec["interrupt_mode"] = "signal"
        target = folder / "kernels" / name
        target.mkdir(parents=True)
        (target / "kernel.json").write_text(json.dumps(spec, indent=1))
    return pythons


# --- one student ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    student: str
    status: str  # graded, up to date, refused, failed
    reason: str = ""
    notes: list[str] = field(default_factory=list)


def seed_home(home: Path) -> None:
    """A kernel's home: a copy of the instructor's models, and matplotlib's font list (saves seconds)."""
    models = course_folder("models", "MNIST_MODELS_DIR")
    (home / "models").mkdir(parents=True)
    for path in models.glob("*") if models.is_dir() else []:
        if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
            shutil.copyfile(path, home / "models" / path.name)
    (home / ".matplotlib").mkdir()
    xdg_cache = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser()
    caches = [os.environ.get("MPLCONFIGDIR"), xdg_cache / "matplotlib", "~/.matplotlib"]
    for cache in filter(None, caches):
        for path in sorted(Path(cache).expanduser().glob("fontlist-*.json")):
            shutil.copyfile(path, home / ".matplotlib" / path.name)


def run_logged(command: list[str], cwd: Path, env: dict, timeout: float) -> tuple[int | None, list[str]]:
    """Run a command, showing the first LOG_LINES lines of its output; (exit status or None if it
    ran out of time and was stopped, the last lines of its output)."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    tail: collections.deque[str] = collections.deque(maxlen=200)

    def read():
        for count, raw in enumerate(process.stdout):
            line = raw.decode("utf-8", "replace").rstrip()[:2000]
            tail.append(line)
            if count < LOG_LINES:
                print(f"   {line}", flush=True)
            elif count == LOG_LINES:
                print("   ... (more of nbgrader's log: shown below if the grading fails)", flush=True)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):  # the group may have ended meanwhile
            os.killpg(process.pid, signal.SIGKILL)  # the kernel's launcher sees nbgrader go and stops the kernel
        process.wait()
        code = None
    reader.join(timeout=10)
    return code, list(tail)


def failure_reason(log: list[str], events: list[dict], cell_timeout: int | None) -> str:
    text = "\n".join(log)
    limit = f"the {cell_timeout} s limit" if cell_timeout else "its time limit"
    memory = [e for e in events if e["event"] == "memory"]
    if memory:
        return f"over the memory limit: the kernel used {memory[-1]['used'] / GiB:.1f} GiB and was stopped"
    if "Timeout waiting for IOPub output" in text or "became unresponsive" in text:
        return f"timeout: a cell ran past {limit} and did not stop when interrupted"
    if "DeadKernelError" in text or "Kernel died" in text:
        return "the kernel died while it ran the notebook (the code crashed or ended it)"
    errors = [line for line in log if "Error" in line or "error" in line]
    return "nbgrader could not grade it: " + (errors[-1].strip()[:300] if errors else "see the log above")


def notes_from(autograded: Path) -> list[str]:
    """What the graded notebooks show that the instructor should know."""
    notes = []
    for path in sorted(autograded.glob("*.ipynb")):
        text = path.read_text(errors="replace")
        if "CellTimeoutError" in text:
            notes.append(f"{path.name}: a cell ran out of time (interrupted; it scores as failed)")
        if '"ename": "MemoryError"' in text:
            notes.append(f"{path.name}: a cell ran out of memory")
        if "[grading: output cut off here" in text:
            notes.append(f"{path.name}: output cut off (too much of it)")
    return notes


def refuse(course: Path, student: str, problems: list[str]) -> str:
    """Move the submission to refused/STUDENT/, with a .txt beside it saying why; return where it went."""
    folder = course / "refused" / student
    folder.mkdir(parents=True, exist_ok=True)
    target, number = folder / ASSIGNMENT, 1
    while target.exists() or target.with_suffix(".txt").exists():
        number += 1
        target = folder / f"{ASSIGNMENT}-{number}"
    submitted = course / "submitted" / student
    # a folder that is a link is moved as the link, never what it points at
    (submitted if submitted.is_symlink() else submitted / ASSIGNMENT).rename(target)
    target.with_name(target.name + ".txt").write_text(
        f"Submission of {student} for {ASSIGNMENT}, refused by grading/grade.py on {time.ctime()}:\n"
        + "".join(f"- {problem}\n" for problem in problems)
        + f"\nTo grade it after all, fix it and move it back to submitted/{student}/{ASSIGNMENT}/.\n"
    )
    return str(target.relative_to(course))


def grade_student(course: Path, student: str, tmp: Path, number: int, sandbox: Sandbox, args) -> Outcome:
    submitted = course / "submitted" / student / ASSIGNMENT
    print(f"\n== {student}", flush=True)
    problems, notes = check_submission(submitted, course / "release" / ASSIGNMENT, student)
    if problems:
        where = refuse(course, student, problems)
        for problem in problems:
            print(f"   refused: {problem}")
        return Outcome(student, "refused", f"{problems[0]} (moved to {where}/)", notes)
    autograded = course / "autograded" / student / ASSIGNMENT
    before = autograded.stat().st_mtime_ns if autograded.exists() else None
    state = tmp / f"s{number}"  # short: the kernel's sockets live in state/rt/
    home, runtime = state / "home", state / "rt"
    state.mkdir(mode=0o711)
    home.mkdir(mode=0o755)
    runtime.mkdir(mode=0o700)
    seed_home(home)
    settings = {**sandbox.settings, "home": str(home), "runtime_dir": str(runtime), "events": str(state / "events")}
    (state / "settings.json").write_text(json.dumps(settings))
    env = {
        **nbgrader_env(),
        "JUPYTER_PATH": str(tmp / "jupyter"),  # the sandboxed kernel specs, before any other
        "JUPYTER_RUNTIME_DIR": str(runtime),
        kernel_sandbox.SETTINGS_VARIABLE: str(state / "settings.json"),
    }
    command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--student", student]
    # the connection file (and, with the ipc transport, the sockets beside it) in the kernel's own folder
    command.append(f"--KernelManager.connection_file={runtime / 'kernel.json'}")
    if sandbox.settings["kind"] == "bubblewrap" and not sandbox.settings.get("share_network"):
        command.append("--KernelManager.transport=ipc")  # Unix sockets: the kernel has no network
    if args.cell_timeout:
        command.append(f"--Execute.timeout={args.cell_timeout}")
    code, log = run_logged(command, course, env, args.student_timeout)
    events = []
    if (state / "events").is_file():
        events = [json.loads(line) for line in (state / "events").read_text().splitlines() if line.strip()]
    shutil.rmtree(state, ignore_errors=True)
    if code == 0:
        if not autograded.exists() or autograded.stat().st_mtime_ns == before:
            return Outcome(student, "up to date", notes=notes)
        return Outcome(student, "graded", notes=notes + notes_from(autograded))
    if code is None:
        reason = f"timeout: grading took longer than the {args.student_timeout:g} s allowed per student; stopped"
        shutil.rmtree(autograded, ignore_errors=True)  # half graded: autograde starts again next time
    else:
        reason = failure_reason(log, events, args.cell_timeout)
        print("   ... the end of nbgrader's log:\n" + "\n".join(f"   {line}" for line in log[-40:]))
    if (course / "feedback" / student / ASSIGNMENT).exists():
        notes.append(f"feedback/{student}/{ASSIGNMENT}/ is from an earlier grading")
    print(f"   FAILED: {reason}", flush=True)
    return Outcome(student, "failed", reason, notes)


# --- the class -------------------------------------------------------------------------------------


def report(course: Path, outcomes: list[Outcome]) -> list[Outcome]:
    """Each student's automatically graded points, and what needs a look; returns the latter."""
    from nbgrader.api import Gradebook, MissingEntry
    from traitlets.config.loader import PyFileConfigLoader

    course_id = PyFileConfigLoader("nbgrader_config.py", str(course)).load_config().CourseDirectory.course_id
    print(f"\nAutomatically graded points, assignment {ASSIGNMENT}:")
    review = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=course_id) as gb:
        for outcome in outcomes:
            line = f"  {outcome.student:20s} "
            if outcome.status in {"graded", "up to date"}:
                try:
                    s = gb.find_submission(ASSIGNMENT, outcome.student)
                    manual = " (written answers: grade them in the formgrader)" if s.needs_manual_grade else ""
                    line += f"{s.code_score:g} / {s.max_code_score:g}{manual}"
                except MissingEntry:
                    line += "not in the gradebook"
            else:
                line += f"{outcome.status.upper()}: {outcome.reason}"
                review.append(outcome)
            print(line)
            for note in outcome.notes:
                print(f"  {'':20s}   note: {note}")
    print(f"Grades (all points): {course / 'grades.csv'}\nFeedback for students: {course / 'feedback'}/")
    lines = [f"{o.student}\t{o.status}: {o.reason}" for o in review]
    (course / "needs-review.txt").write_text(
        f"Grading of {ASSIGNMENT} on {time.ctime()}: "
        + (f"{len(review)} submission(s) need a look.\n" if review else "nothing needs a look.\n")
        + "".join(line + "\n" for line in lines)
    )
    if review:
        print(f"\nNeeds a look ({len(review)}, also in {course / 'needs-review.txt'}):")
        for outcome in review:
            print(f"  {outcome.student}: {outcome.reason}")
    return review


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=REPO / "grading" / "course", help="the course folder")
    parser.add_argument(
        "--source",
        type=Path,
        nargs="+",
        default=[REPO / "notebooks"],
        help="instructor notebooks or folders for a new course's source/ (default: notebooks/)",
    )
    parser.add_argument("--cell-timeout", type=int, help="seconds a cell may run (default: nbgrader_config.py's)")
    parser.add_argument(
        "--student-timeout", type=float, default=STUDENT_TIMEOUT, help="seconds per student, all told (default 7200)"
    )
    parser.add_argument("--memory-limit", type=size, default=default_memory(), help="memory per kernel, e.g. 8G")
    parser.add_argument(
        "--max-processes", type=int, default=max(512, 16 * (os.cpu_count() or 1)), help="processes and threads"
    )
    parser.add_argument("--check-sandbox", action="store_true", help="say how submissions would run, then stop")
    args = parser.parse_args(argv)
    course = args.course.expanduser().resolve()
    notebooks = [p.resolve() for p in args.source]
    limits = {"memory": args.memory_limit, "processes": args.max_processes, "file_size": GiB, "tmp_size": GiB}

    if args.check_sandbox:  # nothing in the course folder is made or changed
        files = notebooks_in(notebooks)
        with tempfile.TemporaryDirectory(prefix="mnist-grade-") as name:
            tmp = Path(name)
            tmp.chmod(0o711)
            pythons = kernel_specs(files, tmp / "jupyter")
            sandbox = choose_sandbox(course, tmp, pythons[0], limits)
        announce(sandbox, limits)
        return 0

    generate(course, notebooks)
    source = course / "source" / ASSIGNMENT

    students = submissions(course)
    if not students:
        print(
            f"\nNo submissions yet. Student versions: {course / 'release' / ASSIGNMENT}/\n"
            f"Put each student's notebooks in {course}/submitted/STUDENT_ID/{ASSIGNMENT}/ "
            "(or run `nbgrader collect mnist` there), then run this again."
        )
        return 0
    # short: a Unix socket's path has at most 107 characters
    short = None if len(tempfile.gettempdir()) < 40 else "/tmp"
    with tempfile.TemporaryDirectory(prefix="mnist-grade-", dir=short) as name:
        tmp = Path(name)
        tmp.chmod(0o711)  # the kernels' own folders inside are theirs; the rest is not
        pythons = kernel_specs(sorted(source.glob("*.ipynb")), tmp / "jupyter")
        sandbox = choose_sandbox(course, tmp, pythons[0], limits)
        announce(sandbox, limits)
        outcomes = [grade_student(course, s, tmp, n, sandbox, args) for n, s in enumerate(students)]
    graded = [o.student for o in outcomes if o.status in {"graded", "up to date"}]
    # always rewritten: it is quick, and it picks up manual grades and comments from the formgrader
    print(f"\n== nbgrader generate_feedback {ASSIGNMENT} --force", flush=True)
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--force"], cwd=course, env=nbgrader_env()
    )
    for outcome in outcomes if done.returncode != 0 else []:
        pages = list((course / "feedback" / outcome.student / ASSIGNMENT).glob("*.html"))
        if outcome.student in graded and (not pages or any(p.stat().st_mtime < started for p in pages)):
            outcome.status, outcome.reason = "failed", "its feedback could not be written (see nbgrader's log)"
    nbgrader(course, "export", "--to", "grades.csv")
    report(course, outcomes)
    unexplained = [o for o in outcomes if o.status == "failed" and o.reason.startswith("nbgrader could not")]
    if unexplained and not graded:
        print("\nNo submission could be graded, and nbgrader did not say why: the grading itself seems broken.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
