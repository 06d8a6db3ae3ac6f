"""Write the repository's location into the README badges, each notebook's header and setup cell.

    python scripts/course_links.py           # rewrite them from pyproject.toml
    python scripts/course_links.py --check   # exit 1 (naming the files) if any is out of date

The location is one setting: ``[project.urls] Repository`` in pyproject.toml; the ref that
hosted runtimes install and open is ``v`` + the project's version (tag it when you publish).
To publish under another name, change that line and run this script.
"""

from __future__ import annotations

from helpers.files import write_atomic

import argparse
import re
import sys
from pathlib import Path

import nbformat
import tomllib

REPO = Path(__file__).resolve().parent.parent
SETUP_ID = "hosted-runtime-setup"
HEADER_LINKS = re.compile(r"^\[!\[Launch on Binder\].*$", re.M)

# The first code cell of every notebook. Locally, on Binder and on a hub it does nothing.
SETUP_CELL = """\
# Colab and Kaggle only: install the course's `helpers` and fetch the sample images (a no-op elsewhere).
import importlib.util
import os
import shutil
import subprocess
import sys

REPOSITORY, REF = "{repository}", "{ref}"  # written by scripts/course_links.py
if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
    source = REPOSITORY.split("/")[-1]  # cloned into the working folder, like everything else
    if not os.path.isdir(source):  # on Kaggle, switch the notebook's Internet setting on first
        url = f"https://github.com/{{REPOSITORY}}.git"
        subprocess.run(["git", "clone", "--quiet", "--depth=1", f"--branch={{REF}}", url, source], check=True)
    if importlib.util.find_spec("helpers") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"./{{source}}"], check=True)
        importlib.invalidate_caches()
    if not os.path.isdir("images"):
        shutil.copytree(os.path.join(source, "notebooks", "images"), "images")
    if "google.colab" in sys.modules:  # the drawing canvas of notebook 06 is a custom widget
        from google.colab import output

        output.enable_custom_widget_manager()"""


def location(pyproject: Path = REPO / "pyproject.toml") -> tuple[str, str]:
    """(owner/name, ref) from pyproject.toml."""
    project = tomllib.loads(pyproject.read_text())["project"]
    url = project.get("urls", {}).get("Repository", "")
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?", url)
    if not match:
        raise SystemExit(f"pyproject.toml: [project.urls] Repository must be https://github.com/OWNER/NAME: {url!r}")
    return match.group(1), f"v{project['version']}"


def links(repository: str, ref: str, notebook: str) -> str:
    """The header line of one notebook: Binder, Colab, Kaggle and GitHub, all at ``ref``."""
    blob = f"https://github.com/{repository}/blob/{ref}/notebooks/{notebook}"
    return " &nbsp; ".join(
        [
            f"[![Launch on Binder](https://mybinder.org/badge_logo.svg)]"
            f"(https://mybinder.org/v2/gh/{repository}/{ref}?labpath=notebooks%2F{notebook})",
            f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{repository}/blob/{ref}/notebooks/{notebook})",
            f"[![Open in Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]"
            f"(https://kaggle.com/kernels/welcome?src={blob})",
            f"[View on GitHub]({blob})",
        ]
    )


def updated_notebook(nb: nbformat.NotebookNode, name: str, repository: str, ref: str) -> nbformat.NotebookNode:
    """``nb`` with its header links and setup cell written for ``repository`` at ``ref``."""
    header = nb.cells[0]
    if not HEADER_LINKS.search(header.source):
        raise SystemExit(f"{name}: the first cell has no '[![Launch on Binder]...' line to rewrite")
    header.source = HEADER_LINKS.sub(lambda _: links(repository, ref, name), header.source, count=1)
    source = SETUP_CELL.format(repository=repository, ref=ref)
    setup = next((c for c in nb.cells if c.get("id") == SETUP_ID), None)
    if setup is None:  # insert it as the first code cell
        setup = nbformat.v4.new_code_cell(source, id=SETUP_ID)
        first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first_code, setup)
    setup.source = source
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is out of date")
    parser.add_argument("--root", type=Path, default=REPO, help=argparse.SUPPRESS)  # for the tests
    args = parser.parse_args(argv)
    repository, ref = location(args.root / "pyproject.toml")
    stale = []
    for path in sorted((args.root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        text = path.read_text()
        new = nbformat.writes(updated_notebook(nbformat.reads(text, as_version=4), path.name, repository, ref)) + "\n"
        if new != text:
            stale.append(path)
            if not args.check:
                write_atomic(path, new)
    readme = args.root / "README.md"
    text = readme.read_text()
    new = HEADER_LINKS.sub(lambda _: links(repository, ref, "01_data_exploration.ipynb"), text, count=1)
    if new != text:
        stale.append(readme)
        if not args.check:
            write_atomic(readme, new)
    names = ", ".join(str(p.relative_to(args.root)) for p in stale)
    if args.check:
        if stale:
            print(f"out of date for {repository} at {ref}: {names}; run python scripts/course_links.py")
            return 1
        print(f"links and setup cells point to {repository} at {ref}")
    else:
        print(f"rewrote {names}" if stale else f"nothing to change: already {repository} at {ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
