"""What a command did, as typed data; :meth:`CommandReport.to_json` is the one conversion to JSON.

Text for people is rendered from the same objects (``render.py``). What one task did is in
``task_report.py``: `status` and `next` report no task and do not import it.
"""

# No `from __future__ import annotations` here, and no string annotation in a TypedDict: it
# becomes a ForwardRef, compiled, and the process's first compile() creates every AST type
# (~10 M instructions, ~3 ms of every command's start-up).

from typing import TYPE_CHECKING, TypedDict, final

from runner.blueprint import TaskState
from runner.errors import ExitCode, RunnerError
from runner.records import datarecord, field

if TYPE_CHECKING:  # annotations only: reading a report must not import libcst or Jinja2
    from runner.review_data import KeptServerData, LogData, RevertData, RunsData, ShowData
    from runner.task_report import TaskReport

SCHEMA_VERSION = 1

JSONValue = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
JSONObject = dict[str, JSONValue]


# -- the `data` of the read-only and codemod commands: plain JSON shapes, typed -------


class TaskRow(TypedDict):
    id: str
    title: str
    phase: str
    state: TaskState
    line: int


class Checklist(TypedDict):
    checked: int
    total: int


@final
class StatusData(TypedDict):
    title: str
    tracker: dict[str, str]
    tasks: list[TaskRow]
    next_task: str | None
    checklist: Checklist


class GoalStep(TypedDict):
    line: int
    text: str
    kind: str


class Goal(TypedDict):
    id: str
    title: str
    phase: str
    line: int
    state: TaskState
    steps: list[GoalStep]
    files: list[str]
    manual: bool
    blocker: str | None  # the tracker's BLOCKER when the task is blocked


@final
class NextData(TypedDict):
    task: Goal | None


class _LintStepBase(TypedDict):
    task: str
    line: int
    text: str
    kind: str


class LintStep(_LintStepBase, total=False):
    files: list[str]  # only for a step that classified
    notes: list[str]  # "PATH is created by Task X"
    warnings: list[str]  # a manual step may create a path this step needs
    inserts_code: bool  # only for a step that classified: it writes code taken from the plan


@final
class LintData(TypedDict):
    steps: list[LintStep]
    errors: list[str]
    warnings: list[str]
    suggestions: list[dict[str, object]]  # runner.blueprint.suggest.Suggestion.as_dict
    findings: list[dict[str, object]]  # warnings: NEXT TASK naming no task, codemod without gate
    fixed: bool
    diff: str


@final
class CheckData(TypedDict):
    gates: list[dict[str, str]]


@final
class WrittenData(TypedDict):
    path: str
    changed: bool


OptionValue = str | int | float | bool | None


class CodemodOptionInfo(TypedDict):
    name: str
    type: str
    default: OptionValue
    help: str


class CodemodInfo(TypedDict):
    name: str
    description: str
    options: list[CodemodOptionInfo]


@final
class CodemodListData(TypedDict):
    codemods: list[CodemodInfo]


class LineChange(TypedDict):
    line: int
    description: str


class LineSkip(TypedDict):
    line: int
    reason: str


class FileOutcomeRow(TypedDict):
    file: str
    status: str
    reason: str
    changes: list[LineChange]
    skips: list[LineSkip]


@final
class CodemodApplyData(TypedDict):
    codemod: str
    options: dict[str, OptionValue]
    files: list[FileOutcomeRow]
    totals: dict[str, int]
    diff: str


@final
class DemoData(TypedDict):
    repo: str
    commits: list[str]
    tracker_after_run: dict[str, str]
    tracker_after_revert: dict[str, str]
    transcript: str


if TYPE_CHECKING:  # a type for annotations (its members are dicts at run time)
    CommandData = (
        StatusData
        | NextData
        | LintData
        | CodemodListData
        | CodemodApplyData
        | DemoData
        | CheckData
        | WrittenData
        | RevertData
        | LogData
        | ShowData
        | RunsData
        | KeptServerData
    )


@datarecord(frozen=True)
class ErrorInfo:
    """A failed command's error: message, file and line, machine code and data."""

    message: str
    path: str | None
    line: int | None
    code: str = "input_error"
    data: dict[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, err: RunnerError) -> "ErrorInfo":
        return cls(err.message, err.path, err.line, err.code, err.data)


# The code of a response without a more specific one, by exit code (README, "Error codes").
DEFAULT_CODES = {
    ExitCode.OK: "ok",
    ExitCode.TASK_FAILED: "task_blocked",
    ExitCode.INPUT_ERROR: "input_error",
    ExitCode.DIRTY_TREE: "dirty_tree",
    ExitCode.MANUAL_STEP: "manual_step",
    ExitCode.LOCKED: "lock_held",
    ExitCode.REVERT_CONFLICT: "revert_conflict",
    ExitCode.INTERNAL_ERROR: "internal_error",
}


@datarecord
class CommandReport:
    """What one command did: its tasks, data, error and next action."""

    command: str
    exit_code: ExitCode = ExitCode.OK
    plan: str = ""
    blueprint: str = ""
    repo: str = ""
    message: str = ""
    tasks: list["TaskReport"] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: "CommandData | None" = None  # a string: the alias exists for type checkers alone
    error: ErrorInfo | None = None
    code: str = ""  # empty: the error's code, else the default for the exit code
    next_action: JSONObject | None = None  # set last, from the rest (runner.guidance)

    @property
    def machine_code(self) -> str:
        if self.code:
            return self.code
        return self.error.code if self.error is not None else DEFAULT_CODES[self.exit_code]

    def to_json(self) -> JSONObject:
        error: JSONValue = None
        if self.error is not None:
            error = {
                "message": self.error.message,
                "path": self.error.path,
                "line": self.error.line,
                "code": self.error.code,
                "data": _json(self.error.data),
            }
        data: JSONObject = {}
        if self.data is not None:
            # TypedDicts are JSON shapes already; the loop only widens the static type.
            data = {key: _json(value) for key, value in self.data.items()}
        return {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "exit_code": int(self.exit_code),
            "plan": self.plan,
            "blueprint": self.blueprint,
            "repo": self.repo,
            "message": self.message,
            "tasks": [t.to_json() for t in self.tasks],
            "notes": list[JSONValue](self.notes),
            "data": data,
            "error": error,
            "ok": self.exit_code == ExitCode.OK,
            "code": self.machine_code,
            "next_action": self.next_action,
        }


def _json(value: object) -> JSONValue:
    """A TypedDict's value as JSON: checked at run time, since TypedDict values are ``object``."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    raise TypeError(f"not JSON: {type(value).__name__}")
