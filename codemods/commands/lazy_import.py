"""lazy-import: move a module-level import into the functions that use it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import ClassVar

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
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
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    ProviderT,
    Scope,
    ScopeProvider,
)

from codemods.base import Option, RunnerCodemod

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_TYPE_CHECKING = frozenset({"typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING", "TYPE_CHECKING"})
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


def module_option(options: Mapping[str, object]) -> str:
    """The ``module`` option, checked to be a dotted module name."""
    value = options.get("module", "wandb")
    if not isinstance(value, str) or not _DOTTED.match(value):
        raise ValueError(f"option 'module' takes a dotted module name, not {value!r}")
    return value


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


def _dotted(name: str) -> cst.Attribute | cst.Name:
    head, *rest = name.split(".")
    node: cst.Attribute | cst.Name = cst.Name(head)
    for part in rest:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def _statement_for(bindings: Sequence[_Binding]) -> cst.Import | cst.ImportFrom:
    """A fresh ``import``/``from ... import`` for bindings of one original statement."""
    aliases = [
        cst.ImportAlias(
            name=_dotted(b.imported),
            asname=cst.AsName(name=cst.Name(b.asname)) if b.asname else None,
        )
        for b in bindings
    ]
    module = bindings[0].from_module
    if module is None:
        return cst.Import(names=aliases)
    return cst.ImportFrom(module=_dotted(module), names=aliases)


def _is_docstring(statement: cst.BaseStatement | cst.BaseSmallStatement) -> bool:
    if isinstance(statement, cst.SimpleStatementLine):
        statement = statement.body[0]
    return isinstance(statement, cst.Expr) and isinstance(
        statement.value, (cst.SimpleString, cst.ConcatenatedString)
    )


def _prepend(
    suite: cst.BaseSuite, statements: Sequence[cst.BaseSmallStatement], after_docstring: bool
) -> cst.BaseSuite:
    """``suite`` with ``statements`` first (after its docstring when asked)."""
    if isinstance(suite, cst.IndentedBlock):
        at = 1 if after_docstring and suite.body and _is_docstring(suite.body[0]) else 0
        lines = [cst.SimpleStatementLine(body=[s]) for s in statements]
        return suite.with_changes(body=[*suite.body[:at], *lines, *suite.body[at:]])
    assert isinstance(suite, cst.SimpleStatementSuite)
    at = 1 if after_docstring and _is_docstring(suite.body[0]) else 0
    return suite.with_changes(body=[*suite.body[:at], *statements, *suite.body[at:]])


def _is_blank(line: cst.EmptyLine) -> bool:
    return line.comment is None


def _longest_blank_run(lines: Sequence[cst.EmptyLine]) -> int:
    longest = run = 0
    for line in lines:
        run = run + 1 if _is_blank(line) else 0
        longest = max(longest, run)
    return longest


def _merge_lines(
    carried: Sequence[cst.EmptyLine], own: Sequence[cst.EmptyLine], strip_leading: bool
) -> list[cst.EmptyLine]:
    """Lines of a removed statement put before the next one, without piling up blank lines."""
    limit = max(_longest_blank_run(carried), _longest_blank_run(own))
    merged: list[cst.EmptyLine] = []
    run = 0
    for line in [*carried, *own]:
        if not _is_blank(line):
            run = 0
            merged.append(line)
            continue
        if strip_leading and not merged:
            continue
        run += 1
        if run <= limit:
            merged.append(line)
    return merged


class LazyImport(RunnerCodemod):
    """Move a module-level ``import wandb`` into every function that uses it.

    Importing the file then no longer imports the module (option ``module``,
    default ``wandb``). Handles ``import wandb``, ``import wandb as wb``,
    ``import wandb.sdk``, ``from wandb import Image [as I]`` and
    ``from wandb.sdk import X``. Each use is found with ``ScopeProvider`` (what the
    name refers to, not its spelling), and the import is added at the top of the
    *outermost* function holding a use (after its docstring): nested functions,
    lambdas, comprehensions and classes inside it see that local through the closure.
    A function whose own parameter or local shadows the name gets nothing. After the
    rewrite the new tree is analysed again: if any use of the name would be left
    without an import reaching it, the file is left alone.

    It is all or nothing per file: the whole file is skipped (with the line and the
    reason) when any import of the module cannot be deferred, since one eager import
    keeps the module loading at import time anyway:

    * a use at import time: a module-level statement, a decorator, a class body,
      a base class, a default argument value, an annotation evaluated when the
      function or class is defined (signatures and module variables without
      ``from __future__ import annotations``; class-level annotations always, as
      pydantic-style classes evaluate them), a lambda outside any ``def``, ``del``;
    * ``global wandb`` anywhere, another binding of the name at module level,
      a class body nested in a function that both binds and reads the name, a
      receiving function that calls ``locals()``/``vars()`` (the new local shows);
    * a conditional import (inside ``try``/``if``/``with``/class body), a star import,
      a re-export (``__all__``, ``import wandb as wandb``, a package ``__init__.py``);
    * a name imported but never used (it may be a re-export; the import stays);
    * uses that only type checkers see (string annotations, annotations under
      ``from __future__ import annotations``, ``cast("wandb.Run", x)``, code under a
      module-level ``if TYPE_CHECKING:``) keep the import in that ``if TYPE_CHECKING:``
      block, first in it; a file without such a block is skipped.

    When every use moved, the module-level import is removed (only the moved alias
    of ``import wandb, os``); comment lines above it stay, a comment on its own
    line goes with it. The module's own import-time side effects are deferred too
    (that is the point). Not seen: uses through ``globals()``, ``getattr(module, ...)``
    or ``from this_module import wandb`` in other files. Inserted imports are not
    sorted among existing local imports (``ruff check --fix --select I`` does that).

    Valid (changed)::

        import wandb

        def train(cfg):
            '''Train.'''
            wandb.init(config=cfg)

    becomes::

        def train(cfg):
            '''Train.'''
            import wandb
            wandb.init(config=cfg)

    Invalid (skipped, ``wandb`` is used at import time)::

        import wandb

        class Callback:
            Image = wandb.Image
    """

    NAME: ClassVar[str] = "lazy-import"
    DESCRIPTION = "Move a module-level import (default: wandb) into the functions that use it."
    NEEDLES: ClassVar[tuple[bytes, ...]] = (b"wandb",)
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("module", str, "wandb", "the module whose imports are made lazy"),
    )
    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        *RunnerCodemod.METADATA_DEPENDENCIES,
        ScopeProvider,
        ParentNodeProvider,
        ExpressionContextProvider,
    )

    @classmethod
    def resolve_options(cls, given: Mapping[str, object]) -> dict[str, object]:
        resolved = super().resolve_options(given)
        module_option(resolved)  # a bad name is an input error before any file is read
        return resolved

    @classmethod
    def needles(cls, options: Mapping[str, object]) -> tuple[bytes, ...]:
        # Every import of a module spells its name out in full.
        return (module_option({**options}).encode(),)

    def __init__(self, context: CodemodContext, **options: object) -> None:
        super().__init__(context, **options)
        self.target = module_option(self.options)
        self._inserts: dict[cst.CSTNode, list[cst.BaseSmallStatement]] = {}
        self._dropped: dict[cst.BaseSmallStatement, set[int]] = {}
        self._moved: list[str] = []
        self._future_annotations = False
        self._tc_blocks: list[cst.If] = []

    # -- analysis ------------------------------------------------------------------
    def transform_module(self, tree: cst.Module) -> cst.Module:
        # Metadata costs about a hundred times a plain walk: resolve it only for a file
        # that imports the module outside a function (the needle may sit in a comment,
        # a string or an already-lazy import).
        collector = _Collector()
        tree.visit(collector)
        if not any(
            self._matches_import(statement) and not _in_function(ancestors)
            for statement, ancestors in collector.imports
        ):
            return tree
        return super().transform_module(tree)

    def visit_Module(self, node: cst.Module) -> bool:
        return self._plan(node)

    def _plan(self, module: cst.Module) -> bool:
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
        self._tc_blocks = [s for s in module.body if isinstance(s, cst.If) and self._is_type_checking(s.test)]
        collector = _Collector()
        module.visit(collector)
        bindings = self._bindings(collector)
        if not bindings:
            return False
        self._check_namespace(module, bindings, collector)

        uses = self._uses(bindings)
        bound = list(dict.fromkeys(b.bound for b in bindings))
        for name in bound:
            if name not in uses:
                first = next(b for b in bindings if b.bound == name)
                raise self.skip_file(
                    first.line,
                    f"'{name}' from `{self._code(first.statement)}` is never used in this"
                    f" file (a re-export?); the import stays, so {self.target} still loads"
                    " at import time",
                )

        type_only = [name for name in bound if uses[name].type_only]
        if type_only:
            if not self._tc_blocks:
                name = type_only[0]
                raise self.skip_file(
                    uses[name].type_only[0],
                    f"'{name}' is needed by type checkers on line"
                    f" {self.line_of(uses[name].type_only[0])} (string annotation, postponed"
                    " annotation or `if TYPE_CHECKING:` code) and the file has no"
                    " module-level `if TYPE_CHECKING:` block to keep the import in",
                )
            self._inserts[self._tc_blocks[0]] = self._statements(bindings, set(type_only))

        functions: dict[cst.CSTNode, set[str]] = {}
        for name in bound:
            for function in uses[name].functions:
                functions.setdefault(function, set()).add(name)
        for function, names in functions.items():
            self._check_introspection(function)
            self._inserts[function] = self._statements(bindings, names)

        for b in bindings:
            self._dropped.setdefault(b.statement, set()).add(b.index)
        self._moved = bound
        return True

    def _check_introspection(self, function: cst.CSTNode) -> None:
        """A new local shows up in ``locals()``/``vars()``: leave such functions alone."""
        for call in m.findall(function, _LOCALS_CALL):
            assert isinstance(call, cst.Call)
            name = cst.ensure_type(call.func, cst.Name).value
            raise self.skip_file(
                call,
                f"`{name}()` on line {self.line_of(call)} lists the function's locals;"
                " an added local import would show up in it",
            )

    def _is_type_checking(self, test: cst.BaseExpression) -> bool:
        scope = self.get_metadata(ScopeProvider, test, None)
        names = {q.name for q in scope.get_qualified_names_for(test)} if scope else set()
        return bool(names & _TYPE_CHECKING) or m.matches(test, m.Name("TYPE_CHECKING"))

    def _matches_import(self, statement: cst.Import | cst.ImportFrom) -> bool:
        if isinstance(statement, cst.Import):
            return any(self._matches_module(get_full_name_for_node(a.name)) for a in statement.names)
        return not statement.relative and self._matches_module(
            get_full_name_for_node(statement.module) if statement.module else None
        )

    def _matches_module(self, dotted: str | None) -> bool:
        return dotted is not None and (dotted == self.target or dotted.startswith(self.target + "."))

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
                raise self.skip_file(
                    statement,
                    f"`{self._code(statement)}` is inside {kind}, not a plain top-level"
                    " statement; moving it would change its fallback or condition",
                )
            if isinstance(statement.names, cst.ImportStar):
                raise self.skip_file(
                    statement,
                    f"`{self._code(statement)}` is a star import; the names it binds are unknown",
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
                    raise self.skip_file(
                        statement,
                        f"`{self._code(statement)}` is an explicit re-export (`X as X`)",
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
            raise self.skip_file(
                first,
                "a package `__init__.py`: its module-level names are the package's"
                " namespace (possible re-export)",
            )
        names = {b.bound for b in bindings}
        for node in collector.globals:
            for item in node.names:
                if item.name.value in names:
                    raise self.skip_file(
                        node,
                        f"`global {item.name.value}` declares the module-level name;"
                        " a function-local import would break it",
                    )
        for statement in module.body:
            for target in _all_targets(statement):
                for string in m.findall(target, m.SimpleString()):
                    assert isinstance(string, cst.SimpleString)
                    if string.evaluated_value in names:
                        raise self.skip_file(
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
                    raise self.skip_file(
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
            raise self.skip_file(node, f"`del {name}` on line {self.line_of(node)}")
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
            raise self.skip_file(
                node,
                f"'{name}' is used at import time on line {self.line_of(node)}"
                f" ({self._import_time_kind(access)}); the import must stay at module level",
            )
        for depth, scope in enumerate(chain):
            if depth and isinstance(scope, ClassScope):
                continue  # a class body's names are not visible to scopes nested in it
            if name in scope.assignments:
                if isinstance(scope, ClassScope):
                    raise self.skip_file(
                        node,
                        f"a class body nested in a function both binds and reads '{name}'"
                        f" (line {self.line_of(node)}); such a read looks in the module"
                        " globals, not the function's local import",
                    )
                return  # the name is local there: this use is not of the import
        outermost = functions[-1].node
        if isinstance(outermost, cst.Lambda):
            raise self.skip_file(
                node,
                f"'{name}' is used on line {self.line_of(node)} in a lambda outside any"
                " `def`; an import cannot be placed in a lambda",
            )
        uses.setdefault(name, _Uses()).functions.setdefault(outermost, None)

    def _type_only(self, access: Access) -> bool:
        """True for a use that only type checkers evaluate."""
        node: cst.CSTNode = access.node
        child, parent = node, self._parent(node)
        while parent is not None:
            if isinstance(parent, cst.Annotation):
                owner = self._parent(parent)
                if isinstance(owner, cst.AnnAssign) and isinstance(access.scope, ClassScope):
                    return False  # class attributes: dataclass/pydantic-like code reads these
            if (
                isinstance(parent, cst.If)
                and child is parent.body
                and any(parent is block for block in self._tc_blocks)
            ):
                return True
            child, parent = parent, self._parent(parent)
        if isinstance(node, cst.BaseString):
            return True  # string annotation or typing string: never evaluated at import
        return access.is_annotation and self._future_annotations

    def _import_time_kind(self, access: Access) -> str:
        child: cst.CSTNode = access.node
        parent = self._parent(child)
        while parent is not None and not isinstance(parent, cst.Module):
            if isinstance(parent, cst.Decorator):
                return "decorator"
            if isinstance(parent, cst.Param) and child is parent.default:
                return "default argument value"
            if isinstance(parent, cst.Annotation):
                owner = self._parent(parent)
                if isinstance(owner, (cst.Param, cst.FunctionDef)):
                    return "function signature annotation, evaluated when the function is defined"
                if isinstance(access.scope, ClassScope):
                    return "class-level annotation"
                return "module-level annotation"
            if isinstance(parent, cst.Arg) and isinstance(self._parent(parent), cst.ClassDef):
                return "base class or class keyword"
            if isinstance(parent, cst.ClassDef):
                return "class body"
            child, parent = parent, self._parent(parent)
        return "module-level statement"

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        return parent if isinstance(parent, cst.CSTNode) else None

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
            statements.setdefault(self._code(statement), statement)
        return list(statements.values())

    def _code(self, node: cst.CSTNode) -> str:
        return self.module_code(node)

    @staticmethod
    def module_code(node: cst.CSTNode) -> str:
        return cst.Module(body=[]).code_for_node(node).strip()

    # -- rewriting -----------------------------------------------------------------
    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        statements = self._inserts.get(original_node)
        if statements is None:
            return updated_node
        codes = ", ".join(f"`{self._code(s)}`" for s in statements)
        self.record_change(original_node, f"added {codes} to {original_node.name.value}()")
        return updated_node.with_changes(body=_prepend(updated_node.body, statements, True))

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.If:
        statements = self._inserts.get(original_node)
        if statements is None:
            return updated_node
        codes = ", ".join(f"`{self._code(s)}`" for s in statements)
        self.record_change(original_node, f"kept {codes} for type checkers under TYPE_CHECKING")
        return updated_node.with_changes(body=_prepend(updated_node.body, statements, False))

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self._moved:
            return updated_node
        body: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] | None = None  # lines of removed statements, if any
        at_start = not original_node.header or _is_blank(original_node.header[-1])
        for original, updated in zip(original_node.body, updated_node.body, strict=True):
            if isinstance(original, cst.SimpleStatementLine) and isinstance(updated, cst.SimpleStatementLine):
                kept = self._without_moved(original, updated)
                if kept is None:
                    carried = [*(carried or []), *updated.leading_lines]
                    continue
                updated = kept
            if carried is not None:
                updated = updated.with_changes(
                    leading_lines=_merge_lines(
                        carried, updated.leading_lines, strip_leading=at_start and not body
                    )
                )
                carried = None
            body.append(updated)
        footer = list(updated_node.footer)
        if carried is not None:
            footer = _merge_lines(carried, footer, strip_leading=at_start and not body)
        result = updated_node.with_changes(body=body, footer=footer)
        self._check_result(original_node, result)
        return result

    def _without_moved(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | None:
        """``updated`` without the moved aliases; None when nothing of it is left."""
        if not any(small in self._dropped for small in original.body):
            return updated
        small_statements: list[cst.BaseSmallStatement] = []
        last_removed = False
        for original_small, small in zip(original.body, updated.body, strict=True):
            dropped = self._dropped.get(original_small)
            last_removed = dropped is not None
            if dropped is None:
                small_statements.append(small)
                continue
            code = self._code(original_small)
            if isinstance(small, cst.Import) and len(dropped) < len(small.names):
                names = [a for i, a in enumerate(small.names) if i not in dropped]
                names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                small_statements.append(small.with_changes(names=names))
                last_removed = False
                self.record_change(original_small, f"removed {self.target} from `{code}`")
            else:
                self.record_change(original_small, f"removed module-level `{code}`")
        if not small_statements:
            return None
        if last_removed:
            small_statements[-1] = small_statements[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(body=small_statements)

    def _check_result(self, original: cst.Module, result: cst.Module) -> None:
        """The motivating bug: no use of a moved name may be left without an import."""
        scopes = MetadataWrapper(result, unsafe_skip_copy=True).resolve(ScopeProvider).values()
        unreached = _count_unreached((s for s in scopes if isinstance(s, Scope)), self._moved)
        if unreached:
            raise self.skip_file(
                original,
                f"self-check failed: after the move {unreached} use(s) of"
                f" {', '.join(self._moved)} would have no import reaching them",
            )


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


def _binds_locally(scope: Scope, name: str) -> bool:
    """Whether a scope between ``scope`` and the module binds ``name`` (Python's view)."""
    depth = 0
    while not isinstance(scope, GlobalScope):
        # A class body's names are not visible to the scopes nested in it.
        if (depth == 0 or not isinstance(scope, ClassScope)) and name in scope.assignments:
            return True
        scope, depth = scope.parent, depth + 1
    return False


def _count_unreached(scopes: Iterable[Scope], names: Sequence[str]) -> int:
    """Uses of ``names`` that no import reaches, judged as Python runs the code.

    A use inside a function must find a binding in its own or an enclosing function
    (where the import now is); a use outside any function (only type-only uses are
    left there) must find one at module level, the ``if TYPE_CHECKING:`` import, in
    any order since such annotations are never evaluated at import.
    """
    wanted = set(names)
    count = 0
    for scope in {id(s): s for s in scopes}.values():
        # Keyed by the dotted name an access resolved to (``wandb.sdk``) or the bare name.
        for key, accesses in scope._accesses_by_name.items():
            name = key.split(".")[0]
            if name not in wanted or not accesses or _binds_locally(scope, name):
                continue
            in_function = False
            chain = scope
            while not isinstance(chain, GlobalScope):
                in_function = in_function or isinstance(chain, FunctionScope)
                chain = chain.parent
            if in_function or name not in chain.assignments:
                count += len(accesses)
    return count
