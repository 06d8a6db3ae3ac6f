"""Execute notebooks headless in a fresh kernel, one result line each.

    python scripts/run_notebooks.py                      # notebooks/ -> build/
    python scripts/run_notebooks.py --out build/ NB ...  # chosen notebooks -> build/
    python scripts/run_notebooks.py --in-place NB ...    # refresh the committed outputs

The default run only reads the committed notebooks. ``--in-place`` is the
maintainer's "Restart kernel and run all": it stores fresh outputs with
canonical metadata (no timings, no machine-specific version strings).
Exits non-zero if any notebook fails, after showing the failing cell's error.
"""

from __future__ import annotations

from helpers.files import write_atomic

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CELL_TIMEOUT = int(os.environ.get("NB_CELL_TIMEOUT", "1800"))
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def canonical(nb: nbformat.NotebookNode) -> None:
    """Keep only metadata that means the same on every machine."""
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def write_notebook(nb: nbformat.NotebookNode, target: Path) -> None:
    """Write ``nb`` as nbformat.write would (with a final newline), so no reader sees half a file."""
    text = nbformat.writes(nb)
    write_atomic(target, text if text.endswith("\n") else text + "\n")


def run_one(src: Path, target: Path, probe: str = "") -> tuple[bool, float, str]:
    """Run ``src`` with its own folder as working directory; write the executed copy.

    ``probe``: code run as one more cell at the end, in the same kernel (its output is in the copy).
    """
    nb = nbformat.read(src, as_version=4)
    if probe:
        nb.cells.append(nbformat.v4.new_code_cell(probe))
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        record_timing=False,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no transport notice
        coalesce_streams=True,  # a progress bar is stored as its final lines
        resources={"metadata": {"path": str(src.parent.resolve())}},
    )
    start = time.perf_counter()
    error = ""
    try:
        client.execute()
    except CellExecutionError as exc:
        text = str(exc).strip()
        error = text.splitlines()[-1] if text else "a cell failed"
        print(text[-3000:], file=sys.stderr)
    seconds = time.perf_counter() - start
    canonical(nb)
    if not error or target != src:  # never overwrite a committed notebook with a failed run
        write_notebook(nb, target)
    return not error, seconds, error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks or folders (default: notebooks/)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, default=Path("build"), help="folder for executed copies")
    where.add_argument("--in-place", action="store_true", help="store fresh outputs in the notebooks")
    args = parser.parse_args(argv)

    paths = []
    for p in args.notebooks or [Path("notebooks")]:
        paths += sorted(p.glob("[0-9][0-9]_*.ipynb")) if p.is_dir() else [p]
    if not paths:
        print("No notebooks found.", file=sys.stderr)
        return 1
    failed = 0
    for src in paths:
        target = src if args.in_place else args.out / src.name
        ok, seconds, error = run_one(src, target)
        failed += not ok
        print(
            f"{'ok    ' if ok else 'FAILED'} {src.name:34s} {seconds:6.1f} s  -> {target}"
            + ("" if ok else f"  ({error})"),
            flush=True,
        )
    print(f"{len(paths) - failed} of {len(paths)} notebooks ran without errors.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
