"""The committed notebooks: stored outputs from one fresh run, markers nbval understands, structure."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOISE = ["absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard", "Could not find cuda"]


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def output_text(output) -> str:
    if output.output_type == "stream":
        return output.text
    return "\n".join(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3


def test_outputs_come_from_one_fresh_run(notebook):
    path, nb = notebook
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: rerun it top to bottom in a fresh kernel"
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_no_errors_noise_or_machine_details_in_outputs(notebook):
    path, nb = notebook
    for i, cell in enumerate(code_cells(nb)):
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name} cell {i} stores an error"
            text = output_text(output)
            for noise in NOISE:
                assert noise not in text, f"{path.name} cell {i} shows TensorFlow log noise"
            assert not re.search(r"(/root/|/home/|/tmp/|/Users/|[A-Z]:\\\\)", text), \
                f"{path.name} cell {i} shows a machine path"
            assert not re.search(r"\b0x[0-9a-fA-F]{6,}\b", text), f"{path.name} cell {i} shows a memory address"


def test_nbval_markers_stand_alone(notebook):
    """nbval only honours a marker alone on its comment line; with text after it, it is ignored."""
    path, nb = notebook
    for cell in code_cells(nb):
        for line in cell.source.splitlines():
            if "NBVAL_" in line:
                assert line.strip().lstrip("#").strip() in {"NBVAL_IGNORE_OUTPUT", "NBVAL_RAISES_EXCEPTION",
                                                            "NBVAL_SKIP", "NBVAL_CHECK_OUTPUT"}, \
                    f"{path.name}: {line.strip()!r} is not a marker nbval recognises"


def test_every_notebook_has_the_course_structure(notebook):
    path, nb = notebook
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].source.startswith("# "), f"{path.name} should open with a title"
    for part in ["What you'll learn", "Run time", "## Summary", "## Exercises", "## Next"]:
        assert part in markdown, f"{path.name} has no {part!r}"
    assert "### BEGIN SOLUTION" in "\n".join(c.source for c in code_cells(nb))


def test_relative_links_resolve():
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    documents = NOTEBOOKS + [REPO / "README.md", REPO / "data" / "README.md", REPO / "docs" / "instructors.md"]
    for doc in documents:
        text = (doc.read_text() if doc.suffix == ".md"
                else "\n".join(c.source for c in nbformat.read(doc, 4).cells if c.cell_type == "markdown"))
        for target in link.findall(text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (doc.parent / target).exists(), f"{doc.name}: broken link to {target}"
