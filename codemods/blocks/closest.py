"""Why a block is absent: the most similar statement run in scope, with its line and a diff."""

from __future__ import annotations

import difflib
import io
import tokenize

import libcst as cst

from codemods.blocks.matcher import bodies
from codemods.blocks.pattern import Block, dedent, is_statement_wildcard
from codemods.blocks.result import BlockEdit, Candidate
from codemods.blocks.source import Source


def without_comments(text: str) -> list[str]:
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
    wanted = without_comments(block.text)
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
            found = without_comments(text)
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
    return Candidate(first, last, round(ratio, 2), code_diff(wanted, found, first))


def code_diff(wanted: list[str], found: list[str], line: int) -> str:
    """A unified diff from the block's comment-free lines to the file's at ``line``."""
    return "\n".join(
        difflib.unified_diff(wanted, found, fromfile="block", tofile=f"line {line}", lineterm="")
    )


def absent(data: bytes, source: Source, block: Block, root: cst.CSTNode, what: str) -> BlockEdit:
    closest = _closest(source, block, root)
    tail = (
        f"; closest candidate at line {closest.line} (similarity {closest.similarity:.2f})"
        if closest is not None
        else ""
    )
    if closest is not None and not closest.diff:
        tail += " reads the same but differs in a string's content or a literal's value"
    return BlockEdit("absent", data, f"{what} is not in the file{tail}", (), closest)
