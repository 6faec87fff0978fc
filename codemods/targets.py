"""Naming a function in a codemod option: ``name`` or ``Class.method``.

Shared by the codemods that act on one function (clamp-inputs, replace-default).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OVERLOAD = frozenset({"typing.overload", "typing_extensions.overload"})


def check_param_name(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is an identifier (the ``param`` option)."""
    if not IDENT.match(name):
        raise ValueError(f"option 'param' takes an identifier, not {name!r}")


def check_function_spec(spec: str) -> None:
    """Raise ``ValueError`` unless ``spec`` is ``name`` or a dotted ``Class.method`` path."""
    parts = spec.split(".")
    if not spec or not all(IDENT.match(p) or p == "<locals>" for p in parts):
        raise ValueError(f"option 'function' takes a name or Class.method, not {spec!r}")
    if parts[-1] == "<locals>":
        raise ValueError(f"option 'function' must end with a function name, not {spec!r}")


def spec_matches(spec: str, bare_name: str, qualified_names: Iterator[str]) -> bool:
    """A bare ``spec`` matches every def of that name; a dotted one matches the tail
    of the def's qualified name, with ``<locals>`` parts ignored (``outer.inner``
    names ``inner`` defined in ``outer``)."""
    if "." not in spec:
        return bare_name == spec
    wanted = [p for p in spec.split(".") if p != "<locals>"]
    for qname in qualified_names:
        parts = [p for p in qname.split(".") if p != "<locals>"]
        if parts[-len(wanted) :] == wanted:
            return True
    return False


def function_needles(spec: str) -> tuple[bytes, ...]:
    """Bytes one of which a file defining ``spec`` contains: ``def name`` (also matches
    ``async def``), or ``name = lambda`` for the lambda skip."""
    name = spec.rsplit(".", 1)[-1].encode()
    return (b"def " + name, name + b" = lambda", name + b"=lambda")
