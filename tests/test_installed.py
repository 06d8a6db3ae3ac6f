"""The course outside a clone (hosted runtimes, an installed wheel, a hub), in venvs without the clone's helpers."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
CLONE = (REPO / "models", REPO / "data")
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(REPO / "scripts"))
import course_links  # noqa: E402

# Installing into the bare environment: never touch this environment's packages, never download.
PIP_QUIET = {
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_IGNORE_INSTALLED": "1",
    "PIP_NO_DEPS": "1",
    "PIP_NO_BUILD_ISOLATION": "0",  # pip reads this double negative as --no-build-isolation
    "PIP_NO_INDEX": "1",
}


def printed(python: Path, code: str, cwd: Path | None = None) -> str:
    return subprocess.run([python, "-c", code], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def bare_env(where: Path) -> Path:
    """A venv without the course: this environment's site-packages is visible as a plain path entry."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = printed(python, "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    # A path entry, not a site dir: its .pth files (the clone's editable install) are not processed.
    Path(purelib, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = subprocess.run([python, "-c", "import helpers"], cwd=where, capture_output=True, text=True)
    assert probe.returncode != 0, "the bare environment must not see the clone's helpers"
    return python


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MNIST_", "KAGGLE_", "PIP_", "KERAS_BACKEND"))}
    return {**env, **extra}


def files_under(*folders: Path) -> dict[str, float]:
    found = [(f, p) for f in folders for p in f.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return {str(p.relative_to(f)): p.stat().st_mtime for f, p in found}


def setup_source() -> str:
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    return next(c.source for c in nb.cells if c.get("id") == course_links.SETUP_ID)


# --------------------------------------------------------- the one location setting


def test_links_and_setup_cells_follow_pyproject():
    done = subprocess.run(
        [sys.executable, REPO / "scripts" / "course_links.py", "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_publishing_under_another_name_is_a_one_line_change(tmp_path):
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("images"))
    shutil.copy(REPO / "README.md", tmp_path)
    old, _ = course_links.location()
    pyproject = (REPO / "pyproject.toml").read_text()
    assert pyproject.count(f"https://github.com/{old}") == 1, "the location should be written once in pyproject.toml"
    (tmp_path / "pyproject.toml").write_text(pyproject.replace(old, "another-school/digits"))
    script = [sys.executable, REPO / "scripts" / "course_links.py", "--root", tmp_path]
    stale = subprocess.run([*script, "--check"], capture_output=True, text=True)
    assert stale.returncode == 1 and "README.md" in stale.stdout and "06_new_images.ipynb" in stale.stdout
    subprocess.run(script, check=True, capture_output=True)
    assert subprocess.run([*script, "--check"], capture_output=True).returncode == 0
    for path in [tmp_path / "README.md", *sorted((tmp_path / "notebooks").glob("*.ipynb"))]:
        text = path.read_text()
        assert old not in text, f"{path.name} still names {old}"
        for host in ["mybinder.org/v2/gh/", "colab.research.google.com/github/", "kaggle.com/kernels/welcome"]:
            assert re.search(re.escape(host) + r"[^)]*another-school/digits", text), f"{path.name}: no {host} link"
    nb = nbformat.read(tmp_path / "notebooks" / NOTEBOOKS[-1].name, as_version=4)
    setup = next(c for c in nb.cells if c.get("id") == course_links.SETUP_ID)
    assert 'REPOSITORY, REF = "another-school/digits", "v' in setup.source


def test_every_notebook_opens_with_the_same_setup_cell():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert first_code.get("id") == course_links.SETUP_ID, f"{path.name}: the setup cell is not the first code cell"
        assert first_code.source == setup_source()
        header = nb.cells[0].source
        for name in ["Launch on Binder", "Open in Colab", "Open in Kaggle"]:
            assert f"[![{name}]" in header, f"{path.name}: no {name!r} link in the header"


# --------------------------------------------------------------- the setup cell


def test_the_setup_cell_does_nothing_outside_hosted_runtimes(tmp_path):
    """Locally (and on Binder or a hub) it creates no file, runs no command, changes no module."""
    probe = setup_source() + "\nimport sys\nassert 'helpers' not in sys.modules and 'google.colab' not in sys.modules\n"
    env = clean_env(PATH="/nonexistent")  # no git, no pip: any command it tried would fail
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_setup_cell_installs_the_course_on_kaggle(tmp_path):
    """Kaggle's marker set: it clones the tagged ref, installs it (not editable) and copies the images."""
    repository, ref = course_links.location()
    remote = tmp_path / "remote" / f"{repository.split('/')[-1]}.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", REPO, remote], check=True)
    subprocess.run(["git", "-C", remote, "tag", "-f", ref, "HEAD"], check=True, capture_output=True)
    python = bare_env(tmp_path / "env")
    work = tmp_path / "kaggle" / "working"
    work.mkdir(parents=True)
    env = clean_env(
        KAGGLE_KERNEL_RUN_TYPE="Interactive",
        # git fetches github.com/OWNER/NAME from the local remote: the real command, no network
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0=f"url.{remote.parent}/.insteadOf",
        GIT_CONFIG_VALUE_0=f"https://github.com/{repository.split('/')[0]}/",
        **PIP_QUIET,
    )
    probe = setup_source() + "\nimport helpers.files\nprint(helpers.files.__file__)\n"
    done = subprocess.run([python, "-c", probe], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    installed = Path(done.stdout.strip().splitlines()[-1])
    assert tmp_path / "env" in installed.parents, f"helpers came from {installed}, not the runtime's packages"
    sample = sorted(p.name for p in (REPO / "notebooks" / "images").iterdir())
    assert sorted(p.name for p in (work / "images").iterdir()) == sample
    again = subprocess.run([python, "-c", setup_source()], cwd=work, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout == "", "a second run (Run All again) should do nothing new"


# ------------------------------------------------------- installed wheel, read-only hub


def read_only(folder: Path) -> None:
    for p in [folder, *folder.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.mark.jax
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_nbval_passes_from_an_installed_wheel_in_a_bare_folder_under_jax(tmp_path):
    """A hub: the wheel and shared data read-only, the notebooks alone in a student's folder, JAX; nbval compares
    with outputs made under TensorFlow (so a compared trained number fails). Nothing is written but the student's."""
    pytest.importorskip("jax", reason="the dev extra installs jax")
    pytest.importorskip("nbval", reason="the dev extra installs nbval")
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", dist, REPO]
    subprocess.run(build, check=True, env=clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1"))
    (wheel,) = dist.glob("*.whl")
    python = bare_env(tmp_path / "env")
    subprocess.run([python, "-m", "pip", "install", "--quiet", wheel], check=True, env=clean_env(**PIP_QUIET))
    package = Path(printed(python, "import helpers, os; print(os.path.dirname(helpers.__file__))", cwd=tmp_path))
    assert tmp_path / "env" in package.parents
    shared = tmp_path / "srv" / "mnist"
    shutil.copytree(REPO / "data", shared, ignore=shutil.ignore_patterns("README.md", ".*"))
    for folder in (package, shared):
        read_only(folder)
    student = tmp_path / "home" / "student"
    student.mkdir(parents=True)
    for nb in NOTEBOOKS:
        shutil.copy(nb, student)
    shutil.copytree(REPO / "notebooks" / "images", student / "images")
    plugin = tmp_path / "plugin"  # the course's nbval plugin, and nothing else of the clone's tests
    plugin.mkdir()
    shutil.copy(REPO / "tests" / "nbval_strict.py", plugin)
    folders = {"package": (package,), "data": (shared,), "clone": CLONE}
    before = {where: files_under(*found) for where, found in folders.items()}
    env = clean_env(
        KERAS_BACKEND="jax", MNIST_DATA_DIR=str(shared), PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(plugin)
    )
    nbval = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", REPO / "tests" / "nbval_sanitize.cfg"]
    done = subprocess.run(
        [python, "-m", "pytest", *nbval, "-p", "nbval_strict", "-p", "no:cacheprovider", "--durations=15",
         "--rootdir", student, *sorted(student.glob("*.ipynb"))],
        cwd=student,
        env=env,
        capture_output=True,
        text=True,
    )  # fmt: skip
    print(done.stdout[-6000:])  # the cell times under JAX, shown with pytest -s
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", done.stdout) and "failed" not in done.stdout.splitlines()[-1]
    assert len(re.findall(r"\.ipynb \.+", done.stdout)) == len(NOTEBOOKS), "nbval should run every notebook"
    saved = sorted(p.name for p in (student / "models").glob("*.keras"))
    assert saved == ["baseline.keras", "cnn.keras", "gate.keras", "improved.keras"]
    assert (student / "models" / "gate.json").is_file(), "the gate's threshold is saved beside it"
    for where, found in folders.items():
        assert files_under(*found) == before[where], f"the run wrote into the {where}"
