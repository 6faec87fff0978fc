"""File steps: create a file, move one, archive files and folders then remove them.

Each step works on a :class:`Tree`, the task's in-memory view of the repo
(what earlier steps of the task wrote, over the disk), and records its writes
there; nothing touches the disk until the task's transaction writes them with
:func:`write_file`. A step that finds its work already done says so and
changes nothing; one that would overwrite or lose something raises
:class:`InputError` and the task is blocked.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tarfile
from pathlib import Path
from typing import Protocol

from runner.errors import InputError
from runner.fsutil import atomic_write
from runner.records import datarecord

NEW_FILE_MODE = 0o644


class Tree(Protocol):
    def read(self, relative: str) -> bytes | None: ...

    def mode(self, relative: str) -> int: ...

    def write(self, relative: str, data: bytes | None, mode: int | None = None) -> None: ...

    def files_under(self, relative: str) -> list[str]:
        """Every file below the folder ``relative`` (empty if it is no folder)."""
        ...

    def glob(self, pattern: str) -> list[str]: ...


@datarecord(frozen=True)
class FileEdit:
    """One edit a file or config step made, for the task report."""

    file: str
    description: str
    kind: str = "file"  # or "config"
    line: int | None = None


def create_file(tree: Tree, path: str, content: bytes) -> list[FileEdit]:
    """``path`` with ``content``; [] when it already holds exactly that."""
    current = tree.read(path)
    if current == content:
        return []
    if current is not None:
        raise InputError(
            f"exists with different content ({_first_difference(current, content)}); "
            "the step does not overwrite files",
            path=path,
        )
    if tree.files_under(path):
        raise InputError("is a folder", path=path)
    tree.write(path, content, NEW_FILE_MODE)
    return [FileEdit(path, f"created ({len(content)} bytes)")]


def move_file(tree: Tree, old: str, new: str) -> list[FileEdit]:
    """Move a file or a folder; [] when ``old`` is gone and ``new`` is there."""
    moves = _moves(tree, old, new)
    if not moves:
        if tree.read(new) is not None or tree.files_under(new):
            return []
        raise InputError("does not exist (nor does the destination)", path=old)
    if tree.read(new) is not None or tree.files_under(new):
        raise InputError(f"already exists; will not move {old} over it", path=new)
    edits = []
    for source, destination in moves:
        data = tree.read(source)
        assert data is not None
        tree.write(destination, data, tree.mode(source))
        tree.write(source, None)
        edits.append(FileEdit(destination, f"moved from {source}"))
        edits.append(FileEdit(source, f"moved to {destination}"))
    return edits


def _moves(tree: Tree, old: str, new: str) -> list[tuple[str, str]]:
    if tree.read(old) is not None:
        return [(old, new)]
    return [(f, new + f[len(old) :]) for f in tree.files_under(old)]


def archive_files(tree: Tree, patterns: tuple[str, ...], archive: str) -> list[FileEdit]:
    """Pack what ``patterns`` name into the tarball ``archive``, then remove it.

    [] when nothing is left to archive and the archive exists (already applied).
    """
    members: list[str] = []
    absent: list[str] = []
    for pattern in patterns:
        found: list[str] = []
        for path in tree.glob(pattern) if _is_glob(pattern) else [pattern.rstrip("/")]:
            path = path.rstrip("/")
            found += [path] if tree.read(path) is not None else tree.files_under(path)
        if found:
            members += found
        else:
            absent.append(pattern)
    existing = tree.read(archive)
    if not members:
        if existing is not None:
            return []
        raise InputError(f"nothing to archive: {', '.join(absent)} not found", path=archive)
    if absent:
        raise InputError(f"{', '.join(absent)} not found; archive none or all", path=archive)
    members = sorted(set(members))
    if archive in members:
        raise InputError("the archive would contain itself", path=archive)
    data = tarball(tree, members)
    if existing is not None and existing != data:
        raise InputError("already exists with different content; will not overwrite it", path=archive)
    tree.write(archive, data, NEW_FILE_MODE)
    for member in members:
        tree.write(member, None)
    edits = [FileEdit(archive, f"archive of {len(members)} file(s)")]
    return edits + [FileEdit(m, f"removed (kept in {archive})") for m in members]


def tarball(tree: Tree, members: list[str]) -> bytes:
    """A gzipped tar of ``members`` that depends on their paths, bytes and modes only.

    Entries are sorted, with mtime 0, uid/gid 0 and no user names; the gzip
    header carries no time or file name. The same files give the same bytes.
    """
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for member in sorted(members):
            data = tree.read(member)
            assert data is not None
            info = tarfile.TarInfo(member)
            info.size, info.mtime, info.mode = len(data), 0, tree.mode(member) & 0o777
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def _first_difference(old: bytes, new: bytes) -> str:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), start=1):
        if a != b:
            return f"first difference at line {number}"
    return f"{len(old_lines)} line(s) on disk, {len(new_lines)} in the step"


def write_file(root: Path, relative: str, data: bytes | None, mode: int | None = None) -> None:
    """Put ``data`` at ``root/relative`` atomically; None removes the file and its emptied folders."""
    path = root / relative
    if data is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        parent = path.parent
        while parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
        return
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)
    if new and mode is not None:
        os.chmod(path, mode & ~_umask())


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
