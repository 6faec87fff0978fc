"""lazy-import: move a module-level import into the functions that use it.

The plan comes from :class:`codemods.analysis.lazy_import_plan.LazyImportPlanner`; this
module applies it (insertions, removal of the moved aliases with their lines) and checks
the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import (
    ClassScope,
    ExpressionContextProvider,
    FunctionScope,
    GlobalScope,
    MetadataWrapper,
    ParentNodeProvider,
    ProviderT,
    Scope,
    ScopeProvider,
)

from codemods.analysis.lazy_import_plan import (
    LazyImportPlanner,
    _Collector,
    _in_function,
    code,
    imports_module,
)
from codemods.base import RunnerCodemod
from codemods.declarations import LazyImportDeclaration, module_option
from codemods.imports import remove_import_aliases


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


class LazyImport(LazyImportDeclaration, RunnerCodemod):
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

    Valid (left alone: already lazy)::

        def train(cfg):
            import wandb
            wandb.init(config=cfg)

    Invalid (moved)::

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

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        *RunnerCodemod.METADATA_DEPENDENCIES,
        ScopeProvider,
        ParentNodeProvider,
        ExpressionContextProvider,
    )

    def __init__(self, context: CodemodContext, **options: object) -> None:
        super().__init__(context, **options)
        self.target = module_option(self.options)
        self.plan: LazyImportPlanner | None = None

    # -- analysis ------------------------------------------------------------------
    def transform_module(self, tree: cst.Module) -> cst.Module:
        # Metadata costs about a hundred times a plain walk: resolve it only for a file
        # that imports the module outside a function (the needle may sit in a comment,
        # a string or an already-lazy import).
        collector = _Collector()
        tree.visit(collector)
        if not any(
            imports_module(self.target, statement) and not _in_function(ancestors)
            for statement, ancestors in collector.imports
        ):
            return tree
        return super().transform_module(tree)

    def visit_Module(self, node: cst.Module) -> bool:
        self.plan = LazyImportPlanner(self.context, self.target)
        node.visit(self.plan)
        if self.plan.refusal is not None:
            raise self.skip_file(*self.plan.refusal)
        return bool(self.plan.moved)

    def _plan(self) -> LazyImportPlanner:
        assert self.plan is not None, "planned in visit_Module"
        return self.plan

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        statements = self._plan().inserts.get(original_node)
        if statements is None:
            return updated_node
        codes = ", ".join(f"`{code(s)}`" for s in statements)
        self.record_change(original_node, f"added {codes} to {original_node.name.value}()")
        return updated_node.with_changes(body=_prepend(updated_node.body, statements, True))

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.If:
        statements = self._plan().inserts.get(original_node)
        if statements is None:
            return updated_node
        codes = ", ".join(f"`{code(s)}`" for s in statements)
        self.record_change(original_node, f"kept {codes} for type checkers under TYPE_CHECKING")
        return updated_node.with_changes(body=_prepend(updated_node.body, statements, False))

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self._plan().moved:
            return updated_node
        result, touched = remove_import_aliases(original_node, updated_node, self._plan().dropped)
        for statement, whole in touched:
            spelled = code(statement)
            if whole:
                self.record_change(statement, f"removed module-level `{spelled}`")
            else:
                self.record_change(statement, f"removed {self.target} from `{spelled}`")
        self._check_result(original_node, result)
        return result

    def _check_result(self, original: cst.Module, result: cst.Module) -> None:
        """The motivating bug: no use of a moved name may be left without an import."""
        scopes = MetadataWrapper(result, unsafe_skip_copy=True).resolve(ScopeProvider).values()
        unreached = _count_unreached((s for s in scopes if isinstance(s, Scope)), self._plan().moved)
        if unreached:
            raise self.skip_file(
                original,
                f"self-check failed: after the move {unreached} use(s) of"
                f" {', '.join(self._plan().moved)} would have no import reaching them",
            )


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
    unique = list({id(s): s for s in scopes}.values())
    # An access is filed under the dotted name it resolved to (``wandb.sdk`` after
    # ``import wandb.sdk``) or its bare name: ask for every such name bound anywhere.
    keys = wanted | {a.name for s in unique for a in s.assignments if a.name.split(".")[0] in wanted}
    count = 0
    for scope in unique:
        for key in sorted(keys):
            accesses = scope.accesses[key]
            name = key.split(".")[0]
            if not accesses or _binds_locally(scope, name):
                continue
            in_function = False
            chain = scope
            while not isinstance(chain, GlobalScope):
                in_function = in_function or isinstance(chain, FunctionScope)
                chain = chain.parent
            if in_function or name not in chain.assignments:
                count += len(accesses)
    return count
