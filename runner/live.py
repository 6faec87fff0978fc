"""The rich side of :mod:`runner.progress`, for a person at a terminal (imports rich).

A live task list (pending, running, completed, blocked …) redrawn as a run goes, and a
progress bar over the files a codemod scan reads; messages scroll above them.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar
from rich.table import Table

from runner.console import esc
from runner.progress import Progress, TaskLine

_STYLE = {
    "pending": "dim",
    "running": "bold cyan",
    "completed": "green",
    "blocked": "red",
    "failed": "red",
    "manual": "yellow",
    "skipped": "yellow",
}


class LiveProgress(Progress):
    def __init__(self, console: Console) -> None:
        self.console = console
        self._tasks: list[TaskLine] = []
        self._bar: Bar | None = None
        self._bar_task: TaskID | None = None
        self._live: Live | None = None

    def _render(self) -> RenderableType:
        parts: list[RenderableType] = []
        if self._tasks:
            table = Table.grid(padding=(0, 1))
            for line in self._tasks:
                style = _STYLE.get(line.state, "")
                table.add_row(
                    f"[{style}]{line.state:<9}[/]",
                    f"Task {esc(line.id)}: {esc(line.title)}",
                )
            parts.append(table)
        if self._bar is not None:
            parts.append(self._bar)
        return Group(*parts)

    def _refresh(self) -> None:
        if self._live is None:
            self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=8)
            self._live.start()
        self._live.refresh()

    def __call__(self, message: str) -> None:
        self.console.print(esc(message), style="dim")

    def scan(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = Bar(
                TextColumn("scanning"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._bar_task = self._bar.add_task("scan", total=total)
        assert self._bar_task is not None
        self._bar.update(self._bar_task, completed=done, total=total)
        self._refresh()

    def tasks(self, lines: Sequence[TaskLine]) -> None:
        self._tasks = [TaskLine(line.id, line.title, line.state) for line in lines]
        self._refresh()

    def task_state(self, task_id: str, state: str) -> None:
        for line in self._tasks:
            if line.id == task_id:
                line.state = state
        self._refresh()

    def close(self) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.stop()  # the final list stays on screen
            self._live = None
