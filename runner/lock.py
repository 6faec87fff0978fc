"""One runner per repository: an exclusive lock file in the git directory."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from runner.errors import LockedError


def state_dir(git_dir: Path) -> Path:
    directory = git_dir / "blueprint-runner"
    directory.mkdir(exist_ok=True)
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_lock(git_dir: Path) -> dict[str, object] | None:
    path = git_dir / "blueprint-runner" / "lock"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"pid": -1, "corrupt": True}
    return data if isinstance(data, dict) else {"pid": -1, "corrupt": True}


def lock_is_stale(info: dict[str, object]) -> bool:
    pid = info.get("pid")
    same_host = info.get("host") == socket.gethostname()
    return bool(info.get("corrupt")) or (same_host and isinstance(pid, int) and not _alive(pid))


@contextlib.contextmanager
def repo_lock(git_dir: Path, run_id: str, command: str) -> Iterator[None]:
    path = state_dir(git_dir) / "lock"
    info = {
        "pid": os.getpid(),
        "run_id": run_id,
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "command": command,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise _held(git_dir) from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(info, handle)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _held(git_dir: Path) -> LockedError:
    info = read_lock(git_dir) or {}
    where = str(git_dir / "blueprint-runner" / "lock")
    if lock_is_stale(info):
        return LockedError(
            f"stale lock left by pid {info.get('pid')} (run {info.get('run_id')}, started "
            f"{info.get('started')}), which is no longer running; `runner recover` rolls back "
            "its unfinished task and clears the lock",
            path=where,
            code="stale_lock",
            data={"holder": info},
        )
    return LockedError(
        f"another runner holds this repository: pid {info.get('pid')} on {info.get('host')} "
        f"(run {info.get('run_id')}, `{info.get('command')}`, started {info.get('started')})",
        path=where,
        data={"holder": info},
    )


def clear_stale_lock(git_dir: Path) -> str:
    """Remove the lock if its owner is gone; say what was done."""
    info = read_lock(git_dir)
    if info is None:
        return ""
    if not lock_is_stale(info):
        raise _held(git_dir)
    (git_dir / "blueprint-runner" / "lock").unlink()
    return f"cleared the stale lock of pid {info.get('pid')} (run {info.get('run_id')})"
