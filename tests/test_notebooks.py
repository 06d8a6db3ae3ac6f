"""The committed notebooks: stored outputs from one fresh run, markers nbval understands, structure."""

from __future__ import annotations

import getpass
import re
import socket
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOISE = [
    "absl::InitializeLog",
    "oneDNN custom operations",
    "cpu_feature_guard",
    "Could not find cuda",
    "WARNING:tensorflow",
]
# Metadata that means the same on every machine; anything else (timings, widget state, versions) is noise.
NOTEBOOK_METADATA = {"kernelspec", "language_info"}
CELL_METADATA = {"nbgrader", "tags", "editable", "deletable"}


def machine_names() -> list[str]:
    """This machine's user and host names, where long enough to search for without false alarms."""
    names = {getpass.getuser(), socket.gethostname().split(".")[0]}
    return sorted(n for n in names if len(n) >= 4)


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
    unrun = [c for c in nb.cells if c.cell_type == "code" and not c.source.strip() and (c.outputs or c.execution_count)]
    assert not unrun, f"{path.name}: an empty cell has outputs"


def test_no_errors_noise_or_machine_details_in_outputs(notebook):
    path, nb = notebook
    for i, cell in enumerate(code_cells(nb)):
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name} cell {i} stores an error"
            text = output_text(output)
            for noise in NOISE:
                assert noise not in text, f"{path.name} cell {i} shows TensorFlow log noise"
            assert not re.search(r"(/root/|/home/|/tmp/|/Users/|[A-Z]:\\\\)", text), (
                f"{path.name} cell {i} shows a machine path"
            )
            assert not re.search(r"\b0x[0-9a-fA-F]{6,}\b", text), f"{path.name} cell {i} shows a memory address"
            for name in machine_names():
                assert not re.search(rf"\b{re.escape(name)}\b", text), f"{path.name} cell {i} shows {name!r}"
            if output.output_type == "stream":
                # warnings and log lines go to stderr: a clean run writes nothing there
                assert output.name == "stdout", f"{path.name} cell {i} writes to stderr: {text[:200]!r}"


def test_files_are_canonical_with_minimal_metadata(notebook):
    """Byte for byte what nbformat writes (sorted keys, 1-space indent), with cell ids and only portable metadata."""
    path, nb = notebook
    assert path.read_text(encoding="utf-8") == nbformat.writes(nb) + "\n", (
        f"{path.name} is not in canonical form: refresh it with scripts/run_notebooks.py --in-place"
    )
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5), f"{path.name}: cell ids need nbformat 4.5"
    nbformat.validate(nb)
    ids = [cell.get("id") for cell in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: every cell needs a unique id"
    assert set(nb.metadata) <= NOTEBOOK_METADATA, (
        f"{path.name}: extra notebook metadata {set(nb.metadata) - NOTEBOOK_METADATA}"
    )
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["language_info"] == {"name": "python"}, f"{path.name}: language_info records machine versions"
    for i, cell in enumerate(nb.cells):
        extra = set(cell.metadata) - CELL_METADATA
        assert not extra, f"{path.name} cell {i} has machine- or run-specific metadata {extra}"
        for output in cell.get("outputs", []):
            assert not output.get("metadata", {}).get("execution"), f"{path.name} cell {i}: timing metadata"


def test_nbval_markers_stand_alone(notebook):
    """nbval only honours a marker alone on its comment line; with text after it, it is ignored."""
    path, nb = notebook
    for cell in code_cells(nb):
        for line in cell.source.splitlines():
            if "NBVAL_" in line:
                assert line.strip().lstrip("#").strip() in {
                    "NBVAL_IGNORE_OUTPUT",
                    "NBVAL_RAISES_EXCEPTION",
                    "NBVAL_SKIP",
                    "NBVAL_CHECK_OUTPUT",
                }, f"{path.name}: {line.strip()!r} is not a marker nbval recognises"


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
        text = (
            doc.read_text()
            if doc.suffix == ".md"
            else "\n".join(c.source for c in nbformat.read(doc, 4).cells if c.cell_type == "markdown")
        )
        for target in link.findall(text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (doc.parent / target).exists(), f"{doc.name}: broken link to {target}"


def test_helpers_is_imported_before_keras(notebook):
    """Importing helpers first keeps TensorFlow's C++ start-up lines out of the kernel's output."""
    path, nb = notebook
    imports = [
        line.split()[1]
        for cell in code_cells(nb)
        for line in cell.source.splitlines()
        if line.startswith(("import ", "from "))
    ]
    first_tf = next((i for i, m in enumerate(imports) if m.split(".")[0] in {"keras", "tensorflow"}), None)
    first_helpers = next((i for i, m in enumerate(imports) if m.split(".")[0] == "helpers"), None)
    assert first_helpers is not None, f"{path.name} never imports helpers"
    assert first_tf is None or first_helpers < first_tf, f"{path.name} imports {imports[first_tf]} before helpers"
