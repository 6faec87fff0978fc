"""Syntax gate: the file compiles, in-process, as CPython would import it."""

from __future__ import annotations

from runner.gates import GateResult


def check_syntax(source: bytes, target: str) -> GateResult:
    try:
        compile(source, target, "exec", dont_inherit=True)
    except SyntaxError as err:
        return GateResult("syntax", target, "failed", f"line {err.lineno}: {err.msg}")
    except ValueError as err:  # NUL bytes
        return GateResult("syntax", target, "failed", str(err))
    return GateResult("syntax", target, "passed")
