"""`make grade`'s nbgrader cycle on one course of notebooks/ (shared with test_student.py): three students hand in
notebook 01, which trains nothing: the solutions, the student version unchanged, one wrong answer."""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")

from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute
from traitlets.config.loader import PyFileConfigLoader

from conftest import WRONG, answered, hidden_lines

REPO = Path(__file__).resolve().parent.parent
GRADE, CONFIG = REPO / "grading" / "grade.py", REPO / "grading" / "nbgrader_config.py"
NOTEBOOK = REPO / "notebooks" / "01_data_exploration.ipynb"
ASSIGNMENT = "mnist"
STUDENTS = ("instructor", "untouched", "wrong")
SHIPPED = PyFileConfigLoader(CONFIG.name, str(CONFIG.parent)).load_config()


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def points(path: Path, cell_type: str) -> dict[str, int]:
    cells = [c for c in nbformat.read(path, 4).cells if meta(c).get("grade") and c.cell_type == cell_type]
    return {meta(c)["grade_id"]: meta(c)["points"] for c in cells}


def text_of(page: Path) -> str:
    """What a browser shows of an HTML page: no tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def gradebook(course: Path) -> Gradebook:
    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=SHIPPED.CourseDirectory.course_id)


def environment(tmp: Path, **more: str) -> dict[str, str]:
    """nbgrader also reads ~/.jupyter: an empty one, so that only the course's config applies."""
    return {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"), "PYTHONNOUSERSITE": "1", **more}


def grade(course: Path, *args: str, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    command = [sys.executable, str(GRADE), "--course", str(course), *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def submit(course: Path, student: str, nb, name: str = NOTEBOOK.name) -> Path:
    """Hands in `nb` as the student's notebook `name`: where grade.py looks for it."""
    (path := course / "submitted" / student / ASSIGNMENT / name).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def course_of_notebooks(tmp_path_factory) -> Path:
    """grade.py's first run on a new course of notebooks/ (source/, release/), made once per session."""
    course = tmp_path_factory.getbasetemp() / "course-of-notebooks"
    if not (course / "release").is_dir():
        done = grade(course, env=environment(course.parent))
        assert done.returncode == 0 and "No submissions yet" in done.stdout, done.stdout + done.stderr
    return course


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = course_of_notebooks(tmp_path_factory)
    released = course / "release" / ASSIGNMENT / NOTEBOOK.name
    nbs = {"instructor": nbformat.read(NOTEBOOK, 4), "untouched": nbformat.read(released, 4)}
    nbs["wrong"] = answered(nbformat.read(released, 4), NOTEBOOK, WRONG)  # the instructor's answers but one
    for student, nb in nbs.items():
        submit(course, student, nb)
    run = grade(course, env=environment(course.parent))
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    return course, run


def test_grades_full_zero_and_partial_with_the_shipped_settings_and_feedback_without_hidden_tests(graded):
    course, run = graded
    full = sum(points(NOTEBOOK, "code").values())
    expected = {"instructor": full, "untouched": 0, "wrong": full - points(NOTEBOOK, "code")["ex2_check"]}
    with gradebook(course) as gb:
        assert {s: gb.find_submission_notebook(NOTEBOOK.stem, ASSIGNMENT, s).code_score for s in STUDENTS} == expected
    # `nbgrader export`: all points of the course (written answers are not graded yet)
    total = sum(sum(points(p, t).values()) for p in (REPO / "notebooks").glob("*.ipynb") for t in ("code", "markdown"))
    with (course / "grades.csv").open() as f:
        rows = {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(f)}
    assert rows == {student: (score, total) for student, score in expected.items()}
    assert "nothing needs a look" in (course / "needs-review.txt").read_text() and not (course / "refused").exists()
    hidden = hidden_lines(NOTEBOOK)
    assert hidden, "notebook 01 has no hidden tests any more: test another notebook"
    for student in STUDENTS:
        assert re.search(rf"^  {student} +{expected[student]:g} / ", run.stdout, re.M), run.stdout[-3000:]
        autograded = course / "autograded" / student / ASSIGNMENT / NOTEBOOK.name  # the hidden tests ran: it has them
        assert "BEGIN HIDDEN TESTS" in autograded.read_text()
        cells = nbformat.read(autograded, 4).cells
        failed = [(meta(c).get("grade_id"), o.ename) for c in cells for o in c.get("outputs", []) if "ename" in o]
        if student == "untouched":  # the student version runs, and stops in exercise cells only
            assert failed[0] == ("ex1_answer", "NotImplementedError") and all(grade_id for grade_id, _ in failed)
        else:
            assert failed == ([("ex2_check", "CheckFailed")] if student == "wrong" else []), failed
    assert not re.search("CellTimeoutError|KeyboardInterrupt|Timeout waiting|timed out", run.stdout + run.stderr)
    pages = {p.parts[-3]: text_of(p) for p in course.glob(f"feedback/*/{ASSIGNMENT}/*.html")}
    assert sorted(pages) == sorted(STUDENTS)
    for student, text in pages.items():
        assert "HIDDEN TESTS" not in text and not [line for line in hidden if line in text], student
        assert "print(checks.check_class_proportions(" in text  # the visible part of the check cell stays
    assert "CheckFailed" in pages["wrong"] and "float32" in pages["wrong"]  # the message says what is wrong
    assert "Correct:" in pages["instructor"] and "Correct:" not in pages["untouched"]
    # what nbgrader itself loads in the course folder, where grade.py copies the config
    assert (course / "nbgrader_config.py").read_bytes() == CONFIG.read_bytes()
    command = [sys.executable, "-m", "nbgrader", "autograde", "--Application.show_config_json=True"]
    done = subprocess.run(command, cwd=course, env=environment(course.parent), capture_output=True, text=True)
    loaded, default = json.loads(done.stdout), Execute.class_traits()["timeout"].default_value
    assert loaded["Execute"]["timeout"] == SHIPPED.Execute.timeout >= 600 > default  # 02's training: minutes, not 30 s
    assert "LimitedExecute" in str(loaded["Autograde"]["autograde_preprocessors"])
    assert "ClearHiddenTestsFromFeedback" in str(loaded["GenerateFeedback"]["preprocessors"])


def test_a_changed_source_makes_new_student_versions(tmp_path):
    """nbgrader skips a release/ that exists: grade.py makes it again from a source/ laid out anew."""
    course, env, source = tmp_path / "course", environment(tmp_path), tmp_path / NOTEBOOK.name
    released = course / "release" / ASSIGNMENT / NOTEBOOK.name
    shutil.copy(NOTEBOOK, source)
    assert grade(course, "--source", str(source), env=env).returncode == 0 and "Nineteen" not in released.read_text()
    shutil.rmtree(course / "source")  # docs/instructors.md: delete source/ to start again from the notebooks
    nb = nbformat.read(source, 4)
    nb.cells[0].source += "\n\nNineteen"
    nbformat.write(nb, source)
    done = grade(course, "--source", str(source), env=env)
    assert done.returncode == 0 and "Nineteen" in released.read_text(), done.stdout + done.stderr
