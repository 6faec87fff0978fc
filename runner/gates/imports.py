"""Import gate: import the target modules in a contained child, with a timeout.

Importing torch costs seconds, so one server process per interpreter and repository imports
the third-party packages the checked code uses (never the repo's own modules) and then forks
a fresh child for every check; the child imports the repo's modules and reports. Every
check therefore starts with the repo's code unimported, and pays no third-party import again.

Containment, applied once in the server before anything is imported (its forks inherit it):

* ``python -I`` (no user site, no PYTHONPATH) and an environment stripped of credentials,
  with HOME and TMPDIR pointed at a scratch directory that is removed afterwards;
* where the OS allows it, new user, network and mount namespaces: no network at all (not
  even loopback), and every mount read-only except the scratch directory and /dev, so the
  imported code can write nowhere else; the result says which isolation it had (e.g.
  ``user+net+mount namespaces (read-only filesystem)`` or ``none (unshare unavailable: ...)``);
* a timeout per check (the child is killed).

A missing package that is not part of the repo (torch on a machine without it) is a warning:
the gate exists to catch errors in the repo's own code. Without a working server (an odd
interpreter), each check runs in a one-shot child as before, with the same containment.
"""

from __future__ import annotations

import ast
import atexit
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from runner.gates import GateResult

DEFAULT_TIMEOUT = 60.0
# AUTH, but not GIT_AUTHOR_NAME/EMAIL: a commit identity is no credential.
_SECRET = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE|AUTH(?!OR)", re.I)
_KEEP = {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT", "TERM"}
_STARTUP_TIMEOUT = 120.0  # the server's own start (it imports nothing heavy before a request)
_MAX_SCANNED_FILES = 500  # repo files read to find the third-party packages to preload

# Shared by the server and the one-shot child: sandboxing and the import of one batch.
_COMMON = r'''
import ctypes, importlib, json, os, sys, traceback

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
          "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def sandbox(scratch):
    """Enter user+net(+mount) namespaces; a description of what was achieved."""
    if not sys.platform.startswith("linux"):
        return "none (no namespaces on " + sys.platform + ")"
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError as err:
        return "none (no libc: %s)" % err
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) != 0:
        error = os.strerror(ctypes.get_errno())
        if libc.unshare(CLONE_NEWNET) == 0:
            return "net namespace (no user namespace: %s)" % error
        return "none (unshare unavailable: %s)" % error
    try:  # the same uid inside, so the repo stays readable as before
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", "%d %d 1" % (uid, uid))
        _write("/proc/self/gid_map", "%d %d 1" % (gid, gid))
    except OSError:
        pass
    described = "user+net+mount namespaces"
    mount = libc.mount
    mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    if mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return described + " (filesystem writable: %s)" % os.strerror(ctypes.get_errno())
    scratch_bytes = os.fsencode(scratch)
    if mount(scratch_bytes, scratch_bytes, None, MS_BIND, None) != 0:
        return described + " (filesystem writable: %s)" % os.strerror(ctypes.get_errno())
    kept = []
    with open("/proc/self/mountinfo") as handle:
        rows = [line.split() for line in handle]
    for row in rows:
        point = row[4].encode().decode("unicode_escape").encode("latin-1")
        if point == scratch_bytes or point == b"/dev" or point.startswith(b"/dev/"):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for option in row[5].split(","):
            flags |= _FLAGS.get(option, 0)
        if mount(None, point, None, flags, None) != 0:
            kept.append(row[4])
    if kept:
        return described + " (read-only filesystem except %d mount(s): %s)" % (len(kept), ", ".join(kept[:3]))
    return described + " (read-only filesystem except the scratch directory and /dev)"


def import_batch(root, modules):
    sys.path.insert(0, root)
    owned = {n[:-3] if n.endswith(".py") else n for n in os.listdir(root)}
    for name in list(sys.modules):  # a preloaded package must not stand in for the repo's own
        if name.split(".")[0] in owned:
            del sys.modules[name]
    results = []
    for module in modules:
        try:
            imported = importlib.import_module(module)
            results.append({"module": module, "ok": True, "names": sorted(vars(imported))})
        except ModuleNotFoundError as err:
            results.append({"module": module, "ok": False, "kind": "missing", "name": err.name or "",
                            "detail": str(err)})
        except BaseException as err:
            tb = traceback.extract_tb(err.__traceback__)
            frame = tb[-1] if tb else None
            where = "%s:%s: " % (frame.filename, frame.lineno) if frame else ""
            results.append({"module": module, "ok": False, "kind": "error",
                            "detail": where + type(err).__name__ + ": " + str(err)})
    return results
'''

# One-shot child: python -I -B -c _ONE_SHOT SCRATCH ROOT MODULE...
_ONE_SHOT = (
    _COMMON
    + r"""
isolation = sandbox(sys.argv[1])
os.chdir(sys.argv[2])
print(json.dumps({"isolation": isolation, "results": import_batch(sys.argv[2], sys.argv[3:])}))
"""
)

# Server: python -I -B -c _SERVER SCRATCH; reads one JSON request a line, answers one a line.
_SERVER = (
    _COMMON
    + r"""
import select, signal
scratch = sys.argv[1]
isolation = sandbox(scratch)
protocol = os.fdopen(os.dup(1), "w")
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 1)  # whatever imported code prints must not reach the protocol
print_ = lambda value: (protocol.write(json.dumps(value) + "\n"), protocol.flush())
print_({"ready": True, "isolation": isolation})
for line in sys.stdin:
    request = json.loads(line)
    for name in request["preload"]:
        try:
            importlib.import_module(name)
        except BaseException:
            pass  # the check itself reports it
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        os.dup2(null, 0)
        os.dup2(null, 2)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            os.chdir(request["root"])
            body = json.dumps({"isolation": isolation,
                               "results": import_batch(request["root"], request["modules"])})
        except BaseException as err:
            body = json.dumps({"isolation": isolation, "error": repr(err)})
        with os.fdopen(write_end, "w") as out:
            out.write(body)
        os._exit(0)
    os.close(write_end)
    chunks, deadline, timed_out = [], time.monotonic() + request["timeout"], False
    while True:
        left = deadline - time.monotonic()
        ready = select.select([read_end], [], [], max(left, 0))[0] if left > 0 else []
        if not ready:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    if timed_out:
        print_({"isolation": isolation, "timeout": True})
    else:
        text = b"".join(chunks).decode("utf-8", "replace")
        print_(json.loads(text) if text else {"isolation": isolation, "error": "the check died"})
""".replace("import select, signal", "import select, signal, time")
)


def scrubbed_environment(scratch: Path | None = None) -> dict[str, str]:
    """The parent's environment without anything that looks like a credential."""
    env = {k: v for k, v in os.environ.items() if k in _KEEP or not _SECRET.search(k)}
    env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left in the target tree
    if scratch is not None:
        env["HOME"] = env["TMPDIR"] = str(scratch)
    return env


def _repo_owns(repo: Path, module_name: str) -> bool:
    top = module_name.split(".")[0]
    return (repo / top).is_dir() or (repo / f"{top}.py").is_file()


def third_party_imports(repo: Path, modules: list[str]) -> list[str]:
    """Top-level names the packages of ``modules`` import that the repo does not own."""
    tops = sorted({m.split(".")[0] for m in modules})
    files: list[Path] = []
    for top in tops:
        if (repo / f"{top}.py").is_file():
            files.append(repo / f"{top}.py")
        elif (repo / top).is_dir():
            files += sorted(p for p in (repo / top).rglob("*.py") if p.is_file())[
                :_MAX_SCANNED_FILES
            ]  # no FIFO
    names: set[str] = set()
    for path in files[:_MAX_SCANNED_FILES]:
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError, RecursionError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return sorted(n for n in names if n != "__future__" and not _repo_owns(repo, n))


ImportOutcome = dict[str, object]


@dataclass
class _Server:
    """One forking import server: a child interpreter, its scratch directory, a lock."""

    process: subprocess.Popen[bytes]
    scratch: Path
    isolation: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    scanned: set[str] = field(default_factory=set)  # top-level packages whose imports were sent

    def preload_for(self, repo: Path, modules: list[str]) -> list[str]:
        """Third-party names the packages of ``modules`` import, for packages not seen yet."""
        tops = sorted({m.split(".")[0] for m in modules} - self.scanned)
        self.scanned.update(tops)
        return third_party_imports(repo, tops) if tops else []

    def ask(self, request: dict[str, object], timeout: float) -> dict[str, object] | None:
        """Send one request; the reply, or None when the server broke (it is then stopped)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            line = _read_line(self.process, timeout)
            reply = json.loads(line) if line else None
        except (OSError, ValueError):
            reply = None
        if not isinstance(reply, dict):
            self.stop()
            return None
        return reply

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    """One line from the server within ``timeout`` seconds (empty: it died or hung)."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
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


_servers: dict[tuple[str, str], _Server] = {}
_warmed: set[tuple[str, str]] = set()  # (python, repo) whose server prestart has asked to preload
_warmed_lock = threading.Lock()
_servers_lock = threading.Lock()


def _scratch() -> Path:
    scratch = Path(tempfile.mkdtemp(prefix="runner-import-gate-"))
    scratch.chmod(0o700)
    return scratch


def _server(python: str, repo: Path) -> _Server | None:
    key = (python, str(repo))
    with _servers_lock:
        server = _servers.get(key)
        if server is not None and server.process.poll() is None:
            return server
        scratch = _scratch()
        try:
            process = subprocess.Popen(
                [python, "-I", "-B", "-c", _SERVER, str(scratch)],
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
        line = _read_line(process, _STARTUP_TIMEOUT)
        try:
            hello = json.loads(line) if line else {}
        except ValueError:
            hello = {}
        server = _Server(process, scratch, str(hello.get("isolation", "")))
        if not hello.get("ready"):
            server.stop()
            return None
        _servers[key] = server
        return server


def prestart(repo: Path, *, python: str = sys.executable) -> None:
    """Start the server for ``repo`` and have it import the repo's third-party packages in
    the background, while the first task computes its changes (torch alone takes seconds).
    Once per interpreter and repository: a second call is a no-op."""
    repo = repo.resolve()
    with _warmed_lock:  # not _servers_lock: a server being started holds that one for seconds
        if (python, str(repo)) in _warmed:
            return
        _warmed.add((python, str(repo)))

    tops = [
        p.name.removesuffix(".py")
        for p in sorted(repo.iterdir())
        if p.name.isidentifier() or (p.suffix == ".py" and p.stem.isidentifier())
    ]
    # Read here, not in the thread: `ast.parse` in two threads at once is not safe on CPython
    # 3.11 (SystemError "AST constructor recursion depth mismatch" in either thread).
    preload = third_party_imports(repo, tops)

    def warm() -> None:
        server = _server(python, repo)
        if server is None:
            return
        request: dict[str, object] = {"root": str(repo), "modules": [], "timeout": DEFAULT_TIMEOUT}
        with server.lock:
            server.scanned.update(tops)
            request["preload"] = preload
            server.ask(request, DEFAULT_TIMEOUT * 2 + 30)

    threading.Thread(target=warm, name="import-gate-prestart", daemon=True).start()


def stop_servers() -> None:
    """Stop every import server (at exit, and for tests)."""
    with _servers_lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()
    with _warmed_lock:
        _warmed.clear()


atexit.register(stop_servers)


def _failed(modules: list[str], detail: str, isolation: str = "") -> dict[str, ImportOutcome]:
    return {m: {"ok": False, "kind": "error", "detail": detail, "isolation": isolation} for m in modules}


def _rows(reply: dict[str, object], modules: list[str], timeout: float) -> dict[str, ImportOutcome]:
    isolation = str(reply.get("isolation", ""))
    if reply.get("timeout"):
        return _failed(modules, f"importing took longer than {timeout:.0f}s", isolation)
    rows = reply.get("results")
    if not isinstance(rows, list):
        return _failed(modules, f"the import check failed: {reply.get('error', 'no result')}", isolation)
    found = {str(row["module"]): {**row, "isolation": isolation} for row in rows if isinstance(row, dict)}
    return {m: found.get(m, {"ok": False, "kind": "error", "detail": "no result"}) for m in modules}


def import_modules(
    repo: Path,
    modules: list[str],
    *,
    python: str = sys.executable,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, ImportOutcome]:
    """Import ``modules`` in one fresh contained child (the server's fork, or a one-shot)."""
    if not modules:
        return {}
    repo = repo.resolve()
    server = _server(python, repo)
    if server is not None:
        request: dict[str, object] = {"root": str(repo), "modules": modules, "timeout": timeout}
        with server.lock:
            request["preload"] = server.preload_for(repo, modules)
            # Preloading counts against the budget too: torch can take a while the first time.
            reply = server.ask(request, timeout * 2 + 30)
        if reply is not None:
            return _rows(reply, modules, timeout)
    return _one_shot(repo, modules, python, timeout)


def _one_shot(repo: Path, modules: list[str], python: str, timeout: float) -> dict[str, ImportOutcome]:
    scratch = _scratch()
    try:
        proc = subprocess.run(
            [python, "-I", "-B", "-c", _ONE_SHOT, str(scratch), str(repo), *modules],
            cwd=repo,
            env=scrubbed_environment(scratch),
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _failed(modules, f"importing took longer than {timeout:.0f}s")
    except OSError as err:
        return _failed(modules, f"cannot start {python}: {err.strerror}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        return _rows(json.loads(lines[-1]), modules, timeout)
    except (IndexError, ValueError, KeyError, TypeError, AttributeError):
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        return _failed(modules, f"the import child exited {proc.returncode}: {tail[0]}")


def judge_import(repo: Path, module: str, names: tuple[str, ...], outcome: ImportOutcome) -> GateResult:
    """The gate's verdict on one import request, from what the child reported."""
    target = module + (f" ({', '.join(names)})" if names else "")
    isolation = str(outcome.get("isolation", ""))
    if outcome.get("ok"):
        available = outcome.get("names")
        missing = [n for n in names if isinstance(available, list) and n not in available]
        if missing:
            return GateResult(
                "imports", target, "failed", f"cannot import name {', '.join(missing)}", isolation
            )
        return GateResult("imports", target, "passed", isolation=isolation)
    missing_name = str(outcome.get("name", ""))
    if outcome.get("kind") == "missing" and not _repo_owns(repo, missing_name):
        return GateResult(
            "imports", target, "warning", f"third-party package {missing_name!r} not installed", isolation
        )
    return GateResult("imports", target, "failed", str(outcome.get("detail", "")), isolation)


def check_import(
    repo: Path,
    module: str,
    names: tuple[str, ...] = (),
    *,
    python: str = sys.executable,
    timeout: float = DEFAULT_TIMEOUT,
) -> GateResult:
    outcome = import_modules(repo, [module], python=python, timeout=timeout)[module]
    return judge_import(repo, module, names, outcome)


def module_for(relative: str) -> str | None:
    """``ocr/models/head.py`` -> ``ocr.models.head``; None for a non-module path."""
    path = Path(relative)
    if path.suffix != ".py" or not all(p.isidentifier() for p in path.with_suffix("").parts):
        return None
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or None
