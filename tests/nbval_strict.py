"""A pytest plugin for nbval runs of the course notebooks.

- Widget views carry a random model id and HTML tables repeat the text/plain output, so neither
  is compared.
- Before a notebook's first cell runs, its kernel is told to turn warnings that the course must
  not show into errors: every UserWarning (Keras warns with UserWarning about deprecated or
  misused arguments) and DeprecationWarnings raised from the notebook's own code or ``helpers``.
  A cell that triggers one then fails, even when its output is not compared.
"""

from __future__ import annotations

import pytest

STRICT_WARNINGS = r"""
import warnings as _w
_w.filterwarnings("error", category=UserWarning)
_w.filterwarnings("error", category=DeprecationWarning, module=r"(__main__|helpers)(\.|$)")
del _w
"""


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("application/vnd.jupyter.widget-view+json", "text/html")


@pytest.hookimpl(trylast=True)  # after nbval has started the notebook's kernel
def pytest_runtest_setup(item):
    notebook = item.parent
    kernel = getattr(notebook, "kernel", None)
    if kernel is None or getattr(notebook, "_course_strict_warnings", False):
        return
    msg_id = kernel.execute_cell_input(STRICT_WARNINGS, allow_stdin=False)
    kernel.await_reply(msg_id, timeout=60)
    while True:  # read this request's output until the kernel is idle again
        msg = kernel.get_message(stream="iopub", timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            raise RuntimeError(f"could not set the kernel's warning filters: {msg['content']['evalue']}")
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    notebook._course_strict_warnings = True
