"""Student versions made by `make student` (nbgrader generate_assignment): no leaks, and they run.

Nothing here trains a model. "A student version runs" is proved in three parts:

- outside its exercise cells a student notebook is the instructor notebook, cell for cell (same
  cells, ids, types, sources and metadata), and nbval runs the instructor notebooks in the same
  `make test`, so everything up to the first exercise runs as it does there;
- every unanswered exercise stops with NotImplementedError (in its answer cell, or in the check
  that calls the student's function) and nothing else: its stub and check run in a light kernel;
- notebook 01, which trains nothing, runs for real from the release folder until its first exercise.

make_student.py writes only where it wrote before: a rerun keeps a student's own files in the
release folder, and it refuses a folder it did not write, or one whose released notebook a student
changed, without writing anything.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parent.parent
INSTRUCTOR = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NAMES = [p.name for p in INSTRUCTOR]
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
BEGIN = re.compile(r"^(\s*)### BEGIN (SOLUTION|HIDDEN TESTS)\s*$")
# What nbgrader puts where a solution was, indented like the region's BEGIN line.
STUB = {"code": ["# YOUR CODE HERE", "raise NotImplementedError()"], "markdown": ["YOUR ANSWER HERE"]}
SKIPPED = {".ipynb_checkpoints", "__pycache__"}
LIGHT_NOTEBOOK = "01_data_exploration.ipynb"  # trains nothing: cheap to run for real
MAKE_STUDENT = REPO / "scripts" / "make_student.py"
MARKER = ".student-release.json"  # make_student.py's list of what it wrote


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student") / "release"
    done = make_student(out)
    assert done.returncode == 0, done.stderr
    assert f"{len(INSTRUCTOR)} student notebooks" in done.stdout
    return out


def make_student(out: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, str(MAKE_STUDENT), "--out", str(out)]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_exercise(cell) -> bool:
    meta = nbgrader(cell)
    return bool(meta.get("solution") or meta.get("grade") or meta.get("locked"))


def secret_lines(path: Path) -> list[str]:
    """Lines of solutions and hidden tests that appear nowhere else in the instructor notebook."""
    nb = read(path)
    public = "\n".join(REGION.sub("", c.source) for c in nb.cells)
    lines = []
    for cell in nb.cells:
        for _, body in REGION.findall(cell.source):
            lines += [ln.strip() for ln in body.splitlines() if len(ln.strip()) > 12 and ln.strip() not in public]
    return lines


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
            if region == "SOLUTION":
                lines += [indent + stub for stub in STUB[cell.cell_type]]
            continue
        lines.append(line)
    assert region is None, f"cell {cell.get('id')}: '### BEGIN {region}' without its END"
    return "\n".join(lines)


def files_under(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and not SKIPPED & set(p.relative_to(folder).parts)
    }


def test_every_notebook_has_graded_exercises():
    for path in INSTRUCTOR:
        nb = read(path)
        meta = [nbgrader(c) for c in nb.cells]
        answers = [m for m in meta if m.get("solution") and not m.get("grade")]
        checks = [m for m in meta if m.get("grade") and not m.get("solution")]
        assert len(answers) >= 2 and len(checks) >= 2, f"{path.name}: too few exercises with checks"
        assert all(m.get("locked") and m.get("points", 0) > 0 for m in checks), path.name
        # one short written answer graded by hand: an unlocked markdown cell with points
        written = [c for c in nb.cells if nbgrader(c).get("grade") and nbgrader(c).get("solution")]
        assert written, f"{path.name}: no manually graded written question"
        assert all(c.cell_type == "markdown" and nbgrader(c).get("points", 0) > 0 for c in written), path.name
        assert all("### BEGIN SOLUTION" in c.source for c in written), (
            f"{path.name}: a written answer has no model answer"
        )
        ids = [m["grade_id"] for m in meta if "grade_id" in m]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate grade_id"
    assert any("### BEGIN HIDDEN TESTS" in c.source for p in INSTRUCTOR for c in read(p).cells)


def test_no_solution_or_hidden_test_leaks(student_dir):
    students = {p.name: p for p in student_dir.glob("*.ipynb")}
    assert sorted(students) == NAMES
    for path in INSTRUCTOR:
        student = read(students[path.name])
        nbformat.validate(student)
        text = "\n".join(c.source for c in student.cells)
        for marker in ["BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"]:
            assert marker not in text, f"{path.name}: '{marker}' left in the student version"
        secrets = secret_lines(path)
        assert secrets, f"{path.name}: found no solution lines to look for"
        for line in secrets:
            assert line not in text, f"{path.name}: solution or hidden test leaked: {line!r}"
        solution_cells = [c for c in student.cells if nbgrader(c).get("solution")]
        code_answers = [c for c in solution_cells if c.cell_type == "code"]
        written = [c for c in solution_cells if c.cell_type == "markdown"]
        assert code_answers and all("raise NotImplementedError()" in c.source for c in code_answers)
        assert written and all("YOUR ANSWER HERE" in c.source for c in written), (
            f"{path.name}: written answer not blanked"
        )


def test_release_folder_holds_the_course_material_and_nothing_else(student_dir):
    """Notebook 06 reads images/ next to itself: the release holds every file the notebooks have."""
    expected = files_under(REPO / "notebooks")
    assert any(name.startswith("images/") for name in expected), "notebooks/images/ is missing"
    assert files_under(student_dir) == expected | {MARKER}
    # the marker lists every file make_student.py wrote, with its checksum
    listed = json.loads((student_dir / MARKER).read_text())["files"]
    assert set(listed) == expected
    assert all(hashlib.sha256((student_dir / name).read_bytes()).hexdigest() == h for name, h in listed.items())


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_make_student_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "notes.txt").write_text("my notes")
    done = make_student(tmp_path)
    assert done.returncode == 1 and MARKER in done.stderr
    assert contents(tmp_path) == {"notes.txt": b"my notes"}


def test_make_student_refuses_a_marker_that_points_outside(tmp_path):
    out = tmp_path / "release"
    out.mkdir()
    (tmp_path / "precious.txt").write_text("keep")
    (out / MARKER).write_text(json.dumps({"files": {"../precious.txt": "0" * 64}}))
    done = make_student(out)
    assert done.returncode == 1, done.stdout
    assert (tmp_path / "precious.txt").read_text() == "keep" and sorted(p.name for p in out.iterdir()) == [MARKER]


def test_a_rerun_keeps_the_students_files_and_removes_only_its_own(student_dir, tmp_path):
    out = tmp_path / "release"
    shutil.copytree(student_dir, out)
    (out / "notes.txt").write_text("my notes")
    (out / "images" / "my_digit.png").write_bytes(b"my own drawing")
    # a file an earlier release wrote that the course no longer has: it goes
    (out / "retired.ipynb").write_text("{}")
    marker = json.loads((out / MARKER).read_text())
    marker["files"]["retired.ipynb"] = hashlib.sha256(b"{}").hexdigest()
    (out / MARKER).write_text(json.dumps(marker))
    (out / NAMES[1]).unlink()  # a released notebook the student deleted comes back
    done = make_student(out)
    assert done.returncode == 0, done.stderr
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "images" / "my_digit.png").read_bytes() == b"my own drawing"
    assert not (out / "retired.ipynb").exists()
    mine = {"notes.txt", "images/my_digit.png"}
    assert {k: v for k, v in contents(out).items() if k not in mine} == contents(student_dir)


def test_a_rerun_does_not_overwrite_a_notebook_the_student_worked_in(student_dir, tmp_path):
    out = tmp_path / "release"
    shutil.copytree(student_dir, out)
    worked = out / NAMES[0]
    worked.write_text(worked.read_text().replace("raise NotImplementedError()", "answer = 42", 1))
    (out / NAMES[1]).unlink()
    before = contents(out)
    done = make_student(out)
    assert done.returncode == 1
    assert NAMES[0] in done.stderr and "changed since" in done.stderr
    assert contents(out) == before  # nothing written, not even the missing notebook


@pytest.mark.parametrize("name", NAMES)
def test_student_version_equals_the_instructor_version_outside_the_solutions(student_dir, name):
    """Cell for cell: only solution regions, hidden tests, nbgrader's lock metadata and outputs differ."""
    instructor, student = read(REPO / "notebooks" / name), read(student_dir / name)
    assert (student.nbformat, student.nbformat_minor) == (instructor.nbformat, instructor.nbformat_minor)
    assert student.metadata == instructor.metadata
    assert [c.get("id") for c in student.cells] == [c.get("id") for c in instructor.cells], "cells added or moved"
    for mine, theirs in zip(instructor.cells, student.cells, strict=True):
        where = f"{name}, cell {mine.id}"
        assert theirs.cell_type == mine.cell_type, where
        if theirs.cell_type == "code":
            assert theirs.outputs == [] and theirs.execution_count is None, f"{where}: outputs left in"
        if not is_exercise(mine):
            assert theirs.source == mine.source, f"{where}: source changed outside an exercise"
            assert theirs.metadata == mine.metadata, f"{where}: metadata changed outside an exercise"
            continue
        assert theirs.source == student_source(mine), f"{where}: changed outside its solution regions"
        # nbgrader locks the cell against deletion (and editing, for a check) and records a checksum
        expected = copy.deepcopy(dict(mine.metadata))
        expected["deletable"] = False
        if nbgrader(mine).get("locked"):
            expected["editable"] = False
        checksum = nbgrader(theirs).get("checksum", "")
        assert re.fullmatch(r"[0-9a-f]{32}", checksum), f"{where}: no nbgrader checksum"
        expected["nbgrader"] = {**nbgrader(mine), "cell_type": mine.cell_type, "checksum": checksum}
        assert theirs.metadata == expected, f"{where}: metadata changed beyond nbgrader's lock"


# --- the stubs run: every exercise stops with NotImplementedError, and nothing else fails -------


def new_client(nb: nbformat.NotebookNode, folder: Path, timeout: int) -> NotebookClient:
    return NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": str(folder)}},
    )


@pytest.fixture(scope="module")
def light_kernel(student_dir):
    """One kernel for the exercise stubs, started in the release folder; each notebook resets it."""
    client = new_client(nbformat.v4.new_notebook(), student_dir, timeout=120)
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


def exercises(nb: nbformat.NotebookNode) -> list[tuple[nbformat.NotebookNode, list[nbformat.NotebookNode]]]:
    """Each code answer cell with the check cells that follow it."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = nbgrader(cell)
        if meta.get("solution"):
            found.append((cell, []))
        elif meta.get("grade") and found:
            found[-1][1].append(cell)
    return found


@pytest.mark.parametrize("name", NAMES)
def test_every_unanswered_exercise_stops_with_not_implemented_error(student_dir, light_kernel, name):
    """The answer cell raises NotImplementedError, or defines a function whose check passes it on.

    The stubs and checks need no data or model: they run with only `checks` imported, so
    a stub that fails in any other way (a NameError, a check that swallows the error) shows here.
    """
    assert run(light_kernel, "%reset -f\nfrom helpers import checks") is None
    pairs = exercises(read(student_dir / name))
    assert pairs, f"{name}: no code exercises"
    for answer, check_cells in pairs:
        exercise = nbgrader(answer)["grade_id"]
        assert check_cells, f"{name} {exercise}: no check follows the answer cell"
        err, where = run(light_kernel, answer.source), "its answer cell"
        for check in check_cells if err is None else []:
            err, where = run(light_kernel, check.source), f"its check {nbgrader(check)['grade_id']}"
            if err is not None:
                break
        assert err is not None, f"{name} {exercise}: runs unanswered without raising NotImplementedError"
        assert err.ename == "NotImplementedError", (
            f"{name} {exercise}: {where} raised {err.ename}: {err.evalue} (an unanswered exercise should "
            "raise NotImplementedError and nothing else, with no data or model needed)"
        )


def test_student_notebook_01_runs_until_its_first_exercise(student_dir):
    """Run for real from the release folder: the kernel, helpers, the data and the stub together."""
    nb = read(student_dir / LIGHT_NOTEBOOK)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert ".fit(" not in code and "load_or_train" not in code, f"{LIGHT_NOTEBOOK} should train nothing"
    client = new_client(nb, student_dir, timeout=600)
    with client.setup_kernel():
        reached_exercise = False
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            meta = nbgrader(cell)
            reached_exercise |= bool(meta.get("solution"))
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as err:
                # the first exercise raises NotImplementedError; nothing before it may fail
                assert reached_exercise and err.ename == "NotImplementedError", f"cell {index}: {err}"
                assert meta.get("solution") or meta.get("grade"), f"cell {index} is not an exercise cell"
                return
    pytest.fail(f"{LIGHT_NOTEBOOK}: ran to the end without reaching an unanswered exercise")
