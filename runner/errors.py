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


# What each exit code means, in one line: `runner --help` and every subcommand's help are
# generated from this table (README "Exit codes" says the same at length).
EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "ok (also: nothing to do)",
    ExitCode.TASK_FAILED: "a task failed its gates: blocked, files restored (or git refused the commit)",
    ExitCode.INPUT_ERROR: "usage or input error (blueprint, step, codemod, option, path); nothing changed",
    ExitCode.DIRTY_TREE: "dirty tree, index.lock, or a git operation in progress; nothing changed",
    ExitCode.MANUAL_STEP: "the next task has a manual step: do it, then `runner done PLAN:TASK`",
    ExitCode.LOCKED: "another runner holds the repo lock (or a stale lock needs `runner recover`)",
    ExitCode.REVERT_CONFLICT: "the revert conflicts with later commits (named); nothing changed",
    ExitCode.INTERNAL_ERROR: "internal error (a bug); the working tree was restored",
}


class RunnerError(Exception):
    exit_code: ExitCode = ExitCode.INPUT_ERROR
    # A stable machine code beside the message (README, "Error codes"); ``data`` holds what an
    # agent needs to act on it (valid task ids, candidate blueprints, the lock holder ...).
    code: str = "input_error"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        code: str | None = None,
        data: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        if code is not None:
            self.code = code
        self.data: dict[str, object] = dict(data or {})

    def one_line(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return (where + self.message).replace("\n", " ")


class InputError(RunnerError):
    exit_code = ExitCode.INPUT_ERROR


def not_a_repo_root(path: str, root: str) -> InputError:
    """``--repo`` means that directory: never act on an enclosing repository by surprise."""
    return InputError(
        f"is not the root of a git repository (it is inside {root}); pass --repo {root}",
        path=path,
        code="not_a_repo",
        data={"enclosing_repo": root},
    )


class UsageError(InputError):
    """The command line itself is wrong (argparse's complaint)."""

    code = "usage"


class BlueprintError(InputError):
    """The blueprint itself is malformed; ``path`` and ``line`` point at the problem."""

    code = "blueprint_invalid"


class DirtyTreeError(RunnerError):
    exit_code = ExitCode.DIRTY_TREE
    code = "dirty_tree"


class LockedError(RunnerError):
    exit_code = ExitCode.LOCKED
    code = "lock_held"


class CommitRejectedError(RunnerError):
    """git refused the commit (a hook, a missing identity); the files were restored."""

    exit_code = ExitCode.TASK_FAILED
    code = "commit_rejected"


class RevertConflictError(RunnerError):
    exit_code = ExitCode.REVERT_CONFLICT
    code = "revert_conflict"


class HeadMovedError(RunnerError):
    """Someone committed while the task ran; the runner's edits were undone, nothing committed."""

    exit_code = ExitCode.DIRTY_TREE
    code = "head_moved"


class AfterCommitError(RunnerError):
    """A failure after the task's commit landed: the commit stands, nothing was rolled back."""

    code = "after_commit"

    def __init__(self, message: str, exit_code: ExitCode, *, path: str | None, line: int | None) -> None:
        super().__init__(message, path=path, line=line)
        self.exit_code = exit_code
