"""make test-hub: the course on a real JupyterHub, as a class uses it (scripts/class_hub.py builds the hub).

One instructor and three students, each a real Unix account whose server the hub's LocalProcessSpawner
starts as that user; the real proxy; the course installed once and the MNIST files in one shared
read-only folder. The students run notebook 01 and notebook 02's lesson (to its exercises: the
baseline trained on the full data, saved and checked) at the same time, through their own servers'
kernels over websockets as the browser does. Then nbgrader's exchange between the accounts: release,
fetch, submit (the solutions, a blank notebook, a wrong answer), collect, grade.py, release and fetch
feedback. Root only (it makes accounts); elsewhere the module is skipped and says why.
"""

from __future__ import annotations

import contextlib
import csv
import json
import pwd
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import class_hub  # noqa: E402

from conftest import WRONG, answered, hidden_lines  # noqa: E402

# skipped, not failed, where no hub can run (each test says why): `make test-hub` as a normal user exits 0
REASON = class_hub.why_not()
pytestmark = [pytest.mark.hub, pytest.mark.skipif(REASON is not None, reason=f"no class hub here: {REASON}")]

STUDENTS = ("ada", "ben", "cem")
NOTEBOOKS = REPO / "notebooks"
FIRST, SECOND = NOTEBOOKS / "01_data_exploration.ipynb", NOTEBOOKS / "02_baseline_model.ipynb"
ASSIGNMENT = "mnist"


def step(command: str, cwd: str = "~") -> str:
    """A cell that runs a command (a Python list expression) as the kernel's user, like a terminal would."""
    return (
        "import os, subprocess, sys\n"
        f"_r = subprocess.run({command}, cwd=os.path.expanduser({cwd!r}), capture_output=True, text=True)\n"
        "print(_r.stdout[-6000:], _r.stderr[-6000:])\n"
        'assert _r.returncode == 0, f"exit code {_r.returncode}"'
    )


def nbgrader(*args: str) -> str:
    return repr([*args]).replace("[", '[sys.executable, "-m", "nbgrader", ', 1)


def ok(hub, name: str, code: str) -> str:
    return everyone_ok(hub, {name: code})[name]


def everyone_ok(hub, code: dict[str, str]) -> dict[str, str]:
    """Each user runs their cell in a new kernel, all at the same time; every one must succeed."""
    runs = hub.run_together({name: [("step.ipynb", [cell])] for name, cell in code.items()})
    for name, (run,) in runs.items():
        assert run["error"] is None, f"{name}: {run['error']}\n{''.join(run['outputs'])[-6000:]}"
    return {name: "".join(run["outputs"]) for name, (run,) in runs.items()}


@pytest.fixture(scope="module")
def hub():
    stack = contextlib.ExitStack()
    with stack:
        # three students share 2 cores: each kernel's thread pools sized to 1 CPU, as an instructor sets it for an
        # oversubscribed server (docs/instructors.md, "CPU")
        hub = stack.enter_context(
            class_hub.class_hub(["teacher", *STUDENTS], admin="teacher", environment={"MNIST_CPUS": "1"})
        )
        hub.stack = stack  # the last test closes it and checks what is left
        hub.start_servers("teacher", *STUDENTS)
        yield hub


def test_students_run_the_first_notebooks_at_the_same_time(hub):
    shared = class_hub.snapshot(hub.env, hub.data)
    plan = {}
    for name in STUDENTS:  # each student saves the notebooks into their own folder, through their own server
        for path in (FIRST, SECOND):
            hub.put(name, f"series/{path.name}", json.loads(path.read_text()))
        plan[name] = [
            (f"series/{FIRST.name}", [*class_hub.code_cells(FIRST), class_hub.REPORT]),
            (f"series/{SECOND.name}", [*class_hub.code_cells(SECOND, before_exercises=True), class_hub.REPORT]),
        ]
    runs = hub.run_together(plan)

    for name, (first, second) in runs.items():
        for run in (first, second):
            assert run["error"] is None, f"{name}, {run['path']}: {run['error']}\n{run['outputs'][-1][-3000:]}"
            report = json.loads(run["outputs"][-1])
            assert report["user"] == hub.users[name]  # the kernel ran as the student
            assert report["threads"] == "1"  # helpers sized TensorFlow's pools from the hub's MNIST_CPUS
        model = hub.home(name) / "series" / "models" / "baseline.keras"  # notebook 02 saved the student's model
        assert model.is_file() and model.stat().st_uid == pwd.getpwnam(hub.users[name]).pw_uid, model
    # at the same time: every student's notebook 02 was still running when the last one started
    seconds = {name: (r[1]["started"], r[1]["started"] + r[1]["seconds"]) for name, r in runs.items()}
    assert max(s for s, _ in seconds.values()) < min(e for _, e in seconds.values()), seconds
    # nobody wrote into the shared course or data
    assert class_hub.snapshot(hub.env, hub.data) == shared
    # a student's token opens their own server and no one else's
    assert hub.api("GET", f"/user/{hub.users['ben']}/api/contents", token=hub.tokens["ada"])[0] == 403
    assert hub.api("GET", f"/user/{hub.users['ada']}/api/contents", token=hub.tokens["ada"])[0] == 200


def test_nbgrader_exchange_between_real_accounts(hub):
    teacher, clone = hub.home("teacher"), hub.home("teacher") / "mnist-keras-course"
    for part in ("grade.py", "kernel_sandbox.py", "submission_checks.py", "nbgrader_config.py"):  # the teacher's clone
        (clone / "grading").mkdir(parents=True, exist_ok=True)
        (clone / "grading" / part).write_bytes((REPO / "grading" / part).read_bytes())
    (clone / "notebooks").mkdir()
    (clone / "notebooks" / FIRST.name).write_bytes(FIRST.read_bytes())
    class_hub.give(clone, hub.users["teacher"])
    course = "~/course"
    grade = f'[sys.executable, "grading/grade.py", "--course", os.path.expanduser({course!r})]'
    new_course = grade.replace("]", ', "--source", "notebooks/01_data_exploration.ipynb"]')
    release = step(new_course, "~/mnist-keras-course") + "\n" + step(nbgrader("release_assignment", ASSIGNMENT), course)
    ok(hub, "teacher", release)  # each teacher's and students' step is one cell, in a fresh kernel

    hidden = hidden_lines(FIRST)
    everyone_ok(hub, {name: step(nbgrader("fetch_assignment", ASSIGNMENT)) for name in STUDENTS})
    fetched = {}
    for name in STUDENTS:
        status, model = hub.api(
            "GET", f"/user/{hub.users[name]}/api/contents/{ASSIGNMENT}/{FIRST.name}", token=hub.tokens[name]
        )
        assert status == 200, model
        fetched[name] = model["content"]
        text = json.dumps(fetched[name])
        assert "HIDDEN TESTS" not in text and not [line for line in hidden if json.dumps(line)[1:-1] in text], name
    work = {
        "ada": answered(fetched["ada"], FIRST, {}),
        "ben": fetched["ben"],
        "cem": answered(fetched["cem"], FIRST, WRONG),
    }
    for name in STUDENTS:
        hub.put(name, f"{ASSIGNMENT}/{FIRST.name}", json.loads(nbformat.writes(nbformat.from_dict(work[name]))))
    everyone_ok(hub, {name: step(nbgrader("submit", ASSIGNMENT)) for name in STUDENTS})

    collect_and_grade = [step(nbgrader("collect", ASSIGNMENT), course), step(grade, "~/mnist-keras-course")]
    graded = ok(hub, "teacher", "\n".join([*collect_and_grade, step(nbgrader("release_feedback", ASSIGNMENT), course)]))
    assert "FAILED" not in graded and "Needs a look" not in graded, graded[-3000:]
    submitted = sorted(p.name for p in (teacher / "course" / "submitted").iterdir())
    assert submitted == sorted(hub.users[n] for n in STUDENTS)

    with (teacher / "course" / "grades.csv").open() as f:
        scores = {
            row["student_id"]: float(row["score"]) for row in csv.DictReader(f) if row["assignment"] == ASSIGNMENT
        }
    points = {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
        for c in nbformat.read(FIRST, 4).cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }  # autograded: the code cells
    full = sum(points.values())
    expected = {"ada": full, "ben": 0, "cem": full - points["ex2_check"]}
    assert scores == {hub.users[n]: float(score) for n, score in expected.items()}

    said = everyone_ok(hub, {name: step(nbgrader("fetch_feedback", ASSIGNMENT)) for name in STUDENTS})
    pages = {}
    for name in STUDENTS:
        found = sorted((hub.home(name) / ASSIGNMENT / "feedback").glob(f"*/{FIRST.stem}.html"))
        assert len(found) == 1, (name, said[name])
        pages[name] = found[0]
        text = found[0].read_text()
        assert "HIDDEN TESTS" not in text and not [line for line in hidden if line in text], name
    assert "CheckFailed" in pages["cem"].read_text() and "CheckFailed" not in pages["ada"].read_text()

    # a student reads their own feedback, and not another's, nor the exchange's lists, nor the gradebook
    probe = (
        "import os\n"
        "for p in {paths!r}:\n"
        "    try:\n"
        "        (os.listdir if os.path.isdir(p) else open)(p)\n"
        "        print('read', p)\n"
        "    except PermissionError:\n"
        "        print('refused', p)\n"
    )
    exchange = hub.exchange / class_hub.COURSE_ID
    others = [pages["ben"], exchange / "inbound", exchange / "feedback", teacher / "course" / "gradebook.db"]
    said = ok(hub, "ada", probe.format(paths=[str(p) for p in [pages["ada"], *others]])).splitlines()
    assert said == [f"read {pages['ada']}", *(f"refused {p}" for p in others)]


def test_the_hub_stops_and_leaves_nothing_behind(hub):
    root, accounts = hub.root, list(hub.users.values())
    uids = [pwd.getpwnam(a).pw_uid for a in accounts]
    homes = [Path(pwd.getpwnam(a).pw_dir) for a in accounts]
    hub.stack.close()
    assert hub.process.returncode is not None
    assert class_hub.processes_under(str(root)) == []
    left = subprocess.run(["ps", "-e", "-o", "uid="], capture_output=True, text=True).stdout.split()
    assert not set(map(int, left)) & set(uids)
    for user in accounts:
        with pytest.raises(KeyError):
            pwd.getpwnam(user)
    assert not root.exists() and not any(h.exists() for h in homes)


def test_as_a_normal_user_these_tests_skip_and_say_why():
    """What `make test-hub` runs, as the account nobody: every test skipped, pytest exits 0 (so the target passes)."""
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    if not (class_hub.world_usable(Path(__file__)) and class_hub.world_usable(site / "pytest")):
        pytest.skip("this clone or its environment is private to its owner, so another account cannot run its tests")
    nobody = pwd.getpwnam("nobody")
    command = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    command += [class_hub.shared_python(), "-m", "pytest", "-m", "hub", "-p", "no:cacheprovider", "-rs", __file__]
    with tempfile.TemporaryDirectory(prefix="hub-as-nobody-") as home:
        Path(home).chmod(0o777)
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "PYTHONPATH": str(site)}
        done = subprocess.run(command, cwd=home, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tests = len(re.findall(r"^def test_", Path(__file__).read_text(), re.M))
    assert f" {tests} skipped in " in done.stdout and "runs as root" in done.stdout, done.stdout[-3000:]
