"""Tracker transitions as byte-span edits: only the bytes meant to change change.

Each transition takes a parsed :class:`Blueprint` and returns the new file bytes:
checkbox marks flip in place, tracker values are replaced within their spans,
a BLOCKER line is added or removed whole, and the Immediate Next Action block
is re-rendered. Every other byte, encoding oddities included, is copied.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from runner.blueprint import TaskState
from runner.blueprint.model import Blueprint, Checkbox, Task, encode
from runner.records import datarecord
from runner.templating import render


@datarecord(frozen=True)
class Edit:
    """Replace bytes ``start``..``end`` of a file with ``replacement``."""

    start: int
    end: int
    replacement: bytes


def apply_edits(source: bytes, edits: Iterable[Edit]) -> bytes:
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise ValueError(f"overlapping edits at bytes {before.start} and {after.start}")
    out: list[bytes] = []
    cursor = 0
    for edit in ordered:
        out.append(source[cursor : edit.start])
        out.append(edit.replacement)
        cursor = edit.end
    out.append(source[cursor:])
    return b"".join(out)


def _marks(items: Iterable[Checkbox], checked: bool) -> list[Edit]:
    mark = b"x" if checked else b" "
    # Keep an existing 'X' when checking: it is already checked, nothing to change.
    return [Edit(i.mark_offset, i.mark_offset + 1, mark) for i in items if i.checked != checked]


def _single_line(text: str) -> str:
    return " ".join(text.split())


def _tracker_edits(bp: Blueprint, values: dict[str, str | None]) -> list[Edit]:
    """Set tracker values; ``None`` for BLOCKER removes its line."""
    edits: list[Edit] = []
    for key, value in values.items():
        current = bp.tracker.get(key)
        if value is None:
            if current is not None:
                line = bp.lines[current.line - 1]
                edits.append(Edit(line.start, line.start + len(line.raw), b""))
            continue
        value = _single_line(value)
        if current is not None:
            if current.value != value:
                edits.append(Edit(current.value_start, current.value_end, encode(value)))
            continue
        # A missing optional field (BLOCKER) goes on a new line after NEXT TASK,
        # written with NEXT TASK's own bullet prefix and line ending.
        anchor = bp.tracker["NEXT TASK"]
        line = bp.lines[anchor.line - 1]
        prefix = bp.source[line.start : anchor.value_start].replace(b"NEXT TASK", encode(key))
        ending = line.ending or bp.newline
        new_line = prefix + encode(value) + ending
        if not line.ending:  # NEXT TASK was the file's last line
            edits.append(Edit(line.content_end, line.content_end, ending + prefix + encode(value)))
        else:
            edits.append(Edit(line.start + len(line.raw), line.start + len(line.raw), new_line))
    return edits


def next_action_text(task: Task | None, plan_id: str) -> str:
    """The Immediate Next Action block as the runner writes it (``task`` None: the plan is done)."""
    from runner.blueprint.objective import generated_objective  # here: `status` writes nothing

    objective = generated_objective(task) if task is not None else ""
    return render("next_action.md.j2", task=task, plan_id=plan_id, objective=objective)


def _next_action_edit(bp: Blueprint, task: Task | None) -> list[Edit]:
    section = bp.next_action
    if section is None or section.first_line > len(bp.lines):
        return []
    first = bp.lines[section.first_line - 1]
    last = bp.lines[max(section.last_line, section.first_line) - 1]
    text = next_action_text(task, bp.plan_id)
    body = encode(text).replace(b"\n", bp.newline)
    return [Edit(first.start, last.start + len(last.raw), body)]


def _where(task: Task) -> str:
    return f"Phase {task.phase.key}, Task {task.id} - {task.title}"


def _next_pending(bp: Blueprint, after_done: Task | None) -> Task | None:
    pending = [t for t in bp.tasks if not t.checked and t is not after_done]
    return pending[0] if pending else None


def complete_task(bp: Blueprint, task: Task) -> bytes:
    """Check the task and its steps; point the tracker at the next pending task."""
    following = _next_pending(bp, task)
    values: dict[str, str | None] = {
        "STATUS": "In Progress" if following else "Completed",
        "CURRENT STEP": _where(following) if following else "All tasks completed",
        "LAST COMPLETED TASK": task.label,
        "NEXT TASK": following.label if following else "None",
        "BLOCKER": None,
    }
    edits = _marks([task, *task.steps], True) + _tracker_edits(bp, values)
    edits += _next_action_edit(bp, following)
    return apply_edits(bp.source, edits)


def _blocker_prefix(task: Task) -> str:
    return f"Task {task.id}: "


def task_state(bp: Blueprint, task: Task) -> TaskState:
    """Read back what :func:`complete_task` and :func:`block_task` write."""
    if task.checked:
        # skip_task checks the task and leaves its steps as they were: none ran.
        return "skipped" if task.steps and not any(step.checked for step in task.steps) else "completed"
    blocker = bp.tracker.get("BLOCKER")
    if bp.status.lower() == "blocked" and blocker and blocker.value.startswith(_blocker_prefix(task)):
        return "blocked"
    return "pending"


def block_task(bp: Blueprint, task: Task, reason: str) -> bytes:
    """Record that ``task`` is blocked and why; the checkboxes stay as they are."""
    values: dict[str, str | None] = {
        "STATUS": "Blocked",
        "CURRENT STEP": _where(task),
        "NEXT TASK": task.label,
        "BLOCKER": _blocker_prefix(task) + reason,
    }
    return apply_edits(bp.source, _tracker_edits(bp, values))


def skip_task(bp: Blueprint, task: Task, reason: str) -> bytes:
    """Check ``task`` without its steps (none ran), with the reason in LAST COMPLETED TASK."""
    following = _next_pending(bp, task)
    values: dict[str, str | None] = {
        "STATUS": "In Progress" if following else "Completed",
        "CURRENT STEP": _where(following) if following else "All tasks completed",
        "LAST COMPLETED TASK": f"{task.label} (skipped: {reason})",
        "NEXT TASK": following.label if following else "None",
        "BLOCKER": None,
    }
    edits = _marks([task], True) + _marks(task.steps, False) + _tracker_edits(bp, values)
    edits += _next_action_edit(bp, following)
    return apply_edits(bp.source, edits)


def reopen_task(bp: Blueprint, task: Task, also: Sequence[Task] = ()) -> bytes:
    """Uncheck ``task`` and its steps (and those of ``also``: the tasks that validated it);
    the tracker points at the first pending task and names the last task still completed
    (in document order) as the last completed one."""
    reopened = [task, *also]
    pending = [t for t in bp.tasks if not t.checked or t in reopened]
    first = pending[0]
    still_completed = [t for t in bp.tasks if t.checked and t not in reopened]
    values: dict[str, str | None] = {
        "STATUS": "In Progress",
        "CURRENT STEP": _where(first),
        "LAST COMPLETED TASK": still_completed[-1].label if still_completed else "None",
        "NEXT TASK": first.label,
        "BLOCKER": None,
    }
    marks = [item for t in reopened for item in (t, *t.steps)]
    edits = _marks(marks, False) + _tracker_edits(bp, values)
    edits += _next_action_edit(bp, first)
    return apply_edits(bp.source, edits)
