"""File system primitives: atomic writes and paths that stay inside the repo."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from runner.errors import InputError
from runner.records import datarecord


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new bytes, never half.

    A temporary file in the same directory is written, fsynced, given the old
    file's mode, and renamed over ``path``; the directory is fsynced after.
    A symlink is followed: its target gets the bytes and the link stays a link.
    """
    path = path.resolve()
    directory = path.parent
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    import tempfile  # here, as below: the reading commands (`status`, `next`, `lint`) never need it

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


@datarecord(frozen=True)
class FoundFile:
    """A file found under a directory target, vetted before anything reads it."""

    path: Path  # as found under the target
    resolved: Path  # symlinks resolved: the file to read and write
    problem: str = ""  # why it is not read (skipped), empty when it may be
    escapes: bool = False  # it resolves outside the boundary or into .git
    is_link: bool = False  # ``path`` is a symlink (then ``resolved`` is what is read and written)


def vet_found_file(path: Path, root: Path, *, boundary: str = "the repository") -> FoundFile:
    """Whether ``path`` (absolute) may be read and rewritten: a regular file inside ``root``, not in .git."""
    root = root.resolve()
    try:
        resolved = path.resolve(strict=True)
    except FileNotFoundError:
        return FoundFile(path, path, "is a dangling symlink")
    except (OSError, RuntimeError):
        return FoundFile(path, path, "is a symlink loop")
    if not resolved.is_relative_to(root):
        return FoundFile(path, resolved, f"is a symlink to {resolved}, outside {boundary}", escapes=True)
    if ".git" in resolved.relative_to(root).parts:
        where = resolved.relative_to(root).as_posix()
        return FoundFile(path, resolved, f"is a symlink into .git ({where}), which is never edited", True)
    if not stat.S_ISREG(resolved.stat().st_mode):
        return FoundFile(path, resolved, "is not a regular file (a FIFO, socket or device); it is not read")
    return FoundFile(path, resolved)


class _NestedRepositories:
    """Which directory below ``root`` holding a ``.git`` of its own (a submodule) contains a
    given directory; one ``lexists`` per directory however many files it holds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.known: dict[Path, Path | None] = {}

    def of(self, directory: Path) -> Path | None:
        if directory in self.known:
            return self.known[directory]
        if directory == self.root or not directory.is_relative_to(self.root):
            found = None
        elif os.path.lexists(directory / ".git"):
            found = directory
        else:
            found = self.of(directory.parent)
        self.known[directory] = found
        return found


def python_files_under(
    target: Path, root: Path, *, boundary: str = "the repository", include_vendored: bool = False
) -> Iterator[FoundFile]:
    """The .py files of ``target`` (a file or directory inside ``root``), each vetted.

    ``path`` keeps the spelling of ``target``. A submodule or nested repository is
    reported once, as a problem, with its directory; a file reached twice (a link
    and its target) once.
    """
    from codemods.files import iter_python_entries  # it loads subprocess (`git ls-files`)

    root = root.resolve()
    is_dir = target.is_dir()
    base = target.resolve() if is_dir else target.parent.resolve() / target.name
    # Below a resolved directory inside root and outside .git, a file that is not a link is
    # its own resolved path (the walk enters no linked directory): nothing to vet.
    plain_inside = is_dir and base.is_relative_to(root) and ".git" not in base.relative_to(root).parts
    seen: set[Path] = set()
    nested: set[Path] = set()
    repositories = _NestedRepositories(root)
    for path, link in iter_python_entries(target, include_vendored=include_vendored):
        absolute = base / path.relative_to(target) if is_dir else base
        repository = repositories.of(absolute.parent)
        if repository is not None:
            if repository not in nested:
                nested.add(repository)
                shown = (
                    target / repository.relative_to(base) if repository.is_relative_to(base) else repository
                )
                yield FoundFile(
                    shown, repository, "is a git submodule or nested repository; its files are not edited"
                )
            continue
        if plain_inside and not link:
            found = FoundFile(path, absolute)
        else:
            found = vet_found_file(absolute, root, boundary=boundary)
        if found.problem or found.resolved not in seen:
            seen.add(found.resolved)
            yield FoundFile(path, found.resolved, found.problem, found.escapes, link)


def enclosing_root(target: Path) -> Path:
    """The git work tree holding ``target``, else ``target`` itself (its directory for a file)."""
    start = target.resolve()
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return directory


def module_for(relative: str) -> str | None:
    """``ocr/models/head.py`` -> ``ocr.models.head``; None for a non-module path."""
    path = Path(relative)
    if path.suffix != ".py" or not all(p.isidentifier() for p in path.with_suffix("").parts):
        return None
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or None
