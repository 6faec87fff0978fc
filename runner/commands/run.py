"""`run` (Goal-Execute-Update over the pending tasks) and `done` (commit a person's edits as a task).

Both end in :func:`_commit_or_block`: the task's files are written, gated, and
committed with the tracker update, or restored and the blocker recorded, inside
one :class:`~runner.transaction.Transaction`.
"""

from __future__ import annotations

from runner.blueprint.edit import block_task, complete_task, task_state
from runner.blueprint.model import Blueprint, parse_blueprint, tracker_values
from runner.blueprint.steps import asks_for_change
from runner.blueprint.task_spec import TaskSpec, require_next
from runner.commands.session import Session, locked
from runner.commands.warm import warm_import_gate
from runner.diffs import unified_diff
from runner.errors import DirtyTreeError, ExitCode, InputError, RunnerError
from runner.execute import TaskExecution, apply_steps
from runner.fallback import choose_fallback
from runner.faults import checkpoint
from runner.memo import remembering
from runner.progress import TaskLine
from runner.records import datarecord, field
from runner.report import CommandReport, ErrorInfo
from runner.reporting import blocker_text, commit_message, task_report
from runner.task_gates import run_gates
from runner.task_report import ManualStep, Outcome, TaskReport
from runner.tasks import TaskPlan, plan_blueprint, plan_task


@datarecord
class TaskResult:
    report: TaskReport
    left_dirty: list[str] = field(default_factory=list)  # a hook changed files after the commit


def run(session: Session, *, task: str | None = None, dry_run: bool = False) -> CommandReport:
    report = CommandReport("run", blueprint=session.display, repo=str(session.root))
    spec = None if task is None else TaskSpec.parse(task)
    if dry_run:
        return _dry_run(session, report, spec)
    with locked(session, "run") as notes:
        report.notes += notes
        _ensure_clean_or_advise(session)
        bp = session.load()
        report.plan = bp.plan_id
        _check_blueprint_tracked(session)
        plan_blueprint(bp, session.root)  # all pending tasks valid before the first runs
        selected = _select(bp, spec)
        if not selected:
            report.message = f"nothing to do: every task of {bp.plan_id} is completed"
            return report
        session.progress.tasks([TaskLine(t.id, t.title, task_state(bp, t)) for t in bp.tasks])
        try:
            with remembering():
                # torch imports in the server meanwhile (the CLI started it already)
                if warm_import_gate(session, task):
                    _compute_ahead(session, bp, selected)
                _run_selected(session, report, selected)
        except RunnerError as err:
            if not any(t.commit for t in report.tasks):
                raise
            # Earlier tasks' commits stand: say so instead of "nothing was changed".
            committed = ", ".join(f"{t.id} ({t.commit[:12]})" for t in report.tasks if t.commit)
            report.exit_code = err.exit_code
            report.message = f"{err.one_line()} (after committing Task {committed}: those commits stand)"
            report.error = ErrorInfo.of(err)
    return report


def _ensure_clean_or_advise(session: Session) -> None:
    """A dirty tree is refused; when a manual task waits, those edits may well be it: say so."""
    try:
        session.repo.ensure_clean()
    except DirtyTreeError as err:
        if err.code != "dirty_tree":
            raise
        try:
            bp = session.load()
            pending = bp.pending()
            waiting = pending[0] if pending and plan_task(bp, pending[0], session.root).manual_steps else None
        except RunnerError:
            raise err from None
        if waiting is None:
            raise
        err.data["waiting_task"] = waiting.id
        err.message = (
            f"{err.message.split(';')[0]}; Task {waiting.id} waits for a manual change: if these edits "
            f"are it, run `runner done {bp.plan_id}:{waiting.id}`"
        )
        raise


def _run_selected(session: Session, report: CommandReport, selected: list[str]) -> None:
    for wanted in selected:
        bp = session.load()
        plan = plan_task(bp, bp.task(wanted), session.root)
        if plan.task.checked:
            continue
        session.progress.task_state(plan.task.id, "running")
        result = _run_task(session, bp, plan)
        task_report = result.report
        session.events.task_outcome(task_report)
        session.progress.task_state(plan.task.id, task_report.outcome)
        report.tasks.append(task_report)
        if task_report.outcome == "manual":
            report.exit_code = ExitCode.MANUAL_STEP
            report.message = (
                f"Task {plan.task.id} needs a person or an agent; "
                f"then `runner done {bp.plan_id}:{plan.task.id}`"
            )
            return
        if task_report.outcome == "blocked":
            report.exit_code = ExitCode.TASK_FAILED
            report.message = f"Task {plan.task.id} is blocked: {task_report.blocker}"
            if task_report.commit is None:
                report.message += " (as the tracker already records; no new commit)"
            return
        if result.left_dirty:
            report.exit_code = ExitCode.DIRTY_TREE
            report.message = _left_dirty_message(task_report, result.left_dirty)
            return
    final = session.load()
    report.message = (
        f"{final.plan_id} completed" if not final.pending() else f"{len(report.tasks)} task(s) completed"
    )


def _compute_ahead(session: Session, bp: Blueprint, selected: list[str]) -> None:
    """Compute the selected tasks in memory, each on the files the earlier ones leave, and
    their gates but the import gate, while the import gate's server imports the repo's
    third-party packages; the tasks then find the costly results in :mod:`runner.memo`.

    Nothing is written. It stops at a task that needs a person or would block; an error is
    the real run's to report, with its line.
    """
    earlier: dict[str, bytes | None] = {}
    try:
        tracked = session.repo.tracked_files()
        for wanted in selected:
            plan = plan_task(bp, bp.task(wanted), session.root)
            if plan.manual_steps:
                return
            execution = apply_steps(plan, session.root, earlier)
            gates = run_gates(
                plan,
                execution,
                session.root,
                tracked_py=[p for p in tracked if p.endswith(".py")],
                on_disk=False,
                tracked=[p for p in tracked if p != session.blueprint_in_repo],
            )
            if blocker_text(execution, gates) is not None:
                return
            earlier.update({p: execution.after[p] for p in execution.changed_files()})
            bp = parse_blueprint(complete_task(bp, plan.task), bp.path)
    except RunnerError:
        return


def _left_dirty_message(task: TaskReport, paths: list[str]) -> str:
    return (
        f"Task {task.id} was committed as {(task.commit or '')[:12]}, but a git hook changed files it "
        f"did not commit: {', '.join(paths)}; the next task was not run (commit or discard them first)"
    )


def _check_blueprint_tracked(session: Session) -> None:
    inside = session.blueprint_in_repo
    if inside and inside not in session.repo.tracked_files():
        raise InputError(
            "the blueprint is inside the repo but not committed; commit it first",
            path=session.display,
        )


def _select(bp: Blueprint, spec: TaskSpec | None) -> list[str]:
    if spec is None:
        return [t.id for t in bp.pending()]
    task = spec.task_in(bp)
    return [] if task.checked else [task.id]


def _manual_report(bp: Blueprint, plan: TaskPlan) -> TaskReport:
    """The task stops at its first manual step, named with its line."""
    report = task_report(plan, "manual")
    first = plan.manual_steps[0].step
    report.manual_step = ManualStep(first.line, first.text)
    report.tracker_before = report.tracker_after = tracker_values(bp)
    return report


def _run_task(session: Session, bp: Blueprint, plan: TaskPlan) -> TaskResult:
    if plan.manual_steps:
        return TaskResult(_manual_report(bp, plan))
    execution = apply_steps(plan, session.root, events=session.events)
    return _commit_or_block(session, bp, plan, execution, outcome="completed")


def _commit_or_block(
    session: Session,
    bp: Blueprint,
    plan: TaskPlan,
    execution: TaskExecution,
    *,
    outcome: Outcome,
    persons_files: frozenset[str] = frozenset(),
) -> TaskResult:
    """Write the task's files, gate them, then commit, or restore and record the blocker.

    ``persons_files``: files a person edited (``runner done``); on failure the runner's
    own edits on top of them are undone, theirs are kept, and nothing is committed.
    """
    root = session.root
    changed = execution.changed_files()
    with session.transaction(bp, plan.task.id) as txn:
        txn.write({root / p: execution.after[p] for p in changed}, modes=execution.modes)
        session.progress(f"  gates on {len(changed)} changed file(s)")
        blobs = session.repo.tracked_blobs()  # one git call for the three views below
        gates = run_gates(
            plan,
            execution,
            root,
            tracked_py=[p for p in blobs if p.endswith(".py")],
            on_disk=True,
            python=session.python,
            import_cache=session.import_cache,
            code_state=session.repo.python_fingerprint(
                {p: data for p in changed if (data := execution.after[p]) is not None}, blobs
            ),
            tracked=[p for p in blobs if p != session.blueprint_in_repo],
            events=session.events,
        )
        report = task_report(plan, outcome, execution)
        report.gates = gates
        report.tracker_before = tracker_values(bp)
        blocker = blocker_text(execution, gates)
        if blocker is None:
            new_source = complete_task(bp, plan.task)
            txn.write({session.blueprint_path: new_source})
            checkpoint("after-tracker-write")
            message = commit_message(
                bp,
                plan.task,
                outcome,
                blueprint_name=session.blueprint_name,
                run_id=session.run_id,
                plan=plan,
                execution=execution,
                gates=gates,
            )
            report.commit = session.commit(txn, sorted(set(changed) | persons_files), message)
            for step in report.steps:
                step.checked = True  # as the commit's tracker has them
        else:
            txn.restore()
            report.files_changed = []
            report.blocker = blocker
            fallback = choose_fallback(bp, plan, gates=gates, touched=changed)
            if fallback is not None:
                report.fallback, report.fallback_reason = fallback.text, fallback.reason
            if persons_files:
                report.outcome = "failed"
                return TaskResult(report)
            report.outcome = "blocked"
            new_source = block_task(bp, plan.task, blocker)
            if new_source == bp.source:
                # Blocked again for the same reason: the tracker already says so; no second commit.
                report.tracker_after = tracker_values(bp)
                return TaskResult(report)
            txn.write({session.blueprint_path: new_source})
            message = commit_message(
                bp,
                plan.task,
                "blocked",
                blueprint_name=session.blueprint_name,
                run_id=session.run_id,
                plan=plan,
                execution=execution,
                gates=gates,
                blocker=blocker,
                fallback=report.fallback,
                fallback_reason=report.fallback_reason,
            )
            report.commit = session.commit(txn, [], message)
        report.tracker_after = tracker_values(parse_blueprint(new_source, bp.path))
        return TaskResult(report, txn.left_dirty)


def _tracked_but_blueprint(session: Session) -> list[str]:
    """The files the references gate reads: the blueprint names what it removes, on purpose."""
    return [p for p in session.repo.tracked_files() if p != session.blueprint_in_repo]


def _dry_run(session: Session, report: CommandReport, spec: TaskSpec | None) -> CommandReport:
    session.repo.ensure_no_git_operation()
    bp = session.load()
    report.plan = bp.plan_id
    plan_blueprint(bp, session.root)
    tracked_py = session.repo.tracked_files(".py")
    earlier: dict[str, bytes | None] = {}
    for wanted in _select(bp, spec):
        plan = plan_task(bp, bp.task(wanted), session.root)
        if plan.manual_steps:
            report.tasks.append(_manual_report(bp, plan))
            report.exit_code = ExitCode.MANUAL_STEP
            break
        execution = apply_steps(plan, session.root, earlier)
        gates = run_gates(
            plan,
            execution,
            session.root,
            tracked_py=tracked_py,
            on_disk=False,
            tracked=_tracked_but_blueprint(session),
        )
        # The next task sees this one's files, in memory only.
        earlier.update({p: execution.after[p] for p in execution.changed_files()})
        planned = task_report(plan, "planned", execution)
        planned.gates = gates
        new_source = complete_task(bp, plan.task)
        planned.tracker_before = tracker_values(bp)
        planned.diff = "".join(
            unified_diff(p, execution.before[p], execution.after[p]) for p in execution.changed_files()
        ) + unified_diff(session.blueprint_name, bp.source, new_source)
        # Later tasks are previewed against this task's tracker update, in memory only.
        bp = parse_blueprint(new_source, bp.path)
        planned.tracker_after = tracker_values(bp)
        report.tasks.append(planned)
        blocker = blocker_text(execution, gates)
        if blocker is not None:
            # The run would stop here: later tasks are not previewed on a state it never reaches.
            planned.blocker = blocker
            report.code = "would_block"
            report.message = f"dry run: Task {plan.task.id} would be blocked: {blocker}; nothing was written"
            return report
    if report.exit_code == ExitCode.MANUAL_STEP:
        manual = report.tasks[-1]
        report.message = f"dry run: Task {manual.id} needs a person or an agent; nothing was written"
    else:
        report.message = "dry run: nothing was written"
    return report


def _persons_files(session: Session, plan: TaskPlan) -> tuple[list[str], list[str]]:
    """(files ``done`` commits, untracked files it leaves alone).

    Committed: tracked files that changed, new files the person staged, and files the
    task's steps name. Any other untracked file (a ``.env``, a scratch file) is left.
    """
    untracked = set(session.repo.untracked_paths())
    named = set(plan.files)
    dirty = [p for p in session.repo.dirty_paths() if p != session.blueprint_in_repo]
    return (
        [p for p in dirty if p not in untracked or p in named],
        sorted(p for p in dirty if p in untracked and p not in named),
    )


def done(session: Session, task: str, *, allow_empty: bool = False) -> CommandReport:
    """Commit a person's or an agent's edits as a task, after its mechanical steps and gates."""
    report = CommandReport("done", blueprint=session.display, repo=str(session.root))
    with locked(session, "done") as notes:
        report.notes += notes
        session.repo.ensure_no_git_operation()
        session.repo.head()  # raises on a repository without commits
        bp = session.load()
        report.plan = bp.plan_id
        done_task = TaskSpec.parse(task).task_in(bp)
        if done_task.checked:
            raise InputError(
                f"Task {done_task.id} is already completed", path=session.display, line=done_task.line
            )
        require_next(bp, done_task, session.display, "finish (or skip) it first")
        plan = plan_task(bp, done_task, session.root)
        edited, left_alone = _persons_files(session, plan)
        if left_alone:
            report.notes.append(f"not committed, left as they are (untracked): {', '.join(left_alone)}")
        execution = apply_steps(plan, session.root, events=session.events)
        asking = [s.step.text for s in plan.manual_steps if asks_for_change(s.step.text)]
        if not edited and not execution.changed_files() and asking and not allow_empty:
            raise InputError(
                f"no file changed, yet Task {done_task.id} asks for a change ({asking[0]}); "
                "make it first, or pass --allow-empty",
                path=session.display,
                line=done_task.line,
                code="empty_done",
                data={"task": done_task.id, "steps": asking},
            )
        for path in edited:
            disk = session.root / path
            if disk.is_file():
                # Gates compare with HEAD, so undefined names a person's edit adds show as new.
                execution.after.setdefault(path, disk.read_bytes())
                execution.before[path] = session.repo.read_head(path) or b""
        result = _commit_or_block(
            session, bp, plan, execution, outcome="done", persons_files=frozenset(edited)
        )
        report.tasks.append(result.report)
        session.events.task_outcome(result.report)
        if result.report.outcome == "failed":
            result.report.files_changed = sorted(edited)  # what it saw changed, left in place
            report.exit_code = ExitCode.TASK_FAILED
            report.code = "gates_failed"
            report.message = (
                f"Task {done_task.id} failed its gates; your edits are left in place: {result.report.blocker}"
            )
        elif result.left_dirty:
            report.exit_code = ExitCode.DIRTY_TREE
            report.message = _left_dirty_message(result.report, result.left_dirty)
        else:
            report.message = f"Task {done_task.id} committed as {result.report.commit}"
    return report
