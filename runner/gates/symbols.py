"""Symbol gate: a Python file defines a name (``_step_function``, ``DBHead._step_function``).

What a step like "Read `F` and locate `_step_function` method" checks: the file
parses and a ``def``, ``class`` or assignment binds the name. A bare name matches
at any depth (a module function, a method, a nested class); a dotted name is the
exact chain of enclosing classes and functions. Matching is by the syntax tree,
never by text, so a name in a comment, a string or a call does not count.
"""

from __future__ import annotations

import ast

from runner.gates import GateResult


def defined_names(source: bytes) -> dict[str, int] | str:
    """Every definition's dotted path (``Class.method``) and its line, or why the file cannot parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as err:
        where = f"line {err.lineno}: " if isinstance(err, SyntaxError) and err.lineno else ""
        return f"cannot parse: {where}{err.msg if isinstance(err, SyntaxError) else err}"
    found: dict[str, int] = {}

    def bind(prefix: str, name: str, line: int) -> None:
        found.setdefault(f"{prefix}{name}", line)

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bind(prefix, node.name, node.lineno)
                walk(node.body, f"{prefix}{node.name}.")
                continue
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign | ast.AugAssign):
                targets = [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        bind(prefix, name.id, node.lineno)
            # Definitions under if/try/with/for at the same level still bind in this scope.
            for field in ("body", "orelse", "finalbody"):
                nested = getattr(node, field, None)
                if isinstance(nested, list) and nested and isinstance(nested[0], ast.stmt):
                    walk(nested, prefix)
            for handler in getattr(node, "handlers", []):
                walk(handler.body, prefix)
            for case in getattr(node, "cases", []):
                walk(case.body, prefix)

    walk(tree.body, "")
    return found


def find_definition(names: dict[str, int], symbol: str) -> tuple[str, int] | None:
    """The first definition ``symbol`` names: exact for a dotted path, by last part otherwise."""
    if symbol in names:
        return symbol, names[symbol]
    if "." not in symbol:
        hits = sorted((line, path) for path, line in names.items() if path.rsplit(".", 1)[-1] == symbol)
        if hits:
            return hits[0][1], hits[0][0]
    return None


def check_defines(source: bytes, target: str, symbol: str) -> GateResult:
    gate = "defines"
    names = defined_names(source)
    if isinstance(names, str):
        return GateResult(gate, target, "failed", names)
    hit = find_definition(names, symbol)
    if hit is not None:
        return GateResult(gate, target, "passed", f"{hit[0]} at line {hit[1]}")
    import difflib  # here: only a missing symbol needs it (start-up of `runner lint`)

    close = difflib.get_close_matches(symbol, list(names), n=1, cutoff=0.6)
    hint = f"; closest: {close[0]} (line {names[close[0]]})" if close else ""
    return GateResult(gate, target, "failed", f"no definition of {symbol}{hint}")


def check_exists(present: bool, target: str) -> GateResult:
    if present:
        return GateResult("exists", target, "passed")
    return GateResult("exists", target, "failed", "no such file")
