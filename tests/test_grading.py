"""The whole nbgrader cycle, as `make grade` runs it, with the course's own grading/nbgrader_config.py.

grading/grade.py lays out a course and generates the student version, three students submit
(one hands in the instructor's solutions, one the student version unchanged, one a wrong answer),
then grade.py again: autograde, generate_feedback, export. Real nbgrader, real kernels.

Every submission's kernel runs in grade.py's sandbox where bubblewrap works here (unconfined, with a
warning, elsewhere: tests/test_grading_hostile.py tests both, with hostile submissions).

Notebook 01 trains nothing, so its cells are short. To prove that the shipped cell timeout is
the one that applies, a second course (same config) grades a tiny notebook whose only graded cell
runs longer than nbgrader's default 30 seconds; it sleeps while the first course is graded.
"""

from __future__ import annotations

import csv
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")

from jupyter_core.paths import jupyter_config_dir, jupyter_config_path
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
GRADE = REPO / "grading" / "grade.py"
CONFIG = REPO / "grading" / "nbgrader_config.py"
NOTEBOOK = REPO / "notebooks" / "01_data_exploration.ipynb"
ASSIGNMENT = "mnist"
STUDENTS = ("instructor", "untouched", "wrong")
WRONG = {"ex2_answer": "x_test_scaled = x_test / 255  # float64: the check wants float32"}
SLEEP = 35  # seconds: longer than nbgrader's default cell timeout
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.M)
TIMEOUT_SIGNS = ("CellTimeoutError", "KeyboardInterrupt", "Timeout waiting", "timed out")


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def settings() -> dict:
    return PyFileConfigLoader(CONFIG.name, str(CONFIG.parent)).load_config()


def wrong_submission(student_version: Path) -> nbformat.NotebookNode:
    """The student version, answered with the instructor's solutions except WRONG's."""
    answers = {meta(c)["grade_id"]: c.source for c in nbformat.read(NOTEBOOK, 4).cells if meta(c).get("solution")}
    nb = nbformat.read(student_version, 4)
    for cell in nb.cells:
        grade_id = meta(cell).get("grade_id")
        if meta(cell).get("solution"):
            cell.source = WRONG.get(grade_id) or SOLUTION_MARKER.sub("", answers[grade_id])
    return nb


def text_of(page: Path) -> str:
    """What a browser shows of an HTML page: no tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


@pytest.fixture(scope="module")
def graded(tmp_path_factory, one_check_notebook):
    tmp = tmp_path_factory.mktemp("grading")
    # nbgrader also reads ~/.jupyter: an empty one, so that only the course's config applies
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"), "JUPYTER_PREFER_ENV_PATH": "1"}
    env["PYTHONNOUSERSITE"] = "1"

    def grade(course: Path, *source: Path, **kwargs):
        command = [sys.executable, str(GRADE), "--course", str(course), "--source", *map(str, source)]
        return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, **kwargs)

    # the long cell: its own course, graded in the background while the first one is
    slow, slow_source = tmp / "slow-course", tmp / "slow.ipynb"
    slow_check = (
        f"import time\n\nstarted = time.monotonic()\ntime.sleep({SLEEP})\nassert time.monotonic() - started >= {SLEEP}"
    )
    nbformat.write(one_check_notebook("One long cell", "slow_check", slow_check), slow_source)
    (slow / "submitted" / "patient" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(slow_source, slow / "submitted" / "patient" / ASSIGNMENT)  # no solutions: as released
    slow_log = tmp / "slow.log"
    with slow_log.open("w") as log:
        command = [sys.executable, str(GRADE), "--course", str(slow), "--source", str(slow_source)]
        background = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        course = tmp / "course"
        setup = grade(course, NOTEBOOK)
        assert setup.returncode == 0, setup.stdout + setup.stderr
        assert "No submissions yet" in setup.stdout
        student_version = course / "release" / ASSIGNMENT / NOTEBOOK.name
        for student in STUDENTS:
            (course / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        shutil.copy(NOTEBOOK, course / "submitted" / "instructor" / ASSIGNMENT)
        shutil.copy(student_version, course / "submitted" / "untouched" / ASSIGNMENT)
        nbformat.write(wrong_submission(student_version), course / "submitted" / "wrong" / ASSIGNMENT / NOTEBOOK.name)
        done = grade(course, NOTEBOOK)
        slow_code = background.wait(timeout=300)
    finally:
        if background.poll() is None:
            background.kill()
    return {"course": course, "run": done, "slow": slow, "slow_code": slow_code, "slow_log": slow_log.read_text()}


def scores(course: Path) -> dict:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=settings().CourseDirectory.course_id) as gb:
        return {s.student.id: (s.code_score, s.max_code_score) for s in gb.find_assignment(ASSIGNMENT).submissions}


def test_the_course_folder_is_nbgraders_layout_with_the_shipped_config(graded):
    course = graded["course"]
    assert graded["run"].returncode == 0, graded["run"].stdout[-3000:] + graded["run"].stderr[-3000:]
    assert (course / "nbgrader_config.py").read_bytes() == CONFIG.read_bytes()
    assert (course / "source" / ASSIGNMENT / NOTEBOOK.name).read_bytes() == NOTEBOOK.read_bytes()
    released = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK.name, 4)
    assert "HIDDEN TESTS" not in "\n".join(c.source for c in released.cells)
    for student in STUDENTS:
        assert (course / "autograded" / student / ASSIGNMENT / NOTEBOOK.name).is_file()
        assert (course / "feedback" / student / ASSIGNMENT / NOTEBOOK.with_suffix(".html").name).is_file()


def test_grades_full_zero_and_partial(graded):
    nb = nbformat.read(NOTEBOOK, 4)
    auto = {meta(c)["grade_id"]: meta(c)["points"] for c in nb.cells if meta(c).get("grade") and c.cell_type == "code"}
    written = sum(meta(c)["points"] for c in nb.cells if meta(c).get("grade") and c.cell_type == "markdown")
    broken = sum(points for grade_id, points in auto.items() if grade_id == "ex2_check")
    full = sum(auto.values())
    assert broken and written, "notebook 01 should have an ex2_check worth points and a written question"
    # automatically graded points, from the gradebook
    assert scores(graded["course"]) == {
        "instructor": (full, full),
        "untouched": (0, full),
        "wrong": (full - broken, full),
    }
    # what `nbgrader export` wrote: the written answers are not graded yet, so they count 0 for now
    with (graded["course"] / "grades.csv").open() as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert {s: (float(r["score"]), float(r["max_score"])) for s, r in rows.items()} == {
        "instructor": (full, full + written),
        "untouched": (0, full + written),
        "wrong": (full - broken, full + written),
    }
    for student in STUDENTS:
        assert f"{student} " in graded["run"].stdout  # grade.py's summary lists every student


def test_unanswered_and_wrong_answers_fail_in_their_cells_only(graded):
    graded_dir = graded["course"] / "autograded"
    untouched = nbformat.read(graded_dir / "untouched" / ASSIGNMENT / NOTEBOOK.name, 4)
    errors = [o.ename for c in untouched.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert "NotImplementedError" in errors
    wrong = nbformat.read(graded_dir / "wrong" / ASSIGNMENT / NOTEBOOK.name, 4)
    failed = {
        meta(c).get("grade_id")
        for c in wrong.cells
        if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)
    }
    assert failed == {"ex2_check"}


def test_nothing_timed_out(graded):
    logs = graded["run"].stdout + graded["run"].stderr + graded["slow_log"]
    notebooks = [*graded["course"].glob("autograded/*/*/*.ipynb"), *graded["slow"].glob("autograded/*/*/*.ipynb")]
    pages = [*graded["course"].glob("feedback/*/*/*.html"), *graded["slow"].glob("feedback/*/*/*.html")]
    assert len(notebooks) == len(pages) == len(STUDENTS) + 1
    for sign in TIMEOUT_SIGNS:
        assert sign not in logs
        for path in notebooks + pages:
            assert sign not in path.read_text(), f"{path}: {sign}"


def test_the_shipped_timeout_lets_a_cell_run_past_nbgraders_default(graded):
    default, shipped = Execute.class_traits()["timeout"].default_value, settings().Execute.timeout
    assert default < SLEEP < shipped, "the slow cell must outlast nbgrader's default, not the shipped timeout"
    # no other nbgrader_config.py that could set it (the test's ~/.jupyter is empty)
    others = [Path(p) for p in jupyter_config_path() if p != jupyter_config_dir()]
    assert not [p for p in others if (p / "nbgrader_config.py").exists()]
    assert graded["slow_code"] == 0, graded["slow_log"][-3000:]
    assert (graded["slow"] / "nbgrader_config.py").read_bytes() == CONFIG.read_bytes()
    assert scores(graded["slow"]) == {"patient": (1, 1)}


def test_feedback_shows_no_hidden_tests(graded):
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOK, 4).cells)
    hidden = [line.strip() for block in HIDDEN.findall(source) for line in block.splitlines() if line.strip()]
    assert hidden, "notebook 01 has no hidden tests any more: test another notebook"
    course = graded["course"]
    # they were run: the autograded notebooks (for the instructor) hold them
    for student in STUDENTS:
        assert "BEGIN HIDDEN TESTS" in (course / "autograded" / student / ASSIGNMENT / NOTEBOOK.name).read_text()
    pages = {p.parts[-3]: text_of(p) for p in course.glob(f"feedback/*/{ASSIGNMENT}/*.html")}
    assert sorted(pages) == sorted(STUDENTS)
    for student, text in pages.items():
        assert "HIDDEN TESTS" not in text, student
        for line in hidden:
            assert line not in text, f"{student}'s feedback shows a hidden test: {line!r}"
        assert "print(checks.check_class_proportions(" in text  # the visible part of the check cell stays
    assert "CheckFailed" in pages["wrong"] and "float32" in pages["wrong"]  # the message says what is wrong
    assert "NameError" in pages["untouched"]
    assert "Correct:" in pages["instructor"]


def test_grade_says_how_submissions_ran_and_that_nothing_needs_a_look(graded):
    out = graded["run"].stdout
    line = next(line for line in out.splitlines() if line.startswith("Submissions run in:"))
    assert "bubblewrap sandbox" in line or "UNCONFINED" in line, line
    assert "Limits per kernel:" in out
    review = (graded["course"] / "needs-review.txt").read_text()
    assert "nothing needs a look" in review, review
    assert not (graded["course"] / "refused").exists()
