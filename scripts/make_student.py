"""Write student versions of every notebook: nbgrader's generate_assignment, as `make grade` runs it.

    python scripts/make_student.py                                # -> release/
    python scripts/make_student.py --out DIR
    python scripts/make_student.py --course grading/course       # the versions that course grades

The student versions come from grading/grade.py's `generate`, the one way to them: it lays out an
nbgrader course (by default a new one of notebooks/, in a temporary folder under build/; with
--course, that course folder, as `make grade` uses it) and runs `nbgrader generate_assignment`:
solutions replaced by `raise NotImplementedError()`, hidden tests removed, outputs cleared. This
script copies the course's release/mnist/ to the output folder. The committed notebooks (the
instructor versions) are only read.

The output folder is only ever written where this script wrote before. It must be new, empty, or
a folder this script wrote: one with a .student-release.json, which lists every file it wrote and
a checksum of each. Run again, the script replaces the files it wrote (and removes those the course
no longer has); every other file in the folder (a student's notes, their own notebooks) stays as
it is. It refuses, and writes nothing, when the folder is not one of its own, or when a file it
would replace or remove was changed since it wrote it (a student worked in the released notebook)
or was put there by someone else: move those away first.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "grading"))

from helpers.files import write_atomic  # noqa: E402

import grade  # noqa: E402 (grading/ is not a package: grade.py runs as a script)

MARKER = ".student-release.json"


class Refused(Exception):
    """The output folder is not ours to write, or not all of it; the message says why."""


def digest(path: Path) -> str | None:
    """sha256 of a plain file; None for anything else (a link, a folder)."""
    if path.is_symlink() or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_in(folder: Path) -> dict[str, str]:
    """Relative path (with /) -> sha256 of every plain file under `folder`."""
    return {p.relative_to(folder).as_posix(): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def previous_release(out: Path) -> dict[str, str]:
    """What this script wrote into `out` last time (path -> sha256); {} for a new or empty folder."""
    if not out.exists():
        return {}
    if not out.is_dir():
        raise Refused(f"{out} is a file, not a folder")
    marker = out / MARKER
    if not marker.exists():
        if any(out.iterdir()):
            raise Refused(
                f"{out} is not empty and was not written by make_student.py (it has no {MARKER}): "
                "choose a new or empty folder with --out, or move its contents away"
            )
        return {}
    try:
        files = json.loads(marker.read_text())["files"]
        assert isinstance(files, dict)
        for name, checksum in files.items():
            path = PurePosixPath(name)
            assert isinstance(checksum, str) and name and not path.is_absolute() and ".." not in path.parts
            assert name != MARKER
    except (OSError, ValueError, KeyError, AssertionError):
        raise Refused(f"{marker} is not a list of files this script wrote: not touching {out}") from None
    return files


def inside(out: Path, name: str) -> Path | None:
    """out/name if every folder on the way there is a real folder (no link) or missing; else None."""
    path = out
    for part in PurePosixPath(name).parts[:-1]:
        path = path / part
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            return None
    return path / PurePosixPath(name).name


def plan(out: Path, new: dict[str, str]) -> list[str]:
    """Which files of the previous release go away; raises Refused on any file that is not ours to touch."""
    old = previous_release(out)
    conflicts = []
    for name in sorted(set(old) | set(new)):
        path = inside(out, name)
        if path is None:
            conflicts.append(f"{name}: a folder on its way is a link or a file")
            continue
        if not os.path.lexists(path):
            continue
        now = digest(path)
        if now is not None and now == new.get(name):
            continue  # already what we write: nothing to lose
        if name not in old:
            conflicts.append(f"{name}: it exists and was not written by make_student.py")
        elif now != old[name]:
            conflicts.append(f"{name}: it changed since make_student.py wrote it")
    if conflicts:
        raise Refused(
            f"not writing {out}: these files are not make_student.py's to replace or remove, so nothing was "
            "written (move them away, e.g. a student's own work, and run this again):\n  " + "\n  ".join(conflicts)
        )
    return sorted(set(old) - set(new))


def update(out: Path, release: Path) -> dict[str, str]:
    """Make `out` hold `release`'s files, touching nothing this script did not write; what it wrote."""
    new = files_in(release)
    stale = plan(out, new)
    out.mkdir(parents=True, exist_ok=True)
    for name in stale:
        path = out / name
        if path.exists():
            path.unlink()
        for parent in path.parents:  # folders left empty by the removal, never `out` itself
            if parent == out or any(parent.iterdir()):
                break
            parent.rmdir()
    for name, checksum in new.items():
        if digest(out / name) != checksum:
            write_atomic(out / name, (release / name).read_bytes())
    marker = {"written_by": "scripts/make_student.py", "files": new}
    write_atomic(out / MARKER, (json.dumps(marker, indent=1) + "\n").encode())
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "release", help="folder for the student versions")
    parser.add_argument("--course", type=Path, help="an nbgrader course folder to make them in (as make grade's)")
    args = parser.parse_args(argv)
    try:
        previous_release(args.out)  # refuse a folder that is not ours before the slow part
        with contextlib.ExitStack() as stack:
            if args.course is None:
                (REPO / "build").mkdir(exist_ok=True)
                args.course = stack.enter_context(tempfile.TemporaryDirectory(prefix="nbgrader-", dir=REPO / "build"))
            release = grade.generate(Path(args.course).expanduser().resolve(), [REPO / "notebooks"], "--log-level=WARN")
            written = update(args.out, release)
    except Refused as exc:
        print(f"make_student.py: {exc}", file=sys.stderr)
        return 1
    notebooks = sorted(name for name in written if name.endswith(".ipynb") and "/" not in name)
    for name in notebooks:
        print(f"student version: {args.out / name}")
    print(f"{len(notebooks)} student notebooks in {args.out}/ (solutions and hidden tests removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
