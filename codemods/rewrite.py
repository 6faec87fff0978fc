"""The LibCST stage of the engine: parse once, transform, verify like ruff.

Imported by :mod:`codemods.engine` only when a file reaches it (importing LibCST and the
commands costs about a second): a file that the needles and pre-checks clear never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile

from codemods.contract import Change, Skip
from codemods.engine import CodemodCall, FileOutcome, still_active


def parse(source: bytes) -> cst.Module | str:
    """The module, or the reason it cannot be parsed."""
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as err:
        return f"does not parse as Python 3 (line {err.raw_line}: {err.message})"
    except (UnicodeDecodeError, LookupError, SyntaxError) as err:
        return f"cannot be decoded: {err}"


def _transform(
    tree: cst.Module,
    calls: Sequence[CodemodCall],
    path: str,
    cleared: Sequence[CodemodCall] = (),
) -> tuple[cst.Module, list[Change], list[Skip]]:
    """Run ``calls`` in order; those in ``cleared`` only once an earlier one changed the tree
    (their pre-checks spoke for the original source only)."""
    changes: list[Change] = []
    skips: list[Skip] = []
    original = tree
    for call in calls:
        if call in cleared and (tree is original or tree.code == original.code):
            continue
        command = call.codemod.load()(CodemodContext(filename=path), **call.options)
        command.gathered = call.gathered
        try:
            tree = command.transform_module(tree)
        except SkipFile:
            # The command recorded why; its partial work is discarded.
            skips.extend(command.report.skips)
            continue
        changes.extend(command.report.changes)
        skips.extend(command.report.skips)
    return tree, changes, skips


def rewrite(
    source: bytes,
    active: Sequence[CodemodCall],
    cleared: Sequence[CodemodCall],
    path: str,
    *,
    prefilter: bool = True,
) -> FileOutcome:
    """Parse ``source`` once, run ``active`` on the tree (skipping ``cleared`` unless an
    earlier codemod changed it), and keep the result only if it verifies (``prefilter``: the
    second pass of the verification is screened like the first)."""
    parsed = parse(source)
    if isinstance(parsed, str):
        return FileOutcome(path, "skipped", source, source, reason=parsed)
    try:
        tree, changes, skips = _transform(parsed, active, path, cleared)
    except Exception as err:  # a codemod bug must not take the whole run down
        return FileOutcome(path, "error", source, source, parsed=True, reason=f"codemod crashed: {err!r}")
    after = tree.bytes
    outcome = FileOutcome(path, "unchanged", source, source, True, changes, skips)
    if after == source:
        return outcome

    problem = _verify(after, active, path, prefilter)
    if problem:
        outcome.status, outcome.reason = "error", f"{problem}; the change was not kept"
        return outcome
    outcome.status, outcome.after = "changed", after
    return outcome


def _verify(after: bytes, calls: Sequence[CodemodCall], path: str, prefilter: bool) -> str:
    """Empty when ``after`` compiles and a second pass leaves it unchanged.

    With ``prefilter`` the second pass skips the codemods whose needles or pre-checks clear
    ``after`` (they would leave it unchanged, as they do a file on the first pass)."""
    try:
        compile(after, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as err:
        return f"the rewrite does not compile ({err})"
    reparsed = parse(after)
    if isinstance(reparsed, str):
        return f"the rewrite does not re-parse ({reparsed})"
    cleared: list[CodemodCall] = []
    if prefilter:
        calls, cleared = still_active(after, calls)
        if len(cleared) == len(calls):
            return ""
    again, _, _ = _transform(reparsed, calls, path, cleared)
    if again.bytes != after:
        return "the rewrite is not idempotent (a second pass changes it again)"
    return ""
