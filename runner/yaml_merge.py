"""Merge a YAML block into a file, byte-exactly: keys added or set, every other byte kept.

The step's block is a mapping. For each of its keys, the file's mapping at the
same place either lacks it (the key, its value and the comments written just
above it in the block are added after the mapping's last entry, re-indented to
its siblings), holds a scalar (the scalar's text is replaced within its span,
its comment kept), or holds a mapping (merged recursively). Everything else is
refused with a line, and nothing is written: duplicate keys, anchors or aliases
on a node the merge would edit, a mapping written in flow style ``{...}`` that
would need a new key, multi-line scalars, sequences that differ, a scalar where
the block has a mapping or the reverse.

Positions come from PyYAML's composer (see :mod:`runner.config_edit`).
"""

from __future__ import annotations

import yaml

from runner.config_edit import _compose, _decode
from runner.errors import InputError
from runner.records import datarecord, field


@datarecord(frozen=True)
class MergeEdit:
    key: str  # dotted path
    line: int  # in the new file
    before: str | None  # None: added
    after: str

    def describe(self) -> str:
        if self.before is None:
            return f"added {self.key}"
        return f"set {self.key}: {self.before} -> {self.after}"


@datarecord
class _Plan:
    target: str  # the file's text
    block: str  # the block's text
    path: str
    block_line: int  # the block's first line in the blueprint, for messages
    anchored: set[int] = field(default_factory=set)  # start indexes of anchored or aliased nodes
    splices: list[tuple[int, int, int, str]] = field(default_factory=list)  # start, end, order, text
    # (splice order, offset of the key within the splice's text, dotted key, before, after)
    edits: list[tuple[int, int, str, str | None, str]] = field(default_factory=list)

    def refuse(self, message: str, node: yaml.Node | None = None) -> InputError:
        line = node.start_mark.line + 1 if node is not None else None
        return InputError(message, path=self.path, line=line)


def merge_yaml(source: bytes, block: str, path: str, *, block_line: int = 0) -> tuple[bytes, list[MergeEdit]]:
    """``source`` with ``block`` merged in; [] edits when every key already has its value."""
    text = _decode(source, path)
    target = _compose(text, path)
    assert isinstance(target, yaml.MappingNode)  # _compose refuses anything else
    try:
        merged = yaml.compose(block, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1} of the block)" if mark else ""
        raise InputError(f"the step's YAML block is not valid YAML{where}", path=path) from None
    if not isinstance(merged, yaml.MappingNode):
        raise InputError("the step's YAML block is not a mapping", path=path)
    plan = _Plan(text, block, path, block_line, _anchored(text))
    if _anchored(block):
        raise InputError("the step's YAML block uses anchors or aliases; write the values out", path=path)
    _check_duplicates(merged, plan, in_block=True)
    _merge(target, merged, plan, ())
    if not plan.splices:
        return source, []
    new_text, starts = _splice(text, plan.splices)
    edits = [
        MergeEdit(key, new_text[: starts[order] + offset].count("\n") + 1, before, after)
        for order, offset, key, before, after in plan.edits
    ]
    if "\r\n" in text:  # the block's lines come with the blueprint's endings: use the file's
        new_text = new_text.replace("\r\n", "\n").replace("\n", "\r\n")
    return new_text.encode("utf-8"), sorted(edits, key=lambda e: e.line)


def _anchored(text: str) -> set[int]:
    try:
        events = list(yaml.parse(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return set()
    return {e.start_mark.index for e in events if getattr(e, "anchor", None) and e.start_mark is not None}


def _check_duplicates(mapping: yaml.MappingNode, plan: _Plan, *, in_block: bool) -> None:
    seen: dict[str, yaml.Node] = {}
    for key, value in mapping.value:
        if not isinstance(key, yaml.ScalarNode):
            raise plan.refuse("a complex (non-scalar) key cannot be merged", key)
        if key.value in seen:
            first, again = seen[key.value].start_mark.line + 1, key.start_mark.line + 1
            if in_block:  # lines of the blueprint: the block starts after its fence line
                raise InputError(
                    f"duplicate key {key.value!r} in the step's YAML block "
                    f"(blueprint lines {plan.block_line + first} and {plan.block_line + again})",
                    path=plan.path,
                )
            raise InputError(
                f"duplicate key {key.value!r} (first at line {first}); which one counts is unclear",
                path=plan.path,
                line=again,
            )
        seen[key.value] = key
        if in_block and isinstance(value, yaml.MappingNode):
            _check_duplicates(value, plan, in_block=True)


def _merge(target: yaml.MappingNode, block: yaml.MappingNode, plan: _Plan, keys: tuple[str, ...]) -> None:
    _check_duplicates(target, plan, in_block=False)
    entries = {k.value: (k, v) for k, v in target.value if isinstance(k, yaml.ScalarNode)}
    added: list[tuple[yaml.ScalarNode, yaml.Node]] = []
    for key, value in block.value:
        assert isinstance(key, yaml.ScalarNode)
        dotted = ".".join((*keys, key.value))
        if key.value == "<<":
            raise plan.refuse("a merge key '<<' cannot be merged; write the keys out", key)
        if key.value not in entries:
            added.append((key, value))
            continue
        target_key, target_value = entries[key.value]
        if target_key.start_mark.index in plan.anchored or target_value.start_mark.index in plan.anchored:
            raise plan.refuse(
                f"{dotted!r} has an anchor or is an alias; editing it would change its copies", target_key
            )
        if isinstance(value, yaml.MappingNode) and isinstance(target_value, yaml.MappingNode):
            _merge(target_value, value, plan, (*keys, key.value))
        elif isinstance(value, yaml.ScalarNode) and isinstance(target_value, yaml.ScalarNode):
            _set_scalar(target_value, value, plan, dotted)
        elif _source(plan.block, value) == _source(plan.target, target_value):
            continue  # the same sequence (or mapping) written the same way
        else:
            raise plan.refuse(
                f"{dotted!r} is a {_kind(target_value)} in the file and a {_kind(value)} in the step's "
                "block; only scalars are set and mappings merged",
                target_key,
            )
    if added:
        _add_entries(target, added, plan, keys)


def _kind(node: yaml.Node) -> str:
    return {yaml.ScalarNode: "scalar", yaml.SequenceNode: "sequence", yaml.MappingNode: "mapping"}[type(node)]


def _source(text: str, node: yaml.Node) -> str:
    return text[node.start_mark.index : node.end_mark.index]


def _set_scalar(target: yaml.ScalarNode, value: yaml.ScalarNode, plan: _Plan, dotted: str) -> None:
    new = _source(plan.block, value)
    old = _source(plan.target, target)
    if "\n" in new or "\n" in old or value.style in ("|", ">") or target.style in ("|", ">"):
        raise plan.refuse(f"{dotted!r}: multi-line scalars are not merged; set them by hand", target)
    if old == new or (old and _same_value(old, new)):
        return  # already set; the file's quoting is kept when the values are equal
    start = target.start_mark.index
    if old == "":  # `key:` with no value: keep one space after the colon
        new = " " + new if plan.target[start - 1 : start] == ":" else new
    order = len(plan.splices)
    plan.splices.append((start, target.end_mark.index, order, new))
    plan.edits.append((order, 0, dotted, old, new.strip()))


def _same_value(old: str, new: str) -> bool:
    """``"4"`` and ``'4'`` are the same string; ``4`` and ``"4"`` are not."""
    try:
        a, b = yaml.safe_load(old), yaml.safe_load(new)
    except yaml.YAMLError:
        return False
    return type(a) is type(b) and a == b


def _add_entries(
    target: yaml.MappingNode,
    added: list[tuple[yaml.ScalarNode, yaml.Node]],
    plan: _Plan,
    keys: tuple[str, ...],
) -> None:
    names = ", ".join(repr(".".join((*keys, k.value))) for k, _ in added)
    if target.flow_style or not target.value:
        raise plan.refuse(
            f"cannot add {names}: the mapping is empty or written in flow style {{...}}; edit it by hand",
            target,
        )
    column = target.value[0][0].start_mark.column
    last_line = _last_content_line(plan.target, target.value[-1][1])
    lines = plan.target.splitlines(keepends=True)
    insert_at = sum(len(line) for line in lines[: last_line + 1])
    text = "" if plan.target[:insert_at].endswith("\n") else "\n"
    order = len(plan.splices)
    for key, value in added:
        entry, key_offset = _entry_text(plan.block, key, value, column)
        added_value = _source(plan.block, value).strip()
        plan.edits.append((order, len(text) + key_offset, ".".join((*keys, key.value)), None, added_value))
        text += entry
    plan.splices.append((insert_at, insert_at, order, text))


def _last_content_line(text: str, node: yaml.Node) -> int:
    """The 0-based line of a value's last character that is not blank or a comment line."""
    lines = text.splitlines()
    end = node.end_mark
    for number in range(min(end.line, len(lines) - 1), node.start_mark.line - 1, -1):
        content = lines[number][: end.column] if number == end.line else lines[number]
        if content.strip() and not content.lstrip().startswith("#"):
            return number
    return node.start_mark.line


def _entry_text(block: str, key: yaml.ScalarNode, value: yaml.Node, column: int) -> tuple[str, int]:
    """The block's lines for ``key: value``, with the comment lines just above it, re-indented;
    and the offset of the key's line in that text."""
    lines = block.splitlines(keepends=True)
    first = key.start_mark.line
    while first > 0 and lines[first - 1].strip().startswith("#"):
        first -= 1
    last = _last_content_line(block, value)
    shift = column - key.start_mark.column
    out = []
    for line in lines[first : last + 1]:
        if shift >= 0 or not line.strip():
            out.append(" " * shift + line if line.strip() else line)
        else:
            out.append(line[min(-shift, len(line) - len(line.lstrip(" "))) :])
    text = "".join(out)
    key_offset = sum(len(line) for line in out[: key.start_mark.line - first])
    return (text if text.endswith("\n") else text + "\n"), key_offset


def _splice(text: str, splices: list[tuple[int, int, int, str]]) -> tuple[str, dict[int, int]]:
    """The text with every splice made, and where each splice (by order) starts in it."""
    out: list[str] = []
    starts: dict[int, int] = {}
    position = length = 0
    for start, end, order, replacement in sorted(splices):
        out.append(text[position:start])
        length += start - position
        starts[order] = length
        out.append(replacement)
        length += len(replacement)
        position = end
    out.append(text[position:])
    return "".join(out), starts
