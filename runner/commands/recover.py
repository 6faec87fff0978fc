"""`recover`: roll back (or confirm) a task a killed runner left, and clear its stale lock."""

from __future__ import annotations

from runner.commands.session import Session, locked
from runner.lock import clear_stale_lock
from runner.report import CommandReport


def recover(session: Session) -> CommandReport:
    report = CommandReport("recover", repo=str(session.root))
    cleared = clear_stale_lock(session.repo.git_dir)
    with locked(session, "recover") as notes:
        report.notes += notes
    if cleared:
        report.notes.append(cleared)
    report.message = "; ".join(report.notes) or "nothing to recover"
    return report
