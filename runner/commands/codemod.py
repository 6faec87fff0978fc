"""`codemod list` and `codemod apply`: the codemods on their own, outside any blueprint.

``apply`` computes every file's new bytes first; inside a git repository it then
writes them through a :class:`~runner.transaction.Transaction` under the repo lock
(a crash leaves nothing half applied), outside one it writes them atomically.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from codemods import catalog
from codemods.engine import CodemodCall, gather_call, run_codemods
from runner.errors import InputError
from runner.fsutil import atomic_write, enclosing_root, python_files_under
from runner.progress import Progress, quiet
from runner.report import (
    CodemodApplyData,
    CodemodInfo,
    CodemodListData,
    CommandReport,
    FileOutcomeRow,
    OptionValue,
)

# A dry run on a large tree is timed against ruff: git, the journal and the blueprint model
# are imported only to write (LibCST only when a file reaches it, see codemods.engine).
if TYPE_CHECKING:
    from runner.repository import Repository


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
            for name, cls in sorted(catalog().items())
        ]
    )
    return report


def _option_value(value: object) -> OptionValue:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _calls(names_text: str, options: dict[str, str]) -> list[CodemodCall]:
    """The codemods named ``a`` or ``a,b,c`` with their options, in the order given.

    With several codemods an option ``key=value`` goes to every one that declares ``key``,
    and ``name.key=value`` to that one only."""
    known = catalog()
    names = list(dict.fromkeys(n.strip() for n in names_text.split(",") if n.strip()))
    for name in names or [names_text]:
        if name not in known:
            raise InputError(f"unknown codemod {name!r} (known: {', '.join(sorted(known))})")
    given: dict[str, dict[str, str]] = {name: {} for name in names}
    for key, value in options.items():
        codemod, _, option = key.partition(".")
        if len(names) == 1 and codemod != names[0]:
            given[names[0]][key] = value  # the codemod itself says which options it takes
        elif option and codemod in known:
            if codemod not in given:
                raise InputError(f"option {key!r} is for {codemod!r}, which is not being applied")
            given[codemod][option] = value
        else:
            takers = [n for n in names if any(o.name == key for o in known[n].OPTIONS)]
            if not takers:
                raise InputError(f"none of {', '.join(names)} takes an option {key!r}")
            for name in takers:
                given[name][key] = value
    try:
        return [CodemodCall(known[n], known[n].resolve_options(given[n])) for n in names]
    except ValueError as err:
        raise InputError(str(err)) from None


def codemod_apply(
    name: str,
    options: dict[str, str],
    paths: list[Path],
    *,
    dry_run: bool,
    include_vendored: bool = False,
    progress: Progress = quiet,
) -> CommandReport:
    """Run one codemod, or several (``a,b,c``) in one pass, on files and directories.

    Files are streamed (read one at a time, across a process pool on a large tree); only
    the new bytes of changed files are kept until they are written."""
    report = CommandReport("codemod apply")
    calls = _calls(name, options)
    for given in paths:
        if not given.exists():
            raise InputError("no such file or directory", path=str(given))
    repo = None if dry_run else _repository_of(paths[0])
    if repo is None:
        data, new_bytes = _apply(
            calls, paths, dry_run=dry_run, include_vendored=include_vendored, progress=progress
        )
        for path, after in new_bytes.items():
            atomic_write(path, after)
    else:
        from runner.transaction import Transaction, exclusive

        run_id = uuid.uuid4().hex[:12]
        with exclusive(repo, run_id, "codemod apply") as notes:
            report.notes += notes  # a killed runner's half-done task is rolled back first
            data, new_bytes = _apply(
                calls, paths, dry_run=dry_run, include_vendored=include_vendored, progress=progress
            )
            if new_bytes:
                txn = Transaction(
                    repo, run_id=run_id, plan="codemod apply", task=data["codemod"], operation="codemod"
                )
                with txn:
                    txn.write(new_bytes)
    report.data = data
    totals = data["totals"]
    report.message = (
        f"{data['codemod']}: {totals['changed']} file(s) changed of {totals['scanned']} scanned "
        f"({totals['parsed']} parsed), {totals['skipped']} skipped, {totals['error']} error(s)"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    return report


def _apply(
    calls: list[CodemodCall], paths: list[Path], *, dry_run: bool, include_vendored: bool, progress: Progress
) -> tuple[CodemodApplyData, dict[Path, bytes]]:
    """Every file's outcome, and the new bytes of the files that changed (nothing written)."""
    files: list[FileOutcomeRow] = []
    diff: list[str] = []
    new_bytes: dict[Path, bytes] = {}
    totals = {"scanned": 0, "parsed": 0, "changed": 0, "skipped": 0, "error": 0}
    problems: list[FileOutcomeRow] = []  # files not read, listed first

    def walk() -> Iterator[Path]:
        for given in paths:
            boundary = enclosing_root(given)
            for found in python_files_under(
                given, boundary, boundary="the tree", include_vendored=include_vendored
            ):
                if found.problem:  # a symlink leaving the tree or into .git, a FIFO, a nested repository
                    totals["scanned"] += 1
                    totals["skipped"] += 1
                    problems.append(
                        FileOutcomeRow(
                            file=str(found.path), status="skipped", reason=found.problem, changes=[], skips=[]
                        )
                    )
                else:  # a symlink is reported (and edited) as its target: the link stays a link
                    yield found.resolved if found.is_link else found.path

    every_path: Iterable[Path] = walk()  # walked while the engine screens the first files
    if any(c.codemod.GATHERS for c in calls):
        calls, every_path = _gathered(calls, list(every_path))
    for outcome in run_codemods(every_path, calls, progress=progress.scan):
        path = Path(outcome.path)
        totals["scanned"] += 1
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
                from runner.diffs import unified_diff

                diff.append(unified_diff(str(path), outcome.before, outcome.after))
            else:
                # The directory resolved, the file not: a symlink is the path the user named.
                new_bytes[path.absolute().parent.resolve() / path.name] = outcome.after
            progress(f"{path}: {len(outcome.changes)} change(s)")
    files[:0] = problems
    data = CodemodApplyData(
        codemod=",".join(c.codemod.NAME for c in calls),
        options={
            (k if len(calls) == 1 else f"{c.codemod.NAME}.{k}"): _option_value(v)
            for c in calls
            for k, v in c.options.items()
        },
        files=files,
        totals=totals,
        diff="".join(diff),
    )
    return data, new_bytes


def _gathered(calls: list[CodemodCall], files: list[Path]) -> tuple[list[CodemodCall], list[Path]]:
    """Multi-file codemods get their analysis of every file first. Paths are made absolute
    (the files, and options naming a file, relative to the current directory) so the
    analysis and the per-file runs name each file alike; module names start at the first
    directory above the target that is not a package (no ``__init__.py``)."""
    every = [p.absolute() for p in files]
    result: list[CodemodCall] = []
    for call in calls:
        if not call.codemod.GATHERS:
            result.append(call)
            continue
        options = dict(call.options)
        for name in call.codemod.PATH_OPTIONS:
            if options.get(name):
                options[name] = str(Path(str(options[name])).absolute())
        named = [Path(p) for p in call.codemod.option_paths(options)]
        every += [p for p in named if p.is_file() and p not in every]
        root = named[0].parent if named else Path.cwd()
        while (root / "__init__.py").is_file() and root.parent != root:
            root = root.parent

        def read(path: str) -> bytes | None:
            return Path(path).read_bytes() if Path(path).is_file() else None

        files_here = [str(p) for p in every]
        result.append(gather_call(replace(call, options=options), files_here, read, str(root)))
    return result, every


def _repository_of(path: Path) -> Repository | None:
    from runner.repository import Repository

    try:
        repo = Repository(path.parent, enclosing=True)
        repo.head()
    except InputError:
        return None
    return repo
