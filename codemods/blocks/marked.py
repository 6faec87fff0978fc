"""``Insert the lines marked `# ADD THIS LINE` into F``: marked lines go after the context they follow.

The block's unmarked lines are the context, found by structure; each run of marked
lines is inserted next to the context statement it follows (or precedes) there.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from codemods.blocks.closest import absent
from codemods.blocks.matcher import Matcher, bodies, find_runs
from codemods.blocks.pattern import Block, dedent
from codemods.blocks.render import TextEdit, apply_edits, finish, new_lines
from codemods.blocks.result import BlockEdit, Refusal, edit_or_refusal
from codemods.blocks.sites import ambiguous, choose_site, prepare, statement_site

DEFAULT_MARKER = "# ADD THIS LINE"


def insert_marked_lines(
    source: bytes,
    block: str,
    marker: str = DEFAULT_MARKER,
    *,
    scope: str | None = None,
    line_hint: int | None = None,
) -> BlockEdit:
    """Insert the lines of ``block`` carrying ``marker`` after the context line they follow."""
    return edit_or_refusal(lambda: _insert_marked(source, block, marker, scope, line_hint, verify=True))


def _split_marked(data: bytes, block: str, marker: str) -> tuple[list[str], set[int]]:
    """The block's lines (dedented, markers removed) and the indexes of the marked ones."""
    lines, _, _ = dedent(block)
    wanted = marker.strip().lstrip("#").strip().lower()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as err:
        raise Refusal(BlockEdit("refused", data, f"the block is not Python: {err}")) from None
    marked: set[int] = set()
    out = list(lines)
    for token in tokens:
        if token.type == tokenize.COMMENT and token.string.lstrip("#").strip().lower() == wanted:
            index = token.start[0] - 1
            marked.add(index)
            out[index] = lines[index][: token.start[1]].rstrip()
    if not marked:
        raise Refusal(BlockEdit("refused", data, f"no line of the block is marked `{marker}`"))
    return out, marked


def _preorder(node: cst.CSTNode) -> list[cst.BaseStatement]:
    found: list[cst.BaseStatement] = []
    for body in sequences_of_statements(node):
        for statement in body:
            found.append(statement)
            found += _preorder(statement)
    return found


def sequences_of_statements(node: cst.CSTNode) -> list[Sequence[cst.BaseStatement]]:
    if isinstance(node, (cst.Module, cst.IndentedBlock)):
        return [node.body]
    found: list[Sequence[cst.BaseStatement]] = []
    for child in node.children:
        if isinstance(child, cst.BaseStatement):
            continue
        found += sequences_of_statements(child)
    return found


@dataclass(frozen=True)
class _Group:
    statements: tuple[cst.BaseStatement, ...]  # in the full block
    text_lines: tuple[str, ...]
    anchor: cst.BaseStatement  # a context statement of the full block
    after: bool  # after the anchor, or before it


def _insert_marked(
    data: bytes, block: str, marker: str, scope: str | None, hint: int | None, *, verify: bool
) -> BlockEdit:
    lines, marked = _split_marked(data, block, marker)
    context_text = "\n".join(line for index, line in enumerate(lines) if index not in marked)
    if not context_text.strip():
        return BlockEdit("refused", data, "the block has no context lines, only marked ones")
    source, root, (context, full) = prepare(
        data, scope, [("the context lines", context_text), ("the block", "\n".join(lines))]
    )
    groups = _groups(data, full, lines, marked)
    full_order = [s for s in _preorder(full.module) if not _is_marked(full, s, marked)]
    context_order = _preorder(context.module)
    if len(full_order) != len(context_order):
        return BlockEdit("refused", data, "a marked line must hold whole statements")
    to_context = {id(f): c for f, c in zip(full_order, context_order, strict=True)}
    sites = [statement_site(source, context, m) for m in find_runs(context.statements, root)]
    if not sites:
        done = find_runs(full.statements, root)
        if done:
            lines_there = tuple(source.first_line(m.first) for m in done)
            return BlockEdit(
                "already-applied",
                data,
                f"already applied (the lines are at line {lines_there[0]})",
                lines_there,
            )
        return absent(data, source, context, root, "the context lines")
    site = choose_site(sites, hint)
    if site is None:
        return ambiguous(data, sites, "the context lines", hint)
    paired = {id(p): t for p, t in site.match.pairs}
    where_is = _statement_places(source.module)
    edits: list[TextEdit] = []
    present: list[int] = []
    for group in groups:
        target = paired.get(id(to_context[id(group.anchor)]))
        if target is None:
            return BlockEdit("refused", data, "a marked line follows a context line that a `...` matched")
        body, index = where_is[id(target)]
        indent = source.indent(source.first_line(target))
        following = body[index + 1 :] if group.after else body[max(0, index - len(group.statements)) : index]
        if Matcher().sequence(group.statements, following, prefix=group.after) is not None:
            present.append(source.first_line(target))
            continue
        line = source.last_line(target) + 1 if group.after else source.first_line(target)
        shifted, _, _ = dedent("\n".join(group.text_lines))
        newline = source.ending(source.last_line(target))
        text = "".join((indent + ln if ln.strip() else "") + newline for ln in shifted)
        offset = source.line_start(line)
        edits.append((offset, offset, text))
    if not edits:
        return BlockEdit("already-applied", data, f"already applied (at line {present[0]})", tuple(present))
    new_text = apply_edits(source.text, edits)
    inserted_at = new_lines(source.text, edits)
    count = sum(e[2].count("\n") for e in edits)
    message = f"inserted {count} marked line{'s' * (count != 1)} at line {', '.join(map(str, inserted_at))}"

    def again(new: bytes) -> BlockEdit:
        return edit_or_refusal(lambda: _insert_marked(new, block, marker, scope, hint, verify=False))

    return finish(data, source, new_text, message, inserted_at, again if verify else None)


def _is_marked(full: Block, statement: cst.BaseStatement, marked: set[int]) -> bool:
    where = full.positions[statement]
    return all(index - 1 in marked for index in range(where.start.line, where.end.line + 1))


def _groups(data: bytes, full: Block, lines: list[str], marked: set[int]) -> list[_Group]:
    groups: list[_Group] = []
    for body in [full.module.body, *(b for s in _preorder(full.module) for b in sequences_of_statements(s))]:
        run: list[cst.BaseStatement] = []
        for index, statement in enumerate([*body, None]):
            if statement is not None and _is_marked(full, statement, marked):
                run.append(statement)
                continue
            if statement is not None and _overlaps(full, statement, marked):
                raise Refusal(BlockEdit("refused", data, "a marked line must hold whole statements"))
            if run:
                first = full.positions[run[0]].start.line
                last = full.positions[run[-1]].end.line
                start = index - len(run)
                if start > 0:
                    anchor, after = body[start - 1], True
                elif statement is not None:
                    anchor, after = statement, False
                else:
                    raise Refusal(BlockEdit("refused", data, "marked lines need a context line next to them"))
                groups.append(_Group(tuple(run), tuple(lines[first - 1 : last]), anchor, after))
                run = []
    return groups


def _overlaps(full: Block, statement: cst.BaseStatement, marked: set[int]) -> bool:
    """A compound context statement holding marked lines is fine; a marked header is not."""
    where = full.positions[statement]
    return where.start.line - 1 in marked


def _statement_places(module: cst.Module) -> dict[int, tuple[Sequence[cst.BaseStatement], int]]:
    places: dict[int, tuple[Sequence[cst.BaseStatement], int]] = {}
    for body in bodies(module):
        for index, statement in enumerate(body):
            places[id(statement)] = (body, index)
    return places
