"""helpers.cpu: the CPUs a process may really use, and TensorFlow's and JAX's thread pools sized to them."""

from __future__ import annotations

from helpers import cpu

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "PJRT_NPROC")
MOUNTINFO = "32 31 0:29 {top} /sys/fs/cgroup/{name} rw,relatime - cgroup cgroup rw,{name}\n"


def fake(root: Path, files: dict[str, str]) -> dict[str, Path]:
    """Write ``files`` under root/proc and root/cgroup; the keyword arguments of available_cpus."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return {"proc": root / "proc", "cgroup": root / "cgroup"}


@pytest.fixture(autouse=True)
def eight_cpus(monkeypatch):
    """Unit tests see 8 schedulable CPUs, whatever this machine has."""
    monkeypatch.setattr(cpu, "_affinity", lambda: 8)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, 8),  # no /proc, no cgroups (macOS, Windows): the affinity
        ({"cgroup/cpu.max": "150000 100000\n"}, 2),  # 1.5 CPUs count as 2
        ({"cgroup/cpu.max": "max 100000\n"}, 8),  # no limit
        ({"cgroup/user.slice/cpu.max": "50000 100000", "cgroup/user.slice/app/cpu.max": "400000 100000"}, 1),
        ({"cgroup/user.slice/app/cpu.max": "garbage"}, 8),  # unreadable: no limit from it
        ({"cgroup/user.slice/app/cpu.max/oops": ""}, 8),  # a folder where the file should be
        ({"cgroup/unified/user.slice/cpu.max": "300000 100000"}, 3),  # a hybrid system's v2 tree
    ],
)
def test_cgroup_v2_quota_of_the_process_and_its_ancestors(tmp_path, files, expected):
    roots = fake(tmp_path, {"proc/self/cgroup": "0::/user.slice/app\n", **files})
    assert cpu.available_cpus(**roots) == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"cpu,cpuacct/kube/pod/c/cpu.cfs_quota_us": "150000", "cpu,cpuacct/kube/pod/c/cpu.cfs_period_us": "100000"},
            2,
        ),
        ({"cpu,cpuacct/kube/pod/c/cpu.cfs_quota_us": "-1", "cpu,cpuacct/kube/pod/c/cpu.cfs_period_us": "100000"}, 8),
        ({"cpu,cpuacct/kube/cpu.cfs_quota_us": "100000", "cpu,cpuacct/kube/cpu.cfs_period_us": "100000"}, 1),
        ({"cpu,cpuacct/kube/pod/c/cpu.cfs_quota_us": "two", "cpu,cpuacct/kube/pod/c/cpu.cfs_period_us": "1"}, 8),
    ],
)
def test_cgroup_v1_quota_of_the_process_and_its_ancestors(tmp_path, files, expected):
    files = {f"cgroup/{name}": text for name, text in files.items()}
    cgroups = "4:cpu,cpuacct:/kube/pod/c\n3:memory:/kube/pod/c\n0::/\n"
    with_mountinfo = {"proc/self/mountinfo": MOUNTINFO.format(top="/", name="cpu,cpuacct")}
    assert cpu.available_cpus(**fake(tmp_path / "a", {"proc/self/cgroup": cgroups, **files})) == expected
    assert (
        cpu.available_cpus(**fake(tmp_path / "b", {"proc/self/cgroup": cgroups, **with_mountinfo, **files})) == expected
    )


def test_cgroup_v1_in_a_container_that_sees_its_own_cgroup_at_the_mount_point(tmp_path):
    files = {"proc/self/cgroup": "1:cpu:/docker/abc\n", "cgroup/cpu/cpu.cfs_period_us": "100000"}
    files |= {
        "proc/self/mountinfo": MOUNTINFO.format(top="/docker/abc", name="cpu"),
        "cgroup/cpu/cpu.cfs_quota_us": "300000",
    }
    assert cpu.available_cpus(**fake(tmp_path, files)) == 3


def test_configure_threads_sets_only_under_a_limit_or_an_override_and_never_replaces_a_value(monkeypatch):
    monkeypatch.setattr(cpu, "available_cpus", lambda: 8)
    assert cpu.configure_threads(env := {}) == {} and env == {}  # no limit: TensorFlow's and XLA's own defaults
    monkeypatch.setattr(cpu, "available_cpus", lambda: 3)
    assert cpu.configure_threads(env := {}) == dict.fromkeys(VARS, "3") == env
    env = {"MNIST_CPUS": " 2 ", "TF_NUM_INTEROP_THREADS": "7", "NPROC": "5"}  # XLA reads PJRT_NPROC before NPROC
    assert cpu.configure_threads(env) == {"TF_NUM_INTRAOP_THREADS": "2", "OMP_NUM_THREADS": "2"}
    assert env["TF_NUM_INTEROP_THREADS"] == "7" and "PJRT_NPROC" not in env
    assert cpu.configure_threads(env := {"MNIST_CPUS": "16"}) == dict.fromkeys(VARS, "16")  # more than the limit: asked
    assert cpu.requested_cpus({"MNIST_CPUS": ""}) is None and cpu.requested_cpus({}) is None


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", "+2"])
def test_a_bad_mnist_cpus_says_what_is_wrong_and_what_to_do(value):
    message = (
        f"MNIST_CPUS must be a whole number of CPUs of at least 1, got '{value}': unset it, or set e.g. MNIST_CPUS=2"
    )
    with pytest.raises(ValueError) as raised:
        cpu.configure_threads({"MNIST_CPUS": value})
    assert str(raised.value) == message


def test_import_helpers_refuses_a_bad_mnist_cpus():
    env = {**os.environ, "MNIST_CPUS": "two"}
    done = subprocess.run([sys.executable, "-c", "import helpers"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "MNIST_CPUS must be a whole number of CPUs of at least 1, got 'two'" in done.stderr


# The real thing: a process in a cgroup limited to 1 CPU imports helpers, then its backend, and trains one step.
CHILD = """
import collections, json, os, sys
from pathlib import Path
Path(sys.argv[1]).write_text(str(os.getpid()))  # into the 1-CPU cgroup before anything starts a thread
import helpers
from helpers import cpu
import keras
import numpy as np
if keras.backend.backend() == "jax":
    import jax.numpy as jnp
    x = jnp.ones((256, 256)); (x @ x).block_until_ready()
else:
    import tensorflow as tf
    x = tf.ones((256, 256)); (x @ x).numpy()
net = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
net.compile(optimizer="sgd", loss="mse")
net.train_on_batch(np.zeros((16, 8), "float32"), np.zeros((16, 4), "float32"))
names = collections.Counter((t / "comm").read_text().strip() for t in Path("/proc/self/task").iterdir())
env = {k: os.environ.get(k) for k in sys.argv[2:]}
print(json.dumps({"cpus": cpu.available_cpus(), "env": env, "threads": names, "total": sum(names.values())}))
"""


CONTROLLER = cpu.writable_cpu_controller()
needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
needs_cgroup = pytest.mark.skipif(
    CONTROLLER is None, reason="needs root and a writable cgroup cpu controller (v1 cpu, or v2 with cpu enabled)"
)


@needs_cgroup
@pytest.mark.parametrize("backend", ["tensorflow", pytest.param("jax", marks=needs_jax)])
def test_under_a_1_cpu_limit_the_backend_runs_fewer_threads_than_without_the_setting(backend, tmp_path):
    """Both runs in a 1-CPU cgroup at once: as helpers sets it, and forced to 2 threads per pool (no setting)."""
    base = {k: v for k, v in os.environ.items() if k not in (*VARS, "MNIST_CPUS", "NPROC")}
    base |= {"KERAS_BACKEND": backend, "KERAS_HOME": str(tmp_path / "keras"), "PYTHONNOUSERSITE": "1"}
    runs = {"limited": base, "unlimited": base | {"MNIST_CPUS": "2"}}
    with (
        cpu.cpu_limited_cgroup(f"mnist-test-a-{os.getpid()}", 1, CONTROLLER) as procs_a,
        cpu.cpu_limited_cgroup(f"mnist-test-b-{os.getpid()}", 1, CONTROLLER) as procs_b,
    ):
        children = {
            name: subprocess.Popen(
                [sys.executable, "-c", CHILD, str(procs), *VARS], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
            )
            for (name, env), procs in zip(runs.items(), (procs_a, procs_b), strict=True)
        }
        out = {name: child.communicate(timeout=180)[0] for name, child in children.items()}
    assert all(child.returncode == 0 for child in children.values()), out
    limited, unlimited = (json.loads(out[name].splitlines()[-1]) for name in runs)
    assert limited["cpus"] == unlimited["cpus"] == 1  # the quota is read
    assert limited["env"] == dict.fromkeys(VARS, "1") and unlimited["env"] == dict.fromkeys(VARS, "2")
    pool = {"tensorflow": "tf_Compute", "jax": "tf_XLAEigen"}[backend]  # TensorFlow's inter-op pool; XLA's Eigen pool
    assert (limited["threads"][pool], unlimited["threads"][pool]) == (1, 2), (limited, unlimited)
    assert limited["total"] <= unlimited["total"] - 3, (limited, unlimited)  # and TF's intra-op or XLA's, OpenBLAS's
