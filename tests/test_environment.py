"""The three descriptions of the environment agree: pyproject ranges, the lock, environment.yml."""

from __future__ import annotations

import importlib.metadata
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
DIRECT = RUNTIME + [Requirement(r) for reqs in PROJECT["optional-dependencies"].values() for r in reqs]  # the extras
LOCK = (REPO / "requirements-lock.txt").read_text()
LOCK_PYTHON = tuple(map(int, re.search(r"Python (\d+)\.(\d+)", LOCK.splitlines()[0]).groups()))  # its first line
CONDA = yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
TOOLS = {"pytest", "pytest-xdist", "nbval", "ruff", "pre-commit", "playwright", "nbgrader"}


def test_the_lock_pins_pyprojects_ranges_and_environment_yml_the_lock():
    lines = [line.split("#", 1)[0].strip().partition("==") for line in LOCK.splitlines()]
    assert all(version for name, _, version in lines if name), "every line of the lock is an exact pin (name==version)"
    pins = {canonicalize_name(name): Version(version) for name, _, version in lines if name}
    for req in DIRECT:
        assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), f"{req} has no upper bound"
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is a dependency but missing from requirements-lock.txt"
        assert pins[name] in req.specifier, f"lock has {req.name}=={pins[name]}, outside {req.specifier}"
    (lines,) = [d["pip"] for d in CONDA if isinstance(d, dict) and "pip" in d]
    assert {"-c requirements-lock.txt", "-e ."} <= set(lines), "environment.yml: pip with the lock, and the package"
    pinned = {canonicalize_name(r.name): r.specifier for r in (Requirement(x) for x in lines if x[0] != "-")}
    runtime = {canonicalize_name(r.name) for r in RUNTIME}
    assert set(pinned) == runtime, f"environment.yml and pyproject's runtime set differ: {set(pinned) ^ runtime}"
    for name, spec in pinned.items():
        assert str(spec) == f"=={pins[name]}", f"environment.yml has {name}{spec}, the lock has {pins[name]}"
    (python,) = [d for d in CONDA if isinstance(d, str) and d.startswith("python")]
    version = Version(python.split("=", 1)[1])
    assert version in SpecifierSet(PROJECT["requires-python"])
    assert Version("{}.{}".format(*LOCK_PYTHON)) == version, "lock and environment.yml use different Pythons"


# A stand-in for a virtual environment's python: it records what pip and ipykernel are asked to do
# instead of doing it, and hands everything else (the Makefile's version check) to the real Python.
FAKE_PYTHON = """#!/bin/sh
case "$1 $2" in
  "-m pip"|"-m ipykernel") printf '%s\\n' "$*" >> "$(dirname "$0")/../calls.log"; exit 0 ;;
esac
exec "{python}" "$@"
"""


@pytest.mark.parametrize(
    ("target", "variables", "package", "lock_fits"),
    [
        ("install", [], ".", True),  # a student's install: the package without extras
        ("install", ["USE_LOCK=0"], ".", False),
        ("VENV/.installed-test", [], ".[dev,instructor,hub]", True),  # the test and instructor tools: the extras
    ],
)
def test_make_installs_what_it_says_with_the_lock_where_it_fits(tmp_path, target, variables, package, lock_fits):
    if (make := shutil.which("make")) is None:
        pytest.skip("make is not installed")
    venv, python = tmp_path / "venv", tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON.format(python=sys.executable))
    python.chmod(0o755)
    done = subprocess.run(
        [make, "--no-print-directory", target.replace("VENV", str(venv)), f"VENV={venv}", *variables],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    calls = [shlex.split(line) for line in (venv / "calls.log").read_text().splitlines()]
    pips = [call[2:] for call in calls if call[:2] == ["-m", "pip"]]
    assert pips and all(call[0] == "install" for call in pips) and pips[-1][-2:] == ["-e", package], pips
    with_lock = lock_fits and sys.version_info[:2] == LOCK_PYTHON  # the lock only fits the Python it was made with
    for call in pips:
        assert ("-c" in call and call[call.index("-c") + 1] == "requirements-lock.txt") == with_lock, call


def test_a_students_install_holds_no_test_or_instructor_tools():
    """Walk the runtime set's requirements through the installed packages' metadata: no tool is reached."""
    seen, todo = set(), [canonicalize_name(r.name) for r in RUNTIME]
    while todo:
        if (name := todo.pop()) in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # a platform-specific dependency not installed here
        reqs = map(Requirement, requires)  # skip what only an extra asks for
        todo += [canonicalize_name(r.name) for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]
    assert len(seen) > 50, "the runtime set should reach TensorFlow's and Jupyter's dependencies"
    assert not (TOOLS & seen), f"pip install . would pull {sorted(TOOLS & seen)}"
    direct = {canonicalize_name(r.name) for r in DIRECT}  # so the tools come from the extras
    assert direct >= TOOLS, f"every tool belongs to an extra: missing {sorted(TOOLS - direct)}"
