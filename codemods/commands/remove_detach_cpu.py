"""``remove-detach-cpu``: keep ``validation_step`` tensors on their device."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar

import libcst as cst
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    ParentNodeProvider,
    ProviderT,
    QualifiedName,
    QualifiedNameProvider,
    QualifiedNameSource,
    Scope,
    ScopeProvider,
)

from codemods.base import Option, RunnerCodemod

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
class _Pair:
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

    target: _Target | None
    grad_enabled: bool = False  # decorated with, or inside ``with``, torch.enable_grad()
    grad_withs: int = 0


@dataclass(frozen=True)
class _Target:
    class_name: str
    status: str  # LM / NOT_LM / UNKNOWN
    unknown_why: str
    method: str
    depth: int  # index of the method's frame in the stack
    self_name: str  # the method's first parameter, usually ``self``


def _match_pair(node: cst.BaseExpression) -> _Pair | None:
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
        return None
    inner = node.func.value
    if not (isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute)):
        return None
    outer_name, inner_name = node.func.attr.value, inner.func.attr.value
    if (outer_name, inner_name) == ("cpu", "detach"):
        order = "detach().cpu()"
    elif (outer_name, inner_name) == ("detach", "cpu"):
        order = "cpu().detach()"
    else:
        return None
    pair = _Pair(node, inner, inner.func.value, order)
    detach_call = pair.inner if order == "detach().cpu()" else pair.outer
    if detach_call.args:  # not torch's Tensor.detach()
        return None
    return pair


def _ends_with_move(node: cst.BaseExpression) -> bool:
    """``node`` is a ``....detach()`` or ``....cpu()`` call."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in ("detach", "cpu")
    )


class _CommentCounter(cst.CSTVisitor):
    def __init__(self) -> None:
        self.count = 0

    def visit_Comment(self, node: cst.Comment) -> None:
        self.count += 1


def _comments_in(node: cst.CSTNode) -> int:
    counter = _CommentCounter()
    node.visit(counter)
    return counter.count


class _CandidateFinder(cst.CSTVisitor):
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
        if _match_pair(node) is not None:
            self.found = True
        return not self.found


def _code(node: cst.CSTNode, limit: int = 40) -> str:
    text = " ".join(cst.Module([]).code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RemoveDetachCpu(RunnerCodemod):
    """Remove ``.detach().cpu()`` in a LightningModule's ``validation_step``.

    Lightning already runs ``validation_step``/``test_step``/``predict_step``
    under ``torch.no_grad()``, so ``.detach()`` there is redundant, and ``.cpu()``
    copies every tensor to the host only for the logger (WandB, ``self.log``) to
    take it as it is. Inside the method named by the ``method`` option, in
    classes whose bases resolve (imports followed, any alias) to Lightning's
    ``LightningModule`` or to a class of this file that does, the chain is cut:

    * ``x.detach().cpu()`` and ``x.cpu().detach()`` become ``x``;
      ``x.detach().cpu().float()`` becomes ``x.float()``;
    * in a hook Lightning does not run under no-grad (``training_step`` ...),
      or under ``with torch.enable_grad()``/``set_grad_enabled``, only ``.cpu()``
      goes and ``.detach()`` stays (``x.detach()``), so no graph is kept alive;
    * nested functions and lambdas in the method are rewritten too; classes
      nested in it, and ``validation_step`` functions outside such a class, are not.

    Left as is, with a skip saying why: ``.cpu(...)`` with arguments; a comment
    inside the chain; a chain that repeats ``.detach()``/``.cpu()``; a result that
    feeds ``.numpy()``, ``.tolist()``, ``.data_ptr()`` or a numpy, sklearn, cv2, PIL,
    matplotlib, ``wandb.Histogram``... call, directly or through local names, a local
    list it is appended to or a numpy array it is stored in; a result modified in
    place (``y += 1``, ``y[m] = 0``, ``.add_()``, ``out=``), or whose source name is,
    or whose source is module state (``self.ema.detach().cpu()``): without the copy
    they would share memory; a result combined with an operand whose device is
    unknown (``y_hat.detach().cpu() == y``: ``y`` worked with a CPU tensor, so is
    likely on the CPU); and a class whose base is imported from elsewhere.

    Limits: flows through attributes (``self.outputs``), dict keys read in other
    methods, and calls of unknown functions (assumed to take any device, as
    ``self.log`` and ``wandb.log`` do) are not followed.

    Valid (rewritten)::

        class Net(pl.LightningModule):
            def validation_step(self, batch, batch_idx):
                self.log("val/loss", loss.detach().cpu())   # -> self.log("val/loss", loss)

    Invalid (kept, reported)::

        class Net(pl.LightningModule):
            def validation_step(self, batch, batch_idx):
                boxes = pred.detach().cpu().numpy()   # .numpy() needs a CPU tensor
    """

    NAME: ClassVar[str] = "remove-detach-cpu"
    DESCRIPTION = "Drop .detach().cpu() in a LightningModule's validation_step so tensors stay on the GPU."
    NEEDLES: ClassVar[tuple[bytes, ...]] = (b"detach",)
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option(
            "method",
            str,
            "validation_step",
            "name of the LightningModule method to clean (e.g. test_step)",
        ),
    )
    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        *RunnerCodemod.METADATA_DEPENDENCIES,
        ParentNodeProvider,
        QualifiedNameProvider,
        ScopeProvider,
    )

    def __init__(self, context: cst.codemod.CodemodContext, **options: object) -> None:
        super().__init__(context, **options)
        self.method = str(self.options["method"])
        self._frames: list[_Frame] = []
        self._class_status: dict[cst.ClassDef, tuple[str, str]] = {}
        self._problems: dict[cst.Call, str | None] = {}
        self._in_progress: set[cst.Call] = set()

    def transform_module(self, tree: cst.Module) -> cst.Module:
        finder = _CandidateFinder(self.method)
        tree.visit(finder)
        if not finder.found:
            return tree  # nothing to do: skip the tree copy and the metadata
        return super().transform_module(tree)

    # -- metadata helpers ----------------------------------------------------------
    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        parent: cst.CSTNode | None = self.get_metadata(ParentNodeProvider, node, None)
        return parent

    def _qnames(self, node: cst.CSTNode) -> Collection[QualifiedName]:
        empty: Collection[QualifiedName] = ()
        return self.get_metadata(QualifiedNameProvider, node, empty)

    def _scope(self, node: cst.CSTNode) -> Scope | None:
        scope: Scope | None = self.get_metadata(ScopeProvider, node, None)
        return scope

    # -- which classes are LightningModules --------------------------------------
    def _base_status(self, base: cst.BaseExpression) -> tuple[str, str]:
        """(status, why unknown) of one base class expression."""
        while isinstance(base, cst.Subscript):  # Generic[T], Base[Cfg]
            base = base.value
        if isinstance(base, cst.Name):
            scope = self._scope(base)
            assignments = list(scope[base.value]) if scope is not None else []
            if (
                len(assignments) == 1
                and isinstance(assignments[0], Assignment)
                and isinstance(assignments[0].node, cst.ClassDef)
                and assignments[0].node in self._class_status
            ):
                return self._class_status[assignments[0].node]
        names = self._qnames(base)
        if not names:
            return UNKNOWN, f"base `{_code(base)}` cannot be resolved"
        if all(q.name in LIGHTNING_MODULES for q in names):
            return LM, ""
        if all(
            q.source is QualifiedNameSource.BUILTIN or q.name.split(".")[0] in NOT_LIGHTNING_ROOTS
            for q in names
        ):
            return NOT_LM, ""
        if any(q.source is QualifiedNameSource.LOCAL for q in names):
            return UNKNOWN, f"base `{_code(base)}` is a name of this file that is not a class"
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

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self._frames.pop()
        return updated_node

    # -- where we are --------------------------------------------------------------
    def _enables_grad(self, expr: cst.BaseExpression) -> bool:
        func = expr.func if isinstance(expr, cst.Call) else expr
        names = {q.name for q in self._qnames(func)}
        if not names & GRAD_ENABLERS:
            return False
        if isinstance(expr, cst.Call) and names <= {n for n in GRAD_ENABLERS if "set_" in n}:
            first = expr.args[0].value if expr.args else None
            return not (isinstance(first, cst.Name) and first.value == "False")
        return True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        grad = any(self._enables_grad(d.decorator) for d in node.decorators)
        parent = self._parent(node)
        owner = self._parent(parent) if isinstance(parent, cst.IndentedBlock) else None
        if isinstance(owner, cst.ClassDef) and node.name.value == self.method:
            status, why = self._class_status[owner]
            params = node.params.params
            self_name = params[0].name.value if params else ""
            target = _Target(owner.name.value, status, why, self.method, len(self._frames), self_name)
            self._frames.append(_Frame(target, grad_enabled=grad))
        elif self._frames and self._frames[-1].target is not None:
            self._frames.append(_Frame(self._frames[-1].target, grad_enabled=grad))
        else:
            self._frames.append(_Frame(None))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._frames.pop()
        return updated_node

    def visit_With(self, node: cst.With) -> None:
        if self._frames and any(self._enables_grad(item.item) for item in node.items):
            self._frames[-1].grad_withs += 1

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        if self._frames and any(self._enables_grad(i.item) for i in original_node.items):
            self._frames[-1].grad_withs -= 1
        return updated_node

    def _keep_detach(self, target: _Target) -> bool:
        if target.method not in NO_GRAD_HOOKS:
            return True
        return any(f.grad_enabled or f.grad_withs for f in self._frames[target.depth :])

    # -- the rewrite ---------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        target = self._frames[-1].target if self._frames else None
        if target is None or target.status == NOT_LM:
            return updated_node
        original, updated = _match_pair(original_node), _match_pair(updated_node)
        if original is None or updated is None:
            return updated_node
        chain = f".{original.order}"
        if target.status == UNKNOWN:
            self.record_skip(
                original_node,
                f"{chain} kept: class {target.class_name} is not known to be a "
                f"LightningModule: {target.unknown_why}",
            )
            return updated_node
        problem = self._problem(original)
        if problem is not None:
            self.record_skip(original_node, f"{chain} kept: {problem}")
            return updated_node

        parens = {
            "lpar": [*updated_node.lpar, *updated.value.lpar],
            "rpar": [*updated.value.rpar, *updated_node.rpar],
        }
        if self._keep_detach(target):
            if updated.order == "detach().cpu()":
                kept: cst.BaseExpression = updated.inner
            else:
                kept = updated_node.with_changes(
                    func=updated_node.func.with_changes(value=updated.value)
                    if isinstance(updated_node.func, cst.Attribute)
                    else updated_node.func
                )
            parens = {"lpar": [*updated_node.lpar], "rpar": [*updated_node.rpar]}
            self.record_change(
                original_node,
                f"removed .cpu() from {chain} (kept .detach(): gradients may be enabled here)",
            )
            return kept.with_changes(**parens)
        self.record_change(original_node, f"removed {chain}; `{_code(original.value)}` stays on its device")
        return updated.value.with_changes(**parens)

    # -- safety analysis (original tree only) --------------------------------------
    def _problem(self, pair: _Pair) -> str | None:
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

    def _compute_problem(self, pair: _Pair) -> str | None:
        if pair.cpu_call.args:
            return (
                f"`.cpu({_code(pair.cpu_call.args[0], 30)})` takes arguments; "
                "only a bare .detach().cpu() pair is removed"
            )
        parent = self._parent(pair.outer)
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
                f"`{_code(state)}` is module state (a buffer, a parameter...) that may be "
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
            return f"the result {text}, which would then also change `{_code(pair.value)}`"
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
        scope = self._scope(name)
        if scope is None or depth >= MAX_FLOW_DEPTH:
            return None
        access = next((a for a in scope.accesses[name.value] if a.node is name), None)
        bindings: Collection[BaseAssignment] = (
            access.referents if access is not None else scope.assignments[name.value]
        )
        assignments = sorted(
            (a for a in bindings if isinstance(a, Assignment)),
            key=lambda a: self.line_of(a.node),
        )
        for assignment in assignments if checks.mutation else ():
            statement = self._parent(assignment.node)
            if isinstance(statement, cst.AugAssign) and statement.target is assignment.node:
                line = self.line_of(statement)
                op = _code(statement.operator).strip()
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
            parent = self._parent(node)
            if isinstance(parent, cst.Attribute) and parent.value is node:
                grand = self._parent(parent)
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
                            f"is combined by .{name}() with `{_code(other)}`, "
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
                expr = self._parent(parent) if isinstance(parent, cst.ComparisonTarget) else parent
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
                            f"is combined with `{_code(other)}`, "
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
        call = self._parent(arg)
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
        names = {q.name for q in self._qnames(func)}
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
                    f"is passed to {sorted(names)[0]}() with `{_code(unknown)}`, "
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
                    f"is accumulated into `{_code(statement.target)}`, "
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
        scope = self._scope(name)
        access = (
            next((a for a in scope.accesses[name.value] if a.node is name), None)
            if scope is not None
            else None
        )
        if access is None or not checks.cpu:
            return None
        for assignment in access.referents:
            if not isinstance(assignment, Assignment):
                continue
            statement = self._binding_statement(assignment)
            value = getattr(statement, "value", None)
            if isinstance(value, cst.Call):
                roots = {q.name.split(".")[0] for q in self._qnames(value.func)}
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
            pair = _match_pair(root)
            return pair is not None and self._problem(pair) is None
        if not isinstance(root, cst.Name):
            return False
        scope = self._scope(root)
        access = (
            next((a for a in scope.accesses[root.value] if a.node is root), None)
            if scope is not None
            else None
        )
        if access is None or not access.referents:
            return False
        for binding in access.referents:
            if not isinstance(binding, Assignment):
                return False
            statement = self._binding_statement(binding)
            if not (isinstance(statement, (cst.Assign, cst.AnnAssign)) and statement.value is not None):
                return False
            bound = self._chain_root(statement.value)
            pair = _match_pair(bound) if isinstance(bound, cst.Call) else None
            if pair is None or self._problem(pair) is not None:
                return False
        return True

    def _binding_statement(self, assignment: Assignment) -> cst.CSTNode | None:
        """The statement binding a name: ``Assign`` for ``x = ...``, ``AnnAssign``, ..."""
        parent = self._parent(assignment.node)
        return self._parent(parent) if isinstance(parent, cst.AssignTarget) else parent

    @staticmethod
    def _chain_root(expr: cst.BaseExpression) -> cst.BaseExpression:
        """The first .detach().cpu() pair below method calls/attributes/items, else the base."""
        while True:
            if _match_pair(expr) is not None:
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
        parent = self._parent(child)
        while isinstance(parent, (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
            child, parent = parent, self._parent(parent)
        if isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For)):
            return getattr(parent, "target", None) is child
        if isinstance(parent, cst.Del):
            return parent.target is child
        return False
