"""Hostile submissions of a quiz, graded with alice's right one: each graded or stopped alone, the instructor's files
unchanged, no secret or hidden test shown, no kernel left; a second course, the sandbox off, still grades and warns."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import re
import uuid
import warnings
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")

import test_grading
from sqlalchemy.exc import SAWarning
from test_grading import ASSIGNMENT, REPO, contents, environment, grade, gradebook, meta, submit, text_of

QUIZ = Path("quiz.ipynb")
CELL_TIMEOUT, STUDENT_TIMEOUT = 15, 60  # seconds: a cell (the quiz's take milliseconds), a student (second course)
MEMORY_LIMIT, MAX_PROCESSES = 2 * 2**30, 200
SECRET_ENV, SECRET_FILE = "s3cr3t-" + uuid.uuid4().hex, "f1le-" + uuid.uuid4().hex  # the grader's environment, home
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
    try: action(*args); print("DONE", what, *args)
    except Exception as exc: print("cannot", what, *args, type(exc).__name__)
"""


def answered(release: Path, attack: tuple[str, str] = ("", ""), **change: dict) -> nbformat.NotebookNode:
    """The student version answered right; attack: (answer cell, code it runs first); change: grade_id=metadata."""
    nb = nbformat.read(release / QUIZ, 4)
    for cell in nb.cells:
        grade_id = meta(cell)["grade_id"]
        if grade_id in ANSWERS:
            cell.source = (ATTEMPT + attack[1] if attack[0] == grade_id else "") + "\n" + ANSWERS[grade_id]
        meta(cell).update(change.get(grade_id, {}))
    return nb


def attacks(course: Path, home: Path) -> dict[str, tuple[str, str]]:
    """Each hostile student's answer cell and the code it runs there (after ATTEMPT)."""
    victim = feedback(course, "veteran")
    targets = [str(course / f / "alice" / ASSIGNMENT / QUIZ) for f in ("submitted", "autograded")]
    targets += [str(victim), str(course / "source" / ASSIGNMENT / QUIZ), str(course / "nbgrader_config.py")]
    tamper = f"""zero = "UPDATE grade SET manual_score = 0, auto_score = 0"
connect = lambda p: sqlite3.connect(f"file:{{p}}?mode=rw", uri=True)
for path in [{str(course / "gradebook.db")!r}, "../../../gradebook.db", "../gradebook.db"]:
    attempt("tamper", lambda p: connect(p).execute(zero).connection.commit(), path)
for path in {targets!r}:
    attempt("remove", os.remove, path)
for name in ["{QUIZ}", "quiz.html", "timestamp.txt"]:  # links where nbgrader writes, it hopes
    attempt("plant", lambda n: (os.path.lexists(n) and os.remove(n), os.symlink({str(victim)!r}, n)), name)"""
    snoop = f"""found = glob.glob("../../../source/*/*.ipynb") + glob.glob({str(course / "source" / "*" / "*.ipynb")!r})
found += glob.glob({str(REPO / "notebooks" / "*.ipynb")!r}) + glob.glob("*.ipynb")
print("found", len(found), "notebooks", [open(path).read() for path in found], In, repr(_ih))"""
    spy = f"""print(sorted(os.environ.items()), "home:", os.path.expanduser("~"), os.listdir(os.path.expanduser("~")))
attempt("read", lambda: print(open({str(home / "secret.txt")!r}).read()))"""
    forkbomb = """children = 0
try:
    while True: children += 1 if os.fork() else time.sleep(10**6)  # the children sleep
except OSError as exc: print(f"fork failed after {children} children: {type(exc).__name__}")"""
    stubborn = "while True:\n    try:\n        time.sleep(1)\n    except BaseException:\n        pass"
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


def feedback(course: Path, student: str) -> Path:
    return course / "feedback" / student / ASSIGNMENT / QUIZ.with_suffix(".html")


def outputs(course: Path, student: str) -> str:
    nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / QUIZ, 4)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def instructors_files(course: Path) -> dict[str, object]:
    files = {name: contents(course / name) for name in ("source", "release", "submitted/alice")}
    return {**files, "notebooks": contents(REPO / "notebooks"), "veteran": feedback(course, "veteran").read_bytes()}


def summary_line(log: str, student: str) -> str:
    lines = [ln for ln in log.split("Automatically graded points")[-1].splitlines() if ln.startswith(f"  {student} ")]
    assert lines, f"{student} is not in the summary:\n{log[-3000:]}"
    return lines[0]


def scores(course: Path) -> dict[str, float]:
    with gradebook(course) as gb:
        return {s.student.id: s.code_score for s in gb.find_assignment(ASSIGNMENT).submissions}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    course, second, home = tmp / "course", tmp / "second-course", tmp / "instructor-home"
    home.mkdir()
    (home / "secret.txt").write_text(SECRET_FILE)
    env = environment(tmp, HOME=str(home), GRADER_SECRET_TOKEN=SECRET_ENV, MNIST_TEST_RUN=RUN_MARK)
    quiz = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    for grade_id, points, code in CELLS:
        cell = (nbformat.v4.new_markdown_cell if "written" in grade_id else nbformat.v4.new_code_cell)(code)
        cell.source += "\n### END HIDDEN TESTS" if "HIDDEN" in code else ""
        flags = {"solution": "SOLUTION" in code, "grade": points is not None, "locked": "SOLUTION" not in code}
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, "task": False, **flags}
        cell.metadata["nbgrader"].update({"points": points} if points else {})
        quiz.cells.append(cell)
    nbformat.write(quiz, tmp / QUIZ)
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
    feedback(course, "veteran").parent.mkdir(parents=True)
    feedback(course, "veteran").write_text("<html>veteran's feedback from an earlier grading</html>")

    # only the sandbox (or another user than the grader) stops tamper; the process limit does not bind root
    left_out = {"tamper": kind == "unconfined", "forkbomb": as_root}
    hostile = {student: attack for student, attack in attacks(course, home).items() if not left_out.get(student)}
    submissions = {"alice": answered(release), **{s: answered(release, attack) for s, attack in hostile.items()}}
    submissions.update(renamed=answered(release, ex2_check={"grade_id": "ex2_x"}), linked=answered(release))
    for student, nb in {**submissions, "garbled": answered(release)}.items():
        submitted = submit(course, student, nb, QUIZ.name)
    submitted.write_text(submitted.read_text()[:500])  # garbled's, the last
    (course / "submitted" / "linked" / ASSIGNMENT / "notes.txt").symlink_to(home / "secret.txt")
    before = instructors_files(course)

    # the second course, in the background: the sandbox off; sleeper outlasts the time limit
    submit(second, "carol", answered(release, ("ex1_answer", hostile["spy"][1])), QUIZ.name)
    submit(second, "sleeper", answered(release, ("ex1_answer", "time.sleep(1000)")), QUIZ.name)
    off = {**env, "MNIST_GRADING_SANDBOX": "off"}
    with concurrent.futures.ThreadPoolExecutor() as pool:
        second_run = pool.submit(grade, second, *source, "--student-timeout", str(STUDENT_TIMEOUT), env=off)
        limits = ["--cell-timeout", str(CELL_TIMEOUT), "--memory-limit", str(MEMORY_LIMIT)]
        run = grade(course, *source, *limits, "--max-processes", str(MAX_PROCESSES), env=env, timeout=1500)
        (tmp / "main.log").write_text(run.stdout + run.stderr)  # for a look after a failure
        done = second_run.result()
    students = {*submissions, "garbled"}
    return dict(course=course, run=run, kind=kind, students=students, before=before, home=home, second=(second, done))


def needs_sandbox(hostile, student: str) -> None:
    if student not in hostile["students"]:
        pytest.skip(f"kernels run {hostile['kind']} here: only the sandbox (or a user other than root) stops it")


def test_the_run_succeeds_changes_no_file_of_the_instructor_and_shows_students_no_secret(hostile):
    course, kind, run = hostile["course"], hostile["kind"], hostile["run"]
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("Submissions run in:"))
    if kind == "bubblewrap":
        assert "bubblewrap sandbox" in line and "network: none" in line
    else:
        assert "UNCONFINED" in line and "WARNING" in run.stdout
    assert (course / "grades.csv").is_file() and leftover_kernels() == []
    assert instructors_files(course) == hostile["before"]
    assert (course / "nbgrader_config.py").read_bytes() == test_grading.CONFIG.read_bytes()
    with gradebook(course) as gb:  # grading writes automatic scores only: no manual score but the veteran's
        ids = [s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions]
        grades = [(i, g) for i in ids for g in gb.find_submission_notebook(QUIZ.stem, ASSIGNMENT, i).grades]
        manual = {(i, g.name): g.manual_score for i, g in grades if g.manual_score is not None}
        cells = {c.name: c.max_score for c in gb.find_notebook(QUIZ.stem, ASSIGNMENT).grade_cells}
    assert manual == {("veteran", "ex3_written"): 2} and cells == {"ex1_check": 1, "ex2_check": 2, "ex3_written": 2}
    hidden = test_grading.hidden_lines(course / "source" / ASSIGNMENT / QUIZ)
    pages = list(course.glob(f"feedback/*/{ASSIGNMENT}/*.html"))
    assert hidden and len(pages) >= 6
    for page in pages:
        text = page.read_text() + text_of(page)
        assert "HIDDEN TESTS" not in text and not [line for line in hidden if line in text], page
        assert SECRET_ENV not in text and (SECRET_FILE not in text or kind == "unconfined"), page
    # snoop printed the history, hidden test included: the graded notebook (the instructor's) has it
    assert json.dumps(hidden[0])[1:-1] in outputs(course, "snoop")
    assert "[hidden test]" in text_of(feedback(course, "snoop")) and SECRET_FILE not in run.stdout + run.stderr
    assert kind != "bubblewrap" or '"found 0 notebooks' in outputs(course, "snoop")
    out = outputs(course, "spy")
    assert "home:" in out and SECRET_ENV not in out and "GRADER_SECRET_TOKEN" not in out, out[-3000:]
    assert str(hostile["home"]) not in out  # nor its home: the grader's HOME is not passed on
    assert kind == "unconfined" or (SECRET_FILE not in out and "cannot read" in out)


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
        assert ("Correct: 42" in text_of(feedback(course, student))) == (points == FULL)
        return
    assert not feedback(course, student).exists() and student in (course / "needs-review.txt").read_text()
    if student in REFUSED:  # moved aside with the reason, never run
        moved = course / "refused" / student / ASSIGNMENT
        assert (moved / QUIZ).is_file() and REFUSED[student] in moved.with_name(f"{ASSIGNMENT}.txt").read_text()
        assert not [f for f in (f"submitted/{student}/{ASSIGNMENT}", f"autograded/{student}") if (course / f).exists()]


@pytest.mark.parametrize("student", ["tamper", "forkbomb", "endless", "flood"])
def test_each_attack_fails_or_is_cut_short(hostile, student):
    needs_sandbox(hostile, student)
    course, log, out = hostile["course"], hostile["run"].stdout, outputs(hostile["course"], student)
    if student == "tamper":  # the links it planted were in its own working folder, which the grader never reads
        assert not re.search("DONE (tamper|remove)", out) and "cannot tamper" in out and "cannot remove" in out
        assert not any(p.is_symlink() for p in (course / "autograded" / "tamper").rglob("*"))
    elif student == "forkbomb":
        found = re.search(r"fork failed after (\d+) children: (\w+)", out)
        assert found and int(found[1]) < MAX_PROCESSES and found[2] == "BlockingIOError", found
    elif student == "endless":
        assert re.search("CellTimeoutError|KeyboardInterrupt", out) and "ran out of time" in log
    else:  # 5 MB cut to size; 20 MB and the rest dropped as they came; a note in the log
        graded = course / "autograded" / "flood" / ASSIGNMENT / QUIZ
        assert graded.stat().st_size < 3 * 2**20 and feedback(course, "flood").stat().st_size < 4 * 2**20
        assert out.count("output cut off") >= 2 and "output cut off" in log
        assert "y" * 200_000 not in out and "x" * 100 not in out and "99999" not in out


def test_without_the_sandbox_grading_works_says_so_and_stops_a_student_past_the_time_limit(hostile):
    course, done = hostile["second"]
    code, log = done.returncode, done.stdout + done.stderr
    assert code == 0 and "UNCONFINED" in log and "WARNING" in log and "MNIST_GRADING_SANDBOX=off" in log, log[-5000:]
    out = outputs(course, "carol")
    assert scores(course)["carol"] == FULL and "home:" in out and SECRET_ENV not in out  # a clean environment still
    line = summary_line(log, "sleeper")
    assert "FAILED: timeout" in line and f"{STUDENT_TIMEOUT} s" in line, line
    assert not (course / "autograded" / "sleeper" / ASSIGNMENT).exists()  # it starts afresh next time
    assert (course / "grades.csv").is_file() and leftover_kernels() == []
