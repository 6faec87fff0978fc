"""Text rendering of command reports for people (agents use ``--json``): rich markup to an Out."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from runner.console import Out, esc
from runner.errors import ExitCode
from runner.report import CommandReport

if TYPE_CHECKING:  # `status` and `next` report no task
    from runner.report import CommandData
    from runner.task_report import TaskReport


def _task(task: TaskReport, out: Out) -> None:
    out.print(f"[bold]Task {esc(task.id)}: {esc(task.title)}[/bold]  ({esc(task.outcome)})")
    out.print("[bold]Part 1: Execution Report[/bold]")
    out.print("  " + esc(task.execution_report()))
    for change in task.changes:
        out.print(
            f"  changed {esc(change.file)}:{change.change.line} "
            f"({esc(change.change.codemod)}): {esc(change.change.description)}"
        )
    for edit in task.edits:
        where = f"{edit.file}:{edit.line}" if edit.line else edit.file
        out.print(f"  changed {esc(where)} ({edit.kind}): {esc(edit.description)}")
    for skip in task.skips:
        out.print(
            f"  [yellow]skipped[/yellow] {esc(skip.file)}:{skip.skip.line} "
            f"({esc(skip.skip.codemod)}): {esc(skip.skip.reason)}"
        )
    for problem in task.file_problems:
        out.print(f"  [yellow]{esc(problem.status)}[/yellow] {esc(problem.file)}: {esc(problem.reason)}")
    colour = {"passed": "green", "failed": "red", "warning": "yellow"}
    for gate in task.gates:
        # One line a gate, never truncated: paths are what a reviewer needs to see.
        status = f"[{colour.get(gate.status, 'white')}]{gate.status:<7}[/]"
        detail = f": {esc(gate.detail)}" if gate.detail else ""
        out.print(f"  {status} {esc(gate.gate)} {esc(gate.target)}{detail}")
    if task.fallback:
        why = f" (why: {esc(task.fallback_reason)})" if task.fallback_reason else ""
        out.print(f"  [bold]Fallback:[/bold] {esc(task.fallback)}{why}")
    out.print("[bold]Part 2: Blueprint Update Confirmation[/bold]")
    out.print("  " + esc(task.update_confirmation()))
    if task.diff:
        out.print(esc(task.diff), end="")
    out.print()


def _data(data: CommandData, out: Out, err: Out) -> None:
    if "task_spec" in data or "runs" in data or ("commits" in data and "plan" in data):
        from runner.render_review import render_review

        render_review(data, out)
    elif "next_task" in data:  # status
        for row in data["tasks"]:
            out.print(f"  {row['id']:>6}  {row['state']:<10} {esc(row['title'])}")
    elif "task" in data:  # next
        goal = data["task"]
        if goal is None:
            return
        out.print(
            f"[bold]Goal:[/bold] Task {esc(goal['id'])}: {esc(goal['title'])} (phase {esc(goal['phase'])})"
        )
        for step in goal["steps"]:
            out.print(f"  line {step['line']:>4}  {step['kind']:<8} {esc(step['text'])}")
        if goal["files"]:
            out.print("  files: " + esc(", ".join(goal["files"])))
    elif "errors" in data:  # lint
        for entry in data["steps"]:
            out.print(
                f"  {entry['task']:>6} line {entry['line']:>4}  {entry['kind']:<8} {esc(entry['text'])}"
            )
            for note in entry.get("notes", []):
                out.print(f"{'':>22}{esc(note)}")
        for warning in data.get("warnings", []):
            err.print(f"[yellow]warning:[/yellow] {esc(warning)}")
        for error in data["errors"]:
            err.print(f"[red]error:[/red] {esc(error)}")
        for fix in data["suggestions"]:
            verb = "fixed" if data["fixed"] else "fix"
            out.print(f"  line {fix['line']:>4}  [green]{verb}:[/green] {esc(str(fix['replacement']))}")
        for finding in data["findings"]:
            err.print(f"[yellow]warning:[/yellow] line {finding['line']}: {esc(str(finding['message']))}")
    elif "codemods" in data:  # codemod list
        for codemod in data["codemods"]:
            out.print(f"[bold]{esc(codemod['name'])}[/bold]  {esc(codemod['description'])}")
            for option in codemod["options"]:
                out.print(
                    f"    --arg {esc(option['name'])}=...  {esc(option['help'])} "
                    f"(default {option['default']!r})"
                )
    elif "totals" in data:  # codemod apply
        for file in data["files"]:
            for change in file["changes"]:
                out.print(f"{esc(file['file'])}:{change['line']}: {esc(change['description'])}")
            for skip in file["skips"]:
                out.print(
                    f"{esc(file['file'])}:{skip['line']}: [yellow]skipped[/yellow]: {esc(skip['reason'])}"
                )
            if file["reason"]:
                out.print(
                    f"{esc(file['file'])}: [yellow]{esc(file['status'])}[/yellow]: {esc(file['reason'])}"
                )
        if data["diff"]:
            out.print(esc(data["diff"]), end="")
    elif "transcript" in data:  # demo
        out.print(esc(data["transcript"]), end="")


def render_text(report: CommandReport, out: Out, err: Out) -> None:
    for note in report.notes:
        err.print(f"note: {esc(note)}")
    for task in report.tasks:
        _task(task, out)
    if report.data is not None:
        _data(report.data, out, err)
    if report.exit_code == ExitCode.OK:
        if report.message:
            out.print(esc(report.message))
    else:
        err.print(f"runner: [red]{esc(report.message)}[/red] (exit {int(report.exit_code)})")
    _next_action(report, err)


def _next_action(report: CommandReport, err: Out) -> None:
    action = report.next_action
    argv = action.get("argv") if action else None
    if action and isinstance(argv, list):
        err.print(f"next: [bold]{esc(shlex.join(str(a) for a in argv))}[/bold]  ({esc(str(action['why']))})")
