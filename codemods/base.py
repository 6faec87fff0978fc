"""The contract every codemod of this project follows.

A codemod is a ``libcst.codemod.VisitorBasedCodemodCommand`` (so
``python -m libcst.tool codemod`` can run it) that also declares:

* ``NAME``: the kebab-case name blueprints and the CLI use;
* ``DESCRIPTION``: one line, shown by ``runner codemod list`` and libcst.tool;
* ``NEEDLES`` (or ``needles(options)`` when they depend on an option): cheap byte
  strings; a file containing none of them is never parsed;
* ``OPTIONS``: typed options, turned into argparse flags for libcst.tool and parsed
  from ``key=value`` strings for the runner.

While transforming, a codemod calls :meth:`RunnerCodemod.record_change` for each
rewrite and :meth:`RunnerCodemod.record_skip` (with a reason) for each place it
recognised but could not prove safe to rewrite. It knows nothing of blueprints.

:class:`RunnerCodemod` also gives every command the lookups it needs, as TorchFix's
``TorchVisitor`` does (parent, qualified names, scope and access, code of a node,
``TYPE_CHECKING`` tests, what a star import binds); each needs its metadata provider
in the command's ``METADATA_DEPENDENCIES``.

Plain visits: LibCST's codemod bases are ``MatcherDecoratable``: every instance gathers the
methods decorated with ``@m.visit``, ``@m.call_if_inside``... (a ``dir()`` of several hundred
attributes), and every node visited evaluates those matchers before the ``visit_*``
dispatch. No command or analysis here uses such a decorator (they call ``m.matches``), and
on a small file that machinery took about a third of the LibCST stage. So a class that
cannot hold a decorated method (:func:`plain_visits`) skips the gathering and visits as a
plain ``CSTTransformer`` or ``CSTVisitor`` does (the same calls, in the same order); a class
that may hold one keeps LibCST's behaviour.
"""

from __future__ import annotations

import argparse
import functools
import inspect
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import ClassVar, cast

import libcst as cst
import libcst.matchers as m
from libcst import CSTNodeT, MetadataDependent, MetadataException, RemovalSentinel
from libcst.codemod import Codemod, CodemodContext, ContextAwareVisitor, SkipFile, VisitorBasedCodemodCommand
from libcst.metadata import (
    Access,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    ProviderT,
    QualifiedName,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from codemods.contract import Change, CodemodDeclaration, Option, PythonLiteral, Skip
from codemods.gathered import Gathered
from codemods.star_imports import star_import_names

__all__ = [
    "Change",
    "CodemodDeclaration",
    "CodemodReport",
    "Gathered",
    "NodeLookups",
    "Option",
    "PythonLiteral",
    "RunnerCodemod",
    "RunnerVisitor",
    "Skip",
]

# LibCST's bases of the commands and analyses: they define no matcher-decorated method.
_LIBCST_BASES = frozenset({*VisitorBasedCodemodCommand.__mro__, *ContextAwareVisitor.__mro__})
TYPE_CHECKING_NAMES = frozenset({"typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING"})
# Spelled out for a file that tests the flag without importing it (``if TYPE_CHECKING:``).
_TYPE_CHECKING_SPELLING = m.Name("TYPE_CHECKING") | m.Attribute(
    value=m.Name("typing") | m.Name("typing_extensions"), attr=m.Name("TYPE_CHECKING")
)


@functools.cache
def plain_visits(cls: type) -> bool:
    """Whether no method of ``cls`` can carry a LibCST matcher decorator.

    The decorators mark the function object with attributes; so a class whose every
    function, outside LibCST's own visitor and codemod bases, has none (an empty
    ``__dict__``) has none of them. Another decorator that marks its function (``wraps``)
    makes the answer False: the class then keeps LibCST's behaviour, never the wrong one.
    """
    return not any(
        inspect.isfunction(value) and vars(value)
        for klass in cls.__mro__
        if klass not in _LIBCST_BASES
        for value in vars(klass).values()
    )


@dataclass
class CodemodReport:
    changes: list[Change] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)


class NodeLookups(MetadataDependent):
    """Lookups every command and analysis needs, on the metadata of the module being
    transformed (as TorchFix's ``TorchVisitor`` offers them). Each needs its provider
    in ``METADATA_DEPENDENCIES``; ``line_of`` needs ``PositionProvider``."""

    context: CodemodContext

    def line_of(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def parent_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The node holding ``node`` (needs ``ParentNodeProvider``)."""
        parent = self.get_metadata(ParentNodeProvider, node, None)
        return parent if isinstance(parent, cst.CSTNode) else None

    def qualified_names(self, node: cst.CSTNode) -> Collection[QualifiedName]:
        """What ``node`` may name, through imports and aliases (needs ``QualifiedNameProvider``)."""
        empty: Collection[QualifiedName] = ()
        return self.get_metadata(QualifiedNameProvider, node, empty)

    def names_of(self, node: cst.CSTNode) -> set[str]:
        """The dotted names ``node`` may refer to: ``{"torch.exp"}`` for ``T.exp``."""
        return {q.name for q in self.qualified_names(node)}

    def has_name(self, node: cst.CSTNode, name: str) -> bool:
        """``node`` may refer to ``name`` (``has_name(func, "torch.exp")``)."""
        return name in self.names_of(node)

    def scope_of(self, node: cst.CSTNode) -> Scope | None:
        """The scope ``node`` is in (needs ``ScopeProvider``)."""
        scope: Scope | None = self.get_metadata(ScopeProvider, node, None)
        return scope

    def access_of(self, name: cst.Name) -> Access | None:
        """The read of ``name`` in its scope (what it may refer to), if it is one."""
        scope = self.scope_of(name)
        if scope is None:
            return None
        return next((a for a in scope.accesses[name.value] if a.node is name), None)

    def code_of(self, node: cst.CSTNode) -> str:
        """The source of ``node`` as written in the module being transformed."""
        module = self.context.module
        assert module is not None, "only while a module is being transformed"
        return module.code_for_node(node)

    @staticmethod
    def short(code: str, limit: int = 60) -> str:
        """``code`` on one line and at most ``limit`` characters, for messages."""
        flat = " ".join(code.split())
        return flat if len(flat) <= limit else flat[: limit - 3] + "..."

    def is_type_checking(self, test: cst.BaseExpression) -> bool:
        """``test`` is ``TYPE_CHECKING`` (any import form; needs ``ScopeProvider``)."""
        scope = self.scope_of(test)
        names = {q.name for q in scope.get_qualified_names_for(test)} if scope is not None else set()
        return bool(names & TYPE_CHECKING_NAMES) or m.matches(test, _TYPE_CHECKING_SPELLING)

    def type_checking_blocks(self, module: cst.Module) -> list[cst.If]:
        """The module-level ``if TYPE_CHECKING:`` blocks: their imports bind nothing at run time."""
        return [s for s in module.body if isinstance(s, cst.If) and self.is_type_checking(s.test)]

    def star_import_names(self, node: cst.ImportFrom) -> frozenset[str] | None:
        """The names ``from X import *`` binds, or ``None`` when they cannot be known.

        Known for the standard library and for modules of the same source tree (read,
        never imported); see :mod:`codemods.star_imports`.
        """
        return star_import_names(node, self.context.filename)


class RunnerVisitor(NodeLookups, ContextAwareVisitor):
    """An analysis run inside a command (``node.visit(analysis)``), on the command's metadata.

    Its ``METADATA_DEPENDENCIES`` must be among the command's. To run one on its own (a
    test), visit the module wrapped in :meth:`context_for`.
    """

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (PositionProvider,)

    def __init__(self, context: CodemodContext) -> None:
        self._plain_visits = plain_visits(type(self))
        if not self._plain_visits:
            super().__init__(context)
            return
        # ContextAwareVisitor.__init__ without the matcher gathering; the metadata is the
        # command's (resolved already: ``resolve`` returns it).
        MetadataDependent.__init__(self)
        cst.CSTVisitor.__init__(self)
        self.context = context
        dependencies = self.get_inherited_dependencies()
        if dependencies:
            wrapper = context.wrapper
            if wrapper is None:
                raise MetadataException(f"{type(self).__name__} needs the metadata of an active transform")
            self.metadata = {dependency: wrapper.resolve(dependency) for dependency in dependencies}

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._plain_visits:
            return cst.CSTVisitor.on_visit(self, node)
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self._plain_visits:
            return cst.CSTVisitor.on_leave(self, original_node)
        return super().on_leave(original_node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if self._plain_visits:
            return cst.CSTVisitor.on_visit_attribute(self, node, attribute)
        return super().on_visit_attribute(node, attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        if self._plain_visits:
            return cst.CSTVisitor.on_leave_attribute(self, original_node, attribute)
        return super().on_leave_attribute(original_node, attribute)

    @classmethod
    def context_for(cls, module: cst.Module, filename: str | None = None) -> CodemodContext:
        """A context whose metadata this analysis can use, for running it outside a command."""
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        wrapper.resolve_many(cls.get_inherited_dependencies())
        return CodemodContext(wrapper=wrapper, filename=filename)


class RunnerCodemod(NodeLookups, CodemodDeclaration, VisitorBasedCodemodCommand):
    """A codemod's LibCST command; what it declares (name, needles, options) comes first,
    from its declaration in ``codemods/declarations.py``."""

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (PositionProvider,)

    def __init__(self, context: CodemodContext, **options: object) -> None:
        self._plain_visits = plain_visits(type(self))
        if self._plain_visits:
            # ContextAwareTransformer.__init__ without the matcher gathering.
            Codemod.__init__(self, context)
            cst.CSTTransformer.__init__(self)
        else:
            super().__init__(context)
        self.options: dict[str, object] = self.resolve_options(options)
        self.report = CodemodReport()
        self.gathered: Gathered | None = None  # set by the engine for a GATHERS codemod

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._plain_visits:
            return cst.CSTTransformer.on_visit(self, node)
        return super().on_visit(node)

    def on_leave(self, original_node: CSTNodeT, updated_node: CSTNodeT) -> CSTNodeT | RemovalSentinel:
        if self._plain_visits:
            # Annotated as LibCST's matcher transformer annotates it, returning the same.
            return cast(
                "CSTNodeT | RemovalSentinel", cst.CSTTransformer.on_leave(self, original_node, updated_node)
            )
        return super().on_leave(original_node, updated_node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if self._plain_visits:
            return cst.CSTTransformer.on_visit_attribute(self, node, attribute)
        return super().on_visit_attribute(node, attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        if self._plain_visits:
            return cst.CSTTransformer.on_leave_attribute(self, original_node, attribute)
        return super().on_leave_attribute(original_node, attribute)

    @classmethod
    def load(cls) -> type[RunnerCodemod]:
        return cls  # already the command (also a test's subclass of one)

    @classmethod
    def add_args(cls, arg_parser: argparse.ArgumentParser) -> None:
        # libcst.tool calls this on the class to build its command line.
        for opt in cls.OPTIONS:
            arg_parser.add_argument(
                f"--{opt.name}",
                dest=opt.name,
                default=None,
                help=f"{opt.help} (default: {opt.default})",
            )

    # -- reporting ---------------------------------------------------------------
    def record_change(self, node: cst.CSTNode, description: str) -> None:
        self.report.changes.append(Change(self.NAME, self.line_of(node), description))

    def record_skip(self, node: cst.CSTNode, reason: str) -> None:
        line = self.line_of(node)
        self.report.skips.append(Skip(self.NAME, line, reason))
        # libcst.tool prints warnings: it then says why a file was left alone.
        self.warn(f"line {line}: {reason}")

    def skip_file(self, node: cst.CSTNode, reason: str) -> SkipFile:
        """Record a file-level skip and return the exception that aborts the transform."""
        self.record_skip(node, reason)
        return SkipFile(reason)
