"""Building reports and commit messages from a task's plan and execution (no I/O, no git)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from runner.blueprint.model import Blueprint, Task
from runner.blueprint.objective import task_objective
from runner.diffs import unified_diff as unified_diff  # where the report builders' callers find it
from runner.gates import GateResult
from runner.review_data import GateRow
from runner.task_report import (
    FileChange,
    FileProblem,
    FileSkip,
    Outcome,
    ReopenedTask,
    StepRecord,
    TaskReport,
)
from runner.templating import render

if TYPE_CHECKING:  # annotations only: `status` must not import libcst
    from runner.execute import TaskExecution
    from runner.tasks import TaskPlan


def _file_summaries(execution: TaskExecution) -> list[dict[str, str]]:
    summaries = []
    for path in execution.changed_files():
        counts: dict[str, int] = {}
        for file, change in execution.changes:
            if file == path:
                counts[change.codemod] = counts.get(change.codemod, 0) + 1
        edits = [e.description for e in execution.edits if e.file == path]
        text = ", ".join([*(f"{name} ({n})" for name, n in counts.items()), *edits])
        summaries.append({"path": path, "summary": text or "changed"})
    return summaries


def task_header(task: Task, outcome: Outcome) -> TaskReport:
    return TaskReport(task.id, task.title, f"{task.phase.key}: {task.phase.title}", outcome)


def task_report(plan: TaskPlan, outcome: Outcome, execution: TaskExecution | None = None) -> TaskReport:
    report = task_header(plan.task, outcome)
    report.steps = [StepRecord(s.step.line, s.step.text, s.kind, s.step.checked) for s in plan.steps]
    if execution is not None:
        report.files_changed = execution.changed_files()
        report.changes = [FileChange(f, c) for f, c in execution.changes]
        report.edits = list(execution.edits)
        report.skips = [FileSkip(f, s) for f, s in execution.skips]
        report.file_problems = [FileProblem(f, st, r) for f, st, r in execution.file_problems]
        outcomes = {o.line: o for o in execution.steps}
        for step in report.steps:
            if step.line in outcomes:
                step.detail = outcomes[step.line].detail
                step.ok = outcomes[step.line].ok
    return report


def blocker_text(execution: TaskExecution, gates: Sequence[GateResult]) -> str | None:
    """The task's first failure (and how many more), or None when it passed."""
    failures = execution.failures + [
        f"{g.gate} gate failed on {g.target}: {g.detail}" for g in gates if g.status == "failed"
    ]
    if not failures:
        return None
    return failures[0] + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")


def commit_message(
    bp: Blueprint,
    task: Task,
    outcome: Outcome,
    *,
    blueprint_name: str,
    run_id: str,
    plan: TaskPlan | None = None,
    execution: TaskExecution | None = None,
    gates: Sequence[GateResult] = (),
    blocker: str = "",
    fallback: str | None = None,
    fallback_reason: str | None = None,
    reverted: Sequence[str] = (),
    reopened: Sequence[ReopenedTask] = (),
    reason: str = "",
) -> str:
    """The commit message: subject, why (the task's objective), what changed, gates, trailers.

    ``reverted``: full shas, each on Git's own ``This reverts commit <sha>.`` line and in
    ``Blueprint-Reverts``; ``reopened``: tasks a revert reopens besides its own.
    """
    skips = []
    if execution is not None:
        skips = [f"{f}:{s.line} ({s.codemod}): {s.reason}" for f, s in execution.skips]
        skips += [f"{f} ({status}): {reason}" for f, status, reason in execution.file_problems]
    return render(
        "commit.txt.j2",
        plan_id=bp.plan_id,
        task=task,
        outcome=outcome,
        blueprint=blueprint_name,
        files=_file_summaries(execution) if execution else [],
        skips=skips,
        steps=[{"kind": s.kind, "text": s.step.text} for s in plan.steps] if plan else [],
        gates=[g.line() for g in gates],
        blocker=blocker,
        fallback=fallback,
        fallback_reason=fallback_reason,
        codemods=list(plan.codemod_names) if plan else [],
        run_id=run_id,
        reverted=list(reverted),
        reopened=[{"id": r.id, "title": r.title, "files": r.files} for r in reopened],
        objective=task_objective(bp, task),
        reason=reason,
    )


_GATE_LINE = re.compile(
    r"^- (?P<gate>\S+) (?P<target>.*?): (?P<status>passed|failed|warning)(?:: (?P<detail>.*))?$"
)


def gates_in_message(body: str) -> list[GateRow]:
    """The ``Gates:`` paragraph :func:`commit_message` writes, read back (GateResult.line rows)."""
    rows: list[GateRow] = []
    lines = body.splitlines()
    if "Gates:" not in lines:
        return rows
    for line in lines[lines.index("Gates:") + 1 :]:
        match = _GATE_LINE.match(line)
        if match is None:
            if rows and line.strip() and not line.startswith("- "):
                rows[-1]["detail"] += "\n" + line  # a detail that runs over several lines
                continue
            break  # the blank line before the trailers ends the paragraph
        rows.append(
            GateRow(
                gate=match["gate"],
                target=match["target"],
                status=match["status"],
                detail=match["detail"] or "",
            )
        )
    return rows
