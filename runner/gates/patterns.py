"""Pattern gates, structural: calls are matched by qualified name, through aliases.

``absent``: no call to ``outer`` holds a call to ``inner`` in its arguments (or,
for a method call such as ``(1 + torch.exp(-z)).reciprocal()``, in its receiver).
``present``: at least one call to ``outer`` exists. ``torch.reciprocal`` matches
``import torch as T; T.reciprocal(...)`` and ``from torch import reciprocal``;
a bare ``reciprocal`` method name matches ``x.reciprocal()`` on any receiver.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

from runner.gates import GateResult


class _Calls(cst.CSTVisitor):
    """Every call with the names its callee may refer to, and its line."""

    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

    def __init__(self) -> None:
        self.names: dict[cst.Call, set[str]] = {}
        self.lines: dict[cst.Call, int] = {}

    def visit_Call(self, node: cst.Call) -> None:
        names = {q.name for q in self.get_metadata(QualifiedNameProvider, node.func, set())}
        if isinstance(node.func, cst.Attribute):
            names.add(node.func.attr.value)  # method form: receiver.reciprocal()
        self.names[node] = names
        self.lines[node] = self.get_metadata(PositionProvider, node).start.line


def _matches(names: set[str], wanted: str) -> bool:
    return wanted in names if "." in wanted else any(n.rsplit(".", 1)[-1] == wanted for n in names)


class _Inner(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.found.append(node)


def find_calls(source: bytes, outer: str, inner: str = "") -> list[int] | str:
    """Lines of calls to ``outer`` (holding ``inner`` if given), or why it cannot tell."""
    try:
        wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    except (cst.ParserSyntaxError, UnicodeDecodeError, SyntaxError) as err:
        return f"cannot parse: {err}"
    calls = _Calls()
    wrapper.visit(calls)
    lines: list[int] = []
    for call, names in calls.names.items():
        if not _matches(names, outer):
            continue
        if inner:
            held = _Inner()
            for arg in call.args:
                arg.visit(held)
            if isinstance(call.func, cst.Attribute):
                call.func.value.visit(held)
            if not any(_matches(calls.names.get(c, set()), inner) for c in held.found):
                continue
        lines.append(calls.lines[call])
    return sorted(lines)


def check_absent(source: bytes, target: str, outer: str, inner: str) -> GateResult:
    gate = "pattern-absent"
    found = find_calls(source, outer, inner)
    if isinstance(found, str):
        return GateResult(gate, target, "failed", found)
    shape = f"{outer}(... {inner} ...)" if inner else f"call to {outer}"
    if found:
        where = ", ".join(str(n) for n in found)
        return GateResult(gate, target, "failed", f"{shape} at line {where}")
    return GateResult(gate, target, "passed", f"no {shape}")


def check_present(source: bytes, target: str, outer: str) -> GateResult:
    gate = "pattern-present"
    found = find_calls(source, outer)
    if isinstance(found, str):
        return GateResult(gate, target, "failed", found)
    if not found:
        return GateResult(gate, target, "failed", f"no call to {outer}")
    return GateResult(gate, target, "passed", f"{outer} at line {found[0]}")
