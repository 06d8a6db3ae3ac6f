"""The three descriptions of the environment agree: pyproject ranges, the lock, environment.yml."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

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
    header = (REPO / "requirements-lock.txt").read_text().splitlines()[0]
    match = re.search(r"Python (\d+\.\d+)", header)
    assert match and Version(match.group(1)) == version, "lock and environment.yml use different Pythons"


def test_makefile_installs_the_lock_by_default():
    makefile = (REPO / "Makefile").read_text()
    assert "LOCK := requirements-lock.txt" in makefile
    assert 'constraints="-c $(LOCK)"' in makefile


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
