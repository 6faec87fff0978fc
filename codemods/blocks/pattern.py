"""Code blocks as patterns: dedented, made parseable, their ``...`` wildcards located.

A block is what a fix guide shows: statements (maybe indented for a method
body), one expression, or a compound statement's header alone. Three textual
preparations make it parseable; none of them is used for matching, which works
on the LibCST nodes (:mod:`codemods.blocks.matcher`):

* the common indentation is removed (kept in :attr:`Block.indent`);
* a ``...`` standing alone for the rest of a dict's entries becomes ``**...``,
  and one standing for the rest of a call's arguments becomes ``*...`` (Python
  allows neither a bare ``...`` entry in a dict nor a positional argument after a
  keyword one);
* a block ending in a header (``def f(x):`` maybe followed by comments only) gets
  a ``...`` body, so it keeps the body it matches.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

_BRACKETS = {"(": ")", "[": "]", "{": "}"}


class BlockSyntaxError(ValueError):
    """The block itself is not Python, even with its ``...`` allowed for."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line  # 1-based within the block


def dedent(text: str) -> tuple[list[str], str, frozenset[int]]:
    """The block's lines without their common indentation, that indentation, and its padded blanks.

    A blank line holding at least the common indentation ("padded") gets the
    site's indentation back, so a block placed at its own depth keeps its bytes.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    code = [ln for ln in lines if ln.strip()]
    indent = _common_prefix([_leading(ln) for ln in code]) if code else ""
    out: list[str] = []
    padded: set[int] = set()
    for index, ln in enumerate(lines):
        if ln.strip():
            out.append(ln[len(indent) :])
        elif ln and ln.startswith(indent):
            out.append(ln[len(indent) :])
            padded.add(index)
        else:
            out.append("")
    return out, indent, frozenset(padded)


def _leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _common_prefix(prefixes: Sequence[str]) -> str:
    first = prefixes[0]
    size = len(first)
    for other in prefixes[1:]:
        size = min(size, len(other))
        for index in range(size):
            if other[index] != first[index]:
                size = index
                break
    return first[:size]


def _tokens(text: str) -> list[tokenize.TokenInfo] | None:
    try:
        return list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None


def _rewrite_bare_ellipses(text: str) -> str:
    """``{'a': 1, ...}`` -> ``{'a': 1, **...}``; ``f(a=1, ...)`` -> ``f(a=1, *...)``."""
    tokens = _tokens(text)
    if tokens is None:
        return text
    significant = [t for t in tokens if t.type not in (tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE)]
    stack: list[tuple[int, str, bool]] = []  # index of the opener, opener, is a call
    dict_braces: set[int] = set()
    for index, tok in enumerate(significant):
        if tok.type == tokenize.OP and tok.string in _BRACKETS:
            before = significant[index - 1] if index else None
            is_call = (
                tok.string == "("
                and before is not None
                and (before.type == tokenize.NAME or before.string in (")", "]"))
                and before.string not in ("and", "or", "not", "in", "is", "if", "else", "return", "lambda")
            )
            stack.append((index, tok.string, is_call))
        elif tok.type == tokenize.OP and tok.string in _BRACKETS.values() and stack:
            stack.pop()
        elif tok.type == tokenize.OP and tok.string == ":" and stack and stack[-1][1] == "{":
            dict_braces.add(stack[-1][0])
    edits: list[tuple[tuple[int, int], str]] = []
    stack = []
    for index, tok in enumerate(significant):
        if tok.type == tokenize.OP and tok.string in _BRACKETS:
            before = significant[index - 1] if index else None
            is_call = (
                tok.string == "("
                and before is not None
                and (before.type == tokenize.NAME or before.string in (")", "]"))
            )
            stack.append((index, tok.string, is_call))
            continue
        if tok.type == tokenize.OP and tok.string in _BRACKETS.values() and stack:
            stack.pop()
            continue
        if tok.string != "..." or not stack or index == 0 or index + 1 >= len(significant):
            continue
        after = significant[index + 1]
        follows_separator = significant[index - 1].string in ("(", "[", "{", ",")
        alone = follows_separator and after.string in (",", ")", "]", "}")
        # Guides often write a `...` line with no comma before the next argument or entry.
        needs_comma = follows_separator and not alone and after.start[0] > tok.end[0]
        comma = "," if needs_comma else ""
        opener_index, opener, is_call = stack[-1]
        if (alone or needs_comma) and opener == "{" and opener_index in dict_braces:
            edits.append((tok.start, "**..." + comma))
        elif (alone or needs_comma) and opener == "(" and is_call:
            edits.append((tok.start, "*..." + comma))
        elif needs_comma:
            edits.append((tok.start, "..." + comma))
    lines = text.split("\n")
    for (row, col), new in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[col + 3 :]
    return "\n".join(lines)


_HEADER_END = re.compile(r":\s*(#.*)?$")


def _complete_header(lines: list[str]) -> list[str] | None:
    """A block ending in a compound statement's header gets a ``...`` body."""
    code = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not code or not _HEADER_END.search(code[-1]):
        return None
    return [*lines, _leading(code[-1]) + "    ..."]


@dataclass(frozen=True)
class Wildcard:
    """One ``...`` of a block: where it is, and what it stands for."""

    node: cst.CSTNode  # the Arg / Element / DictElement / operand / statement / expression
    kind: str  # "run" (a run of siblings) or "one" (one expression)
    siblings: tuple[cst.CSTNode, ...]  # the sequence it is part of (runs only)
    start: tuple[int, int]  # (line, column) in Block.text, 1-based line
    end: tuple[int, int]
    statement: bool  # a `...` statement line


@dataclass(frozen=True)
class Block:
    source: str  # the block as given
    text: str  # dedented and made parseable
    indent: str  # the common indentation removed
    padded: frozenset[int]  # blank lines that held whitespace (see dedent)
    module: cst.Module
    positions: Mapping[cst.CSTNode, CodeRange]
    wildcards: tuple[Wildcard, ...]  # in source order

    @property
    def statements(self) -> Sequence[cst.BaseStatement]:
        return self.module.body

    @property
    def expression(self) -> cst.BaseExpression | None:
        """The expression when the block is exactly one expression statement."""
        body = self.module.body
        if len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1:
            small = body[0].body[0]
            if isinstance(small, cst.Expr) and not is_statement_wildcard(body[0]):
                return small.value
        return None

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @property
    def code_end(self) -> int:
        """The line of the block where its last statement ends (comments may follow)."""
        return self.positions[self.module.body[-1]].end.line

    @property
    def trailing_comments(self) -> bool:
        return any(line.comment is not None for line in self.module.footer)


def is_statement_wildcard(node: cst.CSTNode) -> bool:
    return (
        isinstance(node, cst.SimpleStatementLine)
        and len(node.body) == 1
        and isinstance(node.body[0], cst.Expr)
        and isinstance(node.body[0].value, cst.Ellipsis)
    )


def is_run_wildcard(node: cst.CSTNode) -> bool:
    """An element that stands for any run of its siblings (including none)."""
    if is_statement_wildcard(node):
        return True
    if isinstance(node, cst.Arg):
        return node.keyword is None and isinstance(node.value, cst.Ellipsis)
    if isinstance(node, (cst.Element, cst.StarredElement, cst.StarredDictElement)):
        return isinstance(node.value, cst.Ellipsis)
    return isinstance(node, cst.Ellipsis)  # an operand of an and/or chain


def operands(node: cst.BooleanOperation) -> list[cst.BaseExpression]:
    """``a and b and c`` as [a, b, c] (same operator only)."""
    kind = type(node.operator)
    found: list[cst.BaseExpression] = []
    for side in (node.left, node.right):
        if isinstance(side, cst.BooleanOperation) and type(side.operator) is kind:
            found += operands(side)
        else:
            found.append(side)
    return found


def sequences(node: cst.CSTNode) -> Iterator[Sequence[cst.CSTNode]]:
    """The sequences of ``node`` whose elements a run wildcard may stand among."""
    if isinstance(node, cst.Call):
        yield node.args
    elif isinstance(node, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
        yield node.elements
    elif isinstance(node, (cst.Module, cst.IndentedBlock)):
        yield node.body
    elif isinstance(node, cst.BooleanOperation):
        yield operands(node)


def _collect(block_module: cst.Module, positions: Mapping[cst.CSTNode, CodeRange]) -> list[Wildcard]:
    found: list[Wildcard] = []
    in_sequence: set[int] = set()

    def position(node: cst.CSTNode) -> tuple[tuple[int, int], tuple[int, int]]:
        where = positions[node]
        return (where.start.line, where.start.column), (where.end.line, where.end.column)

    def walk(node: cst.CSTNode, parent_chain: bool) -> None:
        for seq in sequences(node):
            if isinstance(node, cst.BooleanOperation) and parent_chain:
                continue  # a nested link of a chain already seen from its top
            for child in seq:
                if is_run_wildcard(child):
                    in_sequence.add(id(child))
                    start, end = position(child)
                    found.append(Wildcard(child, "run", tuple(seq), start, end, is_statement_wildcard(child)))
        if isinstance(node, cst.Ellipsis) and id(node) not in in_sequence:
            start, end = position(node)
            found.append(Wildcard(node, "one", (), start, end, False))
        for child in node.children:
            if id(child) in in_sequence:
                continue
            chain = (
                isinstance(node, cst.BooleanOperation)
                and isinstance(child, cst.BooleanOperation)
                and type(child.operator) is type(node.operator)
            )
            walk(child, chain)

    walk(block_module, False)
    found.sort(key=lambda w: w.start)
    return found


def parse_block(source: str) -> Block:
    """The block as a pattern; :class:`BlockSyntaxError` when it is not Python."""
    lines, indent, padded = dedent(source)
    if not any(ln.strip() for ln in lines):
        raise BlockSyntaxError("the code block is empty")
    text = _rewrite_bare_ellipses("\n".join(lines))
    module = _try_parse(text)
    if module is None:
        completed = _complete_header(text.split("\n"))
        if completed is not None:
            text = _rewrite_bare_ellipses("\n".join(completed))
            module = _try_parse(text)
    if module is None:
        try:  # CPython's parser names the line more reliably than LibCST's tokenizer
            ast.parse(text + "\n")
        except SyntaxError as err:
            raw = source.replace("\r\n", "\n").split("\n")
            skipped = next((i for i, line in enumerate(raw) if line.strip()), 0)  # dedent drops them
            where = (err.lineno or 1) + skipped
            raise BlockSyntaxError(
                f"the code block is not Python (block line {where}: {err.msg})", where
            ) from None
        try:
            cst.parse_module(text + "\n")
        except cst.ParserSyntaxError as err:
            raise BlockSyntaxError(
                f"the code block is not Python (block line {err.raw_line}: {err.message})", err.raw_line
            ) from None
        raise BlockSyntaxError("the code block is not Python")
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    return Block(source, text, indent, padded, module, positions, tuple(_collect(module, positions)))


def _try_parse(text: str) -> cst.Module | None:
    try:
        module = cst.parse_module(text + "\n")
    except cst.ParserSyntaxError:
        return None
    return module if module.body else None
