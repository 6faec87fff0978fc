"""Text rendering of command reports for people (agents use ``--json``)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from runner.errors import ExitCode
from runner.report import CommandReport, TaskReport


def _task(task: TaskReport, out: Console) -> None:
    out.print(f"[bold]Task {escape(task.id)}: {escape(task.title)}[/bold]  ({escape(task.outcome)})")
    out.print("[bold]Part 1: Execution Report[/bold]")
    out.print("  " + escape(task.execution_report()))
    for change in task.changes:
        out.print(
            f"  changed {escape(change['file'])}:{change['line']} "
            f"({escape(change['codemod'])}): {escape(change['description'])}"
        )
    for skip in task.skips:
        out.print(
            f"  [yellow]skipped[/yellow] {escape(skip['file'])}:{skip['line']} "
            f"({escape(skip['codemod'])}): {escape(skip['reason'])}"
        )
    for problem in task.file_problems:
        out.print(
            f"  [yellow]{escape(problem['status'])}[/yellow] {escape(problem['file'])}: {escape(problem['reason'])}"
        )
    if task.gates:
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
        for column in ("gate", "target", "status", "detail"):
            table.add_column(column)
        colour = {"passed": "green", "failed": "red", "warning": "yellow"}
        for gate in task.gates:
            status = f"[{colour.get(gate['status'], 'white')}]{gate['status']}[/]"
            table.add_row(escape(gate["gate"]), escape(gate["target"]), status, escape(gate["detail"]))
        out.print(table)
    if task.fallback:
        out.print(f"  [bold]Fallback:[/bold] {escape(task.fallback)}")
    out.print("[bold]Part 2: Blueprint Update Confirmation[/bold]")
    out.print("  " + escape(task.update_confirmation()))
    if task.diff:
        out.print(escape(task.diff), end="")
    out.print()


def render_text(report: CommandReport, out: Console, err: Console) -> None:
    for note in report.notes:
        err.print(f"note: {escape(note)}")
    for task in report.tasks:
        _task(task, out)
    data = report.data
    if report.command == "status" and data:
        for task in data["tasks"]:
            out.print(f"  {task['id']:>6}  {task['state']:<10} {escape(task['title'])}")
    elif report.command == "next" and data.get("task"):
        task = data["task"]
        out.print(
            f"[bold]Goal:[/bold] Task {escape(task['id'])}: {escape(task['title'])} (phase {escape(task['phase'])})"
        )
        for step in task["steps"]:
            out.print(f"  line {step['line']:>4}  {step['kind']:<8} {escape(step['text'])}")
        if task["files"]:
            out.print("  files: " + escape(", ".join(task["files"])))
    elif report.command == "lint" and data:
        for step in data["steps"]:
            out.print(f"  {step['task']:>6} line {step['line']:>4}  {step['kind']:<8} {escape(step['text'])}")
        for error in data["errors"]:
            err.print(f"[red]error:[/red] {escape(error)}")
    elif report.command == "codemod list" and data:
        for codemod in data["codemods"]:
            out.print(f"[bold]{escape(codemod['name'])}[/bold]  {escape(codemod['description'])}")
            for option in codemod["options"]:
                out.print(
                    f"    --arg {escape(option['name'])}=...  {escape(option['help'])} (default {option['default']!r})"
                )
    elif report.command == "codemod apply" and data:
        for entry in data["files"]:
            for change in entry["changes"]:
                out.print(f"{escape(entry['file'])}:{change['line']}: {escape(change['description'])}")
            for skip in entry["skips"]:
                out.print(
                    f"{escape(entry['file'])}:{skip['line']}: [yellow]skipped[/yellow]: {escape(skip['reason'])}"
                )
            if entry["reason"]:
                out.print(
                    f"{escape(entry['file'])}: [yellow]{escape(entry['status'])}[/yellow]: {escape(entry['reason'])}"
                )
        if data.get("diff"):
            out.print(escape(data["diff"]), end="")
    elif report.command == "demo" and data:
        out.print(escape(data.get("transcript", "")), end="")
    if report.exit_code == ExitCode.OK:
        if report.message:
            out.print(escape(report.message))
    else:
        err.print(f"runner: [red]{escape(report.message)}[/red] (exit {int(report.exit_code)})")
