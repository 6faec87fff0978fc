"""``Replace in F``: the statements (or the one expression) a find block matches become the replacement."""

from __future__ import annotations

import itertools

import libcst as cst

from codemods.blocks.closest import absent
from codemods.blocks.pattern import Block, Wildcard
from codemods.blocks.render import TextEdit, apply_edits, bound_text, finish, new_lines, render
from codemods.blocks.result import HINT_WINDOW, BlockEdit, edit_or_refusal
from codemods.blocks.sites import Site, ambiguous, choose_site, locate, prepare
from codemods.blocks.source import Source


def replace_block(
    source: bytes,
    find: str,
    replacement: str,
    *,
    scope: str | None = None,
    every: bool = False,
    line_hint: int | None = None,
) -> BlockEdit:
    """Replace the statements (or the one expression) ``find`` matches by ``replacement``."""
    return edit_or_refusal(lambda: _replace(source, find, replacement, scope, every, line_hint, verify=True))


def _replace(
    data: bytes,
    find: str,
    replacement: str,
    scope: str | None,
    every: bool,
    hint: int | None,
    *,
    verify: bool,
) -> BlockEdit:
    source, root, (find_block, new_block) = prepare(
        data, scope, [("the find block", find), ("the replacement", replacement)]
    )
    expression = find_block.expression is not None and new_block.expression is not None
    finds = locate(source, find_block, root, expression)
    already = locate(source, new_block, root, expression)
    pending = [f for f in finds if not any(r.start <= f.start and f.end <= r.end for r in already)]
    if not pending:
        if already:
            lines = tuple(s.first_line for s in already)
            where = ", ".join(map(str, lines))
            return BlockEdit(
                "already-applied", data, f"already applied (the replacement is at line {where})", lines
            )
        return absent(data, source, find_block, root, "the find block")
    if not every and hint is not None and already:
        # The hint chooses among every site, done or not: the one it names may be done already.
        near = [s for s in [*pending, *already] if abs(s.first_line - hint) <= HINT_WINDOW]
        if len(near) == 1 and near[0] in already:
            line = near[0].first_line
            return BlockEdit(
                "already-applied", data, f"already applied (the replacement is at line {line})", (line,)
            )
    if not every:
        chosen = choose_site(pending, hint)
        if chosen is None:
            return ambiguous(data, pending, "the find block", hint, every=True)
        pending = [chosen]
    kept, given = len(find_block.wildcards), len(new_block.wildcards)
    if given and given != kept:
        return BlockEdit(
            "refused",
            data,
            f"the replacement has {given} `...` but the find block has {kept}: "
            "each `...` of the replacement keeps what the one at the same place matched",
        )
    ordered = sorted(pending, key=lambda s: s.start)
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            return BlockEdit(
                "refused", data, f"matches at lines {before.first_line} and {after.first_line} overlap"
            )
    edits = [_replacement_edit(source, find_block, new_block, site, expression) for site in ordered]
    text = apply_edits(source.text, edits)
    lines = new_lines(source.text, edits)
    noun = "expression" if expression else "block"
    message = (
        f"replaced the {noun} at line {lines[0]}"
        if len(lines) == 1
        else f"replaced {len(lines)} {noun}s at lines {', '.join(map(str, lines))}"
    )

    def again(new: bytes) -> BlockEdit:
        return edit_or_refusal(lambda: _replace(new, find, replacement, scope, every, hint, verify=False))

    return finish(data, source, text, message, lines, again if verify else None)


def _replacement_edit(
    source: Source, find_block: Block, new_block: Block, site: Site, expression: bool
) -> TextEdit:
    bound = {id(node): nodes for node, nodes in site.match.bindings}

    def fill(k: int, wildcard: Wildcard) -> str | None:
        if k >= len(find_block.wildcards):
            return None
        nodes = bound.get(id(find_block.wildcards[k].node), ())
        if not nodes:
            return None
        text = bound_text(source, nodes)
        # The run's trailing comma is the run's, unless the replacement writes its own.
        last, own = nodes[-1], getattr(wildcard.node, "comma", None)
        trailing = getattr(last, "comma", None)
        is_last = bool(wildcard.siblings) and wildcard.node is wildcard.siblings[-1]
        if isinstance(trailing, cst.Comma) and not isinstance(own, cst.Comma) and is_last:
            text += source.text[source.end(last) : source.end(trailing)]
        return text

    if expression:
        indent = source.indent(site.first_line)
        text, span = render(new_block, indent, source.ending(site.first_line), shift_first=False, fill=fill)
        assert span is not None
        return site.start, site.end, text[span[0] : span[1]]
    indent = source.indent(source.first_line(site.match.first))
    # Comments after the find block's code are context (the file keeps its own): not re-emitted.
    trim = find_block.trailing_comments
    text, _ = render(new_block, indent, source.ending(site.last_line), fill=fill, trim_footer=trim)
    if site.end == len(source.text) and not source.text.endswith(("\n", "\r")):
        text = text.rstrip("\r\n")
    return site.start, site.end, text
