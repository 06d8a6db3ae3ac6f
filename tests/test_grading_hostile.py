"""Hostile submissions, graded by grading/grade.py in one run with a correct one (alice's).

The assignment is a quiz that imports nothing, so that its kernels start in a second. Eight students
run an attack in an answer cell before the right answer, three hand in what nbgrader could not grade
or could be fooled by. Each is graded or stopped alone, with the reason in the summary; the
instructor's files are unchanged byte for byte; no secret of the grader and no hidden test reaches a
student; no kernel is left running. Where kernels do not run in a working bubblewrap sandbox, the
attacks only the sandbox stops are left out (tamper; the fork bomb where kernels run as root, whom the
process limit does not bind) and their tests skip. A second course is graded meanwhile with the
sandbox off: it still grades, says loudly that submissions run unconfined, and stops a student who
outlasts the time limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")

import test_grading
from sqlalchemy.exc import SAWarning
from test_grading import ASSIGNMENT, REPO, contents, environment, grade, gradebook

QUIZ = Path("quiz.ipynb")
CELL_TIMEOUT = 15  # seconds: the quiz's cells take milliseconds; endless loops are interrupted after this
STUDENT_TIMEOUT = 60  # seconds per student in the second course
MEMORY_LIMIT, MAX_PROCESSES = 2 * 2**30, 200
SECRET_ENV = "s3cr3t-" + uuid.uuid4().hex  # in the grader's environment: no kernel may see it
SECRET_FILE = "f1le-" + uuid.uuid4().hex  # in the grader's home folder
RUN_MARK = uuid.uuid4().hex  # in every kernel's environment: to find processes left behind
CELLS = [  # the quiz: grade_id, points (None: an answer cell), source
    ("ex1_answer", None, "### BEGIN SOLUTION\nanswer = 6 * 7\n### END SOLUTION"),
    ("ex1_check", 1, "assert answer == 42\nprint('Correct:', answer)\n### BEGIN HIDDEN TESTS\nassert answer - 42 == 0"),
    ("ex2_answer", None, "### BEGIN SOLUTION\nsquares = [i * i for i in range(4)]\n### END SOLUTION"),
    ("ex2_check", 2, "assert squares == [0, 1, 4, 9]"),
    ("ex3_written", 2, "### BEGIN SOLUTION\n42\n### END SOLUTION"),
]
ANSWERS = {grade_id: code.split("\n")[1] for grade_id, _, code in CELLS if "SOLUTION" in code}
FULL = 3  # the quiz's automatically graded points
REFUSED = {"garbled": "invalid notebook", "renamed": "altered grade cells", "linked": "notes.txt is a link"}
ATTEMPT = """import glob, os, sqlite3, time
def attempt(what, action, *args):
    try:
        action(*args)
        print("DONE", what, *args)
    except Exception as exc:
        print("cannot", what, *args, type(exc).__name__)
"""


def quiz() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    for grade_id, points, source in CELLS:
        cell = (nbformat.v4.new_markdown_cell if "written" in grade_id else nbformat.v4.new_code_cell)(source)
        cell.source += "\n### END HIDDEN TESTS" if "HIDDEN" in source else ""
        flags = {"solution": "SOLUTION" in source, "grade": points is not None, "locked": "SOLUTION" not in source}
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, "task": False, **flags}
        cell.metadata["nbgrader"].update({"points": points} if points else {})
        nb.cells.append(cell)
    return nb


def answered(release: Path, attack: tuple[str, str] = ("", ""), **change: dict) -> nbformat.NotebookNode:
    """The student version answered right; `attack`: (answer cell, code it runs first); `change`:
    grade_id=nbgrader metadata to change."""
    nb = nbformat.read(release / QUIZ, 4)
    for cell in nb.cells:
        grade_id = test_grading.meta(cell)["grade_id"]
        if grade_id in ANSWERS:
            cell.source = (attack[1] if attack[0] == grade_id else "") + "\n" + ANSWERS[grade_id]
        test_grading.meta(cell).update(change.get(grade_id, {}))
    return nb


def attacks(course: Path, home: Path) -> dict[str, tuple[str, str]]:
    """Each hostile student's answer cell and the code it runs there."""
    victim = course / "feedback" / "veteran" / ASSIGNMENT / QUIZ.with_suffix(".html")
    targets = [str(course / f / "alice" / ASSIGNMENT / QUIZ) for f in ("submitted", "autograded")]
    targets += [str(victim), str(course / "source" / ASSIGNMENT / QUIZ), str(course / "nbgrader_config.py")]
    tamper = f"""{ATTEMPT}
zero = "UPDATE grade SET manual_score = 0, auto_score = 0"
connect = lambda p: sqlite3.connect(f"file:{{p}}?mode=rw", uri=True)
for path in [{str(course / "gradebook.db")!r}, "../../../gradebook.db", "../gradebook.db"]:
    attempt("tamper", lambda p: connect(p).execute(zero).connection.commit(), path)
for path in {targets!r}:
    attempt("remove", os.remove, path)
for name in ["{QUIZ}", "quiz.html", "timestamp.txt"]:  # links where nbgrader writes, it hopes
    attempt("plant", lambda n: (os.path.lexists(n) and os.remove(n), os.symlink({str(victim)!r}, n)), name)"""
    snoop = f"""{ATTEMPT}
found = glob.glob("../../../source/*/*.ipynb") + glob.glob({str(course / "source" / "*" / "*.ipynb")!r})
found += glob.glob({str(REPO / "notebooks" / "*.ipynb")!r}) + glob.glob("*.ipynb")
print("found", len(found), "notebooks", [open(path).read() for path in found], In, repr(_ih))"""
    spy = f"""{ATTEMPT}
print(sorted(os.environ.items()), "home:", os.path.expanduser("~"), os.listdir(os.path.expanduser("~")))
attempt("read", lambda: print(open({str(home / "secret.txt")!r}).read()))"""
    forkbomb = f"""{ATTEMPT}
children = 0
try:
    while True:
        children += 1 if os.fork() else time.sleep(10**6)  # the children sleep
except OSError as exc:
    print(f"fork failed after {{children}} children: {{type(exc).__name__}}")"""
    stubborn = "import time\nwhile True:\n    try:\n        time.sleep(1)\n    except BaseException:\n        pass"
    return {
        "tamper": ("ex1_answer", tamper),
        "snoop": ("ex2_answer", snoop),  # after ex1_check ran: its hidden test is in the history
        "spy": ("ex1_answer", spy),
        "endless": ("ex1_answer", "while True:\n    pass"),
        "stubborn": ("ex1_answer", stubborn),  # catches the interrupt
        "flood": ("ex1_answer", "print('y' * 5_000_000, flush=True)\nprint('x' * 20_000_000)\nprint(*range(10**5))"),
        "forkbomb": ("ex1_answer", forkbomb),
        "hog": ("ex1_answer", "hog = b'x' * (4 * 2**30)"),
    }


def leftover_kernels() -> list[Path]:
    """Processes with this test run's mark in their environment."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            found += [environ.parent] if f"MNIST_TEST_RUN={RUN_MARK}".encode() in environ.read_bytes() else []
    return found


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    course, second, home = tmp / "course", tmp / "second-course", tmp / "instructor-home"
    home.mkdir()
    (home / "secret.txt").write_text(SECRET_FILE)
    env = environment(tmp, HOME=str(home), GRADER_SECRET_TOKEN=SECRET_ENV, MNIST_TEST_RUN=RUN_MARK)
    nbformat.write(quiz(), tmp / QUIZ)
    source = ["--source", str(tmp / QUIZ)]
    check = grade(course, "--check-sandbox", *source, env=env)  # how grade.py will run kernels here
    ran = [line for line in check.stdout.splitlines() if line.startswith("Submissions run in:")]
    assert check.returncode == 0 and ran, check.stdout + check.stderr
    as_root = " as root" in ran[0]  # the process limit does not bind root
    # unconfined: as the grader; unprivileged: unconfined, as another user than the grader (root)
    kind = "bubblewrap" if "bubblewrap" in ran[0] else "unconfined" if as_root or os.getuid() else "unprivileged"
    setup = grade(course, *source, env=env)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    release = course / "release" / ASSIGNMENT
    # what must not change: a student graded by hand before (manual score, earlier feedback)
    with gradebook(course) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own add_submission, as the formgrader runs it
        gb.update_or_create_student("veteran")
        gb.add_submission(ASSIGNMENT, "veteran")
        gb.find_grade("ex3_written", QUIZ.stem, ASSIGNMENT, "veteran").manual_score = 2
        gb.db.commit()
    earlier = course / "feedback" / "veteran" / ASSIGNMENT / QUIZ.with_suffix(".html")
    earlier.parent.mkdir(parents=True)
    earlier.write_text("<html>veteran's feedback from an earlier grading</html>")

    hostile = attacks(course, home)
    if kind == "unconfined":  # kernels run as the grader: only the sandbox or another user stops this
        hostile.pop("tamper")
    if as_root:
        hostile.pop("forkbomb")
    submissions = {"alice": answered(release), **{s: answered(release, attack) for s, attack in hostile.items()}}
    submissions.update(renamed=answered(release, ex2_check={"grade_id": "ex2_x"}), linked=answered(release))
    for student, nb in {**submissions, "garbled": answered(release)}.items():
        (course / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / ASSIGNMENT / QUIZ)
    garbled = course / "submitted" / "garbled" / ASSIGNMENT / QUIZ
    garbled.write_text(garbled.read_text()[:500])
    (course / "submitted" / "linked" / ASSIGNMENT / "notes.txt").symlink_to(home / "secret.txt")
    before = {name: contents(course / name) for name in ("source", "release", "submitted/alice")}
    before.update(notebooks=contents(REPO / "notebooks"), veteran=earlier.read_bytes())

    # the second course, in the background: the sandbox off; sleeper outlasts the time limit
    sleeper = answered(release, ("ex1_answer", "import time\ntime.sleep(1000)"))
    for student, nb in {"carol": answered(release, ("ex1_answer", hostile["spy"][1])), "sleeper": sleeper}.items():
        (second / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(nb, second / "submitted" / student / ASSIGNMENT / QUIZ)
    command = [sys.executable, str(test_grading.GRADE), "--course", str(second), *source]
    command += ["--student-timeout", str(STUDENT_TIMEOUT)]
    with (tmp / "second.log").open("w") as log:
        off = {**env, "MNIST_GRADING_SANDBOX": "off"}
        job = subprocess.Popen(command, cwd=REPO, env=off, stdout=log, stderr=subprocess.STDOUT)
    try:
        limits = ["--cell-timeout", str(CELL_TIMEOUT), "--memory-limit", str(MEMORY_LIMIT)]
        run = grade(course, *source, *limits, "--max-processes", str(MAX_PROCESSES), env=env, timeout=1500)
        (tmp / "main.log").write_text(run.stdout + run.stderr)  # for a look after a failure
        second_run = (second, job.wait(timeout=900), (tmp / "second.log").read_text())
    finally:
        job.kill()
    students = {*submissions, "garbled"}
    return dict(course=course, run=run, kind=kind, students=students, before=before, home=home, second=second_run)


def needs_sandbox(hostile, student: str) -> None:
    if student not in hostile["students"]:
        pytest.skip(f"kernels run {hostile['kind']} here: only the sandbox (or a user other than root) stops it")


def outputs(course: Path, student: str) -> str:
    nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / QUIZ, 4)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def feedback(hostile, student: str) -> Path:
    return hostile["course"] / "feedback" / student / ASSIGNMENT / QUIZ.with_suffix(".html")


def summary_line(log: str, student: str) -> str:
    """The student's line in grade.py's summary of points."""
    summary = log.split("Automatically graded points")[-1].splitlines()
    lines = [line for line in summary if line.startswith(f"  {student} ")]
    assert lines, f"{student} is not in the summary:\n{log[-3000:]}"
    return lines[0]


def scores(course: Path) -> dict[str, float]:
    with gradebook(course) as gb:
        return {s.student.id: s.code_score for s in gb.find_assignment(ASSIGNMENT).submissions}


def test_the_run_succeeds_and_says_how_submissions_ran(hostile):
    run = hostile["run"]
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("Submissions run in:"))
    if hostile["kind"] == "bubblewrap":
        assert "bubblewrap sandbox" in line and "network: none" in line
    else:
        assert "UNCONFINED" in line and "WARNING" in run.stdout
    assert (hostile["course"] / "grades.csv").is_file()
    assert leftover_kernels() == []


@pytest.mark.parametrize(
    ("student", "expected", "points"),
    [
        *[(student, "3 / 3", FULL) for student in ("alice", "tamper", "snoop", "spy", "flood", "forkbomb")],
        ("endless", "2 / 3", FULL - 1),  # ex1 interrupted, the rest graded
        ("stubborn", "FAILED: timeout", None),
        ("hog", "FAILED: over the memory limit", None),
        *[(student, f"REFUSED: {reason}", None) for student, reason in REFUSED.items()],
    ],
)
def test_each_student_is_graded_or_stopped_alone(hostile, student, expected, points):
    needs_sandbox(hostile, student)
    course = hostile["course"]
    assert expected in summary_line(hostile["run"].stdout, student)
    if points is not None:
        assert scores(course)[student] == points
        assert ("Correct: 42" in test_grading.text_of(feedback(hostile, student))) == (points == FULL)
        return
    assert not feedback(hostile, student).exists() and student in (course / "needs-review.txt").read_text()
    if student in REFUSED:  # moved aside with the reason, never run
        moved = course / "refused" / student / ASSIGNMENT
        assert (moved / QUIZ).is_file() and REFUSED[student] in moved.with_name(f"{ASSIGNMENT}.txt").read_text()
        assert not (course / "submitted" / student / ASSIGNMENT).exists()
        assert not (course / "autograded" / student).exists()


def test_the_instructors_files_are_unchanged(hostile):
    course, before = hostile["course"], hostile["before"]
    assert {name: contents(course / name) for name in ("source", "release", "submitted/alice")} == {
        name: before[name] for name in ("source", "release", "submitted/alice")
    }
    assert contents(REPO / "notebooks") == before["notebooks"]
    assert feedback(hostile, "veteran").read_bytes() == before["veteran"]
    assert (course / "nbgrader_config.py").read_bytes() == test_grading.CONFIG.read_bytes()
    with gradebook(course) as gb:
        manual = {  # grading writes automatic scores only: no manual score but the veteran's
            (s.student.id, g.name): g.manual_score
            for s in gb.find_assignment(ASSIGNMENT).submissions
            for g in gb.find_submission_notebook(QUIZ.stem, ASSIGNMENT, s.student.id).grades
            if g.manual_score is not None
        }
        assert manual == {("veteran", "ex3_written"): 2}
        cells = {c.name: c.max_score for c in gb.find_notebook(QUIZ.stem, ASSIGNMENT).grade_cells}
        assert cells == {"ex1_check": 1, "ex2_check": 2, "ex3_written": 2}


def test_no_hidden_test_and_no_secret_reaches_a_student(hostile):
    hidden = test_grading.hidden_lines(hostile["course"] / "source" / ASSIGNMENT / QUIZ)
    pages = list(hostile["course"].glob(f"feedback/*/{ASSIGNMENT}/*.html"))
    assert hidden and len(pages) >= 6
    for page in pages:
        text = page.read_text() + test_grading.text_of(page)
        assert "HIDDEN TESTS" not in text and not [line for line in hidden if line in text], page
        assert SECRET_ENV not in text and (SECRET_FILE not in text or hostile["kind"] == "unconfined"), page
    # snoop printed the history, hidden test included: the graded notebook (the instructor's) has it
    assert json.dumps(hidden[0])[1:-1] in outputs(hostile["course"], "snoop")
    assert "[hidden test]" in test_grading.text_of(feedback(hostile, "snoop"))
    assert SECRET_FILE not in hostile["run"].stdout + hostile["run"].stderr


def test_tamper_changes_nothing(hostile):
    needs_sandbox(hostile, "tamper")
    out = outputs(hostile["course"], "tamper")
    assert "DONE tamper" not in out and "DONE remove" not in out and "cannot tamper" in out and "cannot remove" in out
    # the links it planted were in its own working folder, which the grader never reads or writes
    assert not any(p.is_symlink() for p in (hostile["course"] / "autograded" / "tamper").rglob("*"))


def test_snoop_and_spy_see_no_file_and_no_secret_of_the_grader(hostile):
    if hostile["kind"] == "bubblewrap":
        assert '"found 0 notebooks' in outputs(hostile["course"], "snoop")
    out = outputs(hostile["course"], "spy")
    assert "home:" in out and SECRET_ENV not in out and "GRADER_SECRET_TOKEN" not in out
    assert str(hostile["home"]) not in out  # not its home: the grader's HOME is not passed on
    assert hostile["kind"] == "unconfined" or (SECRET_FILE not in out and "cannot read" in out)


def test_endless_loop_and_flood_are_cut_short(hostile):
    course = hostile["course"]
    assert re.search("CellTimeoutError|KeyboardInterrupt", outputs(course, "endless"))
    graded = course / "autograded" / "flood" / ASSIGNMENT / QUIZ
    assert graded.stat().st_size < 3 * 2**20 and feedback(hostile, "flood").stat().st_size < 4 * 2**20
    out = outputs(course, "flood")
    assert out.count("output cut off") >= 2  # 5 MB cut to size; 20 MB and the rest dropped as they came
    assert "y" * 200_000 not in out and "x" * 100 not in out and "99999" not in out
    assert "ran out of time" in hostile["run"].stdout and "output cut off" in hostile["run"].stdout  # notes


def test_fork_bomb_is_bounded_by_the_process_limit(hostile):
    needs_sandbox(hostile, "forkbomb")
    found = re.search(r"fork failed after (\d+) children: (\w+)", outputs(hostile["course"], "forkbomb"))
    assert found and int(found[1]) < MAX_PROCESSES and found[2] == "BlockingIOError", found


def test_without_the_sandbox_grading_works_says_so_and_stops_a_student_past_the_time_limit(hostile):
    course, code, log = hostile["second"]
    assert code == 0 and "UNCONFINED" in log and "WARNING" in log and "MNIST_GRADING_SANDBOX=off" in log, log[-5000:]
    out = outputs(course, "carol")
    assert scores(course)["carol"] == FULL and "home:" in out and SECRET_ENV not in out  # a clean environment still
    line = summary_line(log, "sleeper")
    assert "FAILED: timeout" in line and f"{STUDENT_TIMEOUT} s" in line, line
    assert not (course / "autograded" / "sleeper" / ASSIGNMENT).exists()  # it starts afresh next time
    assert (course / "grades.csv").is_file() and leftover_kernels() == []
