"""helpers' modules form a graph without cycles, and each imports alone in a fresh interpreter."""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

HELPERS = Path(__file__).resolve().parent.parent / "helpers"
MODULES = sorted(p.stem for p in HELPERS.glob("*.py") if p.stem != "__init__")


def imported_helpers(module: str) -> set[str]:
    """The helpers modules that ``module`` imports anywhere in its file, inside functions too."""
    found = set()
    for node in ast.walk(ast.parse((HELPERS / f"{module}.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("helpers.")}
        elif isinstance(node, ast.ImportFrom) and node.module == "helpers":
            found |= {a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
            found.add(node.module.split(".")[1])
    return found - {module}


def test_the_module_graph_has_no_cycle():
    graph = {module: imported_helpers(module) for module in MODULES}
    assert graph["predict"] >= {"preprocess", "nodigit", "models"}, graph  # the graph is really read
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    assert order.index("preprocess") < order.index("nodigit") < order.index("predict")


def test_each_module_imports_alone_in_a_fresh_interpreter():
    runs = {
        module: subprocess.Popen(
            [sys.executable, "-c", f"import helpers.{module}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for module in MODULES
    }
    failed = {m: p.communicate(timeout=300)[0].decode()[-1500:] for m, p in runs.items() if p.wait(timeout=300)}
    assert not failed, failed
