"""``consolidate-functions``: identical copies of a function become imports of one.

A multi-file codemod (``GATHERS``): its gather step
(:func:`codemods.analysis.consolidation.plan_consolidation`) reads every file it is applied
to plus the ``target`` module and proves the copies the same; then each file's transform
only carries out its part of that plan. Run by ``libcst.tool`` (one file at a time, no
gather step), a file is compared with the target's definition read from disk.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import Assignment, ProviderT, ScopeProvider

from codemods.analysis.consolidation import ConsolidationPlan, key_of, plan_consolidation
from codemods.base import Change, Gathered, RunnerCodemod, Skip
from codemods.declarations import ConsolidateFunctionsDeclaration
from codemods.imports import dotted_name, remove_import_aliases


class ConsolidateFunctions(ConsolidateFunctionsDeclaration, RunnerCodemod):
    """Keep one definition of ``function`` in ``target``; every other copy becomes an import.

    ``function`` is a module-level function's name (methods are not consolidated: a class
    attribute is no module import path); ``target`` the path of the module that keeps it.
    The copies must be the same once normalized (docstrings, comments and formatting
    aside; decorators compared on their own; see :mod:`codemods.analysis.duplicates`),
    and every name they read must be bound to the same thing in each file (``np`` the
    same ``numpy``). Then each other file's ``def`` goes and ``from target import
    function`` is added with its imports, so ``from old_module import function`` still
    works; imports only that ``def`` used are removed. A target without the function
    receives the first copy byte for byte, with the imports it needs.

    Refused, nothing written, with the file and line (and a unified diff of the
    normalized forms when they differ): bodies, defaults or annotations that differ;
    decorators that differ, or one that may act per copy (anything but known wrappers
    such as ``functools.lru_cache``, ``torch.no_grad``); a module global the target does
    not have, or binds to something else; the name bound more than once in a file, in an
    ``if``/``try`` block, or only inside a class or function; ``global`` statements or
    reads of ``__name__``, ``globals()``; the target importing one of the files (a
    circular import); a target that does not exist.

    Before, with ``function=order_points target=ocr/utils/geometry.py`` applied to
    ``ocr/datasets/base.py`` (more cases: ``fixtures/codemods/consolidate-functions/``)::

        import math  # also used by scale() below


        def order_points(points):
            # TODO: use ocr.utils.geometry (kept here while migrating)
            cx = sum(x for x, _ in points) / len(points)
            ...

    after (``ocr/utils/geometry.py`` defines the same function)::

        import math  # also used by scale() below

        from ocr.utils.geometry import order_points

    Run on one file (as libcst.tool does), the file is compared with the target on disk.
    The target itself is left alone when it defines the function once:

    With ``function=order_points target=consolidate_functions_example.py``:

    Valid (left alone)::

        def order_points(points):
            return sorted(points)

    Invalid (skipped: the name is bound twice, which one is meant is not certain)::

        def order_points(points):
            return sorted(points)


        order_points = reversed
    """

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        *RunnerCodemod.METADATA_DEPENDENCIES,
        ScopeProvider,
    )

    @classmethod
    def gather(
        cls, sources: Mapping[str, bytes | None], options: Mapping[str, object], root: str
    ) -> Gathered:
        return plan_consolidation(sources, str(options["function"]), str(options["target"]), root)

    def _plan(self, tree: cst.Module) -> ConsolidationPlan:
        if isinstance(self.gathered, ConsolidationPlan):
            return self.gathered
        # libcst.tool: this file against the target on disk, module names from the cwd.
        path = self.context.filename or ""
        target = str(self.options["target"])
        sources: dict[str, bytes | None] = {path: tree.bytes}
        if key_of(target) != key_of(path):
            sources[target] = Path(target).read_bytes() if os.path.isfile(target) else None
        return plan_consolidation(sources, str(self.options["function"]), target, os.getcwd())

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        plan = self._plan(tree)
        path = key_of(self.context.filename or "")
        if plan.refusal:
            if path in plan.lines:  # a file taking part: the one the refusal names gets its details
                named = plan.refusal.split(":", 1)[0] == path
                shown = plan.refusal if named else f"not consolidated: {plan.refusal.splitlines()[0]}"
                self.report.skips.append(self._skip(plan.lines[path], shown))
            return tree
        if path == plan.target and plan.add_to_target:
            return self._add_definition(tree, plan)
        if path in plan.replace:
            return self._replace_definition(tree, plan)
        return tree

    def _skip(self, line: int, reason: str) -> Skip:
        self.warn(f"line {line}: {reason.splitlines()[0]}")
        return Skip(self.NAME, line, reason)

    def _top_level_def(self, tree: cst.Module, name: str) -> cst.FunctionDef | None:
        found = [s for s in tree.body if isinstance(s, cst.FunctionDef) and s.name.value == name]
        return found[0] if found else None

    def _add_definition(self, tree: cst.Module, plan: ConsolidationPlan) -> cst.Module:
        if self._top_level_def(tree, plan.function) is not None:
            return tree  # already there (the verifying second pass)
        statement = cst.parse_statement(plan.add_to_target, config=tree.config_for_parsing)
        blank = [cst.EmptyLine(indent=False)] * (2 if tree.body else 0)
        statement = statement.with_changes(leading_lines=[*blank, *statement.leading_lines])
        for code in plan.target_imports:
            parts = code.split()
            if parts[0] == "import":
                AddImportsVisitor.add_needed_import(self.context, parts[1], asname=_as(parts, 2))
            else:
                AddImportsVisitor.add_needed_import(self.context, parts[1], parts[3], _as(parts, 4))
        self.report.changes.append(
            self._change(
                len(tree.code.splitlines()) + 1,
                f"added {plan.function} (copied from {plan.canonical})"
                + (f" with {'; '.join(plan.target_imports)}" if plan.target_imports else ""),
            )
        )
        return tree.with_changes(body=[*tree.body, statement])

    def _replace_definition(self, tree: cst.Module, plan: ConsolidationPlan) -> cst.Module:
        definition = self._top_level_def(tree, plan.function)
        if definition is None:
            return tree  # already an import (the verifying second pass)
        line = self.line_of(definition)
        AddImportsVisitor.add_needed_import(self.context, plan.target_module, plan.function)
        self.report.changes.append(
            self._change(line, f"def {plan.function} -> from {plan.target_module} import {plan.function}")
        )
        dropped = self._imports_only_used_by(tree, definition)
        updated = self._import_in_place(tree, plan, dropped)
        result, touched = remove_import_aliases(tree, updated, dropped)
        for statement, _ in touched:
            shown = self.short(tree.code_for_node(statement))
            self.report.changes.append(
                self._change(self.line_of(statement), f"removed `{shown}`, no longer used")
            )
        return result.with_changes(
            body=[
                s
                for s in result.body
                if not (isinstance(s, cst.FunctionDef) and s.name.value == plan.function)
            ]
        )

    def _import_in_place(
        self, tree: cst.Module, plan: ConsolidationPlan, dropped: dict[cst.BaseSmallStatement, set[int]]
    ) -> cst.Module:
        """The first import line that goes whole becomes the import of the function: same
        place, same comments and blank lines (AddImportsVisitor then finds it there)."""
        for index, line in enumerate(tree.body):
            if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
                continue
            statement = line.body[0]
            names = getattr(statement, "names", ())
            if statement not in dropped or len(dropped[statement]) < len(names):
                continue
            self.report.changes.append(
                self._change(
                    self.line_of(statement),
                    f"removed `{self.short(tree.code_for_node(statement))}`, no longer used",
                )
            )
            del dropped[statement]
            new_import = cst.ImportFrom(
                module=dotted_name(plan.target_module), names=[cst.ImportAlias(name=cst.Name(plan.function))]
            )
            body = list(tree.body)
            body[index] = line.with_changes(body=[new_import])
            return tree.with_changes(body=body)
        return tree

    def _imports_only_used_by(
        self, tree: cst.Module, definition: cst.FunctionDef
    ) -> dict[cst.BaseSmallStatement, set[int]]:
        """Module-level import aliases every use of which is inside ``definition``."""
        inside = {id(n) for n in m.findall(definition, m.Name() | m.Attribute())}
        scope = self.scope_of(definition)
        dropped: dict[cst.BaseSmallStatement, set[int]] = {}
        if scope is None:
            return dropped
        for line in tree.body:
            if not isinstance(line, cst.SimpleStatementLine):
                continue
            for small in line.body:
                if not isinstance(small, cst.Import | cst.ImportFrom) or isinstance(
                    small.names, cst.ImportStar
                ):
                    continue
                if (
                    isinstance(small, cst.ImportFrom)
                    and isinstance(small.module, cst.Name)
                    and small.module.value == "__future__"
                ):
                    continue
                for index, alias in enumerate(small.names):
                    bound = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
                    assignments = [
                        a for a in scope.assignments[bound] if isinstance(a, Assignment) and a.node is small
                    ]
                    references = [r for a in assignments for r in a.references]
                    if references and all(id(r.node) in inside for r in references):
                        dropped.setdefault(small, set()).add(index)
        return dropped

    def _change(self, line: int, description: str) -> Change:
        return Change(self.NAME, line, description)


def _as(parts: list[str], index: int) -> str | None:
    return parts[index + 1] if len(parts) > index + 1 and parts[index] == "as" else None
