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
    lines = [line.split("#", 1)[0].strip() for line in (REPO / "requirements-lock.txt").read_text().splitlines()]
    pins = [line.partition("==") for line in lines if line]
    assert all(version for _, _, version in pins), "every line of the lock is an exact pin (name==version)"
    return {canonicalize_name(name): Version(version) for name, _, version in pins}


def lock_python() -> tuple[int, int]:
    header = (REPO / "requirements-lock.txt").read_text().splitlines()[0]
    match = re.search(r"Python (\d+)\.(\d+)", header)
    assert match, f"the lock's first line names no Python: {header!r}"
    return int(match.group(1)), int(match.group(2))


def conda_dependencies() -> list:
    return yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]


def runtime_requirements() -> list[Requirement]:
    return [Requirement(r) for r in pyproject()["project"]["dependencies"]]


def direct_requirements() -> list[Requirement]:
    """The runtime set and every extra (dev, instructor): what the lock covers."""
    extras = pyproject()["project"]["optional-dependencies"]
    return runtime_requirements() + [Requirement(r) for reqs in extras.values() for r in reqs]


def test_lock_pins_every_direct_dependency_inside_its_bounded_range():
    pins = lock()
    for req in direct_requirements():
        assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), f"{req} has no upper bound"
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is a dependency but missing from requirements-lock.txt"
        assert pins[name] in req.specifier, f"lock has {req.name}=={pins[name]}, outside {req.specifier}"


def test_environment_yml_pins_the_runtime_set_as_the_lock_does():
    pins = lock()
    (lines,) = [d["pip"] for d in conda_dependencies() if isinstance(d, dict) and "pip" in d]
    assert {"-c requirements-lock.txt", "-e ."} <= set(lines), "environment.yml: pip with the lock, and the package"
    pinned = {canonicalize_name(r.name): r.specifier for r in (Requirement(x) for x in lines if x[0] != "-")}
    runtime = {canonicalize_name(r.name) for r in runtime_requirements()}
    assert set(pinned) == runtime, f"environment.yml and pyproject's runtime set differ: {set(pinned) ^ runtime}"
    for name, spec in pinned.items():
        assert str(spec) == f"=={pins[name]}", f"environment.yml has {name}{spec}, the lock has {pins[name]}"


def test_conda_python_matches_the_lock_and_the_supported_range():
    (python,) = [d for d in conda_dependencies() if isinstance(d, str) and d.startswith("python")]
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
    return [call[2:] for call in calls if call[:2] == ["-m", "pip"]]


@pytest.mark.parametrize(
    ("target", "variables", "package", "lock_fits"),
    [
        ("install", [], ".", True),  # a student's install: the package without extras
        ("install", ["USE_LOCK=0"], ".", False),
        ("VENV/.installed-test", [], ".[dev,instructor]", True),  # the test and instructor tools: the extras
    ],
)
def test_make_installs_what_it_says_with_the_lock_where_it_fits(tmp_path, target, variables, package, lock_fits):
    pips = make_install(tmp_path, target, *variables)
    assert pips and all(call[0] == "install" for call in pips), pips
    assert pips[-1][-2:] == ["-e", package], pips[-1]
    with_lock = lock_fits and sys.version_info[:2] == lock_python()  # the lock only fits the Python it was made with
    for call in pips:
        assert ("-c" in call and call[call.index("-c") + 1] == "requirements-lock.txt") == with_lock, call


TOOLS = {"pytest", "nbval", "hypothesis", "ruff", "pre-commit", "playwright", "nbgrader"}


def test_a_students_install_holds_no_test_or_instructor_tools():
    """Walk the runtime set's requirements through the installed packages' metadata: no tool is reached."""
    seen, todo = set(), [canonicalize_name(r.name) for r in runtime_requirements()]
    while todo:
        if (name := todo.pop()) in seen:
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
    direct = {canonicalize_name(r.name) for r in direct_requirements()}  # so the tools come from the extras
    assert direct >= TOOLS, f"every tool belongs to an extra: missing {sorted(TOOLS - direct)}"
