"""Student versions made by `make student`: no solution or hidden test leaks, the instructor version
outside the solutions, every stub stops with NotImplementedError; make_student.py writes only where
it wrote before. They are the versions of the course test_grading.py lays out (`course_of_notebooks`),
copied out by make_student.py --course: nothing is generated again. Nothing trains: outside its
exercise cells a student notebook is the instructor notebook, which nbval runs, cell for cell.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

pytest.importorskip("nbgrader")

from test_grading import contents, course_of_notebooks, meta

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import make_student  # noqa: E402

NAMES = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
BEGIN = re.compile(r"^(\s*)### BEGIN (SOLUTION|HIDDEN TESTS)\s*$")
# What nbgrader puts where a solution was, indented like the region's BEGIN line.
STUB = {"code": ["# YOUR CODE HERE", "raise NotImplementedError()"], "markdown": ["YOUR ANSWER HERE"]}
MARKER = make_student.MARKER  # make_student.py's list of what it wrote


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return course_of_notebooks(tmp_path_factory)


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory, course):
    out = tmp_path_factory.mktemp("student") / "release"
    assert make_student.main(["--out", str(out), "--course", str(course)]) == 0
    return out


def student_source(cell) -> str:
    """The instructor cell as a student gets it: every solution region replaced by the stub, every
    hidden-test region removed, every other line unchanged."""
    lines, region = [], None
    for line in cell.source.splitlines():
        if region:
            region = None if line.strip() == f"### END {region}" else region
            continue
        begin = BEGIN.match(line)
        if begin:
            indent, region = begin.groups()
            lines += [indent + stub for stub in STUB[cell.cell_type]] if region == "SOLUTION" else []
            continue
        lines.append(line)
    assert region is None, f"cell {cell.get('id')}: '### BEGIN {region}' without its END"
    return "\n".join(lines)


@pytest.mark.parametrize("name", NAMES)
def test_student_version_is_the_instructor_version_without_solutions(student_dir, name):
    """No solution or hidden test line is left; cell for cell, only solution regions, hidden tests,
    nbgrader's lock metadata and outputs differ."""
    instructor, student = nbformat.read(REPO / "notebooks" / name, 4), nbformat.read(student_dir / name, 4)
    nbformat.validate(student)
    text = "\n".join(c.source for c in student.cells)
    public = "\n".join(REGION.sub("", c.source) for c in instructor.cells)
    secrets = [ln.strip() for c in instructor.cells for _, body in REGION.findall(c.source) for ln in body.splitlines()]
    secrets = [line for line in secrets if len(line) > 12 and line not in public]
    assert secrets, f"{name}: found no solution lines to look for"
    assert not [line for line in secrets + ["BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"] if line in text]
    answers = [c for c in student.cells if meta(c).get("solution")]
    checks = [meta(c) for c in instructor.cells if meta(c).get("grade") and not meta(c).get("solution")]
    assert len(checks) >= 2 and all(m.get("locked") and m.get("points", 0) > 0 for m in checks), name
    assert all(STUB[c.cell_type][-1] in c.source for c in answers) and {c.cell_type for c in answers} == set(STUB)

    assert (student.nbformat, student.nbformat_minor, student.metadata) == (
        instructor.nbformat,
        instructor.nbformat_minor,
        instructor.metadata,
    )
    assert [c.get("id") for c in student.cells] == [c.get("id") for c in instructor.cells], "cells added or moved"
    for mine, theirs in zip(instructor.cells, student.cells, strict=True):
        where = f"{name}, cell {mine.id}"
        assert theirs.cell_type == mine.cell_type, where
        if theirs.cell_type == "code":
            assert theirs.outputs == [] and theirs.execution_count is None, f"{where}: outputs left in"
        flags = meta(mine)
        if not (flags.get("solution") or flags.get("grade") or flags.get("locked")):
            assert (theirs.source, theirs.metadata) == (mine.source, mine.metadata), f"{where}: changed"
            continue
        assert theirs.source == student_source(mine), f"{where}: changed outside its solution regions"
        # nbgrader locks the cell against deletion (and editing, for a check) and records a checksum
        expected = copy.deepcopy(dict(mine.metadata))
        expected.update(deletable=False, **({"editable": False} if flags.get("locked") else {}))
        checksum = meta(theirs).get("checksum", "")
        assert re.fullmatch(r"[0-9a-f]{32}", checksum), f"{where}: no nbgrader checksum"
        expected["nbgrader"] = {**flags, "cell_type": mine.cell_type, "checksum": checksum}
        assert theirs.metadata == expected, f"{where}: metadata changed beyond nbgrader's lock"


def test_the_release_holds_the_course_material_and_a_list_of_it(student_dir):
    """Notebook 06 reads images/ next to itself: the release holds every file the notebooks have."""
    expected = {k for k in contents(REPO / "notebooks") if not re.search(r"(^|/)(\.ipynb_checkpoints|__pycache__)/", k)}
    assert any(name.startswith("images/") for name in expected), "notebooks/images/ is missing"
    assert contents(student_dir).keys() == expected | {MARKER}
    listed = json.loads((student_dir / MARKER).read_text())["files"]
    assert listed == {name: hashlib.sha256((student_dir / name).read_bytes()).hexdigest() for name in expected}


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("not ours", f"it has no {MARKER}"),
        ("points outside", "is not a list of files this script wrote"),
        ("worked in", f"{NAMES[0]}: it changed since make_student.py wrote it"),
    ],
)
def test_make_student_refuses_to_touch_what_it_did_not_write(tmp_path, student_dir, course, capsys, case, why):
    out = tmp_path / "release"
    shutil.copytree(student_dir, out) if case == "worked in" else out.mkdir()
    if case == "worked in":  # a released notebook a student worked in; one deleted is not written back either
        (out / NAMES[0]).write_text((out / NAMES[0]).read_text().replace("raise NotImplementedError()", "x = 4", 1))
        (out / NAMES[1]).unlink()
    (out / "notes.txt").write_text("my notes")
    if case == "points outside":
        (tmp_path / "precious.txt").write_text("keep")
        (out / MARKER).write_text(json.dumps({"files": {"../precious.txt": "0" * 64}}))
    before = contents(tmp_path)
    assert make_student.main(["--out", str(out), "--course", str(course)]) == 1
    assert why in capsys.readouterr().err and contents(tmp_path) == before


def test_a_rerun_keeps_the_students_files_and_removes_only_its_own(student_dir, course, tmp_path):
    out = tmp_path / "release"
    shutil.copytree(student_dir, out)
    mine = {"notes.txt": b"my notes", "images/my_digit.png": b"my own drawing"}
    for name, data in mine.items():
        (out / name).write_bytes(data)
    # a file an earlier release wrote that the course no longer has: it goes
    (out / "retired" / "old.ipynb").parent.mkdir()
    (out / "retired" / "old.ipynb").write_text("{}")
    marker = json.loads((out / MARKER).read_text())
    marker["files"]["retired/old.ipynb"] = hashlib.sha256(b"{}").hexdigest()
    (out / MARKER).write_text(json.dumps(marker))
    (out / NAMES[1]).unlink()  # a released notebook the student deleted comes back
    assert make_student.main(["--out", str(out), "--course", str(course)]) == 0
    assert contents(out) == {**contents(student_dir), **mine} and not (out / "retired").exists()


# --- the stubs run: every exercise stops with NotImplementedError, and nothing else fails -------


@pytest.fixture(scope="module")
def light_kernel(student_dir):
    """One kernel for the exercise stubs, started in the release folder; each notebook resets it."""
    arguments = ["--IPKernelApp.log_level=ERROR"]
    path = {"metadata": {"path": str(student_dir)}}
    client = NotebookClient(nbformat.v4.new_notebook(), timeout=120, extra_arguments=arguments, resources=path)
    with client.setup_kernel():
        yield client


def run(client: NotebookClient, source: str) -> CellExecutionError | None:
    cell = nbformat.v4.new_code_cell(source)
    client.nb.cells.append(cell)
    try:
        client.execute_cell(cell, len(client.nb.cells) - 1)
    except CellExecutionError as err:
        return err
    return None


@pytest.mark.parametrize("name", NAMES)
def test_every_unanswered_exercise_stops_with_not_implemented_error(student_dir, light_kernel, name):
    """Each answer cell raises NotImplementedError, or defines a function whose check passes it on. They
    need no data or model: a stub that fails in any other way (a NameError, a check that swallows the
    error) shows here, with only `checks` imported."""
    assert run(light_kernel, "%reset -f\nfrom helpers import checks") is None
    exercises = []  # each code answer cell with the check cells that follow it
    for cell in nbformat.read(student_dir / name, 4).cells:
        if cell.cell_type == "code" and meta(cell).get("solution"):
            exercises.append((cell, []))
        elif cell.cell_type == "code" and meta(cell).get("grade") and exercises:
            exercises[-1][1].append(cell)
    assert exercises, f"{name}: no code exercises"
    for answer, check_cells in exercises:
        exercise = meta(answer)["grade_id"]
        assert check_cells, f"{name} {exercise}: no check follows the answer cell"
        err = run(light_kernel, answer.source)
        for check in check_cells if err is None else []:
            err = err or run(light_kernel, check.source)
        assert err is not None and err.ename == "NotImplementedError", f"{name} {exercise}: {err}"
