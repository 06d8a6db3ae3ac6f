"""Hostile submissions, graded in one run of grading/grade.py together with correct ones.

A class of 14 submissions of notebook 01 (which trains nothing): two correct ones, eight whose code
attacks the grading (each is the student version, answered, with one answer cell replaced by the
attack followed by the right answer), and four that nbgrader could not grade or could be fooled by.
What is asserted: the correct students get full marks; each hostile student fails alone, with its
reason in the summary, or is graded without doing harm; the instructor's files (the gradebook but for
the grading's own writes, source/, release/, the other students' folders) are unchanged byte for
byte; no hidden test reaches any feedback; grades.csv is written and grade.py exits 0.

| student  | what its code does                                                    | expected                       |
|----------|-----------------------------------------------------------------------|--------------------------------|
| tamper   | zeroes every score in gradebook.db with sqlite3, deletes the grader's | full marks, nothing changed    |
|          | files, plants links where nbgrader writes                              |                                |
| snoop    | globs ../../../source/*/*.ipynb and prints the history (In, _ih) with  | no hidden test in its feedback |
|          | the hidden tests of the check before                                   |                                |
| spy      | prints the environment, its home folder and the grader's secret file  | no secret in any output        |
| endless  | while True: pass                                                       | interrupted, graded, a note    |
| stubborn | a loop that catches KeyboardInterrupt                                  | FAILED: timeout                |
| flood    | prints 5 MB, 50 MB, then 100,000 lines                                 | small notebook and feedback    |
| forkbomb | forks until fork fails; the children sleep                             | bounded by the process limit   |
| hog      | allocates 5 GiB (the test's limit: 3 GiB)                              | FAILED: over the memory limit  |
| garbled  | invalid JSON                                                           | REFUSED: invalid notebook      |
| renamed  | ex2_check's grade_id changed                                           | REFUSED: altered grade cells   |
| flagged  | ex1_check marked as a solution                                         | REFUSED: altered grade cells   |
| linked   | a link to the grader's secret file beside the notebook                 | REFUSED: a link                |

Without the sandbox (bubblewrap missing or unable to make namespaces here) the class leaves out the
attacks that only the sandbox stops (tamper; forkbomb where kernels run as root, whom the process
limit does not bind), and the tests that need the sandbox skip, saying so. Two smaller courses are
graded at the same time, in the background: one with MNIST_GRADING_SANDBOX=off (grading still works
and warns that submissions run unconfined), one whose only cell outlasts the per-student time limit.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
GRADE = REPO / "grading" / "grade.py"
CONFIG = REPO / "grading" / "nbgrader_config.py"
NOTEBOOK = REPO / "notebooks" / "01_data_exploration.ipynb"
NB_ID = NOTEBOOK.stem
ASSIGNMENT = "mnist"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.M)
CELL_TIMEOUT = 30  # seconds: notebook 01's cells take a few; the endless loops are stopped after this
MEMORY_LIMIT = 3 * 2**30
MAX_PROCESSES = 200
SECRET_ENV = "s3cr3t-" + uuid.uuid4().hex  # in the grader's environment: no kernel may see it
SECRET_FILE = "f1le-" + uuid.uuid4().hex  # in the grader's home folder
RUN_MARK = uuid.uuid4().hex  # in every kernel's environment: to find processes left behind
CORRECT = ("alice", "bob")
REFUSED = {
    "garbled": "invalid notebook",
    "renamed": "altered grade cells",
    "flagged": "altered grade cells",
    "linked": "is a link",
}


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def answered(student_version: Path, replace: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The student version with the instructor's answers; `replace` puts other code in answer cells."""
    answers = {meta(c)["grade_id"]: c.source for c in nbformat.read(NOTEBOOK, 4).cells if meta(c).get("solution")}
    nb = nbformat.read(student_version, 4)
    for cell in nb.cells:
        if meta(cell).get("solution"):
            answer = SOLUTION_MARKER.sub("", answers[meta(cell)["grade_id"]])
            cell.source = (replace or {}).get(meta(cell)["grade_id"], "") + "\n" + answer
    return nb


def attacks(course: Path, home: Path) -> dict[str, dict[str, str]]:
    """Each hostile student's code, by the answer cell it goes into (before the right answer)."""
    victim = course / "feedback" / "veteran" / ASSIGNMENT / f"{NB_ID}.html"
    targets = [victim, course / "source" / ASSIGNMENT / NOTEBOOK.name, course / "nbgrader_config.py"]
    targets += [course / "submitted" / "alice" / ASSIGNMENT / NOTEBOOK.name]
    targets += [course / "autograded" / "alice" / ASSIGNMENT / NOTEBOOK.name]
    return {
        "tamper": {
            "ex1_answer": f"""
import os, sqlite3
for path in [{str(course / "gradebook.db")!r}, "../../../gradebook.db", "../gradebook.db"]:
    try:
        db = sqlite3.connect(f"file:{{path}}?mode=rw", uri=True)
        db.execute("UPDATE grade SET manual_score = 0, auto_score = 0")
        db.commit()
        print("TAMPERED", path)
    except Exception as exc:
        print("no gradebook:", path, type(exc).__name__)
for path in {[str(t) for t in targets]!r}:
    try:
        os.remove(path)
        print("REMOVED", path)
    except Exception as exc:
        print("cannot remove:", path, type(exc).__name__)
for name in ["{NOTEBOOK.name}", "{NB_ID}.html", "timestamp.txt"]:
    try:
        if os.path.lexists(name):
            os.remove(name)
        os.symlink({str(victim)!r}, name)
        print("planted a link:", name)
    except Exception as exc:
        print("cannot plant:", name, type(exc).__name__)
"""
        },
        "snoop": {
            "ex2_answer": f"""
import glob
found = glob.glob("../../../source/*/*.ipynb") + glob.glob({str(course / "source" / "*" / "*.ipynb")!r})
found += glob.glob({str(REPO / "notebooks" / "*.ipynb")!r}) + glob.glob("*.ipynb")
print("found", len(found), "notebooks")
for path in found:
    print(open(path).read())
print(In)
print(repr(_ih))
"""
        },
        "spy": {
            "ex3_answer": f"""
import os
print(sorted(os.environ.items()))
home = os.path.expanduser("~")
print("home:", home, sorted(os.listdir(home)))
try:
    print("secret:", open({str(home / "secret.txt")!r}).read())
except Exception as exc:
    print("cannot read the grader's home:", type(exc).__name__)
"""
        },
        "endless": {"ex1_answer": "while True:\n    pass"},
        "stubborn": {
            "ex1_answer": "import time\n\nwhile True:\n    try:\n        time.sleep(0.5)\n"
            "    except KeyboardInterrupt:\n        print('not stopping')"
        },
        "flood": {
            "ex1_answer": "print('y' * 5_000_000, flush=True)\nprint('x' * 50_000_000)\n"
            "for i in range(100_000):\n    print(i)"
        },
        "forkbomb": {
            "ex1_answer": """
import os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            while True:
                time.sleep(1)
        children += 1
except OSError as exc:
    print(f"fork failed after {children} children: {type(exc).__name__}")
"""
        },
        "hog": {"ex1_answer": "hog = b'x' * (5 * 2**30)"},
    }


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def text_of(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def outputs_of(path: Path) -> str:
    """Every output of a notebook as text."""
    nb = nbformat.read(path, 4)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def hidden_lines() -> list[str]:
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOK, 4).cells)
    return [line.strip() for block in HIDDEN.findall(source) for line in block.splitlines() if line.strip()]


def course_id() -> str:
    return PyFileConfigLoader(CONFIG.name, str(CONFIG.parent)).load_config().CourseDirectory.course_id


def scores(course: Path) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=course_id()) as gb:
        return {s.student.id: s.code_score for s in gb.find_assignment(ASSIGNMENT).submissions}


def full_marks() -> float:
    nb = nbformat.read(NOTEBOOK, 4)
    return sum(meta(c)["points"] for c in nb.cells if meta(c).get("grade") and c.cell_type == "code")


def summary_line(run: subprocess.CompletedProcess, student: str) -> str:
    """The student's line in grade.py's summary of points."""
    summary = run.stdout[run.stdout.rindex("Automatically graded points") :]
    lines = [line for line in summary.splitlines() if line.strip().startswith(f"{student} ")]
    assert lines, f"{student} is not in the summary:\n{summary}"
    return lines[0]


def leftover_kernels() -> list[int]:
    """Processes with this test run's mark in their environment."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if f"MNIST_TEST_RUN={RUN_MARK}".encode() in Path(entry.path, "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def sandbox_kind(env: dict) -> str:
    """How grade.py will run kernels here: 'bubblewrap' (the sandbox), 'bubblewrap as root' (the
    sandbox, but the process limit does not bind root), 'unprivileged' (unconfined, as another user
    than the grader) or 'unconfined' (as the grader's own user)."""
    done = subprocess.run(
        [sys.executable, str(GRADE), "--check-sandbox", "--source", str(NOTEBOOK)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("Submissions run in:"))
    as_root = " as root:" in line or line.rstrip(".").endswith(" as root")
    if "bubblewrap" in line:
        return "bubblewrap as root" if as_root else "bubblewrap"
    return "unprivileged" if os.getuid() == 0 and not as_root else "unconfined"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, one_check_notebook):
    tmp = tmp_path_factory.mktemp("hostile")
    home = tmp / "instructor-home"
    (home / ".cache").mkdir(parents=True)
    (home / "secret.txt").write_text(SECRET_FILE)
    real_cache = Path("~/.cache/matplotlib").expanduser()
    if real_cache.is_dir():  # saves each kernel rebuilding matplotlib's font list
        shutil.copytree(real_cache, home / ".cache" / "matplotlib")
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"),
        "JUPYTER_PREFER_ENV_PATH": "1",
        "PYTHONNOUSERSITE": "1",
        "GRADER_SECRET_TOKEN": SECRET_ENV,
        "MNIST_TEST_RUN": RUN_MARK,
    }
    kind = sandbox_kind(env)
    limits = ["--cell-timeout", str(CELL_TIMEOUT), "--memory-limit", str(MEMORY_LIMIT)]
    limits += ["--max-processes", str(MAX_PROCESSES)]

    def grade(course: Path, *extra: str, environment=None, source=NOTEBOOK):
        command = [sys.executable, str(GRADE), "--course", str(course), "--source", str(source), *extra]
        return subprocess.run(command, cwd=REPO, env=environment or env, capture_output=True, text=True, timeout=1500)

    def background(course: Path, log: Path, *extra: str, environment=None, source=NOTEBOOK):
        command = [sys.executable, str(GRADE), "--course", str(course), "--source", str(source), *extra]
        with log.open("w") as out:
            return subprocess.Popen(
                command, cwd=REPO, env=environment or env, stdout=out, stderr=subprocess.STDOUT, text=True
            )

    course = tmp / "course"
    setup = grade(course)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    student_version = course / "release" / ASSIGNMENT / NOTEBOOK.name

    # what must not change: a student graded by hand before (manual score, earlier feedback)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=course_id()) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own add_submission, as the formgrader runs it
        gb.update_or_create_student("veteran")
        gb.add_submission(ASSIGNMENT, "veteran")
        gb.find_grade("ex4_written", NB_ID, ASSIGNMENT, "veteran").manual_score = 2
        gb.db.commit()
    earlier = course / "feedback" / "veteran" / ASSIGNMENT / f"{NB_ID}.html"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("<html>veteran's feedback from an earlier grading</html>")

    # the class
    hostile = attacks(course, home)
    if kind == "unconfined":  # kernels run as the grader: only the sandbox or another user stops this
        hostile.pop("tamper")
    if kind in ("unconfined", "bubblewrap as root") and os.getuid() == 0:  # RLIMIT_NPROC does not bind root
        hostile.pop("forkbomb")
    submissions = {student: answered(student_version) for student in CORRECT}
    submissions.update({student: answered(student_version, code) for student, code in hostile.items()})
    renamed = answered(student_version)
    next(c for c in renamed.cells if meta(c).get("grade_id") == "ex2_check").metadata.nbgrader["grade_id"] = "ex2_x"
    flagged = answered(student_version)
    next(c for c in flagged.cells if meta(c).get("grade_id") == "ex1_check").metadata.nbgrader["solution"] = True
    submissions.update(renamed=renamed, flagged=flagged, linked=answered(student_version))
    for student, nb in submissions.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK.name)
    garbled = course / "submitted" / "garbled" / ASSIGNMENT
    garbled.mkdir(parents=True)
    (garbled / NOTEBOOK.name).write_text(nbformat.writes(answered(student_version))[:5000])
    (course / "submitted" / "linked" / ASSIGNMENT / "notes.txt").symlink_to(home / "secret.txt")

    before = {
        "source": hashes(course / "source"),
        "release": hashes(course / "release"),
        "submitted": {s: hashes(course / "submitted" / s) for s in CORRECT},
        "veteran": earlier.read_bytes(),
        "notebooks": hashes(REPO / "notebooks"),
    }

    # the two small courses, in the background
    unconfined, stuck = tmp / "unconfined-course", tmp / "stuck-course"
    for student, nb in {"carol": answered(student_version), "spy": answered(student_version, hostile["spy"])}.items():
        (unconfined / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(nb, unconfined / "submitted" / student / ASSIGNMENT / NOTEBOOK.name)
    (unconfined / "submitted" / "garbled" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(garbled / NOTEBOOK.name, unconfined / "submitted" / "garbled" / ASSIGNMENT)
    stuck_source = tmp / "stuck.ipynb"
    nbformat.write(
        one_check_notebook("Sleeps", "sleep_check", "import time\n\ntime.sleep(1000)"), stuck_source
    )  # past --student-timeout
    (stuck / "submitted" / "sleeper" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(stuck_source, stuck / "submitted" / "sleeper" / ASSIGNMENT)
    off = {**env, "MNIST_GRADING_SANDBOX": "off"}
    jobs = {
        "unconfined": background(unconfined, tmp / "unconfined.log", *limits, environment=off),
        "stuck": background(stuck, tmp / "stuck.log", "--student-timeout", "20", source=stuck_source),
    }
    try:
        run = grade(course, *limits)
        (tmp / "main.log").write_text(run.stdout + run.stderr)  # for a look after a failure
        codes = {name: job.wait(timeout=900) for name, job in jobs.items()}
    finally:
        for job in jobs.values():
            if job.poll() is None:
                job.kill()
    return {
        "course": course,
        "run": run,
        "kind": kind,
        "students": sorted(submissions) + ["garbled"],
        "before": before,
        "home": home,
        "unconfined": {"course": unconfined, "code": codes["unconfined"], "log": (tmp / "unconfined.log").read_text()},
        "stuck": {"course": stuck, "code": codes["stuck"], "log": (tmp / "stuck.log").read_text()},
    }


def needs(hostile, *kinds: str) -> None:
    if hostile["kind"] not in kinds:
        pytest.skip(
            f"kernels run {hostile['kind']} here, not in a working bubblewrap sandbox: only the sandbox stops "
            "this attack, and grade.py warns about it (install bubblewrap: see docs/instructors.md)"
        )


def graded_notebook(hostile, student: str) -> Path:
    return hostile["course"] / "autograded" / student / ASSIGNMENT / NOTEBOOK.name


# --- the class as a whole --------------------------------------------------------------------------


def test_the_run_succeeds_and_grades_the_class(hostile):
    run = hostile["run"]
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert len(hostile["students"]) >= 10
    with (hostile["course"] / "grades.csv").open() as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    for student in CORRECT:
        assert float(rows[student]["score"]) == full_marks()  # the written answer is not graded yet
    for student in hostile["students"]:
        summary_line(run, student)  # everyone is in the summary


def test_correct_students_get_full_marks_and_feedback(hostile):
    got = scores(hostile["course"])
    for student in CORRECT:
        assert got[student] == full_marks(), (student, got)
        page = hostile["course"] / "feedback" / student / ASSIGNMENT / f"{NB_ID}.html"
        assert "Correct:" in text_of(page)


def test_the_instructors_files_are_unchanged(hostile):
    course, before = hostile["course"], hostile["before"]
    assert hashes(course / "source") == before["source"]
    assert hashes(course / "release") == before["release"]
    assert hashes(REPO / "notebooks") == before["notebooks"]
    for student in CORRECT:
        assert hashes(course / "submitted" / student) == before["submitted"][student]
    assert (course / "feedback" / "veteran" / ASSIGNMENT / f"{NB_ID}.html").read_bytes() == before["veteran"]
    assert (course / "nbgrader_config.py").read_bytes() == CONFIG.read_bytes()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=course_id()) as gb:
        assert gb.find_grade("ex4_written", NB_ID, ASSIGNMENT, "veteran").manual_score == 2
        # grading writes automatic scores only: no manual score but the veteran's
        manual = {
            (s.student.id, g.name): g.manual_score
            for s in gb.find_assignment(ASSIGNMENT).submissions
            for g in gb.find_submission_notebook(NB_ID, ASSIGNMENT, s.student.id).grades
            if g.manual_score is not None
        }
        assert manual == {("veteran", "ex4_written"): 2}
        assert {c.name: c.max_score for c in gb.find_notebook(NB_ID, ASSIGNMENT).grade_cells} == {
            meta(c)["grade_id"]: meta(c)["points"] for c in nbformat.read(NOTEBOOK, 4).cells if meta(c).get("grade")
        }


def test_no_hidden_test_reaches_any_feedback(hostile):
    hidden = hidden_lines()
    pages = list(hostile["course"].glob(f"feedback/*/{ASSIGNMENT}/*.html"))
    assert len(pages) >= 6
    for page in pages:
        text = page.read_text() + text_of(page)
        for line in hidden:
            assert line not in text and html.escape(line) not in text, f"{page}: {line!r}"
        assert "HIDDEN TESTS" not in text, page


def test_refused_submissions_are_moved_aside_with_their_reason(hostile):
    course, run = hostile["course"], hostile["run"]
    review = (course / "needs-review.txt").read_text()
    for student, reason in REFUSED.items():
        line = summary_line(run, student)
        assert "REFUSED" in line and reason in line, line
        assert student in review
        moved = course / "refused" / student / ASSIGNMENT
        assert (moved / NOTEBOOK.name).is_file() and reason in moved.with_name(f"{ASSIGNMENT}.txt").read_text()
        assert not (course / "submitted" / student / ASSIGNMENT).exists()
        assert not (course / "autograded" / student).exists()
        assert not (course / "feedback" / student).exists()
    assert SECRET_FILE not in run.stdout + run.stderr


def test_no_kernel_is_left_running(hostile):
    assert leftover_kernels() == []


# --- each attack -----------------------------------------------------------------------------------


def test_tamper_changes_nothing_and_is_graded(hostile):
    needs(hostile, "bubblewrap", "bubblewrap as root", "unprivileged")
    out = outputs_of(graded_notebook(hostile, "tamper"))
    assert "TAMPERED" not in out and "REMOVED" not in out
    assert "no gradebook" in out and "cannot remove" in out
    assert scores(hostile["course"])["tamper"] == full_marks()
    assert (hostile["course"] / "autograded" / "alice" / ASSIGNMENT / NOTEBOOK.name).is_file()
    # the links it planted were in its own working folder, which the grader never writes
    graded = hostile["course"] / "autograded" / "tamper" / ASSIGNMENT
    assert not any(p.is_symlink() for p in graded.rglob("*"))


def test_snoop_finds_no_instructor_notebook(hostile):
    needs(hostile, "bubblewrap", "bubblewrap as root")
    assert '"found 0 notebooks' in outputs_of(graded_notebook(hostile, "snoop"))


def test_snoop_reads_hidden_tests_from_the_history_but_its_feedback_hides_them(hostile):
    """In/_ih hold ex1_check's hidden test once it ran: visible in the graded notebook (the instructor's),
    replaced in the feedback (the student's)."""
    hidden = hidden_lines()
    graded = outputs_of(graded_notebook(hostile, "snoop"))
    assert any(json.dumps(line)[1:-1] in graded or line in graded for line in hidden[:1])
    page = text_of(hostile["course"] / "feedback" / "snoop" / ASSIGNMENT / f"{NB_ID}.html")
    assert "[hidden test]" in page
    assert scores(hostile["course"])["snoop"] == full_marks()


def test_spy_sees_no_secret_of_the_grader(hostile):
    course = hostile["course"]
    out = outputs_of(graded_notebook(hostile, "spy"))
    page = (course / "feedback" / "spy" / ASSIGNMENT / f"{NB_ID}.html").read_text()
    assert "home:" in out  # it ran
    assert SECRET_ENV not in out + page and "GRADER_SECRET_TOKEN" not in out
    assert str(hostile["home"]) not in out  # not its home: the grader's HOME is not passed on
    if hostile["kind"] != "unconfined":
        assert SECRET_FILE not in out + page
        assert "cannot read the grader's home" in out


def test_endless_loop_is_interrupted_and_the_rest_graded(hostile):
    line = summary_line(hostile["run"], "endless")
    assert "FAILED" not in line and "REFUSED" not in line, line
    out = outputs_of(graded_notebook(hostile, "endless"))
    assert "CellTimeoutError" in out or "KeyboardInterrupt" in out
    answers = nbformat.read(NOTEBOOK, 4).cells
    ex1 = next(meta(c)["points"] for c in answers if meta(c).get("grade_id") == "ex1_check")
    assert scores(hostile["course"])["endless"] == full_marks() - ex1
    assert "ran out of time" in hostile["run"].stdout


def test_stubborn_loop_fails_alone_with_timeout(hostile):
    line = summary_line(hostile["run"], "stubborn")
    assert "FAILED" in line and "timeout" in line, line
    assert not (hostile["course"] / "feedback" / "stubborn").exists()
    assert "stubborn" in (hostile["course"] / "needs-review.txt").read_text()


def test_flood_is_cut_off(hostile):
    graded = graded_notebook(hostile, "flood")
    page = hostile["course"] / "feedback" / "flood" / ASSIGNMENT / f"{NB_ID}.html"
    assert graded.stat().st_size < 3 * 2**20 and page.stat().st_size < 4 * 2**20
    out = outputs_of(graded)
    assert out.count("output cut off") >= 2  # 5 MB cut to size; 50 MB and the rest dropped as they came
    assert "y" * 200_000 not in out and "x" * 100 not in out and "99999" not in out
    assert "output cut off" in hostile["run"].stdout  # a note in the summary
    assert scores(hostile["course"])["flood"] == full_marks()


def test_fork_bomb_is_bounded_by_the_process_limit(hostile):
    if "forkbomb" not in hostile["students"]:
        pytest.skip(f"kernels run {hostile['kind']} here, and the process limit does not bind root")
    out = outputs_of(graded_notebook(hostile, "forkbomb"))
    found = re.search(r"fork failed after (\d+) children: (\w+)", out)
    assert found, out[-2000:]
    assert int(found[1]) < MAX_PROCESSES and found[2] == "BlockingIOError"
    assert leftover_kernels() == []


def test_memory_hog_fails_alone_over_the_memory_limit(hostile):
    line = summary_line(hostile["run"], "hog")
    assert "FAILED" in line and "over the memory limit" in line, line
    assert not (hostile["course"] / "feedback" / "hog").exists()


# --- the background courses ----------------------------------------------------------------------------


def test_without_the_sandbox_grading_works_and_says_it_is_unconfined(hostile):
    done = hostile["unconfined"]
    assert done["code"] == 0, done["log"][-5000:]
    assert "UNCONFINED" in done["log"] and "WARNING" in done["log"]
    assert "MNIST_GRADING_SANDBOX=off" in done["log"]
    course = done["course"]
    assert scores(course)["carol"] == full_marks()
    assert (course / "refused" / "garbled" / ASSIGNMENT / NOTEBOOK.name).is_file()
    out = outputs_of(course / "autograded" / "spy" / ASSIGNMENT / NOTEBOOK.name)
    assert "home:" in out and SECRET_ENV not in out  # the environment is cleaned all the same
    assert (course / "grades.csv").is_file()


def test_a_student_past_the_time_limit_fails_alone(hostile):
    done = hostile["stuck"]
    assert done["code"] == 0, done["log"][-5000:]
    line = next(line for line in done["log"].splitlines() if line.strip().startswith("sleeper "))
    assert "FAILED" in line and "timeout" in line and "20 s" in line, line
    assert not (done["course"] / "autograded" / "sleeper" / ASSIGNMENT).exists()  # it starts afresh next time
    assert (done["course"] / "grades.csv").is_file()
    assert leftover_kernels() == []


def test_the_summary_says_how_submissions_ran(hostile):
    line = next(line for line in hostile["run"].stdout.splitlines() if line.startswith("Submissions run in:"))
    if hostile["kind"] == "bubblewrap":
        assert "bubblewrap sandbox" in line and "network: none" in line
    else:
        assert "UNCONFINED" in line and "WARNING" in hostile["run"].stdout
