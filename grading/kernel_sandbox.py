"""The sandbox that grading/grade.py runs each submission's kernel in, and the launcher that makes it.

grade.py gives nbgrader a kernel spec whose command starts this file (the launcher) in front of the
kernel's own command:

    python -I grading/kernel_sandbox.py kernel -- python -m ipykernel_launcher -f CONNECTION_FILE

The launcher reads the student's settings (a JSON file named by $MNIST_GRADING_KERNEL, written by
grade.py), gives the kernel a fresh working folder, a clean environment and resource limits, starts
it, and watches its memory. It runs the kernel one of two ways, which grade.py picks at start by
running a trivial command each way (see `probe`):

- "bubblewrap": in its own mount, PID, IPC, UTS and (unless told otherwise) network namespaces. The
  kernel sees the system folders (/usr, a few files of /etc), the Python installations and the
  course's `helpers` package read-only, the MNIST data read-only, and a home folder of its own
  (/home/student, writable: its working folder /home/student/work and a copy of the instructor's
  models) plus its folder of connection sockets. Nothing else: no gradebook, no source/, no other
  student's folders, no home folder of the grader. It talks to nbgrader over Unix sockets in that
  folder (ZMQ's ipc transport), so it needs no network at all. Run by root, it also becomes an
  unprivileged user (nobody, or $MNIST_GRADING_USER) inside, so that the process limit applies.
- "unconfined": the kernel runs as an ordinary process, with the same working folder, clean
  environment and limits (and, run by root, as the unprivileged user where it can still start
  Python that way). It can read and write whatever that user can.

Either way the kernel never works in nbgrader's own folder autograded/STUDENT/ASSIGNMENT: it gets
a copy of the files there (not the notebooks) in its own folder, so nothing it writes, and no link it
plants, is ever read or written by the grader.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

SETTINGS_VARIABLE = "MNIST_GRADING_KERNEL"
HOME = "/home/student"  # the kernel's home inside the bubblewrap sandbox; it works in HOME/work
DROP_SCRIPT = "/run/mnist-grading/kernel_sandbox.py"  # this file, inside the sandbox
WORK = "work"
POLL_SECONDS = 0.2  # how often the launcher measures the kernel's memory
STDERR_BYTES = 64 * 1024  # what the launcher passes on of the kernel's own stdout and stderr
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

# The environment a kernel gets: only these variables of the grader's (the rest may hold secrets)
PASS_VARIABLES = (
    "LANG",
    "LANGUAGE",
    "TZ",
    "KERAS_BACKEND",
    "MPLBACKEND",
    "PYTHONHASHSEED",
    "NBGRADER_EXECUTION",
    "CUDA_VISIBLE_DEVICES",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_NUM_INTEROP_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_DETERMINISTIC_OPS",
    "TF_USE_LEGACY_KERAS",
    "TF_XLA_FLAGS",
    "XLA_FLAGS",
)
PASS_PREFIXES = ("LC_", "JAX_", "OMP_", "MKL_", "OPENBLAS_", "MNIST_")  # not TF_: Terraform's tokens
NEVER_PASSED = ("MNIST_GRADING_",)
# What a sandboxed kernel sees of /etc: enough for Python, the dynamic linker and time zones
ETC_FILES = (
    "passwd",
    "group",
    "hosts",
    "nsswitch.conf",
    "host.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "mime.types",
    "ssl",
    "ca-certificates",
    "alternatives",
    "fonts",
)
SYSTEM_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


# --- the launcher: runs as the kernel spec's command ------------------------------------------------


def record(settings: dict, event: str, **details) -> None:
    """One line in the student's event log, which grade.py reads for the reasons a grading failed."""
    with contextlib.suppress(OSError), open(settings["events"], "a") as log:
        log.write(json.dumps({"event": event, "time": time.time(), **details}) + "\n")


def fresh_work(source: Path, work: Path) -> None:
    """Empty `work`, then copy the regular files and folders of `source` into it, notebooks excepted.

    `source` is nbgrader's autograded/STUDENT/ASSIGNMENT (the files of source/ and of the
    submission); its notebooks hold the hidden tests while they are graded, so they are not copied.
    """
    if work.is_symlink() or work.is_file():
        work.unlink()
    elif work.exists():
        shutil.rmtree(work)  # never follows links
    work.mkdir()
    for folder, dirs, files in os.walk(source):  # does not follow links
        here = Path(folder)
        target = work / here.relative_to(source)
        for name in dirs:
            if not (here / name).is_symlink():
                (target / name).mkdir()
        for name in files:
            path = here / name
            if not path.is_symlink() and path.is_file() and path.suffix != ".ipynb":
                shutil.copyfile(path, target / name)


def give_to(user: list[int], paths: list[Path]) -> None:
    """Make `paths` (folders: with everything in them) the sandbox user's.

    Links are not followed, and a file with several hard links is left alone: a kernel must not be
    able to get a file of someone else's given to it by linking to it (no kernel runs meanwhile).
    """
    uid, gid = user

    def give(path: str) -> None:
        info = os.lstat(path)
        if info.st_uid != uid and (stat.S_ISDIR(info.st_mode) or info.st_nlink == 1):
            os.chown(path, uid, gid, follow_symlinks=False)

    for top in paths:
        give(str(top))
        if top.is_dir() and not top.is_symlink():
            for folder, dirs, files in os.walk(top):
                for name in dirs + files:
                    give(os.path.join(folder, name))


def kernel_environment(settings: dict, home: str) -> dict[str, str]:
    """The grader's environment, reduced to what a kernel needs; none of the grader's secrets."""
    env = {
        key: value
        for key, value in os.environ.items()
        if (key in PASS_VARIABLES or key.startswith(PASS_PREFIXES)) and not key.startswith(NEVER_PASSED)
    }
    env.update(settings.get("env", {}))
    bin_dir = os.path.dirname(settings.get("python", sys.executable))
    env.update(
        HOME=home,
        PATH=os.pathsep.join([bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
        PYTHONNOUSERSITE="1",
        MNIST_MODELS_DIR=os.path.join(home, "models"),
        MPLCONFIGDIR=os.path.join(home, ".matplotlib"),
        TMPDIR="/tmp",
        # "started by init": ipykernel then neither watches for its parent (whose pid means nothing in
        # the sandbox) nor prints its terminal notes
        JPY_PARENT_PID="1",
    )
    env.setdefault("LANG", "C.UTF-8")
    return env


class Mounts:
    """bubblewrap's arguments for the sandbox's file system, with the parent folders each mount needs."""

    def __init__(self):
        self.args: list[str] = []
        self.made = {"/"}

    def parents(self, path: str) -> None:
        missing = []
        for parent in Path(path).parents:
            if str(parent) in self.made:
                break
            missing.append(str(parent))
        for parent in reversed(missing):  # bwrap would make them 0700, out of reach of the sandbox user
            self.args += ["--perms", "0755", "--dir", parent]
            self.made.add(parent)

    def add(self, option: str, source: str, target: str) -> None:
        self.parents(target)
        self.args += [option, source, target]
        self.made.add(target)


def bubblewrap_command(settings: dict, command: list[str]) -> list[str]:
    limits = settings["limits"]
    args = [settings["bwrap"], "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--hostname", "grading"]
    if not settings.get("share_network"):
        args.append("--unshare-net")
    if os.getuid() != 0:
        args.append("--unshare-user")
    mounts = Mounts()
    mounts.add("--ro-bind", "/usr", "/usr")
    for name in SYSTEM_DIRS:
        path = Path("/", name)
        if path.is_symlink():
            mounts.args += ["--symlink", os.readlink(path), str(path)]
            mounts.made.add(str(path))
        elif path.is_dir():
            mounts.add("--ro-bind", str(path), str(path))
    mounts.args += ["--perms", "0755", "--dir", "/etc"]
    mounts.made.add("/etc")
    for name in ETC_FILES:
        if os.path.lexists(f"/etc/{name}"):
            mounts.add("--ro-bind-try", f"/etc/{name}", f"/etc/{name}")
    mounts.args += ["--dev", "/dev", "--proc", "/proc"]
    mounts.args += ["--perms", "1777", "--size", str(limits["tmp_size"]), "--tmpfs", "/tmp"]
    mounts.args += ["--perms", "1777", "--size", str(limits["tmp_size"] // 4), "--tmpfs", "/dev/shm"]
    mounts.made.update(["/dev", "/proc", "/tmp", "/sys"])
    mounts.args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    for path in settings["read_only"]:
        mounts.add("--ro-bind", path, path)
    mounts.add("--bind", settings["home"], HOME)
    if settings.get("runtime_dir"):
        mounts.add("--bind", settings["runtime_dir"], settings["runtime_dir"])
    user = settings.get("user")
    if user:
        mounts.add("--ro-bind", str(Path(__file__).resolve()), DROP_SCRIPT)
    args += mounts.args + ["--remount-ro", "/", "--chdir", f"{HOME}/{WORK}"]
    if user:
        python = settings.get("python", sys.executable)
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--"]
        args += [python, "-I", DROP_SCRIPT, "drop", str(user[0]), str(user[1]), "--"]
    else:
        args.append("--")
    return args + command


def drop_to(uid: int, gid: int) -> None:
    """Become uid:gid with no supplementary groups, for good (a later setuid(0) must fail)."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise SystemExit("kernel_sandbox: could not change to the sandbox user")
    if uid != 0:
        try:
            os.setuid(0)
        except PermissionError:
            return
        raise SystemExit("kernel_sandbox: could change back to root after dropping privileges")


def prctl(option: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def die_with_parent() -> None:
    """SIGKILL this process when the process that started it ends."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def tasks_of(uid: int) -> int:
    """How many processes and threads `uid` runs now (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                status = Path(entry.path, "status").read_text()
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                if int(fields["Uid"].split()[0]) == uid:
                    count += int(fields["Threads"])
    return count


def limit_child(settings: dict, processes: int) -> None:
    """In the child, before exec: resource limits, the sandbox user (unconfined), death with the launcher."""
    limits = settings["limits"]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size"], limits["file_size"]))
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    user = settings.get("user")
    if user and settings["kind"] == "unconfined":
        drop_to(*user)
    die_with_parent()  # after the change of user, which clears it


def process_table() -> dict[int, int]:
    """pid -> parent pid of every process."""
    table = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                line = Path(entry.path, "stat").read_text()
                table[int(entry.name)] = int(line[line.rindex(")") + 2 :].split()[1])
    return table


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in process_table().items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def memory_of(pid: int) -> int:
    """Bytes of memory a process uses: its proportional share (PSS) of what it maps, else its RSS."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        return sum(int(line.split()[1]) * 1024 for line in rollup if line.startswith(("Pss:", "SwapPss:")))
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return 0


def kill_tree(root: int) -> None:
    """SIGKILL every process below `root` (not `root` itself)."""
    for pid in reversed(descendants(root)):
        if pid != root:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def end_all() -> None:
    """Kill and reap whatever the kernel left behind (orphans come to this launcher: it is their subreaper)."""
    for _ in range(50):
        kill_tree(os.getpid())
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def pass_on(stream, limit: int) -> None:
    """Copy the kernel's own stdout/stderr to ours, up to `limit` bytes; read and drop the rest."""
    passed = 0
    while chunk := stream.read1(65536):
        if passed < limit:
            sys.stderr.buffer.write(chunk[: limit - passed])
            passed += len(chunk)
            if passed >= limit:
                sys.stderr.buffer.write(b"\n[kernel_sandbox: the kernel's further output to the terminal is dropped]\n")
            sys.stderr.buffer.flush()


def launch(command: list[str]) -> int:
    """Start `command` (the kernel) as the student's settings say; wait for it; return its exit status."""
    settings = json.loads(Path(os.environ[SETTINGS_VARIABLE]).read_text())
    # nbgrader interrupts a cell by signalling the whole process group: the kernel handles it (ipykernel
    # installs its own handler while it runs a cell); this launcher and bubblewrap must survive it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    prctl(PR_SET_CHILD_SUBREAPER, 1)  # what the kernel leaves running comes back here, to be ended
    home = Path(settings["home"])
    fresh_work(Path.cwd(), home / WORK)
    user = settings.get("user")
    if user:
        owned = [home]
        if settings.get("runtime_dir"):
            owned.append(Path(settings["runtime_dir"]))
        if "-f" in command[:-1]:  # the connection file, written by nbgrader's process (mode 0600)
            owned.append(Path(command[command.index("-f") + 1]))
        give_to(user, owned)
    sandboxed = settings["kind"] == "bubblewrap"
    env = kernel_environment(settings, HOME if sandboxed else str(home))
    argv = bubblewrap_command(settings, command) if sandboxed else command
    processes = settings["limits"]["processes"] + tasks_of(user[0] if user else os.getuid())
    child = subprocess.Popen(
        argv,
        cwd="/" if sandboxed else home / WORK,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: limit_child(settings, processes),  # the launcher has no threads yet
    )
    threading.Thread(target=pass_on, args=(child.stdout, STDERR_BYTES), daemon=True).start()
    record(settings, "start", pid=child.pid, kind=settings["kind"])
    parent, limit, me = os.getppid(), settings["limits"]["memory"], os.getpid()
    while child.poll() is None:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent:  # nbgrader is gone: so is the kernel
            break
        used = sum(memory_of(pid) for pid in descendants(me) if pid != me)
        if limit and used > limit:
            record(settings, "memory", used=used, limit=limit)
            print(f"kernel_sandbox: the kernel used {used / 2**30:.1f} GiB, over the limit: stopped", file=sys.stderr)
            break
    kill_tree(me)
    code = child.wait()
    end_all()
    record(settings, "exit", code=code)
    return code


# --- what grade.py uses -----------------------------------------------------------------------------

PROBE = """
import json, os, socket, sys
import ipykernel
if sys.argv[1] == "deep":  # what the course's notebooks load: a sandbox that breaks these is no use
    import helpers.data, keras, matplotlib.pyplot, numpy
    assert os.listdir(helpers.data.default_cache_dir()), "no MNIST data"
here = os.listdir(".")
with open("probe-written", "w") as f:
    f.write("ok")
print(json.dumps({
    "uid": os.getuid(),
    "files": here,
    "sees": [p for p in sys.argv[2:] if os.path.exists(p)],
    "interfaces": [name for _, name in socket.if_nameindex()],
    "home": os.environ.get("HOME"),
    "environment": sorted(os.environ),
}))
"""


def visible_inside(places: list[Path], read_only: list[str], most: int = 5) -> list[str]:
    """Paths that show whether a sandbox hides `places`: each file, and up to `most` entries of each
    folder, other than the folders that lead to what the sandbox shows (`read_only`)."""
    shown = [Path(path) for path in read_only]
    found = []
    for place in places:
        if place.is_file():
            found.append(str(place))
        elif place.is_dir():
            with contextlib.suppress(OSError):
                entries = [p for p in sorted(place.iterdir()) if not any(p == s or p in s.parents for s in shown)]
                found += [str(p) for p in entries[:most] if not any(s in p.parents for s in shown)]
    return found


def kernel_command(kernel_argv: list[str]) -> list[str]:
    """The kernel spec's argv: this launcher in front of the kernel's own command."""
    return [sys.executable, "-I", str(Path(__file__).resolve()), "kernel", "--", *kernel_argv]


def probe(
    settings: dict, folder: Path, hidden: list[str], python: str, deep: bool = False, timeout: float = 180
) -> tuple[bool, str]:
    """Start Python the way a kernel would start under `settings`: does it work, and is it confined?

    `folder` is an empty scratch folder; `hidden` the paths that a sandboxed kernel must not see;
    `deep`: also import what the notebooks import (Keras, TensorFlow: seconds) and find the data.
    Returns (works, what was found or why it failed).
    """
    cwd, home = folder / "cwd", Path(settings["home"])
    cwd.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    (cwd / "probe-marker").write_text("marker")
    settings_file = folder / "settings.json"
    settings_file.write_text(json.dumps(settings))
    command = kernel_command([python, "-c", PROBE, "deep" if deep else "shallow", *hidden])
    env = {**os.environ, SETTINGS_VARIABLE: str(settings_file)}
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    # the kernel's own stdout reaches the launcher's stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        why = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        return False, f"exit status {done.returncode}: {why[-1][:300] if why else 'no output'}"
    found = json.loads(lines[-1])
    written = (home / WORK / "probe-written").is_file()
    if "probe-marker" not in found["files"] or not written:
        return False, "the kernel's working folder was not set up"
    user = settings.get("user")
    if user and found["uid"] != user[0]:
        return False, f"runs as uid {found['uid']}, not {user[0]}"
    if settings["kind"] == "bubblewrap" and found["sees"]:
        return False, f"the sandbox still shows {', '.join(found['sees'])}"
    secrets = [name for name in found["environment"] if name.startswith(NEVER_PASSED)]
    if secrets:
        return False, f"the kernel's environment holds {', '.join(secrets)}"
    return True, json.dumps(found)


# --- the command line: `kernel` (the launcher) and `drop` (inside the sandbox) ----------------------------


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "kernel" and "--" in argv:
        return launch(argv[argv.index("--") + 1 :])
    if len(argv) >= 4 and argv[0] == "drop" and "--" in argv:
        drop_to(int(argv[1]), int(argv[2]))
        command = argv[argv.index("--") + 1 :]
        os.execv(command[0], command)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
