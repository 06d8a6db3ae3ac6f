"""Student versions made by `make student` (nbgrader generate_assignment): no leaks, and they run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parent.parent
INSTRUCTOR = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student") / "release"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_student.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(INSTRUCTOR)} student notebooks" in done.stdout
    return out


def secret_lines(path: Path) -> list[str]:
    """Lines of solutions and hidden tests that appear nowhere else in the instructor notebook."""
    nb = nbformat.read(path, as_version=4)
    public = "\n".join(REGION.sub("", c.source) for c in nb.cells)
    lines = []
    for cell in nb.cells:
        for _, body in REGION.findall(cell.source):
            lines += [ln.strip() for ln in body.splitlines() if len(ln.strip()) > 12 and ln.strip() not in public]
    return lines


def test_every_notebook_has_graded_exercises():
    for path in INSTRUCTOR:
        nb = nbformat.read(path, as_version=4)
        meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
        answers = [m for m in meta if m.get("solution") and not m.get("grade")]
        checks = [m for m in meta if m.get("grade") and not m.get("solution")]
        assert len(answers) >= 2 and len(checks) >= 2, f"{path.name}: too few exercises with checks"
        assert all(m.get("locked") and m.get("points", 0) > 0 for m in checks), path.name
        # one short written answer graded by hand: an unlocked markdown cell with points
        written = [
            c
            for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"].get("solution")
        ]
        assert written, f"{path.name}: no manually graded written question"
        assert all(c.cell_type == "markdown" and c.metadata["nbgrader"].get("points", 0) > 0 for c in written), (
            path.name
        )
        assert all("### BEGIN SOLUTION" in c.source for c in written), (
            f"{path.name}: a written answer has no model answer"
        )
        ids = [m["grade_id"] for m in meta if "grade_id" in m]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate grade_id"
    assert any("### BEGIN HIDDEN TESTS" in c.source for p in INSTRUCTOR for c in nbformat.read(p, 4).cells)


def test_no_solution_or_hidden_test_leaks(student_dir):
    students = {p.name: p for p in student_dir.glob("*.ipynb")}
    assert sorted(students) == [p.name for p in INSTRUCTOR]
    for path in INSTRUCTOR:
        student = nbformat.read(students[path.name], as_version=4)
        nbformat.validate(student)
        text = "\n".join(c.source for c in student.cells)
        for marker in ["BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"]:
            assert marker not in text, f"{path.name}: '{marker}' left in the student version"
        secrets = secret_lines(path)
        assert secrets, f"{path.name}: found no solution lines to look for"
        for line in secrets:
            assert line not in text, f"{path.name}: solution or hidden test leaked: {line!r}"
        solution_cells = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("solution")]
        code_answers = [c for c in solution_cells if c.cell_type == "code"]
        written = [c for c in solution_cells if c.cell_type == "markdown"]
        assert code_answers and all("raise NotImplementedError()" in c.source for c in code_answers)
        assert written and all("YOUR ANSWER HERE" in c.source for c in written), (
            f"{path.name}: written answer not blanked"
        )
        assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code"), (
            f"{path.name}: the student version still has outputs"
        )
    assert (student_dir / "images").is_dir(), "notebook 05's sample images must travel with it"
    assert not (student_dir / "ruff.toml").exists(), "the maintainers' lint config is not course material"


@pytest.mark.parametrize("name", [p.name for p in INSTRUCTOR])
def test_student_notebook_runs_until_its_first_exercise(student_dir, name):
    path = student_dir / name
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=1200,
        kernel_name="python3",
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": str(student_dir)}},
    )
    with client.setup_kernel():
        reached_exercise = False
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            reached_exercise |= bool(meta.get("solution"))
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as err:
                # The first exercise raises NotImplementedError: in its answer cell, or (for an
                # exercise that asks for a function) in the check that calls it. Nothing else may fail.
                assert reached_exercise and err.ename == "NotImplementedError", f"{name} cell {index}: {err}"
                assert meta.get("solution") or meta.get("grade"), f"{name} cell {index} is not an exercise cell"
                return
    pytest.fail(f"{name}: ran to the end without reaching an unanswered exercise")
