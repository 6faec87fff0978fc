"""Byte-exact YAML edits: set one scalar, keep every comment and every other byte.

PyYAML's composer reports where each node starts and ends, so a value is
replaced within its own span and nothing else is re-serialised. A value whose
edit would mean something else (a duplicate key, an alias, an anchor, a key
that only comes from a merge) is refused with its line. A key that is
missing is added as the last entry of its (block-style) parent mapping, with
the indentation of its siblings.
"""

from __future__ import annotations

import re

import yaml

from runner.errors import InputError
from runner.records import datarecord


@datarecord(frozen=True)
class ConfigChange:
    changed: bool
    before: str | None  # the old value's text, None when the key was added
    line: int


def _decode(source: bytes, path: str) -> str:
    try:
        return source.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"is not UTF-8 (byte {err.start}); YAML edits need UTF-8", path=path) from None


def _compose(text: str, path: str) -> yaml.Node:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputError(
            f"is not valid YAML: {getattr(err, 'problem', err)}",
            path=path,
            line=mark.line + 1 if mark else None,
        ) from None
    if not isinstance(node, yaml.MappingNode):
        raise InputError("top level is not a mapping", path=path)
    return node


def _validate_scalar(value: str, path: str) -> None:
    try:
        parsed = yaml.compose(value, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, yaml.ScalarNode) or "\n" in value:
        raise InputError(f"value {value!r} is not a single YAML scalar", path=path)


_MERGE_TAG = "tag:yaml.org,2002:merge"
_ANCHORED = re.compile(r"(?:![^\s]*\s+)?&")  # a value's text starting with its anchor (after a tag)


def _entry(mapping: yaml.MappingNode, key: str, dotted: str, path: str) -> tuple[yaml.Node, yaml.Node] | None:
    """The one entry of ``mapping`` written with ``key``; refused when it is ambiguous or shared.

    YAML loaders keep the last of duplicate keys, and an alias is the anchor's node:
    an edit at either would change something other than the value the file means.
    """
    entries = [(k, v) for k, v in mapping.value if isinstance(k, yaml.ScalarNode) and k.value == key]
    if len(entries) > 1:
        lines = ", ".join(str(k.start_mark.line + 1) for k, _ in entries)
        raise InputError(
            f"duplicate key {key!r} (lines {lines}); loaders keep the last, so Set will not choose",
            path=path,
            line=entries[-1][0].start_mark.line + 1,
        )
    if not entries:
        _refuse_merged(mapping, key, dotted, path)
        return None
    key_node, value_node = entries[0]
    if value_node.start_mark.index < key_node.end_mark.index:  # the node was written before its key
        raise InputError(
            f"{dotted!r} is an alias (*name) of a value written at line {value_node.start_mark.line + 1}; "
            "setting it would change the anchor and every other alias: set the anchor's value instead",
            path=path,
            line=key_node.start_mark.line + 1,
        )
    return key_node, value_node


def _refuse_merged(mapping: yaml.MappingNode, key: str, dotted: str, path: str) -> None:
    """Refuse a key that ``mapping`` only has through a merge (``<<: *anchor``)."""
    for merge_key, merged in mapping.value:
        if merge_key.tag != _MERGE_TAG:
            continue
        sources = merged.value if isinstance(merged, yaml.SequenceNode) else [merged]
        for source in sources:
            if isinstance(source, yaml.MappingNode) and any(
                isinstance(k, yaml.ScalarNode) and k.value == key for k, _ in source.value
            ):
                raise InputError(
                    f"{dotted!r} comes from the merge `<<` (of the mapping at line "
                    f"{source.start_mark.line + 1}); set it there, or write the key in this mapping first",
                    path=path,
                    line=merge_key.start_mark.line + 1,
                )


def set_value(source: bytes, key_path: str, value: str, path: str) -> tuple[bytes, ConfigChange]:
    """Set ``key_path`` (dotted) to the YAML scalar text ``value``."""
    _validate_scalar(value, path)
    text = _decode(source, path)
    node = _compose(text, path)
    keys = key_path.split(".")
    for depth, key in enumerate(keys):
        assert isinstance(node, yaml.MappingNode)
        dotted = ".".join(keys[: depth + 1])
        entry = _entry(node, key, dotted, path)
        is_last = depth == len(keys) - 1
        if entry is None:
            if not is_last:
                raise InputError(f"has no key {dotted!r}", path=path)
            return _add_key(text, node, key, value, path)
        key_node, value_node = entry
        if is_last:
            if not isinstance(value_node, yaml.ScalarNode):
                raise InputError(
                    f"{key_path!r} is a {type(value_node).__name__[:-4].lower()}, not a scalar",
                    path=path,
                    line=key_node.start_mark.line + 1,
                )
            start, end = value_node.start_mark.index, value_node.end_mark.index
            if value_node.style in ("|", ">"):  # a block scalar's span runs on to the next line
                end = start + len(text[start:end].rstrip("\r\n"))
            old = text[start:end]
            line = value_node.start_mark.line + 1
            if _ANCHORED.match(old):
                raise InputError(
                    f"{key_path!r} is an anchor (&name) that aliases share; setting it would change "
                    "them too: remove the anchor or set each value",
                    path=path,
                    line=line,
                )
            if old == value:
                return source, ConfigChange(False, old, line)
            if start == end and text[start - 1 : start] != ":":
                raise InputError(
                    f"{key_path!r} has no value written after a colon (`{{key}}` in a flow mapping); "
                    "write `key: null` first",
                    path=path,
                    line=line,
                )
            # An empty (null) value sits right after its colon: `key:5` would be one plain scalar.
            spaced = " " + value if start == end and text[start - 1 : start] == ":" else value
            new_text = text[:start] + spaced + text[end:]
            return new_text.encode("utf-8"), ConfigChange(True, old, line)
        if not isinstance(value_node, yaml.MappingNode):
            raise InputError(
                f"{dotted!r} is not a mapping",
                path=path,
                line=key_node.start_mark.line + 1,
            )
        node = value_node
    raise AssertionError("unreachable")


def _add_key(
    text: str, mapping: yaml.MappingNode, key: str, value: str, path: str
) -> tuple[bytes, ConfigChange]:
    if mapping.flow_style or not mapping.value:
        raise InputError(
            f"cannot add {key!r}: its parent mapping is empty or written in flow style {{...}}",
            path=path,
            line=mapping.start_mark.line + 1,
        )
    last_key, last_value = mapping.value[-1]
    indent = " " * last_key.start_mark.column
    # Insert after the line on which the last entry's value ends.
    end = last_value.end_mark.index
    newline = "\r\n" if "\r\n" in text else "\n"
    line_end = text.find("\n", max(end - 1, 0))
    entry = f"{indent}{key}: {value}{newline}"
    if line_end == -1:  # the file does not end with a newline
        insert_at, entry = len(text), newline + entry.removesuffix(newline)
    else:
        insert_at = line_end + 1
    new_text = text[:insert_at] + entry + text[insert_at:]
    line = text[:insert_at].count("\n") + 1
    return new_text.encode("utf-8"), ConfigChange(True, None, line)
