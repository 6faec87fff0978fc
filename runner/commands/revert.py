"""`revert PLAN:TASK`: undo a task's commits in one new commit and reopen the task."""

from __future__ import annotations

from runner.blueprint.edit import reopen_task
from runner.blueprint.model import parse_blueprint
from runner.blueprint.task_spec import TaskSpec
from runner.commands.session import Session, locked
from runner.errors import InputError
from runner.faults import checkpoint
from runner.report import CommandReport
from runner.reporting import commit_message, task_header, tracker_values


def revert(session: Session, task: str) -> CommandReport:
    report = CommandReport("revert", blueprint=session.display, repo=str(session.root))
    repo = session.repo
    with locked(session, "revert") as notes:
        report.notes += notes
        repo.ensure_clean()
        bp = session.load()
        report.plan = bp.plan_id
        reopened_task = TaskSpec.parse(task).task_in(bp)
        commits = repo.task_commits(bp.plan_id)
        undone = {sha for c in commits for sha in c.reverts}
        to_revert = [
            c
            for c in commits
            if c.task == reopened_task.id and c.outcome in ("completed", "done") and c.sha[:12] not in undone
        ]
        if not to_revert:
            raise InputError(
                f"no commit of {bp.plan_id} Task {reopened_task.id} to revert "
                "(none has the trailers, or all were reverted)",
                path=session.display,
            )
        by_hand = {c.sha: repo.reverted_by(c.sha) for c in to_revert}
        if all(by_hand.values()):
            done_by = ", ".join(f"{sha[:12]} by {(by or '')[:12]}" for sha, by in by_hand.items())
            raise InputError(
                f"{bp.plan_id} Task {reopened_task.id} is already reverted ({done_by}, git revert); "
                "nothing to do",
                path=session.display,
            )
        to_revert = [c for c in to_revert if not by_hand[c.sha]]
        inside = session.blueprint_in_repo
        # The task's commits may have written the blueprint under an earlier name.
        blueprint_names = repo.names_of(inside) if inside else []
        touched = sorted({p for c in to_revert for p in repo.changed_files(c.sha)})
        with session.transaction(bp, reopened_task.id, "revert") as txn:
            txn.git_will_write([session.root / p for p in touched] + [session.blueprint_path])
            repo.revert_no_commit([c.sha for c in to_revert], keep_ours=blueprint_names)
            txn.git_wrote([session.root / p for p in touched])
            checkpoint("during-revert")
            final = session.load()
            reopened = final.task(reopened_task.id)
            if reopened.checked:
                new_source = reopen_task(final, reopened)
                txn.write({session.blueprint_path: new_source})
                final = parse_blueprint(new_source, final.path)
            message = commit_message(
                bp,
                reopened_task,
                "reverted",
                blueprint_name=session.blueprint_name,
                run_id=session.run_id,
                reverted=[c.sha for c in to_revert],
            )
            sha = session.commit(txn, repo.staged_paths(), message)
        task_report = task_header(reopened_task, "reverted")
        task_report.commit = sha
        task_report.files_changed = repo.changed_files(sha) if sha else []
        task_report.tracker_before = tracker_values(bp)
        task_report.tracker_after = tracker_values(final)
        report.tasks.append(task_report)
        report.message = (
            f"reverted Task {reopened_task.id} ({len(to_revert)} commit(s)) "
            f"as {sha[:12] if sha else 'no commit'}"
        )
    return report
