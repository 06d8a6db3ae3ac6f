"""The series in JupyterLab itself: a real server, a real headless Chromium, driven like a student would.

The server runs from this environment on 127.0.0.1 with no token and its own temporary config,
runtime, settings and workspace folders, on a copy of notebooks/ (so nothing Lab saves can touch
the committed notebooks). Screenshots go to build/screenshots/.

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
RUN_TIMEOUT_MS = 600_000  # notebook 05 trains its model if models/ is empty (about 2 minutes here)


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


def restart_and_run_all(page) -> None:
    """Kernel menu → "Restart Kernel and Run All Cells…" → confirm, as a student would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Kernel$")).click()
    page.locator(".lm-Menu-itemLabel", has_text="Restart Kernel and Run All Cells").click()
    page.locator(".jp-Dialog .jp-mod-accept").click()


def wait_until_all_cells_ran(page, n_code_cells: int) -> list[str]:
    """Every code cell shows an execution count and the kernel is idle; returns the prompts."""
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        texts = prompts.all_inner_texts()
        done = [t for t in texts if re.fullmatch(r"\[\d+\]:", t.strip())]
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0
        if len(done) == n_code_cells and idle:
            return texts
        time.sleep(1)
    pytest.fail(f"not every cell ran in time: prompts {texts}")


def assert_server_log_clean(lab_url: str) -> None:
    """Exceptions in the server (a broken kernel channel, say) can stall a run without any sign in the page."""
    log = LAB_LOGS[lab_url].read_text(errors="replace")
    assert "Uncaught exception" not in log and "Traceback" not in log, f"JupyterLab server log:\n{log[-3000:]}"


def committed(name: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "notebooks" / name, as_version=4)


def count_outputs(nb, mime: str) -> int:
    return sum(mime in out.get("data", {}) for c in nb.cells if c.cell_type == "code" for out in c.outputs)


def test_notebook_01_restart_and_run_all_in_jupyterlab(page, lab):
    name = "01_data_exploration.ipynb"
    nb = committed(name)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    open_notebook(page, lab, name)
    restart_and_run_all(page)
    prompts = wait_until_all_cells_ran(page, len(code_cells))
    images = page.locator(".jp-OutputArea .jp-RenderedImage img")
    SHOTS.mkdir(parents=True, exist_ok=True)
    if images.count():
        images.first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "01_after_run_all.png"))

    counts = [int(re.search(r"\d+", t).group()) for t in prompts]
    assert counts == list(range(1, len(code_cells) + 1)), f"cells ran out of order or twice: {counts}"
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"error or warning output in Lab: {errors.all_inner_texts()[:3]}"
    expected = count_outputs(nb, "image/png")
    assert expected > 0 and images.count() == expected, f"{images.count()} figures rendered, expected {expected}"
    widths = images.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert all(w > 100 for w in widths), f"a figure did not decode: widths {widths}"
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


def test_notebook_05_drawing_canvas_reads_a_digit(page, lab):
    name = "05_new_images.ipynb"
    nb = committed(name)
    open_notebook(page, lab, name)
    restart_and_run_all(page)
    wait_until_all_cells_ran(page, len([c for c in nb.cells if c.cell_type == "code"]))
    cell = page.locator(".jp-CodeCell", has=page.locator(".jp-OutputArea canvas"))
    assert cell.count() == 1, f"expected one cell with a drawing canvas, found {cell.count()}"
    canvas = cell.locator("canvas").last
    canvas.scroll_into_view_if_needed()
    reading = cell.get_by_text(re.compile(r"The model reads \d"))
    assert reading.count() == 0, "the canvas cell shows a reading before anything was drawn"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "05_canvas_before_drawing.png"))

    draw(page, canvas, [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)])  # a 7: a bar, then a diagonal down
    reading.wait_for(timeout=60_000)
    cell.locator(".jp-OutputArea img").last.wait_for()  # the 28×28 input and top-3 figure
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for()
    reading.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "05_canvas_after_drawing.png"))
    text = reading.inner_text()
    assert re.search(r"The model reads 7 \(\d+% sure\)", text), f"the drawn 7 was read as: {text!r}"
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"error output after drawing: {errors.all_inner_texts()[:3]}"
    assert_server_log_clean(lab)
