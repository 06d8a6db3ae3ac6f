"""Write student versions of every notebook with nbgrader's own generate_assignment.

    python scripts/make_student.py            # -> release/
    python scripts/make_student.py --out DIR

nbgrader wants a course folder (source/ASSIGNMENT/...); this script lays one out on the fly
under build/nbgrader/, runs `nbgrader generate_assignment`, and copies the result to the
output folder: solutions replaced by `raise NotImplementedError()`, hidden tests removed,
outputs cleared. The committed notebooks (the instructor versions) are only read.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "mnist"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "release", help="folder for the student versions")
    args = parser.parse_args(argv)

    (REPO / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nbgrader-", dir=REPO / "build") as course:
        source = Path(course) / "source" / ASSIGNMENT
        shutil.copytree(
            REPO / "notebooks",
            source,
            # the notebooks' lint config is for maintainers, not course material
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc"),
        )
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "nbgrader",
                "generate_assignment",
                ASSIGNMENT,
                "--force",
                f"--CourseDirectory.root={course}",
                "--log-level=WARN",
            ],
            cwd=course,
            capture_output=True,
            text=True,
            # nbgrader runs the `alembic` command of its own environment for its database
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        )
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
            print("nbgrader generate_assignment failed (see above).", file=sys.stderr)
            return 1
        release = Path(course) / "release" / ASSIGNMENT
        staging = args.out.with_name(f".{args.out.name}.part")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(release, staging)
        shutil.rmtree(args.out, ignore_errors=True)
        staging.rename(args.out)  # the output folder appears complete, or not at all
    notebooks = sorted(args.out.glob("*.ipynb"))
    for nb in notebooks:
        print(f"student version: {nb.relative_to(args.out.parent) if args.out.is_absolute() else nb}")
    print(f"{len(notebooks)} student notebooks in {args.out.name}/ (solutions and hidden tests removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
