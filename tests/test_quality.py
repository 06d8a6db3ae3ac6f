"""Quality gates that run with the tests: lint and format, the contributors' pre-commit hooks, the
helpers' import graph, and the nbval plugin that turns warnings in the notebooks into failures."""

from __future__ import annotations

import ast
import graphlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def ruff(*args: str) -> subprocess.CompletedProcess:
    """ruff over the whole repository, as `make lint` runs it (pyproject.toml's excludes and .gitignore apply)."""
    exe = shutil.which("ruff", path=str(BIN)) or shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is not installed: run `make install` (it is in requirements-lock.txt)")
    return subprocess.run([exe, *args, "."], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def test_helpers_import_graph_has_no_cycle():
    """A module that needs a higher one is in the wrong module: the imports draw layers, no loops."""
    graph = {}  # each helpers module -> the helpers modules it imports anywhere, inside functions too
    for path in sorted((REPO / "helpers").glob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "helpers":
                names.update(alias.name for alias in node.names)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                names.update(m.split(".")[1] for m in modules if m.startswith("helpers."))
        graph[path.stem] = names - {path.stem}
    assert "preprocess" in graph["nodigit"] and "nodigit" in graph["predict"], "the walk should see the real imports"
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        pytest.fail("import cycle among helpers modules: " + " -> ".join(error.args[1]))


@pytest.mark.parametrize(
    "args", [["check", "--output-format", "concise"], ["format", "--check"]], ids=["lint", "format"]
)
def test_ruff_passes(args):
    done = ruff(*args, "--no-cache")
    assert done.returncode == 0, f"ruff {args[0]} found problems (fix with `make format`):\n{done.stdout}{done.stderr}"


def test_ruff_covers_every_python_file_and_notebook():
    """A config that silently excludes code (grading/, a notebook's cells) would let it rot."""
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: the files git tracks are unknown")
    listed = {Path(line).resolve() for line in ruff("check", "--no-cache", "--show-files").stdout.splitlines()}
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py", "*.ipynb"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    assert any(f.startswith("grading/") for f in files) and any(f.endswith(".ipynb") for f in files), files
    missed = [f for f in files if (REPO / f).exists() and (REPO / f).resolve() not in listed]
    assert not missed, f"ruff does not check {missed}"


def locked_version(package: str) -> str:
    for line in (REPO / "requirements-lock.txt").read_text().splitlines():
        if line.lower().startswith(f"{package}=="):
            return line.split("==", 1)[1]
    pytest.fail(f"{package} is not pinned in requirements-lock.txt")


def test_pre_commit_config_runs_the_locked_ruff():
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format"} <= set(hooks)
    for hook_id in ("ruff-check", "ruff-format"):
        assert hooks[hook_id]["additional_dependencies"] == [f"ruff=={locked_version('ruff')}"], (
            f"{hook_id} must use the ruff version of requirements-lock.txt, or CI and pre-commit disagree"
        )
        assert "jupyter" in hooks[hook_id]["types_or"], f"{hook_id} must include notebooks"
    done = subprocess.run(
        [str(BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


# --- the nbval plugin (tests/nbval_strict.py) in a real kernel -----------------------------------


def nbval_on(tmp_path: Path, source: str) -> subprocess.CompletedProcess:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, tmp_path / "probe.ipynb")
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests"), "JUPYTER_PREFER_ENV_PATH": "1"}
    command = [sys.executable, "-m", "pytest", "-p", "nbval_strict", "-p", "no:cacheprovider", "--nbval",
               "--nbval-current-env", "-q", "probe.ipynb"]  # fmt: skip
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.parametrize(
    ("source", "fails"),
    [
        ("# NBVAL_IGNORE_OUTPUT\nimport warnings\nwarnings.warn('`input_shape` is deprecated', UserWarning)", True),
        ("import warnings\nwarnings.warn('old API', DeprecationWarning)", True),
        ("import warnings\nwarnings.warn('not ours to fix', FutureWarning)\nprint(1 + 1)", False),
    ],
    ids=["keras-style-UserWarning-in-ignored-cell", "DeprecationWarning-from-notebook", "FutureWarning-passes"],
)
def test_nbval_plugin_turns_notebook_warnings_into_failures(tmp_path, source, fails):
    done = nbval_on(tmp_path, source)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    if fails:
        assert done.returncode == 1 and re.search(r"1 failed", summary), done.stdout[-2000:]
        assert "Warning" in done.stdout
    else:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
