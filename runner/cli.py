"""Command line: parse arguments, call a command, print its report. No logic lives here.

With ``--json`` stdout carries exactly one JSON document (``schema_version`` first)
and progress goes to stderr; exit codes are :class:`runner.errors.ExitCode`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from runner import __version__
from runner.errors import EXIT_CODES, ExitCode, RunnerError, UsageError

if TYPE_CHECKING:
    from runner.progress import Progress
    from runner.report import CommandReport

# Commands import libcst, GitPython, Jinja2 and rich only when they run (start-up time).

# One example or more per command, shown in its --help (and the first of each in runner --help).
EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "run": (
        ("runner run blueprints/PLAN-001.md", "execute the pending tasks, one commit each"),
        ("runner run blueprints/PLAN-001.md --dry-run", "show the diffs; write nothing"),
        ("runner run blueprints/PLAN-001.md --task 1.2 --json", "one task; one JSON document"),
    ),
    "done": (("runner done PLAN-001:3.2", "after a manual step: gate and commit your edits"),),
    "skip": (('runner skip PLAN-001:3.2 --reason "done upstream"', "record a task as skipped"),),
    "revert": (("runner revert PLAN-001:1.1", "undo a task in one new commit and reopen it"),),
    "status": (("runner status blueprints/PLAN-001.md", "every task and its state"),),
    "next": (("runner next blueprints/PLAN-001.md --json", "the next task, its steps and files"),),
    "lint": (
        ("runner lint blueprints/PLAN-001.md", "classify every step, report every error"),
        ("runner lint blueprints/PLAN-001.md --fix", "rewrite manual steps the runner can execute"),
    ),
    "new": (('runner new PLAN-006 --title "Faster data loading"', "write a blueprint to fill in"),),
    "init": (("runner init", "add a commented [tool.runner] table to pyproject.toml"),),
    "check": (("runner check ocr/train.py configs/train.yaml", "the gates on files (a pre-commit hook)"),),
    "recover": (("runner recover", "roll back a task a killed runner left half done"),),
    "codemod": (
        ("runner codemod list", "every codemod and its options"),
        ("runner codemod apply remove-detach-cpu --dry-run ocr/", "a codemod on a tree, as a diff"),
    ),
    "log": (
        ("runner log", "every plan's commits, by plan and task, with their gates"),
        ("runner log PLAN-001 --json", "one plan's (or: runner log blueprints/PLAN-001.md)"),
    ),
    "show": (
        ("runner show PLAN-001:1.1", "the task's commits, message and diff"),
        ("runner show PLAN-001:1.1 --json", "the same, with the diff as text"),
    ),
    "runs": (
        ("runner runs", "the last 10 runs, newest first"),
        ("runner runs 3f2a9c1b", "one run's report (its id, or the Blueprint-Run of a commit)"),
    ),
    "import-server": (
        ("runner import-server", "whether a kept import server runs (keep-import-server)"),
        ("runner import-server stop", "stop it: its memory back, torch imported afresh next run"),
    ),
    "demo": (("runner demo", "PLAN-001 on a copy of the demo OCR project, then a revert"),),
}


def _epilog(examples: tuple[tuple[str, str], ...]) -> str:
    """Examples, then the exit codes (from errors.EXIT_CODES: one table for every help)."""
    width = max(len(command) for command, _ in examples) + 2
    lines = ["examples:"] + [f"  {command:<{width}}{what}" for command, what in examples]
    lines += ["", "exit codes:"] + [f"  {int(code):>2}  {meaning}" for code, meaning in EXIT_CODES.items()]
    lines += ["", "With --json: one JSON document on stdout, with `code` (a stable machine code) and"]
    lines += ["`next_action` (the argv to run next). Progress goes to stderr (rich on a terminal)."]
    return "\n".join(lines) + "\n"


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it ($COLUMNS, the terminal, 80)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's, given its width: left to argparse, every parser built imports shutil (with
    bz2 and lzma, ~3 ms of each start-up) for a width only --help and usage errors print."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)  # argparse's own margin


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so --json can answer."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


# Every command and its one-line help, in the order `runner --help` lists them.
COMMANDS: dict[str, str] = {
    "run": "execute the pending tasks of a blueprint",
    "done": "gate and commit a manual task's edits",
    "skip": "record a pending or blocked task as skipped",
    "revert": "revert a task's commits and reopen it",
    "status": "tasks and their states",
    "next": "the next Goal: task, steps and their kinds, files",
    "lint": "classify every step, report every error, suggest executable steps",
    "new": "write a new blueprint with PLAN-001's shape",
    "init": "add a commented [tool.runner] table to pyproject.toml",
    "check": "syntax, YAML and undefined-names gates on files",
    "recover": "roll back an interrupted task; clear a stale lock",
    "log": "the runner's commits by plan and task, with outcome, sha, date and gates",
    "show": "a task's commits: message and diff",
    "runs": "the run records in .git/blueprint-runner/runs (one with its report)",
    "import-server": "the import gate's kept server: status, or stop it",
    "codemod": "list or apply codemods outside a blueprint",
    "demo": "run PLAN-001 on a copy of the demo OCR project",
}


def _parser(words: Sequence[str]) -> argparse.ArgumentParser:
    """The parser; only the commands named in ``words`` get their arguments and epilog.

    argparse parses into the command that the first positional word names, and `runner --help`
    and the invalid-choice error list commands by name and help alone, so the others stay
    empty, or out when ``words`` starts with a command: nothing shows them then (building every
    command's arguments cost ~10 ms of each start-up).
    """
    parser = _Parser(
        prog="runner",
        description="Execute Living Implementation Blueprints: codemods, gates, one commit per task.",
        epilog=_epilog(tuple(examples[0] for examples in EXAMPLES.values())),
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    named = set(words)
    first = words[0] if words and words[0] in COMMANDS else None
    for name, text in COMMANDS.items():
        if first is not None and name != first:
            continue
        if name not in named:
            sub.add_parser(name, help=text, add_help=False)
            continue
        command = sub.add_parser(name, help=text, **_layout(name))
        if name == "codemod":
            _codemod_actions(command)
        else:
            _common(command)
            _ARGUMENTS[name](command)
    return parser


def _layout(name: str) -> dict[str, Any]:
    return {"epilog": _epilog(EXAMPLES[name]), "formatter_class": _Formatter}


def _common(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--repo", type=Path, default=Path("."), help="the target git repository (default: .)")
    cmd.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def _run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("blueprint", type=Path)
    run.add_argument("--task", help="run only this task (e.g. 1.2 or PLAN-001:1.2)")
    run.add_argument(
        "--dry-run", action="store_true", help="show diffs and the tracker change; write nothing"
    )
    _execution_flags(run)


def _done_arguments(done: argparse.ArgumentParser) -> None:
    done.add_argument("task", help="PLAN-001:3.2, or 3.2 with --blueprint")
    done.add_argument("--blueprint", type=Path, help="the blueprint (default: found in the repo by plan id)")
    done.add_argument(
        "--allow-empty", action="store_true", help="commit the task even though no file changed"
    )
    _execution_flags(done)


def _execution_flags(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--python", default=sys.executable, help="interpreter for the import gate")
    cmd.add_argument("--no-verify", action="store_true", help="skip the target repo's git hooks")


def _skip_arguments(skip: argparse.ArgumentParser) -> None:
    skip.add_argument("task", help="PLAN-001:3.2, or 3.2 with --blueprint")
    skip.add_argument("--reason", required=True, help="why; kept in the tracker and the commit")
    skip.add_argument("--blueprint", type=Path)
    skip.add_argument("--no-verify", action="store_true", help="skip the target repo's git hooks")


def _revert_arguments(revert: argparse.ArgumentParser) -> None:
    revert.add_argument("task", help="PLAN-001:1.1, or 1.1 with --blueprint")
    revert.add_argument("--blueprint", type=Path)
    revert.add_argument("--no-verify", action="store_true", help="skip the target repo's git hooks")


def _blueprint_argument(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("blueprint", type=Path)


def _lint_arguments(lint: argparse.ArgumentParser) -> None:
    lint.add_argument("blueprint", type=Path)
    lint.add_argument("--fix", action="store_true", help="rewrite the manual steps it can into grammar steps")


def _new_arguments(new: argparse.ArgumentParser) -> None:
    new.add_argument("plan", help="the plan id, e.g. PLAN-006")
    new.add_argument("--title", required=True, help="the plan's name, without its id")
    new.add_argument("--output", type=Path, help="the file to write (default: blueprints/PLAN-006-title.md)")


def _no_arguments(cmd: argparse.ArgumentParser) -> None:
    """`init` and `recover`: --repo and --json only."""


def _check_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("files", nargs="*", type=Path)


def _log_arguments(log: argparse.ArgumentParser) -> None:
    log.add_argument("target", nargs="?", metavar="BLUEPRINT", help="a blueprint or a plan id (default: all)")


def _show_arguments(show: argparse.ArgumentParser) -> None:
    show.add_argument("task", help="PLAN-001:1.1")


def _runs_arguments(runs: argparse.ArgumentParser) -> None:
    runs.add_argument(
        "run", nargs="?", metavar="ID", help="a record's id or run id (Blueprint-Run), or a prefix"
    )


def _import_server_arguments(server: argparse.ArgumentParser) -> None:
    server.add_argument("action", nargs="?", choices=("status", "stop"), default="status")
    server.add_argument("--python", default=sys.executable, help="the interpreter whose server it is")


def _demo_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--keep", type=Path, help="build the demo repo here instead of a temporary directory")


_ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "run": _run_arguments,
    "done": _done_arguments,
    "skip": _skip_arguments,
    "revert": _revert_arguments,
    "status": _blueprint_argument,
    "next": _blueprint_argument,
    "lint": _lint_arguments,
    "new": _new_arguments,
    "init": _no_arguments,
    "check": _check_arguments,
    "recover": _no_arguments,
    "log": _log_arguments,
    "show": _show_arguments,
    "runs": _runs_arguments,
    "import-server": _import_server_arguments,
    "demo": _demo_arguments,
}


def _codemod_actions(codemod: argparse.ArgumentParser) -> None:
    actions = codemod.add_subparsers(dest="codemod_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every codemod with its description", **_layout("codemod"))
    _common(listing)
    apply = actions.add_parser(
        "apply",
        help="apply codemods (NAME or NAME,NAME,... in one pass) to files or directories",
        **_layout("codemod"),
    )
    _common(apply)
    apply.add_argument("name", metavar="NAMES", help="a codemod, or several separated by commas")
    apply.add_argument("paths", nargs="+", type=Path)
    apply.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE", help="a codemod option")
    apply.add_argument("--dry-run", action="store_true", help="print a diff; write nothing")
    apply.add_argument(
        "--include-vendored", action="store_true", help="also vendor/, third_party/, build/, dist/ ..."
    )


def _options(pairs: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RunnerError(f"--arg takes KEY=VALUE, not {pair!r}")
        options[key] = value
    return options


def _dispatch(args: argparse.Namespace, argv: Sequence[str], progress: Progress) -> CommandReport:
    command = args.command
    if command == "codemod":
        from runner.commands.codemod import codemod_apply, codemod_list

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
    if command in ("new", "init", "check", "lint"):
        from runner.commands.adopt import check, init, lint, new

        if command == "new":
            return new(args.repo, args.plan, args.title, args.output)
        if command == "init":
            return init(args.repo)
        if command == "check":
            return check(args.repo, args.files)
        return lint(args.repo, args.blueprint, fix=args.fix)
    if command in ("log", "show", "runs"):
        from runner.commands.review import log, runs, show

        if command == "log":
            return log(args.repo, args.target)
        if command == "show":
            return show(args.repo, args.task)
        return runs(args.repo, args.run)
    if command == "import-server":
        from runner.commands.import_server import import_server

        return import_server(args.action, args.python)
    if command in ("status", "next"):
        from runner.commands.inspect import next_goal, status
        from runner.commands.view import open_view

        view = open_view(args.repo, args.blueprint)
        return status(view) if command == "status" else next_goal(view)
    from runner.blueprint.task_spec import TaskSpec
    from runner.commands.session import find_blueprint, open_session

    python = getattr(args, "python", sys.executable)
    no_verify = getattr(args, "no_verify", False)
    blueprint = getattr(args, "blueprint", None)
    if command in ("done", "revert", "skip") and blueprint is None:
        blueprint = args.blueprint = find_blueprint(args.repo, TaskSpec.parse(args.task))
    session = open_session(args.repo, blueprint, python=python, no_verify=no_verify, progress=progress)
    from runner.commands.record import recorded  # a run record of every command that commits

    if command == "run":
        if not args.dry_run:
            from runner.commands.warm import warm_import_gate

            # Before the run's own modules load (LibCST, the codemods): torch imports meanwhile.
            warm_import_gate(session, args.task)
        from runner.commands.run import run

        if args.dry_run:  # writes nothing, not even a record
            return run(session, task=args.task, dry_run=True)
        return recorded(session, command, argv, lambda: run(session, task=args.task))
    if command == "done":
        from runner.commands.run import done

        return recorded(
            session, command, argv, lambda: done(session, args.task, allow_empty=args.allow_empty)
        )
    if command == "skip":
        from runner.commands.skip import skip

        return recorded(session, command, argv, lambda: skip(session, args.task, args.reason))
    if command == "revert":
        from runner.commands.revert import revert

        return recorded(session, command, argv, lambda: revert(session, args.task))
    from runner.commands.recover import recover

    return recover(session)


def _command_name(args: argparse.Namespace | None, argv: Sequence[str]) -> str:
    if args is not None and args.command:
        return str(args.command) + (f" {args.codemod_command}" if args.command == "codemod" else "")
    # A usage error: the subcommand as far as the words tell.
    words = [a for a in argv if not a.startswith("-")]
    if words and words[0] == "codemod" and len(words) > 1 and words[1] in ("list", "apply"):
        return f"codemod {words[1]}"
    known = (
        "run",
        "done",
        "skip",
        "revert",
        "status",
        "next",
        "lint",
        "recover",
        "new",
        "init",
        "check",
        "demo",
        "log",
        "show",
        "runs",
        "import-server",
    )
    return words[0] if words and words[0] in known else "runner"


# Commands that read a blueprint and answer. Their start-up allocates many objects (classes,
# functions, the parsed blueprint) and frees few, so the cyclic collector's passes find nothing
# worth their time (14 passes, ~2.5 ms of `runner lint`); every other command collects as usual.
_NO_COLLECTOR = frozenset({"status", "next", "lint"})


def main(argv: Sequence[str] | None = None) -> int:
    from runner.memo import remembering

    collecting = gc.isenabled()
    gc.disable()  # until the command is known (_main)
    try:
        with remembering():  # the command and its next_action (respond.finish) parse a blueprint once
            return _main(list(sys.argv[1:] if argv is None else argv), collecting)
    finally:
        if collecting:
            gc.enable()


def _main(words: list[str], collecting: bool) -> int:
    as_json = "--json" in words  # anywhere on the line, before or after the command
    words = [w for w in words if w != "--json"]
    if words == ["--version"] and not as_json:
        # The line's whole answer, as its report renders (tests/test_startup.py), before
        # anything else loads: like argparse's own version action.
        sys.stdout.write(f"runner {__version__}\n")
        return 0
    args: argparse.Namespace | None = None
    report: CommandReport | None = None
    failure: tuple[RunnerError, ExitCode | None] | None = None
    # Parsed before anything else is imported: `runner --help` stays small (start-up).
    try:
        parser = _parser(words)
        help_text = io.StringIO()
        try:
            with contextlib.redirect_stdout(help_text if as_json else sys.stdout):
                args = parser.parse_args(words)
        except SystemExit as done:  # --help printed its text
            if not as_json:
                return int(done.code or 0)
            from runner.commands.respond import help_report

            report = help_report(_command_name(None, words), help_text.getvalue())
        else:
            if args.version:
                from runner.commands.respond import version_report

                report = version_report()
            elif not args.command:
                raise UsageError("runner: a COMMAND is required (see runner --help)")
            else:
                if args.command not in _NO_COLLECTOR and collecting:
                    gc.enable()
                progress = _progress()
                try:
                    report = _dispatch(args, words, progress)
                finally:
                    progress.close()  # the live list's last state stays above the report
    except RunnerError as err:
        failure = (err, None)
    except KeyboardInterrupt:
        failure = (RunnerError("interrupted; files were restored", code="interrupted"), ExitCode.TASK_FAILED)
    except Exception as err:  # a bug: say so plainly, with the exit code for bugs
        failure = (
            RunnerError(f"internal error: {type(err).__name__}: {err}", code="internal_error"),
            ExitCode.INTERNAL_ERROR,
        )
    from runner.commands.respond import Context, error_report, finish

    if failure is not None:
        error, exit_code = failure
        report = error_report(_command_name(args, words), error, exit_code=exit_code)
    assert report is not None
    finish(report, Context.of(args, words, as_json))
    if as_json:
        import json

        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        from runner.console import out_for
        from runner.render import render_text

        render_text(report, out_for(sys.stdout), out_for(sys.stderr))
    return int(report.exit_code)


def _progress() -> Progress:
    """rich (a live task list, a progress bar) when a person watches stderr; plain lines otherwise."""
    from runner.console import rich_console, wants_rich

    if wants_rich(sys.stderr):
        from runner.live import LiveProgress

        return LiveProgress(rich_console(sys.stderr))
    from runner.progress import LineProgress

    return LineProgress(sys.stderr)


def program() -> NoReturn:
    """The `runner` executable (pyproject's script, ``python -m runner``): main, then exit."""
    code = main()
    # The process ends here: freezing the heap spares the interpreter's last garbage
    # collection, which walks every object only to free memory the exit frees anyway
    # (~15 ms of each start-up). Outputs are closed by now; atexit handlers still run.
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    program()
