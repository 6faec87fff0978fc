"""The git side: clean-tree checks, one commit per change, trailers, revert.

Commits go through the ``git`` command (via GitPython) rather than GitPython's
index writer so that the target repo's hooks run as they would for a person;
``no_verify`` skips them, explicitly. Nothing here knows the blueprint format:
callers pass paths, messages and trailer values.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import git

from runner.errors import (
    CommitRejectedError,
    DirtyTreeError,
    InputError,
    RevertConflictError,
    not_a_repo_root,
)
from runner.faults import checkpoint
from runner.fsutil import atomic_write
from runner.records import datarecord

_IN_PROGRESS = {
    "MERGE_HEAD": "a merge",
    "REVERT_HEAD": "a revert",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase or am",
    "BISECT_LOG": "a bisect",
}
TRAILER_PLAN = "Blueprint"
TRAILER_TASK = "Blueprint-Task"
TRAILER_OUTCOME = "Blueprint-Outcome"
TRAILER_REVERTS = "Blueprint-Reverts"
TRAILER_RUN = "Blueprint-Run"
_SEP, _END = "\x1f", "\x1e"


TRAILER_REOPENS = "Blueprint-Reopens"


@datarecord(frozen=True)
class TaskCommit:
    sha: str
    subject: str
    plan: str
    task: str
    outcome: str
    reverts: tuple[str, ...]  # full shas (12 characters in commits of runners before 0.2)
    date: str = ""  # committer date, ISO 8601
    run: str = ""  # Blueprint-Run
    body: str = ""  # the message after the subject
    reopens: tuple[str, ...] = ()  # Blueprint-Reopens: task ids


def _trailer(key: str) -> str:
    return f"%(trailers:key={key},valueonly,separator=%x2C)"


_LOG_FIELDS = [
    "%H",
    "%s",
    _trailer(TRAILER_PLAN),
    _trailer(TRAILER_TASK),
    _trailer(TRAILER_OUTCOME),
    _trailer(TRAILER_REVERTS),
    "%cI",
    _trailer(TRAILER_RUN),
    _trailer(TRAILER_REOPENS),
    "%b",
]


def _ids(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


class Repository:
    def __init__(self, path: Path, *, enclosing: bool = False) -> None:
        """The repository whose root is ``path`` (with ``enclosing``: any repository holding it)."""
        try:
            self.repo = git.Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise InputError("is not a git repository", path=str(path), code="not_a_repo") from None
        if self.repo.working_tree_dir is None:
            raise InputError("is a bare repository; the runner needs a working tree", path=str(path))
        self.root = Path(self.repo.working_tree_dir).resolve()
        if not enclosing and path.resolve() != self.root:
            raise not_a_repo_root(str(path), str(self.root))
        self.git_dir = Path(self.repo.git_dir).resolve()

    # -- state -------------------------------------------------------------------
    def head(self) -> str:
        try:
            return self.repo.head.commit.hexsha
        except ValueError:
            raise InputError(
                "the repository has no commits yet; commit the project first", path=str(self.root)
            ) from None

    def ensure_no_git_operation(self) -> None:
        if (self.git_dir / "index.lock").exists():
            raise DirtyTreeError(
                ".git/index.lock exists: another git process is running, or one crashed; "
                "the runner never deletes it (remove it yourself once no git is running)",
                path=str(self.root),
                code="git_operation",
            )
        for marker, what in _IN_PROGRESS.items():
            if (self.git_dir / marker).exists():
                raise DirtyTreeError(
                    f"{what} is in progress; finish or abort it first",
                    path=str(self.root),
                    code="git_operation",
                )

    def dirty_paths(self) -> list[str]:
        out = self.repo.git.status("--porcelain=v1", "-z", "--untracked-files=all")
        entries = [e for e in out.split("\0") if e]
        paths: list[str] = []
        skip_next = False
        for entry in entries:
            if skip_next:  # the source path of a rename
                skip_next = False
                continue
            paths.append(entry[3:])
            skip_next = entry[0] in "RC"
        return paths

    def ensure_clean(self) -> None:
        self.ensure_no_git_operation()
        self.head()
        dirty = self.dirty_paths()
        if dirty:
            shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
            raise DirtyTreeError(
                f"the working tree has uncommitted changes ({shown}); commit or stash them first",
                path=str(self.root),
                data={"paths": dirty},
            )

    def tracked_files(self, suffix: str = "") -> list[str]:
        files = self.repo.git.ls_files("-z").split("\0")
        return sorted(f for f in files if f and f.endswith(suffix))

    def tracked_blobs(self) -> dict[str, str]:
        """Every tracked file and its blob id in the index, sorted by path (one ``git ls-files``)."""
        blobs: dict[str, str] = {}
        for entry in self.repo.git.ls_files("-s", "-z").split("\0"):
            if entry:
                meta, _, path = entry.partition("\t")
                blobs[path] = meta.split()[1]
        return dict(sorted(blobs.items()))

    def python_fingerprint(self, overrides: dict[str, bytes], blobs: dict[str, str] | None = None) -> str:
        """A digest of every tracked .py file's content, ``overrides`` standing in for disk.

        Blob ids come from the index (equal to HEAD on a clean tree), or from ``blobs``
        (:meth:`tracked_blobs`) when the caller has them; overridden files are hashed the
        way git hashes blobs, so the same content gives the same fingerprint whether
        committed or not.
        """
        tracked = self.tracked_blobs() if blobs is None else blobs
        blobs = {p: b for p, b in tracked.items() if p.endswith(".py")}
        for path, data in overrides.items():
            if path.endswith(".py"):
                blobs[path] = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        digest = hashlib.sha256()
        for path in sorted(blobs):
            digest.update(f"{path}\0{blobs[path]}\n".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def read_head(self, relative: str) -> bytes | None:
        """The file's bytes at HEAD, None where HEAD has no such file."""
        try:
            blob = self.repo.head.commit.tree / relative
        except KeyError:
            return None
        data: bytes = blob.data_stream.read()
        return data

    # -- commits -----------------------------------------------------------------
    def commit(self, paths: Sequence[str], message: str, *, no_verify: bool = False) -> str:
        # A path gone from both tree and index (a revert removed a file) is staged already; git
        # is asked about the index only when some path is gone from the tree.
        gone = [p for p in paths if not os.path.lexists(self.root / p)]
        indexed = set(self.repo.git.ls_files("-z", "--", *gone).split("\0")) if gone else set()
        present = [p for p in paths if p in indexed or p not in gone]
        try:
            if present:
                self.repo.git.add("--", *present)
        except git.GitCommandError as err:
            raise self._commit_error(err) from None
        checkpoint("during-commit")
        fd, message_file = tempfile.mkstemp(prefix="runner-msg-", dir=self.git_dir)
        try:
            # Blueprint bytes that are not UTF-8 travel as surrogates; git wants UTF-8.
            readable = message.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(readable)
            args = ["--file", message_file, "--cleanup=verbatim"]
            if no_verify:
                args.append("--no-verify")
            # A hook can be slow: git must not outlive a killed runner and land a commit later.
            executable = self.repo.git.GIT_PYTHON_GIT_EXECUTABLE or "git"
            self.repo.git.execute([executable, "commit", *args], preexec_fn=_die_with_parent)
        except git.GitCommandError as err:
            # The index is the caller's to restore (runner.transaction keeps a copy of it).
            raise self._commit_error(err) from None
        finally:
            os.unlink(message_file)
        return self.head()

    def _commit_error(self, err: git.GitCommandError) -> CommitRejectedError | DirtyTreeError:
        if (self.git_dir / "index.lock").exists():
            return DirtyTreeError(
                ".git/index.lock appeared while committing: another git process is using the index; "
                "nothing was committed and the files were restored (the runner never deletes that lock)",
                path=str(self.root),
            )
        return CommitRejectedError(f"git commit failed: {_git_error(err)}", path=str(self.root))

    def ensure_inside_sparse_checkout(self, paths: Sequence[str]) -> None:
        """Refuse when any of ``paths`` lies outside a sparse checkout (git would not write it)."""
        if not paths:
            return
        out = self.repo.git.ls_files("-t", "-z", "--", *paths)
        outside = [e[2:] for e in out.split("\0") if e.startswith("S ")]
        if outside:
            shown = ", ".join(outside[:3]) + (f" and {len(outside) - 3} more" if len(outside) > 3 else "")
            raise DirtyTreeError(
                f"{shown} lie(s) outside the sparse checkout; `git sparse-checkout add` their "
                "directories (or `git sparse-checkout disable`) first. Nothing was changed",
                path=str(self.root),
            )

    def task_commits(self, plan: str | None = None) -> list[TaskCommit]:
        """Every commit carrying ``Blueprint: plan`` (any plan when None), newest first."""
        fmt = _SEP.join(_LOG_FIELDS)
        wanted = (
            [f"--grep={TRAILER_PLAN}: {plan}", "--fixed-strings"] if plan else [f"--grep=^{TRAILER_PLAN}: "]
        )
        try:
            out = self.repo.git.log(f"--format={fmt}{_END}", *wanted)
        except git.GitCommandError:  # no commits yet
            return []
        commits: list[TaskCommit] = []
        for record in out.split(_END):
            fields = record.strip("\n").split(_SEP)
            if len(fields) != len(_LOG_FIELDS):
                continue
            sha, subject, found, task, outcome, reverts, date, run, reopens, body = fields
            found = found.strip()
            if not found or (plan is not None and found != plan) or not task.strip():
                continue
            commits.append(
                TaskCommit(
                    sha.strip(),
                    subject.strip(),
                    found,
                    task.strip(),
                    outcome.strip(),
                    _ids(reverts),
                    date.strip(),
                    run.strip(),
                    body.strip("\n"),
                    _ids(reopens),
                )
            )
        return commits

    def patch(self, sha: str) -> str:
        """The commit's diff (no message), as text; bytes that are not UTF-8 shown as U+FFFD."""
        out = self.repo.git.show("--format=", "--patch", "--stat", "--no-color", sha, stdout_as_string=False)
        return bytes(out).decode("utf-8", "replace")

    def changed_files(self, sha: str) -> list[str]:
        out = self.repo.git.diff_tree("--no-commit-id", "--name-only", "-r", "-z", "--root", sha)
        return [p for p in out.split("\0") if p]

    def revert_no_commit(self, shas: Sequence[str], keep_ours: Sequence[str]) -> None:
        """Apply the inverse of ``shas`` (newest first) to index and tree, without committing.

        Conflicts in ``keep_ours`` are resolved to HEAD's version (the caller then
        rewrites those files itself); any other conflict aborts and raises with
        the later commits that touched the conflicting files.
        """
        start = self.head()
        self.ensure_inside_sparse_checkout(sorted({p for sha in shas for p in self.changed_files(sha)}))
        for sha in shas:
            try:
                self.repo.git.revert("--no-commit", "--no-edit", sha)
            except git.GitCommandError:
                unmerged = self._unmerged()
                blocking = [p for p in unmerged if p not in keep_ours]
                if blocking or not unmerged:
                    self.abort_to(start)
                    later = self._later_commits(sha, blocking or self.changed_files(sha))
                    raise RevertConflictError(
                        f"reverting {sha[:12]} conflicts in {', '.join(blocking) or 'the tree'}; "
                        f"later commits touch the same lines: {', '.join(later) or 'unknown'}; "
                        "nothing was changed",
                        path=str(self.root),
                        data={"later_commits": later},
                    ) from None
                self._take_head(unmerged)
        # git leaves REVERT_HEAD or sequencer state behind after --no-commit.
        self.quit_revert()
        with contextlib.suppress(FileNotFoundError):
            (self.git_dir / "REVERT_HEAD").unlink()

    def _take_head(self, paths: Sequence[str]) -> None:
        """Resolve conflicts to HEAD's side; a path HEAD does not have (renamed since) is removed."""
        in_head = self.repo.git.ls_tree("-r", "--name-only", "-z", "HEAD", "--", *paths).split("\0")
        kept = [p for p in paths if p in in_head]
        if kept:
            self.repo.git.checkout("HEAD", "--", *kept)
        gone = [p for p in paths if p not in in_head]
        if gone:
            self.repo.git.rm("-q", "--cached", "--", *gone)
            for path in gone:
                (self.root / path).unlink(missing_ok=True)

    def names_of(self, relative: str) -> list[str]:
        """The file's path now and every earlier path it had (``git log --follow``)."""
        out = self.repo.git.log("--follow", "--name-only", "--format=", "--", relative)
        return list(dict.fromkeys([relative, *(line for line in out.splitlines() if line)]))

    def reverted_by(self, sha: str) -> str | None:
        """A later commit whose message says it reverts ``sha`` (``git revert``), if any."""
        out = self.repo.git.log(
            "--format=%H", "--fixed-strings", f"--grep=This reverts commit {sha}", f"{sha}..HEAD"
        )
        return out.split()[0] if out.split() else None

    def quit_revert(self) -> None:
        """Forget an unfinished ``git revert`` (its sequencer state), keeping the tree."""
        with contextlib.suppress(git.GitCommandError):
            self.repo.git.revert("--quit")

    def abort_to(self, sha: str) -> None:
        """Back to ``sha`` after a failed revert; only called on a tree that was clean."""
        self.quit_revert()
        self.repo.git.reset("-q", "--hard", sha)

    def _unmerged(self) -> list[str]:
        out = self.repo.git.diff("--name-only", "--diff-filter=U", "-z")
        return [p for p in out.split("\0") if p]

    def _later_commits(self, sha: str, paths: Sequence[str]) -> list[str]:
        out = self.repo.git.log("--format=%h %s", f"{sha}..HEAD", "--", *paths)
        return [line for line in out.splitlines() if line]

    def index_bytes(self) -> bytes | None:
        """The git index file as it is (a transaction keeps a copy to restore it exactly)."""
        path = self.git_dir / "index"
        return path.read_bytes() if path.is_file() else None

    def set_index_bytes(self, data: bytes) -> None:
        atomic_write(self.git_dir / "index", data)

    def commits_of_run(self, since: str, run_id: str) -> list[str]:
        """Commits after ``since`` (newest first) whose ``Blueprint-Run`` trailer is ``run_id``."""
        fmt = f"%H{_SEP}%(trailers:key={TRAILER_RUN},valueonly,separator=%x2C)"
        try:
            out = self.repo.git.log(f"--format={fmt}", f"{since}..HEAD")
        except git.GitCommandError:
            return []
        return [
            sha
            for sha, _, run in (line.partition(_SEP) for line in out.splitlines())
            if run.strip() == run_id
        ]

    def untracked_paths(self) -> list[str]:
        out = self.repo.git.ls_files("--others", "--exclude-standard", "-z")
        return [p for p in out.split("\0") if p]

    def staged_paths(self) -> list[str]:
        out = self.repo.git.diff("--cached", "--name-only", "-z")
        return [p for p in out.split("\0") if p]


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGKILL it when the runner dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def _git_error(err: git.GitCommandError) -> str:
    text = err.stderr if isinstance(err.stderr, str) else str(err)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].removeprefix("stderr: ").strip("'") if lines else str(err)
