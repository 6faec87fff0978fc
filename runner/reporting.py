"""Building reports and commit messages from a task's plan and execution (no I/O, no git)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from runner.blueprint.model import Blueprint, Task
from runner.gates import GateResult
from runner.report import FileChange, FileProblem, FileSkip, Outcome, StepRecord, TaskReport
from runner.templating import render

if TYPE_CHECKING:  # annotations only: `status` must not import libcst
    from runner.execute import TaskExecution
    from runner.tasks import TaskPlan


def tracker_values(bp: Blueprint) -> dict[str, str]:
    return {k: f.value for k, f in bp.tracker.items()}


def unified_diff(path: str, before: bytes | None, after: bytes | None) -> str:
    """None: the file does not exist on that side (created or removed by a file step)."""
    import difflib  # start-up: `status` and `next` never show a diff

    return "".join(
        difflib.unified_diff(
            (before or b"").decode("utf-8", "replace").splitlines(keepends=True),
            (after or b"").decode("utf-8", "replace").splitlines(keepends=True),
            f"a/{path}",
            f"b/{path}",
        )
    )


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
    reason: str = "",
) -> str:
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
        reverted=[sha[:12] for sha in reverted],
        reason=reason,
    )
