"""What grading/grade.py checks in a submission before any of its code runs, and refuses.

A submission is refused (moved aside, with the reason, and not graded) when nbgrader could not
grade it or could be fooled by it:

- a folder name nbgrader cannot take as a student id;
- a link, or anything else that is not a plain file or folder, in the submission or as the
  submission's folder itself (nbgrader would copy what a link points at, anywhere on the grader's
  machine, into the folder the student's code runs in);
- a notebook over MAX_NOTEBOOK_BYTES or a submission over MAX_SUBMISSION_BYTES;
- a notebook that is not valid JSON or not a valid notebook (nbformat's schema);
- altered grade cells: a cell of the assignment (answer, check, written answer) missing or its
  grade_id changed, a cell with a grade_id the assignment does not have, its nbgrader flags (grade,
  solution, locked, task) changed (a check marked as a solution), or nbgrader metadata that
  nbgrader's own validator rejects.

What nbgrader repairs by itself is only noted: a check cell whose code was edited (autograde runs
the instructor's version), a changed cell type or number of points (put back), a notebook missing
from the submission (it scores zero), a copy of a cell (nbgrader keeps the last one).
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import nbformat
from nbgrader.nbgraderformat import MetadataValidator

MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_SUBMISSION_BYTES = 500 * 2**20
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
FLAGS = ("grade", "solution", "locked", "task")


def flagged(cell) -> bool:
    meta = cell.metadata.get("nbgrader")
    return isinstance(meta, dict) and any(meta.get(flag) for flag in FLAGS)


def grade_cells(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """grade_id -> cell for the cells nbgrader grades or locks; for a copied cell the last copy, as nbgrader."""
    return {cell.metadata.nbgrader["grade_id"]: cell for cell in nb.cells if flagged(cell)}


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str | None]:
    """The notebook, or None and why it is not one."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return None, f"{path.name} is {size / 2**20:.0f} MB, more than the {MAX_NOTEBOOK_BYTES // 2**20} MB allowed"
    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except UnicodeDecodeError:
        return None, f"invalid notebook: {path.name} is not UTF-8 text"
    except json.JSONDecodeError as exc:
        return None, f"invalid notebook: {path.name} is not valid JSON ({exc})"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several kinds
        return None, f"invalid notebook: {path.name} fails nbformat's validation ({str(exc).splitlines()[0][:200]})"
    return nb, None


def check_notebook(submitted: nbformat.NotebookNode, released: nbformat.NotebookNode, name: str):
    """(problems, notes) of one submitted notebook against the version the students were given."""
    problems, notes = [], []
    for index, cell in enumerate(submitted.cells):
        meta = cell.metadata.get("nbgrader")
        if meta is not None and not isinstance(meta, dict):
            problems.append(f"{name}: cell {index + 1} has nbgrader metadata that is not an object")
        elif flagged(cell) and not (isinstance(meta.get("grade_id"), str) and meta["grade_id"]):
            problems.append(f"{name}: cell {index + 1} is marked for grading but has no grade_id")
    if problems:
        return problems, notes
    expected, found = grade_cells(released), grade_cells(submitted)
    copies = len([c for c in submitted.cells if flagged(c)]) - len(found)
    if copies:
        notes.append(f"{name}: {copies} copied grade cell(s); nbgrader grades the last copy")
    for grade_id, original in expected.items():
        cell = found.get(grade_id)
        if cell is None:
            problems.append(f"altered grade cells: {name}: cell {grade_id} is missing (deleted, or grade_id changed)")
            continue
        meta, wanted = cell.metadata.nbgrader, original.metadata.nbgrader
        changed = [flag for flag in FLAGS if bool(meta.get(flag)) != bool(wanted.get(flag))]
        if changed:
            now = ", ".join(f"{flag}={bool(meta.get(flag))}" for flag in changed)
            problems.append(f"altered grade cells: {name}: cell {grade_id} is marked {now}, unlike the assignment")
            continue
        if meta.get("schema_version") != wanted.get("schema_version"):
            problems.append(f"altered grade cells: {name}: cell {grade_id} has another nbgrader schema version")
            continue
        # what nbgrader itself checks, after it has put back what it puts back (type, points, checksum)
        repaired = copy.deepcopy(cell)
        repaired.cell_type = original.cell_type
        repaired.metadata.nbgrader.update({k: wanted[k] for k in ("points", "checksum", "cell_type") if k in wanted})
        try:
            MetadataValidator().validate_cell(repaired)
        except Exception as exc:
            problems.append(f"altered grade cells: {name}: cell {grade_id}: {str(exc).splitlines()[0][:200]}")
            continue
        if cell.cell_type != original.cell_type:
            notes.append(f"{name}: cell {grade_id} was made a {cell.cell_type} cell; nbgrader changes it back")
        elif meta.get("locked") and cell.source != original.source:
            notes.append(f"{name}: locked cell {grade_id} was edited; the instructor's version is graded")
        if meta.get("grade") and meta.get("points") != wanted.get("points"):
            notes.append(f"{name}: cell {grade_id} claims other points; nbgrader uses the assignment's")
    for grade_id in found.keys() - expected.keys():
        problems.append(f"altered grade cells: {name}: cell {grade_id} is not a cell of the assignment")
    return problems, notes


def check_submission(folder: Path, release: Path, student: str) -> tuple[list[str], list[str]]:
    """(problems, notes) for STUDENT's submission `folder`; `release` holds the assignment as handed out.

    Any problem refuses the submission; notes are for the instructor's summary.
    """
    problems, notes = [], []
    if not STUDENT_ID.fullmatch(student):
        problems.append("the folder name is not a usable student id (letters, digits and . _ @ + - only)")
    for path in (folder.parent, folder):  # a link to someone else's folder, the solutions, anywhere
        if path.is_symlink():
            problems.append(f"{path.name} is a link (only plain files and folders are accepted)")
    total = 0
    for here, dirs, files in [] if problems else os.walk(folder):  # does not follow links
        for name in dirs + files:
            path = Path(here, name)
            if path.is_symlink():
                problems.append(f"{path.relative_to(folder)} is a link (only plain files and folders are accepted)")
            elif not (path.is_file() or path.is_dir()):
                problems.append(f"{path.relative_to(folder)} is not a plain file")
            elif path.is_file():
                total += path.stat().st_size
    if total > MAX_SUBMISSION_BYTES:
        problems.append(f"the submission holds {total / 2**20:.0f} MB, more than {MAX_SUBMISSION_BYTES // 2**20} MB")
    if problems:
        return problems, notes
    for released_path in sorted(release.glob("*.ipynb")):
        path = folder / released_path.name
        if not path.is_file():
            notes.append(f"{released_path.name} was not submitted (it scores zero)")
            continue
        nb, why = read_notebook(path)
        if nb is None:
            problems.append(why)
            continue
        more_problems, more_notes = check_notebook(nb, nbformat.read(released_path, as_version=4), path.name)
        problems += more_problems
        notes += more_notes
    return problems, notes
