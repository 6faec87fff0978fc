"""Whether removing a ``.detach().cpu()`` pair is safe: the flow analysis of remove-detach-cpu.

:class:`DetachCpuAnalysis` walks a module (with the command's metadata) and decides, for
every pair inside the named method of a LightningModule, whether the pair may go and
whether ``.detach()`` must stay; the command only rewrites what it decided. It follows the
value of the pair upwards (attributes, calls, operators, assignments to local names, lists
and containers it lands in) while it is the same tensor or a view of it, looking for a
need of host memory (numpy, ``.tolist()``, a CPU-only library), an in-place write that
would now reach the source, or an operand whose device is unknown.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    ParentNodeProvider,
    PositionProvider,
    ProviderT,
    QualifiedNameProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from codemods.base import RunnerVisitor

LIGHTNING_MODULES = frozenset(
    {
        "pytorch_lightning.LightningModule",
        "pytorch_lightning.core.LightningModule",
        "pytorch_lightning.core.module.LightningModule",
        "lightning.LightningModule",
        "lightning.pytorch.LightningModule",
        "lightning.pytorch.core.LightningModule",
        "lightning.pytorch.core.module.LightningModule",
    }
)
# Lightning runs these hooks under torch.no_grad()/inference_mode(), so a
# ``.detach()`` in them is a no-op and can go with the ``.cpu()``.
NO_GRAD_HOOKS = frozenset({"validation_step", "test_step", "predict_step"})
GRAD_ENABLERS = frozenset(
    {
        "torch.enable_grad",
        "torch.autograd.enable_grad",
        "torch.autograd.grad_mode.enable_grad",
        "torch.set_grad_enabled",
        "torch.autograd.set_grad_enabled",
        "torch.autograd.grad_mode.set_grad_enabled",
    }
)
# Libraries that turn their inputs into numpy arrays, which fails for a CUDA tensor.
CPU_ONLY_ROOTS = frozenset(
    {
        "numpy",
        "cv2",
        "PIL",
        "sklearn",
        "scipy",
        "matplotlib",
        "pandas",
        "skimage",
        "seaborn",
        "imageio",
    }
)
# wandb media types that call numpy on the data (wandb.Image and wandb.log cope with CUDA).
WANDB_CPU_ONLY = frozenset({"Histogram", "Video", "Audio", "Object3D", "Table", "Molecule"})
# Bases that say nothing about LightningModule: a class with only these is plainly not one.
NOT_LIGHTNING_ROOTS = frozenset(
    {"torch", "builtins", "typing", "typing_extensions", "abc", "collections", "enum"}
)
# Tensor methods whose argument is a second operand, which must be on the same device.
BINARY_METHODS = frozenset(
    {
        "add",
        "sub",
        "mul",
        "div",
        "true_divide",
        "floor_divide",
        "remainder",
        "pow",
        "matmul",
        "mm",
        "bmm",
        "dot",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "maximum",
        "minimum",
        "logical_and",
        "logical_or",
        "logical_xor",
        "where",
        "masked_fill",
        "masked_select",
        "expand_as",
        "type_as",
    }
)
# Tensor attributes and methods whose result is no longer the tensor (nor a view of it).
NON_TENSOR_RESULTS = frozenset(
    {
        "shape",
        "size",
        "dim",
        "ndim",
        "ndimension",
        "numel",
        "nelement",
        "element_size",
        "itemsize",
        "nbytes",
        "dtype",
        "device",
        "get_device",
        "layout",
        "is_cuda",
        "is_sparse",
        "is_contiguous",
        "is_floating_point",
        "requires_grad",
        "item",
        "stride",
        "storage_offset",
        "names",
    }
)
# Tensor methods that may return the tensor itself or a view of it.
ALIASING_METHODS = frozenset(
    {
        "float",
        "double",
        "half",
        "bfloat16",
        "int",
        "long",
        "bool",
        "byte",
        "contiguous",
        "to",
        "type",
        "type_as",
        "view",
        "view_as",
        "reshape",
        "reshape_as",
        "squeeze",
        "unsqueeze",
        "permute",
        "transpose",
        "t",
        "flatten",
        "expand",
        "expand_as",
        "narrow",
        "select",
        "detach",
    }
)
LIST_ADDERS = frozenset({"append", "extend", "insert"})
MAX_FLOW_DEPTH = 6

_LITERALS = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)
_CONTAINERS = (cst.List, cst.Tuple, cst.Set, cst.Dict)
_ELEMENTS = (cst.Element, cst.StarredElement, cst.DictElement, cst.StarredDictElement)

LM, NOT_LM, UNKNOWN = "lightning", "not-lightning", "unknown"
CPU, MUTATION, DEVICE = "cpu", "mutation", "device"  # kinds of findings
_Finding = tuple[str, str]  # (what happens to the value, kind)


@dataclass(frozen=True)
class _Checks:
    """What a flow walk looks for: CPU needs (numpy, device mixing), in-place writes."""

    cpu: bool
    mutation: bool


_ALL = _Checks(cpu=True, mutation=True)
_MUTATIONS = _Checks(cpu=False, mutation=True)
_CPU_NEEDS = _Checks(cpu=True, mutation=False)


@dataclass(frozen=True)
class Pair:
    """``X.detach().cpu()`` or ``X.cpu().detach()``, as found in one tree."""

    outer: cst.Call
    inner: cst.Call
    value: cst.BaseExpression  # X
    order: str  # "detach().cpu()" or "cpu().detach()"

    @property
    def cpu_call(self) -> cst.Call:
        return self.outer if self.order == "detach().cpu()" else self.inner


@dataclass
class _Frame:
    """A class or function being visited; ``target`` says whether it is in the method."""

    target: Target | None
    grad_enabled: bool = False  # decorated with, or inside ``with``, torch.enable_grad()
    grad_withs: int = 0


@dataclass(frozen=True)
class Target:
    class_name: str
    status: str  # LM / NOT_LM / UNKNOWN
    unknown_why: str
    method: str
    depth: int  # index of the method's frame in the stack
    self_name: str  # the method's first parameter, usually ``self``


_DETACH_THEN_CPU = m.Call(
    func=m.Attribute(value=m.Call(func=m.Attribute(attr=m.Name("detach")), args=[]), attr=m.Name("cpu"))
)
_CPU_THEN_DETACH = m.Call(
    func=m.Attribute(value=m.Call(func=m.Attribute(attr=m.Name("cpu"))), attr=m.Name("detach")), args=[]
)
_MOVE = m.Call(func=m.Attribute(attr=m.Name("detach") | m.Name("cpu")))


def match_pair(node: cst.BaseExpression) -> Pair | None:
    """``node`` as a ``X.detach().cpu()``/``X.cpu().detach()`` pair (torch's argument-less
    ``detach``), else None."""
    if m.matches(node, _DETACH_THEN_CPU):
        order = "detach().cpu()"
    elif m.matches(node, _CPU_THEN_DETACH):
        order = "cpu().detach()"
    else:
        return None
    outer = cst.ensure_type(node, cst.Call)
    inner = cst.ensure_type(cst.ensure_type(outer.func, cst.Attribute).value, cst.Call)
    return Pair(outer, inner, cst.ensure_type(inner.func, cst.Attribute).value, order)


def _ends_with_move(node: cst.BaseExpression) -> bool:
    """``node`` is a ``....detach()`` or ``....cpu()`` call."""
    return m.matches(node, _MOVE)


def _comments_in(node: cst.CSTNode) -> int:
    return len(m.findall(node, m.Comment()))


class CandidateFinder(cst.CSTVisitor):
    """Metadata-free pre-scan: is there a pair inside a method of that name in some class?

    Expression statements outside such methods are not entered, so this is much cheaper
    than the metadata (scope, qualified names, parents) the real pass needs.
    """

    def __init__(self, method: str) -> None:
        self.method = method
        self.stack: list[str] = []
        self.found = False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.stack.append("class")
        return not self.found

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        top = self.stack[-1] if self.stack else ""
        is_method = top == "class" and node.name.value == self.method
        self.stack.append("target" if is_method or top == "target" else "function")
        return not self.found

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()

    def _in_target(self) -> bool:
        return not self.found and bool(self.stack) and self.stack[-1] == "target"

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return self._in_target()

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> bool:
        return self._in_target()

    def visit_Call(self, node: cst.Call) -> bool:
        if match_pair(node) is not None:
            self.found = True
        return not self.found


@dataclass(frozen=True)
class Decision:
    """What to do with one pair: ``skip`` says why it stays; else remove it, keeping
    ``.detach()`` when ``keep_detach`` (gradients may be enabled there)."""

    pair: Pair
    skip: str | None
    keep_detach: bool

    @property
    def chain(self) -> str:
        return f".{self.pair.order}"


class DetachCpuAnalysis(RunnerVisitor):
    """Decide every ``.detach().cpu()`` pair of a module (see the module docstring).

    After visiting, ``decisions`` maps each pair's outer call to its :class:`Decision`.
    """

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        PositionProvider,
        ParentNodeProvider,
        QualifiedNameProvider,
        ScopeProvider,
    )

    def __init__(self, context: cst.codemod.CodemodContext, method: str) -> None:
        super().__init__(context)
        self.method = method
        self.decisions: dict[cst.Call, Decision] = {}
        self._frames: list[_Frame] = []
        self._class_status: dict[cst.ClassDef, tuple[str, str]] = {}
        self._problems: dict[cst.Call, str | None] = {}
        self._in_progress: set[cst.Call] = set()

    def _base_status(self, base: cst.BaseExpression) -> tuple[str, str]:
        """(status, why unknown) of one base class expression."""
        while isinstance(base, cst.Subscript):  # Generic[T], Base[Cfg]
            base = base.value
        if isinstance(base, cst.Name):
            scope = self.scope_of(base)
            assignments = list(scope[base.value]) if scope is not None else []
            if (
                len(assignments) == 1
                and isinstance(assignments[0], Assignment)
                and isinstance(assignments[0].node, cst.ClassDef)
                and assignments[0].node in self._class_status
            ):
                return self._class_status[assignments[0].node]
        names = self.qualified_names(base)
        if not names:
            return UNKNOWN, f"base `{self._short_code(base)}` cannot be resolved"
        if all(q.name in LIGHTNING_MODULES for q in names):
            return LM, ""
        if all(
            q.source is QualifiedNameSource.BUILTIN or q.name.split(".")[0] in NOT_LIGHTNING_ROOTS
            for q in names
        ):
            return NOT_LM, ""
        if any(q.source is QualifiedNameSource.LOCAL for q in names):
            return UNKNOWN, f"base `{self._short_code(base)}` is a name of this file that is not a class"
        shown = sorted(q.name for q in names)[0]
        return (
            UNKNOWN,
            f"base `{shown}` is defined elsewhere, and only this file's classes are read",
        )

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        statuses = [self._base_status(arg.value) for arg in node.bases]
        if any(s == LM for s, _ in statuses):
            status = (LM, "")
        else:
            unknown = [why for s, why in statuses if s == UNKNOWN]
            status = (UNKNOWN, unknown[0]) if unknown else (NOT_LM, "")
        self._class_status[node] = status
        self._frames.append(_Frame(None))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._frames.pop()

    # -- where we are --------------------------------------------------------------
    def _enables_grad(self, expr: cst.BaseExpression) -> bool:
        func = expr.func if isinstance(expr, cst.Call) else expr
        names = {q.name for q in self.qualified_names(func)}
        if not names & GRAD_ENABLERS:
            return False
        if isinstance(expr, cst.Call) and names <= {n for n in GRAD_ENABLERS if "set_" in n}:
            first = expr.args[0].value if expr.args else None
            return not (isinstance(first, cst.Name) and first.value == "False")
        return True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        grad = any(self._enables_grad(d.decorator) for d in node.decorators)
        parent = self.parent_of(node)
        owner = self.parent_of(parent) if isinstance(parent, cst.IndentedBlock) else None
        if isinstance(owner, cst.ClassDef) and node.name.value == self.method:
            status, why = self._class_status[owner]
            params = node.params.params
            self_name = params[0].name.value if params else ""
            target = Target(owner.name.value, status, why, self.method, len(self._frames), self_name)
            self._frames.append(_Frame(target, grad_enabled=grad))
        elif self._frames and self._frames[-1].target is not None:
            self._frames.append(_Frame(self._frames[-1].target, grad_enabled=grad))
        else:
            self._frames.append(_Frame(None))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._frames.pop()

    def visit_With(self, node: cst.With) -> None:
        if self._frames and any(self._enables_grad(item.item) for item in node.items):
            self._frames[-1].grad_withs += 1

    def leave_With(self, original_node: cst.With) -> None:
        if self._frames and any(self._enables_grad(i.item) for i in original_node.items):
            self._frames[-1].grad_withs -= 1

    def _keep_detach(self, target: Target) -> bool:
        if target.method not in NO_GRAD_HOOKS:
            return True
        return any(f.grad_enabled or f.grad_withs for f in self._frames[target.depth :])

    # -- the rewrite ---------------------------------------------------------------

    # -- the decision (original tree only) -------------------------------------------
    def leave_Call(self, original_node: cst.Call) -> None:
        target = self._frames[-1].target if self._frames else None
        if target is None or target.status == NOT_LM:
            return
        pair = match_pair(original_node)
        if pair is None:
            return
        chain = f".{pair.order}"
        if target.status == UNKNOWN:
            why = f"class {target.class_name} is not known to be a LightningModule: {target.unknown_why}"
            self.decisions[original_node] = Decision(pair, f"{chain} kept: {why}", False)
            return
        problem = self._problem(pair)
        skip = f"{chain} kept: {problem}" if problem is not None else None
        self.decisions[original_node] = Decision(pair, skip, self._keep_detach(target))

    def _problem(self, pair: Pair) -> str | None:
        """Why removing this pair is not safe, or None; memoised per call node."""
        if pair.outer in self._problems:
            return self._problems[pair.outer]
        if pair.outer in self._in_progress:
            return None  # its fate is decided by the caller, which shares the flow
        self._in_progress.add(pair.outer)
        try:
            problem = self._compute_problem(pair)
        finally:
            self._in_progress.discard(pair.outer)
        self._problems[pair.outer] = problem
        return problem

    def _compute_problem(self, pair: Pair) -> str | None:
        if pair.cpu_call.args:
            return (
                f"`.cpu({self._short_code(pair.cpu_call.args[0], 30)})` takes arguments; "
                "only a bare .detach().cpu() pair is removed"
            )
        parent = self.parent_of(pair.outer)
        if _ends_with_move(pair.value) or (
            isinstance(parent, cst.Attribute) and parent.attr.value in ("detach", "cpu")
        ):
            return "the chain repeats .detach()/.cpu(); simplify it by hand"
        removed = pair.outer.with_changes(lpar=[], rpar=[])
        if _comments_in(removed) > _comments_in(pair.value):
            return "a comment inside the chain would be lost"
        state = self._module_state(pair.value)
        if state is not None:
            return (
                f"`{self._short_code(state)}` is module state (a buffer, a parameter...) that may be "
                "updated in place later, and the result would share its memory"
            )
        if isinstance(pair.value, cst.Name):
            found = self._name_problem(pair.value, 0, set(), _MUTATIONS)
            if found is not None:
                return f"the result would share memory with {found[0]}"
        found = self._flow_problem(pair.outer, 0, set(), _ALL)
        if found is None:
            return None
        text, kind = found
        if kind == MUTATION:
            return f"the result {text}, which would then also change `{self._short_code(pair.value)}`"
        return f"the result {text}"

    def _module_state(self, value: cst.BaseExpression) -> cst.BaseExpression | None:
        """``value`` if it is (a view of) an attribute of ``self``: ``self.ema``, ``self.w.t()``."""
        target = self._frames[-1].target if self._frames else None
        if target is None or not target.self_name:
            return None
        current, through_attribute = value, False
        while True:
            if isinstance(current, cst.Call):
                func = current.func
                if not (isinstance(func, cst.Attribute) and func.attr.value in ALIASING_METHODS):
                    return None  # calling a module or a function: a new tensor
                current = func.value
            elif isinstance(current, cst.Attribute):
                current, through_attribute = current.value, True
            elif isinstance(current, cst.Subscript):
                current = current.value
            elif isinstance(current, cst.Name):
                return value if through_attribute and current.value == target.self_name else None
            else:
                return None

    def _name_problem(
        self, name: cst.Name, depth: int, seen: set[cst.CSTNode], checks: _Checks
    ) -> _Finding | None:
        """Problem with the values bound to ``name`` (``name`` is a load or a store of it)."""
        scope = self.scope_of(name)
        if scope is None or depth >= MAX_FLOW_DEPTH:
            return None
        access = self.access_of(name)
        bindings: Collection[BaseAssignment] = (
            access.referents if access is not None else scope.assignments[name.value]
        )
        assignments = sorted(
            (a for a in bindings if isinstance(a, Assignment)),
            key=lambda a: self.line_of(a.node),
        )
        for assignment in assignments if checks.mutation else ():
            statement = self.parent_of(assignment.node)
            if isinstance(statement, cst.AugAssign) and statement.target is assignment.node:
                line = self.line_of(statement)
                op = self._short_code(statement.operator).strip()
                return (
                    f"`{name.value}`, which on line {line} is modified in place by `{op}`",
                    MUTATION,
                )
        references = sorted(
            {ref.node for a in assignments for ref in a.references},
            key=self.line_of,
        )
        for ref in references:
            if ref in seen:
                continue
            seen.add(ref)
            found = self._flow_problem(ref, depth + 1, seen, checks)
            if found is not None:
                text, kind = found
                return f"`{name.value}`, which on line {self.line_of(ref)} {text}", kind
        return None

    def _flow_problem(
        self, node: cst.CSTNode, depth: int, seen: set[cst.CSTNode], checks: _Checks
    ) -> _Finding | None:
        """Follow the value of ``node`` upwards while it stays the same tensor (or a view)."""
        while True:
            parent = self.parent_of(node)
            if isinstance(parent, cst.Attribute) and parent.value is node:
                grand = self.parent_of(parent)
                name = parent.attr.value
                if name == "numpy" and checks.cpu:
                    return "feeds .numpy(), which needs a CPU tensor", CPU
                if name == "data_ptr" and checks.cpu:
                    return "feeds .data_ptr(), a raw address that is host memory only on the CPU", CPU
                if name in NON_TENSOR_RESULTS:
                    return None  # a shape, a dtype, a Python number: no longer the tensor
                if not (isinstance(grand, cst.Call) and grand.func is parent):
                    if checks.mutation and self._is_store(parent):
                        return f"has its `.{name}` assigned", MUTATION
                    node = parent
                    continue
                if name == "tolist" and checks.cpu:
                    return "feeds .tolist(), which copies to host memory anyway", CPU
                if checks.mutation and name.endswith("_") and not name.startswith("_"):
                    return f"is modified in place by .{name}()", MUTATION
                if name in BINARY_METHODS and checks.cpu:
                    other = self._unknown_operand([a.value for a in grand.args])
                    if other is not None:
                        return (
                            f"is combined by .{name}() with `{self._short_code(other)}`, "
                            "whose device is unknown (it worked with a CPU tensor)",
                            DEVICE,
                        )
                node = grand
                continue
            if isinstance(parent, cst.Subscript) and parent.value is node:
                if checks.mutation and self._is_store(parent):
                    return "is written to by item assignment", MUTATION
                node = parent
                continue
            if isinstance(parent, (cst.BinaryOperation, cst.Comparison, cst.ComparisonTarget)):
                expr = self.parent_of(parent) if isinstance(parent, cst.ComparisonTarget) else parent
                if not isinstance(expr, (cst.BinaryOperation, cst.Comparison)) or not checks.cpu:
                    return None
                if checks.cpu:
                    if isinstance(expr, cst.BinaryOperation):
                        operands = [expr.left, expr.right]
                    else:
                        operands = [expr.left, *(c.comparator for c in expr.comparisons)]
                    other = self._unknown_operand([o for o in operands if o is not node])
                    if other is not None:
                        return (
                            f"is combined with `{self._short_code(other)}`, "
                            "whose device is unknown (it worked with a CPU tensor)",
                            DEVICE,
                        )
                node, checks = expr, _CPU_NEEDS  # a new tensor: writes to it are harmless
                continue
            if isinstance(parent, cst.IfExp) and parent.test is not node:
                node = parent
                continue
            if (
                isinstance(parent, (cst.UnaryOperation, *_ELEMENTS, *_CONTAINERS))
                or (isinstance(parent, (cst.ListComp, cst.SetComp, cst.GeneratorExp)) and parent.elt is node)
                or (isinstance(parent, cst.DictComp) and parent.value is node)
            ):
                if not checks.cpu:
                    return None
                # a new tensor, or a container: writes to it do not reach the tensor
                node, checks = parent, _CPU_NEEDS
                continue
            if isinstance(parent, cst.Arg):
                return self._arg_problem(parent, node, depth, seen, checks)
            if isinstance(parent, (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.NamedExpr)):
                return self._assign_problem(parent, node, depth, seen, checks)
            if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
                if isinstance(parent.target, cst.Name) and parent.target not in seen:
                    seen.add(parent.target)
                    found = self._name_problem(parent.target, depth + 1, seen, checks)
                    return None if found is None else (f"is iterated into {found[0]}", found[1])
                return None
            return None

    def _arg_problem(
        self,
        arg: cst.Arg,
        node: cst.CSTNode,
        depth: int,
        seen: set[cst.CSTNode],
        checks: _Checks,
    ) -> _Finding | None:
        call = self.parent_of(arg)
        if not isinstance(call, cst.Call):
            return None
        if checks.mutation and arg.keyword is not None and arg.keyword.value == "out":
            return "is the `out=` of a call, which writes into it", MUTATION
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in LIST_ADDERS
            and isinstance(func.value, cst.Name)
        ):
            if not checks.cpu:
                return None
            # what happens to the list is not what happens to the tensor: CPU needs only
            found = self._name_problem(func.value, depth + 1, seen, _CPU_NEEDS)
            return None if found is None else (f"is added to {found[0]}", found[1])
        names = {q.name for q in self.qualified_names(func)}
        if checks.cpu:
            for qname in sorted(names):
                parts = qname.split(".")
                if parts[0] in CPU_ONLY_ROOTS or (parts[0] == "wandb" and parts[-1] in WANDB_CPU_ONLY):
                    return f"is passed to {qname}(), which needs a CPU tensor", CPU
        if not (names and all(n.split(".")[0] == "torch" for n in names)):
            return None  # an unknown callee: assumed to cope with a tensor on any device
        if checks.cpu and arg.keyword is None:
            operands: list[cst.BaseExpression] = []
            for other in call.args:
                if other.keyword is not None:
                    continue
                if isinstance(other.value, (cst.List, cst.Tuple)):
                    operands += [e.value for e in other.value.elements]
                else:
                    operands.append(other.value)
            unknown = self._unknown_operand([o for o in operands if o is not node and o is not arg.value])
            if unknown is not None:
                return (
                    f"is passed to {sorted(names)[0]}() with `{self._short_code(unknown)}`, "
                    "whose device is unknown (it worked with a CPU tensor)",
                    DEVICE,
                )
        return self._flow_problem(call, depth, seen, checks)

    def _assign_problem(
        self,
        statement: cst.Assign | cst.AnnAssign | cst.AugAssign | cst.NamedExpr,
        node: cst.CSTNode,
        depth: int,
        seen: set[cst.CSTNode],
        checks: _Checks,
    ) -> _Finding | None:
        if isinstance(statement, cst.AugAssign):
            if statement.value is node and checks.cpu:
                return (
                    f"is accumulated into `{self._short_code(statement.target)}`, "
                    "whose device is unknown (it worked with a CPU tensor)",
                    DEVICE,
                )
            return None
        if statement.value is not node:
            return None
        targets: list[cst.BaseExpression]
        if isinstance(statement, cst.Assign):
            targets = [t.target for t in statement.targets]
        else:
            targets = [statement.target]
        for target in targets:
            found: _Finding | None = None
            if isinstance(target, cst.Name) and target not in seen:
                seen.add(target)
                found = self._name_problem(target, depth + 1, seen, checks)
                if found is not None:
                    found = f"flows into {found[0]}", found[1]
            elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                found = self._container_problem(target.value, depth, seen, checks)
            if found is not None:
                return found
        if isinstance(statement, cst.NamedExpr):
            return self._flow_problem(statement, depth, seen, checks)
        return None

    def _container_problem(
        self, name: cst.Name, depth: int, seen: set[cst.CSTNode], checks: _Checks
    ) -> _Finding | None:
        """``name[key] = result``: is ``name`` a numpy array, or read into numpy later?"""
        access = self.access_of(name)
        if access is None or not checks.cpu:
            return None
        for assignment in access.referents:
            if not isinstance(assignment, Assignment):
                continue
            statement = self._binding_statement(assignment)
            value = getattr(statement, "value", None)
            if isinstance(value, cst.Call):
                roots = {q.name.split(".")[0] for q in self.qualified_names(value.func)}
                if roots & CPU_ONLY_ROOTS:
                    return f"is stored into `{name.value}`, a numpy array", CPU
        # what happens to the container is not what happens to the tensor: CPU needs only
        found = self._name_problem(name, depth + 1, seen, _CPU_NEEDS)
        return None if found is None else (f"is stored into {found[0]}", found[1])

    def _unknown_operand(self, operands: list[cst.BaseExpression]) -> cst.BaseExpression | None:
        """The first operand that may be a tensor on another device, if any."""
        for operand in operands:
            if not self._device_neutral(operand):
                return operand
        return None

    def _device_neutral(self, operand: cst.BaseExpression) -> bool:
        if isinstance(operand, _LITERALS):
            return True
        if isinstance(operand, cst.Name) and operand.value in ("None", "True", "False"):
            return True
        if isinstance(operand, cst.UnaryOperation):
            return self._device_neutral(operand.expression)
        # another .detach().cpu() chain (maybe followed by methods) that is removed too,
        # directly or through a local name bound only to such chains
        root = self._chain_root(operand)
        if isinstance(root, cst.Call):
            pair = match_pair(root)
            return pair is not None and self._problem(pair) is None
        if not isinstance(root, cst.Name):
            return False
        access = self.access_of(root)
        if access is None or not access.referents:
            return False
        for binding in access.referents:
            if not isinstance(binding, Assignment):
                return False
            statement = self._binding_statement(binding)
            if not (isinstance(statement, (cst.Assign, cst.AnnAssign)) and statement.value is not None):
                return False
            bound = self._chain_root(statement.value)
            pair = match_pair(bound) if isinstance(bound, cst.Call) else None
            if pair is None or self._problem(pair) is not None:
                return False
        return True

    def _binding_statement(self, assignment: Assignment) -> cst.CSTNode | None:
        """The statement binding a name: ``Assign`` for ``x = ...``, ``AnnAssign``, ..."""
        parent = self.parent_of(assignment.node)
        return self.parent_of(parent) if isinstance(parent, cst.AssignTarget) else parent

    @staticmethod
    def _chain_root(expr: cst.BaseExpression) -> cst.BaseExpression:
        """The first .detach().cpu() pair below method calls/attributes/items, else the base."""
        while True:
            if match_pair(expr) is not None:
                return expr
            if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
                expr = expr.func.value
            elif isinstance(expr, (cst.Subscript, cst.Attribute)):
                expr = expr.value
            else:
                return expr

    def _is_store(self, node: cst.CSTNode) -> bool:
        """Is ``node`` (an attribute or item) written to?"""
        child = node
        parent = self.parent_of(child)
        while isinstance(parent, (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
            child, parent = parent, self.parent_of(parent)
        if isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For)):
            return getattr(parent, "target", None) is child
        if isinstance(parent, cst.Del):
            return parent.target is child
        return False

    def _short_code(self, node: cst.CSTNode, limit: int = 40) -> str:
        return self.short(self.code_of(node), limit)
