"""The gather step of ``consolidate-functions``: one plan over every file it is given.

:func:`plan_consolidation` reads each file's facts (:mod:`codemods.analysis.duplicates`),
proves the definitions the same, and decides per file: the target keeps its definition
(or receives the canonical one, with the imports it needs), each other file's definition
becomes an import from the target. When anything cannot be shown safe the whole plan is
a refusal, and no file is rewritten.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from codemods.analysis.duplicates import (
    WRAPPING_DECORATORS,
    Definition,
    FileFacts,
    file_facts,
    normalized_diff,
)
from codemods.base import Gathered


@dataclass(frozen=True)
class ConsolidationPlan(Gathered):
    function: str = ""
    target: str = ""  # the target's key (a normalized path)
    target_module: str = ""
    add_to_target: str = ""  # the canonical definition's code, when the target lacks one
    target_imports: tuple[str, ...] = ()  # import statements the added definition needs
    replace: frozenset[str] = frozenset()  # files whose definition becomes an import
    lines: dict[str, int] = field(default_factory=dict)  # where each file's definition (or problem) is
    canonical: str = ""  # "path:line" of the definition kept


def key_of(path: str) -> str:
    return os.path.normpath(path)


def module_of(key: str, root: str) -> str:
    """``ocr/utils/geometry.py`` (relative to ``root``, the directory imports start from)
    -> ``ocr.utils.geometry``; "" when the path is no importable module."""
    absolute = key if os.path.isabs(key) else os.path.join(root, key)
    relative = os.path.relpath(absolute, root)
    if not relative.endswith(".py") or relative.startswith(".."):
        return ""
    parts = relative[: -len(".py")].split(os.sep)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else ""


def _refuse(files: frozenset[str], lines: dict[str, int], reason: str) -> ConsolidationPlan:
    return ConsolidationPlan(files=files, refusal=reason, lines=lines)


def plan_consolidation(
    sources: Mapping[str, bytes | None], function: str, target: str, root: str
) -> ConsolidationPlan:
    """The plan for ``function`` in ``sources`` (path -> bytes, None when missing),
    consolidated into ``target`` (one of the paths); module names relative to ``root``."""
    target_key = key_of(target)
    keys = list(dict.fromkeys(key_of(k) for k in sources))
    data = {key_of(k): v for k, v in sources.items()}
    files = frozenset(keys)
    lines: dict[str, int] = {}
    target_module = module_of(target_key, root)
    if not target_module:
        return _refuse(files, {target_key: 1}, f"{target}: not an importable module path under {root}")
    target_source = data.get(target_key)
    if target_source is None:
        return _refuse(files, lines, f"{target}: does not exist; create it first (e.g. a `Create` step)")
    facts: dict[str, FileFacts] = {}
    for key in keys:
        source = data[key]
        if source is None:
            return _refuse(files, lines, f"{key}: does not exist")
        if key != target_key and function.encode() not in source:
            continue  # cannot bind the name: not a copy (a directory target's other files)
        module = module_of(key, root)
        if not module:
            return _refuse(files, lines, f"{key}: not an importable module path under {root}")
        facts[key] = file_facts(key, module, source, function)
        found = facts[key]
        lines[key] = found.definition.line if found.definition else (found.problem or (1, ""))[0]
    target_facts = facts[target_key]
    if target_facts.problem and not target_facts.problem[1].startswith("does not define"):
        line, why = target_facts.problem
        return _refuse(files, lines, f"{target_key}:{line}: {why}")
    if target_facts.imported_from:
        return _refuse(files, lines, f"{target_key}: imports {function} from {target_facts.imported_from}")

    definitions: list[Definition] = []
    for key in keys:
        if key == target_key or key not in facts:
            continue
        found = facts[key]
        if found.problem and found.problem[1].startswith("does not define"):
            continue  # mentions the name without binding it (a call through an attribute)
        if found.problem:
            return _refuse(files, lines, f"{key}:{found.problem[0]}: {found.problem[1]}")
        if found.imported_from and found.imported_from != target_module:
            return _refuse(
                files,
                lines,
                f"{key}: imports {function} from {found.imported_from}, not from {target_module}",
            )
        if found.definition is not None:
            definitions.append(found.definition)
    if not definitions:  # every other file already imports it from the target
        return ConsolidationPlan(files=files, function=function, target=target_key, lines=lines)
    canonical = target_facts.definition or definitions[0]
    every = [canonical, *(d for d in definitions if d is not canonical)]
    problem = _sameness_problem(every)
    if problem:
        return _refuse(files, lines, problem)
    imports: list[str] = []
    if target_facts.definition is None:
        imports_or_problem = _needed_imports(canonical, target_facts, target_key)
        if isinstance(imports_or_problem, str):
            return _refuse(files, lines, imports_or_problem)
        imports = imports_or_problem
    cycle = _cycle(facts, definitions, target_facts, imports, function)
    if cycle:
        return _refuse(files, lines, cycle)
    return ConsolidationPlan(
        files=files,
        function=function,
        target=target_key,
        target_module=target_module,
        add_to_target=canonical.code if target_facts.definition is None else "",
        target_imports=tuple(imports),
        replace=frozenset(d.path for d in definitions),
        lines=lines,
        canonical=f"{canonical.path}:{canonical.line}",
    )


def _sameness_problem(every: list[Definition]) -> str:
    """Why the definitions are not interchangeable, or ""; ``every[0]`` is the canonical one."""
    canonical = every[0]
    for definition in every:
        where = f"{definition.path}:{definition.line}"
        if definition.problem:
            return f"{where}: cannot be moved to another module: {definition.problem}"
        if definition.decorators != canonical.decorators:
            return (
                f"{where}: decorators differ from {canonical.path}:{canonical.line}; not consolidated\n"
                + normalized_diff(canonical, definition)
            )
        if definition.normalized != canonical.normalized:
            return (
                f"{where}: differs from {canonical.path}:{canonical.line} (normalized: docstrings,"
                " comments and formatting aside); not consolidated\n" + normalized_diff(canonical, definition)
            )
        for names in definition.decorator_names:
            if not names or not names <= WRAPPING_DECORATORS:
                shown = ", ".join(sorted(names))
                return (
                    f"{where}: decorator {shown} may act once per copy (register, count);"
                    " one shared definition would run it once"
                )
        theirs = {f.name: f for f in canonical.free}
        for free in definition.free:
            other = theirs.get(free.name)
            if other is not None and other.binding != free.binding:
                return (
                    f"{where}: `{free.name}` is {_describe(free.binding)} there but"
                    f" {_describe(other.binding)} in {canonical.path}"
                )
    return ""


def _describe(binding: tuple[str, str]) -> str:
    kind, key = binding
    if kind == "import":
        return f"an import of {key}"
    if kind == "builtin":
        return "the builtin"
    if kind == "several":
        return f"bound several times (lines {key})"
    return "a module-level statement" if kind == "statement" else f"bound by a {kind}"


def _needed_imports(canonical: Definition, target: FileFacts, target_key: str) -> list[str] | str:
    """The import statements the target needs for the canonical definition, or why it cannot
    have it (a module global the target does not have, a name the target binds differently)."""
    needed: list[str] = []
    for free in canonical.free:
        mine = target.bindings.get(free.name)
        if free.binding[0] == "self":
            continue
        where = f"{canonical.path}:{canonical.line}"
        if free.binding[0] == "builtin":
            if mine is not None:
                line = target.binding_lines.get(free.name, 1)
                return f"{where}: uses the builtin `{free.name}`, which {target_key}:{line} rebinds"
            continue
        if mine == free.binding:
            continue
        if mine is not None:
            line = target.binding_lines.get(free.name, 1)
            return (
                f"{where}: `{free.name}` is {_describe(free.binding)} there but"
                f" {_describe(mine)} in {target_key}:{line}"
            )
        if free.binding[0] != "import" or not free.import_code:
            return (
                f"{where}: uses the module global `{free.name}` ({canonical.path}:{free.line}),"
                f" which {target_key} does not have; not consolidated"
            )
        needed.append(free.import_code)
    return list(dict.fromkeys(needed))


def _cycle(
    facts: Mapping[str, FileFacts],
    definitions: list[Definition],
    target: FileFacts,
    imports: list[str],
    function: str,
) -> str:
    """A circular import the plan would make: the target importing a module that will
    import it (directly; cycles through other modules are the import gate's to find)."""
    added = {i.split()[1] for i in imports}
    for definition in definitions:
        module = facts[definition.path].module
        for imported in sorted(target.imported_modules | added):
            if imported == module or imported.startswith(module + "."):
                return (
                    f"{target.path}: imports {module}, which would import {function} from"
                    f" {target.module}: a circular import; not consolidated"
                )
    return ""
