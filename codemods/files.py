"""Which ``*.py`` files a directory target holds: one ``scandir`` walk, no stat per plain file.

Below a directory, files git ignores (``.gitignore``, when the directory is in a git work
tree: one ``git ls-files`` for the whole walk) and directories of vendored or generated code
(``VENDORED_DIRS``) are left out, the latter unless asked. Symlinked directories are not
entered (as ``os.walk`` does by default); a symlinked file is yielded when it leads to a
regular file, and says it is a link so that the caller resolves it (a plain file needs no
``resolve``: every directory walked is a real one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules"})
# Code that is someone else's or generated: skipped below a directory target unless asked.
VENDORED_DIRS = frozenset({"vendor", "third_party", "_vendor", "node_modules", "build", "dist"})


def _git_visible(root: Path) -> set[str] | None:
    """Paths under ``root`` (relative to it) that git tracks or would not ignore; None when
    ``root`` is not in a git work tree (then nothing is filtered)."""
    import subprocess  # start-up: `lint` and `next` list files but start no process for a file target

    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return {os.fsdecode(p) for p in proc.stdout.split(b"\0") if p}


def _walk(directory: str, prefix: str, include_vendored: bool) -> Iterator[tuple[str, bool]]:
    """``(relative path, is a symlink)`` of the regular ``*.py`` files below ``directory``, in
    ``os.walk``'s sorted top-down order: a directory's files first, then its subdirectories."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError:
        return
    below: list[os.DirEntry[str]] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()  # follows a link, as os.walk sorts its entries
        except OSError:
            is_dir = False
        if is_dir:
            name = entry.name
            if name not in SKIPPED_DIRS and (include_vendored or name not in VENDORED_DIRS):
                below.append(entry)
            continue
        if not entry.name.endswith(".py"):
            continue
        try:
            link = entry.is_symlink()
            if not entry.is_file():  # a FIFO, a socket, a dangling link: never read
                continue
        except OSError:
            continue
        yield prefix + entry.name, link
    for entry in below:
        try:
            if entry.is_symlink():  # not entered, as os.walk(followlinks=False)
                continue
        except OSError:
            continue
        yield from _walk(entry.path, f"{prefix}{entry.name}/", include_vendored)


def iter_python_entries(root: Path, *, include_vendored: bool = False) -> Iterator[tuple[Path, bool]]:
    """``(path, is a symlink)`` for each file :func:`iter_python_files` yields."""
    if root.is_file():
        yield root, root.is_symlink()
        return
    visible = _git_visible(root)
    for relative, link in _walk(str(root), "", include_vendored):
        if visible is None or relative in visible:
            yield root / relative, link


def iter_python_files(root: Path, *, include_vendored: bool = False) -> Iterator[Path]:
    """``root`` itself if a file, else every regular ``*.py`` below it in sorted order,
    without the files git ignores and (unless ``include_vendored``) vendored trees."""
    for path, _ in iter_python_entries(root, include_vendored=include_vendored):
        yield path
