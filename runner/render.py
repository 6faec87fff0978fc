"""Text rendering of command reports for people (agents use ``--json``)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from runner.errors import ExitCode
from runner.report import CommandReport, TaskReport


def esc(text: str) -> str:
    """Markup-escaped, with bytes that are not UTF-8 (kept as surrogates) shown as U+FFFD."""
    return escape(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _task(task: TaskReport, out: Console) -> None:
    out.print(f"[bold]Task {esc(task.id)}: {esc(task.title)}[/bold]  ({esc(task.outcome)})")
    out.print("[bold]Part 1: Execution Report[/bold]")
    out.print("  " + esc(task.execution_report()))
    for change in task.changes:
        out.print(
            f"  changed {esc(change['file'])}:{change['line']} "
            f"({esc(change['codemod'])}): {esc(change['description'])}"
        )
    for skip in task.skips:
        out.print(
            f"  [yellow]skipped[/yellow] {esc(skip['file'])}:{skip['line']} "
            f"({esc(skip['codemod'])}): {esc(skip['reason'])}"
        )
    for problem in task.file_problems:
        out.print(
            f"  [yellow]{esc(problem['status'])}[/yellow] {esc(problem['file'])}: {esc(problem['reason'])}"
        )
    colour = {"passed": "green", "failed": "red", "warning": "yellow"}
    for gate in task.gates:
        # One line a gate, never truncated: paths are what a reviewer needs to see.
        status = f"[{colour.get(gate['status'], 'white')}]{gate['status']:<7}[/]"
        detail = f": {esc(gate['detail'])}" if gate["detail"] else ""
        out.print(f"  {status} {esc(gate['gate'])} {esc(gate['target'])}{detail}")
    if task.fallback:
        out.print(f"  [bold]Fallback:[/bold] {esc(task.fallback)}")
    out.print("[bold]Part 2: Blueprint Update Confirmation[/bold]")
    out.print("  " + esc(task.update_confirmation()))
    if task.diff:
        out.print(esc(task.diff), end="")
    out.print()


def render_text(report: CommandReport, out: Console, err: Console) -> None:
    for note in report.notes:
        err.print(f"note: {esc(note)}")
    for task in report.tasks:
        _task(task, out)
    data = report.data
    if report.command == "status" and data:
        for task in data["tasks"]:
            out.print(f"  {task['id']:>6}  {task['state']:<10} {esc(task['title'])}")
    elif report.command == "next" and data.get("task"):
        task = data["task"]
        out.print(
            f"[bold]Goal:[/bold] Task {esc(task['id'])}: {esc(task['title'])} (phase {esc(task['phase'])})"
        )
        for step in task["steps"]:
            out.print(f"  line {step['line']:>4}  {step['kind']:<8} {esc(step['text'])}")
        if task["files"]:
            out.print("  files: " + esc(", ".join(task["files"])))
    elif report.command == "lint" and data:
        for step in data["steps"]:
            out.print(f"  {step['task']:>6} line {step['line']:>4}  {step['kind']:<8} {esc(step['text'])}")
            for note in step.get("notes", []):
                out.print(f"{'':>22}{esc(note)}")
        for warning in data.get("warnings", []):
            err.print(f"[yellow]warning:[/yellow] {esc(warning)}")
        for error in data["errors"]:
            err.print(f"[red]error:[/red] {esc(error)}")
    elif report.command == "codemod list" and data:
        for codemod in data["codemods"]:
            out.print(f"[bold]{esc(codemod['name'])}[/bold]  {esc(codemod['description'])}")
            for option in codemod["options"]:
                out.print(
                    f"    --arg {esc(option['name'])}=...  {esc(option['help'])} "
                    f"(default {option['default']!r})"
                )
    elif report.command == "codemod apply" and data:
        for entry in data["files"]:
            for change in entry["changes"]:
                out.print(f"{esc(entry['file'])}:{change['line']}: {esc(change['description'])}")
            for skip in entry["skips"]:
                out.print(
                    f"{esc(entry['file'])}:{skip['line']}: [yellow]skipped[/yellow]: {esc(skip['reason'])}"
                )
            if entry["reason"]:
                out.print(
                    f"{esc(entry['file'])}: [yellow]{esc(entry['status'])}[/yellow]: {esc(entry['reason'])}"
                )
        if data.get("diff"):
            out.print(esc(data["diff"]), end="")
    elif report.command == "demo" and data:
        out.print(esc(data.get("transcript", "")), end="")
    if report.exit_code == ExitCode.OK:
        if report.message:
            out.print(esc(report.message))
    else:
        err.print(f"runner: [red]{esc(report.message)}[/red] (exit {int(report.exit_code)})")
