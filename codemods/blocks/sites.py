"""Where a block matches in a file: the file and blocks parsed, sites found, one chosen by a hint."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import libcst as cst

from codemods.blocks.matcher import Match, find_expressions, find_runs
from codemods.blocks.pattern import Block, BlockSyntaxError, parse_block
from codemods.blocks.result import HINT_WINDOW, BlockEdit, Refusal
from codemods.blocks.source import Source, SourceError, resolve_scope

_Item = TypeVar("_Item")


@dataclass(frozen=True)
class Site:
    match: Match
    start: int  # offsets into Source.text
    end: int
    first_line: int
    last_line: int


def parse_or_refuse(data: bytes, text: str, name: str) -> Block:
    try:
        return parse_block(text)
    except BlockSyntaxError as err:
        raise Refusal(BlockEdit("refused", data, f"{name}: {err}")) from None


def prepare(
    data: bytes, scope: str | None, blocks: Sequence[tuple[str, str]]
) -> tuple[Source, cst.CSTNode, list[Block]]:
    """The file, the root to search (the module or ``scope``) and the parsed blocks, or a refusal."""
    try:
        source = Source(data)
    except SourceError as err:
        raise Refusal(BlockEdit("refused", data, f"the file {err}")) from None
    parsed = [parse_or_refuse(data, text, name) for name, text in blocks]
    root: cst.CSTNode = source.module
    if scope:
        node, why = resolve_scope(source, scope)
        if node is None:
            raise Refusal(BlockEdit("absent", data, why))
        root = node
    return source, root, parsed


def statement_site(source: Source, block: Block, match: Match) -> Site:
    first = source.first_line(match.first)
    if block.statements and _has_leading_comment(block.statements[0]):
        first = source.comments_above(first)  # the block's own comment replaces the one there
    last = source.last_line(match.last)
    return Site(match, source.line_start(first), source.line_start(last + 1), first, last)


def _has_leading_comment(statement: cst.BaseStatement) -> bool:
    lines = getattr(statement, "leading_lines", ())
    return any(line.comment is not None for line in lines)


def locate(source: Source, block: Block, root: cst.CSTNode, expression: bool) -> list[Site]:
    if expression:
        assert block.expression is not None
        return [
            Site(
                m,
                source.start(m.first),
                source.end(m.first),
                source.first_line(m.first),
                source.last_line(m.first),
            )
            for m in find_expressions(block.expression, root)
        ]
    return [statement_site(source, block, m) for m in find_runs(block.statements, root)]


def choose(items: Sequence[_Item], hint: int | None, line: Callable[[_Item], int]) -> _Item | None:
    """The one item, or the one within :data:`HINT_WINDOW` lines of the hint."""
    if len(items) == 1:
        return items[0]
    if hint is None:
        return None
    near = [item for item in items if abs(line(item) - hint) <= HINT_WINDOW]
    return near[0] if len(near) == 1 else None


def choose_site(sites: Sequence[Site], hint: int | None) -> Site | None:
    return choose(sites, hint, lambda site: site.first_line)


def ambiguous(
    data: bytes, sites: Sequence[Site], what: str, hint: int | None, *, every: bool = False
) -> BlockEdit:
    lines = tuple(s.first_line for s in sites)
    shown = ", ".join(str(n) for n in lines)
    why = (
        f"no single one within {HINT_WINDOW} lines of the hint (line {hint})"
        if hint is not None
        else "name a scope or add '(around line N)'" + (" or say 'every occurrence'" if every else "")
    )
    return BlockEdit("ambiguous", data, f"{what} matches {len(sites)} places (lines {shown}); {why}", lines)
