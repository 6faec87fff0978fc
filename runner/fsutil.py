"""File system primitives: atomic writes and paths that stay inside the repo."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from runner.errors import InputError


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new bytes, never half.

    A temporary file in the same directory is written, fsynced, given the old
    file's mode, and renamed over ``path``; the directory is fsynced after.
    """
    directory = path.parent
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def resolve_inside(root: Path, relative: str, *, source: str = "", line: int | None = None) -> Path:
    """``root / relative`` with symlinks resolved; an error if it leaves ``root``.

    ``source`` and ``line`` name where the path was written, for the error.
    """
    root = root.resolve()
    if "\x00" in relative:
        raise InputError(f"path {relative!r} contains a NUL byte", path=source or None, line=line)
    candidate = Path(relative)
    if candidate.is_absolute():
        raise InputError(
            f"path {relative!r} is absolute; blueprint paths are relative to the repo",
            path=source or None,
            line=line,
        )
    resolved = (root / candidate).resolve()
    if resolved != root and root not in resolved.parents:
        raise InputError(
            f"path {relative!r} resolves outside the repository ({resolved})",
            path=source or None,
            line=line,
        )
    if ".git" in resolved.relative_to(root).parts:
        raise InputError(
            f"path {relative!r} points into .git, which the runner never edits",
            path=source or None,
            line=line,
        )
    return resolved
