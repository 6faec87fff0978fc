"""``replace-calls``: every call of one callable becomes a call of another.

Why not LibCST's ``RenameCommand`` (``libcst.codemod.commands.rename``): it renames every
*reference* of a name, calls or not (``callbacks = [old]``, ``old.__name__``,
``isinstance(x, old)``), rewrites the import statements in place, and says nothing about
what it left alone. A blueprint asks to replace *calls*, where the two callables are
meant to agree; a bare reference may be a registration or an identity test, where they
need not. So this command rewrites calls only, refuses what it cannot prove (a name that
may be bound to something else, ``new``'s name taken), reports every place it left alone,
and uses the same two LibCST helpers ``RenameCommand`` uses for imports
(``AddImportsVisitor``, ``RemoveImportsVisitor``, which keeps an import still in use).
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    ImportAssignment,
    ParentNodeProvider,
    ProviderT,
    QualifiedNameProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from codemods.base import RunnerCodemod
from codemods.declarations import ReplaceCallsDeclaration, split_qualified
from codemods.imports import remove_import_aliases


def code_of_new(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


class ReplaceCalls(ReplaceCallsDeclaration, RunnerCodemod):
    """Replace every call of ``old`` (a qualified name) by a call of ``new``.

    ``old`` is found by what names refer to, not how they are spelled: ``from pkg.mod
    import func [as f]``, ``import pkg.mod [as m]`` then ``m.func(...)``, at any depth.
    Each call becomes ``new_name(...)`` with the same arguments, and ``from new.module
    import new_name`` is added; an import of ``old`` that is no longer used is removed
    (LibCST's ``RemoveImportsVisitor``, which leaves one that is still used).

    Left alone: a call through a name that is bound to something else where it is
    called (a parameter or local shadowing the import: it is not ``old``). Reported as
    skips, and left as written: a name that may be ``old`` or something else (bound
    more than once); ``old`` referenced without being called (``hooks = [old]``: the
    reference keeps its import); ``new``'s name already bound to something else where
    the call is.

    With ``old=pkg.validation.check_polygon new=pkg.utils.validators.validate_polygon``:

    Valid (left alone)::

        from pkg.utils.validators import validate_polygon

        ok = validate_polygon(points)

    Invalid (rewritten)::

        from pkg.validation import check_polygon

        ok = check_polygon(points)

    becomes::

        from pkg.utils.validators import validate_polygon

        ok = validate_polygon(points)

    Invalid (skipped: referenced, not called)::

        from pkg.validation import check_polygon

        CHECKS = [check_polygon]
    """

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        *RunnerCodemod.METADATA_DEPENDENCIES,
        ParentNodeProvider,
        QualifiedNameProvider,
        ScopeProvider,
    )

    def __init__(self, context: CodemodContext, **options: object) -> None:
        super().__init__(context, **options)
        self.old = str(self.options["old"])
        self.new = str(self.options["new"])
        self.new_module, self.new_name = split_qualified("new", self.new)
        self.old_module, self.old_name = split_qualified("old", self.old)
        self._consumed: set[cst.CSTNode] = set()  # nodes of replaced calls' names
        self._bindings: list[ImportAssignment] = []  # the imports those names came from

    # -- references that are not calls ----------------------------------------------
    def visit_Name(self, node: cst.Name) -> None:
        self._check_reference(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._check_reference(node)

    def _check_reference(self, node: cst.Name | cst.Attribute) -> None:
        if not self.has_name(node, self.old):
            return
        parent = self.parent_of(node)
        if isinstance(parent, cst.Call) and parent.func is node:
            return  # a call: decided in leave_Call
        if isinstance(parent, cst.Attribute) and parent.value is node:
            return  # part of a longer dotted name
        if isinstance(parent, (cst.ImportAlias, cst.ImportFrom, cst.AsName, cst.AssignTarget, cst.Param)):
            return  # an import or a binding of the name, not a use
        if isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is node:
            return
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return  # the ``func`` of ``m.func``: the Attribute itself is checked
        self.record_skip(
            node,
            f"`{self.code_of(node)}` refers to {self.old} without calling it; left as is"
            " (and so is its import)",
        )

    # -- calls ----------------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        names = self.qualified_names(func)
        if not any(q.name == self.old for q in names):
            return updated_node
        spelled = self.code_of(func)
        others = sorted(q.name for q in names if q.name != self.old)
        if others:
            self.record_skip(
                original_node,
                f"cannot prove `{spelled}` is {self.old}: it may also be {', '.join(others)}",
            )
            return updated_node
        problem = self._new_name_problem(original_node)
        if problem:
            self.record_skip(original_node, problem)
            return updated_node
        AddImportsVisitor.add_needed_import(self.context, self.new_module, self.new_name)
        self._note_binding(func)
        self.record_change(original_node, f"{spelled}(...) -> {self.new_name}(...)")
        return updated_node.with_changes(func=cst.Name(self.new_name))

    def _new_name_problem(self, call: cst.Call) -> str:
        """Why ``new_name`` cannot be used to call ``new`` at ``call``, or empty."""
        scope = self.scope_of(call)
        if scope is None:
            return "no scope information at the call"
        if self.new_name not in scope:
            return ""
        qualified = scope.get_qualified_names_for(self.new_name)
        if {q.name for q in qualified} == {self.new} and all(
            q.source is QualifiedNameSource.IMPORT for q in qualified
        ):
            return ""
        return (
            f"the name {self.new_name} is already bound to something else here,"
            f" so {self.new} cannot be called by that name"
        )

    def _note_binding(self, func: cst.BaseExpression) -> None:
        """Remember the import that bound the call's name, and the nodes no longer using it."""
        node: cst.BaseExpression = func
        while True:
            self._consumed.add(node)
            if not isinstance(node, cst.Attribute):
                break
            node = node.value
        scope = self.scope_of(node)
        if not isinstance(node, cst.Name) or scope is None:
            return
        for assignment in scope[node.value]:
            if isinstance(assignment, ImportAssignment) and all(assignment is not a for a in self._bindings):
                self._bindings.append(assignment)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        """Drop the imports whose every use was a replaced call (codemods.imports policy)."""
        top_level = {
            id(small)
            for line in original_node.body
            if isinstance(line, cst.SimpleStatementLine)
            for small in line.body
        }
        dropped: dict[cst.BaseSmallStatement, set[int]] = {}
        for assignment in self._bindings:
            statement = assignment.node
            if not isinstance(statement, cst.Import | cst.ImportFrom) or isinstance(
                statement.names, cst.ImportStar
            ):
                continue
            if not all(ref.node in self._consumed for ref in assignment.references):
                continue  # still used: the import stays
            for index, alias in enumerate(statement.names):
                if assignment.as_name is (alias.asname.name if alias.asname else alias.name):
                    if id(statement) in top_level:
                        dropped.setdefault(statement, set()).add(index)
                    else:
                        self._remove_elsewhere(statement, alias)
        if not dropped:
            return updated_node
        updated_node = self._import_new_in_place(original_node, updated_node, dropped)
        result, touched = remove_import_aliases(original_node, updated_node, dropped)
        for statement, _ in touched:
            self.record_change(statement, f"removed `{self.short(self.code_of(statement))}`, no longer used")
        return result

    def _import_new_in_place(
        self,
        original: cst.Module,
        updated: cst.Module,
        dropped: dict[cst.BaseSmallStatement, set[int]],
    ) -> cst.Module:
        """The first import line that goes whole becomes the import of ``new``: same place,
        same comments and blank lines (AddImportsVisitor then finds it there)."""
        for index, line in enumerate(original.body):
            if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
                continue
            statement = line.body[0]
            names = getattr(statement, "names", ())
            if statement not in dropped or isinstance(names, cst.ImportStar):
                continue
            if len(dropped[statement]) < len(names):
                continue
            del dropped[statement]
            new_import = cst.ImportFrom(
                module=cst.parse_expression(self.new_module),  # type: ignore[arg-type]
                names=[cst.ImportAlias(name=cst.Name(self.new_name))],
            )
            body = list(updated.body)
            body[index] = cst.ensure_type(body[index], cst.SimpleStatementLine).with_changes(
                body=[new_import]
            )
            self.record_change(
                statement, f"`{self.short(self.code_of(statement))}` -> `{code_of_new(new_import)}`"
            )
            return updated.with_changes(body=body)
        return updated

    def _remove_elsewhere(self, statement: cst.Import | cst.ImportFrom, alias: cst.ImportAlias) -> None:
        """An import inside a block: LibCST's RemoveImportsVisitor takes the name out."""
        if isinstance(statement, cst.Import):
            RemoveImportsVisitor.remove_unused_import(
                self.context, alias.evaluated_name, asname=alias.evaluated_alias
            )
        elif statement.module is not None and not statement.relative:
            module = get_full_name_for_node(statement.module)
            if module is not None:
                RemoveImportsVisitor.remove_unused_import(
                    self.context, module, alias.evaluated_name, alias.evaluated_alias
                )
