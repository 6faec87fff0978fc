"""`codemod list` and `codemod apply`: the codemods on their own, outside any blueprint.

``apply`` computes every file's new bytes first; inside a git repository it then
writes them through a :class:`~runner.transaction.Transaction` under the repo lock
(a crash leaves nothing half applied), outside one it writes them atomically.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from codemods import registry
from codemods.engine import CodemodCall, apply_codemods, iter_python_files
from runner.commands.session import Progress, quiet
from runner.errors import InputError
from runner.fsutil import atomic_write
from runner.report import (
    CodemodApplyData,
    CodemodInfo,
    CodemodListData,
    CommandReport,
    FileOutcomeRow,
    OptionValue,
)
from runner.reporting import unified_diff
from runner.repository import Repository
from runner.transaction import Transaction, exclusive


def codemod_list() -> CommandReport:
    report = CommandReport("codemod list")
    report.data = CodemodListData(
        codemods=[
            CodemodInfo(
                name=name,
                description=cls.DESCRIPTION,
                options=[
                    {"name": o.name, "type": o.kind.__name__, "default": o.default, "help": o.help}
                    for o in cls.OPTIONS
                ],
            )
            for name, cls in sorted(registry().items())
        ]
    )
    return report


def _option_value(value: object) -> OptionValue:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def codemod_apply(
    name: str,
    options: dict[str, str],
    paths: list[Path],
    *,
    dry_run: bool,
    progress: Progress = quiet,
) -> CommandReport:
    """Run one codemod on files and directories."""
    report = CommandReport("codemod apply")
    codemod = registry().get(name)
    if codemod is None:
        raise InputError(f"unknown codemod {name!r} (known: {', '.join(sorted(registry()))})")
    try:
        call = CodemodCall(codemod, codemod.resolve_options(options))
    except ValueError as err:
        raise InputError(str(err)) from None
    for given in paths:
        if not given.exists():
            raise InputError("no such file or directory", path=str(given))
    repo = None if dry_run else _repository_of(paths[0])
    if repo is None:
        data, new_bytes = _apply(name, call, paths, dry_run=dry_run, progress=progress)
        for path, after in new_bytes.items():
            atomic_write(path, after)
    else:
        run_id = uuid.uuid4().hex[:12]
        with exclusive(repo, run_id, "codemod apply") as notes:
            report.notes += notes  # a killed runner's half-done task is rolled back first
            data, new_bytes = _apply(name, call, paths, dry_run=dry_run, progress=progress)
            if new_bytes:
                txn = Transaction(repo, run_id=run_id, plan="codemod apply", task=name, operation="codemod")
                with txn:
                    txn.write(new_bytes)
    report.data = data
    totals = data["totals"]
    report.message = (
        f"{name}: {totals['changed']} file(s) changed of {totals['scanned']} scanned "
        f"({totals['parsed']} parsed), {totals['skipped']} skipped, {totals['error']} error(s)"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    return report


def _apply(
    name: str, call: CodemodCall, paths: list[Path], *, dry_run: bool, progress: Progress
) -> tuple[CodemodApplyData, dict[Path, bytes]]:
    """Every file's outcome, and the new bytes of the files that changed (nothing written)."""
    files: list[FileOutcomeRow] = []
    diff: list[str] = []
    new_bytes: dict[Path, bytes] = {}
    totals = {"scanned": 0, "parsed": 0, "changed": 0, "skipped": 0, "error": 0}
    for given in paths:
        for path in iter_python_files(given):
            totals["scanned"] += 1
            source = path.read_bytes()
            outcome = apply_codemods(source, [call], str(path))
            totals["parsed"] += outcome.parsed
            if outcome.status in totals:
                totals[outcome.status] += 1
            if outcome.status == "unchanged" and not outcome.skips:
                continue
            files.append(
                FileOutcomeRow(
                    file=str(path),
                    status=outcome.status,
                    reason=outcome.reason,
                    changes=[{"line": c.line, "description": c.description} for c in outcome.changes],
                    skips=[{"line": s.line, "reason": s.reason} for s in outcome.skips],
                )
            )
            if outcome.status == "changed":
                if dry_run:
                    diff.append(unified_diff(str(path), source, outcome.after))
                else:
                    # The directory resolved, the file not: a symlink is the path the user named.
                    new_bytes[path.absolute().parent.resolve() / path.name] = outcome.after
                progress(f"{path}: {len(outcome.changes)} change(s)")
    data = CodemodApplyData(
        codemod=name,
        options={k: _option_value(v) for k, v in call.options.items()},
        files=files,
        totals=totals,
        diff="".join(diff),
    )
    return data, new_bytes


def _repository_of(path: Path) -> Repository | None:
    try:
        repo = Repository(path.parent, enclosing=True)
        repo.head()
    except InputError:
        return None
    return repo
