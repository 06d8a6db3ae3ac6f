"""Write the README's "last verified" table from the environment a test run used (never typed by hand).

    python scripts/verified_versions.py --row "make test"                  # this Python's environment
    python scripts/verified_versions.py --row "make test-newest" --report build/.../report.json

One row per command: the date, the Python, the platform, the backend Keras used and the versions of
TensorFlow, Keras and JAX. The Makefile calls it after a test target passed (make test, make test-jax,
make test-newest, with scripts/check_install.py's report for the last). The table sits between
``<!-- verified:start -->`` and ``<!-- verified:end -->`` in README.md; other rows are kept.
"""

from __future__ import annotations

from helpers.files import write_atomic  # importing helpers sets KERAS_BACKEND as the notebooks get it

import argparse
import importlib.metadata
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- verified:start -->", "<!-- verified:end -->"
HEADER = ["what passed", "date", "Python", "platform", "backend", "TensorFlow", "Keras", "JAX"]


def this_environment(backend: str) -> dict:
    """The same fields as check_install.py's report, read from the running Python."""
    versions = {}
    for name in ("tensorflow", "keras", "jax"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "expected_backend": backend,
        "versions": versions,
    }


def row(name: str, found: dict) -> list[str]:
    system = f"{found['platform'].split('-')[0]} {found['machine']}"
    v = found["versions"]
    return [name, found["date"], found["python"], system, found["expected_backend"]] + [
        v.get(k) or "not installed" for k in ("tensorflow", "keras", "jax")
    ]


def update(readme: str, new: list[str]) -> str:
    """README text with the row named ``new[0]`` replaced or added; the other rows kept, sorted by name."""
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md has no {START} ... {END} block to write the table into")
    before, rest = readme.split(START, 1)
    block, after = rest.split(END, 1)
    rows = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == len(HEADER) and cells != HEADER and not set(cells[0]) <= set("-"):
            rows[cells[0]] = cells
    rows[new[0]] = new
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cells) + " |" for _, cells in sorted(rows.items())]
    return before + START + "\n" + "\n".join(lines) + "\n" + END + after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--row", required=True, help="what passed, e.g. 'make test'")
    parser.add_argument("--report", type=Path, help="a check_install.py report.json (default: this environment)")
    parser.add_argument("--backend", default=None, help="the backend the run used (default: KERAS_BACKEND's rule)")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    if args.report:
        found = json.loads(args.report.read_text(encoding="utf-8"))
        if found.get("problems"):
            raise SystemExit(f"{args.report} records problems; nothing written: {found['problems']}")
    else:
        found = this_environment(args.backend or os.environ["KERAS_BACKEND"])
    write_atomic(args.readme, update(args.readme.read_text(encoding="utf-8"), row(args.row, found)))
    print(f"README.md, last verified: {args.row}: Python {found['python']}, {found['expected_backend']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
