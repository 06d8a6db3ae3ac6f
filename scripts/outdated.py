"""List every range in pyproject.toml whose upper bound leaves out a release that is out now.

    python scripts/outdated.py          # make outdated; exit 1 if any range is behind

For each runtime and extra requirement (and the build requirements), the newest final release on the
package index is asked of pip (``pip index versions``, the index pip is set up to use). A range that
excludes it is printed with the lock's version and the newest one, so a maintainer sees what to widen:
widen it, run ``make test-latest`` (the newest releases the ranges allow), and if it passes, ``make lock``.
A range with no upper bound is reported too: the course wants every range bounded (tests/test_environment.py).
A requirement that applies only to older Pythons (a marker) is a cap kept on purpose, listed apart.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent


def requirements(pyproject: Path) -> list[tuple[str, Requirement]]:
    """(where it is declared, requirement) for the runtime set, each extra and the build requirements."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    found = [("runtime", Requirement(r)) for r in data["project"]["dependencies"]]
    for extra, reqs in data["project"].get("optional-dependencies", {}).items():
        found += [(extra, Requirement(r)) for r in reqs]
    found += [("build", Requirement(r)) for r in data.get("build-system", {}).get("requires", [])]
    return found


def newest_release(name: str) -> Version | None:
    """The newest final release on the index (pip's own answer), None if pip cannot say."""
    cmd = [sys.executable, "-m", "pip", "index", "versions", name, "--disable-pip-version-check"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    listed = re.search(r"^Available versions:\s*(.+)$", done.stdout, re.M)
    if done.returncode or not listed:
        return None
    versions = []
    for text in listed.group(1).split(","):
        try:
            versions.append(Version(text.strip()))
        except InvalidVersion:
            continue
    finals = [v for v in versions if not v.is_prerelease and not v.is_devrelease]
    return max(finals, default=None)


def lock_versions(lock: Path) -> dict[str, list[str]]:
    """Each package's pinned versions in the lock (several where markers pick by Python or platform)."""
    pins: dict[str, list[str]] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line := line.split("#", 1)[0].strip():
            req = Requirement(line)
            pins.setdefault(canonicalize_name(req.name), []).extend(s.version for s in req.specifier)
    return pins


def bounded(req: Requirement) -> bool:
    return any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument("--lock", type=Path, default=ROOT / "requirements-lock.txt")
    args = parser.parse_args(argv)

    reqs = requirements(args.pyproject)
    pins = lock_versions(args.lock) if args.lock.is_file() else {}
    names = sorted({canonicalize_name(r.name) for _, r in reqs})
    with ThreadPoolExecutor(max_workers=8) as pool:
        newest = dict(zip(names, pool.map(newest_release, names), strict=True))

    behind, unknown, held = [], [], []
    for where, req in reqs:
        name = canonicalize_name(req.name)
        latest = newest[name]
        if latest is None:
            unknown.append(req.name)
        elif (where == "build" or bounded(req)) and latest in req.specifier:
            continue
        elif req.marker is not None and not req.marker.evaluate({"python_version": NEWEST_PYTHON, "extra": ""}):
            held.append(f"{req} (newest: {latest}, not held back on Python {NEWEST_PYTHON})")  # older Pythons only
        else:
            locked = ", ".join(dict.fromkeys(pins.get(name, []))) or "-"
            declared = (str(req.specifier) or "(no bound)") + (f"; {req.marker}" if req.marker else "")
            behind.append((req.name, where, declared, locked, str(latest)))
    if behind:
        widths = [max(len(row[i]) for row in [*behind, HEADER]) for i in range(len(HEADER))]
        for row in [HEADER, *behind]:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        print(f"\n{len(behind)} of {len(reqs)} ranges leave out the newest release: widen them, run "
              "make test-latest, and if it passes, make lock.")  # fmt: skip
    else:
        print(f"All {len(reqs)} ranges in pyproject.toml admit the newest release of their package.")
    for line in held:
        print(f"Held back on older Pythons on purpose (pyproject.toml says why): {line}")
    if unknown:
        print(f"pip could not list the releases of: {', '.join(unknown)}", file=sys.stderr)
    return 1 if behind or unknown else 0


NEWEST_PYTHON = "3.15"  # a requirement that does not apply there is a compatibility cap for older Pythons
HEADER = ("package", "declared in", "range", "locked", "newest")

if __name__ == "__main__":
    sys.exit(main())
