"""``Insert into F WHERE``: a block inserted at its spot (:mod:`codemods.blocks.where`), once."""

from __future__ import annotations

import libcst as cst

from codemods.blocks.closest import code_diff, without_comments
from codemods.blocks.matcher import Matcher
from codemods.blocks.pattern import Block
from codemods.blocks.render import finish, render
from codemods.blocks.result import BlockEdit, Candidate, Refusal, edit_or_refusal
from codemods.blocks.sites import prepare
from codemods.blocks.source import Source
from codemods.blocks.where import Spot, Where, find_spot, is_definition


def insert_block(
    source: bytes,
    block: str,
    *,
    where: Where,
    scope: str | None = None,
    line_hint: int | None = None,
) -> BlockEdit:
    """Insert ``block`` at ``where``; anchors and comments are looked for within ``scope``."""
    return edit_or_refusal(lambda: _insert(source, block, where, scope, line_hint, verify=True))


def _insert(
    data: bytes, text: str, where: Where, scope: str | None, hint: int | None, *, verify: bool
) -> BlockEdit:
    anchored = where.kind in ("after", "before", "before-comment")
    source, root, (block,) = prepare(data, scope if anchored else None, [("the block", text)])
    spot = find_spot(data, source, root, block, where, hint)
    there = _already_there(data, source, block, spot)
    if there:
        shown = ", ".join(map(str, there))
        return BlockEdit("already-applied", data, f"already applied (the block is at line {shown})", there)
    newline = source.ending(spot.line - 1) if spot.line > 1 else source.newline
    rendered, _ = render(block, spot.indent, newline)
    above = source.blank_above(spot.line) if spot.line > 1 else spot.separation
    below, code_follows = source.blank_from(spot.line)
    before = max(0, spot.separation - above)
    after = max(0, spot.separation - below) if code_follows else 0
    if code_follows and source.is_comment(spot.line):
        # The comment introduces the code below it: the block stays as far from it as the code
        # above the comment was (the file's own paragraph break), instead of taking its place.
        after = max(after, above)
    if spot.line > len(source.lines) and source.text and not source.text.endswith(("\n", "\r")):
        rendered = newline + rendered  # the file's last line had no newline
    offset = source.line_start(spot.line)
    insertion = newline * before + rendered + newline * after
    new_text = source.text[:offset] + insertion + source.text[offset:]
    first = spot.line + before
    size = rendered.count("\n")
    message = f"inserted {size} line{'s' * (size != 1)} at line {first} ({where.describe()})"

    def again(new: bytes) -> BlockEdit:
        return edit_or_refusal(lambda: _insert(new, text, where, scope, hint, verify=False))

    return finish(data, source, new_text, message, (first,), again if verify else None)


def _already_there(data: bytes, source: Source, block: Block, spot: Spot) -> tuple[int, ...]:
    statements = block.statements
    if all(is_definition(s) for s in statements):
        existing = {s.name.value: s for s in spot.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))}
        same: list[int] = []
        for definition in statements:
            assert isinstance(definition, (cst.FunctionDef, cst.ClassDef))
            there = existing.get(definition.name.value)
            if there is None:
                continue
            if not Matcher().node(definition, there):
                line = source.first_line(there)
                wanted = without_comments(block.module.code_for_node(definition))
                text = source.text[source.line_start(line) : source.line_start(source.last_line(there) + 1)]
                diff = code_diff(wanted, without_comments(text), line)
                raise Refusal(
                    BlockEdit(
                        "refused",
                        data,
                        f"`{definition.name.value}` is already defined at line {line} "
                        "and differs from the block",
                        (line,),
                        Candidate(line, source.last_line(there), 0.0, diff),
                    )
                )
            same.append(source.first_line(there))
        if same and len(same) != len(statements):
            raise Refusal(
                BlockEdit(
                    "refused", data, f"part of the block is already defined (line {same[0]})", tuple(same)
                )
            )
        return tuple(same)
    if spot.adjacent is not None:
        return ()  # checked at every anchor before one was chosen
    for index in range(len(spot.body)):
        if Matcher().sequence(statements, spot.body[index:], prefix=True) is not None:
            return (source.first_line(spot.body[index]),)
    return ()
