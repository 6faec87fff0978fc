"""The read-only commands: `status`, `next` (`lint` is in adopt.py). No lock, no writes."""

from __future__ import annotations

from runner.blueprint.edit import task_state
from runner.blueprint.model import tracker_values
from runner.commands.view import BlueprintView
from runner.report import CommandReport, Goal, NextData, StatusData, TaskRow


def status(session: BlueprintView) -> CommandReport:
    bp = session.load()
    report = CommandReport("status", plan=bp.plan_id, blueprint=session.display, repo=str(session.root))
    tasks = [
        TaskRow(id=t.id, title=t.title, phase=t.phase.key, state=task_state(bp, t), line=t.line)
        for t in bp.tasks
    ]
    pending = bp.pending()
    report.data = StatusData(
        title=bp.title,
        tracker=tracker_values(bp),
        tasks=tasks,
        next_task=pending[0].id if pending else None,
        checklist={"checked": sum(1 for c in bp.checklist if c.checked), "total": len(bp.checklist)},
    )
    completed = sum(1 for t in bp.tasks if t.checked)
    report.message = f"{bp.plan_id}: {completed}/{len(bp.tasks)} tasks completed; status {bp.status}"
    return report


def next_goal(session: BlueprintView) -> CommandReport:
    bp = session.load()
    report = CommandReport("next", plan=bp.plan_id, blueprint=session.display, repo=str(session.root))
    pending = bp.pending()
    if not pending:
        report.message = f"every task of {bp.plan_id} is completed"
        report.data = NextData(task=None)
        return report
    from runner.tasks import plan_task  # libcst: only `next` needs the codemod registry

    plan = plan_task(bp, pending[0], session.root)
    recorded = bp.tracker.get("BLOCKER")
    blocker = recorded.value if recorded and task_state(bp, plan.task) == "blocked" else None
    report.data = NextData(
        task=Goal(
            id=plan.task.id,
            title=plan.task.title,
            phase=f"{plan.task.phase.key}: {plan.task.phase.title}",
            line=plan.task.line,
            state=task_state(bp, plan.task),
            steps=[{"line": s.step.line, "text": s.step.text, "kind": s.kind} for s in plan.steps],
            files=list(plan.files),
            manual=bool(plan.manual_steps),
            blocker=blocker,
        )
    )
    report.message = f"next: Task {plan.task.id}: {plan.task.title}" + (
        f" (blocked: {blocker})" if blocker else ""
    )
    return report
