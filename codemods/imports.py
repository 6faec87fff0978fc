"""Removing import lines, one policy for every codemod.

When a codemod removes a whole import line, what stood above it is not the import's:
its comment lines and blank lines are carried to the statement that follows (or to the
module footer), so no comment is lost and the separation between blocks stays; blank
lines are not piled up (a run is never longer than the longest run either side had), and
at the start of the file the carried blank lines go. A comment on the import line itself
(``import wandb  # logging``) belongs to the import and goes with it. Removing one name of
a multi-name import keeps the line and its comment; a line a codemod cannot remove whole
(a ``from`` import inside a compound statement, with other statements) is left to
LibCST's ``RemoveImportsVisitor``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import libcst as cst


def dotted_name(name: str) -> cst.Attribute | cst.Name:
    """``a.b.c`` as the expression an import statement holds."""
    head, *rest = name.split(".")
    node: cst.Attribute | cst.Name = cst.Name(head)
    for part in rest:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def is_blank(line: cst.EmptyLine) -> bool:
    return line.comment is None


def _longest_blank_run(lines: Sequence[cst.EmptyLine]) -> int:
    longest = run = 0
    for line in lines:
        run = run + 1 if is_blank(line) else 0
        longest = max(longest, run)
    return longest


def carry_lines(
    carried: Sequence[cst.EmptyLine], own: Sequence[cst.EmptyLine], strip_leading: bool
) -> list[cst.EmptyLine]:
    """Lines of a removed statement put before the next one, without piling up blank lines."""
    limit = max(_longest_blank_run(carried), _longest_blank_run(own))
    merged: list[cst.EmptyLine] = []
    run = 0
    for line in [*carried, *own]:
        if not is_blank(line):
            run = 0
            merged.append(line)
            continue
        if strip_leading and not merged:
            continue
        run += 1
        if run <= limit:
            merged.append(line)
    return merged


def remove_import_aliases(
    original: cst.Module,
    updated: cst.Module,
    dropped: Mapping[cst.BaseSmallStatement, set[int]],
) -> tuple[cst.Module, list[tuple[cst.BaseSmallStatement, bool]]]:
    """``updated`` without the aliases ``dropped`` names (module-level import statements of
    ``original``, each with the indexes of its aliases that go), by the policy above.

    Also returns each touched statement (of ``original``) and whether it went whole.
    """
    touched: list[tuple[cst.BaseSmallStatement, bool]] = []
    body: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] | None = None  # lines of removed statements, if any
    at_start = not original.header or is_blank(original.header[-1])
    for original_line, line in zip(original.body, updated.body, strict=True):
        if isinstance(original_line, cst.SimpleStatementLine) and isinstance(line, cst.SimpleStatementLine):
            kept = _without_aliases(original_line, line, dropped, touched)
            if kept is None:
                carried = [*(carried or []), *line.leading_lines]
                continue
            line = kept
        if carried is not None:
            merged = carry_lines(carried, line.leading_lines, strip_leading=at_start and not body)
            line = line.with_changes(leading_lines=merged)
            carried = None
        body.append(line)
    footer = list(updated.footer)
    if carried is not None:
        footer = carry_lines(carried, footer, strip_leading=at_start and not body)
    return updated.with_changes(body=body, footer=footer), touched


def _without_aliases(
    original: cst.SimpleStatementLine,
    updated: cst.SimpleStatementLine,
    dropped: Mapping[cst.BaseSmallStatement, set[int]],
    touched: list[tuple[cst.BaseSmallStatement, bool]],
) -> cst.SimpleStatementLine | None:
    """``updated`` without the dropped aliases; None when nothing of it is left."""
    if not any(small in dropped for small in original.body):
        return updated
    small_statements: list[cst.BaseSmallStatement] = []
    last_removed = False
    for original_small, small in zip(original.body, updated.body, strict=True):
        indexes = dropped.get(original_small)
        last_removed = indexes is not None
        if indexes is None:
            small_statements.append(small)
            continue
        names = small.names if isinstance(small, cst.Import | cst.ImportFrom) else ()
        if not isinstance(names, cst.ImportStar) and len(indexes) < len(names):
            kept = [a for i, a in enumerate(names) if i not in indexes]
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            small_statements.append(small.with_changes(names=kept))
            last_removed = False
            touched.append((original_small, False))
        else:
            touched.append((original_small, True))
    if not small_statements:
        return None
    if last_removed:
        small_statements[-1] = small_statements[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return updated.with_changes(body=small_statements)
