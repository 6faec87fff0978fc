"""Exit codes and the errors that carry them.

Every error the runner raises on purpose is a :class:`RunnerError`: one line,
naming the file and line when there is one, with a documented exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    TASK_FAILED = 1  # a task ran and failed its gates or codemod expectations: Blocked
    INPUT_ERROR = 2  # usage, malformed blueprint, unknown codemod, path outside the repo
    DIRTY_TREE = 3  # uncommitted changes, a git operation in progress, or a person's change met mid-task
    MANUAL_STEP = 4  # the next task needs a person or an agent (`runner done` afterwards)
    LOCKED = 5  # another runner holds the repo lock, or a stale lock needs clearing
    REVERT_CONFLICT = 6  # later commits touch the same lines; nothing changed
    INTERNAL_ERROR = 70  # a bug in the runner; the working tree was restored


class RunnerError(Exception):
    exit_code: ExitCode = ExitCode.INPUT_ERROR

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def one_line(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return (where + self.message).replace("\n", " ")


class InputError(RunnerError):
    exit_code = ExitCode.INPUT_ERROR


class BlueprintError(InputError):
    """The blueprint itself is malformed; ``path`` and ``line`` point at the problem."""


class DirtyTreeError(RunnerError):
    exit_code = ExitCode.DIRTY_TREE


class LockedError(RunnerError):
    exit_code = ExitCode.LOCKED


class CommitRejectedError(RunnerError):
    """git refused the commit (a hook, a missing identity); the files were restored."""

    exit_code = ExitCode.TASK_FAILED


class RevertConflictError(RunnerError):
    exit_code = ExitCode.REVERT_CONFLICT


class HeadMovedError(RunnerError):
    """Someone committed while the task ran; the runner's edits were undone, nothing committed."""

    exit_code = ExitCode.DIRTY_TREE


class AfterCommitError(RunnerError):
    """A failure after the task's commit landed: the commit stands, nothing was rolled back."""

    def __init__(self, message: str, exit_code: ExitCode, *, path: str | None, line: int | None) -> None:
        super().__init__(message, path=path, line=line)
        self.exit_code = exit_code
