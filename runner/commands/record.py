"""A command wrapped in its run record (runner/runlog.py): `run`, `done`, `skip`, `revert`.

The record is opened before the command and closed with its response, whether it
succeeded or raised; the session's :class:`~runner.runlog.EventLog` is what the command
reports its steps, gates and outcomes to. A record that cannot be written adds a note.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from runner import runlog
from runner.commands.session import Session
from runner.errors import RunnerError
from runner.report import CommandReport


def _options(session: Session) -> dict[str, Any]:
    options: dict[str, Any] = {
        "run_id": session.run_id,
        "cwd": os.getcwd(),
        "repo": str(session.root),
        "blueprint": session.display,
        "python": session.python,
        "no_verify": session.no_verify,
    }
    try:
        from runner.settings import load_settings

        settings = load_settings(session.root)
        options["settings"] = {
            "source": settings.source,
            "gates": settings.gates,
            "codemods": settings.codemod_options,
            "protected-branches": list(settings.protected_branches),
            "keep-import-server": settings.keep_import_server,
        }
        from runner.gates.import_server import keep_seconds

        options["keep_import_server"] = keep_seconds(settings.keep_import_server)  # the environment's wins
    except RunnerError as err:
        options["settings"] = {"error": err.one_line()}
    return options


def recorded(
    session: Session, command: str, argv: Sequence[str], call: Callable[[], CommandReport]
) -> CommandReport:
    record = runlog.start(session.repo, session.run_id, command, argv, _options(session), session.events)
    try:
        report = call()
    except RunnerError as err:
        from runner.commands.respond import error_report

        runlog.finish(record, session.repo, error_report(command, err).to_json())
        raise
    except BaseException as err:  # a bug (exit 70) or an interrupt: recorded, then passed on
        code = "internal_error" if isinstance(err, Exception) else "interrupted"
        record.events.emit("crash", error=f"{type(err).__name__}: {err}")
        runlog.finish(record, session.repo, {"command": command, "exit_code": None, "code": code})
        raise
    runlog.finish(record, session.repo, report.to_json())
    report.notes += session.events.warnings
    return report
