"""The maintainer's commands: `log` (the runner's commits), `show PLAN:TASK` (a task's commits with
their diffs) and `runs [ID]` (the run records). Read-only: no lock, nothing written."""

from __future__ import annotations

import re
from pathlib import Path

from runner import runlog
from runner.blueprint.model import load_blueprint
from runner.blueprint.task_spec import TaskSpec
from runner.errors import InputError
from runner.report import CommandReport
from runner.reporting import gates_in_message
from runner.repository import Repository, TaskCommit
from runner.review_data import LogData, LogEntry, RunsData, ShowData, ShownCommit

_PLAN_ID = re.compile(r"^[A-Za-z][\w-]*-\d+$|^[A-Z][A-Z0-9-]+$")


def _task_key(task_id: str) -> tuple[tuple[int, int | str], ...]:
    """``1.10`` after ``1.9``: numeric parts compare as numbers."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in task_id.split("."))


def _plan_of(target: str, repo: Repository) -> tuple[str, str]:
    """(plan id, blueprint as given) for ``runner log TARGET``: a blueprint file or a plan id."""
    path = Path(target)
    if path.is_file() or path.suffix == ".md":
        return load_blueprint(path, target).plan_id, target
    if _PLAN_ID.match(target):
        return target, ""
    raise InputError("is neither a blueprint file nor a plan id (PLAN-001)", path=target)


def _entry(commit: TaskCommit) -> LogEntry:
    return LogEntry(
        sha=commit.sha,
        short=commit.sha[:12],
        date=commit.date,
        plan=commit.plan,
        task=commit.task,
        outcome=commit.outcome,
        subject=commit.subject,
        run=commit.run,
        reverts=list(commit.reverts),
        reopens=list(commit.reopens),
        gates=gates_in_message(commit.body),
    )


def log(repo_dir: Path, target: str | None) -> CommandReport:
    repo = Repository(repo_dir)
    plan, blueprint = _plan_of(target, repo) if target else (None, "")
    report = CommandReport("log", plan=plan or "", blueprint=blueprint, repo=str(repo.root))
    commits = repo.task_commits(plan)
    # By plan, then task in outline order, then oldest first: each task's history reads down.
    ordered = sorted(reversed(commits), key=lambda c: (c.plan, _task_key(c.task)))
    report.data = LogData(plan=plan, commits=[_entry(c) for c in ordered])
    plans = sorted({c.plan for c in commits})
    report.message = (
        f"{len(commits)} runner commit(s) of {', '.join(plans)}"
        if commits
        else f"no runner commits{f' of {plan}' if plan else ''} in {repo.root}"
    )
    return report


def show(repo_dir: Path, task: str) -> CommandReport:
    spec = TaskSpec.parse(task)
    plan = spec.required_plan()
    repo = Repository(repo_dir)
    report = CommandReport("show", plan=plan, repo=str(repo.root))
    commits = repo.task_commits(plan)
    mine = [c for c in reversed(commits) if c.task == spec.task_id]  # oldest first
    if not mine:
        tasks = sorted({c.task for c in commits}, key=_task_key)
        raise InputError(
            f"no runner commit of {plan} Task {spec.task_id} "
            f"(tasks with commits: {', '.join(tasks) or 'none'})",
            code="nothing_to_show",
            data={"plan": plan, "task": spec.task_id, "tasks": tasks},
        )
    report.data = ShowData(
        task_spec=f"{plan}:{spec.task_id}",
        commits=[
            ShownCommit(
                sha=c.sha,
                short=c.sha[:12],
                date=c.date,
                outcome=c.outcome,
                subject=c.subject,
                run=c.run,
                message=f"{c.subject}\n\n{c.body}".rstrip("\n") + "\n",
                files=repo.changed_files(c.sha),
                diff=repo.patch(c.sha),
            )
            for c in mine
        ],
    )
    outcomes = ", ".join(f"{c.sha[:12]} {c.outcome}" for c in mine)
    report.message = f"{plan} Task {spec.task_id}: {len(mine)} commit(s): {outcomes}"
    return report


def runs(repo_dir: Path, wanted: str | None) -> CommandReport:
    repo = Repository(repo_dir)
    report = CommandReport("runs", repo=str(repo.root))
    directory = runlog.runs_dir(repo.git_dir)
    names = runlog.record_names(directory)
    if wanted is None:
        report.data = RunsData(runs=[runlog.summary(directory, n) for n in names], report="")
        report.message = f"{len(names)} run record(s) in {directory}" if names else "no run records yet"
        return report
    # The record's name, or the run id its commits carry (Blueprint-Run), or a unique prefix of either.
    matches = [n for n in names if n.startswith(wanted) or n.partition("-")[2].startswith(wanted)]
    if len(matches) != 1:
        raise InputError(
            f"{'no' if not matches else 'more than one'} run record matches {wanted!r}; see `runner runs`",
            code="unknown_run",
            data={"runs": names, "matches": matches},
        )
    path = directory / matches[0]
    try:
        text = (path / "report.md").read_text(encoding="utf-8")
    except OSError:
        text = ""  # a run still going, or killed before it finished: events.jsonl has its trail
    summary = runlog.summary(directory, matches[0])
    report.plan = summary["plan"]
    report.data = RunsData(runs=[summary], report=text)
    report.message = f"run record {matches[0]}" + ("" if text else " (unfinished: see events.jsonl)")
    return report
