"""The parts of grading that need no grading run: the kernel sandbox on its own, the checks on a
submission, the output limits and the feedback's scrubbing of hidden tests.

The sandbox tests run real bubblewrap (where it works here; they skip, saying why, where it does not)
and real Python; the checks run on real copies of notebook 01; the output limits and the scrubbing
are the classes of grading/nbgrader_config.py, run on notebooks as nbgrader would. Whole grading
runs, hostile submissions included, are in test_grading.py and test_grading_hostile.py.
"""

from __future__ import annotations

import copy
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")

from traitlets.config import Config

REPO = Path(__file__).resolve().parent.parent
GRADING = REPO / "grading"
GRADE = GRADING / "grade.py"
NOTEBOOK = REPO / "notebooks" / "01_data_exploration.ipynb"
sys.path.insert(0, str(GRADING))

import kernel_sandbox  # noqa: E402 (grading/ is not a package: grade.py runs as a script)
import submission_checks  # noqa: E402


def check_sandbox(**env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(GRADE), "--check-sandbox", "--source", str(NOTEBOOK)]
    return subprocess.run(command, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


# --- choosing the sandbox --------------------------------------------------------------------------


def test_without_bubblewrap_grading_runs_unconfined_and_says_so_loudly(tmp_path):
    course = tmp_path / "course"
    done = check_sandbox(MNIST_GRADING_BWRAP=str(tmp_path / "no-bwrap"))
    assert done.returncode == 0, done.stderr
    assert "Submissions run in: UNCONFINED" in done.stdout
    assert "WARNING: students' code runs UNCONFINED" in done.stdout
    assert "Not available: bubblewrap" in done.stdout
    assert not course.exists()  # --check-sandbox makes nothing


def test_a_bubblewrap_that_cannot_make_namespaces_is_not_used(tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: Creating new namespace failed: Operation not permitted' >&2\nexit 1\n")
    fake.chmod(0o755)
    done = check_sandbox(MNIST_GRADING_BWRAP=str(fake))
    assert done.returncode == 0, done.stderr
    assert "UNCONFINED" in done.stdout and "Creating new namespace failed" in done.stdout


def test_required_sandbox_stops_grading_where_there_is_none(tmp_path):
    done = check_sandbox(MNIST_GRADING_BWRAP=str(tmp_path / "no-bwrap"), MNIST_GRADING_SANDBOX="required")
    assert done.returncode != 0
    assert "MNIST_GRADING_SANDBOX=required" in done.stderr and "Submissions run in" not in done.stdout


def test_the_sandbox_switched_off_is_unconfined():
    done = check_sandbox(MNIST_GRADING_SANDBOX="off")
    assert done.returncode == 0, done.stderr
    assert "UNCONFINED" in done.stdout and "MNIST_GRADING_SANDBOX=off" in done.stdout


# --- the sandbox itself ----------------------------------------------------------------------------

INSIDE = r"""
import json, os, resource, socket, sys
report = {"uid": os.getuid(), "cwd": os.getcwd(), "files": sorted(os.listdir(".")),
          "interfaces": [n for _, n in socket.if_nameindex()], "env": dict(os.environ),
          "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0], "seen": [], "written": []}
for path in sys.argv[1:]:
    if os.path.exists(path):
        report["seen"].append(path)
    try:
        with open(os.path.join(path, "x") if os.path.isdir(path) else path, "a") as f:
            f.write("x")
        report["written"].append(path)
    except OSError:
        pass
with open("made-inside", "w") as f:
    f.write("ok")
print(json.dumps(report))
"""


@pytest.fixture
def sandbox_run(tmp_path):
    """Run INSIDE as a kernel would run under grade.py's sandbox; skip where it does not work here."""

    def run(secrets: list[Path], kind: str = "bubblewrap", as_root: bool = False, **extra_env: str) -> dict:
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        cwd = tmp_path / "autograded"
        cwd.mkdir(exist_ok=True)
        (cwd / "images").mkdir(exist_ok=True)
        (cwd / "images" / "seven.png").write_bytes(b"png")
        (cwd / "01_data_exploration.ipynb").write_text("{hidden tests}")
        user = [65534, 65534] if os.getuid() == 0 and not as_root else None
        read_only = sorted({sys.prefix, sys.base_prefix, str(REPO / "helpers")})
        settings = {
            "kind": kind,
            "bwrap": os.environ.get("MNIST_GRADING_BWRAP") or "bwrap",
            "user": user,
            "home": str(home),
            "events": str(tmp_path / "events"),
            "read_only": read_only,
            "env": {},
            "python": sys.executable,
            "limits": {"memory": 4 * 2**30, "processes": 64, "file_size": 2**30, "tmp_size": 2**28},
        }
        (tmp_path / "settings.json").write_text(json.dumps(settings))
        # what of each secret folder would show: its entries (a folder may lead to a Python installation)
        leads_in = {str(p) for path in read_only for p in Path(path).parents}
        paths = [str(s) for s in secrets if str(s) not in leads_in]
        paths += kernel_sandbox.visible_inside([s for s in secrets if s.is_dir()], read_only)
        command = kernel_sandbox.kernel_command([sys.executable, "-c", INSIDE, *paths])
        env = {**os.environ, kernel_sandbox.SETTINGS_VARIABLE: str(tmp_path / "settings.json"), **extra_env}
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("{")]
        if kind == "bubblewrap" and (done.returncode != 0 or not lines):
            pytest.skip(f"bubblewrap does not work here, so grading runs unconfined: {done.stderr.strip()[-300:]}")
        assert done.returncode == 0 and lines, done.stderr
        return {**json.loads(lines[-1]), "host_home": home}

    return run


def test_a_sandboxed_kernel_sees_and_changes_only_its_own_folder(tmp_path, sandbox_run):
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades")
    other = tmp_path / "other-student"
    other.mkdir()
    found = sandbox_run([secret, other, REPO / "notebooks", Path.home(), tmp_path / "autograded"])
    assert found["seen"] == [] and found["written"] == []
    assert secret.read_text() == "grades" and list(other.iterdir()) == []
    # its working folder: a copy of nbgrader's, without the notebooks (they hold the hidden tests)
    assert found["cwd"] == f"{kernel_sandbox.HOME}/work" and found["files"] == ["images"]
    assert (found["host_home"] / "work" / "made-inside").is_file()
    assert not (tmp_path / "autograded" / "made-inside").exists()
    assert found["interfaces"] == ["lo"]  # no network
    if os.getuid() == 0:
        assert found["uid"] == 65534  # not root: the process limit applies
    assert 64 <= found["nproc"] < 10_000


def test_a_kernel_gets_none_of_the_graders_secrets(sandbox_run):
    found = sandbox_run([], GRADER_TOKEN="t0ken", TF_TOKEN_app_terraform_io="t0ken", KERAS_BACKEND="jax")
    assert "t0ken" not in json.dumps(found["env"])
    assert not [name for name in found["env"] if name.startswith("MNIST_GRADING_")]
    assert found["env"]["KERAS_BACKEND"] == "jax" and found["env"]["HOME"] == kernel_sandbox.HOME


def test_an_unconfined_kernel_also_gets_a_clean_environment_and_its_own_folder(sandbox_run):
    found = sandbox_run([], kind="unconfined", as_root=True, GRADER_TOKEN="t0ken")
    assert "t0ken" not in json.dumps(found["env"])
    assert found["cwd"] == str(found["host_home"] / "work") and found["files"] == ["images"]


def test_the_working_folder_is_made_afresh(tmp_path):
    source, work = tmp_path / "autograded", tmp_path / "home" / "work"
    (source / "images").mkdir(parents=True)
    (source / "images" / "a.png").write_bytes(b"a")
    (source / "nb.ipynb").write_text("{}")
    (source / "link").symlink_to("/etc/hostname")
    work.parent.mkdir()
    work.symlink_to(tmp_path / "elsewhere")  # planted by an earlier kernel
    kernel_sandbox.fresh_work(source, work)
    assert not work.is_symlink()
    assert sorted(p.relative_to(work).as_posix() for p in work.rglob("*")) == ["images", "images/a.png"]


@pytest.mark.skipif(os.getuid() != 0, reason="only root gives files to the sandbox user")
def test_files_are_given_to_the_sandbox_user_but_not_through_a_hard_link(tmp_path):
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    (home / "models" / "baseline.keras").write_bytes(b"model")
    precious = tmp_path / "precious"  # someone else's file, linked into the kernel's home
    precious.write_text("not the kernel's")
    os.link(precious, home / "linked")
    kernel_sandbox.give_to([65534, 65534], [home])
    assert (home / "models" / "baseline.keras").stat().st_uid == 65534 and home.stat().st_uid == 65534
    assert precious.stat().st_uid == 0


# --- the checks on a submission --------------------------------------------------------------------


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def cell(nb, grade_id):
    return next(c for c in nb.cells if meta(c).get("grade_id") == grade_id)


@pytest.fixture
def released():
    return nbformat.read(NOTEBOOK, 4)


def check(nb, released):
    return submission_checks.check_notebook(nb, released, NOTEBOOK.name)


def test_an_unchanged_notebook_passes(released):
    assert check(copy.deepcopy(released), released) == ([], [])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda nb: cell(nb, "ex2_check").metadata.nbgrader.update(grade_id="ex2_mine"), "ex2_check is missing"),
        (lambda nb: cell(nb, "ex1_check").metadata.nbgrader.update(solution=True), "solution=True"),
        (lambda nb: cell(nb, "ex1_answer").metadata.nbgrader.update(locked=True), "locked=True"),
        (lambda nb: nb.cells.remove(cell(nb, "ex3_check")), "ex3_check is missing"),
        (lambda nb: cell(nb, "ex1_check").metadata.update(nbgrader="yes"), "not an object"),
        (lambda nb: cell(nb, "ex1_check").metadata.nbgrader.pop("grade_id"), "no grade_id"),
        (lambda nb: cell(nb, "ex1_check").metadata.nbgrader.update(schema_version=99), "schema version"),
        (lambda nb: nb.cells[0].metadata.update(nbgrader=dict(meta(cell(nb, "ex1_check")), grade_id="x")), "x is not"),
    ],
)
def test_altered_grade_cells_are_refused(released, change, expected):
    nb = copy.deepcopy(released)
    change(nb)
    problems, _ = check(nb, released)
    assert any(expected in problem for problem in problems), problems


def test_what_nbgrader_repairs_is_only_noted(released):
    nb = copy.deepcopy(released)
    cell(nb, "ex1_check").source += "\nprint('I changed the check')"
    cell(nb, "ex2_check").metadata.nbgrader["points"] = 100
    nb.cells.append(copy.deepcopy(cell(nb, "ex1_answer")))
    problems, notes = check(nb, released)
    assert problems == []
    assert any("ex1_check was edited" in n for n in notes) and any("other points" in n for n in notes)
    assert any("copied" in n for n in notes)


def write_submission(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / NOTEBOOK.name).write_text(text)
    return folder


def test_invalid_notebooks_links_and_names_are_refused(tmp_path):
    release = tmp_path / "release"
    release.mkdir()
    (release / NOTEBOOK.name).write_text(NOTEBOOK.read_text())
    good = NOTEBOOK.read_text()
    cases = {
        "garbled": (good[:3000], "not valid JSON"),
        "schema": (good.replace('"cell_type": "markdown"', '"cell_type": "poem"', 1), "nbformat's validation"),
    }
    for student, (text, expected) in cases.items():
        problems, _ = submission_checks.check_submission(write_submission(tmp_path / student, text), release, student)
        assert any(expected in p for p in problems), (student, problems)
    linked = write_submission(tmp_path / "linked", good)
    (linked / "notes.txt").symlink_to("/etc/passwd")
    assert any("is a link" in p for p in submission_checks.check_submission(linked, release, "linked")[0])
    fine = write_submission(tmp_path / "fine", good)
    assert submission_checks.check_submission(fine, release, "fine") == ([], [])
    assert submission_checks.check_submission(fine, release, "-rf *")[0]


# --- output limits and the feedback's scrubbing -------------------------------------------------------


@pytest.fixture(scope="module")
def config_classes():
    """grading/nbgrader_config.py's namespace, as nbgrader's config loader runs it."""
    return runpy.run_path(str(GRADING / "nbgrader_config.py"), init_globals={"get_config": Config})


def code_cell(outputs, **nbgrader):
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = outputs
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def test_outputs_are_cut_to_size(config_classes):
    stream = nbformat.v4.new_output("stream", name="stdout", text="x" * 5_000_000)
    images = [nbformat.v4.new_output("display_data", data={"image/png": "A" * 300_000}) for _ in range(40)]
    nb = nbformat.v4.new_notebook(cells=[code_cell([stream]), code_cell(images)])
    nb, _ = config_classes["LimitOutputSize"]().preprocess(nb, {})
    assert len(json.dumps(nb)) < 3 * 2**20
    assert "output cut off" in nb.cells[0].outputs[0].text
    assert "output cut off" in nb.cells[1].outputs[-1].text and len(nb.cells[1].outputs) < 10


def test_feedback_shows_no_hidden_test_in_any_output(config_classes):
    check = "print('checked')\n### BEGIN HIDDEN TESTS\nassert secret_answer == 42, 'the hidden answer'\n"
    check += "### END HIDDEN TESTS"
    hidden = "assert secret_answer == 42, 'the hidden answer'"
    grade = {"grade": True, "grade_id": "c", "locked": True, "points": 1, "solution": False, "schema_version": 3}
    grade_cell = code_cell([], **grade)
    grade_cell.source = check
    leaks = [
        nbformat.v4.new_output("stream", name="stdout", text=f"history: {[check]}"),
        nbformat.v4.new_output("display_data", data={"text/html": f"<pre>{hidden.replace(chr(39), '&#x27;')}</pre>"}),
        nbformat.v4.new_output("error", ename="Leak", evalue=hidden, traceback=[f"\x1b[0;31m{hidden}\x1b[0m"]),
    ]
    nb = nbformat.v4.new_notebook(cells=[grade_cell, code_cell(leaks)])
    nb, _ = config_classes["ClearHiddenTestsFromFeedback"]().preprocess(nb, {})
    text = json.dumps(nb)
    assert "secret_answer == 42" not in text and "HIDDEN TESTS" not in text
    assert text.count("[hidden test]") >= 4
    assert nb.cells[0].source == "print('checked')"
