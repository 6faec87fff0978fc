"""Command line: parse arguments, call a command, print its report. No logic lives here.

With ``--json`` stdout carries exactly one JSON document (``schema_version`` first)
and progress goes to stderr; exit codes are :class:`runner.errors.ExitCode`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from runner.blueprint.task_spec import TaskSpec
from runner.commands.codemod import codemod_apply, codemod_list
from runner.commands.inspect import lint, next_goal, status
from runner.commands.recover import recover
from runner.commands.revert import revert
from runner.commands.run import done, run
from runner.commands.session import Progress, find_blueprint, open_session
from runner.errors import ExitCode, RunnerError
from runner.render import esc, render_text
from runner.report import CommandReport, ErrorInfo


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--repo", type=Path, default=Path("."), help="the target git repository (default: .)")
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    parser = argparse.ArgumentParser(
        prog="runner",
        description="Execute Living Implementation Blueprints: codemods, gates, one commit per task.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="execute the pending tasks of a blueprint")
    run.add_argument("blueprint", type=Path)
    run.add_argument("--task", help="run only this task (e.g. 1.2 or PLAN-001:1.2)")
    run.add_argument(
        "--dry-run", action="store_true", help="show diffs and the tracker change; write nothing"
    )
    _execution_flags(run)

    done = sub.add_parser("done", parents=[common], help="gate and commit a manual task's edits")
    done.add_argument("task", help="PLAN-001:3.2, or 3.2 with --blueprint")
    done.add_argument("--blueprint", type=Path, help="the blueprint (default: found in the repo by plan id)")
    _execution_flags(done)

    revert = sub.add_parser("revert", parents=[common], help="revert a task's commits and reopen it")
    revert.add_argument("task", help="PLAN-001:1.1, or 1.1 with --blueprint")
    revert.add_argument("--blueprint", type=Path)
    revert.add_argument("--no-verify", action="store_true", help="skip the target repo's git hooks")

    for name, text in (
        ("status", "tasks and their states"),
        ("next", "the next Goal: task, steps and their kinds, files"),
        ("lint", "classify every step and report every error"),
    ):
        cmd = sub.add_parser(name, parents=[common], help=text)
        cmd.add_argument("blueprint", type=Path)

    sub.add_parser("recover", parents=[common], help="roll back an interrupted task; clear a stale lock")

    codemod = sub.add_parser("codemod", help="list or apply codemods outside a blueprint")
    codemod_sub = codemod.add_subparsers(dest="codemod_command", required=True, metavar="ACTION")
    codemod_sub.add_parser("list", parents=[common], help="every codemod with its description")
    apply = codemod_sub.add_parser(
        "apply",
        parents=[common],
        help="apply codemods (NAME or NAME,NAME,... in one pass) to files or directories",
    )
    apply.add_argument("name", metavar="NAMES", help="a codemod, or several separated by commas")
    apply.add_argument("paths", nargs="+", type=Path)
    apply.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE", help="a codemod option")
    apply.add_argument("--dry-run", action="store_true", help="print a diff; write nothing")
    apply.add_argument(
        "--include-vendored", action="store_true", help="also vendor/, third_party/, build/, dist/ ..."
    )

    demo = sub.add_parser("demo", parents=[common], help="run PLAN-001 on a copy of the demo OCR project")
    demo.add_argument("--keep", type=Path, help="build the demo repo here instead of a temporary directory")
    return parser


def _execution_flags(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--python", default=sys.executable, help="interpreter for the import gate")
    cmd.add_argument("--no-verify", action="store_true", help="skip the target repo's git hooks")


def _options(pairs: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RunnerError(f"--arg takes KEY=VALUE, not {pair!r}")
        options[key] = value
    return options


def _dispatch(args: argparse.Namespace, progress: Progress) -> CommandReport:
    command = args.command
    if command == "codemod":
        if args.codemod_command == "list":
            return codemod_list()
        return codemod_apply(
            args.name,
            _options(args.arg),
            args.paths,
            dry_run=args.dry_run,
            include_vendored=args.include_vendored,
            progress=progress,
        )
    if command == "demo":
        from runner.demo import run_demo

        return run_demo(args.keep, progress=progress)
    python = getattr(args, "python", sys.executable)
    no_verify = getattr(args, "no_verify", False)
    blueprint = getattr(args, "blueprint", None)
    if command in ("done", "revert") and blueprint is None:
        blueprint = find_blueprint(args.repo, TaskSpec.parse(args.task))
    session = open_session(args.repo, blueprint, python=python, no_verify=no_verify, progress=progress)
    if command == "run":
        return run(session, task=args.task, dry_run=args.dry_run)
    if command == "done":
        return done(session, args.task)
    if command == "revert":
        return revert(session, args.task)
    if command == "status":
        return status(session)
    if command == "next":
        return next_goal(session)
    if command == "lint":
        return lint(session)
    return recover(session)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    err_console = Console(stderr=True, highlight=False, soft_wrap=True)

    def progress(message: str) -> None:
        err_console.print(esc(message), style="dim")

    command = args.command + (f" {args.codemod_command}" if args.command == "codemod" else "")
    try:
        report = _dispatch(args, progress)
    except RunnerError as err:
        report = CommandReport(command, exit_code=err.exit_code, message=err.one_line())
        report.error = ErrorInfo(err.message, err.path, err.line)
    except KeyboardInterrupt:
        report = CommandReport(
            command, exit_code=ExitCode.TASK_FAILED, message="interrupted; files were restored"
        )
    except Exception as err:  # a bug: say so plainly, with the exit code for bugs
        report = CommandReport(
            command,
            exit_code=ExitCode.INTERNAL_ERROR,
            message=f"internal error: {type(err).__name__}: {err}",
        )
        report.error = ErrorInfo(str(err), None, None)
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        render_text(report, Console(highlight=False, soft_wrap=True), err_console)
    return int(report.exit_code)


if __name__ == "__main__":
    sys.exit(main())
