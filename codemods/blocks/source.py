"""A target file as text with positions: lines, offsets, scopes, indentation."""

from __future__ import annotations

import difflib
import io
import re
import tokenize
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


class SourceError(ValueError):
    """The target does not parse, or cannot be edited as text."""


@dataclass(frozen=True)
class Comment:
    line: int
    text: str  # after the '#', stripped
    indent: str


class Source:
    def __init__(self, data: bytes) -> None:
        try:
            self.module = cst.parse_module(data)
        except cst.ParserSyntaxError as err:
            raise SourceError(f"does not parse as Python (line {err.raw_line}: {err.message})") from None
        except (UnicodeDecodeError, LookupError, SyntaxError) as err:
            raise SourceError(f"cannot be decoded: {err}") from None
        self.data = data
        # LibCST round-trips exactly: its code is the decoded bytes ("utf-8-sig" drops a BOM).
        self.text = data.decode(self.module.encoding)
        self.lines: list[str] = _LINE.findall(self.text)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.newline = str(self.module.default_newline)
        wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        self.positions: Mapping[cst.CSTNode, CodeRange] = wrapper.resolve(PositionProvider)

    def encode(self, text: str) -> bytes:
        return text.encode(self.module.encoding)

    # -- positions -------------------------------------------------------------------------------
    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column

    def line_start(self, line: int) -> int:
        return self.starts[min(line, len(self.lines) + 1) - 1]

    def start(self, node: cst.CSTNode) -> int:
        where = self.positions[node]
        return self.offset(where.start.line, where.start.column)

    def end(self, node: cst.CSTNode) -> int:
        where = self.positions[node]
        return self.offset(where.end.line, where.end.column)

    def first_line(self, node: cst.CSTNode) -> int:
        decorators = getattr(node, "decorators", ())
        return self.positions[decorators[0] if decorators else node].start.line

    def last_line(self, node: cst.CSTNode) -> int:
        return self.positions[node].end.line

    def ending(self, line: int) -> str:
        """The newline that ends ``line`` (the file's usual one past the end or on the last line)."""
        if 0 < line <= len(self.lines):
            text = self.lines[line - 1]
            ending = text[len(text.rstrip("\r\n")) :]
            if ending:
                return ending
        return self.newline

    def line_text(self, line: int) -> str:
        return self.lines[line - 1].rstrip("\r\n") if 0 < line <= len(self.lines) else ""

    def indent(self, line: int) -> str:
        text = self.line_text(line)
        return text[: len(text) - len(text.lstrip(" \t"))]

    def is_blank(self, line: int) -> bool:
        return not self.line_text(line).strip()

    def is_comment(self, line: int) -> bool:
        return self.line_text(line).lstrip().startswith("#")

    def comments_above(self, line: int) -> int:
        """The first line of the comment lines directly above ``line`` (``line`` if none)."""
        first = line
        while first > 1 and self.is_comment(first - 1):
            first -= 1
        return first

    def blank_above(self, line: int) -> int:
        count = 0
        while line - 1 - count >= 1 and self.is_blank(line - 1 - count):
            count += 1
        return count

    def blank_from(self, line: int) -> tuple[int, bool]:
        """Blank lines from ``line`` on, and whether code follows them."""
        count = 0
        while line + count <= len(self.lines) and self.is_blank(line + count):
            count += 1
        return count, line + count <= len(self.lines)

    def own_line_comments(self, first: int, last: int) -> Iterator[Comment]:
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(self.text).readline))
        except (tokenize.TokenError, SyntaxError):
            return
        for token in tokens:
            line = token.start[0]
            if token.type == tokenize.COMMENT and first <= line <= last and self.is_comment(line):
                yield Comment(line, token.string[1:].strip(), self.indent(line))


def scopes(module: cst.Module) -> list[tuple[str, cst.FunctionDef | cst.ClassDef]]:
    """Every function and class with its dotted path (``Class.method``), outermost first."""
    found: list[tuple[str, cst.FunctionDef | cst.ClassDef]] = []

    def walk(node: cst.CSTNode, prefix: str) -> None:
        for child in node.children:
            if isinstance(child, (cst.FunctionDef, cst.ClassDef)):
                path = f"{prefix}{child.name.value}"
                found.append((path, child))
                walk(child, path + ".")
            else:
                walk(child, prefix)

    walk(module, "")
    return found


def resolve_scope(source: Source, scope: str) -> tuple[cst.FunctionDef | cst.ClassDef | None, str]:
    """The function or class ``scope`` names (``func``, ``Class``, ``Class.method``), or why not."""
    known = scopes(source.module)
    wanted = scope.strip().split(".")
    exact = [node for path, node in known if path.split(".") == wanted]
    if len(exact) == 1:
        return exact[0], ""
    suffix = [node for path, node in known if path.split(".")[-len(wanted) :] == wanted]
    if len(suffix) == 1:
        return suffix[0], ""
    if len(exact) > 1 or len(suffix) > 1:
        lines = ", ".join(str(source.first_line(n)) for n in (exact or suffix))
        return None, f"`{scope}` names several functions or classes (lines {lines})"
    close = difflib.get_close_matches(scope, [path for path, _ in known], n=3)
    hint = f"; did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
    return None, f"no function or class `{scope}`{hint}"
