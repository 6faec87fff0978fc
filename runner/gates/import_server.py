"""The import gate's servers, as the runner sees them: start one, ask it, stop it.

Two kinds answer the same requests (the programs are in :mod:`runner.gates.import_programs`):

* :class:`RunServer`, the default: a child of this run on a pipe, stopped when the run ends.
* :class:`KeptServer`, when ``keep-import-server`` asks for it: a server that outlives the run
  and serves the next runs, so torch is imported once and not once per run. One per user,
  interpreter and (credential-free) environment, found by its Unix socket in a 0700 folder
  of the user's. It exits after the given idle seconds, on ``stop``, or on the first request
  after anything it imported changed on disk (the client then starts a fresh one).

Either way every check is a fresh fork that imports the repo's modules itself, with the same
containment; which server answered never changes a verdict, only its time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import select
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Protocol

from runner.gates.import_programs import SERVER
from runner.records import datarecord, field

# AUTH, but not GIT_AUTHOR_NAME/EMAIL: a commit identity is no credential.
_SECRET = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE|AUTH(?!OR)", re.I)
_KEEP = {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT", "TERM"}
_SOCKET_PATH_MAX = 104  # sun_path holds 108 bytes on Linux, 104 on macOS
STARTUP_TIMEOUT = 120.0  # a server's own start (it imports nothing heavy before a request)
MAX_KEPT = 3  # kept servers per user at most (each holds ~316 MB with torch and lightning)
# A kept server reads its program from stdin: `ps` shows this line, not pages of source.
_LOADER = "import sys; exec(sys.stdin.read())  # blueprint runner: kept import server"
KEEP_ENVIRONMENT = "BLUEPRINT_RUNNER_KEEP_IMPORT_SERVER"  # seconds; overrides [tool.runner]

Reply = dict[str, object]


def scrubbed_environment(scratch: Path | None = None) -> dict[str, str]:
    """The parent's environment without anything that looks like a credential."""
    env = {k: v for k, v in os.environ.items() if k in _KEEP or not _SECRET.search(k)}
    env.pop("PYTHONPATH", None)
    # The runner's own setting, and the calling shell's state: nothing imported code should
    # depend on, and a kept server is shared by runs started from any folder.
    for name in (KEEP_ENVIRONMENT, "PWD", "OLDPWD", "SHLVL", "_"):
        env.pop(name, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left in the target tree
    if scratch is not None:
        env["HOME"] = env["TMPDIR"] = str(scratch)
    return env


def scratch_directory() -> Path:
    scratch = Path(tempfile.mkdtemp(prefix="runner-import-gate-"))
    scratch.chmod(0o700)
    return scratch


def keep_seconds(configured: float) -> float:
    """How long a server waits for the next run: the environment's figure, else the settings'."""
    text = os.environ.get(KEEP_ENVIRONMENT, "").strip()
    try:
        return max(float(text), 0.0) if text else configured
    except ValueError:
        return configured  # not a number: the documented setting applies


class Server(Protocol):
    lock: threading.Lock
    scanned: set[str]  # top-level packages whose third-party imports this run has sent
    failed: bool  # it could not start: the run goes on without it

    def ask(self, request: Reply, timeout: float) -> Reply | None: ...

    def stop(self) -> None: ...


@datarecord
class RunServer:
    """A forking server on a pipe, the run's child: a scratch directory, a lock."""

    process: subprocess.Popen[bytes]
    scratch: Path
    isolation: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    scanned: set[str] = field(default_factory=set)
    failed: bool = False  # a pipe server that breaks is stopped; the run asks a one-shot child

    @classmethod
    def start(cls, python: str) -> RunServer | None:
        scratch = scratch_directory()
        try:
            process = subprocess.Popen(
                [python, "-I", "-B", "-c", SERVER, "pipe", str(scratch)],
                cwd=scratch,
                env=scrubbed_environment(scratch),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C aimed at the runner reaches it through us
            )
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
            return None
        hello = _json_line(_read_line(process.stdout, STARTUP_TIMEOUT))
        server = cls(process, scratch, str(hello.get("isolation", "")))
        if not hello.get("ready"):
            server.stop()
            return None
        return server

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: Reply, timeout: float) -> Reply | None:
        """Send one request; the reply, or None when the server broke (it is then stopped)."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            reply: object = _json_line(_read_line(self.process.stdout, timeout))
        except OSError:
            reply = None
        if not reply:
            self.stop()
            return None
        return reply  # type: ignore[return-value]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


RUNTIME_FOLDER = "$XDG_RUNTIME_DIR/blueprint-runner-UID (else in the temporary folder)"


def runtime_folder() -> Path | None:
    """The user's own folder for kept servers' sockets; None when it is not safely private."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    folder = Path(base) / f"blueprint-runner-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    # Someone else's folder, a symlink or one others may enter: never put a socket there.
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    if len(os.fsencode(folder)) > _SOCKET_PATH_MAX - len("/0123456789abcdef0123.sock"):
        return None  # a socket path this long cannot be bound
    return folder


def server_key(python: str) -> str:
    """One kept server per interpreter and environment (the credential-free one it runs with)."""
    env = sorted(scrubbed_environment().items())
    return hashlib.sha256(json.dumps([os.path.realpath(python), env]).encode()).hexdigest()[:20]


@datarecord
class KeptServer:
    """A handle on the kept server for one interpreter: started on first need, asked by socket."""

    python: str
    folder: Path
    idle: float
    key: str = ""  # server_key(python) as the environment was when the handle was made
    lock: threading.Lock = field(default_factory=threading.Lock)
    scanned: set[str] = field(default_factory=set)
    failed: bool = False  # it could not start: this run uses its own server instead

    def __post_init__(self) -> None:
        self.key = self.key or server_key(self.python)

    @property
    def paths(self) -> tuple[Path, Path, Path]:
        key = self.key
        return self.folder / f"{key}.sock", self.folder / f"{key}.lock", self.folder / f"{key}.scratch"

    def ask(self, request: Reply, timeout: float) -> Reply | None:
        """The reply of the kept server, starting it when none runs and again when it was stale."""
        request = {**request, "idle": self.idle}  # the latest run's setting is the one kept
        for _attempt in range(2):
            reply = self._exchange(request, timeout)
            if reply is None:
                if not self._start():
                    self.failed = True
                    return None
                reply = self._exchange(request, timeout)
            if reply is None or "stale" not in reply:
                return reply
            self.scanned.clear()  # a fresh server has imported nothing yet
            _wait_released(self.paths[1])
        return None

    def status(self) -> Reply | None:
        """The running server's pid, start time and checks; None when none runs."""
        return self._exchange({"status": True}, 10.0)

    def stop(self) -> None:
        self.shutdown()

    def shutdown(self) -> Reply | None:
        """Stop the running server; what it said (its pid, checks), or None when none ran."""
        reply = self._exchange({"stop": True}, 10.0)
        if reply is not None:
            _wait_released(self.paths[1])
        return reply

    def _exchange(self, request: Reply, timeout: float) -> Reply | None:
        path = self.paths[0]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(5.0)
                conn.connect(str(path))
                conn.sendall(json.dumps(request).encode() + b"\n")
                line = _read_line(conn, timeout)
        except OSError:
            return None
        reply = _json_line(line)
        return reply or None

    def _start(self) -> bool:
        sock, lock, scratch = self.paths
        _retire_least_used(self.folder, self.python, spare=sock)
        arguments = [str(scratch), str(sock), str(lock), str(self.idle)]
        try:
            process = subprocess.Popen(
                [self.python, "-I", "-B", "-c", _LOADER, "socket", *arguments],
                cwd=self.folder,
                env=scrubbed_environment(scratch),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # it outlives this run: no signal of ours reaches it
            )
        except OSError:
            return False
        with process:
            assert process.stdin is not None
            with contextlib.suppress(OSError), process.stdin:
                process.stdin.write(SERVER.encode())
            hello = _json_line(_read_line(process.stdout, STARTUP_TIMEOUT))
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STARTUP_TIMEOUT)  # the launcher exits once the server runs
            if process.poll() is None:
                process.kill()
        return bool(hello.get("ready"))


def _retire_least_used(folder: Path, python: str, spare: Path) -> None:
    """Stop the user's other kept servers beyond the newest MAX_KEPT - 1, least recently used
    first: runs whose environments all differ must not pile up servers holding torch each."""
    idle: list[tuple[float, KeptServer]] = []
    for other in sorted(folder.glob("*.sock")):
        if other == spare:
            continue
        server = KeptServer(python, folder, 0.0, key=other.name.removesuffix(".sock"))
        status = server.status()
        if status is not None and isinstance(status.get("idle"), int | float):
            idle.append((float(str(status["idle"])), server))
    for _, server in sorted(idle, key=lambda pair: pair[0])[MAX_KEPT - 1 :]:
        server.shutdown()


def _wait_released(lock: Path, timeout: float = 10.0) -> None:
    """Until the stale server has let go of its lock (it exits right after answering)."""
    import fcntl

    deadline = time.monotonic() + timeout
    with contextlib.suppress(OSError), open(lock, "a") as handle:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                time.sleep(0.01)
                continue
            fcntl.flock(handle, fcntl.LOCK_UN)
            return


def _read_line(source: object, timeout: float) -> bytes:
    """One line from a pipe or a socket within ``timeout`` seconds (empty: it died or hung)."""
    if source is None:
        return b""
    fd = source.fileno()  # type: ignore[attr-defined]
    data, deadline = b"", time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return b""
        chunk = os.read(fd, 65536)
        if not chunk:
            return b""
        data += chunk
    return data


def _json_line(line: bytes) -> Reply:
    try:
        value = json.loads(line) if line else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


_servers: dict[tuple[str, str, bool], Server] = {}
_servers_lock = threading.Lock()


def server_for(python: str, repo: Path, *, keep: float = 0.0) -> Server | None:
    """This run's server for ``repo``: a kept one when ``keep`` seconds are asked for and the
    platform allows it, else the run's own pipe server; None when neither can start."""
    # SO_PEERCRED (the server's check of who connects) is Linux's.
    kept = keep > 0 and hasattr(socket, "SO_PEERCRED") and hasattr(os, "fork")
    folder = runtime_folder() if kept else None
    key = (python, str(repo), folder is not None)
    with _servers_lock:
        server = _servers.get(key)
        if isinstance(server, KeptServer) and not server.failed:
            return server
        if isinstance(server, RunServer) and server.alive():
            return server
        new: Server | None
        if folder is not None and server is None:
            new = KeptServer(python, folder, keep)
        else:  # no kept server wanted, or it could not start: the run's own, started once
            new = RunServer.start(python)
        if new is not None:
            _servers[key] = new
        return new


def kept_server(python: str) -> KeptServer | None:
    """A handle on ``python``'s kept server (running or not); None where none can be kept."""
    folder = runtime_folder()
    return KeptServer(python, folder, 0.0) if folder is not None else None


def stop_servers() -> None:
    """Stop this run's pipe servers (at exit, and for tests); kept servers stay for the next run."""
    with _servers_lock:
        for server in _servers.values():
            if isinstance(server, RunServer):
                server.stop()
        _servers.clear()
