"""Text rendering of the review commands (`log`, `show`, `runs`) for people.

A diff is syntax-highlighted only on a terminal and when ``NO_COLOR`` is unset (rich reads
it); otherwise it is written as it is, so `runner show X > file.patch` gives a plain patch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.console import Out, PlainOut, esc, write_raw

if TYPE_CHECKING:
    from runner.report import CommandData
    from runner.review_data import LogData, RunsData, ShowData

_COLOUR = {
    "completed": "green",
    "done": "green",
    "blocked": "red",
    "reverted": "yellow",
    "skipped": "yellow",
    "passed": "green",
    "failed": "red",
    "warning": "yellow",
}


def _styled(word: str) -> str:
    return f"[{_COLOUR.get(word, 'white')}]{esc(word)}[/]"


def _plain_or_highlighted(text: str, lexer: str, out: Out) -> None:
    """Highlighted on rich's console (``out_for`` gives one only to a terminal without NO_COLOR)."""
    if isinstance(out, PlainOut):
        write_raw(out, text if text.endswith("\n") or not text else text + "\n")
        return
    from rich.syntax import Syntax

    out.print(Syntax(text, lexer, word_wrap=True, background_color="default"))  # type: ignore[arg-type]


def render_log(data: LogData, out: Out) -> None:
    plan = ""
    for entry in data["commits"]:
        if entry["plan"] != plan:
            plan = entry["plan"]
            out.print(f"[bold]{esc(plan)}[/bold]")
        date = entry["date"].replace("T", " ")[:16]
        out.print(
            f"  Task {esc(entry['task']):<6} {_styled(entry['outcome']):<9} {entry['short']}  {esc(date)}  "
            f"{esc(entry['subject'])}"
        )
        if entry["reverts"]:
            out.print(f"      reverts {', '.join(sha[:12] for sha in entry['reverts'])}")
        if entry["reopens"]:
            out.print(f"      reopens Task {', '.join(entry['reopens'])}")
        for gate in entry["gates"]:
            detail = f": {esc(gate['detail'].splitlines()[0])}" if gate["detail"] else ""
            out.print(f"      {_styled(gate['status'])} {esc(gate['gate'])} {esc(gate['target'])}{detail}")


def render_show(data: ShowData, out: Out) -> None:
    for commit in data["commits"]:
        out.print(
            f"[bold]commit {commit['sha']}[/bold] ({_styled(commit['outcome'])}, {esc(commit['date'])}, "
            f"run {esc(commit['run'])})"
        )
        out.print()
        write_raw(out, "".join(f"    {line}\n" for line in commit["message"].splitlines()))
        out.print()
        _plain_or_highlighted(commit["diff"], "diff", out)


def render_runs(data: RunsData, out: Out) -> None:
    if data["report"]:
        _plain_or_highlighted(data["report"], "markdown", out)
        return
    for run in data["runs"]:
        state = f"exit {run['exit_code']}" if run["finished"] else "unfinished"
        tasks = ", ".join(f"{t['id']} {t['outcome']}" for t in run["tasks"])
        out.print(
            f"{esc(run['id'])}  {esc(run['command']):<6} {esc(run['plan'] or '-'):<10} {state:<8} "
            f"{esc(tasks or run['message'])}"
        )


def render_review(data: CommandData, out: Out) -> None:
    if "task_spec" in data:
        render_show(data, out)
    elif "runs" in data:
        render_runs(data, out)
    elif "commits" in data and "plan" in data:
        render_log(data, out)
