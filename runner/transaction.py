"""Crash safety in one place: every command that writes in a repository goes through here.

``with Transaction(...) as txn``: the git index is copied aside and a write-ahead
journal (:mod:`runner.journal`) is written before anything changes; ``txn.write``
records each file's pre-image and the hash of the bytes about to be written, then
writes atomically; ``txn.commit`` refuses when HEAD moved meanwhile and commits;
leaving the block with an exception before the commit landed restores every file
the runner wrote (only where the file still holds the runner's bytes) and the
index; the journal is cleared once, on the way out. :meth:`Transaction.recover`
finishes the job for a runner that was killed inside the block.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Literal

from runner.errors import AfterCommitError, DirtyTreeError, ExitCode, HeadMovedError, RunnerError
from runner.faults import checkpoint
from runner.file_ops import write_file
from runner.fsutil import atomic_write
from runner.journal import (
    FileImages,
    Journal,
    clear_journal,
    digest,
    read_journal,
    saved_index_path,
    write_journal,
)
from runner.lock import repo_lock
from runner.records import datarecord, field
from runner.repository import Repository


@datarecord
class Restored:
    restored: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # changed by someone since the runner wrote them


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _state(path: Path, images: FileImages) -> Literal["before", "after", "other"]:
    """``before``, ``after`` (the runner's bytes) or ``other`` (someone else's)."""
    current = _read(path)
    if current == images.before:
        return "before"
    if images.after is None:  # journalled, but git (a revert) was still writing it
        return "after"
    if (current is None and not images.after_exists) or digest(current) == images.after:
        return "after"
    return "other"


def _put_back(path: Path, images: FileImages) -> None:
    if images.before is None:
        path.unlink(missing_ok=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)  # a removal may have pruned the folder
        atomic_write(path, images.before)


class Transaction:
    def __init__(
        self, repo: Repository, *, run_id: str, plan: str, task: str, operation: str = "run"
    ) -> None:
        self.repo = repo
        self.journal = Journal(run_id, plan, task, "", str(repo.root), operation)
        self.commit_sha: str | None = None
        self.left_dirty: list[str] = []  # after the commit: files a hook changed and did not commit
        self._restored = False

    # -- the sequence -------------------------------------------------------------
    def __enter__(self) -> Transaction:
        self.journal.head = self.repo.head()
        index = self.repo.index_bytes()
        if index is not None:
            atomic_write(saved_index_path(self.repo.git_dir), index)
        self._save()
        checkpoint("after-journal")
        return self

    def write(self, files: Mapping[Path, bytes | None], *, modes: Mapping[str, int] | None = None) -> None:
        """Journal the pre-images and the hashes of ``files``' new bytes, then write them.

        None removes the file (and folders it leaves empty); ``modes`` (by repo-relative
        path) are the permissions of files that did not exist.
        """
        for path, data in files.items():
            images = self._images(path)
            images.after = digest(b"" if data is None else data)
            images.after_exists = data is not None
        self._save()
        for path, data in files.items():
            if _read(path) == data:
                continue
            if path.is_relative_to(self.repo.root):
                relative = path.relative_to(self.repo.root).as_posix()
                write_file(self.repo.root, relative, data, (modes or {}).get(relative))
            elif data is None:
                path.unlink(missing_ok=True)
            else:
                atomic_write(path, data)
        checkpoint("after-writes")

    def git_will_write(self, paths: Iterable[Path]) -> None:
        """Journal the pre-images of files git itself is about to change (a revert)."""
        for path in paths:
            self._images(path)
        self.journal.index_touched = True
        self._save()

    def git_wrote(self, paths: Iterable[Path]) -> None:
        """Record what git left in ``paths`` as the runner's post-images."""
        for path in paths:
            images = self._images(path)
            current = _read(path)
            images.after = digest(b"" if current is None else current)
            images.after_exists = current is not None
        self._save()

    def commit(self, paths: Sequence[str], message: str, *, no_verify: bool) -> str:
        """Commit ``paths``; refuse, undoing the runner's edits, when HEAD moved meanwhile."""
        head = self.repo.head()
        if head != self.journal.head:
            result = self.restore(index=False)  # the index belongs to the new HEAD
            self._restored = True
            kept = f"; left as they are now (changed since): {', '.join(result.kept)}" if result.kept else ""
            raise HeadMovedError(
                f"HEAD moved from {self.journal.head[:12]} to {head[:12]} while Task {self.journal.task} "
                f"ran (a commit made meanwhile); nothing was committed, the runner's edits were undone"
                f"{kept}",
                path=str(self.repo.root),
            )
        dirty_before = set(self.repo.dirty_paths()) - set(paths)
        self.journal.index_touched = True
        self._save()
        self.commit_sha = self.repo.commit(paths, message, no_verify=no_verify)
        checkpoint("after-commit")
        self.left_dirty = sorted(set(self.repo.dirty_paths()) - dirty_before)
        return self.commit_sha

    def restore(self, *, index: bool = True) -> Restored:
        """Put back every pre-image the runner's bytes still hold; keep anyone else's edit."""
        result = _restore_files(self.repo, self.journal)
        if index and self.journal.index_touched:
            self._restore_index()
        return result

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        try:
            if error is not None and self.commit_sha is None and not self._restored:
                self.restore()
        finally:
            self._finish()
        if isinstance(error, Exception) and self.commit_sha is not None:
            raise _after_commit(self.journal.task, self.commit_sha, error) from error

    # -- helpers ------------------------------------------------------------------
    def _images(self, path: Path) -> FileImages:
        try:
            table, key = self.journal.files, path.relative_to(self.repo.root).as_posix()
        except ValueError:
            table, key = self.journal.outside, str(path)
        if key not in table:
            table[key] = FileImages(_read(path))
        return table[key]

    def _save(self) -> None:
        write_journal(self.repo.git_dir, self.journal)

    def _restore_index(self) -> None:
        saved = saved_index_path(self.repo.git_dir)
        if saved.exists():
            self.repo.set_index_bytes(saved.read_bytes())

    def _finish(self) -> None:
        """The one way a transaction ends: its journal (and index copy) removed."""
        clear_journal(self.repo.git_dir)

    # -- after a crash ----------------------------------------------------------------
    @classmethod
    def recover(cls, repo: Repository) -> list[str]:
        """Finish what a killed runner left: keep its landed commit, or roll its task back.

        Rolls back only when every file it journalled still holds either its pre-image
        or the runner's own bytes; otherwise stops, names the files, changes nothing.
        """
        journal = read_journal(repo.git_dir)
        if journal is None:
            return []
        txn = cls(repo, run_id=journal.run_id, plan=journal.plan, task=journal.task)
        txn.journal = journal
        what = (
            f"an interrupted `codemod apply {journal.task}`"
            if journal.operation == "codemod"
            else f"an interrupted run of {journal.plan} Task {journal.task}"
        )
        landed = repo.commits_of_run(journal.head, journal.run_id)
        if landed:
            txn._finish()
            return [f"{what} had committed {landed[0][:12]}; kept it"]
        moved = journal.root != str(repo.root)
        rows = _rows(repo, journal, outside=not moved)
        changed = [key for key, path, images in rows if _state(path, images) == "other"]
        if changed:
            raise DirtyTreeError(
                f"{what} left files that were edited since it wrote them: {', '.join(changed)}; "
                "nothing was changed: move those edits aside (git stash), then `runner recover`",
                path=str(repo.root),
            )
        notes = []
        if moved:
            notes.append(f"the journal was written in {journal.root}; only this copy was rolled back")
            if journal.outside:
                notes.append(f"left alone outside this repository: {', '.join(journal.outside)}")
        if journal.operation == "revert":
            repo.quit_revert()
        restored = _restore_files(repo, journal, outside=not moved).restored
        if journal.index_touched and repo.head() == journal.head:
            txn._restore_index()
        txn._finish()
        return [
            f"rolled back {what}: restored {len(restored)} file(s) to their state before the task",
            *notes,
        ]


def _after_commit(task: str, sha: str, error: Exception) -> AfterCommitError:
    detail = error.one_line() if isinstance(error, RunnerError) else f"{type(error).__name__}: {error}"
    code = error.exit_code if isinstance(error, RunnerError) else ExitCode.INTERNAL_ERROR
    return AfterCommitError(
        f"Task {task} was committed as {sha[:12]} (the commit stands), then: {detail}",
        code,
        path=None,
        line=None,
    )


def _rows(repo: Repository, journal: Journal, *, outside: bool) -> list[tuple[str, Path, FileImages]]:
    rows = [(key, repo.root / key, images) for key, images in journal.files.items()]
    if outside:
        rows += [(key, Path(key), images) for key, images in journal.outside.items()]
    return rows


def _restore_files(repo: Repository, journal: Journal, *, outside: bool = True) -> Restored:
    result = Restored()
    for key, path, images in _rows(repo, journal, outside=outside):
        state = _state(path, images)
        if state == "after":
            _put_back(path, images)
            result.restored.append(key)
        elif state == "other":
            result.kept.append(key)
    return result


@contextmanager
def exclusive(repo: Repository, run_id: str, command: str) -> Iterator[list[str]]:
    """Hold the repo lock, having first finished or rolled back a task a killed runner left."""
    with repo_lock(repo.git_dir, run_id, command):
        yield Transaction.recover(repo)
