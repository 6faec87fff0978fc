"""A blueprint's front matter: the YAML mapping between its opening and closing ``---``.

Blueprints write it as a flat mapping of names to double-quoted strings and flow lists of them
(``title: "PLAN-001: ..."``, ``tags: ["a", "b"]``). :func:`read_simple` reads exactly that
subset without PyYAML, whose import is a quarter of `runner status`'s start-up; any other text
(and any doubt: escapes, tabs, comments, a key YAML would read as a bool) goes to PyYAML's safe
loader, aliases refused, so the mapping is always the one ``yaml.safe_load`` gives.
"""

from __future__ import annotations

import re
from typing import Any

from runner.errors import BlueprintError

_QUOTED = r'"[^"\\]*"'  # a double-quoted scalar without escapes: its text is what lies between
_LIST = rf"\[(?:{_QUOTED}(?:, {_QUOTED})*)?\]"  # a flow list of them, ", " between
_ENTRY = re.compile(rf"(?P<key>[A-Za-z_][A-Za-z0-9_-]*): (?P<value>{_QUOTED}|{_LIST})")
_ITEM = re.compile(_QUOTED)
# Plain keys YAML 1.1 resolves to a bool or null (PyYAML's resolver), in any case for safety.
_NOT_STRINGS = {"yes", "no", "true", "false", "on", "off", "null"}
# Simple keys are at most 1024 characters in YAML; far longer than any blueprint's.
_MAX_KEY = 128


def _printable(char: str) -> bool:
    """Inside a line, a character YAML reads as itself (PyYAML's reader and scanner).

    Tabs, NEL and the Unicode line and paragraph separators (breaks to YAML), the byte-order
    mark and surrogates (undecodable bytes) all send the text to PyYAML instead.
    """
    code = ord(char)
    if code < 0x7F:
        return code >= 0x20
    if code in (0x2028, 0x2029, 0xFEFF):
        return False
    return 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


def read_simple(text: str) -> dict[str, str | list[str]] | None:
    """The mapping of ``text`` when every line is ``key: "value"`` or ``key: ["a", "b"]``; else None.

    None means "outside the subset", never "invalid": the caller asks PyYAML then.
    """
    data: dict[str, str | list[str]] = {}
    for line in text.split("\n"):
        match = _ENTRY.fullmatch(line)
        if match is None or not all(_printable(c) for c in line):
            return None
        key, value = match.group("key"), match.group("value")
        if key.lower() in _NOT_STRINGS or len(key) > _MAX_KEY or key in data:
            return None  # YAML would read a bool or null, or keep the last of two equal keys
        if value.startswith('"'):
            data[key] = value[1:-1]
        else:
            data[key] = [item[1:-1] for item in _ITEM.findall(value)]
    return data


def load(text: str, path: str) -> dict[str, Any]:
    """The front matter's mapping (``text``: the lines between the fences, joined with ``\\n``).

    Raises :class:`BlueprintError` naming the line in the blueprint (the text starts on line 2).
    """
    simple = read_simple(text)
    return _load_yaml(text, path) if simple is None else simple


def _load_yaml(text: str, path: str) -> dict[str, Any]:
    import yaml  # only for front matter outside the simple subset

    _reject_yaml_aliases(text, path)
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as err:  # e.g. a !!python tag the safe loader refuses
        mark = getattr(err, "problem_mark", None)
        raise BlueprintError(
            f"front matter is not valid YAML: {getattr(err, 'problem', None) or err}",
            path=path,
            line=mark.line + 2 if mark is not None else 2,
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BlueprintError("front matter is not a YAML mapping", path=path, line=2)
    return data


def _reject_yaml_aliases(text: str, path: str) -> None:
    import yaml

    # Aliases are how YAML bombs multiply; front matter has no use for them.
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = (event.start_mark.line + 2) if event.start_mark else None
                raise BlueprintError(
                    "front matter uses a YAML alias; blueprints do not allow them",
                    path=path,
                    line=line,
                )
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise BlueprintError(f"front matter is not valid YAML: {problem}", path=path, line=line) from None
