"""`revert PLAN:TASK`: undo a task's commits in one new commit and reopen the task."""

from __future__ import annotations

from runner.blueprint.edit import reopen_task
from runner.blueprint.model import parse_blueprint, tracker_values
from runner.blueprint.task_spec import TaskSpec
from runner.blueprint.validators import validators_of
from runner.commands.session import Session, locked
from runner.errors import InputError, RevertConflictError
from runner.faults import checkpoint
from runner.report import CommandReport
from runner.reporting import commit_message, task_header
from runner.review_data import ReopenedRow, RevertData
from runner.task_report import ReopenedTask


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
        # Blueprint-Reverts holds full shas; runners before 0.2 wrote 12-character ones.
        undone = {sha for c in commits for sha in c.reverts}
        to_revert = [
            c
            for c in commits
            if c.task == reopened_task.id
            and c.outcome in ("completed", "done", "skipped")
            and not any(c.sha.startswith(sha) for sha in undone)
        ]
        if not to_revert:
            raise InputError(
                f"no commit of {bp.plan_id} Task {reopened_task.id} to revert "
                "(none has the trailers, or all were reverted)",
                path=session.display,
                code="nothing_to_revert",
            )
        by_hand = {c.sha: repo.reverted_by(c.sha) for c in to_revert}
        if all(by_hand.values()):
            done_by = ", ".join(f"{sha[:12]} by {(by or '')[:12]}" for sha, by in by_hand.items())
            raise InputError(
                f"{bp.plan_id} Task {reopened_task.id} is already reverted ({done_by}, git revert); "
                "nothing to do",
                path=session.display,
                code="nothing_to_revert",
            )
        to_revert = [c for c in to_revert if not by_hand[c.sha]]
        inside = session.blueprint_in_repo
        # The task's commits may have written the blueprint under an earlier name.
        blueprint_names = repo.names_of(inside) if inside else []
        touched = sorted({p for c in to_revert for p in repo.changed_files(c.sha)})
        with session.transaction(bp, reopened_task.id, "revert") as txn:
            txn.git_will_write([session.root / p for p in touched] + [session.blueprint_path])
            try:
                repo.revert_no_commit([c.sha for c in to_revert], keep_ours=blueprint_names)
            except RevertConflictError as err:
                # The later tasks in the way, newest first: reverting them first is the way out.
                lines = err.data.get("later_commits")
                later = [str(line).split()[0] for line in lines] if isinstance(lines, list) else []
                err.data["later_tasks"] = list(
                    dict.fromkeys(c.task for sha in later for c in commits if c.sha.startswith(sha))
                )
                raise
            txn.git_wrote([session.root / p for p in touched])
            checkpoint("during-revert")
            final = session.load()
            reopened = final.task(reopened_task.id)
            code_files = [p for p in touched if p not in blueprint_names]
            validators = validators_of(final, reopened, code_files)
            also = [ReopenedTask(v.task.id, v.task.title, list(v.files)) for v in validators]
            if reopened.checked or validators:
                new_source = reopen_task(final, reopened, [v.task for v in validators])
                txn.write({session.blueprint_path: new_source})
                final = parse_blueprint(new_source, final.path)
            message = commit_message(
                bp,
                reopened_task,
                "reverted",
                blueprint_name=session.blueprint_name,
                run_id=session.run_id,
                reverted=[c.sha for c in to_revert],
                reopened=also,
            )
            sha = session.commit(txn, repo.staged_paths(), message)
        task_report = task_header(reopened_task, "reverted")
        task_report.commit = sha
        task_report.files_changed = repo.changed_files(sha) if sha else []
        task_report.tracker_before = tracker_values(bp)
        task_report.tracker_after = tracker_values(final)
        report.tasks.append(task_report)
        session.events.task_outcome(task_report)
        session.events.emit(
            "reverted",
            task=reopened_task.id,
            commits=[c.sha for c in to_revert],
            reopened=[r.id for r in also],
        )
        report.data = RevertData(
            reverted=[c.sha for c in to_revert],
            reopened=[ReopenedRow(id=r.id, title=r.title, files=r.files) for r in also],
        )
        report.message = (
            f"reverted Task {reopened_task.id} ({len(to_revert)} commit(s)) "
            f"as {sha[:12] if sha else 'no commit'}"
        )
        if also:
            report.message += "; also reopened " + ", ".join(
                f"Task {r.id} (it validated {', '.join(r.files)})" for r in also
            )
    return report
