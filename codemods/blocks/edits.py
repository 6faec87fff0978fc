"""Replace and insert code blocks in Python source, structurally, byte-exactly.

Every function takes the file's bytes and returns a :class:`BlockEdit`; none
writes anything. The edit is found by structure (:mod:`codemods.blocks.matcher`)
and made as text: the edited lines are replaced by the block, shifted to the
site's indentation, with each ``...`` of the replacement filled by the exact
bytes its counterpart in the find block matched. Every other byte stays.

Statuses:

* ``applied``: one edit (or every one, when asked) was made; the result parses,
  and running the same edit on it reports ``already-applied``;
* ``already-applied``: the find block is absent but the replacement is there
  (or the inserted block is already at its site): nothing changes;
* ``absent``: nothing matches; the closest statement run in scope, its line and
  a diff are reported;
* ``ambiguous``: several places match and one was asked for; a line hint picks
  one only when exactly one candidate lies within :data:`HINT_WINDOW` lines of it;
* ``refused``: a match was found but the edit cannot be shown safe (the result
  would not parse, a second run would change it again, a function of that name
  already exists and differs, the target does not parse, ...).
"""

from __future__ import annotations

import difflib
import io
import itertools
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import libcst as cst

from codemods.blocks.matcher import Match, Matcher, bodies, find_expressions, find_runs
from codemods.blocks.pattern import Block, BlockSyntaxError, Wildcard, dedent, parse_block
from codemods.blocks.source import Source, SourceError, resolve_scope

Status = Literal["applied", "already-applied", "absent", "ambiguous", "refused"]
WhereKind = Literal["after-imports", "after", "before", "before-comment", "start", "end", "into-class"]

# A line hint picks a candidate only when it is the one candidate this close to it.
HINT_WINDOW = 80
DEFAULT_MARKER = "# ADD THIS LINE"


@dataclass(frozen=True)
class Candidate:
    """The closest statement run to an absent block."""

    line: int
    end_line: int
    similarity: float  # difflib ratio of the comment-free code, 0..1
    diff: str  # unified diff: block -> candidate


@dataclass(frozen=True)
class BlockEdit:
    status: Status
    source: bytes  # the new bytes; the input itself unless applied
    message: str  # one line
    lines: tuple[int, ...] = ()  # applied/already-applied: where; ambiguous: every candidate
    closest: Candidate | None = None

    @property
    def changed(self) -> bool:
        return self.status == "applied"


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
class _Site:
    match: Match
    start: int  # offsets into Source.text
    end: int
    first_line: int
    last_line: int


class _Refusal(Exception):
    def __init__(self, edit: BlockEdit) -> None:
        super().__init__(edit.message)
        self.edit = edit


# -- shared ----------------------------------------------------------------------------------------
def _prepare(
    data: bytes, scope: str | None, blocks: Sequence[tuple[str, str]]
) -> tuple[Source, cst.CSTNode, list[Block]]:
    try:
        source = Source(data)
    except SourceError as err:
        raise _Refusal(BlockEdit("refused", data, f"the file {err}")) from None
    parsed: list[Block] = []
    for name, text in blocks:
        try:
            parsed.append(parse_block(text))
        except BlockSyntaxError as err:
            raise _Refusal(BlockEdit("refused", data, f"{name}: {err}")) from None
    root: cst.CSTNode = source.module
    if scope:
        node, why = resolve_scope(source, scope)
        if node is None:
            raise _Refusal(BlockEdit("absent", data, why))
        root = node
    return source, root, parsed


def _statement_site(source: Source, block: Block, match: Match) -> _Site:
    first = source.first_line(match.first)
    if block.statements and _has_leading_comment(block.statements[0]):
        first = source.comments_above(first)  # the block's own comment replaces the one there
    last = source.last_line(match.last)
    return _Site(match, source.line_start(first), source.line_start(last + 1), first, last)


def _has_leading_comment(statement: cst.BaseStatement) -> bool:
    lines = getattr(statement, "leading_lines", ())
    return any(line.comment is not None for line in lines)


def _locate(source: Source, block: Block, root: cst.CSTNode, expression: bool) -> list[_Site]:
    if expression:
        assert block.expression is not None
        return [
            _Site(
                m,
                source.start(m.first),
                source.end(m.first),
                source.first_line(m.first),
                source.last_line(m.first),
            )
            for m in find_expressions(block.expression, root)
        ]
    return [_statement_site(source, block, m) for m in find_runs(block.statements, root)]


def _choose(sites: Sequence[_Site], hint: int | None) -> _Site | None:
    if len(sites) == 1:
        return sites[0]
    if hint is None:
        return None
    near = [s for s in sites if abs(s.first_line - hint) <= HINT_WINDOW]
    return near[0] if len(near) == 1 else None


def _ambiguous(
    data: bytes, sites: Sequence[_Site], what: str, hint: int | None, *, every: bool = False
) -> BlockEdit:
    lines = tuple(s.first_line for s in sites)
    shown = ", ".join(str(n) for n in lines)
    why = (
        f"no single one within {HINT_WINDOW} lines of the hint (line {hint})"
        if hint is not None
        else "name a scope or add '(around line N)'" + (" or say 'every occurrence'" if every else "")
    )
    return BlockEdit("ambiguous", data, f"{what} matches {len(sites)} places (lines {shown}); {why}", lines)


def _without_comments(text: str) -> list[str]:
    lines, _, _ = dedent(text)
    joined = "\n".join(lines) + "\n"
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(joined).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        tokens = []
    cut: dict[int, int] = {}
    for token in tokens:
        if token.type == tokenize.COMMENT:
            cut[token.start[0]] = token.start[1]
    out: list[str] = []
    for number, line in enumerate(joined.split("\n"), start=1):
        kept = line[: cut[number]] if number in cut else line
        if kept.strip():
            out.append(kept.rstrip())
    return out


def _closest(source: Source, block: Block, root: cst.CSTNode) -> Candidate | None:
    from codemods.blocks.pattern import is_statement_wildcard

    wanted = _without_comments(block.text)
    size = max(1, sum(1 for s in block.statements if not is_statement_wildcard(s)))
    limit = 4 * len(wanted) + 20
    best: tuple[float, int, int, list[str]] | None = None
    for body in bodies(root):
        for index in range(len(body)):
            run = body[index : index + size]
            first, last = source.first_line(run[0]), source.last_line(run[-1])
            if last - first > limit:
                continue
            text = source.text[source.line_start(first) : source.line_start(last + 1)]
            found = _without_comments(text)
            matcher = difflib.SequenceMatcher(None, wanted, found, autojunk=False)
            if best is not None and matcher.real_quick_ratio() <= best[0]:
                continue
            chars = difflib.SequenceMatcher(None, "\n".join(wanted), "\n".join(found), autojunk=False)
            if best is not None and chars.quick_ratio() <= best[0]:
                continue
            ratio = chars.ratio()
            if best is None or ratio > best[0]:
                best = (ratio, first, last, found)
    if best is None:
        return None
    ratio, first, last, found = best
    diff = "\n".join(
        difflib.unified_diff(wanted, found, fromfile="block", tofile=f"line {first}", lineterm="", n=3)
    )
    return Candidate(first, last, round(ratio, 2), diff)


def _absent(data: bytes, source: Source, block: Block, root: cst.CSTNode, what: str) -> BlockEdit:
    closest = _closest(source, block, root)
    tail = (
        f"; closest candidate at line {closest.line} (similarity {closest.similarity:.2f})"
        if closest is not None
        else ""
    )
    if closest is not None and not closest.diff:
        tail += " reads the same but differs in a string's content or a literal's value"
    return BlockEdit("absent", data, f"{what} is not in the file{tail}", (), closest)


# -- rendering a block at a site ---------------------------------------------------------------------
def _render(
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

    edits: list[tuple[int, int, str]] = []
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


def _bound_text(source: Source, nodes: tuple[cst.CSTNode, ...]) -> str:
    if isinstance(nodes[0], cst.BaseStatement):
        first = source.comments_above(source.first_line(nodes[0]))
        return source.text[source.line_start(first) : source.line_start(source.last_line(nodes[-1]) + 1)]
    return source.text[source.start(nodes[0]) : source.end(nodes[-1])]


def _apply(text: str, edits: Sequence[tuple[int, int, str]]) -> str:
    for start, end, value in sorted(edits, reverse=True):
        text = text[:start] + value + text[end:]
    return text


def _finish(
    data: bytes,
    source: Source,
    text: str,
    message: str,
    lines: tuple[int, ...],
    again: Callable[[bytes], BlockEdit],
) -> BlockEdit:
    new = source.encode(text)
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


# -- replace --------------------------------------------------------------------------------------
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
    try:
        return _replace(source, find, replacement, scope, every, line_hint, verify=True)
    except _Refusal as refusal:
        return refusal.edit


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
    source, root, (find_block, new_block) = _prepare(
        data, scope, [("the find block", find), ("the replacement", replacement)]
    )
    expression = find_block.expression is not None and new_block.expression is not None
    finds = _locate(source, find_block, root, expression)
    already = _locate(source, new_block, root, expression)
    pending = [f for f in finds if not any(r.start <= f.start and f.end <= r.end for r in already)]
    if not pending:
        if already:
            lines = tuple(s.first_line for s in already)
            where = ", ".join(map(str, lines))
            return BlockEdit(
                "already-applied", data, f"already applied (the replacement is at line {where})", lines
            )
        return _absent(data, source, find_block, root, "the find block")
    if not every and hint is not None and already:
        # The hint chooses among every site, done or not: the one it names may be done already.
        near = [s for s in [*pending, *already] if abs(s.first_line - hint) <= HINT_WINDOW]
        if len(near) == 1 and near[0] in already:
            line = near[0].first_line
            return BlockEdit(
                "already-applied", data, f"already applied (the replacement is at line {line})", (line,)
            )
    if not every:
        chosen = _choose(pending, hint)
        if chosen is None:
            return _ambiguous(data, pending, "the find block", hint, every=True)
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
    text = _apply(source.text, edits)
    lines = _new_lines(source.text, edits)
    noun = "expression" if expression else "block"
    message = (
        f"replaced the {noun} at line {lines[0]}"
        if len(lines) == 1
        else f"replaced {len(lines)} {noun}s at lines {', '.join(map(str, lines))}"
    )
    if not verify:
        return BlockEdit("applied", source.encode(text), message, lines)
    return _finish(
        data,
        source,
        text,
        message,
        lines,
        lambda new: _safe(lambda: _replace(new, find, replacement, scope, every, hint, verify=False), new),
    )


def _safe(run: Callable[[], BlockEdit], data: bytes) -> BlockEdit:
    try:
        return run()
    except _Refusal as refusal:
        return refusal.edit


def _new_lines(text: str, edits: Sequence[tuple[int, int, str]]) -> tuple[int, ...]:
    """The first line of each edit in the edited text."""
    lines: list[int] = []
    shift = 0
    for start, end, value in sorted(edits):
        line = text.count("\n", 0, start) + 1 + shift
        lines.append(line)
        shift += value.count("\n") - text.count("\n", start, end)
    return tuple(lines)


def _replacement_edit(
    source: Source, find_block: Block, new_block: Block, site: _Site, expression: bool
) -> tuple[int, int, str]:
    bound = {id(node): nodes for node, nodes in site.match.bindings}

    def fill(k: int, wildcard: Wildcard) -> str | None:
        if k >= len(find_block.wildcards):
            return None
        nodes = bound.get(id(find_block.wildcards[k].node), ())
        if not nodes:
            return None
        text = _bound_text(source, nodes)
        # The run's trailing comma is the run's, unless the replacement writes its own.
        last, own = nodes[-1], getattr(wildcard.node, "comma", None)
        trailing = getattr(last, "comma", None)
        is_last = bool(wildcard.siblings) and wildcard.node is wildcard.siblings[-1]
        if isinstance(trailing, cst.Comma) and not isinstance(own, cst.Comma) and is_last:
            text += source.text[source.end(last) : source.end(trailing)]
        return text

    if expression:
        indent = source.indent(site.first_line)
        text, span = _render(new_block, indent, source.ending(site.first_line), shift_first=False, fill=fill)
        assert span is not None
        return site.start, site.end, text[span[0] : span[1]]
    indent = source.indent(source.first_line(site.match.first))
    # Comments after the find block's code are context (the file keeps its own): not re-emitted.
    trim = find_block.trailing_comments
    text, _ = _render(new_block, indent, source.ending(site.last_line), fill=fill, trim_footer=trim)
    if site.end == len(source.text) and not source.text.endswith(("\n", "\r")):
        text = text.rstrip("\r\n")
    return site.start, site.end, text


# -- insert ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Spot:
    line: int  # the block goes before this line (one past the last line: at the end)
    indent: str
    body: Sequence[cst.BaseStatement]  # the statements the block joins (for "already there")
    separation: int  # blank lines wanted around the block
    # Anchored inserts: the block is "already there" only right after (before) its anchor.
    adjacent: Sequence[cst.BaseStatement] | None = None
    prefix: bool = True


def insert_block(
    source: bytes,
    block: str,
    *,
    where: Where,
    scope: str | None = None,
    line_hint: int | None = None,
) -> BlockEdit:
    """Insert ``block`` at ``where``; anchors and comments are looked for within ``scope``."""
    try:
        return _insert(source, block, where, scope, line_hint, verify=True)
    except _Refusal as refusal:
        return refusal.edit


def _is_definition(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, (cst.FunctionDef, cst.ClassDef))


def _separation(block: Block, indent: str) -> int:
    if block.statements and all(_is_definition(s) for s in block.statements):
        return 1 if indent else 2
    return 0


def _insert(
    data: bytes, text: str, where: Where, scope: str | None, hint: int | None, *, verify: bool
) -> BlockEdit:
    anchored = where.kind in ("after", "before", "before-comment")
    source, root, (block,) = _prepare(data, scope if anchored else None, [("the block", text)])
    spot = _spot(data, source, root, block, where, hint)
    there = _already_there(data, source, block, spot)
    if there:
        shown = ", ".join(map(str, there))
        return BlockEdit("already-applied", data, f"already applied (the block is at line {shown})", there)
    newline = source.ending(spot.line - 1) if spot.line > 1 else source.newline
    rendered, _ = _render(block, spot.indent, newline)
    above = source.blank_above(spot.line) if spot.line > 1 else spot.separation
    below, code_follows = source.blank_from(spot.line)
    before = max(0, spot.separation - above)
    after = max(0, spot.separation - below) if code_follows else 0
    if spot.line > len(source.lines) and source.text and not source.text.endswith(("\n", "\r")):
        rendered = newline + rendered  # the file's last line had no newline
    offset = source.line_start(spot.line)
    insertion = newline * before + rendered + newline * after
    new_text = source.text[:offset] + insertion + source.text[offset:]
    first = spot.line + before
    size = rendered.count("\n")
    message = f"inserted {size} line{'s' * (size != 1)} at line {first} ({where.describe()})"
    if not verify:
        return BlockEdit("applied", source.encode(new_text), message, (first,))
    return _finish(
        data,
        source,
        new_text,
        message,
        (first,),
        lambda new: _safe(lambda: _insert(new, text, where, scope, hint, verify=False), new),
    )


def _spot(
    data: bytes, source: Source, root: cst.CSTNode, block: Block, where: Where, hint: int | None
) -> _Spot:
    if where.kind == "after-imports":
        top = source.module.body
        anchor = _last_import(top)
        if anchor is None:
            line = source.first_line(top[0]) if top else len(source.lines) + 1
        else:
            line = source.last_line(top[anchor]) + 1
        return _Spot(line, "", top, 2 if _separation(block, "") else 1)
    if where.kind in ("after", "before"):
        anchor_block = _parse_or_refuse(data, where.target, "the anchor")
        sites = [_statement_site(source, anchor_block, m) for m in find_runs(anchor_block.statements, root)]
        if not sites:
            raise _Refusal(_absent(data, source, anchor_block, root, f"the anchor `{where.target}`"))
        spots = [_anchored_spot(source, block, where, site.match) for site in sites]
        for spot in spots:
            if spot.adjacent is not None and _matches_at(block, spot.adjacent, prefix=spot.prefix):
                line = source.first_line(spot.adjacent[0 if spot.prefix else -len(block.statements)])
                raise _Refusal(
                    BlockEdit(
                        "already-applied", data, f"already applied (the block is at line {line})", (line,)
                    )
                )
        site = _choose(sites, hint)
        if site is None:
            raise _Refusal(_ambiguous(data, sites, f"the anchor `{where.target}`", hint))
        return spots[sites.index(site)]
    if where.kind == "before-comment":
        return _comment_spot(data, source, root, block, where, hint)
    node, why = resolve_scope(source, where.target)
    if node is None:
        raise _Refusal(BlockEdit("absent", data, why))
    if where.kind == "into-class" and not isinstance(node, cst.ClassDef):
        raise _Refusal(BlockEdit("refused", data, f"`{where.target}` is a function, not a class"))
    if not isinstance(node.body, cst.IndentedBlock):
        raise _Refusal(BlockEdit("refused", data, f"`{where.target}` has its body on its header line"))
    body: Sequence[cst.BaseStatement] = node.body.body
    indent = source.indent(source.first_line(body[0]))
    if where.kind == "start":
        index = 1 if _is_docstring(body[0]) else 0
        if index < len(body):
            line = source.comments_above(source.first_line(body[index]))
        else:
            line = source.last_line(body[-1]) + 1
        return _Spot(line, indent, body, _separation(block, indent))
    last = body[-1]
    if isinstance(node, cst.FunctionDef) and _ends_flow(last):
        raise _Refusal(
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
    return _Spot(source.last_line(last) + 1, indent, body, separation)


def _anchored_spot(source: Source, block: Block, where: Where, match: Match) -> _Spot:
    indent = source.indent(source.first_line(match.first))
    end = match.index + match.count
    if where.kind == "after":
        line = source.last_line(match.body[end - 1]) + 1
        adjacent, prefix = match.body[end:], True
    else:
        line = source.comments_above(source.first_line(match.first))
        adjacent, prefix = match.body[max(0, match.index - len(block.statements)) : match.index], False
    return _Spot(line, indent, match.body, _separation(block, indent), adjacent, prefix)


def _matches_at(block: Block, statements: Sequence[cst.BaseStatement], *, prefix: bool) -> bool:
    return bool(statements) and Matcher().sequence(block.statements, statements, prefix=prefix) is not None


def _parse_or_refuse(data: bytes, text: str, name: str) -> Block:
    try:
        return parse_block(text)
    except BlockSyntaxError as err:
        raise _Refusal(BlockEdit("refused", data, f"{name}: {err}")) from None


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
) -> _Spot:
    wanted = where.target.strip().lstrip("#").strip()
    first, last = (
        (1, len(source.lines)) if root is source.module else (source.first_line(root), source.last_line(root))
    )
    found = [c for c in source.own_line_comments(first, last) if wanted and c.text.startswith(wanted)]
    if not found:
        raise _Refusal(BlockEdit("absent", data, f"no comment starting with `{wanted}`"))
    if len(found) > 1:
        near = [c for c in found if hint is not None and abs(c.line - hint) <= HINT_WINDOW]
        if len(near) != 1:
            lines = tuple(c.line for c in found)
            shown = ", ".join(map(str, lines))
            return_edit = BlockEdit(
                "ambiguous", data, f"the comment `{wanted}` is at {len(found)} places (lines {shown})", lines
            )
            raise _Refusal(return_edit)
        found = near
    comment = found[0]
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
    return _Spot(comment.line, comment.indent, body, _separation(block, comment.indent))


def _already_there(data: bytes, source: Source, block: Block, spot: _Spot) -> tuple[int, ...]:
    statements = block.statements
    if all(_is_definition(s) for s in statements):
        existing = {s.name.value: s for s in spot.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))}
        same: list[int] = []
        for definition in statements:
            assert isinstance(definition, (cst.FunctionDef, cst.ClassDef))
            there = existing.get(definition.name.value)
            if there is None:
                continue
            if not Matcher().node(definition, there):
                line = source.first_line(there)
                wanted = _without_comments(block.module.code_for_node(definition))
                text = source.text[source.line_start(line) : source.line_start(source.last_line(there) + 1)]
                diff = "\n".join(
                    difflib.unified_diff(
                        wanted, _without_comments(text), fromfile="block", tofile=f"line {line}", lineterm=""
                    )
                )
                raise _Refusal(
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
            raise _Refusal(
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


# -- marked lines ---------------------------------------------------------------------------------
def insert_marked_lines(
    source: bytes,
    block: str,
    marker: str = DEFAULT_MARKER,
    *,
    scope: str | None = None,
    line_hint: int | None = None,
) -> BlockEdit:
    """Insert the lines of ``block`` carrying ``marker`` after the context line they follow."""
    try:
        return _insert_marked(source, block, marker, scope, line_hint, verify=True)
    except _Refusal as refusal:
        return refusal.edit


def _split_marked(data: bytes, block: str, marker: str) -> tuple[list[str], set[int]]:
    """The block's lines (dedented, markers removed) and the indexes of the marked ones."""
    lines, _, _ = dedent(block)
    wanted = marker.strip().lstrip("#").strip().lower()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as err:
        raise _Refusal(BlockEdit("refused", data, f"the block is not Python: {err}")) from None
    marked: set[int] = set()
    out = list(lines)
    for token in tokens:
        if token.type == tokenize.COMMENT and token.string.lstrip("#").strip().lower() == wanted:
            index = token.start[0] - 1
            marked.add(index)
            out[index] = lines[index][: token.start[1]].rstrip()
    if not marked:
        raise _Refusal(BlockEdit("refused", data, f"no line of the block is marked `{marker}`"))
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
    source, root, (context, full) = _prepare(
        data, scope, [("the context lines", context_text), ("the block", "\n".join(lines))]
    )
    groups = _groups(data, full, lines, marked)
    full_order = [s for s in _preorder(full.module) if not _is_marked(full, s, marked)]
    context_order = _preorder(context.module)
    if len(full_order) != len(context_order):
        return BlockEdit("refused", data, "a marked line must hold whole statements")
    to_context = {id(f): c for f, c in zip(full_order, context_order, strict=True)}
    sites = [_statement_site(source, context, m) for m in find_runs(context.statements, root)]
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
        return _absent(data, source, context, root, "the context lines")
    site = _choose(sites, hint)
    if site is None:
        return _ambiguous(data, sites, "the context lines", hint)
    paired = {id(p): t for p, t in site.match.pairs}
    where_is = _statement_places(source.module)
    edits: list[tuple[int, int, str]] = []
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
    new_text = _apply(source.text, edits)
    new_lines = _new_lines(source.text, edits)
    count = sum(e[2].count("\n") for e in edits)
    message = f"inserted {count} marked line{'s' * (count != 1)} at line {', '.join(map(str, new_lines))}"
    if not verify:
        return BlockEdit("applied", source.encode(new_text), message, new_lines)
    return _finish(
        data,
        source,
        new_text,
        message,
        new_lines,
        lambda new: _safe(lambda: _insert_marked(new, block, marker, scope, hint, verify=False), new),
    )


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
                raise _Refusal(BlockEdit("refused", data, "a marked line must hold whole statements"))
            if run:
                first = full.positions[run[0]].start.line
                last = full.positions[run[-1]].end.line
                start = index - len(run)
                if start > 0:
                    anchor, after = body[start - 1], True
                elif statement is not None:
                    anchor, after = statement, False
                else:
                    raise _Refusal(
                        BlockEdit("refused", data, "marked lines need a context line next to them")
                    )
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
