"""Structural matching of a block's LibCST nodes against a module's.

Two nodes match when they have the same type and their fields match, leaving out
everything that is formatting: whitespace, comments, blank lines, parentheses,
commas and other separator tokens. Names, operators and literals must be equal
(strings and numbers by value, so quote style does not matter).

``...`` (see :mod:`codemods.blocks.pattern`) matches any run of arguments,
elements, dict entries, ``and``/``or`` operands or statements, including an empty
one; elsewhere it matches any one expression. Each match records what every
``...`` took, and which statement of the target each block statement matched.

A block's last statement may stop partway through a compound statement: the body
of its last clause then matches a *prefix* of the target's body ("the spine").
The edited range ends at the last statement matched there, and what follows stays.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst._maybe_sentinel import MaybeSentinel

from codemods.blocks.pattern import is_run_wildcard, is_statement_wildcard, operands

_FORMATTING = (
    cst.Comma,
    cst.Semicolon,
    cst.Colon,
    cst.AssignEqual,
    cst.Newline,
    cst.TrailingWhitespace,
    cst.EmptyLine,
    cst.Comment,
    cst.SimpleWhitespace,
    cst.ParenthesizedWhitespace,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    MaybeSentinel,
)
_SKIPPED_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "trailing_whitespace",
        "comma",
        "semicolon",
        "newline",
        "indent",
        "encoding",
        "default_indent",
        "default_newline",
        "has_trailing_newline",
        "equal",
    }
)
_CLAUSES = ("body", "handlers", "orelse", "finalbody")
_LITERALS = (cst.Integer, cst.Float, cst.Imaginary)


@dataclass
class Match:
    """One place a block matched."""

    first: cst.CSTNode  # the first target statement (or the expression)
    last: cst.CSTNode  # the target statement the edited range ends with
    bindings: list[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = field(default_factory=list)
    pairs: list[tuple[cst.CSTNode, cst.CSTNode]] = field(default_factory=list)  # block stmt -> target stmt
    body: Sequence[cst.BaseStatement] = ()  # the target body holding the run
    index: int = 0  # where the run starts in ``body``
    count: int = 0  # how many statements of ``body`` the run covers


class Matcher:
    def __init__(self) -> None:
        self.bindings: list[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = []
        self.pairs: list[tuple[cst.CSTNode, cst.CSTNode]] = []
        self.ends: list[tuple[int, cst.CSTNode]] = []  # (depth, last statement matched at that depth)

    def _mark(self) -> tuple[int, int, int]:
        return len(self.bindings), len(self.pairs), len(self.ends)

    def _reset(self, mark: tuple[int, int, int]) -> None:
        del self.bindings[mark[0] :]
        del self.pairs[mark[1] :]
        del self.ends[mark[2] :]

    # -- sequences -------------------------------------------------------------------------------
    def sequence(
        self,
        pattern: Sequence[cst.CSTNode],
        target: Sequence[cst.CSTNode],
        *,
        prefix: bool = False,
        depth: int = 0,
    ) -> int | None:
        """How many of ``target`` the ``pattern`` sequence matched (all of it unless ``prefix``)."""

        def go(i: int, j: int) -> int | None:
            if i == len(pattern):
                if j == len(target) or prefix:
                    if prefix and j:
                        self.ends.append((depth, target[j - 1]))
                    return j
                return None
            item = pattern[i]
            last = i == len(pattern) - 1
            if is_run_wildcard(item):
                # A final `...` of a prefix match takes the rest; elsewhere as little as works.
                options = range(len(target), j - 1, -1) if last and prefix else range(j, len(target) + 1)
                for k in options:
                    mark = self._mark()
                    self.bindings.append((item, tuple(target[j:k])))
                    end = go(i + 1, k)
                    if end is not None:
                        return end
                    self._reset(mark)
                return None
            if j >= len(target):
                return None
            mark = self._mark()
            if self.node(item, target[j], spine=prefix and last, depth=depth):
                if isinstance(item, cst.BaseStatement):
                    self.pairs.append((item, target[j]))
                end = go(i + 1, j + 1)
                if end is not None:
                    return end
            self._reset(mark)
            return None

        return go(0, 0)

    # -- nodes -----------------------------------------------------------------------------------
    def node(self, pattern: cst.CSTNode, target: cst.CSTNode, *, spine: bool = False, depth: int = 0) -> bool:
        if isinstance(pattern, cst.Ellipsis):
            if isinstance(target, cst.BaseExpression):
                self.bindings.append((pattern, (target,)))
                return True
            return False
        if type(pattern) is not type(target):
            return False
        if isinstance(pattern, cst.Expr) and isinstance(pattern.value, cst.SimpleString):
            assert isinstance(target, cst.Expr)
            if isinstance(target.value, cst.SimpleString):
                # A docstring keeps its meaning at any depth (its lines shift with the block).
                return _docstring(pattern.value) == _docstring(target.value)
        if isinstance(pattern, cst.SimpleString):
            assert isinstance(target, cst.SimpleString)
            return _string_value(pattern) == _string_value(target)
        if isinstance(pattern, _LITERALS):
            assert isinstance(target, _LITERALS)
            return pattern.evaluated_value == target.evaluated_value
        if isinstance(pattern, cst.BooleanOperation):
            assert isinstance(target, cst.BooleanOperation)
            if type(pattern.operator) is not type(target.operator):
                return False
            return self.sequence(operands(pattern), operands(target)) is not None
        if isinstance(pattern, cst.IndentedBlock):
            assert isinstance(target, cst.IndentedBlock)
            return self.sequence(pattern.body, target.body, prefix=spine, depth=depth + 1) is not None
        if isinstance(pattern, (cst.Call, cst.List, cst.Tuple, cst.Set, cst.Dict)):
            return self._fields(pattern, target, spine=False, depth=depth)
        return self._fields(pattern, target, spine=spine, depth=depth)

    def _fields(self, pattern: cst.CSTNode, target: cst.CSTNode, *, spine: bool, depth: int) -> bool:
        names = [f.name for f in dataclasses.fields(pattern)]
        last_clause = ""
        if spine:
            present = [n for n in _CLAUSES if n in names and _present(getattr(pattern, n))]
            last_clause = present[-1] if present else ""
        for name in names:
            if name in _SKIPPED_FIELDS or name.startswith("whitespace"):
                continue
            if last_clause and name in _CLAUSES and _CLAUSES.index(name) > _CLAUSES.index(last_clause):
                continue  # the target's later clauses follow the edited range
            if not self._value(
                getattr(pattern, name), getattr(target, name), spine=name == last_clause, depth=depth
            ):
                return False
        return True

    def _value(self, pattern: object, target: object, *, spine: bool, depth: int) -> bool:
        if isinstance(pattern, _FORMATTING) or isinstance(target, _FORMATTING):
            return True
        if isinstance(pattern, cst.CSTNode):
            return isinstance(target, cst.CSTNode) and self.node(pattern, target, spine=spine, depth=depth)
        if isinstance(pattern, (list, tuple)):
            if not isinstance(target, (list, tuple)):
                return False
            return self.sequence(pattern, target, prefix=spine, depth=depth) is not None
        return pattern == target


def _present(value: object) -> bool:
    if isinstance(value, (list, tuple)):
        return bool(value)
    return value is not None


def _docstring(node: cst.SimpleString) -> tuple[bool, object]:
    is_bytes, value = _string_value(node)
    return is_bytes, inspect.cleandoc(value) if isinstance(value, str) else value


def _string_value(node: cst.SimpleString) -> tuple[bool, object]:
    is_bytes = "b" in node.prefix.lower()
    try:
        return is_bytes, node.evaluated_value
    except Exception:  # an escape Python itself would reject: compare the spelling
        return is_bytes, node.value


def bodies(root: cst.CSTNode) -> Iterator[Sequence[cst.BaseStatement]]:
    """Every statement list under ``root`` (module body, indented blocks), outermost first."""
    if isinstance(root, (cst.Module, cst.IndentedBlock)):
        yield root.body
    for child in root.children:
        yield from bodies(child)


def expressions(root: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    if isinstance(root, cst.BaseExpression):
        yield root
    for child in root.children:
        yield from expressions(child)


def find_runs(pattern: Sequence[cst.BaseStatement], root: cst.CSTNode) -> list[Match]:
    """Every run of consecutive statements under ``root`` the block's statements match."""
    trimmed = list(pattern)
    # Leading and trailing `...` lines mean "whatever is around": a run is found without them.
    while trimmed and is_statement_wildcard(trimmed[0]):
        trimmed.pop(0)
    while trimmed and is_statement_wildcard(trimmed[-1]):
        trimmed.pop()
    if not trimmed:
        return []
    found: list[Match] = []
    for body in bodies(root):
        for start in range(len(body)):
            matcher = Matcher()
            count = matcher.sequence(trimmed, body[start:], prefix=True)
            if count is None:
                continue
            deepest = max(matcher.ends, key=lambda e: e[0])[1]
            found.append(Match(body[start], deepest, matcher.bindings, matcher.pairs, body, start, count))
    return found


def find_expressions(pattern: cst.BaseExpression, root: cst.CSTNode) -> list[Match]:
    found: list[Match] = []
    for expression in expressions(root):
        matcher = Matcher()
        if matcher.node(pattern, expression):
            found.append(Match(expression, expression, matcher.bindings))
    return found
