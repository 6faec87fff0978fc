"""Naming a function in a codemod option: ``name`` or ``Class.method``.

Shared by the codemods that act on one function (clamp-inputs, replace-default), with
their base class :class:`FunctionTargetCodemod`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar, Literal

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import ProviderT, QualifiedNameProvider, ScopeProvider

from codemods.base import RunnerCodemod
from codemods.options import check_function_spec, check_param_name

OVERLOAD = frozenset({"typing.overload", "typing_extensions.overload"})


def spec_matches(spec: str, bare_name: str, qualified_names: Iterator[str]) -> bool:
    """A bare ``spec`` matches every def of that name; a dotted one matches the tail
    of the def's qualified name, with ``<locals>`` parts ignored (``outer.inner``
    names ``inner`` defined in ``outer``)."""
    if "." not in spec:
        return bare_name == spec
    wanted = [p for p in spec.split(".") if p != "<locals>"]
    for qname in qualified_names:
        parts = [p for p in qname.split(".") if p != "<locals>"]
        if parts[-len(wanted) :] == wanted:
            return True
    return False


def function_needles(spec: str) -> tuple[bytes, ...]:
    """Bytes one of which a file defining ``spec`` contains: ``def name`` (also matches
    ``async def``), or ``name = lambda`` for the lambda skip."""
    name = spec.rsplit(".", 1)[-1].encode()
    return (b"def " + name, name + b" = lambda", name + b"=lambda")


NO_PARAM = "no such parameter"  # what decide() returns for a def without the parameter


class FunctionTargetCodemod(RunnerCodemod):
    """A codemod acting on one named function's signature or body (options ``function``, ``param``).

    It finds every def the ``function`` option names (``name`` or ``Class.method``) and
    calls :meth:`decide` on it; a lambda bound to that name is skipped with
    ``LAMBDA_REASON``; when no def of that name has the parameter, one skip says so for
    the file (a bare name like ``forward`` matches many defs). ``@overload`` stubs can be
    recognised with :meth:`is_overload`.
    """

    LAMBDA_REASON: ClassVar[str] = "lambdas are not handled"
    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        *RunnerCodemod.METADATA_DEPENDENCIES,
        QualifiedNameProvider,
        ScopeProvider,
    )

    @classmethod
    def resolve_options(cls, given: Mapping[str, object]) -> dict[str, object]:
        options = super().resolve_options(given)
        check_function_spec(str(options["function"]))
        check_param_name(str(options["param"]))
        return options

    @classmethod
    def needles(cls, options: Mapping[str, object]) -> tuple[bytes, ...]:
        """Needles for these (resolved) options: where the function is defined."""
        default = next((o.default for o in cls.OPTIONS if o.name == "function"), "")
        spec = str(options.get("function") or default)
        return function_needles(spec) if spec else cls.NEEDLES

    def __init__(self, context: CodemodContext, **options: object) -> None:
        super().__init__(context, **options)
        self.spec = str(self.options["function"])
        self.param = str(self.options["param"])
        self._without_param: list[cst.FunctionDef] = []
        self._with_param = 0

    def decide(self, node: cst.FunctionDef) -> str | None:
        """Plan the change of one targeted def: ``NO_PARAM``, a skip reason, or None."""
        raise NotImplementedError

    def is_target(self, bare: str, name_node: cst.CSTNode) -> bool:
        if bare != self.spec.rsplit(".", 1)[-1]:
            return False
        return spec_matches(self.spec, bare, iter(self.names_of(name_node)))

    def find_param(self, params: cst.Parameters) -> cst.Param | Literal["*", "**"] | None:
        """The ``param`` option's parameter; ``"*"``/``"**"`` when it is ``*param``/``**param``."""
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.name.value == self.param:
                return param
        if isinstance(params.star_arg, cst.Param) and params.star_arg.name.value == self.param:
            return "*"
        if params.star_kwarg is not None and params.star_kwarg.name.value == self.param:
            return "**"
        return None

    def is_overload(self, node: cst.FunctionDef) -> bool:
        return any(self.names_of(d.decorator) & OVERLOAD for d in node.decorators)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.value, cst.Lambda):
            return
        target = node.targets[0].target
        if isinstance(target, cst.Name) and self.is_target(target.value, target):
            self.record_skip(node, f"{target.value} is a lambda; {self.LAMBDA_REASON}")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self.is_target(node.name.value, node.name):
            return
        outcome = self.decide(node)
        if outcome is NO_PARAM:
            self._without_param.append(node)
            return
        self._with_param += 1
        if outcome:
            self.record_skip(node, f"{node.name.value}: {outcome}")

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self._without_param and not self._with_param:
            count = len(self._without_param)
            self.record_skip(
                self._without_param[0],
                f"{count} def(s) named {self.spec} here, none has a parameter named {self.param}",
            )
        return updated_node
