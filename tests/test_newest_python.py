"""The course on the newest Pythons, where TensorFlow publishes no wheels: Debian's own Python 3.14 and 3.15.

A Debian unstable tree (debootstrap, from the Debian mirror this machine's apt uses) holds the only
Pythons there: 3.14 and 3.15, no TensorFlow anywhere. In it, ``make check-install PYTHON=python3.X``
does what a student does (a virtual environment, the locked install, MNIST) and runs the first notebooks
with ``KERAS_BACKEND`` unset; scripts/check_install.py checks that Keras ran on JAX and that TensorFlow was
neither installed nor imported. On 3.15, pip builds h5py from source (it has no 3.15 wheels yet), with
Debian's HDF5, as the Makefile's notice tells a student to.

It needs root (debootstrap, chroot, mounts) and Debian's tools: ``make test-newest`` installs debootstrap;
elsewhere every test is skipped and says why. The tree is kept in build/newest/ for the next run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.newest

REPO = Path(__file__).resolve().parent.parent
TREE = REPO / "build" / "newest" / "root"
COURSE = "/course"  # where the working tree is copied inside
PACKAGES = [
    "python3.14", "python3.14-venv", "python3.15", "python3.15-venv", "python3.15-dev",
    "libhdf5-dev", "pkg-config", "gcc", "make", "ca-certificates",
]  # fmt: skip
HDF5_DIR = "/usr/lib/x86_64-linux-gnu/hdf5/serial"  # Debian's HDF5, for h5py's build on 3.15


def apt_mirror() -> str | None:
    """The Debian mirror this machine's apt is set to use (deb822 .sources or a sources.list line)."""
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        if found := re.search(r"^URIs:\s*(\S+/debian)/?\s*$", path.read_text(), re.M):
            return found.group(1)
    with contextlib.suppress(OSError):
        if found := re.search(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s", Path("/etc/apt/sources.list").read_text(), re.M
        ):
            return found.group(1)
    return None


def why_not() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root: debootstrap, chroot and mounts (make test-newest as root; CI runs it)"
    if os.uname().machine != "x86_64":
        return "the tree is made for x86_64"
    if not shutil.which("debootstrap"):
        return "debootstrap is not installed (make test-newest installs it with apt-get)"
    if apt_mirror() is None:
        return "no Debian mirror found in apt's sources"
    return None


def run(cmd: list[str], timeout: int, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def debian():
    """The Debian unstable tree, mounted (proc, dev) for the tests' time; made once and kept."""
    if reason := why_not():
        pytest.skip(reason)
    if not (TREE / "usr" / "bin" / "python3.15").exists() or not (TREE / "usr" / "bin" / "make").exists():
        shutil.rmtree(TREE, ignore_errors=True)
        TREE.parent.mkdir(parents=True, exist_ok=True)
        include = "--include=" + ",".join(PACKAGES)
        run(["debootstrap", "--variant=minbase", include, "sid", str(TREE), apt_mirror()], timeout=1200)
    # The tree trusts what this machine trusts (its CA bundle) and resolves names as it does.
    shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", TREE / "etc/ssl/certs/ca-certificates.crt")
    shutil.copyfile("/etc/resolv.conf", TREE / "etc/resolv.conf")
    mounts = [(["-t", "proc", "proc"], TREE / "proc"), (["--bind", "/dev"], TREE / "dev")]
    for args, where in mounts:
        run(["mount", *args, str(where)], timeout=30)
    try:
        yield TREE
    finally:
        for _, where in reversed(mounts):
            subprocess.run(["umount", "--lazy", str(where)], check=False)


def copy_course(tree: Path) -> None:
    """The working tree as git sees it (tracked and new files), and the MNIST files from data/."""
    files = run(["git", "ls-files", "-co", "--exclude-standard", "-z"], timeout=60, cwd=REPO).stdout.split("\0")
    target = tree / COURSE.lstrip("/")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    for idx in (REPO / "data").glob("*-ubyte"):
        shutil.copy2(idx, target / "data" / idx.name)


@pytest.mark.parametrize("python", ["3.14", "3.15"])
def test_the_course_installs_and_runs_on_jax_where_tensorflow_has_no_wheels(debian, python):
    copy_course(debian)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8", "CI": "true"}
    if python == "3.15":
        env["HDF5_DIR"] = HDF5_DIR
    make = ["make", "-C", COURSE, "check-install", f"PYTHON=python{python}"]
    report_file = debian / COURSE.lstrip("/") / "build" / "check-install" / f"py{python}" / "report.json"
    report_file.unlink(missing_ok=True)  # the kept tree may hold an earlier run's
    done = subprocess.run(
        ["chroot", str(debian), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()), *make],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (
        f"make check-install failed on Python {python}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    report = json.loads(report_file.read_text())
    assert report["python"].startswith(python + "."), report["python"]
    assert report["expected_backend"] == "jax" and not report["problems"], report
    assert report["versions"]["tensorflow"] is None and report["versions"]["jax"], report["versions"]
    assert [nb["name"] for nb in report["notebooks"]] == ["01_data_exploration.ipynb", "02_baseline_model.ipynb"]
    for nb in report["notebooks"]:
        assert nb["ok"] and nb["backend"] == "jax", nb
        assert nb["tensorflow_imported"] is False and nb["tensorflow_installed"] is False, nb
