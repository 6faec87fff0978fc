"""Exact block replacement in text files that are not Python (Markdown, shell, INI).

A prose file has no syntax tree to match on, so the unit is the line: the find block's
lines must occur as consecutive lines of the file, equal but for trailing white space.
As with the structural matcher for Python, nothing is ever guessed: no match reports the
closest run of lines and how it differs, several matches report every line (unless every
occurrence was asked for), and a file that already holds the replacement is "already applied".
"""

from __future__ import annotations

import difflib
from typing import Literal

from runner.records import datarecord, field

TextStatus = Literal["applied", "already-applied", "absent", "ambiguous"]


@datarecord
class TextEdit:
    status: TextStatus
    after: bytes
    lines: list[int] = field(default_factory=list)  # 1-based lines of the matches (or the closest)
    detail: str = ""


def _block_lines(block: str) -> list[str]:
    lines = block.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return [line.rstrip() for line in lines]


def _find(lines: list[str], wanted: list[str]) -> list[int]:
    """0-based starts of every run of ``lines`` (trailing white space stripped) equal to ``wanted``."""
    size = len(wanted)
    return [i for i in range(len(lines) - size + 1) if lines[i : i + size] == wanted]


def _inside_replacement(lines: list[str], start: int, wanted: list[str], new: list[str]) -> bool:
    """The match at ``start`` is part of a copy of the replacement (which contains the find
    block): replacing it again would not be idempotent, so it counts as already applied."""
    for k in range(len(new) - len(wanted) + 1):
        first = start - k
        if first >= 0 and new[k : k + len(wanted)] == wanted and lines[first : first + len(new)] == new:
            return True
    return False


def _closest(lines: list[str], wanted: list[str]) -> tuple[int, str]:
    """The 1-based start of the most similar run of lines, and a diff from it to ``wanted``."""
    size = len(wanted)
    best, best_ratio = 0, -1.0
    target = "\n".join(wanted)
    for start in range(max(1, len(lines) - size + 1)):
        window = "\n".join(lines[start : start + size])
        ratio = difflib.SequenceMatcher(None, window, target, autojunk=False).ratio()
        if ratio > best_ratio:
            best, best_ratio = start, ratio
    found = lines[best : best + size]
    diff = "\n".join(difflib.unified_diff(found, wanted, "file", "find block", lineterm="", n=1))
    return best + 1, diff


def replace_text(source: bytes, find: str, replacement: str, *, every: bool = False) -> TextEdit:
    """Replace the lines of ``find`` with those of ``replacement`` in ``source``."""
    text = source.decode("utf-8", "surrogateescape")
    newline = "\r\n" if "\r\n" in text else "\n"
    file_lines = text.split(newline)
    wanted = _block_lines(find)
    new = _block_lines(replacement)
    if not wanted:
        raise ValueError("the find block is empty")
    stripped = [line.rstrip() for line in file_lines]  # trailing white space never counts
    starts: list[int] = []
    for start in _find(stripped, wanted):
        if not starts or start >= starts[-1] + len(wanted):  # matches never overlap
            starts.append(start)
    starts = [s for s in starts if not _inside_replacement(stripped, s, wanted, new)]
    if not starts:
        present = _find(stripped, new) if new else []
        if present:
            return TextEdit("already-applied", source, [s + 1 for s in present], "already applied")
        line, diff = _closest(stripped, wanted)
        return TextEdit("absent", source, [line], f"no match; the closest is at line {line}:\n{diff}")
    if len(starts) > 1 and not every:
        where = ", ".join(str(s + 1) for s in starts)
        return TextEdit(
            "ambiguous", source, [s + 1 for s in starts], f"{len(starts)} matches (lines {where})"
        )
    # Replace from the last match backwards so earlier offsets stay valid.
    for start in reversed(starts):
        file_lines[start : start + len(wanted)] = new
    after = newline.join(file_lines).encode("utf-8", "surrogateescape")
    return TextEdit("applied", after, [s + 1 for s in starts], f"replaced {len(starts)} block(s)")
