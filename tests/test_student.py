"""`make student`'s versions of test_grading.py's course: no solution or hidden test leaks, the instructor version
outside the solutions, every stub stops with NotImplementedError; make_student.py writes only where it wrote before."""

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
NOT_RELEASED = re.compile(r"(^|/)(\.ipynb_checkpoints|__pycache__)/")


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out, course = tmp_path_factory.mktemp("student") / "release", course_of_notebooks(tmp_path_factory)
    assert make_student.main(["--out", str(out), "--course", str(course)]) == 0
    return out


def student_source(cell) -> str:
    """The instructor cell as a student gets it: solution regions the stub, hidden tests gone, other lines kept."""
    lines, region = [], None
    for line in cell.source.splitlines():
        if region:
            region = None if line.strip() == f"### END {region}" else region
        elif begin := BEGIN.match(line):
            indent, region = begin.groups()
            lines += [indent + stub for stub in STUB[cell.cell_type]] if region == "SOLUTION" else []
        else:
            lines.append(line)
    assert region is None, f"cell {cell.get('id')}: '### BEGIN {region}' without its END"
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("not ours", f"it has no {MARKER}"),
        ("points outside", "is not a list of files this script wrote"),
        ("worked in", f"{NAMES[0]}: it changed since make_student.py wrote it"),
        ("rerun", None),  # keeps the student's files, brings back a deleted notebook, removes only its own
    ],
)
def test_make_student_touches_only_what_it_wrote(tmp_path_factory, tmp_path, student_dir, capsys, case, why):
    course = course_of_notebooks(tmp_path_factory)
    out, mine = tmp_path / "release", {"notes.txt": b"my notes", "images/my_digit.png": b"my own drawing"}
    shutil.copytree(student_dir, out) if case in ("worked in", "rerun") else out.mkdir()
    (out / NAMES[1]).unlink(missing_ok=True)  # a released notebook the student deleted: a rerun brings it back
    for name, data in {**mine, **({"retired/old.ipynb": b"{}"} if case == "rerun" else {})}.items():
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_bytes(data)
    if case == "worked in":  # a released notebook a student worked in
        (out / NAMES[0]).write_text((out / NAMES[0]).read_text().replace("raise NotImplementedError()", "x = 4", 1))
    if case == "points outside":
        (tmp_path / "precious.txt").write_text("keep")
        (out / MARKER).write_text(json.dumps({"files": {"../precious.txt": "0" * 64}}))
    if case == "rerun":  # a file an earlier release wrote that the course no longer has: it goes
        listed = json.loads((out / MARKER).read_text())["files"]
        listed["retired/old.ipynb"] = hashlib.sha256(b"{}").hexdigest()
        (out / MARKER).write_text(json.dumps({"files": listed}))
    before = contents(tmp_path)
    assert make_student.main(["--out", str(out), "--course", str(course)]) == (0 if case == "rerun" else 1)
    if case == "rerun":  # the release: every file of notebooks/ (06 reads images/ next to itself), and their list
        assert contents(out) == {**contents(student_dir), **mine} and not (out / "retired").exists()
        released = {k for k in contents(REPO / "notebooks") if not NOT_RELEASED.search(k)}
        assert any(k.startswith("images/") for k in released) and contents(student_dir).keys() == released | {MARKER}
        listed = json.loads((student_dir / MARKER).read_text())["files"]
        assert listed == {name: hashlib.sha256((student_dir / name).read_bytes()).hexdigest() for name in released}
    else:
        assert why in capsys.readouterr().err and contents(tmp_path) == before


@pytest.fixture(scope="module")
def light_kernel(student_dir):
    """One kernel for the exercise stubs, started in the release folder; each notebook resets it."""
    arguments, path = ["--IPKernelApp.log_level=ERROR"], {"metadata": {"path": str(student_dir)}}
    client = NotebookClient(nbformat.v4.new_notebook(), timeout=120, extra_arguments=arguments, resources=path)
    with client.setup_kernel():
        yield client


def execute(client: NotebookClient, source: str) -> None:
    client.nb.cells.append(cell := nbformat.v4.new_code_cell(source))
    client.execute_cell(cell, len(client.nb.cells) - 1)


@pytest.mark.parametrize("name", NAMES)
def test_student_version_is_the_instructor_version_with_stubs_that_stop(student_dir, light_kernel, name):
    """No solution or hidden test is left; only they, nbgrader's locks and outputs differ; each stub raises
    NotImplementedError, in its answer cell or in the check it passes a function to, with only `checks` imported."""
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
    assert {**student, "cells": []} == {**instructor, "cells": []}  # nbformat version, notebook metadata
    assert [c.get("id") for c in student.cells] == [c.get("id") for c in instructor.cells], "cells added or moved"
    for mine, theirs in zip(instructor.cells, student.cells, strict=True):
        expected, flags, checksum = copy.deepcopy(mine), meta(mine), meta(theirs).get("checksum", "")
        if mine.cell_type == "code":
            expected.update(outputs=[], execution_count=None)
        if flags.get("solution") or flags.get("grade") or flags.get("locked"):  # else: kept as it is
            assert re.fullmatch(r"[0-9a-f]{32}", checksum), f"{name}, cell {mine.id}: no nbgrader checksum"
            expected.source = student_source(mine)  # locked against deletion (and editing, a check), a checksum
            expected.metadata.update(deletable=False, **({"editable": False} if flags.get("locked") else {}))
            expected.metadata.nbgrader = {**flags, "cell_type": mine.cell_type, "checksum": checksum}
        keys = ("cell_type", "source", "metadata", "outputs", "execution_count")
        assert {k: theirs.get(k) for k in keys} == {k: expected.get(k) for k in keys}, f"{name}, cell {mine.id}"
    execute(light_kernel, "%reset -f\nfrom helpers import checks")
    exercises = []  # each code answer cell with the check cells that follow it
    for cell in student.cells:
        if cell.cell_type == "code" and meta(cell).get("solution"):
            exercises.append((cell, []))
        elif cell.cell_type == "code" and meta(cell).get("grade") and exercises:
            exercises[-1][1].append(cell)
    assert exercises, f"{name}: no code exercises"
    for answer, check_cells in exercises:
        assert check_cells, f"{name} {meta(answer)['grade_id']}: no check follows the answer cell"
        with pytest.raises(CellExecutionError) as err:  # in the answer cell, or a check it passes a function to
            for cell in [answer, *check_cells]:
                execute(light_kernel, cell.source)
        assert err.value.ename == "NotImplementedError", f"{name} {meta(answer)['grade_id']}: {err.value}"
