"""Size TensorFlow's and JAX's thread pools to the CPUs this process may really use.

Why: TensorFlow and XLA (JAX's compiler) start one worker thread per CPU they can be scheduled on.
They count CPUs by affinity, not by the CPU *limit* of a container. On a hub that gives each
student 1 CPU of a 32-core server, every kernel still starts pools of 32 threads; thirty students
then run about a thousand busy threads on 32 cores, and every training slows down.

``available_cpus()`` reads the real figure: the smaller of the affinity (``taskset``, cpusets) and
the cgroup CPU quota (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us / cpu.cfs_period_us``) of this
process's cgroup and every cgroup above it; a quota of 1.5 CPUs counts as 2. ``MNIST_CPUS=N``
overrides it. ``configure_threads()`` (run by ``import helpers``, before TensorFlow or JAX loads)
then sets these to that number N, each unless already set:

- ``TF_NUM_INTRAOP_THREADS``: TensorFlow's pool that runs one op (a matmul) on several threads;
- ``TF_NUM_INTEROP_THREADS``: TensorFlow's pool that runs independent ops side by side. Both
  default to the CPU count in TensorFlow (tensorflow/core/common_runtime/process_util.cc): we
  give both N, what TensorFlow itself would choose if it saw the quota;
- ``PJRT_NPROC``: the size of XLA's CPU pools (xla::DefaultThreadPoolSize() reads it), so JAX's
  too; no ``XLA_FLAGS`` flag bounds them;
- ``OMP_NUM_THREADS``: NumPy's OpenBLAS threads (TensorFlow's oneDNN uses its own pool).

Without a limit (N equals the affinity count, as on a laptop) nothing is set: TensorFlow and JAX
keep their own defaults, which are the same numbers. Only the Python standard library is used.
Cgroups and ``/proc`` are Linux's: they are read on Linux only, and anything unreadable sets no limit.
On macOS and Windows (no affinity call, no cgroups) N is ``os.cpu_count()``, so nothing is set.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path

__all__ = ["available_cpus", "configure_threads", "cpu_limited_cgroup", "requested_cpus", "writable_cpu_controller"]

ENV = "MNIST_CPUS"
PROC = Path("/proc")  # Linux's; read at each call of available_cpus, so a test can point both elsewhere
CGROUP = Path("/sys/fs/cgroup")


def _affinity() -> int:
    """The CPUs this process may be scheduled on (taskset, cpusets), as TensorFlow and XLA count them.

    ``os.sched_getaffinity`` is Linux's (macOS and Windows lack it): elsewhere ``os.cpu_count()``."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return ""


def _limit(quota: str, period: str) -> int | None:
    """ceil(quota / period) CPUs, at least 1; None for no limit ("max", -1) or an unreadable value."""
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return max(1, math.ceil(q / p)) if q > 0 and p > 0 else None


def _up(root: Path, path: str) -> list[Path]:
    """The cgroup folder ``path`` under ``root`` and every folder above it, up to ``root``."""
    folder = root / path.strip("/")
    return [folder, *folder.parents[: len(folder.relative_to(root).parts)]]


def _quotas(proc: Path, cgroup: Path) -> list[int]:
    """The CPU limits of this process's cgroup and its ancestors, cgroup v2 and v1."""
    limits = []
    for line in _read(proc / "self" / "cgroup").splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if line.startswith("0::"):  # v2; on a hybrid system (v1 and v2) the v2 tree is cgroup/unified
            for folder in [*_up(cgroup, path), *_up(cgroup / "unified", path)]:
                quota, period = (_read(folder / "cpu.max").split() + ["", ""])[:2]  # "150000 100000", "max 100000"
                limits.append(_limit(quota, period))
        elif "cpu" in controllers.split(","):  # v1: the cpu controller's own tree
            for mount, top in _v1_mounts(proc, cgroup):
                for folder in _up(mount, path.removeprefix(top)):
                    limits.append(_limit(_read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")))
    return [n for n in limits if n]


def _v1_mounts(proc: Path, cgroup: Path) -> list[tuple[Path, str]]:
    """Where the v1 cpu controller is mounted, with the cgroup shown at its top (from mountinfo)."""
    found = []
    for line in _read(proc / "self" / "mountinfo").splitlines():
        fields = line.split()
        if " - cgroup " in line and "cpu" in fields[-1].split(","):
            mount = Path(fields[4])
            if mount.is_relative_to("/sys/fs/cgroup"):  # re-rooted, so a test can pass a fake tree
                mount = cgroup / mount.relative_to("/sys/fs/cgroup")
            found.append((mount, fields[3].rstrip("/")))
    usual = [(cgroup / name, "") for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu")]
    return found or [(m, r) for m, r in usual if m.is_dir()]


def available_cpus(*, proc: str | os.PathLike | None = None, cgroup: str | os.PathLike | None = None) -> int:
    """The CPUs this process may really use: the least of its affinity and every cgroup quota above it.

    ``proc`` and ``cgroup`` are the folders read (default ``PROC`` and ``CGROUP``: on Linux only; macOS and
    Windows have no cgroups, so there it is the affinity, that is ``os.cpu_count()``). Tests pass fake trees.
    """
    if proc is None and cgroup is None and not sys.platform.startswith("linux"):
        return _affinity()
    proc, cgroup = Path(PROC if proc is None else proc), Path(CGROUP if cgroup is None else cgroup)
    return min([_affinity(), *_quotas(proc, cgroup)])


def requested_cpus(environ=os.environ) -> int | None:
    """``MNIST_CPUS`` as a whole number of at least 1; None if unset or empty."""
    value = environ.get(ENV, "").strip()
    if not value:
        return None
    if not value.isdecimal() or int(value) < 1:
        raise ValueError(
            f"{ENV} must be a whole number of CPUs of at least 1, got {value!r}: unset it, or set e.g. {ENV}=2"
        )
    return int(value)


def configure_threads(environ=os.environ) -> dict[str, str]:
    """Set the thread-count variables for N CPUs (see the module docstring); return what was set.

    Run it before TensorFlow or JAX is imported: they read these variables once, when their pools
    start. A variable already set (by the user, the hub) is left as it is.
    """
    n = requested_cpus(environ)
    if n is None:
        n = available_cpus()
        if n >= _affinity():  # no limit: the backends' own defaults are these numbers already
            return {}
    wanted = ["TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"]
    wanted += [] if "NPROC" in environ else ["PJRT_NPROC"]  # XLA reads PJRT_NPROC first, then NPROC
    done = {name: str(n) for name in wanted if name not in environ}
    environ.update(done)
    return done


def writable_cpu_controller(cgroup: Path = CGROUP) -> tuple[Path, str] | None:
    """A cgroup folder under which a child with a CPU quota can be made, and its kind ("v1" or "v2");
    None without root or a writable controller. For the tests and benchmarks that impose a CPU limit."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    for folder in (cgroup / "cpu", cgroup / "cpu,cpuacct"):
        if (folder / "cpu.cfs_quota_us").is_file() and os.access(folder, os.W_OK):
            return folder, "v1"
    subtree = cgroup / "cgroup.subtree_control"
    if subtree.is_file() and "cpu" in _read(subtree).split() and os.access(cgroup, os.W_OK):
        return cgroup, "v2"
    return None


@contextlib.contextmanager
def cpu_limited_cgroup(name: str, cpus: float, controller: tuple[Path, str]):
    """A new cgroup ``name`` under ``controller`` (from writable_cpu_controller) limited to ``cpus`` CPUs; yields
    its cgroup.procs (write a pid there to move that process in). On leaving, what is still inside goes back to
    the parent and the cgroup is removed."""
    parent, kind = controller
    folder, period = parent / name, 100_000
    folder.mkdir()
    try:
        if kind == "v1":
            (folder / "cpu.cfs_period_us").write_text(str(period), encoding="ascii")
            (folder / "cpu.cfs_quota_us").write_text(str(round(period * cpus)), encoding="ascii")
        else:
            (folder / "cpu.max").write_text(f"{round(period * cpus)} {period}", encoding="ascii")
        yield folder / "cgroup.procs"
    finally:
        for pid in _read(folder / "cgroup.procs").split():
            with contextlib.suppress(OSError):  # gone in the meantime
                (parent / "cgroup.procs").write_text(pid, encoding="ascii")
        folder.rmdir()
