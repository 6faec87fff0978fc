"""What one task did: :class:`TaskReport` and its parts, in a command's ``tasks`` (report.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from runner.gates import GateResult
from runner.records import datarecord, field
from runner.report import JSONObject, JSONValue

if TYPE_CHECKING:  # annotations only: reading a report must not import libcst
    from codemods.base import Change, Skip
    from runner.file_ops import FileEdit

Outcome = Literal["completed", "blocked", "manual", "planned", "failed", "reverted", "done", "skipped"]


@datarecord(frozen=True)
class FileChange:
    file: str
    change: Change


@datarecord(frozen=True)
class FileSkip:
    file: str
    skip: Skip


@datarecord(frozen=True)
class FileProblem:
    file: str
    status: str  # skipped | error
    reason: str


@datarecord
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


@datarecord(frozen=True)
class ReopenedTask:
    """A task a revert reopened besides its own: it only validated the reverted task's files."""

    id: str
    title: str
    files: list[str]  # the reverted files its gates checked


@datarecord(frozen=True)
class ManualStep:
    line: int
    text: str


def gate_json(gate: GateResult) -> JSONObject:
    return dict[str, JSONValue](gate.as_dict())


@datarecord
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
