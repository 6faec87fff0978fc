"""Where text for people goes: rich on a terminal, plain lines otherwise, one choice for all.

The renderers write rich markup (``[bold]…[/bold]``) to an :class:`Out`. On a terminal
without ``NO_COLOR`` that is a rich ``Console``; otherwise (a pipe, a file, ``NO_COLOR``
set) a :class:`PlainOut` that drops the markup, so commands run by scripts and agents
never import rich (start-up) and never get escape codes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from rich.console import Console

# rich's markup syntax (rich.markup.RE_TAGS and escape), kept here so plain output needs no rich.
_TAGS = re.compile(r"((\\*)\[([a-z#/@][^[]*?)])")
_ESCAPE = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


class Out(Protocol):
    def print(self, text: str = "", *, style: str | None = None, end: str = "\n") -> None: ...


def shown(text: str) -> str:
    """``text`` with bytes that are not UTF-8 (kept as surrogates) shown as U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def esc(text: str) -> str:
    """Markup-escaped (as ``rich.markup.escape``), bytes that are not UTF-8 shown as U+FFFD."""
    escaped = _ESCAPE.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", shown(text))
    if escaped.endswith("\\") and not escaped.endswith("\\\\"):
        return escaped + "\\"
    return escaped


def plain(markup: str) -> str:
    """The text rich would show for ``markup``, without its styles."""
    parts: list[str] = []
    position = 0
    for match in _TAGS.finditer(markup):
        full, escapes, _tag = match.groups()
        start, end = match.span()
        parts.append(markup[position:start])
        position = end
        if escapes:
            backslashes, escaped = divmod(len(escapes), 2)
            parts.append("\\" * backslashes)
            if escaped:
                parts.append(full[len(escapes) :])  # an escaped tag is text
    parts.append(markup[position:])
    return "".join(parts)


class PlainOut:
    """An :class:`Out` writing plain lines to a text stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def print(self, text: str = "", *, style: str | None = None, end: str = "\n") -> None:
        self.stream.write(plain(text) + end)
        self.stream.flush()


def wants_rich(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """A person watches ``stream`` (a terminal) and has not asked for no colour (NO_COLOR)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


def rich_console(stream: TextIO) -> Console:
    from rich.console import Console

    return Console(file=stream, highlight=False, soft_wrap=True)


def out_for(stream: TextIO, environ: Mapping[str, str] | None = None) -> Out:
    """rich on a terminal, plain text otherwise."""
    return rich_console(stream) if wants_rich(stream, environ) else PlainOut(stream)


def write_raw(out: Out, text: str) -> None:
    """``text`` as it is (a diff, a report: never read as markup), to where ``out`` writes."""
    stream = out.stream if isinstance(out, PlainOut) else out.file  # type: ignore[attr-defined]
    stream.write(text)
    stream.flush()
