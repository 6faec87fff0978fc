"""What a command did, as typed data; :meth:`CommandReport.to_json` is the one conversion to JSON.

Text for people is rendered from the same objects (``render.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypedDict, final

from runner.errors import ExitCode, RunnerError
from runner.gates import GateResult
from runner.review_data import KeptServerData, LogData, RevertData, RunsData, ShowData

if TYPE_CHECKING:  # annotations only: reading a report must not import libcst or Jinja2
    from codemods.base import Change, Skip
    from runner.blueprint.edit import TaskState
    from runner.file_ops import FileEdit

SCHEMA_VERSION = 1

Outcome = Literal["completed", "blocked", "manual", "planned", "failed", "reverted", "done", "skipped"]
JSONValue = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
JSONObject = dict[str, JSONValue]


@dataclass(frozen=True)
class FileChange:
    file: str
    change: Change


@dataclass(frozen=True)
class FileSkip:
    file: str
    skip: Skip


@dataclass(frozen=True)
class FileProblem:
    file: str
    status: str  # skipped | error
    reason: str


@dataclass
class StepRecord:
    line: int
    text: str
    kind: str
    checked: bool
    detail: str | None = None  # set once the step ran
    ok: bool | None = None

    def to_json(self) -> JSONObject:
        out: JSONObject = {"line": self.line, "text": self.text, "kind": self.kind, "checked": self.checked}
        if self.ok is not None:
            out["detail"] = self.detail
            out["ok"] = self.ok
        return out


@dataclass(frozen=True)
class ReopenedTask:
    """A task a revert reopened besides its own: it only validated the reverted task's files."""

    id: str
    title: str
    files: list[str]  # the reverted files its gates checked


@dataclass(frozen=True)
class ManualStep:
    line: int
    text: str


def gate_json(gate: GateResult) -> JSONObject:
    return dict[str, JSONValue](gate.as_dict())


@dataclass
class TaskReport:
    id: str
    title: str
    phase: str
    outcome: Outcome
    files_changed: list[str] = field(default_factory=list)
    changes: list[FileChange] = field(default_factory=list)
    edits: list[FileEdit] = field(default_factory=list)  # config and file steps' edits
    skips: list[FileSkip] = field(default_factory=list)
    file_problems: list[FileProblem] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    commit: str | None = None
    tracker_before: dict[str, str] = field(default_factory=dict)
    tracker_after: dict[str, str] = field(default_factory=dict)
    blocker: str | None = None
    fallback: str | None = None
    fallback_reason: str | None = None  # why that option fits what failed (runner/fallback.py)
    manual_step: ManualStep | None = None
    diff: str = ""

    def execution_report(self) -> str:
        """Part 1 of the master prompt's two-part response."""
        parts = [f"Task {self.id} ({self.title}): {self.outcome}."]
        if self.changes or self.edits:
            by_file: dict[str, int] = {}
            for file in [c.file for c in self.changes] + [e.file for e in self.edits]:
                by_file[file] = by_file.get(file, 0) + 1
            parts.append(
                "Changed " + ", ".join(f"{f} ({n} change{'s' * (n != 1)})" for f, n in by_file.items()) + "."
            )
        elif self.outcome in ("completed", "planned"):
            parts.append("No code change was needed.")
        if self.skips:
            parts.append(f"{len(self.skips)} place(s) left unchanged on purpose (see skips).")
        if self.gates:
            counts: dict[str, int] = {}
            for gate in self.gates:
                counts[gate.status] = counts.get(gate.status, 0) + 1
            parts.append("Gates: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ".")
        if self.blocker:
            parts.append(f"Blocked: {self.blocker}")
        if self.manual_step:
            parts.append(f"Needs a person or an agent: line {self.manual_step.line}: {self.manual_step.text}")
        return " ".join(parts)

    def update_confirmation(self) -> str:
        """Part 2: how the living blueprint was updated."""
        if not self.tracker_after or self.tracker_after == self.tracker_before:
            return "The blueprint was not changed."
        fields = "; ".join(f"{k}: {v}" for k, v in self.tracker_after.items())
        where = f" Committed as {self.commit[:12]}." if self.commit else ""
        return f"Progress Tracker updated ({fields}).{where}"

    @staticmethod
    def _change_json(c: FileChange) -> JSONValue:
        return {
            "file": c.file,
            "codemod": c.change.codemod,
            "line": c.change.line,
            "description": c.change.description,
        }

    @staticmethod
    def _edit_json(edit: FileEdit) -> JSONValue:
        return {"file": edit.file, "kind": edit.kind, "line": edit.line, "description": edit.description}

    def to_json(self) -> JSONObject:
        manual: JSONValue = None
        if self.manual_step is not None:
            manual = {"line": self.manual_step.line, "text": self.manual_step.text}
        return {
            "id": self.id,
            "title": self.title,
            "phase": self.phase,
            "outcome": self.outcome,
            "files_changed": list[JSONValue](self.files_changed),
            "changes": [
                *(self._change_json(c) for c in self.changes),
                *(self._edit_json(e) for e in self.edits),
            ],
            "skips": [
                {"file": s.file, "codemod": s.skip.codemod, "line": s.skip.line, "reason": s.skip.reason}
                for s in self.skips
            ],
            "file_problems": [
                {"file": p.file, "status": p.status, "reason": p.reason} for p in self.file_problems
            ],
            "steps": [s.to_json() for s in self.steps],
            "gates": [gate_json(g) for g in self.gates],
            "commit": self.commit,
            "tracker_before": dict[str, JSONValue](self.tracker_before),
            "tracker_after": dict[str, JSONValue](self.tracker_after),
            "blocker": self.blocker,
            "fallback": self.fallback,
            "fallback_reason": self.fallback_reason,
            "manual_step": manual,
            "diff": self.diff,
        }


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


@dataclass(frozen=True)
class ErrorInfo:
    message: str
    path: str | None
    line: int | None
    code: str = "input_error"
    data: dict[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, err: RunnerError) -> ErrorInfo:
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


@dataclass
class CommandReport:
    command: str
    exit_code: ExitCode = ExitCode.OK
    plan: str = ""
    blueprint: str = ""
    repo: str = ""
    message: str = ""
    tasks: list[TaskReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: CommandData | None = None
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
