"""Execute every notebook headless into an output folder, one result line each.

Usage: python scripts/run_notebooks.py [NOTEBOOK_DIR] [OUTPUT_DIR]

The committed notebooks are only read; executed copies go to OUTPUT_DIR.
Exits non-zero if any notebook fails, after showing the failing cell's error.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CELL_TIMEOUT = int(os.environ.get("NB_CELL_TIMEOUT", "1800"))


def run_one(src: Path, out_dir: Path) -> tuple[bool, float, str]:
    """Run ``src`` with its own folder as working directory; save the executed copy."""
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(src.parent)}},
    )
    start = time.perf_counter()
    error = ""
    try:
        client.execute()
    except CellExecutionError as exc:
        error = str(exc).strip().splitlines()[-1] if str(exc).strip() else "cell failed"
        detail = str(exc)
    else:
        detail = ""
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".ipynb.part")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        nbformat.write(nb, fh)
    os.replace(tmp, out_dir / src.name)
    if detail:
        print(detail[-3000:], file=sys.stderr)
    return not error, seconds, error


def main(argv: list[str]) -> int:
    nb_dir = Path(argv[1]) if len(argv) > 1 else Path("notebooks")
    out_dir = Path(argv[2]) if len(argv) > 2 else Path("build")
    notebooks = sorted(nb_dir.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        print(f"No notebooks found in {nb_dir}/", file=sys.stderr)
        return 1
    failed = 0
    for src in notebooks:
        ok, seconds, error = run_one(src, out_dir)
        failed += not ok
        status = "ok    " if ok else "FAILED"
        print(f"{status} {src.name:34s} {seconds:6.1f} s  -> {out_dir / src.name}"
              + ("" if ok else f"  ({error})"), flush=True)
    print(f"{len(notebooks) - failed} of {len(notebooks)} notebooks ran without errors.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
