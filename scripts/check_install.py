"""Install the course as a student would and run its first notebooks: the check for a new machine.

    python scripts/check_install.py                 # a new virtual environment, the locked versions
    python scripts/check_install.py --no-lock       # the newest releases pyproject's ranges allow
    python scripts/check_install.py --notebooks notebooks/01_data_exploration.ipynb

It needs nothing but a Python the course supports (3.10 to 3.15) and runs the same on Linux, macOS
and Windows, with no make and no shell: the steps are the README's Windows steps. In
build/check-install/pyX.Y/ it makes a virtual environment, installs the course with
``pip install -c requirements-lock.txt -e .``, fetches and verifies MNIST, and runs the first
notebooks in fresh kernels with ``KERAS_BACKEND`` unset. It then checks what a student would get:

- Python 3.10 to 3.13: Keras on TensorFlow;
- Python 3.14 and 3.15: Keras on JAX, TensorFlow not installed and never imported.

Each notebook gets one more cell at the end, which reports the backend and whether TensorFlow was
imported. The findings go to report.json beside the environment, and the exit status is 1 if a
notebook failed or a check did not hold. ``make check-install`` runs it; so does the weekly
workflow on macOS and Windows, and tests/test_newest_python.py on Debian's Python 3.14 and 3.15.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements-lock.txt"
FIRST_NOTEBOOKS = ("01_data_exploration.ipynb", "02_baseline_model.ipynb")
VERSIONS = ("tensorflow", "keras", "jax", "jaxlib", "numpy", "pandas", "h5py")
MARK = "CHECK-INSTALL "
PROBE = f"""import importlib.util, json, sys
import keras
print({MARK!r} + json.dumps({{
    "backend": keras.backend.backend(),
    "tensorflow_imported": "tensorflow" in sys.modules,
    "tensorflow_installed": importlib.util.find_spec("tensorflow") is not None,
}}))"""


def expected_backend(version: tuple[int, int]) -> str:
    """The backend the course's dependencies install on this Python (pyproject's markers)."""
    return "jax" if version >= (3, 14) else "tensorflow"


def venv_python(venv: Path) -> Path:
    """The environment's interpreter: Scripts\\python.exe on Windows, bin/python elsewhere."""
    return venv / "Scripts" / "python.exe" if os.name == "nt" else venv / "bin" / "python"


def run(cmd: list[str | Path], **kw) -> None:
    """Run a step; stop with its output and the command when it fails."""
    print("$", " ".join(map(str, cmd)), flush=True)
    done = subprocess.run([str(c) for c in cmd], cwd=ROOT, check=False, **kw)
    if done.returncode:
        sys.exit(f"check-install: this step failed (exit {done.returncode}): {' '.join(map(str, cmd))}")


def install(venv: Path, use_lock: bool) -> Path:
    """The README's steps: a virtual environment, the (locked) install, the course's kernel."""
    python = venv_python(venv)
    if not python.exists():
        run([sys.executable, "-m", "venv", venv])
    constraints = ["-c", LOCK] if use_lock else []
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q", *constraints]
    run([*pip, "setuptools>=68", "wheel"])
    run([*pip, "-e", "."])
    run([python, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"], stdout=subprocess.DEVNULL)
    return python


def outer(args: argparse.Namespace) -> int:
    """Make the environment with this Python, then run the notebooks inside it."""
    version = sys.version_info[:2]
    if not (3, 10) <= version < (3, 16):
        sys.exit(f"check-install: Python {version[0]}.{version[1]} found; the course needs Python 3.10 to 3.15.")
    venv = args.out / f"py{version[0]}.{version[1]}"
    python = install(venv, use_lock=not args.no_lock)
    run([python, "-m", "helpers.data", "fetch"])
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}  # the course chooses, as for a student
    env["JUPYTER_PREFER_ENV_PATH"] = "1"  # the environment's kernel, not one in the user's home
    inner = [python, Path(__file__), "--inside", "--report", venv / "report.json"]
    done = subprocess.run([str(c) for c in inner + ["--notebooks", *map(str, args.notebooks)]], cwd=ROOT, env=env)
    return done.returncode


def inside(args: argparse.Namespace) -> int:
    """In the course's environment: run each notebook with the probe cell, check, write the report."""
    import importlib.metadata

    sys.path.insert(0, str(ROOT / "scripts"))
    from helpers.files import write_atomic

    from run_notebooks import run_one

    version = sys.version_info[:2]
    want = expected_backend(version)
    out = args.report.parent / "notebooks"
    report = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "expected_backend": want,
        "versions": {},
        "notebooks": [],
        "problems": [],
    }
    for name in VERSIONS:
        try:
            report["versions"][name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            report["versions"][name] = None
    for src in args.notebooks:
        target = out / src.name
        ok, seconds, error = run_one(src, target, probe=PROBE)
        found = probe_result(target) if ok else {}
        report["notebooks"].append({"name": src.name, "ok": ok, "seconds": round(seconds, 1), "error": error, **found})
        print(f"{'ok    ' if ok else 'FAILED'} {src.name:34s} {seconds:6.1f} s  {found}", flush=True)
        if not ok:
            report["problems"].append(f"{src.name} failed: {error}")
            continue
        if found.get("backend") != want:
            report["problems"].append(f"{src.name} ran on {found.get('backend')}, not {want}")
        if want == "jax" and (found.get("tensorflow_imported") or found.get("tensorflow_installed")):
            report["problems"].append(f"{src.name}: TensorFlow was installed or imported on Python {version}")
    write_atomic(args.report, json.dumps(report, indent=2) + "\n")
    for problem in report["problems"]:
        print("PROBLEM", problem, file=sys.stderr)
    verdict = "FAILED" if report["problems"] else "passed"
    print(f"check-install {verdict}: Python {report['python']}, Keras on {want}; report in {args.report}")
    return 1 if report["problems"] else 0


def probe_result(executed: Path) -> dict:
    """The probe cell's findings, read back from the executed notebook."""
    nb = json.loads(executed.read_text(encoding="utf-8"))
    for output in nb["cells"][-1].get("outputs", []):
        for line in "".join(output.get("text", "")).splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK) :])
    return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = [ROOT / "notebooks" / name for name in FIRST_NOTEBOOKS]
    parser.add_argument("--notebooks", nargs="+", type=Path, default=default, help="notebooks to run (the first two)")
    parser.add_argument("--no-lock", action="store_true", help="install from pyproject's ranges, not the lock")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "check-install", help="where environments go")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.notebooks = [p.resolve() for p in args.notebooks]
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    return inside(args) if args.inside else outer(args)


if __name__ == "__main__":
    sys.exit(main())
