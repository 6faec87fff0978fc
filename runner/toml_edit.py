"""Style-preserving edits of TOML files (a target project's ``pyproject.toml``).

tomlkit keeps every byte of a document it parses (comments, quoting, array layout), so an
edit changes only the keys it names. Two edits, both refusing rather than guessing:

* :func:`merge_toml`: the tables and keys of a TOML block are added to the file; a key
  that exists with another scalar or array value is set; one that already holds the value
  is "already set". A table where the file has a value (or the reverse) is refused.
* :func:`remove_array_items`: items removed from an array by value (a dependency list),
  each with its own trailing comment; an absent item is "already removed".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT, Array, Table

from runner.records import datarecord, field


class TomlEditError(ValueError):
    """The file or the block cannot be edited exactly; ``line`` points into the file when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@datarecord
class TomlEdit:
    after: bytes
    changes: list[str] = field(default_factory=list)  # one line per key: what happened
    applied: list[str] = field(default_factory=list)  # those that changed the file (not "already …")


def _applied(edit: TomlEdit, change: str) -> None:
    edit.changes.append(change)
    edit.applied.append(change)


def _parse(text: str, what: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except ParseError as err:
        raise TomlEditError(f"{what} is not valid TOML: {err}", line=err.line) from None


def _load(source: bytes) -> tuple[tomlkit.TOMLDocument, bool]:
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as err:
        raise TomlEditError(f"not UTF-8 (byte {err.start}); TOML files must be") from None
    doc = _parse(text, "the file")
    if tomlkit.dumps(doc) != text:
        # tomlkit promises an exact round trip; where it fails, no edit could be exact either.
        raise TomlEditError("tomlkit cannot reproduce this file byte for byte; edit it by hand")
    return doc, "\r\n" in text and "\n" not in text.replace("\r\n", "")


def _dump(doc: tomlkit.TOMLDocument, crlf: bool) -> bytes:
    text = tomlkit.dumps(doc)
    if crlf:  # lines tomlkit adds use "\n": give them the file's line ending
        text = re.sub(r"(?<!\r)\n", "\r\n", text)
    return text.encode("utf-8")


def _line_of(source: bytes, dotted: str) -> int | None:
    """The line of the key's last part (or table header), for messages only."""
    last = dotted.rsplit(".", 1)[-1]
    for number, line in enumerate(source.decode("utf-8", "replace").splitlines(), 1):
        if re.match(rf"\s*(\[+[^\]]*\b{re.escape(last)}\b[^\]]*\]+|\"?{re.escape(last)}\"?\s*=)", line):
            return number
    return None


def _text(value: Any) -> str:
    """A value as TOML writes it (``items()`` may hand back plain Python values)."""
    return str(tomlkit.item(value).as_string())


def _plain(value: Any) -> Any:
    """A tomlkit item as plain Python, for comparing values."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def _walk(block: Container | Table, prefix: str) -> Iterator[tuple[str, Any, bool]]:
    """(dotted key, value, is_table) for every leaf and table of the block, depth first."""
    for key, value in block.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Table):
            yield dotted, value, True
            yield from _walk(value, dotted)
        else:
            yield dotted, value, False


def merge_toml(source: bytes, block: str) -> TomlEdit:
    """Add or set every key of ``block`` in the TOML ``source``; every other byte is kept."""
    doc, crlf = _load(source)
    # A block without its final line break would make tomlkit's last item eat the blank line after it.
    wanted = _parse(block if block.endswith("\n") else block + "\n", "the block")
    edit = TomlEdit(source)
    for dotted, value, is_table in _walk(wanted, ""):
        *parents, last = dotted.split(".")
        container: Any = doc
        for part in parents:
            container = container[part]
        current = container.get(last) if hasattr(container, "get") else None
        if isinstance(current, AoT) or isinstance(value, AoT):
            raise TomlEditError(f"{dotted}: arrays of tables are not merged", _line_of(source, dotted))
        if is_table:
            if current is None:
                container[last] = tomlkit.table()
                _applied(edit, f"added table [{dotted}]")
            elif not isinstance(current, Table):
                raise TomlEditError(
                    f"{dotted} is a value in the file, a table in the block", _line_of(source, dotted)
                )
            continue
        if isinstance(current, Table):
            raise TomlEditError(
                f"{dotted} is a table in the file, a value in the block", _line_of(source, dotted)
            )
        if current is None:
            container[last] = value
            _applied(edit, f"added {dotted} = {_text(value)}")
        elif _plain(current) == _plain(value):
            edit.changes.append(f"{dotted}: already set")
        else:
            container[last] = value
            _applied(edit, f"set {dotted}: {_text(current)} -> {_text(value)}")
    edit.after = _dump(doc, crlf)
    _check(edit.after)
    return edit


def remove_array_items(source: bytes, dotted: str, items: list[str]) -> TomlEdit:
    """Remove ``items`` (string values) from the array at ``dotted``."""
    doc, crlf = _load(source)
    node: Any = doc
    for part in dotted.split("."):
        if not hasattr(node, "get") or node.get(part) is None:
            raise TomlEditError(f"no key {dotted} in the file")
        node = node[part]
    if not isinstance(node, Array):
        raise TomlEditError(f"{dotted} is not an array", _line_of(source, dotted))
    edit = TomlEdit(source)
    for item in items:
        positions = [i for i, value in enumerate(node) if _plain(value) == item]
        if not positions:
            edit.changes.append(f"{dotted}: {item!r} already removed")
            continue
        for index in reversed(positions):
            del node[index]
        _applied(edit, f"removed {item!r} from {dotted}")
    edit.after = _dump(doc, crlf)
    _check(edit.after)
    return edit


def _check(after: bytes) -> None:
    """The result must parse again: an edit that breaks the file is never written."""
    _parse(after.decode("utf-8"), "the edited file")
