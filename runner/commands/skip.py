"""`skip PLAN:TASK --reason TEXT`: record that a pending or blocked task will not be done.

The task is checked and its steps are not (none ran), the reason goes into the
tracker's LAST COMPLETED TASK and the commit, and `revert` reopens it like any task.
Only the next task in order can be skipped, on a clean tree: skipping never commits
anyone's edits.
"""

from __future__ import annotations

from runner.blueprint.edit import skip_task, task_state
from runner.blueprint.model import parse_blueprint, tracker_values
from runner.blueprint.task_spec import TaskSpec, require_next
from runner.commands.session import Session, locked
from runner.errors import InputError
from runner.report import CommandReport
from runner.reporting import commit_message, task_header


def skip(session: Session, task: str, reason: str) -> CommandReport:
    report = CommandReport("skip", blueprint=session.display, repo=str(session.root))
    reason = " ".join(reason.split())
    if not reason:
        raise InputError("--reason must say why the task is skipped", code="usage")
    with locked(session, "skip") as notes:
        report.notes += notes
        session.repo.ensure_clean()
        bp = session.load()
        report.plan = bp.plan_id
        skipped = TaskSpec.parse(task).task_in(bp)
        if skipped.checked:
            raise InputError(
                f"Task {skipped.id} is already {task_state(bp, skipped)}",
                path=session.display,
                line=skipped.line,
                code="task_completed",
            )
        require_next(bp, skipped, session.display, "tasks are skipped in order")
        was = task_state(bp, skipped)
        new_source = skip_task(bp, skipped, reason)
        with session.transaction(bp, skipped.id, "skip") as txn:
            txn.write({session.blueprint_path: new_source})
            message = commit_message(
                bp,
                skipped,
                "skipped",
                blueprint_name=session.blueprint_name,
                run_id=session.run_id,
                reason=reason,
            )
            sha = session.commit(txn, [], message)
        task_report = task_header(skipped, "skipped")
        task_report.commit = sha
        task_report.tracker_before = tracker_values(bp)
        task_report.tracker_after = tracker_values(parse_blueprint(new_source, bp.path))
        report.tasks.append(task_report)
        session.events.task_outcome(task_report)
        report.message = f"skipped Task {skipped.id} ({was}): {reason}"
    return report
