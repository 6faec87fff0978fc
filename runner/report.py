"""What a command did, as data: rendered to JSON for agents and to text for people."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from runner.errors import ExitCode

SCHEMA_VERSION = 1


@dataclass
class TaskReport:
    id: str
    title: str
    phase: str
    outcome: str  # completed | blocked | manual | planned | failed | reverted | done
    files_changed: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    skips: list[dict[str, Any]] = field(default_factory=list)
    file_problems: list[dict[str, str]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, str]] = field(default_factory=list)
    commit: str | None = None
    tracker_before: dict[str, str] = field(default_factory=dict)
    tracker_after: dict[str, str] = field(default_factory=dict)
    blocker: str | None = None
    fallback: str | None = None
    manual_step: dict[str, Any] | None = None
    diff: str = ""

    def execution_report(self) -> str:
        """Part 1 of the master prompt's two-part response."""
        head = f"Task {self.id} ({self.title}): {self.outcome}."
        parts = [head]
        if self.changes:
            by_file: dict[str, int] = {}
            for change in self.changes:
                by_file[change["file"]] = by_file.get(change["file"], 0) + 1
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
                counts[gate["status"]] = counts.get(gate["status"], 0) + 1
            parts.append("Gates: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ".")
        if self.blocker:
            parts.append(f"Blocked: {self.blocker}")
        if self.manual_step:
            parts.append(
                f"Needs a person or an agent: line {self.manual_step['line']}: {self.manual_step['text']}"
            )
        return " ".join(parts)

    def update_confirmation(self) -> str:
        """Part 2: how the living blueprint was updated."""
        if not self.tracker_after or self.tracker_after == self.tracker_before:
            return "The blueprint was not changed."
        fields = "; ".join(f"{k}: {v}" for k, v in self.tracker_after.items())
        where = f" Committed as {self.commit[:12]}." if self.commit else ""
        return f"Progress Tracker updated ({fields}).{where}"


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
    data: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["exit_code"] = int(self.exit_code)
        out["ok"] = self.exit_code == ExitCode.OK
        return {"schema_version": SCHEMA_VERSION, **out}
