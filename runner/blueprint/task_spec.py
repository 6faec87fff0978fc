"""``PLAN-001:1.2`` (or ``1.2``): the one parser of a task reference on the command line."""

from __future__ import annotations

import re

from runner.blueprint.model import Blueprint, Task
from runner.errors import InputError
from runner.records import datarecord

_PLAN_ONLY = re.compile(r"PLAN-\d+")


@datarecord(frozen=True)
class TaskSpec:
    text: str  # as the user wrote it, for messages
    plan: str | None  # None: the task id alone
    task_id: str

    @classmethod
    def parse(cls, text: str) -> TaskSpec:
        plan, sep, task_id = text.rpartition(":")
        return cls(text, plan if sep and plan else None, task_id)

    def required_plan(self) -> str:
        """The plan id, which finding a blueprint by plan needs."""
        if self.plan is None:
            if _PLAN_ONLY.fullmatch(self.text):
                raise InputError(
                    f"{self.text!r} names a plan but no task; write {self.text}:TASK (e.g. {self.text}:1.1)",
                    code="task_required",
                )
            raise InputError(
                f"{self.text!r} names no plan; write PLAN-ID:TASK or pass --blueprint", code="task_required"
            )
        return self.plan

    def task_in(self, bp: Blueprint) -> Task:
        if self.plan is None and _PLAN_ONLY.fullmatch(self.task_id):
            self.required_plan()  # "PLAN-009": a plan without a task
        if self.plan is not None and self.plan != bp.plan_id:
            raise InputError(
                f"{self.text!r} names plan {self.plan}, but the blueprint is {bp.plan_id}", path=bp.path
            )
        return bp.task(self.task_id)


def require_next(bp: Blueprint, task: Task, path: str, advice: str) -> None:
    """Tasks are done (or skipped) in order: ``task`` must be the first pending one."""
    first = bp.pending()[0]
    if first is not task:
        raise InputError(
            f"Task {first.id} comes before Task {task.id}; {advice}",
            path=path,
            line=task.line,
            code="task_out_of_order",
            data={"first_pending": first.id},
        )
