"""What clamp-inputs knows about torch code: which calls clamp, check finiteness, apply an
activation or take logits, and the facts of a function body it decides on.

No metadata here: names are matched against qualified names by the command.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
import libcst.matchers as m

# Calls that clamp a tensor: methods of Tensor, functions of torch (by qualified name).
CLAMP_METHODS = frozenset({"clamp", "clip"})
CLAMP_INPLACE = frozenset({"clamp_", "clip_"})
CLAMP_FUNCS = frozenset({"torch.clamp", "torch.clip"})
# Calls that look at, or repair, non-finite values.
FINITE_METHODS = frozenset(
    {"isfinite", "isnan", "isinf", "isposinf", "isneginf", "nan_to_num", "nan_to_num_"}
)
FINITE_FUNCS = frozenset(
    {
        "torch.isfinite",
        "torch.isnan",
        "torch.isinf",
        "torch.isposinf",
        "torch.isneginf",
        "torch.nan_to_num",
    }
)
NAN_TO_NUM_METHODS = frozenset({"nan_to_num", "nan_to_num_"})
TORCH_ASSERT = frozenset({"torch._assert", "torch._assert_async"})
# Activations, and losses that take logits or log-probabilities: a param passed through
# one of them holds logits on entry, and clamping it to a probability range is wrong.
ACTIVATION_METHODS = frozenset(
    {"sigmoid", "sigmoid_", "softmax", "log_softmax", "tanh", "tanh_", "exp", "exp_"}
)
ACTIVATION_FUNCS = frozenset(
    {
        "torch.sigmoid",
        "torch.special.expit",
        "torch.nn.functional.sigmoid",
        "torch.nn.functional.logsigmoid",
        "torch.softmax",
        "torch.special.softmax",
        "torch.nn.functional.softmax",
        "torch.log_softmax",
        "torch.special.log_softmax",
        "torch.nn.functional.log_softmax",
        "torch.nn.functional.gumbel_softmax",
        "torch.tanh",
        "torch.nn.functional.tanh",
        "torch.nn.functional.softplus",
        "torch.exp",
    }
)
LOGIT_LOSSES = frozenset(
    {
        "torch.nn.functional.binary_cross_entropy_with_logits",
        "torch.binary_cross_entropy_with_logits",
        "torch.nn.functional.cross_entropy",
        "torch.nn.functional.nll_loss",
        "torch.nn.functional.kl_div",
        "torch.nn.functional.poisson_nll_loss",
        "torch.nn.functional.multilabel_soft_margin_loss",
        "torch.nn.functional.soft_margin_loss",
        "torchvision.ops.sigmoid_focal_loss",
        "torchvision.ops.focal_loss.sigmoid_focal_loss",
    }
)
# Uses showing the param is a container, not a tensor.
MAPPING_METHODS = frozenset({"items", "keys", "values", "get", "append", "extend"})

DOCSTRING = m.SimpleStatementLine(body=[m.Expr(m.SimpleString() | m.ConcatenatedString())])


def format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def literal_number(node: cst.BaseExpression) -> float | None:
    """The value of ``0``, ``1.0``, ``-1e-6``; ``None`` for anything else."""
    if isinstance(node, cst.Integer | cst.Float):
        try:
            return float(node.evaluated_value)
        except (OverflowError, ValueError):
            return None
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus | cst.Plus):
        inner = literal_number(node.expression)
        if inner is None:
            return None
        return -inner if isinstance(node.operator, cst.Minus) else inner
    return None


class NoNestedScopes(cst.CSTVisitor):
    """Visits a function body without entering nested defs, classes or lambdas."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    """Every call in ``node`` (nested scopes included)."""
    return [cst.ensure_type(c, cst.Call) for c in m.findall(node, m.Call())]


class BodyFacts(NoNestedScopes):
    """Statements of the body (not nested scopes) that matter for the decision."""

    def __init__(self) -> None:
        self.assigns: list[tuple[cst.CSTNode, Sequence[cst.BaseExpression], cst.BaseExpression]] = []
        self.calls: list[cst.Call] = []
        self.subscripts: list[cst.Subscript] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        self.assigns.append((node, [t.target for t in node.targets], node.value))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.assigns.append((node, [node.target], node.value))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.assigns.append((node, [node.target], node.value))

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self.subscripts.append(node)
