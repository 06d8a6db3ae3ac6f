"""JupyterLab on 127.0.0.1 (own settings, a copy of notebooks/) in headless Chromium, driven as a student would:
notebooks 01, 06, 07, 08 render their committed figures and Correct checks; 06 restarts from the menu, runs to its
first figure (loading 04's saved model; skipped without it) and its canvas reads a drawn 7. No error or warning output,
no server exception, no training. Screenshots: build/screenshots/; without Chromium (`make browser`) tests skip."""

from __future__ import annotations

from helpers.files import course_folder

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest

from conftest import free_port

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "build" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
LAB_SETTINGS = {  # a quiet, inspectable session: no news or update pop-ups, every cell in the DOM
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}
IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
PNG, WIDGET = "image/png", "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a copy of notebooks/: yields (base URL, server log) and stops it (and its kernels) afterwards."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    for name, values in LAB_SETTINGS.items():
        (path := root / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ, JUPYTER_PREFER_ENV_PATH="1", JUPYTER_CONFIG_DIR=str(root / "config"),
               JUPYTER_RUNTIME_DIR=str(root / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(root / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"))  # fmt: skip
    port, log_path = free_port(), root / "lab.log"
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root / 'notebooks'}",
        *(["--allow-root"] if getattr(os, "geteuid", lambda: 1)() == 0 else []),
    ]  # fmt: skip
    with log_path.open("w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 90
        try:
            while not get_json(f"{url}/api/status"):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield url, log_path
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def get_json(url: str):
    """What the server answers at ``url``, or None while it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except OSError:
        return None


@pytest.fixture(scope="module")
def browser():
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if chromium is None or not os.access(chromium, os.X_OK):
        pytest.skip("Chromium is not installed: run `make browser` (Debian/Ubuntu: sudo apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make install)")
    with sync_api.sync_playwright() as p, p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS) as launched:
        yield launched


@pytest.fixture
def page(browser, lab, request):
    """A fresh browser page; afterwards a screenshot, and the check that the server logged no exception."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{request.node.name}-last.png"), full_page=True)
    context.close()
    # exceptions in the server (a broken kernel channel, say) can stall a run without any sign in the page
    log = lab[1].read_text(errors="replace")
    assert "Uncaught exception" not in log and "Traceback" not in log, f"JupyterLab server log:\n{log[-3000:]}"


def wait_for_kernel_ready(lab_url: str, name: str, settle_s: float = 2.0) -> None:
    """Wait until the kernel is idle and connected for ``settle_s``: restarting one just started stalls the run."""
    deadline, ready_since, kernel = time.monotonic() + 120, time.monotonic(), None
    while time.monotonic() < deadline:
        sessions = get_json(f"{lab_url}/api/sessions") or []
        kernel = next((s["kernel"] for s in sessions if s.get("path", "").endswith(name) and s.get("kernel")), None)
        if not (kernel and kernel.get("execution_state") == "idle" and kernel.get("connections", 0) >= 1):
            ready_since = time.monotonic()
        elif time.monotonic() - ready_since >= settle_s:
            return
        time.sleep(0.25)
    pytest.fail(f"the kernel of {name} never became ready to restart (last state: {kernel})")


def open_as_committed(page, lab, name: str) -> nbformat.NotebookNode:
    """Open ``name`` in a fresh workspace, wait for its kernel, check its figures and checks; return the file."""
    page.goto(f"{lab[0]}/lab/workspaces/{Path(name).stem}/tree/{name}?reset")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    active = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    assert active.inner_text() == name, f"Lab shows {active.inner_text()!r}, not {name}"
    page.locator(IDLE).first.wait_for()  # the status bar names the kernel and it is idle
    wait_for_kernel_ready(lab[0], name)
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    assert_figures_render(page, count_outputs(nb.cells, PNG))  # every figure decodes, no error output
    passed = page.locator(".jp-OutputArea-output", has_text=re.compile(r"^Correct: "))
    expected = sum("checks.check_" in c.source for c in nb.cells if c.cell_type == "code")
    assert expected and passed.count() == expected, f"{passed.count()} checks say Correct, expected {expected}"
    return nb


def menu(page, top: str, item: str) -> None:
    """Open a menu of Lab's menu bar and click one of its items (matched whole), as a student would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{item}$")).click()


def select_cell(page, index: int) -> None:
    """Click the cell's prompt: it becomes the active cell, in command mode (nothing is edited)."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()
    cell.and_(page.locator(".jp-mod-active")).wait_for()


def wait_until_ran(page, nb, ran: list[int]) -> None:
    """Wait until exactly the cells ``ran`` (notebook indices) ran, in that order, each once, and the kernel is idle."""
    count = {index: n for n, index in enumerate(ran, start=1)}
    expected = [f"[{count[i]}]:" if i in count else "[ ]:" for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    prompts, deadline, texts = page.locator(".jp-CodeCell .jp-InputArea-prompt"), time.monotonic() + 180, []
    while time.monotonic() < deadline:
        texts = [t.strip() for t in prompts.all_inner_texts()]
        if texts == expected and page.locator(IDLE).count() > 0:
            return
        time.sleep(1)
    pytest.fail(f"the cells did not run as expected in time: prompts {texts}, expected {expected}")


def code_cells(nb, upto: int | None = None) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (upto is None or i <= upto)]


def count_outputs(cells, mime: str) -> int:
    return sum(mime in out.get("data", {}) for c in cells if c.cell_type == "code" for out in c.outputs)


def assert_figures_render(page, expected: int) -> None:
    """Exactly ``expected`` figures are shown, every one decoded, and no output is an error or a warning."""
    images = page.locator(".jp-Notebook .jp-OutputArea .jp-RenderedImage img")
    deadline = time.monotonic() + 30
    while images.count() != expected and time.monotonic() < deadline:
        time.sleep(0.25)
    assert images.count() == expected, f"{images.count()} figures rendered, expected {expected}"
    page.wait_for_function("() => [...document.querySelectorAll('.jp-RenderedImage img')].every(i => i.complete)")
    widths = images.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert all(w > 100 for w in widths), f"a figure did not decode: widths {widths}"
    assert_no_error_output(page)


def assert_no_error_output(page) -> None:
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"error or warning output in Lab: {errors.all_inner_texts()[:3]}"


@pytest.mark.parametrize("name", ["01_data_exploration.ipynb", "07_convolutional_network.ipynb", "08_no_digit.ipynb"])
def test_notebook_renders_as_committed(page, lab, name):
    """A notebook as committed opens, with its kernel: every figure decodes, every check says Correct, no error."""
    open_as_committed(page, lab, name)
    page.get_by_role("heading", name="Summary").first.wait_for()


def test_notebook_06_drawing_canvas_reads_a_digit(page, lab):
    """Restart from the menu and run the cells up to the first figure (loading the saved model), then the canvas."""
    if not (model := course_folder("models", "MNIST_MODELS_DIR") / "improved.keras").is_file():
        pytest.skip(f"no saved {model} to read the canvas with: notebook 04 saves it (make test runs it first)")
    nb = open_as_committed(page, lab, "06_new_images.ipynb")
    figure, canvas_cell = (next(i for i in code_cells(nb) if count_outputs([nb.cells[i]], m)) for m in (PNG, WIDGET))
    select_cell(page, figure)
    menu(page, "Edit", "Clear Outputs of All Cells")  # no output or count is left
    page.wait_for_function(
        "() => !document.querySelector('.jp-Notebook .jp-OutputArea-output')"
        " && [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].every(p => !/\\d/.test(p.innerText))"
    )
    menu(page, "Kernel", "Restart Kernel and Run up to Selected Cell…")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    wait_until_ran(page, nb, code_cells(nb, upto=figure))  # in order, each once, nothing below
    assert_figures_render(page, 1)  # drawn by this kernel, which loaded the model (no training)
    select_cell(page, canvas_cell)
    menu(page, "Run", "Run Selected Cell and Do not Advance")
    wait_until_ran(page, nb, [*code_cells(nb, upto=figure), canvas_cell])
    cell = page.locator(".jp-CodeCell", has=page.locator(".jp-OutputArea canvas"))
    assert cell.count() == 1, f"expected one cell with a drawing canvas, found {cell.count()}"
    canvas, output = cell.locator("canvas").last, cell.locator(".jp-Cell-outputArea")
    canvas.scroll_into_view_if_needed()
    assert "'improved'" in output.inner_text(), "the canvas does not name the model that reads it (notebook 04's)"
    reading = cell.get_by_text(re.compile(r"The model reads \d \(\d+% sure\)"))
    assert reading.count() == 0, "the canvas cell shows a reading before anything was drawn"
    box, corners = canvas.bounding_box(), [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]  # a 7: a bar, then a diagonal
    line = np.concatenate([np.linspace(a, b, 16) for a, b in itertools.pairwise(corners)])  # 15 steps a stroke
    path = line * [box["width"], box["height"]] + [box["x"], box["y"]]
    page.mouse.move(*path[0])
    page.mouse.down()
    for point in path:  # dragged in small steps, as a hand moves
        page.mouse.move(*point)
    page.mouse.up()
    reading.wait_for()
    cell.locator(".jp-OutputArea img").last.wait_for()  # the 28×28 input and top-3 figure
    assert re.match(r"The model reads 7 ", reading.inner_text()), f"the drawn 7 was read as: {reading.inner_text()!r}"
    width = canvas.bounding_box()["width"]
    assert width >= 270, f"the message beside the canvas squeezed it to {width:.0f} px (it is 280 px wide)"
    cell.get_by_role("button", name="Clear").click()
    reading.wait_for(state="detached")  # a clean slate for the next digit
    assert_no_error_output(page)
