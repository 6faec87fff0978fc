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
    first -= _shown_comments(source, block, first)
    last = source.last_line(match.last)
    return Site(match, source.line_start(first), source.line_start(last + 1), first, last)


def _shown_comments(source: Source, block: Block, line: int) -> int:
    """How many of the comment lines right above ``line`` the block shows right above its code.

    Those are part of the match (a replacement puts its own lines in their place); the
    file's other comments stay, as the plan did not show them. Compared from the bottom
    up, by their words; a block comment ending in ``...`` stands for any that starts so.
    """
    count = 0
    for shown in reversed(_leading_comments(block)):
        above = line - count - 1
        if above < 1 or not source.is_comment(above) or not _same_comment(shown, source.line_text(above)):
            break
        count += 1
    return count


def _leading_comments(block: Block) -> list[str]:
    """The comment lines right above the block's first statement (LibCST puts a block's first ones
    in the module header, the rest in the statement's ``leading_lines``)."""
    if not block.statements:
        return []
    comments: list[str] = []
    for line in (*block.module.header, *getattr(block.statements[0], "leading_lines", ())):
        comments = [*comments, line.comment.value] if line.comment is not None else []
    return comments


def _same_comment(shown: str, found: str) -> bool:
    wanted = " ".join(shown.strip().lstrip("#").split())
    there = " ".join(found.strip().lstrip("#").split())
    for ellipsis in ("...", "\u2026"):
        if wanted.endswith(ellipsis):
            return there.startswith(wanted[: -len(ellipsis)].rstrip())
    return wanted == there


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
