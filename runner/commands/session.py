"""One command's view of a repository and a blueprint, and the lock every writer holds."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runner.blueprint.model import Blueprint, load_blueprint, parse_blueprint
from runner.blueprint.task_spec import TaskSpec
from runner.errors import InputError, RunnerError
from runner.gates.imports import ImportOutcome
from runner.progress import Progress, quiet
from runner.records import datarecord, field
from runner.repository import Repository
from runner.runlog import EventLog
from runner.transaction import Transaction, exclusive

__all__ = ["Progress", "Session", "quiet"]


@datarecord
class Session:
    repo: Repository
    blueprint_path: Path  # absolute
    display: str  # the path as the user gave it, for messages
    python: str = sys.executable
    no_verify: bool = False
    progress: Progress = quiet
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    import_cache: dict[tuple[str, ...], ImportOutcome] = field(default_factory=dict)
    events: EventLog = field(default_factory=EventLog)  # steps, gates, outcomes (runner/runlog.py)

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

    @property
    def blueprint_name(self) -> str:
        """How commit messages name the blueprint."""
        return self.blueprint_in_repo or self.display

    def load(self) -> Blueprint:
        return load_blueprint(self.blueprint_path, self.display)

    def transaction(self, bp: Blueprint, task_id: str, operation: str = "run") -> Transaction:
        return Transaction(self.repo, run_id=self.run_id, plan=bp.plan_id, task=task_id, operation=operation)

    def commit(self, txn: Transaction, paths: list[str], message: str) -> str | None:
        """Commit ``paths`` and the blueprint when it lives in the repo; None when there is nothing."""
        inside = self.blueprint_in_repo
        paths = list(dict.fromkeys(paths + ([inside] if inside else [])))
        if not paths:
            return None
        with self.events.timed("commit", task=txn.journal.task, paths=paths) as out:
            out["sha"] = sha = txn.commit(paths, message, no_verify=self.no_verify)
        return sha


def open_session(
    repo_dir: Path,
    blueprint: Path | None,
    *,
    python: str = sys.executable,
    no_verify: bool = False,
    progress: Progress = quiet,
) -> Session:
    repo = Repository(repo_dir)
    path = Path("/dev/null") if blueprint is None else blueprint
    absolute = path if path.is_absolute() else Path.cwd() / path
    # A symlinked blueprint: its target is read, written and committed; the link stays a link.
    absolute = absolute.resolve()
    return Session(repo, absolute, str(blueprint), python, no_verify, progress)


def find_blueprint(repo_dir: Path, spec: TaskSpec) -> Path:
    """The blueprint in the repo whose plan id ``spec`` (``PLAN-001:1.1``) names."""
    plan = spec.required_plan()
    repo = Repository(repo_dir)
    repo.ensure_no_git_operation()  # a conflicted blueprint would hide the plan: say why instead
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
        found = [m.relative_to(repo.root).as_posix() for m in matches]
        raise InputError(
            f"expected one blueprint for {plan} in the repo, found {', '.join(found) or 'none'}; "
            "pass --blueprint",
            code="ambiguous_plan" if found else "plan_not_found",
            data={"plan": plan, "candidates": [str(m) for m in matches]},
        )
    return matches[0]


@contextmanager
def locked(session: Session, command: str) -> Iterator[list[str]]:
    """Hold the repo lock; first finish or roll back a task a killed runner left."""
    _refuse_protected_branch(session)
    with exclusive(session.repo, session.run_id, command) as notes:
        yield notes


def _refuse_protected_branch(session: Session) -> None:
    """[tool.runner] protected-branches: the runner never commits on them."""
    from runner.settings import load_settings

    protected = load_settings(session.root).protected_branches
    if not protected:
        return
    try:
        branch = session.repo.repo.active_branch.name
    except TypeError:  # a detached HEAD is no branch
        return
    if branch in protected:
        raise InputError(
            f"branch {branch!r} is protected in [tool.runner] protected-branches; "
            "switch to a work branch first (git switch -c NAME)",
            path=str(session.root / "pyproject.toml"),
            code="protected_branch",
            data={"branch": branch, "protected": list(protected)},
        )
