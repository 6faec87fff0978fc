"""The plan of lazy-import: which imports move into which functions, or why none can.

:class:`LazyImportPlanner` reads a module (with the command's scope, parent and
expression-context metadata) and decides everything before any rewrite: the import
statements to put at the start of each function (or first in ``if TYPE_CHECKING:``),
the aliases to drop from module-level imports, or the one reason the whole file must
stay as it is (``refusal``). :mod:`codemods.commands.lazy_import` only applies the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import ClassVar

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Access,
    Assignment,
    ClassScope,
    ExpressionContext,
    ExpressionContextProvider,
    FunctionScope,
    GlobalScope,
    ImportAssignment,
    ParentNodeProvider,
    PositionProvider,
    ProviderT,
    Scope,
    ScopeProvider,
)

from codemods.base import RunnerVisitor
from codemods.imports import dotted_name

_LOCALS_CALL = m.Call(func=m.Name("locals") | m.Name("vars"), args=[])
_BLOCK_KINDS: dict[type[cst.CSTNode], str] = {
    cst.If: "an `if` block",
    cst.Try: "a `try` block",
    cst.TryStar: "a `try` block",
    cst.With: "a `with` block",
    cst.For: "a `for` loop",
    cst.While: "a `while` loop",
    cst.ClassDef: "a class body",
    cst.Match: "a `match` block",
}


class _Refused(Exception):
    def __init__(self, node: cst.CSTNode, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


def code(node: cst.CSTNode) -> str:
    """``node`` as source, for messages (independent of the file's newline)."""
    return cst.Module(body=[]).code_for_node(node).strip()


def is_module_or_submodule(dotted: str | None, target: str) -> bool:
    return dotted is not None and (dotted == target or dotted.startswith(target + "."))


def imports_module(target: str, statement: cst.Import | cst.ImportFrom) -> bool:
    """``statement`` imports ``target`` or one of its submodules (relative imports never do)."""
    if isinstance(statement, cst.Import):
        return any(is_module_or_submodule(get_full_name_for_node(a.name), target) for a in statement.names)
    return not statement.relative and is_module_or_submodule(
        get_full_name_for_node(statement.module) if statement.module else None, target
    )


@dataclass(frozen=True)
class _Binding:
    """One name that a plain module-level import of the target module binds."""

    line: cst.SimpleStatementLine
    statement: cst.Import | cst.ImportFrom
    alias: cst.ImportAlias
    index: int  # of ``alias`` in ``statement.names``
    bound: str  # the name it binds: ``wandb`` for ``import wandb.sdk``, ``wb`` for ``as wb``
    imported: str  # ``wandb.sdk`` in ``import wandb.sdk``, ``Image`` in ``from wandb import Image``
    asname: str | None
    from_module: str | None  # ``wandb.sdk`` for ``from wandb.sdk import X``; None for ``import``

    @property
    def as_name_node(self) -> cst.CSTNode:
        return self.alias.asname.name if self.alias.asname else self.alias.name


def _statement_for(bindings: Sequence[_Binding]) -> cst.Import | cst.ImportFrom:
    """A fresh ``import``/``from ... import`` for bindings of one original statement."""
    aliases = [
        cst.ImportAlias(
            name=dotted_name(b.imported),
            asname=cst.AsName(name=cst.Name(b.asname)) if b.asname else None,
        )
        for b in bindings
    ]
    module = bindings[0].from_module
    if module is None:
        return cst.Import(names=aliases)
    return cst.ImportFrom(module=dotted_name(module), names=aliases)


class LazyImportPlanner(RunnerVisitor):
    """Plan moving the module-level imports of ``target`` into the functions using them.

    After visiting a module: ``refusal`` is ``(node, reason)`` when the file must stay as
    it is; else ``inserts`` maps each receiving ``FunctionDef`` (or ``if TYPE_CHECKING:``
    block) to the import statements it gets, ``dropped`` each module-level import
    statement to the indexes of its aliases that go, and ``moved`` lists the names moved
    (empty when the file imports nothing of ``target`` at module level).
    """

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        PositionProvider,
        ScopeProvider,
        ParentNodeProvider,
        ExpressionContextProvider,
    )

    def __init__(self, context: cst.codemod.CodemodContext, target: str) -> None:
        super().__init__(context)
        self.target = target
        self.refusal: tuple[cst.CSTNode, str] | None = None
        self.inserts: dict[cst.CSTNode, list[cst.BaseSmallStatement]] = {}
        self.dropped: dict[cst.BaseSmallStatement, set[int]] = {}
        self.moved: list[str] = []
        self._future_annotations = False
        self._tc_blocks: list[cst.If] = []

    def visit_Module(self, node: cst.Module) -> bool:
        try:
            self._plan(node)
        except _Refused as refused:
            self.refusal = (refused.node, refused.reason)
        return False  # the plan is made from the module as a whole

    def _plan(self, module: cst.Module) -> None:
        self._future_annotations = any(
            m.matches(
                s,
                m.SimpleStatementLine(
                    body=[
                        m.ZeroOrMore(),
                        m.ImportFrom(
                            module=m.Name("__future__"),
                            names=[
                                m.ZeroOrMore(),
                                m.ImportAlias(m.Name("annotations")),
                                m.ZeroOrMore(),
                            ],
                        ),
                        m.ZeroOrMore(),
                    ]
                ),
            )
            for s in module.body
        )
        self._tc_blocks = [s for s in module.body if isinstance(s, cst.If) and self.is_type_checking(s.test)]
        collector = _Collector()
        module.visit(collector)
        bindings = self._bindings(collector)
        if not bindings:
            return
        self._check_namespace(module, bindings, collector)

        uses = self._uses(bindings)
        bound = list(dict.fromkeys(b.bound for b in bindings))
        for name in bound:
            if name not in uses:
                first = next(b for b in bindings if b.bound == name)
                raise _Refused(
                    first.line,
                    f"'{name}' from `{code(first.statement)}` is never used in this"
                    f" file (a re-export?); the import stays, so {self.target} still loads"
                    " at import time",
                )

        type_only = [name for name in bound if uses[name].type_only]
        if type_only:
            if not self._tc_blocks:
                name = type_only[0]
                raise _Refused(
                    uses[name].type_only[0],
                    f"'{name}' is needed by type checkers on line"
                    f" {self.line_of(uses[name].type_only[0])} (string annotation, postponed"
                    " annotation or `if TYPE_CHECKING:` code) and the file has no"
                    " module-level `if TYPE_CHECKING:` block to keep the import in",
                )
            self.inserts[self._tc_blocks[0]] = self._statements(bindings, set(type_only))

        functions: dict[cst.CSTNode, set[str]] = {}
        for name in bound:
            for function in uses[name].functions:
                functions.setdefault(function, set()).add(name)
        for function, names in functions.items():
            self._check_introspection(function)
            self.inserts[function] = self._statements(bindings, names)

        for b in bindings:
            self.dropped.setdefault(b.statement, set()).add(b.index)
        self.moved = bound

    def _check_introspection(self, function: cst.CSTNode) -> None:
        """A new local shows up in ``locals()``/``vars()``: leave such functions alone."""
        for call in m.findall(function, _LOCALS_CALL):
            assert isinstance(call, cst.Call)
            name = cst.ensure_type(call.func, cst.Name).value
            raise _Refused(
                call,
                f"`{name}()` on line {self.line_of(call)} lists the function's locals;"
                " an added local import would show up in it",
            )

    def _matches_module(self, dotted: str | None) -> bool:
        return is_module_or_submodule(dotted, self.target)

    def _bindings(self, collector: _Collector) -> list[_Binding]:
        """Bindings of plain module-level imports; skips the file on unsafe import shapes."""
        bindings: list[_Binding] = []
        for statement, ancestors in collector.imports:
            if isinstance(statement, cst.ImportFrom):
                if statement.relative or not self._matches_module(
                    get_full_name_for_node(statement.module) if statement.module else None
                ):
                    continue
                names = [] if isinstance(statement.names, cst.ImportStar) else statement.names
            else:
                names = [a for a in statement.names if self._matches_module(get_full_name_for_node(a.name))]
                if not names:
                    continue
            if _in_function(ancestors):
                continue  # already a local import
            top_level = len(ancestors) == 2 and isinstance(ancestors[1], cst.SimpleStatementLine)
            if not top_level:
                if self._under_type_checking(ancestors):
                    continue
                kind = _BLOCK_KINDS.get(type(ancestors[1]), "a compound statement")
                raise _Refused(
                    statement,
                    f"`{code(statement)}` is inside {kind}, not a plain top-level"
                    " statement; moving it would change its fallback or condition",
                )
            if isinstance(statement.names, cst.ImportStar):
                raise _Refused(
                    statement,
                    f"`{code(statement)}` is a star import; the names it binds are unknown",
                )
            line = ancestors[1]
            assert isinstance(line, cst.SimpleStatementLine)
            for index, alias in enumerate(statement.names):
                imported = get_full_name_for_node(alias.name) or ""
                if isinstance(statement, cst.Import) and not self._matches_module(imported):
                    continue
                asname = None
                if alias.asname is not None:
                    asname = get_full_name_for_node(alias.asname.name)
                if asname == imported:
                    raise _Refused(
                        statement,
                        f"`{code(statement)}` is an explicit re-export (`X as X`)",
                    )
                bound = asname or imported.split(".")[0]
                module = None
                if isinstance(statement, cst.ImportFrom):
                    module = get_full_name_for_node(statement.module) if statement.module else None
                bindings.append(_Binding(line, statement, alias, index, bound, imported, asname, module))
        return bindings

    def _under_type_checking(self, ancestors: Sequence[cst.CSTNode]) -> bool:
        return (
            len(ancestors) > 2
            and any(ancestors[1] is block for block in self._tc_blocks)
            and isinstance(ancestors[1], cst.If)
            and ancestors[2] is ancestors[1].body
        )

    def _check_namespace(
        self, module: cst.Module, bindings: Sequence[_Binding], collector: _Collector
    ) -> None:
        """Skip the file when the names are part of its namespace beyond these imports."""
        first = bindings[0].line
        if PurePath(self.context.filename or "").name == "__init__.py":
            raise _Refused(
                first,
                "a package `__init__.py`: its module-level names are the package's"
                " namespace (possible re-export)",
            )
        names = {b.bound for b in bindings}
        for node in collector.globals:
            for item in node.names:
                if item.name.value in names:
                    raise _Refused(
                        node,
                        f"`global {item.name.value}` declares the module-level name;"
                        " a function-local import would break it",
                    )
        for statement in module.body:
            for target in _all_targets(statement):
                for string in m.findall(target, m.SimpleString()):
                    assert isinstance(string, cst.SimpleString)
                    if string.evaluated_value in names:
                        raise _Refused(
                            statement,
                            f"'{string.evaluated_value}' is listed in `__all__` (a re-export)",
                        )
        statements = {id(b.statement) for b in bindings}
        for b in bindings:
            for assignment in self._assignments_of(b):
                for other in assignment.scope.assignments[assignment.name]:
                    if isinstance(other, ImportAssignment) and id(other.node) in statements:
                        continue
                    where = other.node if isinstance(other, Assignment) else b.line
                    raise _Refused(
                        b.line,
                        f"'{assignment.name}' is also bound at module level on line"
                        f" {self._line(where, b.line)}; only a name bound by the import"
                        " alone can be moved",
                    )

    def _assignments_of(self, binding: _Binding) -> list[ImportAssignment]:
        scope = self.get_metadata(ScopeProvider, binding.statement)
        assert scope is not None
        return [
            a
            for a in scope.assignments
            if isinstance(a, ImportAssignment)
            and a.node is binding.statement
            and a.as_name is binding.as_name_node
        ]

    def _uses(self, bindings: Sequence[_Binding]) -> dict[str, _Uses]:
        accesses: dict[int, tuple[Access, str]] = {}
        for b in bindings:
            for assignment in self._assignments_of(b):
                for access in assignment.references:
                    accesses.setdefault(id(access), (access, b.bound))
        uses: dict[str, _Uses] = {}
        # In file order, so the reported reason is the first problem in the file.
        for access, bound in sorted(accesses.values(), key=self._position_key):
            self._classify(bound, access, uses)
        return uses

    def _position_key(self, item: tuple[Access, str]) -> tuple[int, int]:
        position = self.get_metadata(PositionProvider, item[0].node, None)
        return (position.start.line, position.start.column) if position else (0, 0)

    def _classify(self, name: str, access: Access, uses: dict[str, _Uses]) -> None:
        node = access.node
        if (
            isinstance(node, cst.Name)
            and self.get_metadata(ExpressionContextProvider, node, None) is ExpressionContext.DEL
        ):
            raise _Refused(node, f"`del {name}` on line {self.line_of(node)}")
        chain: list[Scope] = []
        scope = access.scope
        while not isinstance(scope, GlobalScope):
            chain.append(scope)
            scope = scope.parent
        functions = [s for s in chain if isinstance(s, FunctionScope)]
        if not functions:
            if self._type_only(access):
                uses.setdefault(name, _Uses()).type_only.append(node)
                return
            raise _Refused(
                node,
                f"'{name}' is used at import time on line {self.line_of(node)}"
                f" ({self._import_time_kind(access)}); the import must stay at module level",
            )
        for depth, scope in enumerate(chain):
            if depth and isinstance(scope, ClassScope):
                continue  # a class body's names are not visible to scopes nested in it
            if name in scope.assignments:
                if isinstance(scope, ClassScope):
                    raise _Refused(
                        node,
                        f"a class body nested in a function both binds and reads '{name}'"
                        f" (line {self.line_of(node)}); such a read looks in the module"
                        " globals, not the function's local import",
                    )
                return  # the name is local there: this use is not of the import
        outermost = functions[-1].node
        if isinstance(outermost, cst.Lambda):
            raise _Refused(
                node,
                f"'{name}' is used on line {self.line_of(node)} in a lambda outside any"
                " `def`; an import cannot be placed in a lambda",
            )
        uses.setdefault(name, _Uses()).functions.setdefault(outermost, None)

    def _type_only(self, access: Access) -> bool:
        """True for a use that only type checkers evaluate."""
        node: cst.CSTNode = access.node
        child, parent = node, self.parent_of(node)
        while parent is not None:
            if isinstance(parent, cst.Annotation):
                owner = self.parent_of(parent)
                if isinstance(owner, cst.AnnAssign) and isinstance(access.scope, ClassScope):
                    return False  # class attributes: dataclass/pydantic-like code reads these
            if (
                isinstance(parent, cst.If)
                and child is parent.body
                and any(parent is block for block in self._tc_blocks)
            ):
                return True
            child, parent = parent, self.parent_of(parent)
        if isinstance(node, cst.BaseString):
            return True  # string annotation or typing string: never evaluated at import
        return access.is_annotation and self._future_annotations

    def _import_time_kind(self, access: Access) -> str:
        child: cst.CSTNode = access.node
        parent = self.parent_of(child)
        while parent is not None and not isinstance(parent, cst.Module):
            if isinstance(parent, cst.Decorator):
                return "decorator"
            if isinstance(parent, cst.Param) and child is parent.default:
                return "default argument value"
            if isinstance(parent, cst.Annotation):
                owner = self.parent_of(parent)
                if isinstance(owner, (cst.Param, cst.FunctionDef)):
                    return "function signature annotation, evaluated when the function is defined"
                if isinstance(access.scope, ClassScope):
                    return "class-level annotation"
                return "module-level annotation"
            if isinstance(parent, cst.Arg) and isinstance(self.parent_of(parent), cst.ClassDef):
                return "base class or class keyword"
            if isinstance(parent, cst.ClassDef):
                return "class body"
            child, parent = parent, self.parent_of(parent)
        return "module-level statement"

    def _line(self, node: cst.CSTNode, fallback: cst.CSTNode) -> int:
        position = self.get_metadata(PositionProvider, node, None)
        return position.start.line if position is not None else self.line_of(fallback)

    def _statements(self, bindings: Sequence[_Binding], names: set[str]) -> list[cst.BaseSmallStatement]:
        """New import statements for ``names``, one per original statement, in file order."""
        groups: dict[int, list[_Binding]] = {}
        for b in bindings:
            if b.bound in names:
                groups.setdefault(id(b.statement), []).append(b)
        statements: dict[str, cst.BaseSmallStatement] = {}
        for group in groups.values():
            statement = _statement_for(group)
            statements.setdefault(code(statement), statement)
        return list(statements.values())


@dataclass
class _Uses:
    """Where a bound name is used: functions needing the import (in order), type-only uses."""

    functions: dict[cst.CSTNode, None] = field(default_factory=dict)
    type_only: list[cst.CSTNode] = field(default_factory=list)


class _Collector(cst.CSTVisitor):
    """Every import (with its ancestors) and every ``global`` statement, in file order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[cst.CSTNode] = []
        self.imports: list[tuple[cst.Import | cst.ImportFrom, tuple[cst.CSTNode, ...]]] = []
        self.globals: list[cst.Global] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            self.imports.append((node, tuple(self.stack)))
            return False
        if isinstance(node, cst.Global):
            self.globals.append(node)
            return False
        if isinstance(node, cst.BaseExpression):
            return False  # no statements inside expressions
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.stack and self.stack[-1] is original_node:
            self.stack.pop()


def _in_function(ancestors: Sequence[cst.CSTNode]) -> bool:
    return any(isinstance(a, cst.FunctionDef) for a in ancestors)


def _all_targets(statement: cst.BaseStatement) -> Iterable[cst.CSTNode]:
    """The values assigned to or added to ``__all__`` by a module-level statement."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return
    for small in statement.body:
        if isinstance(small, cst.Assign) and any(
            m.matches(t.target, m.Name("__all__")) for t in small.targets
        ):
            yield small.value
        elif isinstance(small, (cst.AugAssign, cst.AnnAssign)) and m.matches(small.target, m.Name("__all__")):
            if small.value is not None:
                yield small.value
        elif isinstance(small, cst.Expr) and m.matches(
            small.value, m.Call(func=m.Attribute(value=m.Name("__all__")))
        ):
            yield small.value
