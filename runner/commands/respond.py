"""What every response carries beyond a command's own report: context and ``next_action``.

The CLI hands each report here last, errors and usage errors included, so an agent
always finds ``plan``, ``blueprint`` and ``repo`` when they are known and a
``next_action`` it can run (:mod:`runner.guidance` decides which).
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from runner import __version__
from runner.errors import ExitCode, RunnerError
from runner.guidance import Invocation, advise
from runner.records import datarecord
from runner.report import CommandReport, ErrorInfo


@datarecord(frozen=True)
class Context:
    """What the command line says beyond the command's own report."""

    command_line: tuple[str, ...]
    as_json: bool
    repo: Path | None  # --repo (default "."), None when the command takes none
    repo_given: str | None  # --repo as the user wrote it
    blueprint: str | None
    plan: str | None

    @classmethod
    def of(cls, args: argparse.Namespace | None, words: list[str], as_json: bool) -> Context:
        repo_given = None
        for index, word in enumerate(words):
            if word == "--repo" and index + 1 < len(words):
                repo_given = words[index + 1]
            elif word.startswith("--repo="):
                repo_given = word.split("=", 1)[1]
        blueprint = getattr(args, "blueprint", None)
        task = getattr(args, "task", None)
        plan = task.rpartition(":")[0] or None if isinstance(task, str) else None
        repo = getattr(args, "repo", None)
        return cls(
            tuple(words) + (("--json",) if as_json else ()),
            as_json,
            repo if isinstance(repo, Path) else None,
            repo_given,
            str(blueprint) if blueprint is not None else None,
            plan,
        )


def error_report(command: str, err: RunnerError, *, exit_code: ExitCode | None = None) -> CommandReport:
    report = CommandReport(command, exit_code=exit_code or err.exit_code, message=err.one_line())
    report.error = ErrorInfo.of(err)
    return report


def help_report(command: str, text: str) -> CommandReport:
    return CommandReport(command, message=text)


def version_report() -> CommandReport:
    return CommandReport("runner", message=f"runner {__version__}")


def _pending(blueprint: Path) -> tuple[str, ...] | None:
    from runner.blueprint.model import load_blueprint

    try:
        return tuple(t.id for t in load_blueprint(blueprint).pending())
    except RunnerError:
        return None


def finish(report: CommandReport, ctx: Context) -> None:
    """Fill the context fields left empty, then decide ``next_action``."""
    if not report.repo and ctx.repo is not None and not report.command.startswith("codemod"):
        report.repo = str(ctx.repo.resolve())
    if not report.blueprint and ctx.blueprint:
        report.blueprint = ctx.blueprint
    pending = None
    blueprint_path = Path(report.blueprint) if report.blueprint else None
    if blueprint_path is not None and blueprint_path.is_file():
        from runner.blueprint.model import load_blueprint

        if not report.plan:
            with contextlib.suppress(RunnerError):
                report.plan = load_blueprint(blueprint_path).plan_id
        if report.command in ("run", "done", "skip", "status", "next"):
            pending = _pending(blueprint_path)
    if not report.plan and ctx.plan:
        report.plan = ctx.plan
    invocation = Invocation(
        repo=ctx.repo_given,
        json=ctx.as_json,
        blueprint=report.blueprint or None,
        argv=ctx.command_line,
        pending=pending,
    )
    report.next_action = advise(report.to_json(), invocation).as_dict()
