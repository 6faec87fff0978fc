"""``reciprocal-exp-to-sigmoid``: hand-written logistic functions become ``torch.sigmoid``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, GatherExportsVisitor, RemoveImportsVisitor
from libcst.metadata import (
    ImportAssignment,
    ProviderT,
    QualifiedName,
    QualifiedNameProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from codemods.analysis.logistic import (
    CandidateFinder,
    Shape,
    as_argument,
    comments,
    logistic_shape,
    negated,
    plain_parens,
    sole_argument,
)
from codemods.base import RunnerCodemod
from codemods.declarations import ReciprocalExpToSigmoidDeclaration
from codemods.imports import carry_lines, is_blank

_EXP_WORD = re.compile(r"\bexp\b")
_TORCH = QualifiedName("torch", QualifiedNameSource.IMPORT)
_TORCH_EXP = QualifiedName("torch.exp", QualifiedNameSource.IMPORT)
_TORCH_RECIPROCAL = QualifiedName("torch.reciprocal", QualifiedNameSource.IMPORT)


class ReciprocalExpToSigmoid(ReciprocalExpToSigmoidDeclaration, RunnerCodemod):
    """Rewrite the logistic function written by hand with torch as ``torch.sigmoid``.

    Matched, under any import spelling (``import torch as T``, ``from torch import
    exp as e, reciprocal``) and with any redundant parentheses::

        1 / (1 + torch.exp(-z))          ->  torch.sigmoid(z)
        torch.reciprocal(torch.exp(-z) + 1.0)
        (1 + torch.exp(-z)).reciprocal()
        1 / (1 + torch.exp(z))           ->  torch.sigmoid(-z)
        1 / (1 + torch.exp(a - b))       ->  torch.sigmoid(-(a - b))
        1 / (1 + torch.exp(-k * (x - y)))  ->  torch.sigmoid(k * (x - y))

    The minus is folded out exactly: ``-z`` -> ``z``, through the leftmost factor of
    a ``*``, ``/`` or ``@`` chain (``(-k) * x`` -> ``k * x``), and through the left
    operand of ``+``/``-`` (``-a - b`` -> ``a + b``); otherwise the argument is
    negated as ``-z`` or ``-(expr)``. Negation is exact in IEEE arithmetic, so the
    only numeric difference is sigmoid's: no overflow of ``exp`` (the hand-written
    form gives exactly 0 and NaN gradients where ``exp`` overflows).

    Naming ``sigmoid``: the torch module name the ``exp`` call used (``T.exp`` ->
    ``T.sigmoid``); for ``from torch import exp`` an existing ``import torch [as T]``
    binding visible at that place; otherwise ``import torch`` is added (never
    ``from torch import sigmoid``: ``sigmoid`` is often a user function, typically
    the very function being rewritten). A ``from torch import exp``/``reciprocal``
    whose every use was rewritten goes: its line is dropped, or becomes ``import
    torch`` in place when torch must be imported (inside the function, if the import
    was local); names listed in ``__all__`` and imports of ``__init__.py`` stay.

    Option ``clamp`` (default 0.0, off): when > 0 the argument is clamped first,
    ``torch.sigmoid(torch.clamp(z, -clamp, clamp))`` (PLAN-001 asks to bound the
    inputs). This changes values outside ``[-clamp, clamp]`` on purpose.

    Left alone: ``np.exp``, ``math.exp``, a user ``exp``, ``torch`` shadowed by a
    local, and any other expression (``2 / (1 + ...)``, ``1 / (2 + ...)``,
    ``1 / (1 - ...)``). Reported as skips: extra arguments (``out=``), a name that may
    or may not be torch's, a star import, comments that the rewrite would drop, no
    usable name for torch.

    Valid (left alone)::

        import numpy as np

        y = np.reciprocal(1 + np.exp(-z))

    Invalid (rewritten)::

        import torch

        y = torch.reciprocal(1 + torch.exp(-self.k * (x - y)))

    becomes::

        import torch

        y = torch.sigmoid(self.k * (x - y))

    Invalid (skipped: ``out=`` makes it another operation)::

        import torch

        y = 1 / (1 + torch.exp(-z, out=buffer))
    """

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        *RunnerCodemod.METADATA_DEPENDENCIES,
        QualifiedNameProvider,
        ScopeProvider,
    )

    def transform_module(self, tree: cst.Module) -> cst.Module:
        # The needle `exp` is in nearly every file (`except`, `expand`), and scope and
        # qualified-name analysis cost several parses. Two metadata-free necessary
        # conditions first: the word `exp` (torch.exp is always spelled with it, even
        # when imported `as e`), then an expression of the logistic shape.
        if not _EXP_WORD.search(tree.code):
            return tree
        finder = CandidateFinder()
        tree.visit(finder)
        if not finder.found:
            return tree
        return super().transform_module(tree)

    # -- per file state --------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        self._star_imports: list[cst.ImportFrom] = []
        self._torch_aliases: list[str] = []  # names bound by `import torch [as X]`
        # Names of `from torch import exp` bindings used by rewritten calls.
        self._consumed: set[cst.CSTNode] = set()
        self._from_imports: list[ImportAssignment] = []  # bindings of rewritten names
        self._handled: set[int] = set()  # ids of those dropped or replaced in place
        # One entry per rewrite that needs `import torch`: the binding its `exp` came
        # from (None: unknown), so a local `from torch import exp` can become a local
        # `import torch`.
        self._import_needs: list[ImportAssignment | None] = []
        exports = GatherExportsVisitor(self.context)
        node.visit(exports)
        self._exported = exports.explicit_exported_objects  # strings in __all__

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = alias.evaluated_name
            if alias.asname is not None:
                if name == "torch":
                    self._torch_aliases.append(alias.evaluated_alias or name)
            elif name == "torch" or name.startswith("torch."):
                self._torch_aliases.append("torch")

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            self._star_imports.append(node)

    # -- imports ---------------------------------------------------------------
    # A `from torch import exp` line whose every use was rewritten is dropped, or, when
    # `torch` must be imported for those uses, becomes `import torch` in place (in the
    # function, if the import was local). This happens when leaving the block holding
    # the line: every use of a binding lies inside the block that binds it.
    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not self._from_imports:
            return updated_node
        body = self._tidy_block(original_node.body, updated_node.body, module_level=False)
        return updated_node.with_changes(body=body)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self._from_imports and not self._import_needs:
            return updated_node
        body = self._tidy_block(original_node.body, updated_node.body, module_level=True)
        for assignment in self._from_imports:
            if id(assignment) not in self._handled and self._fully_consumed(assignment):
                # Not a plain line of its own: let libcst take the name out.
                stmt = assignment.node
                assert isinstance(stmt, cst.ImportFrom) and not isinstance(stmt.names, cst.ImportStar)
                for alias in stmt.names:
                    if (alias.evaluated_alias or alias.evaluated_name) == assignment.name:
                        RemoveImportsVisitor.remove_unused_import(
                            self.context, "torch", alias.evaluated_name, alias.evaluated_alias
                        )
        if self._import_needs:
            AddImportsVisitor.add_needed_import(self.context, "torch")
        return updated_node.with_changes(body=body)

    def _fully_consumed(self, assignment: ImportAssignment) -> bool:
        """``assignment`` is a ``from torch import`` name whose every use was rewritten."""
        if (self.context.filename or "").endswith("__init__.py"):
            return False  # an __init__ may re-export it
        stmt = assignment.node
        return (
            isinstance(stmt, cst.ImportFrom)
            and not isinstance(stmt.names, cst.ImportStar)
            and not stmt.relative
            and isinstance(stmt.module, cst.Name)
            and stmt.module.value == "torch"
            and assignment.name not in self._exported
            and bool(assignment.references)
            and all(ref.node in self._consumed for ref in assignment.references)
        )

    def _tidy_block(
        self,
        original: Sequence[cst.BaseStatement],
        updated: Sequence[cst.BaseStatement],
        *,
        module_level: bool,
    ) -> list[cst.BaseStatement]:
        body = list(updated)
        dropped: list[int] = []
        for index, line in enumerate(original):
            if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
                continue
            stmt = line.body[0]
            if not isinstance(stmt, cst.ImportFrom) or isinstance(stmt.names, cst.ImportStar):
                continue
            bound = [a for a in self._from_imports if a.node is stmt]
            if len(bound) != len(stmt.names) or comments(stmt):
                continue
            if not all(self._fully_consumed(a) for a in bound):
                continue
            # Needs this line can meet: all of them at module level, else its own.
            met = [need for need in self._import_needs if module_level or any(need is a for a in bound)]
            if met:
                new_line = body[index]
                assert isinstance(new_line, cst.SimpleStatementLine)
                body[index] = new_line.with_changes(
                    body=[cst.Import(names=[cst.ImportAlias(name=cst.Name("torch"))])]
                )
                self._import_needs = [n for n in self._import_needs if n not in met]
            elif len(body) - len(dropped) > 1 and (
                index + 1 < len(body) or not any(empty.comment for empty in line.leading_lines)
            ):
                dropped.append(index)
            else:
                continue
            self._handled.update(id(a) for a in bound)
        for index in sorted(dropped, reverse=True):
            removed = original[index]
            assert isinstance(removed, cst.SimpleStatementLine)
            del body[index]
            if index < len(body):
                following = body[index]
                assert isinstance(following, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
                header = self.module.header
                at_start = module_level and index == 0 and (not header or is_blank(header[-1]))
                leading = carry_lines(removed.leading_lines, following.leading_lines, strip_leading=at_start)
                body[index] = following.with_changes(leading_lines=leading)
        return body

    # -- matching --------------------------------------------------------------
    def leave_BinaryOperation(
        self, original_node: cst.BinaryOperation, updated_node: cst.BinaryOperation
    ) -> cst.BaseExpression:
        return self._rewrite(original_node, updated_node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        return self._rewrite(original_node, updated_node)

    def _names(self, node: cst.CSTNode) -> set[QualifiedName]:
        return set(self.qualified_names(node))

    def _rewrite(
        self, original: cst.BinaryOperation | cst.Call, updated: cst.BinaryOperation | cst.Call
    ) -> cst.BaseExpression:
        shape = logistic_shape(original)
        if shape is None:
            return updated
        exp_names = self._names(shape.exp_call.func)
        if not any(n.name == "torch.exp" for n in exp_names):
            return updated  # numpy, math, a user function: not ours
        if shape.form == "function":
            assert shape.reciprocal is not None
            recip_names = self._names(shape.reciprocal.func)
            if not any(n.name == "torch.reciprocal" for n in recip_names):
                return updated
            if recip_names != {_TORCH_RECIPROCAL}:
                return self._skip(original, updated, self._ambiguous(shape.reciprocal.func))
        if exp_names != {_TORCH_EXP}:
            return self._skip(original, updated, self._ambiguous(shape.exp_call.func))

        problem = self._argument_problem(shape)
        if problem:
            return self._skip(original, updated, problem)
        torch_name, add_import = self._torch_name(shape.exp_call)
        if torch_name is None:
            return self._skip(
                original,
                updated,
                "no name refers to the torch module here and `torch` is bound to something"
                " else, so torch.sigmoid cannot be named",
            )
        problem = self._star_import_problem(shape, torch_name)
        if problem:
            return self._skip(original, updated, problem)

        new_shape = logistic_shape(updated)
        if new_shape is None:  # pragma: no cover - inner rewrites only touch the exponent
            return updated
        argument = negated(new_shape.exp_call.args[0].value)
        clamp = self.options["clamp"]
        assert isinstance(clamp, float)
        if clamp > 0:
            bound = cst.Float(repr(clamp))
            argument = cst.Call(
                func=cst.Attribute(value=cst.Name(torch_name), attr=cst.Name("clamp")),
                args=[
                    cst.Arg(as_argument(argument)),
                    cst.Arg(cst.UnaryOperation(operator=cst.Minus(), expression=bound)),
                    cst.Arg(bound),
                ],
            )
        sole, whitespace_before_args = sole_argument(argument)
        # A call is an atom: parentheses that grouped `1 / (...)` are redundant now,
        # unless they span lines or hold comments.
        keep_parens = not plain_parens(updated)
        replacement = cst.Call(
            func=cst.Attribute(value=cst.Name(torch_name), attr=cst.Name("sigmoid")),
            args=[sole],
            whitespace_before_args=whitespace_before_args,
            lpar=updated.lpar if keep_parens else [],
            rpar=updated.rpar if keep_parens else [],
        )
        if comments(replacement) != comments(updated):
            return self._skip(
                original,
                updated,
                "a comment inside the expression would be lost; rewrite by hand",
            )

        if add_import:
            self._import_needs.append(self._import_binding(shape.exp_call.func))
        self._consume(shape.exp_call.func)
        if shape.form == "function" and shape.reciprocal is not None:
            self._consume(shape.reciprocal.func)
        before = self.code_of(updated.with_changes(lpar=[], rpar=[]))
        after = self.code_of(replacement.with_changes(lpar=[], rpar=[]))
        self.record_change(original, f"{self.short(before)} -> {self.short(after)}")
        return replacement

    def _skip(
        self,
        original: cst.BinaryOperation | cst.Call,
        updated: cst.BaseExpression,
        reason: str,
    ) -> cst.BaseExpression:
        self.record_skip(original, reason)
        return updated

    def _star_import_problem(self, shape: Shape, torch_name: str) -> str:
        """Why a star import of this file may rebind a name the rewrite relies on, or empty.

        Star imports from the standard library or this source tree bind known names
        (``from typing import *`` cannot bind ``torch``); any other could bind anything.
        """
        relied_on = {torch_name}
        for call in (shape.exp_call, shape.reciprocal if shape.form == "function" else None):
            head = call.func if call is not None else None
            while isinstance(head, cst.Attribute):
                head = head.value
            if isinstance(head, cst.Name):
                relied_on.add(head.value)
        for star in self._star_imports:
            names = self.star_import_names(star)
            spelled = self.short(self.code_of(star))
            if names is None:
                return (
                    f"the module has a star import (`{spelled}`) whose names cannot be known,"
                    " which could rebind torch names; rewrite by hand"
                )
            rebound = sorted(names & relied_on)
            if rebound:
                return f"the star import `{spelled}` binds {', '.join(rebound)}; rewrite by hand"
        return ""

    def _ambiguous(self, func: cst.BaseExpression) -> str:
        spelled = self.code_of(func)
        kinds = {
            QualifiedNameSource.IMPORT: "an import",
            QualifiedNameSource.LOCAL: "an assignment",
            QualifiedNameSource.BUILTIN: "a builtin",
        }
        others = sorted(
            f"{n.name} from {kinds.get(n.source, 'elsewhere')}"
            for n in self._names(func)
            if n not in (_TORCH_EXP, _TORCH_RECIPROCAL)
        )
        return (
            f"cannot prove `{spelled}` is torch's: the name is bound more than once"
            f" (it may also be {', '.join(others)})"
        )

    @staticmethod
    def _argument_problem(shape: Shape) -> str:
        def plain_single(call: cst.Call) -> bool:
            return len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star

        if not plain_single(shape.exp_call):
            return (
                "torch.exp is not called with exactly one positional argument"
                " (out=..., keywords, *args); torch.sigmoid would not mean the same"
            )
        reciprocal = shape.reciprocal
        if shape.form == "function" and reciprocal is not None and not plain_single(reciprocal):
            return (
                "torch.reciprocal is not called with exactly one positional argument"
                " (out=..., keywords, *args); torch.sigmoid would not mean the same"
            )
        if shape.form == "method" and reciprocal is not None and reciprocal.args:
            return "Tensor.reciprocal() is called with arguments; not the logistic function"
        return ""

    def _torch_name(self, exp_call: cst.Call) -> tuple[str | None, bool]:
        """How to spell ``torch`` at ``exp_call`` (None: no way), and whether to import it."""
        func = exp_call.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and self._names(func.value) == {_TORCH}
        ):
            return func.value.value, False
        scope = self.get_metadata(ScopeProvider, exp_call, None)
        if scope is None:
            return None, False
        candidates = sorted(set(self._torch_aliases), key=lambda n: (n != "torch", n))
        for name in candidates:
            if scope.get_qualified_names_for(name) == {_TORCH}:
                return name, False
        if not scope.get_qualified_names_for("torch"):
            return "torch", True  # unbound here: add `import torch`
        return None, False

    def _import_binding(self, func: cst.BaseExpression) -> ImportAssignment | None:
        """The one import that binds the bare name ``func``, if there is exactly one."""
        scope = self.get_metadata(ScopeProvider, func, None)
        if not isinstance(func, cst.Name) or scope is None:
            return None
        found = list(scope[func.value])
        if len(found) == 1 and isinstance(found[0], ImportAssignment):
            return found[0]
        return None

    def _consume(self, func: cst.BaseExpression) -> None:
        """Note that ``func`` (a bare ``exp``/``reciprocal`` name) is no longer used."""
        if not isinstance(func, cst.Name):
            return
        self._consumed.add(func)
        scope = self.get_metadata(ScopeProvider, func, None)
        if scope is None:
            return
        for assignment in scope[func.value]:
            if isinstance(assignment, ImportAssignment) and all(
                assignment is not known for known in self._from_imports
            ):
                self._from_imports.append(assignment)
