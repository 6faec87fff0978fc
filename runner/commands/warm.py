"""Start the import gate's server early, when a task the run executes will use it.

The server imports the repo's third-party packages first (torch and lightning take it
seconds). Started right after the session opens, before the runner loads LibCST and the
codemods, that import overlaps the runner's own start-up and its first tasks' steps. This is a
forecast only, cheap and light to import: a gate nobody foresaw starts the server when it runs,
and a wrong guess costs one idle child process.
"""

from __future__ import annotations

from collections.abc import Sequence

from runner.blueprint.model import Task
from runner.blueprint.steps import (
    Action,
    CodemodStep,
    CreateFile,
    Gate,
    InsertBlock,
    InsertMarked,
    Manual,
    MoveFile,
    ReplaceBlock,
    classify,
)
from runner.blueprint.task_spec import TaskSpec
from runner.commands.session import Session
from runner.errors import RunnerError
from runner.gates.import_server import keep_seconds
from runner.gates.imports import prestart
from runner.settings import load_settings


def warm_import_gate(session: Session, task: str | None = None) -> bool:
    """Start the server when running ``task`` (else the pending tasks) may import modules."""
    try:
        bp = session.load()
        tasks = [t for t in [TaskSpec.parse(task).task_in(bp)] if not t.checked] if task else bp.pending()
        settings = load_settings(session.root)
        automatic = settings.gate_on("imports")
    except RunnerError:
        return False  # the run itself reports what is wrong, with its line
    if not imports_ahead(tasks, automatic=automatic):
        return False
    prestart(session.root, python=session.python, keep=keep_seconds(settings.keep_import_server))
    return True


def imports_ahead(tasks: Sequence[Task], *, automatic: bool) -> bool:
    """Whether running ``tasks`` in order may run the import gate.

    An explicit ``imports`` gate does; with the automatic import gate on, so does a step
    that may write a Python module. A task with a manual step stops the run before its
    steps, so nothing from it on counts.
    """
    for task in tasks:
        actions = [classify(step.text, step.blocks) for step in task.steps]
        if any(isinstance(action, Manual) for action in actions):
            return False
        for action in actions:
            if isinstance(action, Gate) and action.gate == "imports":
                return True
            if automatic and _may_write_module(action):
                return True
    return False


def _may_write_module(action: Action) -> bool:
    if isinstance(action, CodemodStep):
        return True
    if isinstance(action, ReplaceBlock | InsertBlock | InsertMarked):
        return action.file.endswith(".py")
    if isinstance(action, CreateFile):
        return action.path.endswith(".py")
    if isinstance(action, MoveFile):
        return action.new.endswith(".py")
    return False
