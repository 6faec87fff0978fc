"""What a command tells a watching person while it works: lines, a scan's progress, a task list.

Commands call a :class:`Progress`; the CLI picks how it is shown: :class:`LineProgress`
(plain lines: not a terminal, ``NO_COLOR``) or ``runner.live.LiveProgress`` (rich: a bar
for a scan over many files, a live task list during `runner run`). The base class shows
nothing (library use, tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TextIO

from runner.console import shown
from runner.records import datarecord

# A task's state in the live list. "manual" waits for a person (`runner done`).
TaskState = Literal["pending", "running", "completed", "blocked", "skipped", "manual", "failed"]


@datarecord
class TaskLine:
    """A task as the live task list shows it."""

    id: str
    title: str
    state: str


class Progress:
    """Says nothing; subclasses show it."""

    def __call__(self, message: str) -> None:
        """One line of what is happening."""

    def scan(self, done: int, total: int) -> None:
        """``done`` of ``total`` files scanned."""

    def tasks(self, lines: Sequence[TaskLine]) -> None:
        """The tasks of the plan, with their states, before a run starts."""

    def task_state(self, task_id: str, state: str) -> None:
        """A task moved to ``state``."""

    def close(self) -> None:
        """The command is done: the last state stays on screen."""


quiet = Progress()


class LineProgress(Progress):
    """Plain lines on a stream: each message, each task's state change, a scan every 10%."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._scan_tenth = -1
        self._titles: dict[str, str] = {}

    def _line(self, text: str) -> None:
        self.stream.write(shown(text) + "\n")
        self.stream.flush()

    def __call__(self, message: str) -> None:
        self._line(message)

    def scan(self, done: int, total: int) -> None:
        tenth = 10 * done // total if total else 10
        if tenth > self._scan_tenth:  # at most 11 lines however many files
            self._scan_tenth = tenth
            self._line(f"scanned {done}/{total} files")

    def tasks(self, lines: Sequence[TaskLine]) -> None:
        self._titles = {line.id: line.title for line in lines}
        for line in lines:
            self._line(f"  {line.state:<9} Task {line.id}: {line.title}")

    def task_state(self, task_id: str, state: str) -> None:
        title = self._titles.get(task_id)
        self._line(f"Task {task_id}{': ' + title if title else ''} ({state})")
