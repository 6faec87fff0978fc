"""The read-only commands: `status`, `next`, `lint`. No lock, no writes."""

from __future__ import annotations

from runner.blueprint.edit import task_state
from runner.commands.session import Session
from runner.errors import ExitCode, RunnerError
from runner.report import CommandReport, Goal, LintData, LintStep, NextData, StatusData, TaskRow
from runner.reporting import tracker_values
from runner.tasks import inserts_code, plan_step, plan_task


def status(session: Session) -> CommandReport:
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


def next_goal(session: Session) -> CommandReport:
    bp = session.load()
    report = CommandReport("next", plan=bp.plan_id, blueprint=session.display, repo=str(session.root))
    pending = bp.pending()
    if not pending:
        report.message = f"every task of {bp.plan_id} is completed"
        report.data = NextData(task=None)
        return report
    plan = plan_task(bp, pending[0], session.root)
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
        )
    )
    report.message = f"next: Task {plan.task.id}: {plan.task.title}"
    return report


def lint(session: Session) -> CommandReport:
    """Classify every step; collect every error rather than stopping at the first."""
    bp = session.load()
    report = CommandReport("lint", plan=bp.plan_id, blueprint=session.display, repo=str(session.root))
    steps: list[LintStep] = []
    errors: list[str] = []
    for task in bp.tasks:
        for step in task.steps:
            try:
                planned, files = plan_step(bp, step, session.root)
                steps.append(
                    LintStep(
                        task=task.id,
                        line=step.line,
                        text=step.text,
                        kind=planned.kind,
                        files=files,
                        inserts_code=inserts_code(planned),
                    )
                )
            except RunnerError as err:
                steps.append(LintStep(task=task.id, line=step.line, text=step.text, kind="error"))
                errors.append(err.one_line())
    report.data = LintData(steps=steps, errors=errors)
    if errors:
        report.exit_code = ExitCode.INPUT_ERROR
        report.message = f"{len(errors)} error(s)"
    else:
        kinds: dict[str, int] = {}
        for entry in steps:
            kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + 1
        report.message = "ok: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        report.message += _code_steps_note([e["line"] for e in steps if e.get("inserts_code")])
    return report


def _code_steps_note(lines: list[int]) -> str:
    """Names the steps that write code taken from the plan, for a reviewer to read first."""
    if not lines:
        return ""
    many = len(lines) > 1
    return (
        f"; {len(lines)} step{'s' if many else ''} insert{'' if many else 's'} code written in the plan "
        f"(line{'s' if many else ''} {', '.join(map(str, lines))}): review {'them' if many else 'it'} "
        "before running"
    )
