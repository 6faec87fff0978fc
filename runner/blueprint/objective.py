"""A task's objective, as the blueprint states it: the "why" a task's commit body carries.

Blueprints state objectives in one place only: the **OBJECTIVE:** of the Immediate Next
Action block, written by the plan's author for the task it names (the runner re-renders
that block after each task with :func:`generated_objective`, which says nothing the
outline does not, so it does not count). Without one, the phase speaks for its tasks: the
prose between the phase's heading and its first task, else the phase's title. Nothing is
made up. This module knows nothing of git.
"""

from __future__ import annotations

import re

from runner.blueprint.model import Blueprint, Task
from runner.records import datarecord

_FIELD = re.compile(r"^\s*\*\*(?P<key>[A-Z][A-Z ]*):\*\*\s*(?P<value>.*?)\s*$")
_TASK_REF = re.compile(r"^Task\s+(?P<id>[\w.-]+?)\s*(?::|$)")


@datarecord(frozen=True)
class Objective:
    text: str
    source: str  # where the blueprint says it: "Immediate Next Action", "Phase 1" ...


def generated_objective(task: Task) -> str:
    """What the runner writes as OBJECTIVE when it re-renders the next-action block."""
    return f"Complete Phase {task.phase.key} ({task.phase.title}), {task.label}"


def _next_action_fields(bp: Blueprint) -> dict[str, str]:
    """``**KEY:** value`` paragraphs of the Immediate Next Action block (a value runs to a blank line)."""
    section = bp.next_action
    if section is None:
        return {}
    fields: dict[str, str] = {}
    key = ""
    for line in bp.lines[section.first_line - 1 : section.last_line]:
        match = _FIELD.match(line.text)
        if match:
            key = match.group("key")
            fields[key] = match.group("value")
        elif not line.text.strip():
            key = ""
        elif key:
            fields[key] = f"{fields[key]} {line.text.strip()}".strip()
    return fields


def _phase_prose(bp: Blueprint, task: Task) -> str:
    first = next(t for t in bp.tasks if t.phase == task.phase)
    lines = [ln.text.strip() for ln in bp.lines[task.phase.line : first.line - 1]]
    return " ".join(text for text in lines if text)


def task_objective(bp: Blueprint, task: Task) -> Objective:
    fields = _next_action_fields(bp)
    named = _TASK_REF.match(fields.get("TASK", ""))
    stated = fields.get("OBJECTIVE", "")
    if named and named.group("id") == task.id and stated and stated != generated_objective(task):
        return Objective(stated, "the blueprint's Immediate Next Action")
    prose = _phase_prose(bp, task)
    where = f"Phase {task.phase.key}"
    if prose:
        return Objective(prose, f"{where} of the blueprint")
    return Objective(task.phase.title, f"{where}'s title in the blueprint")
