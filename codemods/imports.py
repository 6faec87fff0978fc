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

from collections.abc import Sequence

import libcst as cst


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
