"""Which later tasks validated a task: the ones a revert of it leaves checking code that is gone.

A task *validates* another when, by structure, it is nothing but gates over that task's
files: a later task in the outline (any phase: plans often end with a Validation phase),
completed (not skipped: a skipped task checked nothing), every step of it a gate step,
and at least one of its gates targets a file the revert changes. A gate's targets are
the files it names and, for an import gate, the module's file (``a.b`` -> ``a/b.py`` or
``a/b/__init__.py``). Titles ("Validate ...") are not read: a title can say anything.
This module knows nothing of git: the caller passes the changed paths.
"""

from __future__ import annotations

from collections.abc import Collection

from runner.blueprint.edit import task_state
from runner.blueprint.model import Blueprint, Task
from runner.blueprint.steps import Gate, classify
from runner.records import datarecord


@datarecord(frozen=True)
class Validator:
    task: Task
    files: tuple[str, ...]  # the changed files its gates checked


def _gate_targets(gate: Gate) -> set[str]:
    targets = {f.rstrip("/") for f in gate.files}
    if gate.module:
        base = gate.module.replace(".", "/")
        targets |= {f"{base}.py", f"{base}/__init__.py"}
    return targets


def validators_of(bp: Blueprint, task: Task, changed: Collection[str]) -> list[Validator]:
    """The completed later tasks whose steps are only gates, some on a file in ``changed``."""
    found: list[Validator] = []
    later = bp.tasks[bp.tasks.index(task) + 1 :]
    for candidate in later:
        if task_state(bp, candidate) != "completed":
            continue
        actions = [classify(step.text, step.blocks) for step in candidate.steps]
        gates = [a for a in actions if isinstance(a, Gate)]
        if len(gates) != len(actions):
            continue
        checked = sorted({t for g in gates for t in _gate_targets(g)} & set(changed))
        if checked:
            found.append(Validator(candidate, tuple(checked)))
    return found
