"""Grading's parts that need no grading run: where kernels run, the kernel sandbox alone (real bubblewrap, or a skip
saying why), the checks on a submission, the feedback's scrubbing of hidden tests."""

from __future__ import annotations

import contextlib
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

from test_grading import NOTEBOOK, REPO, meta
from traitlets.config import Config

sys.path.insert(0, str(REPO / "grading"))  # grading/ is not a package: grade.py runs as a script

import grade
import kernel_sandbox
import submission_checks

UNCONFINED = ["run in: UNCONFINED", "WARNING: students' code runs UNCONFINED"]


def lay_out(root: Path, files: dict[str, str | None]) -> None:
    """Each file with its text under root; None: a folder."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).mkdir(exist_ok=True) if text is None else (root / name).write_text(text)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"MNIST_GRADING_BWRAP": "missing"}, [*UNCONFINED, "Not available: bubblewrap"]),
        ({"MNIST_GRADING_BWRAP": "failing"}, [*UNCONFINED, "Creating new namespace failed"]),
        ({"MNIST_GRADING_SANDBOX": "off"}, [*UNCONFINED, "MNIST_GRADING_SANDBOX=off"]),
        ({"MNIST_GRADING_BWRAP": "missing", "MNIST_GRADING_SANDBOX": "required"}, None),  # stops
    ],
)
def test_without_a_working_sandbox_grading_says_so_loudly_or_stops(tmp_path, monkeypatch, capsys, env, says):
    (tmp_path / "failing").write_text("#!/bin/sh\necho 'bwrap: Creating new namespace failed' >&2\nexit 1\n")
    (tmp_path / "failing").chmod(0o755)
    for name, value in env.items():
        monkeypatch.setenv(name, str(tmp_path / value) if name == "MNIST_GRADING_BWRAP" else value)
    stops = pytest.raises(SystemExit, match="MNIST_GRADING_SANDBOX=required")
    with stops if says is None else contextlib.nullcontext():
        assert grade.main(["--check-sandbox", "--course", str(tmp_path / "course"), "--source", str(NOTEBOOK)]) == 0
    out = capsys.readouterr().out
    assert [text for text in says or [] if text not in out] == [] and ("Submissions run" in out) == bool(says)
    assert not (tmp_path / "course").exists()  # --check-sandbox makes nothing


INSIDE = r"""import json, os, resource, socket, sys
report = {"uid": os.getuid(), "cwd": os.getcwd(), "files": sorted(os.listdir(".")), "env": dict(os.environ),
          "interfaces": [n for _, n in socket.if_nameindex()], "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
          "seen": [p for p in sys.argv[1:] if os.path.exists(p)], "written": []}
for path in sys.argv[1:]:
    try: open(os.path.join(path, "x") if os.path.isdir(path) else path, "a").write("x"); report["written"].append(path)
    except OSError: pass
open("made-inside", "w").close()
print(json.dumps(report))"""


@pytest.mark.parametrize("kind", ["bubblewrap", "unconfined"])
def test_a_kernel_works_in_its_own_folder_and_reaches_nothing_of_the_graders(tmp_path, kind):
    files = {"home": None, "autograded/images/seven.png": "png", "autograded/nb.ipynb": "hidden tests"}
    lay_out(tmp_path, {**files, "gradebook.db": "grades", "other-student": None})
    home, cwd = tmp_path / "home", tmp_path / "autograded"  # cwd: nbgrader's folder, with the notebooks
    (cwd / "link").symlink_to("/etc/hostname")
    (work := home / "work").symlink_to(tmp_path / "elsewhere")  # planted by an earlier kernel: made afresh
    read_only = sorted({sys.prefix, sys.base_prefix, str(REPO / "helpers")})
    user = [65534, 65534] if os.getuid() == 0 and kind == "bubblewrap" else None
    settings = dict(kind=kind, bwrap=os.environ.get("MNIST_GRADING_BWRAP") or "bwrap", user=user, home=str(home))
    limits = {"memory": 4 * 2**30, "processes": 64, "file_size": 2**30, "tmp_size": 2**28}
    settings.update(events=str(tmp_path / "e"), read_only=read_only, limits=limits, python=sys.executable)
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    # what of each secret would show: it, and its entries (a folder may lead to a Python installation)
    secrets = [tmp_path / "gradebook.db", tmp_path / "other-student", REPO / "notebooks", Path.home(), cwd]
    leads_in = {str(p) for path in read_only for p in Path(path).parents}
    paths = [str(s) for s in secrets if str(s) not in leads_in]
    paths += kernel_sandbox.visible_inside([s for s in secrets if s.is_dir()], read_only)
    command = kernel_sandbox.kernel_command([sys.executable, "-c", INSIDE, *(paths if kind == "bubblewrap" else [])])
    env = {**os.environ, kernel_sandbox.SETTINGS_VARIABLE: str(tmp_path / "settings.json"), "KERAS_BACKEND": "jax"}
    env.update(GRADER_TOKEN="t0ken", TF_TOKEN_app_terraform_io="t0ken")
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("{")]
    if kind == "bubblewrap" and (done.returncode != 0 or not lines):
        pytest.skip(f"bubblewrap does not work here, so grading runs unconfined: {done.stderr.strip()[-300:]}")
    assert done.returncode == 0 and lines, done.stderr
    found = json.loads(lines[-1])
    assert "t0ken" not in json.dumps(found["env"]) and not [v for v in found["env"] if v.startswith("MNIST_GRADING")]
    inside = kernel_sandbox.HOME if kind == "bubblewrap" else str(home)
    assert (found["env"]["KERAS_BACKEND"], found["env"]["HOME"], found["cwd"]) == ("jax", inside, f"{inside}/work")
    # a copy of nbgrader's folder, without the notebooks (they hold the hidden tests) or links
    assert found["files"] == ["images"] and not work.is_symlink() and not (cwd / "made-inside").exists()
    assert sorted(p.relative_to(work).as_posix() for p in work.rglob("*")) == [
        "images",
        "images/seven.png",
        "made-inside",
    ]
    if kind == "bubblewrap":
        assert found["seen"] == [] and found["written"] == [] and found["interfaces"] == ["lo"]  # nor a network
        assert (tmp_path / "gradebook.db").read_text() == "grades" and not any((tmp_path / "other-student").iterdir())
        assert (found["uid"] == 65534 or os.getuid() != 0) and 64 <= found["nproc"] < 10_000  # not root: it binds


@pytest.mark.skipif(os.getuid() != 0, reason="only root gives files to the sandbox user")
def test_files_are_given_to_the_sandbox_user_but_not_through_a_hard_link(tmp_path):
    lay_out(tmp_path, {"home/models/baseline.keras": "model", "precious": "not the kernel's"})
    home, precious = tmp_path / "home", tmp_path / "precious"  # someone else's file, linked into the kernel's home
    os.link(precious, home / "linked")
    kernel_sandbox.give_to([65534, 65534], [home])
    assert (home / "models" / "baseline.keras").stat().st_uid == 65534 and home.stat().st_uid == 65534
    assert precious.stat().st_uid == 0


def cell(nb, grade_id):
    return next(c for c in nb.cells if meta(c).get("grade_id") == grade_id)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda nb: meta(cell(nb, "ex1_check")).update(solution=True), "solution=True"),
        (lambda nb: meta(cell(nb, "ex1_answer")).update(locked=True), "locked=True"),
        (lambda nb: nb.cells.remove(cell(nb, "ex3_check")), "ex3_check is missing"),
        (lambda nb: cell(nb, "ex1_check").metadata.update(nbgrader="yes"), "not an object"),
        (lambda nb: meta(cell(nb, "ex1_check")).pop("grade_id"), "no grade_id"),
        (lambda nb: meta(cell(nb, "ex1_check")).update(schema_version=99), "schema version"),
        (lambda nb: nb.cells[0].metadata.update(nbgrader={**meta(cell(nb, "ex1_check")), "grade_id": "x"}), "x is not"),
        (lambda nb: nb, None),  # unchanged: nothing to say
    ],
)
def test_altered_grade_cells_are_refused(change, expected):
    released = nbformat.read(NOTEBOOK, 4)
    change(nb := copy.deepcopy(released))
    problems, notes = submission_checks.check_notebook(nb, released, NOTEBOOK.name)
    assert any(expected in problem for problem in problems) if expected else (problems, notes) == ([], []), problems


def test_what_nbgrader_repairs_is_only_noted():
    released = nbformat.read(NOTEBOOK, 4)
    nb = copy.deepcopy(released)
    cell(nb, "ex1_check").source += "\nprint('I changed the check')"
    cell(nb, "ex2_check").metadata.nbgrader["points"] = 100
    nb.cells.append(copy.deepcopy(cell(nb, "ex1_answer")))
    problems, notes = submission_checks.check_notebook(nb, released, NOTEBOOK.name)
    assert problems == [] and len(notes) == 3, notes
    assert any("ex1_check was edited" in n for n in notes) and any("other points" in n for n in notes)


@pytest.mark.parametrize(
    ("student", "expected"),
    [("fine", None), ("schema", "nbformat's validation"), ("folder-link", "mnist is a link"), ("-rf *", "student id")],
)
def test_invalid_notebooks_linked_folders_and_names_are_refused(tmp_path, student, expected):
    good, folder, link = NOTEBOOK.read_text(), tmp_path / "submitted" / student / "mnist", student == "folder-link"
    text = good.replace('"markdown"', '"poem"', 1) if student == "schema" else good
    at = "elsewhere" if link else f"submitted/{student}/mnist"  # elsewhere: another student's, the solutions
    lay_out(tmp_path, {f"release/{NOTEBOOK.name}": good, f"{at}/{NOTEBOOK.name}": text, f"submitted/{student}": None})
    if link:
        folder.symlink_to(tmp_path / at)
    problems, _ = submission_checks.check_submission(folder, tmp_path / "release", student)
    assert [p for p in problems if expected in p] if expected else problems == [], problems


def test_feedback_shows_no_hidden_test_in_any_output():
    scrub = runpy.run_path(str(REPO / "grading" / "nbgrader_config.py"), init_globals={"get_config": Config})
    hidden = "assert secret_answer == 42, 'the hidden answer'"
    check = nbformat.v4.new_code_cell(f"print('checked')\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS")
    check.metadata["nbgrader"] = {"grade": True, "grade_id": "c", "locked": True, "points": 1, "solution": False}
    leaks = nbformat.v4.new_code_cell()
    leaks.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"history: {[check.source]}"),
        nbformat.v4.new_output("display_data", data={"text/html": f"<pre>{hidden.replace(chr(39), '&#x27;')}</pre>"}),
        nbformat.v4.new_output("error", ename="Leak", evalue=hidden, traceback=[f"\x1b[0;31m{hidden}\x1b[0m"]),
    ]
    nb, _ = scrub["ClearHiddenTestsFromFeedback"]().preprocess(nbformat.v4.new_notebook(cells=[check, leaks]), {})
    text = json.dumps(nb)
    assert "secret_answer == 42" not in text and "HIDDEN TESTS" not in text and text.count("[hidden test]") >= 4
    assert nb.cells[0].source == "print('checked')"
