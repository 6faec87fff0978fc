"""Where an inserted block goes: a :class:`Where` phrase resolved to a :class:`Spot` in the file.

The spot is a line, the indentation there, the statements the block joins and the
blank lines it wants around it (two around a top-level definition, one in a class).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import libcst as cst

from codemods.blocks.closest import absent
from codemods.blocks.matcher import Match, Matcher, bodies, find_runs
from codemods.blocks.pattern import Block
from codemods.blocks.result import BlockEdit, Refusal
from codemods.blocks.sites import ambiguous, choose, choose_site, parse_or_refuse, statement_site
from codemods.blocks.source import Source, resolve_scope

WhereKind = Literal["after-imports", "after", "before", "before-comment", "start", "end", "into-class"]


@dataclass(frozen=True)
class Where:
    """Where an inserted block goes; ``target`` is the CODE, comment TEXT, SCOPE or class NAME."""

    kind: WhereKind
    target: str = ""

    def describe(self) -> str:
        return {
            "after-imports": "after the imports",
            "after": f"after `{self.target}`",
            "before": f"before `{self.target}`",
            "before-comment": f"before the comment `{self.target}`",
            "start": f"at the start of `{self.target}`",
            "end": f"at the end of `{self.target}`",
            "into-class": f"into class `{self.target}`",
        }[self.kind]


@dataclass(frozen=True)
class Spot:
    line: int  # the block goes before this line (one past the last line: at the end)
    indent: str
    body: Sequence[cst.BaseStatement]  # the statements the block joins (for "already there")
    separation: int  # blank lines wanted around the block
    # Anchored inserts: the block is "already there" only right after (before) its anchor.
    adjacent: Sequence[cst.BaseStatement] | None = None
    prefix: bool = True


def is_definition(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, (cst.FunctionDef, cst.ClassDef))


def _separation(block: Block, indent: str) -> int:
    if block.statements and all(is_definition(s) for s in block.statements):
        return 1 if indent else 2
    return 0


def find_spot(
    data: bytes, source: Source, root: cst.CSTNode, block: Block, where: Where, hint: int | None
) -> Spot:
    if where.kind == "after-imports":
        top = source.module.body
        anchor = _last_import(top)
        if anchor is None:
            line = source.first_line(top[0]) if top else len(source.lines) + 1
        else:
            line = source.last_line(top[anchor]) + 1
        return Spot(line, "", top, 2 if _separation(block, "") else 1)
    if where.kind in ("after", "before"):
        anchor_block = parse_or_refuse(data, where.target, "the anchor")
        sites = [statement_site(source, anchor_block, m) for m in find_runs(anchor_block.statements, root)]
        if not sites:
            raise Refusal(absent(data, source, anchor_block, root, f"the anchor `{where.target}`"))
        spots = [_anchored_spot(source, block, where, site.match) for site in sites]
        for spot in spots:
            if spot.adjacent is not None and _matches_at(block, spot.adjacent, prefix=spot.prefix):
                line = source.first_line(spot.adjacent[0 if spot.prefix else -len(block.statements)])
                raise Refusal(
                    BlockEdit(
                        "already-applied", data, f"already applied (the block is at line {line})", (line,)
                    )
                )
        site = choose_site(sites, hint)
        if site is None:
            raise Refusal(ambiguous(data, sites, f"the anchor `{where.target}`", hint))
        return spots[sites.index(site)]
    if where.kind == "before-comment":
        return _comment_spot(data, source, root, block, where, hint)
    node, why = resolve_scope(source, where.target)
    if node is None:
        raise Refusal(BlockEdit("absent", data, why))
    if where.kind == "into-class" and not isinstance(node, cst.ClassDef):
        raise Refusal(BlockEdit("refused", data, f"`{where.target}` is a function, not a class"))
    if not isinstance(node.body, cst.IndentedBlock):
        raise Refusal(BlockEdit("refused", data, f"`{where.target}` has its body on its header line"))
    body: Sequence[cst.BaseStatement] = node.body.body
    indent = source.indent(source.first_line(body[0]))
    if where.kind == "start":
        index = 1 if _is_docstring(body[0]) else 0
        if index < len(body):
            line = source.comments_above(source.first_line(body[index]))
        else:
            line = source.last_line(body[-1]) + 1
        return Spot(line, indent, body, _separation(block, indent))
    last = body[-1]
    if isinstance(node, cst.FunctionDef) and _ends_flow(last):
        raise Refusal(
            BlockEdit(
                "refused",
                data,
                f"`{where.target}` ends with a return/raise at line {source.first_line(last)}: "
                "code after it would never run",
            )
        )
    separation = _separation(block, indent)
    if where.kind == "into-class" and separation:
        separation = _class_separation(source, body)
    return Spot(source.last_line(last) + 1, indent, body, separation)


def _anchored_spot(source: Source, block: Block, where: Where, match: Match) -> Spot:
    indent = source.indent(source.first_line(match.first))
    end = match.index + match.count
    if where.kind == "after":
        line = source.last_line(match.body[end - 1]) + 1
        adjacent, prefix = match.body[end:], True
    else:
        line = source.comments_above(source.first_line(match.first))
        adjacent, prefix = match.body[max(0, match.index - len(block.statements)) : match.index], False
    return Spot(line, indent, match.body, _separation(block, indent), adjacent, prefix)


def _matches_at(block: Block, statements: Sequence[cst.BaseStatement], *, prefix: bool) -> bool:
    return bool(statements) and Matcher().sequence(block.statements, statements, prefix=prefix) is not None


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _ends_flow(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and isinstance(
        statement.body[-1], (cst.Return, cst.Raise)
    )


def _is_import(statement: cst.BaseStatement) -> bool:
    if isinstance(statement, cst.SimpleStatementLine):
        return all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body)
    if isinstance(statement, cst.Try) and isinstance(statement.body, cst.IndentedBlock):
        return all(_is_import(s) for s in statement.body.body)  # try: import x / except ImportError
    return False


def _last_import(body: Sequence[cst.BaseStatement]) -> int | None:
    """The last import before the first definition (or the docstring when there is none)."""
    found: int | None = 0 if body and _is_docstring(body[0]) else None
    for index, statement in enumerate(body):
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            break
        if _is_import(statement):
            found = index
    return found


def _class_separation(source: Source, body: Sequence[cst.BaseStatement]) -> int:
    gaps = [
        source.blank_above(source.comments_above(source.first_line(s)))
        for s in body[1:]
        if isinstance(s, cst.FunctionDef)
    ]
    return max(set(gaps), key=gaps.count) if gaps else 1


def _comment_spot(
    data: bytes, source: Source, root: cst.CSTNode, block: Block, where: Where, hint: int | None
) -> Spot:
    wanted = where.target.strip().lstrip("#").strip()
    first, last = (
        (1, len(source.lines)) if root is source.module else (source.first_line(root), source.last_line(root))
    )
    found = [c for c in source.own_line_comments(first, last) if wanted and c.text.startswith(wanted)]
    if not found:
        raise Refusal(BlockEdit("absent", data, f"no comment starting with `{wanted}`"))
    comment = choose(found, hint, lambda c: c.line)
    if comment is None:
        lines = tuple(c.line for c in found)
        shown = ", ".join(map(str, lines))
        raise Refusal(
            BlockEdit(
                "ambiguous", data, f"the comment `{wanted}` is at {len(found)} places (lines {shown})", lines
            )
        )
    # The statements the block joins: those of the first statement after the comment.
    body: Sequence[cst.BaseStatement] = ()
    nearest = 0
    for statements in bodies(root):  # outermost first: an inner body wins a tie
        for statement in statements:
            line = source.first_line(statement)
            if line > comment.line and source.indent(line) == comment.indent:
                if not nearest or line <= nearest:
                    body, nearest = statements, line
                break
    return Spot(comment.line, comment.indent, body, _separation(block, comment.indent))
