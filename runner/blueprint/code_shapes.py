"""A hand-written sigmoid quoted in a manual step, recognised by structure with LibCST.

Imported only when `lint` reads such a step ("Replace `torch.reciprocal(...)` with ..."),
so a blueprint without one lints without LibCST.
"""

from __future__ import annotations

import libcst as cst


def dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else ""
    return ""


def _is_one(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer | cst.Float) and node.evaluated_value == 1


def _single_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The call's one positional argument (no keywords, no ``*``), else None."""
    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return None
    return call.args[0].value


def _is_one_plus_exp_neg(node: cst.BaseExpression) -> bool:
    """``1 + torch.exp(-z)`` (either order, parentheses or not)."""
    if not (isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add)):
        return False
    for one, other in ((node.left, node.right), (node.right, node.left)):
        if _is_one(one) and isinstance(other, cst.Call) and dotted(other.func) == "torch.exp":
            argument = _single_argument(other)
            if isinstance(argument, cst.UnaryOperation) and isinstance(argument.operator, cst.Minus):
                return True
    return False


def _expression(code: str) -> cst.BaseExpression | None:
    try:
        return cst.parse_expression(code.strip())
    except cst.ParserSyntaxError:
        return None


def is_hand_written_sigmoid(code: str) -> bool:
    """``torch.reciprocal(1 + torch.exp(-z))``, ``1 / (1 + torch.exp(-z))`` or ``(…).reciprocal()``."""
    node = _expression(code)
    if isinstance(node, cst.Call):
        if dotted(node.func) == "torch.reciprocal":
            argument = _single_argument(node)
            return argument is not None and _is_one_plus_exp_neg(argument)
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "reciprocal" and not node.args:
            return _is_one_plus_exp_neg(node.func.value)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide) and _is_one(node.left):
        return _is_one_plus_exp_neg(node.right)
    return False


def is_sigmoid_call(code: str) -> bool:
    node = _expression(code)
    return (
        isinstance(node, cst.Call)
        and dotted(node.func) == "torch.sigmoid"
        and _single_argument(node) is not None
    )
