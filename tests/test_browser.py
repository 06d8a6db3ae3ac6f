"""The series in JupyterLab itself: a real server, a real headless Chromium, driven like a student would.

The server runs from this environment on 127.0.0.1 with no token and its own temporary config,
runtime, settings and workspace folders, on a copy of notebooks/ (so nothing Lab saves can touch
the committed notebooks). Screenshots go to build/screenshots/.

Nothing here re-runs a whole notebook: nbval has already run them all (pytest collects notebooks/
before tests/). What is Lab's own is checked here: the committed outputs and figures render, the
kernel starts and restarts from the menus, the cells a student runs execute in order and their
outputs, figures and widgets render, and the drawing canvas answers the mouse, naming the model that
reads it. Notebook 06's model comes from models/ (saved by the nbval run); run alone, its own
load_or_train cell trains it first.

Chromium comes from the system (`make browser` installs Debian's package where it can). Where it
is missing, these tests skip and say how to install it.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "build" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Lab settings for a quiet, inspectable session: no news or update pop-ups, every cell in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}
LAB_LOGS: dict[str, Path] = {}  # server URL -> its log, to check for server-side exceptions
WIDGET = "application/vnd.jupyter.widget-view+json"
RUN_TIMEOUT_MS = 600_000  # notebook 06 trains its model if models/ has none (about 2 minutes here)


def find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("Chromium is not installed: run `make browser` (Debian/Ubuntu: sudo apt-get install chromium)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> str:
    """JupyterLab on a copy of notebooks/; yields its base URL and stops it (and its kernels) afterwards."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    settings = root / "settings"
    for name, values in LAB_SETTINGS.items():
        plugin, file = name.rsplit("/", 1)
        (settings / plugin).mkdir(parents=True, exist_ok=True)
        (settings / plugin / file).write_text(json.dumps(values))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
        "JUPYTER_PREFER_ENV_PATH": "1",
    }
    port = free_port()
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root / 'notebooks'}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{(root / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        LAB_LOGS[url] = root / "lab.log"
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(chromium_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make install)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{request.node.name}-last.png"))
    context.close()


def wait_for_kernel_ready(lab_url: str, name: str, settle_s: float = 2.0, timeout_s: float = 120) -> None:
    """Wait until the server reports the notebook's kernel idle with the page connected, for a while.

    Restarting a kernel that has only just started races inside jupyter_server: the kernel is
    interrupted mid-start, or the new websocket falls back to a protocol that cannot decode the
    widgets' binary messages, and the run stalls. A person clicks "Restart" seconds later.
    """
    deadline, ready_since, state = time.monotonic() + timeout_s, None, "no session yet"
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{lab_url}/api/sessions", timeout=5) as response:
            kernels = [s["kernel"] for s in json.load(response) if s.get("path", "").endswith(name) and s.get("kernel")]
        if kernels:
            state = f"{kernels[0].get('execution_state')}, {kernels[0].get('connections', 0)} connection(s)"
        ready = bool(kernels) and kernels[0].get("execution_state") == "idle" and kernels[0].get("connections", 0) >= 1
        if not ready:
            ready_since = None
        elif ready_since is None:
            ready_since = time.monotonic()
        elif time.monotonic() - ready_since >= settle_s:
            return
        time.sleep(0.25)
    pytest.fail(f"the kernel of {name} never became ready to restart (last state: {state})")


def open_notebook(page, lab_url: str, name: str) -> None:
    # a fresh workspace per notebook, so Lab does not restore the tabs of an earlier test
    page.goto(f"{lab_url}/lab/workspaces/{Path(name).stem}/tree/{name}?reset")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    active = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    assert active.inner_text() == name, f"Lab shows {active.inner_text()!r}, not {name}"
    # the kernel has started when the status bar names it and it is idle
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for()
    wait_for_kernel_ready(lab_url, name)


def menu(page, top: str, item: str | re.Pattern) -> None:
    """Open a menu of Lab's menu bar and click one of its items, as a student would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=item).click()


def select_cell(page, index: int) -> None:
    """Click the cell's prompt: it becomes the active cell, in command mode (nothing is edited)."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()
    page.wait_for_function(
        "i => document.querySelectorAll('.jp-Notebook .jp-Cell')[i].classList.contains('jp-mod-active')", arg=index
    )


def clear_all_outputs(page) -> None:
    """Edit → "Clear Outputs of All Cells": afterwards no code cell shows an output or a count."""
    menu(page, "Edit", re.compile(r"^Clear Outputs of All Cells$"))
    page.wait_for_function(
        "() => !document.querySelector('.jp-Notebook .jp-OutputArea-output')"
        " && [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]"
        ".every(p => !/\\d/.test(p.innerText))"
    )


def restart_and_run_up_to(page, index: int) -> None:
    """Kernel → "Restart Kernel and Run up to Selected Cell…" → confirm, with cell ``index`` selected."""
    select_cell(page, index)
    menu(page, "Kernel", "Restart Kernel and Run up to Selected Cell")
    page.locator(".jp-Dialog .jp-mod-accept").click()


def wait_until_ran(page, expected: list[str]) -> None:
    """Wait until the code cells' prompts read ``expected`` (``[n]:`` ran, ``[ ]:`` did not) and the kernel is idle."""
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
    deadline, texts = time.monotonic() + RUN_TIMEOUT_MS / 1000, []
    while time.monotonic() < deadline:
        texts = [t.strip() for t in prompts.all_inner_texts()]
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0
        if texts == expected and idle:
            return
        time.sleep(1)
    pytest.fail(f"the cells did not run as expected in time: prompts {texts}, expected {expected}")


def expected_prompts(nb, ran: list[int]) -> list[str]:
    """The prompts after running the cells ``ran`` (notebook indices), in that order, in a fresh kernel."""
    count = {index: n for n, index in enumerate(ran, start=1)}
    return [f"[{count[i]}]:" if i in count else "[ ]:" for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def code_cell_indices(nb, upto: int) -> list[int]:
    return [i for i, c in enumerate(nb.cells[: upto + 1]) if c.cell_type == "code"]


def first_code_cell(nb, what: str, test) -> int:
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and test(c)]
    assert found, f"the notebook has no {what}"
    return found[0]


def assert_figures_render(page, expected: int, timeout_s: float = 30) -> None:
    """Exactly ``expected`` figures are shown, and every one decodes."""
    images = page.locator(".jp-Notebook .jp-OutputArea .jp-RenderedImage img")
    deadline = time.monotonic() + timeout_s
    while images.count() != expected and time.monotonic() < deadline:
        time.sleep(0.25)
    assert images.count() == expected, f"{images.count()} figures rendered, expected {expected}"
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-Notebook .jp-RenderedImage img')].every(i => i.complete)"
    )
    widths = images.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert all(w > 100 for w in widths), f"a figure did not decode: widths {widths}"


def assert_no_error_output(page) -> None:
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"error or warning output in Lab: {errors.all_inner_texts()[:3]}"


def assert_server_log_clean(lab_url: str) -> None:
    """Exceptions in the server (a broken kernel channel, say) can stall a run without any sign in the page."""
    log = LAB_LOGS[lab_url].read_text(errors="replace")
    assert "Uncaught exception" not in log and "Traceback" not in log, f"JupyterLab server log:\n{log[-3000:]}"


def committed(name: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "notebooks" / name, as_version=4)


def count_outputs(cells, mime: str) -> int:
    return sum(mime in out.get("data", {}) for c in cells if c.cell_type == "code" for out in c.outputs)


def test_notebook_01_renders_restarts_and_runs_in_jupyterlab(page, lab):
    name = "01_data_exploration.ipynb"
    nb = committed(name)
    open_notebook(page, lab, name)
    # the committed outputs render: every stored figure decodes
    figures = count_outputs(nb.cells, "image/png")
    assert figures, f"{name} has no committed figures to render"
    assert_figures_render(page, figures)
    assert_no_error_output(page)

    # a student's run: from the top to the first figure, after a restart from the Kernel menu
    first_figure = next(i for i, c in enumerate(nb.cells) if count_outputs([c], "image/png"))
    clear_all_outputs(page)
    restart_and_run_up_to(page, first_figure)
    ran = code_cell_indices(nb, first_figure)
    wait_until_ran(page, expected_prompts(nb, ran))  # in order, each once, nothing below
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "01_after_run.png"))
    assert_figures_render(page, count_outputs([nb.cells[i] for i in ran], "image/png"))
    streams = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']")
    assert streams.count() >= 1, "the printed output of the cells that ran is missing"
    assert_no_error_output(page)
    assert_server_log_clean(lab)


def draw(page, canvas, points: list[tuple[float, float]], steps: int = 15) -> None:
    """Press the mouse at the first point and drag through the others (fractions of the canvas)."""
    box = canvas.bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for (ax, ay), (bx, by) in itertools.pairwise(at):
        for t in range(1, steps + 1):
            page.mouse.move(ax + (bx - ax) * t / steps, ay + (by - ay) * t / steps)
    page.mouse.up()


def test_notebook_06_drawing_canvas_reads_a_digit(page, lab):
    """Only what the canvas needs runs: the cells up to the model (loaded from models/), then the canvas."""
    name = "06_new_images.ipynb"
    nb = committed(name)
    model_cell = first_code_cell(nb, "cell that loads the model", lambda c: "load_or_train(" in c.source)
    canvas_cell = first_code_cell(nb, "widget output", lambda c: count_outputs([c], WIDGET))
    open_notebook(page, lab, name)
    clear_all_outputs(page)
    restart_and_run_up_to(page, model_cell)
    setup = code_cell_indices(nb, model_cell)
    wait_until_ran(page, expected_prompts(nb, setup))
    select_cell(page, canvas_cell)
    menu(page, "Run", re.compile(r"^Run Selected Cells? and Do not Advance$"))
    wait_until_ran(page, expected_prompts(nb, [*setup, canvas_cell]))

    cell = page.locator(".jp-CodeCell", has=page.locator(".jp-OutputArea canvas"))
    assert cell.count() == 1, f"expected one cell with a drawing canvas, found {cell.count()}"
    canvas = cell.locator("canvas").last
    canvas.scroll_into_view_if_needed()
    reading = cell.get_by_text(re.compile(r"The model reads \d"))
    assert reading.count() == 0, "the canvas cell shows a reading before anything was drawn"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "06_canvas_before_drawing.png"))

    draw(page, canvas, [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)])  # a 7: a bar, then a diagonal down
    reading.wait_for(timeout=60_000)
    cell.locator(".jp-OutputArea img").last.wait_for()  # the 28×28 input and top-3 figure
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for()
    reading.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "06_canvas_after_drawing.png"))
    text = reading.inner_text()
    assert re.search(r"The model reads 7 \(\d+% sure\)", text), f"the drawn 7 was read as: {text!r}"

    # the line above the canvas names the model that reads: notebook 04's improved model, with no digit gate
    caption = cell.get_by_text("Read by the model 'improved', no digit gate", exact=True)
    assert caption.count() >= 1, "the canvas does not say which model reads it"

    # Clear, then an H in three strokes: not a digit, and with no gate in notebook 06 the model names a digit
    # anyway (section 4), while the first stroke alone is a digit-like bar
    cell.get_by_role("button", name="Clear").click()
    expect_gone = cell.get_by_text(re.compile(r"The model reads 7"))
    expect_gone.wait_for(state="detached", timeout=30_000)
    for stroke in [[(0.25, 0.2), (0.25, 0.8)], [(0.75, 0.2), (0.75, 0.8)], [(0.25, 0.5), (0.75, 0.5)]]:
        draw(page, canvas, stroke)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for()
    reading.wait_for(timeout=60_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for()
    time.sleep(1)  # the last stroke's answer replaces the one before it: let it land
    page.screenshot(path=str(SHOTS / "06_canvas_after_drawing_an_h.png"))
    outputs = cell.locator(".jp-OutputArea").last.inner_text()
    assert re.search(r"The model reads \d \(\d+% sure\)", outputs) and "no digit found" not in outputs, outputs[-500:]
    width = canvas.bounding_box()["width"]
    assert width >= 270, f"the message beside the canvas squeezed it to {width:.0f} px (it is 280 px wide)"
    assert_no_error_output(page)
    assert_server_log_clean(lab)


@pytest.mark.parametrize("name", ["07_convolutional_network.ipynb", "08_no_digit.ipynb"])
def test_notebooks_07_and_08_render_in_jupyterlab(page, lab, name):
    """The going-further notebooks as committed: every figure decodes, the exercise checks say Correct, no error."""
    nb = committed(name)
    open_notebook(page, lab, name)
    figures = count_outputs(nb.cells, "image/png")
    assert figures >= 2, f"{name} has too few committed figures"
    assert_figures_render(page, figures)
    checks_passed = page.locator(".jp-OutputArea-output", has_text=re.compile(r"^Correct: "))
    expected = sum("checks.check_" in c.source for c in nb.cells if c.cell_type == "code")
    assert checks_passed.count() == expected, f"{checks_passed.count()} checks say Correct, expected {expected}"
    page.get_by_role("heading", name="Summary").first.wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name[:2]}_as_committed.png"), full_page=True)
    assert_no_error_output(page)
    assert_server_log_clean(lab)
