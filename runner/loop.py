"""The Goal-Execute-Update loop, and the other commands built on the same parts.

``cli -> loop -> (blueprint, codemods via tasks/execute, gates, repository)``.
Every command returns a :class:`CommandReport`; errors meant for the user are
:class:`RunnerError` subclasses raised before anything changes, or after the
working tree has been restored.
"""

from __future__ import annotations

import difflib
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from codemods import registry
from codemods.engine import CodemodCall, apply_codemods
from runner.blueprint.edit import block_task, complete_task, reopen_task
from runner.blueprint.model import Blueprint, Task, load_blueprint, parse_blueprint
from runner.errors import ExitCode, InputError, RunnerError
from runner.execute import TaskExecution, apply_steps, run_gates
from runner.faults import checkpoint
from runner.fsutil import atomic_write, enclosing_root, python_files_under
from runner.gates import GateResult
from runner.gates.imports import ImportOutcome
from runner.journal import Journal, clear_journal, read_journal, restore_files, write_journal
from runner.lock import clear_stale_lock, repo_lock
from runner.report import CommandReport, TaskReport
from runner.repository import Repository
from runner.tasks import TaskPlan, inserts_code, plan_blueprint, plan_step, plan_task
from runner.templating import render

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Session:
    """One command's view of a repository and a blueprint."""

    repo: Repository
    blueprint_path: Path  # absolute
    display: str  # the path as the user gave it, for messages
    python: str = sys.executable
    no_verify: bool = False
    progress: Progress = _quiet
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    import_cache: dict[tuple[str, ...], ImportOutcome] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.repo.root

    @property
    def blueprint_in_repo(self) -> str | None:
        """The blueprint's repo-relative path, or None when it lives outside the repo."""
        try:
            return self.blueprint_path.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def load(self) -> Blueprint:
        return load_blueprint(self.blueprint_path, self.display)


def open_session(
    repo_dir: Path,
    blueprint: Path | None,
    *,
    python: str = sys.executable,
    no_verify: bool = False,
    progress: Progress = _quiet,
) -> Session:
    repo = Repository(repo_dir)
    path = Path("/dev/null") if blueprint is None else blueprint
    absolute = path if path.is_absolute() else Path.cwd() / path
    # A symlinked blueprint: its target is read, written and committed; the link stays a link.
    absolute = absolute.resolve()
    return Session(repo, absolute, str(blueprint), python, no_verify, progress)


def find_blueprint(repo_dir: Path, task_spec: str) -> Path:
    """The blueprint in the repo whose plan id ``task_spec`` (``PLAN-001:1.1``) names."""
    plan, sep, _ = task_spec.rpartition(":")
    if not sep or not plan:
        raise InputError(f"{task_spec!r} names no plan; write PLAN-ID:TASK or pass --blueprint")
    repo = Repository(repo_dir)
    matches = []
    for relative in repo.tracked_files(".md"):
        path = repo.root / relative
        head = path.read_bytes()[:8192] if path.is_file() else b""
        if plan.encode() not in head and plan not in relative:
            continue
        try:
            if parse_blueprint(path.read_bytes(), relative).plan_id == plan and path.resolve() not in matches:
                matches.append(path.resolve())  # a symlink and its target are one blueprint
        except RunnerError:
            continue
    if len(matches) != 1:
        found = "none" if not matches else ", ".join(str(m.relative_to(repo.root)) for m in matches)
        raise InputError(f"expected one blueprint for {plan} in the repo, found {found}; pass --blueprint")
    return matches[0]


# -- shared pieces -----------------------------------------------------------------


@contextmanager
def _locked(session: Session, command: str) -> Iterator[list[str]]:
    """Hold the repo lock; first finish or roll back an interrupted task."""
    with repo_lock(session.repo.git_dir, session.run_id, command):
        yield recover_interrupted(session.repo)


def recover_interrupted(repo: Repository) -> list[str]:
    """Roll back (or confirm) a task a killed runner left half done."""
    journal = read_journal(repo.git_dir)
    if journal is None:
        return []
    head = repo.head()
    landed = head != journal.head and any(
        c.sha == head and c.task == journal.task for c in repo.task_commits(journal.plan)
    )
    if landed:
        clear_journal(repo.git_dir)
        return [
            f"an interrupted run of {journal.plan} Task {journal.task} had committed {head[:12]}; kept it"
        ]
    if journal.operation == "revert":
        repo.quit_revert()
    restored = restore_files(journal)
    inside = [p for p in journal.files if Path(p).is_relative_to(repo.root)]
    if inside:
        repo.repo.git.reset("-q", "--", *[Path(p).relative_to(repo.root).as_posix() for p in inside])
    clear_journal(repo.git_dir)
    return [
        f"rolled back an interrupted run of {journal.plan} Task {journal.task}: "
        f"restored {len(restored)} file(s) to their state before the task"
    ]


def _tracker_values(bp: Blueprint) -> dict[str, str]:
    return {k: f.value for k, f in bp.tracker.items()}


_STOPWORDS = frozenset(
    ["task", "phase", "with", "from", "that", "this", "into", "when", "then", "have", "the", "and", "for"]
)


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in _STOPWORDS}


def match_fallback(bp: Blueprint, task: Task) -> str | None:
    """The Fallback Option whose condition shares the most words with the task."""
    if not bp.fallbacks:
        return None
    wanted = _stems(f"{task.phase.title} {task.title}")
    scored = []
    for _, text in bp.fallbacks:
        condition = text.split(":", 1)[0]
        scored.append((len(_stems(condition) & wanted), text))
    best = max(scored, key=lambda s: s[0])
    if best[0] > 0:
        return best[1].replace("**", "")
    generic = [t for _, t in bp.fallbacks if "validation" in t.lower()]
    return (generic[-1] if generic else bp.fallbacks[-1][1]).replace("**", "")


def _unified(path: str, before: bytes, after: bytes) -> str:
    return "".join(
        difflib.unified_diff(
            before.decode("utf-8", "replace").splitlines(keepends=True),
            after.decode("utf-8", "replace").splitlines(keepends=True),
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
        for file, key, before, value in execution.config_changes:
            if file == path:
                counts[f"set {key}: {before} -> {value}"] = 1
        text = ", ".join(
            f"{name} ({n})" if not name.startswith("set ") else name for name, n in counts.items()
        )
        summaries.append({"path": path, "summary": text or "changed"})
    return summaries


def _task_report(plan: TaskPlan, outcome: str, execution: TaskExecution | None = None) -> TaskReport:
    task = plan.task
    report = TaskReport(task.id, task.title, f"{task.phase.key}: {task.phase.title}", outcome)
    report.steps = [
        {"line": s.step.line, "text": s.step.text, "kind": s.kind, "checked": s.step.checked}
        for s in plan.steps
    ]
    if execution is not None:
        report.files_changed = execution.changed_files()
        report.changes = [
            {"file": f, "codemod": c.codemod, "line": c.line, "description": c.description}
            for f, c in execution.changes
        ]
        report.skips = [
            {"file": f, "codemod": s.codemod, "line": s.line, "reason": s.reason} for f, s in execution.skips
        ]
        report.file_problems = [
            {"file": f, "status": st, "reason": r} for f, st, r in execution.file_problems
        ]
        outcomes = {o.line: o for o in execution.steps}
        for step in report.steps:
            if step["line"] in outcomes:
                step["detail"] = outcomes[step["line"]].detail
                step["ok"] = outcomes[step["line"]].ok
    return report


def _commit_message(
    session: Session,
    bp: Blueprint,
    task: Task,
    outcome: str,
    *,
    plan: TaskPlan | None = None,
    execution: TaskExecution | None = None,
    gates: Sequence[GateResult] = (),
    blocker: str = "",
    fallback: str | None = None,
    reverted: Sequence[str] = (),
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
        blueprint=session.blueprint_in_repo or session.display,
        files=_file_summaries(execution) if execution else [],
        skips=skips,
        steps=[{"kind": s.kind, "text": s.step.text} for s in plan.steps] if plan else [],
        gates=[g.line() for g in gates],
        blocker=blocker,
        fallback=fallback,
        codemods=list(plan.codemod_names) if plan else [],
        run_id=session.run_id,
        reverted=[sha[:12] for sha in reverted],
    )


def _write_blueprint(session: Session, data: bytes) -> None:
    atomic_write(session.blueprint_path, data)


def _commit(session: Session, paths: list[str], message: str) -> str | None:
    """Commit ``paths`` (and the blueprint when it lives in the repo)."""
    inside = session.blueprint_in_repo
    paths = list(dict.fromkeys(paths + ([inside] if inside else [])))
    if not paths:
        return None
    return session.repo.commit(paths, message, no_verify=session.no_verify)


# -- run ---------------------------------------------------------------------------


def run(session: Session, *, task_id: str | None = None, dry_run: bool = False) -> CommandReport:
    report = CommandReport("run", blueprint=session.display, repo=str(session.root))
    if dry_run:
        return _dry_run(session, report, task_id)
    with _locked(session, "run") as notes:
        report.notes += notes
        session.repo.ensure_clean()
        bp = session.load()
        report.plan = bp.plan_id
        _check_blueprint_tracked(session)
        plan_blueprint(bp, session.root)  # all pending tasks valid before the first runs
        selected = _select(bp, task_id)
        if not selected:
            report.message = f"nothing to do: every task of {bp.plan_id} is completed"
            return report
        for wanted in selected:
            bp = session.load()
            plan = plan_task(bp, bp.task(wanted), session.root)
            if plan.task.checked:
                continue
            task_report = _run_task(session, bp, plan)
            report.tasks.append(task_report)
            if task_report.outcome == "manual":
                report.exit_code = ExitCode.MANUAL_STEP
                report.message = (
                    f"Task {plan.task.id} needs a person or an agent; "
                    f"then `runner done {bp.plan_id}:{plan.task.id}`"
                )
                break
            if task_report.outcome == "blocked":
                report.exit_code = ExitCode.TASK_FAILED
                report.message = f"Task {plan.task.id} is blocked: {task_report.blocker}"
                break
        else:
            final = session.load()
            report.message = (
                f"{final.plan_id} completed"
                if not final.pending()
                else f"{len(report.tasks)} task(s) completed"
            )
    return report


def _check_blueprint_tracked(session: Session) -> None:
    inside = session.blueprint_in_repo
    if inside and inside not in session.repo.tracked_files():
        raise InputError(
            "the blueprint is inside the repo but not committed; commit it first",
            path=session.display,
        )


def _select(bp: Blueprint, task_id: str | None) -> list[str]:
    if task_id is None:
        return [t.id for t in bp.pending()]
    task = bp.task(_task_part(task_id, bp))
    return [] if task.checked else [task.id]


def _task_part(spec: str, bp: Blueprint) -> str:
    plan, sep, task = spec.rpartition(":")
    if sep and plan and plan != bp.plan_id:
        raise InputError(f"{spec!r} names plan {plan}, but the blueprint is {bp.plan_id}", path=bp.path)
    return task


def _manual_report(bp: Blueprint, plan: TaskPlan) -> TaskReport:
    """The task stops at its first manual step, named with its line."""
    report = _task_report(plan, "manual")
    first = plan.manual_steps[0].step
    report.manual_step = {"line": first.line, "text": first.text}
    report.tracker_before = report.tracker_after = _tracker_values(bp)
    return report


def _run_task(session: Session, bp: Blueprint, plan: TaskPlan) -> TaskReport:
    task = plan.task
    session.progress(f"{bp.plan_id} Task {task.id}: {task.title}")
    if plan.manual_steps:
        return _manual_report(bp, plan)
    execution = apply_steps(plan, session.root)
    return _commit_or_block(session, bp, plan, execution, outcome="completed")


def _commit_or_block(
    session: Session,
    bp: Blueprint,
    plan: TaskPlan,
    execution: TaskExecution,
    *,
    outcome: str,
    keep_on_failure: frozenset[str] = frozenset(),
) -> TaskReport:
    """Write the task's files, gate them, then commit, or restore and record the blocker.

    ``keep_on_failure``: files a person edited (``runner done``); on failure the
    runner's own edits on top of them are undone, theirs are kept, and nothing is committed.
    """
    root = session.root
    changed = execution.changed_files()
    # Pre-images are what is on disk now: for `done` that includes a person's edits.
    preimages: dict[str, bytes | None] = {
        str(root / p): (root / p).read_bytes() if (root / p).exists() else None for p in changed
    }
    preimages[str(session.blueprint_path)] = bp.source
    journal = Journal(session.run_id, bp.plan_id, plan.task.id, session.repo.head(), preimages)
    write_journal(session.repo.git_dir, journal)
    checkpoint("after-journal")
    try:
        for path in changed:
            if preimages[str(root / path)] != execution.after[path]:
                atomic_write(root / path, execution.after[path])
        checkpoint("after-writes")
        session.progress(f"  gates on {len(changed)} changed file(s)")
        gates = run_gates(
            plan,
            execution,
            root,
            tracked_py=session.repo.tracked_files(".py"),
            on_disk=True,
            python=session.python,
            import_cache=session.import_cache,
            code_state=session.repo.python_fingerprint({p: execution.after[p] for p in changed}),
        )
        report = _task_report(plan, outcome, execution)
        report.gates = [g.as_dict() for g in gates]
        report.tracker_before = _tracker_values(bp)
        failures = execution.failures + [
            f"{g.gate} gate failed on {g.target}: {g.detail}" for g in gates if g.status == "failed"
        ]
        if failures:
            restore_files(journal)
            report.outcome = "blocked"
            report.files_changed = []
            report.blocker = failures[0] + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
            report.fallback = match_fallback(bp, plan.task)
            if keep_on_failure:
                report.outcome = "failed"
                clear_journal(session.repo.git_dir)
                return report
            _write_blueprint(session, block_task(bp, plan.task, report.blocker))
            message = _commit_message(
                session,
                bp,
                plan.task,
                "blocked",
                plan=plan,
                execution=execution,
                gates=gates,
                blocker=report.blocker,
                fallback=report.fallback,
            )
            report.commit = _commit(session, [], message)
            report.tracker_after = _tracker_values(session.load())
            clear_journal(session.repo.git_dir)
            return report
        _write_blueprint(session, complete_task(bp, plan.task))
        checkpoint("after-tracker-write")
        message = _commit_message(
            session, bp, plan.task, outcome, plan=plan, execution=execution, gates=gates
        )
        report.commit = _commit(session, sorted(set(changed) | keep_on_failure), message)
        checkpoint("after-commit")
        report.tracker_after = _tracker_values(session.load())
        clear_journal(session.repo.git_dir)
        return report
    except BaseException:
        restore_files(journal)
        inside = [p for p in [*changed, session.blueprint_in_repo or ""] if p]
        session.repo.unstage(inside)
        clear_journal(session.repo.git_dir)
        raise


def _dry_run(session: Session, report: CommandReport, task_id: str | None) -> CommandReport:
    session.repo.ensure_no_git_operation()
    bp = session.load()
    report.plan = bp.plan_id
    plan_blueprint(bp, session.root)
    tracked_py = session.repo.tracked_files(".py")
    for wanted in _select(bp, task_id):
        plan = plan_task(bp, bp.task(wanted), session.root)
        if plan.manual_steps:
            report.tasks.append(_manual_report(bp, plan))
            report.exit_code = ExitCode.MANUAL_STEP
            break
        execution = apply_steps(plan, session.root)
        gates = run_gates(plan, execution, session.root, tracked_py=tracked_py, on_disk=False)
        task_report = _task_report(plan, "planned", execution)
        task_report.gates = [g.as_dict() for g in gates]
        new_source = complete_task(bp, plan.task)
        task_report.tracker_before = _tracker_values(bp)
        task_report.diff = "".join(
            _unified(p, execution.before[p], execution.after[p]) for p in execution.changed_files()
        ) + _unified(session.blueprint_in_repo or session.display, bp.source, new_source)
        # Later tasks are previewed against this task's tracker update, in memory only.
        bp = parse_blueprint(new_source, bp.path)
        task_report.tracker_after = _tracker_values(bp)
        report.tasks.append(task_report)
    report.message = "dry run: nothing was written"
    return report


# -- done --------------------------------------------------------------------------


def done(session: Session, task_spec: str) -> CommandReport:
    """Commit a person's or an agent's edits as a task, after its mechanical steps and gates."""
    report = CommandReport("done", blueprint=session.display, repo=str(session.root))
    with _locked(session, "done") as notes:
        report.notes += notes
        session.repo.ensure_no_git_operation()
        session.repo.head()  # raises on a repository without commits
        bp = session.load()
        report.plan = bp.plan_id
        task = bp.task(_task_part(task_spec, bp))
        if task.checked:
            raise InputError(f"Task {task.id} is already completed", path=session.display, line=task.line)
        plan = plan_task(bp, task, session.root)
        edited = [p for p in session.repo.dirty_paths() if p != session.blueprint_in_repo]
        execution = apply_steps(plan, session.root)
        for path in edited:
            disk = session.root / path
            if disk.is_file():
                # Gates compare with HEAD, so undefined names a person's edit adds show as new.
                execution.after.setdefault(path, disk.read_bytes())
                execution.before[path] = session.repo.read_head(path) or b""
        task_report = _commit_or_block(
            session, bp, plan, execution, outcome="done", keep_on_failure=frozenset(edited)
        )
        report.tasks.append(task_report)
        if task_report.outcome == "failed":
            report.exit_code = ExitCode.TASK_FAILED
            report.message = (
                f"Task {task.id} failed its gates; your edits are left in place: {task_report.blocker}"
            )
        else:
            report.message = f"Task {task.id} committed as {task_report.commit}"
    return report


# -- revert ------------------------------------------------------------------------


def revert(session: Session, task_spec: str) -> CommandReport:
    report = CommandReport("revert", blueprint=session.display, repo=str(session.root))
    with _locked(session, "revert") as notes:
        report.notes += notes
        session.repo.ensure_clean()
        bp = session.load()
        report.plan = bp.plan_id
        task = bp.task(_task_part(task_spec, bp))
        commits = session.repo.task_commits(bp.plan_id)
        undone = {sha for c in commits for sha in c.reverts}
        targets = [
            c
            for c in commits
            if c.task == task.id and c.outcome in ("completed", "done") and c.sha[:12] not in undone
        ]
        if not targets:
            raise InputError(
                f"no commit of {bp.plan_id} Task {task.id} to revert "
                "(none has the trailers, or all were reverted)",
                path=session.display,
            )
        start = session.repo.head()
        inside = session.blueprint_in_repo
        external_before = None if inside else session.blueprint_path.read_bytes()
        touched = {p for c in targets for p in session.repo.changed_files(c.sha)}
        preimages: dict[str, bytes | None] = {
            str(session.root / p): (session.root / p).read_bytes() if (session.root / p).exists() else None
            for p in sorted(touched)
        }
        preimages[str(session.blueprint_path)] = session.blueprint_path.read_bytes()
        write_journal(
            session.repo.git_dir, Journal(session.run_id, bp.plan_id, task.id, start, preimages, "revert")
        )
        try:
            session.repo.revert_no_commit([c.sha for c in targets], keep_ours=[inside] if inside else [])
            checkpoint("during-revert")
            current = session.load()
            reopened = current.task(task.id)
            if reopened.checked:
                _write_blueprint(session, reopen_task(current, reopened))
            message = _commit_message(session, bp, task, "reverted", reverted=[c.sha for c in targets])
            paths = session.repo.staged_paths()
            sha = _commit(session, paths, message)
        except BaseException:
            session.repo.abort_to(start)
            if external_before is not None:
                _write_blueprint(session, external_before)
            clear_journal(session.repo.git_dir)
            raise
        clear_journal(session.repo.git_dir)
        task_report = TaskReport(task.id, task.title, f"{task.phase.key}: {task.phase.title}", "reverted")
        task_report.commit = sha
        task_report.files_changed = session.repo.changed_files(sha) if sha else []
        task_report.tracker_before = _tracker_values(bp)
        task_report.tracker_after = _tracker_values(session.load())
        report.tasks.append(task_report)
        report.message = (
            f"reverted Task {task.id} ({len(targets)} commit(s)) as {sha[:12] if sha else 'no commit'}"
        )
    return report


# -- read-only commands -----------------------------------------------------------


def _task_state(bp: Blueprint, task: Task) -> str:
    if task.checked:
        return "completed"
    blocker = bp.tracker.get("BLOCKER")
    if bp.status.lower() == "blocked" and blocker and blocker.value.startswith(f"Task {task.id}:"):
        return "blocked"
    return "pending"


def status(session: Session) -> CommandReport:
    bp = session.load()
    report = CommandReport("status", plan=bp.plan_id, blueprint=session.display, repo=str(session.root))
    tasks = [
        {
            "id": t.id,
            "title": t.title,
            "phase": t.phase.key,
            "state": _task_state(bp, t),
            "line": t.line,
        }
        for t in bp.tasks
    ]
    pending = bp.pending()
    report.data = {
        "title": bp.title,
        "tracker": _tracker_values(bp),
        "tasks": tasks,
        "next_task": pending[0].id if pending else None,
        "checklist": {
            "checked": sum(1 for c in bp.checklist if c.checked),
            "total": len(bp.checklist),
        },
    }
    done_count = sum(1 for t in bp.tasks if t.checked)
    report.message = f"{bp.plan_id}: {done_count}/{len(bp.tasks)} tasks completed; status {bp.status}"
    return report


def next_goal(session: Session) -> CommandReport:
    bp = session.load()
    report = CommandReport("next", plan=bp.plan_id, blueprint=session.display, repo=str(session.root))
    pending = bp.pending()
    if not pending:
        report.message = f"every task of {bp.plan_id} is completed"
        report.data = {"task": None}
        return report
    plan = plan_task(bp, pending[0], session.root)
    report.data = {
        "task": {
            "id": plan.task.id,
            "title": plan.task.title,
            "phase": f"{plan.task.phase.key}: {plan.task.phase.title}",
            "line": plan.task.line,
            "state": _task_state(bp, plan.task),
            "steps": [{"line": s.step.line, "text": s.step.text, "kind": s.kind} for s in plan.steps],
            "files": list(plan.files),
            "manual": bool(plan.manual_steps),
        }
    }
    report.message = f"next: Task {plan.task.id}: {plan.task.title}"
    return report


def lint(session: Session) -> CommandReport:
    """Classify every step; collect every error rather than stopping at the first."""
    bp = session.load()
    report = CommandReport("lint", plan=bp.plan_id, blueprint=session.display, repo=str(session.root))
    steps = []
    errors = []
    for task in bp.tasks:
        for step in task.steps:
            try:
                planned, files = plan_step(bp, step, session.root)
                entry = {
                    "task": task.id,
                    "line": step.line,
                    "text": step.text,
                    "kind": planned.kind,
                    "inserts_code": inserts_code(planned),
                }
                entry["files"] = files
            except RunnerError as err:
                entry = {
                    "task": task.id,
                    "line": step.line,
                    "text": step.text,
                    "kind": "error",
                    "inserts_code": False,
                }
                errors.append(err.one_line())
            steps.append(entry)
    report.data = {"steps": steps, "errors": errors}
    if errors:
        report.exit_code = ExitCode.INPUT_ERROR
        report.message = f"{len(errors)} error(s)"
    else:
        kinds: dict[str, int] = {}
        for entry in steps:
            kinds[str(entry["kind"])] = kinds.get(str(entry["kind"]), 0) + 1
        report.message = "ok: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        report.message += _code_steps_note([e for e in steps if e["inserts_code"]])
    return report


def _code_steps_note(inserting: list[dict[str, object]]) -> str:
    if not inserting:
        return ""
    lines = ", ".join(str(e["line"]) for e in inserting)
    many = len(inserting) > 1
    return (
        f"; {len(inserting)} step{'s' if many else ''} insert{'' if many else 's'} code written in the plan "
        f"(line{'s' if many else ''} {lines}): review {'them' if many else 'it'} before running"
    )


def recover(session: Session) -> CommandReport:
    report = CommandReport("recover", repo=str(session.root))
    cleared = clear_stale_lock(session.repo.git_dir)
    with _locked(session, "recover") as notes:
        report.notes += notes
    if cleared:
        report.notes.append(cleared)
    report.message = "; ".join(report.notes) or "nothing to recover"
    return report


# -- codemods on their own ---------------------------------------------------------


def codemod_list() -> CommandReport:
    report = CommandReport("codemod list")
    report.data = {
        "codemods": [
            {
                "name": name,
                "description": cls.DESCRIPTION,
                "options": [
                    {"name": o.name, "type": o.kind.__name__, "default": o.default, "help": o.help}
                    for o in cls.OPTIONS
                ],
            }
            for name, cls in sorted(registry().items())
        ]
    }
    return report


def codemod_apply(
    name: str,
    options: dict[str, str],
    paths: list[Path],
    *,
    dry_run: bool,
    progress: Progress = _quiet,
) -> CommandReport:
    """Run one codemod on files and directories, outside any blueprint."""
    report = CommandReport("codemod apply")
    codemod = registry().get(name)
    if codemod is None:
        raise InputError(f"unknown codemod {name!r} (known: {', '.join(sorted(registry()))})")
    try:
        call = CodemodCall(codemod, codemod.resolve_options(options))
    except ValueError as err:
        raise InputError(str(err)) from None
    files: list[dict[str, object]] = []
    diff: list[str] = []
    totals = {"scanned": 0, "parsed": 0, "changed": 0, "skipped": 0, "error": 0}
    for root in paths:
        if not root.exists():
            raise InputError("no such file or directory", path=str(root))
        for found in python_files_under(root, enclosing_root(root), boundary="the tree"):
            totals["scanned"] += 1
            if found.problem:  # a FIFO, a symlink leaving the tree or into .git, a submodule
                totals["skipped"] += 1
                files.append(
                    {
                        "file": str(found.path),
                        "status": "skipped",
                        "reason": found.problem,
                        "changes": [],
                        "skips": [],
                    }
                )
                continue
            path = found.resolved if found.path.is_symlink() else found.path  # name the file that changes
            source = path.read_bytes()
            outcome = apply_codemods(source, [call], str(path))
            totals["parsed"] += outcome.parsed
            if outcome.status in totals:
                totals[outcome.status] += 1
            if outcome.status == "unchanged" and not outcome.skips:
                continue
            files.append(
                {
                    "file": str(path),
                    "status": outcome.status,
                    "reason": outcome.reason,
                    "changes": [{"line": c.line, "description": c.description} for c in outcome.changes],
                    "skips": [{"line": s.line, "reason": s.reason} for s in outcome.skips],
                }
            )
            if outcome.status == "changed":
                if dry_run:
                    diff.append(_unified(str(path), source, outcome.after))
                else:
                    atomic_write(path, outcome.after)
                progress(f"{path}: {len(outcome.changes)} change(s)")
    report.data = {
        "codemod": name,
        "options": call.options,
        "files": files,
        "totals": totals,
        "diff": "".join(diff),
    }
    report.message = (
        f"{name}: {totals['changed']} file(s) changed of {totals['scanned']} scanned "
        f"({totals['parsed']} parsed), {totals['skipped']} skipped, {totals['error']} error(s)"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    return report
