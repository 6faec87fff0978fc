"""``replace-default``: set one parameter's default value in a function signature."""

from __future__ import annotations

import ast

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext

from codemods.declarations import ReplaceDefaultDeclaration
from codemods.targets import NO_PARAM, FunctionTargetCodemod


def parse_default(code: str) -> cst.BaseExpression:
    """``code`` as an expression that is valid as a parameter default.

    Parsed in place (``def _(_=<code>): pass``), so ``1, 2``, ``x := 1`` or ``yield``
    are refused rather than producing a broken signature."""
    text = code.strip()
    if not text or "\n" in text or "\r" in text:
        raise ValueError(f"not a one-line Python expression: {code!r}")
    try:
        stmt = cst.parse_statement(f"def _(_={text}): pass\n")
    except cst.ParserSyntaxError:
        raise ValueError(f"not valid as a parameter default: {code!r}") from None
    assert isinstance(stmt, cst.FunctionDef)
    params = stmt.params
    default = params.params[0].default if len(params.params) == 1 else None
    extra = params.posonly_params or params.kwonly_params or params.star_kwarg
    if default is None or extra or not isinstance(params.star_arg, cst.MaybeSentinel):
        raise ValueError(f"not valid as a parameter default: {code!r}")
    return default


def same_value(left: str, right: str) -> bool:
    """Whether two expressions are the same tree, formatting aside (``1e3`` == ``1000.0``)."""
    try:
        return ast.dump(ast.parse(left.strip(), mode="eval")) == ast.dump(
            ast.parse(right.strip(), mode="eval")
        )
    except SyntaxError:
        return False


class ReplaceDefault(ReplaceDefaultDeclaration, FunctionTargetCodemod):
    """Set the default value of one parameter of a function or method.

    ``function`` is a bare name (every def of that name) or ``Class.method`` (the tail
    of the def's qualified name, ``<locals>`` ignored); ``param`` the parameter;
    ``value`` the new default, a Python literal (``ast.literal_eval``-able: a blueprint
    must not be able to paste code that runs when the module is imported).
    Only the default expression is replaced: the annotation, the ``=`` and its spacing
    stay as they are. A default already equal to ``value`` (as a tree: ``1e3`` equals
    ``1000.0``, ``50`` does not equal ``50.0``) is left alone.

    Skipped, with a reason: no parameter of that name; ``*args``/``**kwargs``; a
    parameter without a default (giving it one changes which calls are valid); with
    ``expect``, a current default other than the expected one; lambdas. The
    ``...`` placeholders of ``@overload`` stubs are left alone silently. Parentheses
    around the old default, and the comments in them, are kept.

    With ``function=soft_clamp_logits param=threshold value=50.0 expect=1000.0``:

    Valid (left alone)::

        def soft_clamp_logits(x, threshold: float = 50.0, max_val: float = 100.0): ...

    Invalid (rewritten)::

        def soft_clamp_logits(x, threshold: float = 1000.0, max_val: float = 100.0): ...

    becomes::

        def soft_clamp_logits(x, threshold: float = 50.0, max_val: float = 100.0): ...

    Invalid (skipped: the current default is not the expected one)::

        def soft_clamp_logits(x, threshold: float = 20.0, max_val: float = 100.0): ...
    """

    def __init__(self, context: CodemodContext, **options: object) -> None:
        super().__init__(context, **options)
        self.value_code = str(self.options["value"]).strip()
        self.expect = str(self.options["expect"]).strip()
        self.new_default = parse_default(self.value_code)
        self.replacements: dict[cst.Param, cst.BaseExpression] = {}

    def decide(self, node: cst.FunctionDef) -> str | None:
        p = self.param
        found = self.find_param(node.params)
        if found is None:
            return NO_PARAM
        if isinstance(found, str):
            return f"{p} is {found}{p}, which cannot have a default"
        if found.default is None:
            return f"{p} has no default (it is required); giving it one is not a default change"
        current = self.code_of(found.default).strip()
        if same_value(current, self.value_code):
            return None
        if isinstance(found.default, cst.Ellipsis) and self.is_overload(node):
            return None  # a typing stub's placeholder; the implementation holds the value
        if self.expect and not same_value(current, self.expect):
            return f"{p}: default is {self.short(current)}, expected {self.expect}"
        new = self.new_default.deep_clone()
        old_default = found.default
        if old_default.lpar:
            # Keep the existing parentheses and what they hold (comments, line breaks).
            new = new.with_changes(lpar=old_default.lpar, rpar=old_default.rpar)
        inner = old_default.with_changes(lpar=(), rpar=())
        note = " (comments inside the old default dropped)" if m.findall(inner, m.Comment()) else ""
        self.replacements[found] = new
        self.record_change(
            found, f"{node.name.value}: default of {p} {self.short(current)} -> {self.value_code}{note}"
        )
        return None

    def leave_Param(self, original_node: cst.Param, updated_node: cst.Param) -> cst.Param:
        new = self.replacements.pop(original_node, None)
        if new is None:
            return updated_node
        return updated_node.with_changes(default=new)
