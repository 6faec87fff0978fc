"""Edits as text: a block rendered at a site, edits applied, the result verified.

The edited lines are replaced by the block, shifted to the site's indentation,
with each ``...`` of the replacement filled by the exact bytes its counterpart in
the find block matched. Every other byte stays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst

from codemods.blocks.pattern import Block, Wildcard
from codemods.blocks.result import BlockEdit
from codemods.blocks.source import Source

TextEdit = tuple[int, int, str]  # start and end offsets into Source.text, the new text


def render(
    block: Block,
    indent: str,
    newline: str,
    *,
    shift_first: bool = True,
    fill: Callable[[int, Wildcard], str | None] | None = None,
    trim_footer: bool = False,
) -> tuple[str, tuple[int, int] | None]:
    """The block's text at ``indent`` (a newline after every line), ``...`` filled by ``fill``.

    ``fill(k, wildcard)`` gives the text for the k-th wildcard, or None for an empty
    run (the ``...`` goes with its separator). Returns the text and the span of the
    block's expression in it (expression blocks only).
    """
    lines = block.lines[: block.code_end] if trim_footer else block.lines
    shifted_lines = [
        line if (index == 0 and not shift_first) or not (line or index in block.padded) else indent + line
        for index, line in enumerate(lines)
    ]
    starts = [0]
    for line in shifted_lines:
        starts.append(starts[-1] + len(line) + len(newline))
    text = newline.join(shifted_lines) + newline

    def at(position: tuple[int, int]) -> int:
        line, column = position
        moved = len(indent) if (line > 1 or shift_first) and lines[line - 1] else 0
        return starts[line - 1] + column + moved

    edits: list[TextEdit] = []
    if fill is not None:
        for k, wildcard in enumerate(block.wildcards):
            value = fill(k, wildcard)
            start, end = at(wildcard.start), at(wildcard.end)
            if wildcard.statement:
                row = wildcard.start[0]
                start, end = starts[row - 1], starts[row]
                edits.append((start, end, value or ""))
            elif value is not None:
                edits.append((start, end, value))
            else:
                edits.append((*_empty_run_span(block, wildcard, at), ""))
    span: tuple[int, int] | None = None
    if block.expression is not None:
        where = block.positions[block.expression]
        span = (
            at((where.start.line, where.start.column)),
            at((where.end.line, where.end.column)),
        )
    for start, end, value in sorted(edits, reverse=True):
        text = text[:start] + value + text[end:]
        if span is not None and start < span[1]:
            span = (span[0], span[1] + len(value) - (end - start))
    return text, span


def _empty_run_span(
    block: Block, wildcard: Wildcard, at: Callable[[tuple[int, int]], int]
) -> tuple[int, int]:
    """What to delete for a ``...`` that matched nothing: itself and one separator."""
    siblings = list(wildcard.siblings)
    index = next(i for i, s in enumerate(siblings) if s is wildcard.node)

    def start_of(node: cst.CSTNode) -> int:
        where = block.positions[node]
        return at((where.start.line, where.start.column))

    def end_of(node: cst.CSTNode) -> int:
        where = block.positions[node]
        return at((where.end.line, where.end.column))

    if index + 1 < len(siblings):
        return start_of(wildcard.node), start_of(siblings[index + 1])
    if index > 0:
        return end_of(siblings[index - 1]), end_of(wildcard.node)
    return start_of(wildcard.node), end_of(wildcard.node)


def bound_text(source: Source, nodes: tuple[cst.CSTNode, ...]) -> str:
    if isinstance(nodes[0], cst.BaseStatement):
        first = source.comments_above(source.first_line(nodes[0]))
        return source.text[source.line_start(first) : source.line_start(source.last_line(nodes[-1]) + 1)]
    return source.text[source.start(nodes[0]) : source.end(nodes[-1])]


def apply_edits(text: str, edits: Sequence[TextEdit]) -> str:
    for start, end, value in sorted(edits, reverse=True):
        text = text[:start] + value + text[end:]
    return text


def finish(
    data: bytes,
    source: Source,
    text: str,
    message: str,
    lines: tuple[int, ...],
    again: Callable[[bytes], BlockEdit] | None,
) -> BlockEdit:
    """The edit ``applied`` if the new text compiles and ``again`` (the same edit) finds it applied.

    ``again`` is None in that second run itself: the text is returned unchecked.
    """
    new = source.encode(text)
    if again is None:
        return BlockEdit("applied", new, message, lines)
    try:
        compile(new, "<block edit>", "exec", dont_inherit=True)  # LibCST parses it in the second run
    except (SyntaxError, ValueError) as err:
        return BlockEdit(
            "refused", data, f"the edited file would not parse ({err.__class__.__name__}: {err})"[:300]
        )
    second = again(new)
    if second.status != "already-applied":
        return BlockEdit(
            "refused",
            data,
            f"a second run would not see the edit as applied ({second.status}: {second.message})",
        )
    return BlockEdit("applied", new, message, lines)


def new_lines(text: str, edits: Sequence[TextEdit]) -> tuple[int, ...]:
    """The first line of each edit in the edited text."""
    lines: list[int] = []
    shift = 0
    for start, end, value in sorted(edits):
        line = text.count("\n", 0, start) + 1 + shift
        lines.append(line)
        shift += value.count("\n") - text.count("\n", start, end)
    return tuple(lines)
