"""Imports a change left unused: removed, and only those.

``remove_imports_made_unused(before, after, path)`` compares a file before and after an
edit (a task's steps) with LibCST's ``GatherUnusedImportsVisitor`` (scope analysis: a name
is used when a reference reaches the import's binding; names in ``__all__`` and in string
annotations count as used) and removes from ``after`` the module-level imports that were
used in ``before`` and are not any more. Left alone, with the reason:

* an import already unused before (it may be there for its side effect or a re-export);
* every import of an ``__init__.py`` (a package's imports are its API);
* ``from m import x as x`` and ``import m as m`` (the typing convention for a re-export);
* an import inside a function, class or compound statement (only the module's own lines are
  removed, by :func:`codemods.imports.remove_import_aliases`: the lines above a removed
  import go to the next statement, a comment on the import line goes with it).

Ruff's F401 fix removes every unused import, whoever left it unused; this removes only what
the edit made unused, so a file's existing debt is never touched by a task.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import GatherUnusedImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from codemods.imports import remove_import_aliases

_ImportKey = tuple[str, str, str]  # module ("" for `import`), name, alias ("" without `as`)


@dataclass(frozen=True)
class ImportNote:
    line: int  # in the file before the removal
    name: str  # as written: ``tempfile``, ``Path`` (from pathlib), ``np`` (numpy as np)
    reason: str = ""  # why it was left alone; "" for a removed import


@dataclass(frozen=True)
class UnusedImportsEdit:
    after: bytes
    removed: tuple[ImportNote, ...]
    kept: tuple[ImportNote, ...]  # unused after the edit, left alone (with the reason)


def remove_imports_made_unused(before: bytes | None, after: bytes, path: str) -> UnusedImportsEdit:
    """``after`` without the module-level imports that ``before`` used and ``after`` does not.

    ``before`` None (a file the edit creates): nothing was used before, nothing is removed.
    Raises ``cst.ParserSyntaxError`` when ``after`` does not parse.
    """
    wrapper = MetadataWrapper(cst.parse_module(after), unsafe_skip_copy=True)
    module = wrapper.module
    positions = wrapper.resolve(PositionProvider)
    used_before = _used_imports(before)
    top_level = {
        id(small): small
        for line in module.body
        if isinstance(line, cst.SimpleStatementLine)
        for small in line.body
    }
    dropped: dict[cst.BaseSmallStatement, set[int]] = {}
    removed: list[ImportNote] = []
    kept: list[ImportNote] = []
    for alias, statement in sorted(_unused(wrapper), key=lambda pair: positions[pair[0]].start.line):
        note = ImportNote(positions[alias].start.line, _written(alias, statement))
        reason = _reason_to_keep(alias, statement, path, used_before, id(statement) in top_level)
        if reason:
            kept.append(ImportNote(note.line, note.name, reason))
            continue
        names = statement.names
        assert not isinstance(names, cst.ImportStar)  # the visitor leaves star imports out
        dropped.setdefault(statement, set()).add(next(i for i, a in enumerate(names) if a is alias))
        removed.append(note)
    if not dropped:
        return UnusedImportsEdit(after, (), tuple(kept))
    new_module, _ = remove_import_aliases(module, module, dropped)
    return UnusedImportsEdit(new_module.code.encode(module.encoding), tuple(removed), tuple(kept))


def _unused(wrapper: MetadataWrapper) -> set[tuple[cst.ImportAlias, cst.Import | cst.ImportFrom]]:
    wrapper.resolve_many(GatherUnusedImportsVisitor.get_inherited_dependencies())
    visitor = GatherUnusedImportsVisitor(CodemodContext(wrapper=wrapper))
    wrapper.module.visit(visitor)
    return visitor.unused_imports


def _reason_to_keep(
    alias: cst.ImportAlias,
    statement: cst.Import | cst.ImportFrom,
    path: str,
    used_before: set[_ImportKey],
    at_module_level: bool,
) -> str:
    if path.rsplit("/", 1)[-1] == "__init__.py":
        return "an __init__.py's imports are its package's API"
    if alias.asname is not None and alias.evaluated_alias == alias.evaluated_name:
        return f"`{alias.evaluated_name} as {alias.evaluated_alias}` marks a re-export"
    if _key(alias, statement) not in used_before:
        return "not used before the task either"
    if not at_module_level:
        return "not a module-level import line"
    return ""


def _used_imports(source: bytes | None) -> set[_ImportKey]:
    """The imports of ``source`` that something uses, by what they import and bind."""
    if source is None:
        return set()
    try:
        wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    except cst.ParserSyntaxError:
        return set()  # nothing provably used before: nothing is removed
    unused = {_key(alias, statement) for alias, statement in _unused(wrapper)}
    return {key for key in _all_imports(wrapper.module) if key not in unused}


def _all_imports(module: cst.Module) -> Iterable[_ImportKey]:
    found: list[_ImportKey] = []

    class Imports(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> None:
            found.extend(_key(alias, node) for alias in node.names)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if not isinstance(node.names, cst.ImportStar):
                found.extend(_key(alias, node) for alias in node.names)

    module.visit(Imports())
    return found


def _key(alias: cst.ImportAlias, statement: cst.Import | cst.ImportFrom) -> _ImportKey:
    module = ""
    if isinstance(statement, cst.ImportFrom):
        dots = "." * len(statement.relative)
        module = dots + (cst.Module([]).code_for_node(statement.module) if statement.module else "")
    return module, alias.evaluated_name, alias.evaluated_alias or ""


def _written(alias: cst.ImportAlias, statement: cst.Import | cst.ImportFrom) -> str:
    module, name, bound = _key(alias, statement)
    shown = f"{name} as {bound}" if bound else name
    return f"{shown} (from {module})" if module else shown
