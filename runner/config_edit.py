"""Byte-exact YAML edits: set one scalar, keep every comment and every other byte.

PyYAML's composer reports where each node starts and ends, so a value is
replaced within its own span and nothing else is re-serialised. A key that is
missing is added as the last entry of its (block-style) parent mapping, with
the indentation of its siblings.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from runner.errors import InputError


@dataclass(frozen=True)
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


def set_value(source: bytes, key_path: str, value: str, path: str) -> tuple[bytes, ConfigChange]:
    """Set ``key_path`` (dotted) to the YAML scalar text ``value``."""
    _validate_scalar(value, path)
    text = _decode(source, path)
    node = _compose(text, path)
    keys = key_path.split(".")
    for depth, key in enumerate(keys):
        assert isinstance(node, yaml.MappingNode)
        entry = next(
            ((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key),
            None,
        )
        is_last = depth == len(keys) - 1
        if entry is None:
            if not is_last:
                raise InputError(f"has no key {'.'.join(keys[: depth + 1])!r}", path=path)
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
            old = text[start:end]
            line = value_node.start_mark.line + 1
            if old == value:
                return source, ConfigChange(False, old, line)
            new_text = text[:start] + value + text[end:]
            return new_text.encode("utf-8"), ConfigChange(True, old, line)
        if not isinstance(value_node, yaml.MappingNode):
            raise InputError(
                f"{'.'.join(keys[: depth + 1])!r} is not a mapping",
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
