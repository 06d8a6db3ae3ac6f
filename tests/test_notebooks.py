"""The committed notebooks: stored outputs from one fresh run, markers nbval understands, structure."""

from __future__ import annotations

import getpass
import re
import socket
import subprocess
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
MARKERS = {"NBVAL_IGNORE_OUTPUT", "NBVAL_RAISES_EXCEPTION", "NBVAL_SKIP", "NBVAL_CHECK_OUTPUT"}


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def markdown_of(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def output_text(output) -> str:
    if output.output_type == "stream":
        return output.text
    return "\n".join(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))


def test_outputs_come_from_one_fresh_run_without_errors_noise_or_machine_details(notebook):
    path, nb = notebook
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: rerun it top to bottom in a fresh kernel"
    unrun = [c for c in nb.cells if c.cell_type == "code" and not c.source.strip() and (c.outputs or c.execution_count)]
    assert not unrun, f"{path.name}: an empty cell has outputs"
    # this machine's user and host names, where long enough to search for without false alarms
    names = sorted(n for n in {getpass.getuser(), socket.gethostname().split(".")[0]} if len(n) >= 4)
    for i, cell in enumerate(code_cells(nb)):
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name} cell {i} stores an error"
            text = output_text(output)
            assert not [n for n in NOISE if n in text], f"{path.name} cell {i} shows TensorFlow log noise"
            assert not re.search(r"(/root/|/home/|/tmp/|/Users/|[A-Z]:\\\\)", text), f"{path.name} cell {i}: a path"
            assert not re.search(r"\b0x[0-9a-fA-F]{6,}\b", text), f"{path.name} cell {i} shows a memory address"
            for name in names:
                assert not re.search(rf"\b{re.escape(name)}\b", text), f"{path.name} cell {i} shows {name!r}"
            if output.output_type == "stream":  # warnings and log lines go to stderr: a clean run writes nothing there
                assert output.name == "stdout", f"{path.name} cell {i} writes to stderr: {text[:200]!r}"


def test_files_are_canonical_with_minimal_metadata_and_standalone_nbval_markers(notebook):
    """Byte for byte what nbformat writes, cell ids, portable metadata; nbval markers alone on their line."""
    path, nb = notebook
    assert path.read_text(encoding="utf-8") == nbformat.writes(nb) + "\n", (
        f"{path.name} is not in canonical form: refresh it with scripts/run_notebooks.py --in-place"
    )
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5), f"{path.name}: cell ids need nbformat 4.5"
    nbformat.validate(nb)
    ids = [cell.get("id") for cell in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: every cell needs a unique id"
    extra = set(nb.metadata) - NOTEBOOK_METADATA
    assert not extra, f"{path.name}: extra notebook metadata {extra}"
    assert nb.metadata["kernelspec"]["name"] == "python3", f"{path.name}: the kernel should be python3"
    assert nb.metadata["language_info"] == {"name": "python"}, f"{path.name}: language_info records machine versions"
    for i, cell in enumerate(nb.cells):
        extra = set(cell.metadata) - CELL_METADATA
        assert not extra, f"{path.name} cell {i} has machine- or run-specific metadata {extra}"
        for output in cell.get("outputs", []):
            assert not output.get("metadata", {}).get("execution"), f"{path.name} cell {i}: timing metadata"
    # nbval only honours a marker alone on its comment line; with text after it, it is ignored
    for line in [line for cell in code_cells(nb) for line in cell.source.splitlines() if "NBVAL_" in line]:
        assert line.strip().lstrip("#").strip() in MARKERS, f"{path.name}: {line.strip()!r} is not an nbval marker"


# ------------------------------------------------------------------ notebook numbers and the links between them
# A notebook's number is the two digits its file name starts with. These tests catch a number that names the wrong
# notebook, or one that does not exist, wherever the series refers to itself: titles, links, "Next" sections, the
# tables of notebooks, "notebook NN" in prose and code, header "Needs:" lines, and file names.

NUMBER = {path: path.name[:2] for path in NOTEBOOKS}
MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
NOTEBOOK_FILE = re.compile(r"(?:^|/)(\d{2})_[\w-]+\.ipynb$")
# "notebook 04", "Notebook **05**", "notebooks 02 and 04", "notebooks 02, 04 or 05", "notebooks 01–06", "02 to 07"
MENTION = re.compile(r"\b[Nn]otebooks?\s+\**(\d{2})(?!\d)\**((?:\s*(?:,|and|or|to|-|–)\s*\**\d{2}(?!\d)\**)*)")
RECIPE = re.compile(r"\bnotebook=\"(\d{2})\"")  # helpers.models.RECIPES
LABELS = [  # the README's and the instructor guide's short labels
    re.compile(r"(?<=\s)\((0\d)\)"),  # 'seed "improved" (04)', "the wide model without biases (04) |"
    re.compile(r"^\| (0\d)(?=,| \|)", re.M),  # a table's first column: "| 04 |", "| 04, section 2: ..."
    re.compile(r"\| (0\d) \|$", re.M),  # a table's last column: "... | 07 |"
]
GUIDES = [REPO / "README.md", REPO / "docs" / "instructors.md"]


def mentioned(text: str) -> list[str]:
    """The numbers of "notebook NN", "notebooks NN and MM", "notebooks NN–MM" ... in ``text``."""
    return [n for first, rest in MENTION.findall(text) for n in [first, *re.findall(r"\d{2}", rest)]]


def notebook_links(text: str) -> list[tuple[str, str, str]]:
    """(label, target without its #anchor, the target's number) of each relative Markdown link to a notebook."""
    links = [(label, target.split("#")[0]) for label, target in MD_LINK.findall(text)]
    matches = [(label, target, NOTEBOOK_FILE.search(target)) for label, target in links]
    return [(lb, t, m.group(1)) for lb, t, m in matches if m and not t.startswith(("http://", "https://"))]


def label_number(label: str) -> str | None:
    """The number a link's label starts with: "04 · The ..." or "04" -> "04", "notebook 08" -> "08"."""
    match = re.match(r"\**(?:[Nn]otebook\s+)?(\d{2})(?!\d)", label.strip())
    return match.group(1) if match else None


def section(markdown: str, heading: str) -> str:
    """The lines under the heading that starts with ``heading``, up to the next heading of its level or above."""
    lines, level = markdown.splitlines(), len(heading.split()[0])
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    if start is None:
        return ""
    below = lines[start + 1 :]
    end = next((i for i, line in enumerate(below) if re.match(rf"#{{1,{level}}} ", line)), len(below))
    return "\n".join(below[:end])


def test_every_notebook_has_the_course_structure(notebook):
    """Numbered title, the course's sections, a solution, helpers before Keras, Needs earlier ones, Next the next."""
    path, nb = notebook
    markdown, code = markdown_of(nb), "\n".join(c.source for c in code_cells(nb))
    assert nb.cells[0].source.startswith(f"# {NUMBER[path]} · "), f"{path.name}: its title should start '# NN · '"
    for part in ["What you'll learn", "Run time", "## Summary", "## Exercises", "## Next"]:
        assert part in markdown, f"{path.name} has no {part!r}"
    assert "### BEGIN SOLUTION" in code, f"{path.name} has no '### BEGIN SOLUTION' cell"
    # importing helpers first keeps TensorFlow's C++ start-up lines out of the kernel's output
    imports = [line.split()[1] for line in code.splitlines() if line.startswith(("import ", "from "))]
    first_tf = next((i for i, m in enumerate(imports) if m.split(".")[0] in {"keras", "tensorflow"}), None)
    first_helpers = next((i for i, m in enumerate(imports) if m.split(".")[0] == "helpers"), None)
    assert first_helpers is not None, f"{path.name} never imports helpers"
    assert first_tf is None or first_helpers < first_tf, f"{path.name} imports {imports[first_tf]} before helpers"
    # the course's rule: a notebook stands on the ones before it, never on a later one (its header's Needs:)
    needs = re.search(r"\*\*Needs:\*\*(.*?)(?:\*\*Produces:\*\*|\n\s*\n|$)", nb.cells[0].source, re.S)
    assert needs, f"{path.name}: its header has no **Needs:**"
    numbers = mentioned(needs.group(1)) + [n for _, _, n in notebook_links(needs.group(1))]
    numbers += [n for label, _ in MD_LINK.findall(needs.group(1)) if (n := label_number(label))]
    later = sorted(n for n in set(numbers) if n >= NUMBER[path])
    assert not later, f"{path.name} needs notebook(s) {later}: a notebook may only need earlier ones"
    links = notebook_links(section(markdown, "## Next"))
    for _, target, _ in links:
        assert (path.parent / target).is_file(), f"{path.name}: its '## Next' section links to {target}: no such file"
    following = f"{int(NUMBER[path]) + 1:02d}"  # the last one may point back, or nowhere
    assert path == NOTEBOOKS[-1] or following in [n for _, _, n in links], (
        f"{path.name}: its '## Next' section should link to notebook {following}; it links to {links}"
    )


def test_notebooks_are_numbered_01_02_03_without_gaps():
    numbers, expected = [NUMBER[p] for p in NOTEBOOKS], [f"{i:02d}" for i in range(1, len(NOTEBOOKS) + 1)]
    assert numbers == expected, f"notebook numbers {numbers}: expected {expected}, one file per number and no gaps"


def test_relative_links_resolve_and_notebook_links_name_their_file_number():
    """In the notebooks' markdown and the guides, [NN · Title](NN_name.ipynb), [notebook NN](...), [NN](...)."""
    docs = [(p, markdown_of(nbformat.read(p, as_version=4))) for p in NOTEBOOKS]
    docs += [(p, p.read_text(encoding="utf-8")) for p in [*GUIDES, REPO / "data" / "README.md"]]
    for doc, text in docs:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not target.startswith(("http://", "https://", "mailto:")):
                assert (doc.parent / target).exists(), f"{doc.name}: broken link to {target}"
        for label, target, number in notebook_links(text):
            assert (doc.parent / target).is_file(), f"{doc.name}: [{label}]({target}) points at no file"
            said = label_number(label)
            assert said in (None, number), f"{doc.name}: [{label}]({target}): the label says {said}, the file {number}"


def test_the_tables_of_notebooks_list_every_notebook_under_its_number():
    """The README's table of notebooks and the instructor guide's lesson plan: one row per notebook, in order."""
    for doc in GUIDES:
        listed = []
        for row in doc.read_text(encoding="utf-8").splitlines():
            if not re.match(r"\| \d+( \(optional\))? \| \[", row):
                continue
            first, links = int(row.split("|")[1].split()[0]), notebook_links(row)
            assert links and int(links[0][2]) == first, f"{doc.name}: the row numbered {first} links to {links[:1]}"
            listed.append(Path(links[0][1]).name)
        assert listed == [p.name for p in NOTEBOOKS], f"{doc.name}: its table of notebooks lists {listed}"


def test_every_notebook_number_named_exists():
    """Each "notebook NN" in the notebooks (markdown and code), the README, the instructor guide and helpers/..."""
    texts = [(p.name, "\n".join(c.source for c in nbformat.read(p, as_version=4).cells)) for p in NOTEBOOKS]
    texts += [(p.name, p.read_text(encoding="utf-8")) for p in GUIDES]
    code = [
        p for folder in ("helpers", "scripts", "grading", "benchmarks") for p in sorted(REPO.glob(f"{folder}/*.py"))
    ]
    texts += [(str(p.relative_to(REPO)), p.read_text(encoding="utf-8")) for p in code]
    for name, text in texts:
        numbers = mentioned(text) + RECIPE.findall(text)
        if name in {p.name for p in GUIDES}:
            numbers += [n for pattern in LABELS for n in pattern.findall(text)]
        unknown = sorted(set(numbers) - set(NUMBER.values()))
        assert not unknown, f"{name} names notebook(s) {unknown}; the notebooks are {sorted(NUMBER.values())}"


def repository_text_files() -> list[Path]:
    """The files git tracks, and new ones it does not ignore, that are text."""
    git = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    try:
        listed = subprocess.run(git, cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    paths = [REPO / name for name in sorted(set(listed.split("\0")) - {""})]
    return [p for p in paths if p.is_file() and b"\0" not in p.read_bytes()[:8192]]


def test_no_file_names_a_notebook_by_another_number():
    """A notebook's old file name after a renumbering (its name under another number), or a notebook that is gone."""
    stems = {p.stem[3:]: NUMBER[p] for p in NOTEBOOKS}  # e.g. "baseline_model": "02"
    renumbered = re.compile(rf"(?<!\d)(\d{{2}})_({'|'.join(map(re.escape, stems))})(?![\w-])")
    any_notebook = re.compile(r"(?<!\d)(\d{2}_[\w-]+)\.ipynb")
    made_up = {REPO / "tests" / "test_bench_report.py"}  # its results are made up, for notebooks made up
    for path in repository_text_files():
        text, where = path.read_text(encoding="utf-8", errors="replace"), path.relative_to(REPO)
        for number, stem in renumbered.findall(text):
            assert number == stems[stem], f"{where} names {number}_{stem}: the notebook is {stems[stem]}_{stem}"
        for name in [] if path in made_up else any_notebook.findall(text):
            assert (REPO / "notebooks" / f"{name}.ipynb").is_file(), f"{where} names {name}.ipynb: no such notebook"
