"""``PLAN-001:1.2`` (or ``1.2``): the one parser of a task reference on the command line."""

from __future__ import annotations

from dataclasses import dataclass

from runner.blueprint.model import Blueprint, Task
from runner.errors import InputError


@dataclass(frozen=True)
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
            raise InputError(f"{self.text!r} names no plan; write PLAN-ID:TASK or pass --blueprint")
        return self.plan

    def task_in(self, bp: Blueprint) -> Task:
        if self.plan is not None and self.plan != bp.plan_id:
            raise InputError(
                f"{self.text!r} names plan {self.plan}, but the blueprint is {bp.plan_id}", path=bp.path
            )
        return bp.task(self.task_id)
