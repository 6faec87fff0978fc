"""``clamp-inputs``: guard a function's tensor input with a finiteness check and a clamp."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    GlobalScope,
    ImportAssignment,
    Scope,
    ScopeProvider,
)

from codemods.analysis.clamp_facts import (
    ACTIVATION_FUNCS,
    ACTIVATION_METHODS,
    CLAMP_FUNCS,
    CLAMP_INPLACE,
    CLAMP_METHODS,
    DOCSTRING,
    FINITE_FUNCS,
    FINITE_METHODS,
    LOGIT_LOSSES,
    MAPPING_METHODS,
    NAN_TO_NUM_METHODS,
    TORCH_ASSERT,
    BodyFacts,
    calls_in,
    format_number,
    literal_number,
)
from codemods.declarations import ClampInputsDeclaration
from codemods.targets import NO_PARAM, FunctionTargetCodemod


@dataclass
class _Plan:
    """What to insert into one function, decided on the original tree."""

    inserts: list[tuple[int, list[cst.BaseStatement]]] = field(default_factory=list)
    description: str = ""
    add_torch_import: bool = False


class ClampInputs(ClampInputsDeclaration, FunctionTargetCodemod):
    """Insert a NaN/Inf check and a clamp of one tensor parameter at the start of a function.

    With the defaults, the start of every ``forward`` taking ``pred`` gets, after the
    docstring::

        if not torch.isfinite(pred).all():
            raise ValueError("pred contains NaN or Inf")
        pred = pred.clamp(0, 1)

    ``function=DiceLoss.forward`` limits it to that class's method (a dotted name matches
    the tail of the def's qualified name, ``<locals>`` ignored). The torch module is
    named as the file names it (``import torch as T`` gives ``T.isfinite``). If the file
    only has ``from torch import ...`` forms, ``import torch`` is added; if it does not
    import torch at all the function is skipped (its parameter may not be a tensor).

    Nothing is inserted twice: among the statements before the first other use of the
    parameter, an existing clamp (``pred.clamp(0, 1)``, ``torch.clamp(pred, min=0,
    max=1)``, ``pred.clip_(0, 1)``...) or finiteness check (an ``if``/``assert``/
    ``torch._assert`` testing ``torch.isfinite(pred)``, ``pred.isnan()``..., or
    ``pred = torch.nan_to_num(pred)``) counts; only the missing part is added, the
    check always before the clamp. ``@overload`` stubs are left alone silently. Async
    functions and generators are guarded too (the check runs when their body starts).
    A one-line ``def f(pred): return ...`` is turned into an indented block. New lines
    use the body's own indentation and the file's newline.

    Skipped, with a reason: no parameter of that name, or it is ``*args``/``**kwargs``,
    has a default, or is annotated as something other than a torch Tensor; lambdas;
    stub bodies (``...``, ``pass``, ``raise NotImplementedError``); an existing clamp
    of the parameter with other bounds; a parameter reassigned through an activation
    (``pred = pred.sigmoid()``: it held logits on entry) or used as a container
    (``pred["binary"]``, ``isinstance(pred, ...)``); non-finite values already handled
    further down (a raise at the start would change that); ``torch`` shadowed or bound
    to something else.

    Valid (left alone)::

        import torch


        def forward(self, pred, gt):
            if not torch.isfinite(pred).all():
                raise ValueError("pred contains NaN or Inf")
            pred = pred.clamp(0, 1)
            return (pred - gt).abs().mean()

    Invalid (rewritten)::

        import torch


        def forward(self, pred, gt):
            return (pred - gt).abs().mean()

    becomes::

        import torch


        def forward(self, pred, gt):
            if not torch.isfinite(pred).all():
                raise ValueError("pred contains NaN or Inf")
            pred = pred.clamp(0, 1)
            return (pred - gt).abs().mean()
    """

    LAMBDA_REASON: ClassVar[str] = "a guard cannot be inserted into a lambda body"

    def __init__(self, context: CodemodContext, **options: object) -> None:
        super().__init__(context, **options)
        self.low = float(self.options["min"])  # type: ignore[arg-type]
        self.high = float(self.options["max"])  # type: ignore[arg-type]
        self.check_finite = bool(self.options["check_finite"])
        self.plans: dict[cst.FunctionDef, _Plan] = {}
        self.torch_imports: tuple[list[str], bool] | None = None
        self.type_checking_imports: set[int] = set()

    # -- traversal ---------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        # Imports under a module-level ``if TYPE_CHECKING:`` bind nothing at run time.
        for block in self.type_checking_blocks(node):
            for found in m.findall(block.body, m.Import() | m.ImportFrom()):
                self.type_checking_imports.add(id(found))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        plan = self.plans.pop(original_node, None)
        if plan is None:
            return updated_node
        block = self._as_block(updated_node.body)
        lines = list(block.body)
        for index, new in sorted(plan.inserts, key=lambda item: item[0], reverse=True):
            lines[index:index] = new
        if plan.add_torch_import:
            AddImportsVisitor.add_needed_import(self.context, "torch")
        self.record_change(original_node, plan.description)
        return updated_node.with_changes(body=block.with_changes(body=lines))

    # -- the decision ------------------------------------------------------------
    def decide(self, node: cst.FunctionDef) -> str | None:
        """Plan the insertions into ``node`` (kept in ``self.plans``), or say why not."""
        plan = self._plan(node)
        if isinstance(plan, _Plan):
            self.plans[node] = plan
            return None
        return plan

    def _plan(self, node: cst.FunctionDef) -> _Plan | str | None:
        """The insertions, ``NO_PARAM``, a skip reason, or ``None`` when already guarded."""
        p = self.param
        if self.is_overload(node):
            return None  # a typing stub; the implementation is guarded
        param = self.find_param(node.params)
        if param is None:
            return NO_PARAM
        if param == "*":
            return f"{p} is *{p} (a tuple of values), not one tensor"
        if param == "**":
            return f"{p} is **{p} (a dict of values), not one tensor"
        assert isinstance(param, cst.Param)
        problem = self._param_problem(param)
        if problem:
            return problem

        scope = self.get_metadata(ScopeProvider, node.body, None)
        if scope is None:
            return "no scope information for the function body"
        touching = self._touching_ids(scope)

        block = self._as_block(node.body)
        lines = list(block.body)
        start = 1 if lines and m.matches(lines[0], DOCSTRING) else 0
        if self._is_stub(lines[start:]):
            return "the body is a stub (only ..., pass or raise NotImplementedError)"

        facts = BodyFacts()
        node.body.visit(facts)
        problem = self._body_problem(facts, touching)
        if problem:
            return problem

        check_at: int | None = None
        clamp_at: int | None = None
        for index in range(start, len(lines)):
            kinds = self._line_kinds(lines[index], touching)
            if kinds is None:
                break
            if "other-clamp" in kinds:
                return kinds["other-clamp"]
            if "check" in kinds and check_at is None:
                check_at = index
            if "clamp" in kinds and clamp_at is None:
                clamp_at = index

        if self.check_finite and check_at is None:
            where = self._finite_handling(facts, touching)
            if where:
                return (
                    f"non-finite values of {p} are already handled at line {where};"
                    " a raising check at the start would change that behaviour"
                )
        need_check = self.check_finite and check_at is None
        need_clamp = clamp_at is None
        if not need_check and not need_clamp:
            return None

        torch_name, add_import = "torch", False
        imported = self._torch_imports(scope)
        if not imported[0] and not imported[1]:
            return f"torch is not imported in this file, so {p} may not be a torch tensor"
        if need_check:
            resolved = self._resolve_torch(scope, imported[0])
            if isinstance(resolved, str):
                return resolved
            torch_name, add_import = resolved

        config = self.module.config_for_parsing
        nl = config.default_newline
        indent = block.indent
        plan = _Plan(add_torch_import=add_import)
        done: list[str] = []
        check_stmts: list[cst.BaseStatement] = []
        if need_check:
            stmt = cst.parse_statement(
                f"if not {torch_name}.isfinite({p}).all():{nl}"
                f'{config.default_indent}raise ValueError("{p} contains NaN or Inf"){nl}',
                config,
            )
            assert isinstance(stmt, cst.If) and isinstance(stmt.body, cst.IndentedBlock)
            check_stmts.append(stmt.with_changes(body=stmt.body.with_changes(indent=indent)))
            done.append(f"a NaN/Inf check of {p}")
        clamp_stmts: list[cst.BaseStatement] = []
        if need_clamp:
            low, high = format_number(self.low), format_number(self.high)
            clamp_stmts.append(cst.parse_statement(f"{p} = {p}.clamp({low}, {high}){nl}", config))
            done.append(f"{p}.clamp({low}, {high})")
        if need_check and need_clamp:
            plan.inserts.append((start, check_stmts + clamp_stmts))
        elif need_check:
            assert clamp_at is not None
            plan.inserts.append((clamp_at, check_stmts))  # right before the existing clamp
        else:  # right after an existing check, if any
            plan.inserts.append((start if check_at is None else check_at + 1, clamp_stmts))
        plan.description = "inserted " + " and ".join(done) + f" in {node.name.value}"
        if add_import:
            plan.description += " (and added import torch)"
        return plan

    def _param_problem(self, param: cst.Param) -> str:
        p = self.param
        if param.default is not None:
            code = self.code_of(param.default)
            return f"{p} has a default ({code}), so it may not always be a tensor"
        if param.annotation is None:
            return ""
        annotation = param.annotation.annotation
        code = self.code_of(annotation)
        if isinstance(annotation, cst.Name | cst.Attribute) and any(
            q.startswith("torch.") and q.endswith("Tensor") for q in self.names_of(annotation)
        ):
            return ""
        return f"{p} is annotated {code}, not torch.Tensor"

    def _touching_ids(self, scope: Scope) -> set[int]:
        """ids of the Name nodes that read or bind the parameter in the function."""
        ids: set[int] = set()
        if self.param not in scope.assignments:
            return ids
        for assignment in scope.assignments[self.param]:
            node = getattr(assignment, "node", None)
            if isinstance(node, cst.Name):
                ids.add(id(node))
            for access in assignment.references:
                ids.add(id(access.node))
        return ids

    def _is_param(self, node: cst.BaseExpression, touching: set[int]) -> bool:
        return isinstance(node, cst.Name) and node.value == self.param and id(node) in touching

    def _body_problem(self, facts: BodyFacts, touching: set[int]) -> str:
        p = self.param
        probability_range = self.low >= 0 and self.high <= 1
        for stmt, targets, value in facts.assigns:
            bound = [t for t in targets if self._binds_param(t, touching)]
            if probability_range and bound and self._activation_in(value):
                return (
                    f"{p} is reassigned through an activation at line {self.line_of(stmt)}: it holds"
                    " logits on entry, and clamping them would change the result"
                )
        for call in facts.calls:
            func = call.func
            consumer = self._logit_consumer(call, touching) if probability_range else ""
            if consumer:
                return (
                    f"{p} is passed to {consumer} at line {self.line_of(call)}: it holds logits"
                    " (or log-probabilities), and clamping them would change the result"
                )
            if (
                isinstance(func, cst.Attribute)
                and self._is_param(func.value, touching)
                and func.attr.value in MAPPING_METHODS
            ):
                return (
                    f"{p} is used as a container ({p}.{func.attr.value}()) at line"
                    f" {self.line_of(call)}, not as a tensor"
                )
            if (
                "builtins.isinstance" in self.names_of(func)
                and call.args
                and self._is_param(call.args[0].value, touching)
            ):
                return (
                    f"{p} is type-tested with isinstance at line {self.line_of(call)};"
                    " it may not always be a tensor"
                )
        for sub in facts.subscripts:
            if self._is_param(sub.value, touching) and any(
                isinstance(e.slice, cst.Index)
                and isinstance(e.slice.value, cst.SimpleString | cst.ConcatenatedString)
                for e in sub.slice
            ):
                return (
                    f"{p} is indexed by a string at line {self.line_of(sub)}: it is a mapping, not a tensor"
                )
        return ""

    def _binds_param(self, target: cst.BaseExpression, touching: set[int]) -> bool:
        if isinstance(target, cst.Tuple | cst.List):
            return any(self._binds_param(e.value, touching) for e in target.elements)
        return self._is_param(target, touching)

    def _logit_consumer(self, call: cst.Call, touching: set[int]) -> str:
        """The activation or logit loss ``call`` applies to the param directly, or empty."""
        func = call.func
        if isinstance(func, cst.Attribute) and self._is_param(func.value, touching):
            return func.attr.value if func.attr.value in ACTIVATION_METHODS else ""
        arg = next((a for a in call.args if a.keyword is None and not a.star), None)
        arg = next((a for a in call.args if a.keyword and a.keyword.value == "input"), arg)
        if arg is None or not self._is_param(arg.value, touching):
            return ""
        matched = sorted(self.names_of(func) & (ACTIVATION_FUNCS | LOGIT_LOSSES))
        return matched[0] if matched else ""

    def _activation_in(self, expr: cst.BaseExpression) -> bool:
        for call in calls_in(expr):
            if isinstance(call.func, cst.Attribute) and call.func.attr.value in ACTIVATION_METHODS:
                return True
            if self.names_of(call.func) & ACTIVATION_FUNCS:
                return True
        return False

    def _is_stub(self, lines: Sequence[cst.BaseStatement]) -> bool:
        if not lines:
            return True
        stub = m.SimpleStatementLine(
            body=[
                m.AtLeastN(
                    m.Expr(m.Ellipsis())
                    | m.Pass()
                    | m.Raise(exc=m.Name("NotImplementedError") | m.Call(func=m.Name("NotImplementedError"))),
                    n=1,
                )
            ]
        )
        return all(m.matches(line, stub) for line in lines)

    def _line_kinds(self, line: cst.BaseStatement, touching: set[int]) -> dict[str, str] | None:
        """The guard kinds a body line holds, or ``None`` if it otherwise touches the param."""
        if isinstance(line, cst.SimpleStatementLine):
            kinds: dict[str, str] = {}
            for small in line.body:
                kind = self._small_kind(small, touching)
                if kind is None:
                    return None
                if kind:
                    kinds.setdefault(kind[0], kind[1])
            return kinds
        if isinstance(line, cst.If) and self._has_finite_call(line.test, touching):
            return {"check": ""}
        return None if self._touches(line, touching) else {}

    def _small_kind(
        self, small: cst.BaseSmallStatement, touching: set[int]
    ) -> tuple[str, str] | tuple[()] | None:
        """("clamp"|"other-clamp"|"check", detail), () when unrelated, None when a use."""
        if isinstance(small, cst.Assert) and self._has_finite_call(small.test, touching):
            return ("check", "")
        value: cst.BaseExpression | None = None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            if self._is_param(small.targets[0].target, touching):
                value = small.value
        elif isinstance(small, cst.AnnAssign) and self._is_param(small.target, touching):
            value = small.value
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            call = small.value
            if self.names_of(call.func) & TORCH_ASSERT and call.args:
                if self._has_finite_call(call.args[0].value, touching):
                    return ("check", "")
            elif isinstance(call.func, cst.Attribute) and self._is_param(call.func.value, touching):
                attr = call.func.attr.value
                if attr in CLAMP_INPLACE:
                    return self._clamp_kind(call, call.args)
                if attr in NAN_TO_NUM_METHODS:
                    return ("check", "")
        if value is not None and isinstance(value, cst.Call):
            func = value.func
            if isinstance(func, cst.Attribute) and self._is_param(func.value, touching):
                if func.attr.value in CLAMP_METHODS:
                    return self._clamp_kind(value, value.args)
                if func.attr.value in NAN_TO_NUM_METHODS:
                    return ("check", "")
            qnames = self.names_of(func)
            if value.args and self._is_param(value.args[0].value, touching):
                if value.args[0].keyword is None and qnames & CLAMP_FUNCS:
                    return self._clamp_kind(value, value.args[1:])
                if "torch.nan_to_num" in qnames:
                    return ("check", "")
        if self._touches(small, touching):
            return None
        return ()

    def _clamp_kind(self, call: cst.Call, args: Sequence[cst.Arg]) -> tuple[str, str] | None:
        bounds: dict[str, cst.BaseExpression] = {}
        for position, arg in enumerate(args):
            if arg.star:
                return None
            key = arg.keyword.value if arg.keyword else ("min", "max")[min(position, 1)]
            if position > 1 and not arg.keyword:
                return None
            bounds[key] = arg.value
        if set(bounds) - {"min", "max"}:
            return None  # out=..., not a plain clamp: treat as a use
        low = bounds.get("min")
        high = bounds.get("max")
        if (
            low is not None
            and high is not None
            and literal_number(low) == self.low
            and literal_number(high) == self.high
        ):
            return ("clamp", "")
        low_code = self.code_of(low) if low is not None else "None"
        high_code = self.code_of(high) if high is not None else "None"
        return (
            "other-clamp",
            f"{self.param} is already clamped to ({low_code}, {high_code}) at line"
            f" {self.line_of(call)}; not adding a second clamp to"
            f" ({format_number(self.low)}, {format_number(self.high)})",
        )

    def _has_finite_call(self, expr: cst.BaseExpression, touching: set[int]) -> bool:
        return any(self._is_finite_call(call, touching) for call in calls_in(expr))

    def _is_finite_call(self, call: cst.Call, touching: set[int]) -> bool:
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in FINITE_METHODS
            and self._is_param(func.value, touching)
        ):
            return True
        if call.args and self.names_of(func) & FINITE_FUNCS:
            return self._is_param(call.args[0].value, touching)
        return False

    def _finite_handling(self, facts: BodyFacts, touching: set[int]) -> int | None:
        for call in facts.calls:
            if self._is_finite_call(call, touching):
                return self.line_of(call)
        return None

    def _touches(self, node: cst.CSTNode, touching: set[int]) -> bool:
        return any(id(name) in touching for name in m.findall(node, m.Name()))

    # -- torch -------------------------------------------------------------------
    def _torch_imports(self, scope: Scope) -> tuple[list[str], bool]:
        """Names module-level imports bind to the torch module (``torch`` first), and
        whether the module imports from torch in any other form."""
        if self.torch_imports is None:
            names: list[str] = []
            other = False
            seen: set[int] = set()
            for assignment in scope.globals.assignments:
                found = getattr(assignment, "node", None)
                if not isinstance(assignment, ImportAssignment) or id(found) in seen:
                    continue
                seen.add(id(found))
                if isinstance(found, cst.ImportFrom):
                    module = get_full_name_for_node(found.module) if found.module else None
                    if not found.relative and module and module.split(".")[0] == "torch":
                        other = True
                    continue
                if not isinstance(found, cst.Import):
                    continue
                for alias in found.names:
                    full = get_full_name_for_node(alias.name) or ""
                    if alias.asname is not None:
                        bound = alias.asname.name
                        if full == "torch" and isinstance(bound, cst.Name):
                            names.append(bound.value)
                        elif full.split(".")[0] == "torch":
                            other = True
                    elif full.split(".")[0] == "torch":
                        names.append("torch")
            names.sort(key=lambda n: n != "torch")
            self.torch_imports = (list(dict.fromkeys(names)), other)
        return self.torch_imports

    def _resolve_torch(self, scope: Scope, candidates: list[str]) -> tuple[str, bool] | str:
        """The name of the torch module inside the function and whether ``import torch``
        must be added, or why no name can be shown to be the module."""
        for name in candidates:
            if name not in scope:
                continue
            assignments = list(scope[name])
            if any(id(getattr(a, "node", None)) in self.type_checking_imports for a in assignments):
                return f"{name} is imported only under `if TYPE_CHECKING:`, not at run time"
            only_imports = all(
                isinstance(a, ImportAssignment) and isinstance(a.scope, GlobalScope) for a in assignments
            )
            qualified = {q.name for q in scope.get_qualified_names_for(name)}
            if assignments and only_imports and qualified == {"torch"}:
                return name, False
        if candidates:
            return (
                f"cannot prove that {' or '.join(candidates)} is the torch module inside the"
                " function (shadowed, imported locally or conditionally rebound)"
            )
        if "torch" in scope or "torch" in scope.globals:
            return (
                "the name torch is bound in or around the function (a local import or another"
                " value); not adding import torch"
            )
        return "torch", True

    # -- helpers -----------------------------------------------------------------
    @staticmethod
    def _as_block(body: cst.BaseSuite) -> cst.IndentedBlock:
        """The body as an indented block; a one-line suite becomes one (its docstring,
        if any, on a line of its own)."""
        if isinstance(body, cst.IndentedBlock):
            return body
        assert isinstance(body, cst.SimpleStatementSuite)
        smalls = list(body.body)
        lines: list[cst.BaseStatement] = []
        first = smalls[0]
        if (
            len(smalls) > 1
            and isinstance(first, cst.Expr)
            and isinstance(first.value, cst.SimpleString | cst.ConcatenatedString)
        ):
            lines.append(
                cst.SimpleStatementLine(body=[first.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)])
            )
            smalls = smalls[1:]
        lines.append(cst.SimpleStatementLine(body=smalls, trailing_whitespace=body.trailing_whitespace))
        return cst.IndentedBlock(body=lines, header=cst.TrailingWhitespace())
