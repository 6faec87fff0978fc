"""Import gate: import the target modules in a contained child, with a timeout.

Importing torch costs seconds, so a server process (:mod:`runner.gates.import_server`: the
run's own, or with ``keep-import-server`` one kept between runs) imports the third-party
packages the checked code uses (never the repo's own modules) and then forks a fresh child for
every check; the child imports the repo's modules and reports. Every check therefore starts
with the repo's code unimported, and pays no third-party import again.

Containment, applied once in the server before anything is imported (its forks inherit it):

* ``python -I`` (no user site, no PYTHONPATH) and an environment stripped of credentials,
  with HOME and TMPDIR pointed at a scratch directory emptied before and after each check;
* where the OS allows it, new user, network and mount namespaces: no network at all (not
  even loopback), and every mount read-only except the scratch directory and /dev, so the
  imported code can write nowhere else; the result says which isolation it had (e.g.
  ``user+net+mount namespaces (read-only filesystem)`` or ``none (unshare unavailable: ...)``);
* a timeout per check; the child and every process it started (its process group) are
  killed when the check ends.

A missing package that is not part of the repo (torch on a machine without it) is a warning:
the gate exists to catch errors in the repo's own code. Without a working server (an odd
interpreter), each check runs in a one-shot child as before, with the same containment.
"""

from __future__ import annotations

import ast
import atexit
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from runner.gates import GateResult, import_server
from runner.gates.import_programs import ONE_SHOT
from runner.gates.import_server import Server, scratch_directory, scrubbed_environment, server_for

DEFAULT_TIMEOUT = 60.0
_MAX_SCANNED_FILES = 500  # repo files read to find the third-party packages to preload


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
_warmed: set[tuple[str, str]] = set()  # (python, repo) whose server prestart has asked to preload
_warmed_lock = threading.Lock()


def _preload_for(server: Server, repo: Path, modules: list[str]) -> list[str]:
    """Third-party names the packages of ``modules`` import, for packages not sent yet."""
    tops = sorted({m.split(".")[0] for m in modules} - server.scanned)
    server.scanned.update(tops)
    return third_party_imports(repo, tops) if tops else []


def prestart(repo: Path, *, python: str = sys.executable, keep: float = 0.0) -> None:
    """Start the server for ``repo`` and have it import the repo's third-party packages in
    the background, while the first task computes its changes (torch alone takes seconds).
    Once per interpreter and repository: a second call is a no-op. ``keep``: seconds a kept
    server waits for the next run (0: the server is this run's)."""
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
        server = server_for(python, repo, keep=keep)
        if server is None:
            return
        request: dict[str, object] = {"root": str(repo), "modules": [], "timeout": DEFAULT_TIMEOUT}
        with server.lock:
            server.scanned.update(tops)
            request["preload"] = preload
            server.ask(request, DEFAULT_TIMEOUT * 2 + 30)

    threading.Thread(target=warm, name="import-gate-prestart", daemon=True).start()


def stop_servers() -> None:
    """Stop this run's servers (at exit, and for tests); a kept server waits for the next run."""
    import_server.stop_servers()
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
    keep: float = 0.0,
) -> dict[str, ImportOutcome]:
    """Import ``modules`` in one fresh contained child (the server's fork, or a one-shot)."""
    if not modules:
        return {}
    repo = repo.resolve()
    for _attempt in range(2):  # a kept server that cannot start gives way to the run's own
        server = server_for(python, repo, keep=keep)
        if server is None:
            break
        request: dict[str, object] = {"root": str(repo), "modules": modules, "timeout": timeout}
        with server.lock:
            request["preload"] = _preload_for(server, repo, modules)
            # Preloading counts against the budget too: torch can take a while the first time.
            reply = server.ask(request, timeout * 2 + 30)
        if reply is not None:
            return _rows(reply, modules, timeout)
        if not server.failed:
            break
    return _one_shot(repo, modules, python, timeout)


def _one_shot(repo: Path, modules: list[str], python: str, timeout: float) -> dict[str, ImportOutcome]:
    scratch = scratch_directory()
    try:
        proc = subprocess.run(
            [python, "-I", "-B", "-c", ONE_SHOT, str(scratch), str(repo), *modules],
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
    keep: float = 0.0,
) -> GateResult:
    outcome = import_modules(repo, [module], python=python, timeout=timeout, keep=keep)[module]
    return judge_import(repo, module, names, outcome)
