"""One runner per repository: an exclusive lock file in the git directory, flocked while held."""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
import tempfile
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


STALE_AFTER_SECONDS = 10  # an unreadable lock younger than this may still be being written


def lock_path(git_dir: Path) -> Path:
    return git_dir / "blueprint-runner" / "lock"


def _parse(data: bytes) -> dict[str, object]:
    try:
        info = json.loads(data)
    except ValueError:
        return {"pid": -1, "corrupt": True}
    return info if isinstance(info, dict) else {"pid": -1, "corrupt": True}


def _flock_held(fd: int) -> bool:
    """Whether another open file holds an flock on ``fd``'s file (its runner is alive)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def lock_is_stale(info: dict[str, object], *, age: float, flock_held: bool) -> bool:
    """A lock nobody holds: no flock on it, and its pid dead here, or unreadable and not new.

    A lock on another host is never stale: its pid cannot be checked from here.
    """
    if flock_held:
        return False
    if info.get("corrupt"):
        return age > STALE_AFTER_SECONDS
    pid = info.get("pid")
    same_host = info.get("host") == socket.gethostname()
    return same_host and isinstance(pid, int) and not _alive(pid)


def _inspect(path: Path) -> tuple[dict[str, object], float, bool] | None:
    """The lock's content, age in seconds and whether its flock is held; None when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        with os.fdopen(os.dup(fd), "rb") as handle:
            info = _parse(handle.read())
        return info, time.time() - os.fstat(fd).st_mtime, _flock_held(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def repo_lock(git_dir: Path, run_id: str, command: str) -> Iterator[None]:
    """Hold the repository: the lock file appears with its content, flocked, or not at all.

    The content is written to a flocked temporary file that is then hard-linked
    to the lock's name, so no reader ever sees it empty, and the flock covers the
    lock from its first moment until after its name is removed.
    """
    directory = state_dir(git_dir)
    path = directory / "lock"
    info = {
        "pid": os.getpid(),
        "run_id": run_id,
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "command": command,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    fd, tmp = tempfile.mkstemp(prefix=".lock.", dir=directory)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.fchmod(fd, 0o644)
        os.write(fd, json.dumps(info).encode("utf-8"))
        os.fsync(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise _held(git_dir) from None
        finally:
            os.unlink(tmp)
    except BaseException:
        os.close(fd)
        raise
    try:
        yield
    finally:
        _unlink_if_same(path, fd)
        os.close(fd)


def _unlink_if_same(path: Path, fd: int) -> None:
    """Remove ``path`` if it is still the file open as ``fd`` (not a newer runner's lock)."""
    with contextlib.suppress(FileNotFoundError):
        mine, current = os.fstat(fd), os.stat(path)
        if (mine.st_dev, mine.st_ino) == (current.st_dev, current.st_ino):
            path.unlink()


def _held(git_dir: Path) -> LockedError:
    where = str(lock_path(git_dir))
    state = _inspect(lock_path(git_dir))
    if state is None:  # released in the meantime
        return LockedError("another runner held this repository a moment ago; try again", path=where)
    info, age, flock_held = state
    return _held_error(where, info, age, flock_held)


def _held_error(where: str, info: dict[str, object], age: float, flock_held: bool) -> LockedError:
    if lock_is_stale(info, age=age, flock_held=flock_held):
        owner = "an unreadable lock" if info.get("corrupt") else f"pid {info.get('pid')}"
        return LockedError(
            f"stale lock left by {owner} (run {info.get('run_id')}, started "
            f"{info.get('started')}), which is no longer running; `runner recover` rolls back "
            "its unfinished task and clears the lock",
            path=where,
            code="stale_lock",
            data={"holder": info},
        )
    if info.get("corrupt") and not flock_held:
        return LockedError(
            f"a runner is starting: its lock is {age:.0f} s old and not readable yet; try again "
            f"(an unreadable lock older than {STALE_AFTER_SECONDS} s with no holder is stale)",
            path=where,
        )
    if info.get("corrupt"):
        return LockedError("another runner holds this repository (its lock file is unreadable)", path=where)
    return LockedError(
        f"another runner holds this repository: pid {info.get('pid')} on {info.get('host')} "
        f"(run {info.get('run_id')}, `{info.get('command')}`, started {info.get('started')})",
        path=where,
        data={"holder": info},
    )


def clear_stale_lock(git_dir: Path) -> str:
    """Remove the lock if its owner is gone; say what was done.

    The lock's own flock is taken while deciding, so a live holder (which keeps
    it) makes this refuse, and no runner can start on this lock meanwhile.
    """
    path = lock_path(git_dir)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return ""
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _held(git_dir) from None
        with os.fdopen(os.dup(fd), "rb") as handle:
            info = _parse(handle.read())
        age = time.time() - os.fstat(fd).st_mtime
        if not lock_is_stale(info, age=age, flock_held=False):
            raise _held_error(str(path), info, age, False)
        _unlink_if_same(path, fd)
    finally:
        os.close(fd)
    owner = "an unreadable lock" if info.get("corrupt") else f"pid {info.get('pid')}"
    return f"cleared the stale lock of {owner} (run {info.get('run_id')})"
