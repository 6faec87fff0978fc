"""The logistic function written by hand, as expressions: recognising its shape and
building ``sigmoid``'s argument, for reciprocal-exp-to-sigmoid.

Pure functions of LibCST nodes, no metadata: :func:`logistic_shape` finds where the parts of
``1 / (1 + exp(A))`` sit (names are checked by the command), :func:`negated` builds
``-A`` exactly (folding a leading minus out), :func:`sole_argument` makes it a call
argument without redundant parentheses. :class:`CandidateFinder` is the command's cheap
pre-check.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

# Operators whose value changes sign with their left operand: -((-a) op b) == a op' b,
# exactly in IEEE arithmetic (negation is exact and rounding is symmetric).
_SIGN_LINEAR = (cst.Multiply, cst.Divide, cst.MatrixMultiply)
_ADDITIVE = (cst.Add, cst.Subtract)
# Expressions that may stand anywhere an operand may, with no parentheses.
_ATOMS = (cst.Name, cst.Attribute, cst.Subscript, cst.Call, cst.Integer, cst.Float)
# Expressions whose parentheses are part of their syntax as a call argument.
_KEEP_PARENS = (cst.Tuple, cst.GeneratorExp, cst.Yield)


@dataclass(frozen=True)
class Shape:
    """Where the parts of ``1 / (1 + exp(A))`` sit in one matched expression."""

    form: str  # "divide", "function" (torch.reciprocal(...)) or "method" (.reciprocal())
    exp_call: cst.Call
    reciprocal: cst.Call | None  # the torch.reciprocal(...) / .reciprocal() call


def _unparenthesized(node: cst.BaseExpression) -> cst.BaseExpression:
    """``node`` without its parentheses, unless its syntax needs them (``()``)."""
    if not node.lpar or isinstance(node, _KEEP_PARENS):
        return node
    return node.with_changes(lpar=[], rpar=[])


def _is_one(node: cst.BaseExpression) -> bool:
    """A literal ``1`` or ``1.0`` (any spelling), possibly parenthesized."""
    if not isinstance(node, (cst.Integer, cst.Float)):
        return False
    try:
        value = ast.literal_eval(node.value)
    except (ValueError, SyntaxError):  # pragma: no cover - the parser accepted it
        return False
    return isinstance(value, (int, float)) and value == 1


# Exponents that cannot be tensors (torch.exp raises on them): never matched.
_NOT_TENSORS = (
    cst.Tuple,
    cst.List,
    cst.Set,
    cst.Dict,
    cst.GeneratorExp,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.Yield,
    cst.Lambda,
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.Ellipsis,
)


def _exp_call(node: cst.BaseExpression) -> cst.Call | None:
    """``node`` when it is a call of something named like exp (parentheses are attributes,
    so matching never strips them: the nodes stay the ones metadata knows)."""
    if not isinstance(node, cst.Call):
        return None
    func = node.func
    if not isinstance(func, (cst.Name, cst.Attribute)):
        return None
    if node.args and isinstance(node.args[0].value, _NOT_TENSORS):
        return None
    return node


def _denominator_exp(node: cst.BaseExpression) -> cst.Call | None:
    """The exp call of a ``1 + exp(A)`` or ``exp(A) + 1`` denominator."""
    if not isinstance(node, cst.BinaryOperation) or not isinstance(node.operator, cst.Add):
        return None
    if _is_one(node.left):
        return _exp_call(node.right)
    if _is_one(node.right):
        return _exp_call(node.left)
    return None


def logistic_shape(node: cst.CSTNode) -> Shape | None:
    """The structure of a candidate logistic expression; names are checked later."""
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, cst.Divide) and _is_one(node.left):
            exp = _denominator_exp(node.right)
            if exp is not None:
                return Shape("divide", exp, None)
        return None
    if not isinstance(node, cst.Call):
        return None
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value == "reciprocal":
        exp = _denominator_exp(func.value)
        if exp is not None:
            return Shape("method", exp, node)
    if isinstance(func, (cst.Name, cst.Attribute)) and node.args:
        exp = _denominator_exp(node.args[0].value)
        if exp is not None:
            return Shape("function", exp, node)
    return None


def plain_parens(node: cst.BaseExpression) -> bool:
    """The parentheses of ``node`` hold no comment and no line break."""
    return all(isinstance(p.whitespace_after, cst.SimpleWhitespace) for p in node.lpar) and all(
        isinstance(p.whitespace_before, cst.SimpleWhitespace) for p in node.rpar
    )


def _fold_minus(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """An expression equal to ``-node`` made by removing a leading minus, else None.

    ``-z`` gives ``z``; ``-k * x`` (that is ``(-k) * x``) gives ``k * x``, and likewise
    through ``/`` and ``@`` chains; ``-a + b`` gives ``a - b`` and ``-a - b`` gives
    ``a + b``. The folded operand keeps its own formatting.
    """
    if not isinstance(node, (cst.UnaryOperation, cst.BinaryOperation)):
        return None
    if node.lpar:
        inner = _fold_minus(node.with_changes(lpar=[], rpar=[]))
        if inner is None:
            return None
        if (inner.lpar or isinstance(inner, _ATOMS)) and plain_parens(node):
            return inner
        return inner.with_changes(lpar=node.lpar, rpar=node.rpar)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return node.expression
    if isinstance(node, cst.BinaryOperation):
        op = node.operator
        if isinstance(op, _SIGN_LINEAR):
            left = _fold_minus(node.left)
            return None if left is None else node.with_changes(left=left)
        if isinstance(op, _ADDITIVE):
            left = _fold_minus(node.left)
            if left is None:
                return None
            flipped: cst.BaseBinaryOp = (
                cst.Subtract(whitespace_before=op.whitespace_before, whitespace_after=op.whitespace_after)
                if isinstance(op, cst.Add)
                else cst.Add(whitespace_before=op.whitespace_before, whitespace_after=op.whitespace_after)
            )
            return node.with_changes(left=left, operator=flipped)
    return None


def negated(node: cst.BaseExpression) -> cst.BaseExpression:
    """An expression equal to ``-node``: a folded minus, ``-z`` or ``-(a - b)``."""
    folded = _fold_minus(node)
    if folded is not None:
        return folded
    if node.lpar or isinstance(node, _ATOMS):
        return cst.UnaryOperation(operator=cst.Minus(), expression=node)
    return cst.UnaryOperation(
        operator=cst.Minus(),
        expression=node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]),
    )


def as_argument(node: cst.BaseExpression) -> cst.BaseExpression:
    """``node`` without parentheses that are redundant around a call argument."""
    if node.lpar and not isinstance(node, _KEEP_PARENS) and plain_parens(node):
        return _unparenthesized(node)
    return node


def sole_argument(node: cst.BaseExpression) -> tuple[cst.Arg, cst.BaseParenthesizableWhitespace]:
    """``node`` as the only argument of a call, and the whitespace after that call's ``(``.

    Redundant parentheses go; when they hold comments or line breaks, their
    whitespace moves to the call's own parentheses so the layout survives.
    """
    if not node.lpar or isinstance(node, _KEEP_PARENS):
        return cst.Arg(node), cst.SimpleWhitespace("")
    if plain_parens(node):
        return cst.Arg(_unparenthesized(node)), cst.SimpleWhitespace("")
    if len(node.lpar) == 1:
        arg = cst.Arg(_unparenthesized(node), whitespace_after_arg=node.rpar[0].whitespace_before)
        return arg, node.lpar[0].whitespace_after
    return cst.Arg(node), cst.SimpleWhitespace("")


class CandidateFinder(cst.CSTVisitor):
    """Whether a tree has any expression shaped like the logistic function (no metadata)."""

    def __init__(self) -> None:
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.found:
            return False
        if isinstance(node, (cst.BinaryOperation, cst.Call)) and logistic_shape(node) is not None:
            self.found = True
            return False
        return True


def comments(node: cst.CSTNode) -> Counter[str]:
    return Counter(cst.ensure_type(c, cst.Comment).value for c in m.findall(node, m.Comment()))
