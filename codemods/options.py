"""Codemod options, without LibCST: declared, parsed from ``key=value`` text and checked.

`runner lint` and `runner next` check a blueprint's codemod steps through
:mod:`codemods.catalog`, which uses only this module, so they never import LibCST.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PythonLiteral(str):
    """The source text of a Python literal, the kind of an option whose value becomes code.

    Only what ``ast.literal_eval`` accepts (numbers, negative ones included, strings,
    bytes, True/False/None, tuples/lists/sets/dicts of literals): a blueprint's option
    is pasted into files the import gate later imports, so it must never be able to
    call anything (``__import__('os').system(...)`` is refused here, when the options
    are resolved, before any step runs).
    """

    __slots__ = ()

    def __new__(cls, text: str) -> PythonLiteral:
        code = text.strip()
        try:
            ast.literal_eval(code)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ValueError(
                f"not a Python literal (a number, string, True/False/None, or a tuple/list/dict"
                f" of them): {text!r}"
            ) from None
        return super().__new__(cls, code)


@dataclass(frozen=True)
class Option:
    """One codemod option: ``--arg name=value`` for the runner, ``--name`` for libcst.tool."""

    name: str
    kind: type[str] | type[int] | type[float] | type[bool] | type[PythonLiteral]
    default: str | int | float | bool
    help: str

    def parse(self, text: str) -> str | int | float | bool:
        if self.kind is PythonLiteral:
            try:
                return PythonLiteral(text)
            except ValueError as err:
                raise ValueError(f"option {self.name!r}: {err}") from None
        if self.kind is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"option {self.name!r} takes true or false, not {text!r}")
        try:
            return self.kind(text)
        except ValueError:
            raise ValueError(f"option {self.name!r} takes a {self.kind.__name__}, not {text!r}") from None


def resolve_declared(
    name: str, declared: tuple[Option, ...], given: Mapping[str, object]
) -> dict[str, object]:
    """Defaults, overridden by ``given``; strings are parsed by the option's type.

    libcst.tool passes every declared flag, ``None`` when not given.
    """
    known = {opt.name: opt for opt in declared}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(
            f"codemod {name!r} has no option {unknown[0]!r} (it takes: {', '.join(known) or 'no options'})"
        )
    resolved: dict[str, object] = {opt.name: opt.default for opt in declared}
    for key, value in given.items():
        if value is None:
            continue
        if isinstance(value, str):
            resolved[key] = known[key].parse(value)
        elif known[key].kind is PythonLiteral:
            # A JSON number or bool from an options file: checked as its source text.
            resolved[key] = known[key].parse(repr(value))
        else:
            resolved[key] = value
    return resolved


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
