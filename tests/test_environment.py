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


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def lock() -> dict[str, Version]:
    pins = {}
    for line in (REPO / "requirements-lock.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"lock line {line!r} is not an exact pin (name==version)"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def lock_python() -> tuple[int, int]:
    header = (REPO / "requirements-lock.txt").read_text().splitlines()[0]
    match = re.search(r"Python (\d+)\.(\d+)", header)
    assert match, f"the lock's first line names no Python: {header!r}"
    return int(match.group(1)), int(match.group(2))


def conda_env() -> dict:
    return yaml.safe_load((REPO / "environment.yml").read_text())


def conda_pip_lines() -> list[str]:
    deps = conda_env()["dependencies"]
    (pip,) = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    return pip


def runtime_requirements() -> list[Requirement]:
    return [Requirement(r) for r in pyproject()["project"]["dependencies"]]


def direct_requirements() -> list[Requirement]:
    """The runtime set and every extra (dev, instructor): what the lock covers."""
    extras = pyproject()["project"]["optional-dependencies"]
    return runtime_requirements() + [Requirement(r) for reqs in extras.values() for r in reqs]


def test_every_direct_dependency_has_an_upper_bound():
    for req in direct_requirements():
        assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), f"{req} has no upper bound"


def test_lock_satisfies_pyproject_ranges():
    pins = lock()
    for req in direct_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is a dependency but missing from requirements-lock.txt"
        assert pins[name] in req.specifier, f"lock has {req.name}=={pins[name]}, outside {req.specifier}"


def test_environment_yml_pins_equal_the_lock():
    pins = lock()
    lines = conda_pip_lines()
    assert "-c requirements-lock.txt" in lines, "environment.yml must constrain pip to the lock"
    assert "-e ." in lines, "environment.yml must install the helpers package"
    pinned = {}
    for line in lines:
        if line.startswith("-"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"environment.yml: {line} should be an exact pin"
        pinned[canonicalize_name(req.name)] = Version(spec.version)
    runtime = {canonicalize_name(r.name) for r in runtime_requirements()}
    assert set(pinned) == runtime, f"environment.yml and pyproject's runtime set differ: {set(pinned) ^ runtime}"
    for name, version in pinned.items():
        assert version == pins[name], f"environment.yml has {name}=={version}, the lock has {pins[name]}"


def test_conda_python_matches_the_lock_and_the_supported_range():
    deps = conda_env()["dependencies"]
    (python,) = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    version = Version(python.split("=", 1)[1])
    assert version in SpecifierSet(pyproject()["project"]["requires-python"])
    assert Version("{}.{}".format(*lock_python())) == version, "lock and environment.yml use different Pythons"


# A stand-in for a virtual environment's python: it records what pip and ipykernel are asked to do
# instead of doing it, and hands everything else (the Makefile's version check) to the real Python.
FAKE_PYTHON = """#!/bin/sh
case "$1 $2" in
  "-m pip"|"-m ipykernel") printf '%s\\n' "$*" >> "$(dirname "$0")/../calls.log"; exit 0 ;;
esac
exec "{python}" "$@"
"""


def make_install(tmp_path: Path, target: str, *variables: str) -> list[list[str]]:
    """Run a Makefile install target against a stand-in environment; return the pip calls it made."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON.format(python=sys.executable))
    python.chmod(0o755)
    done = subprocess.run(
        [make, "--no-print-directory", target.replace("VENV", str(venv)), f"VENV={venv}", *variables],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    calls = [shlex.split(line) for line in (venv / "calls.log").read_text().splitlines()]
    return [call[2:] for call in calls if call[:2] == ["-m", "pip"]]


def test_make_install_uses_the_lock_and_installs_no_extras(tmp_path):
    pips = make_install(tmp_path, "install")
    assert len(pips) == 2 and all(call[0] == "install" for call in pips), pips
    with_lock = sys.version_info[:2] == lock_python()  # the lock only fits the Python it was made with
    for call in pips:
        assert ("-c" in call and call[call.index("-c") + 1] == "requirements-lock.txt") == with_lock, call
    assert pips[-1][-2:] == ["-e", "."], f"a student's install should be the package without extras: {pips[-1]}"


def test_make_install_without_the_lock(tmp_path):
    pips = make_install(tmp_path, "install", "USE_LOCK=0")
    assert pips and not any("-c" in call for call in pips), pips


def test_the_test_tools_come_from_the_extras(tmp_path):
    pips = make_install(tmp_path, "VENV/.installed-test")
    assert pips[-1][-2:] == ["-e", ".[dev,instructor]"], pips
    assert all(("-c" in call) == (sys.version_info[:2] == lock_python()) for call in pips), pips


TOOLS = {"pytest", "nbval", "hypothesis", "ruff", "pre-commit", "playwright", "nbgrader"}


def test_a_students_install_holds_no_test_or_instructor_tools():
    """Walk the runtime set's requirements through the installed packages' metadata: no tool is reached."""
    seen, todo = set(), [canonicalize_name(r.name) for r in runtime_requirements()]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # a platform-specific dependency not installed here
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):  # skip what only an extra asks for
                todo.append(canonicalize_name(req.name))
    assert len(seen) > 50, "the runtime set should reach TensorFlow's and Jupyter's dependencies"
    assert not (TOOLS & seen), f"pip install . would pull {sorted(TOOLS & seen)}"
    extras = {
        canonicalize_name(Requirement(r).name)
        for rs in pyproject()["project"]["optional-dependencies"].values()
        for r in rs
    }
    assert extras >= TOOLS, f"every tool belongs to an extra: missing {sorted(TOOLS - extras)}"
