"""Every codemod's declaration: name, description, needles, options and their checks.

No LibCST here (see :mod:`codemods.contract`): ``runner codemod list``, resolving a command
line or a blueprint's options, and the engine's cheap stages use these classes; each
LibCST command in ``codemods/commands/`` inherits its declaration, so nothing is written
twice. ``tests/test_catalog.py`` checks that the catalog and the commands name the same set.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import ClassVar

from codemods.contract import CodemodDeclaration, Option, PythonLiteral

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_QUALIFIED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+\Z")


# -- shared option checks ------------------------------------------------------------------
def check_param_name(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is an identifier (the ``param`` option)."""
    if not IDENT.match(name):
        raise ValueError(f"option 'param' takes an identifier, not {name!r}")


def check_function_spec(spec: str) -> None:
    """Raise ``ValueError`` unless ``spec`` is ``name`` or a dotted ``Class.method`` path."""
    parts = spec.split(".")
    if not spec or not all(IDENT.match(p) or p == "<locals>" for p in parts):
        raise ValueError(f"option 'function' takes a name or Class.method, not {spec!r}")
    if parts[-1] == "<locals>":
        raise ValueError(f"option 'function' must end with a function name, not {spec!r}")


def function_needles(spec: str) -> tuple[bytes, ...]:
    """Bytes one of which a file defining ``spec`` contains: ``def name`` (also matches
    ``async def``), or ``name = lambda`` for the lambda skip."""
    name = spec.rsplit(".", 1)[-1].encode()
    return (b"def " + name, name + b" = lambda", name + b"=lambda")


def module_option(options: Mapping[str, object]) -> str:
    """The ``module`` option, checked to be a dotted module name."""
    value = options.get("module", "wandb")
    if not isinstance(value, str) or not _MODULE.match(value):
        raise ValueError(f"option 'module' takes a dotted module name, not {value!r}")
    return value


def split_qualified(option: str, value: str) -> tuple[str, str]:
    """``module.function`` as ``(module, function)``; ``ValueError`` for anything else."""
    if not _QUALIFIED.match(value):
        raise ValueError(f"option {option!r} takes a dotted name module.function, not {value!r}")
    module, _, name = value.rpartition(".")
    return module, name


class FunctionTargetDeclaration(CodemodDeclaration):
    """A codemod acting on one named function (options ``function``, ``param``)."""

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


# -- the codemods, by name -----------------------------------------------------------------
class ClampInputsDeclaration(FunctionTargetDeclaration):
    NAME: ClassVar[str] = "clamp-inputs"
    DESCRIPTION = "Insert a NaN/Inf check and pred = pred.clamp(0, 1) at the start of a function."
    COMMAND: ClassVar[str] = "codemods.commands.clamp_inputs:ClampInputs"
    NEEDLES: ClassVar[tuple[bytes, ...]] = function_needles("forward")
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("function", str, "forward", "function name, or Class.method"),
        Option("param", str, "pred", "the parameter to guard"),
        Option("min", float, 0.0, "lower clamp bound"),
        Option("max", float, 1.0, "upper clamp bound"),
        Option("check_finite", bool, True, "also insert the NaN/Inf check"),
    )

    @classmethod
    def resolve_options(cls, given: Mapping[str, object]) -> dict[str, object]:
        options = super().resolve_options(given)
        low, high = options["min"], options["max"]
        if not isinstance(low, int | float) or not isinstance(high, int | float):
            raise ValueError("options 'min' and 'max' take numbers")
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise ValueError(f"options 'min' and 'max' must be finite with min <= max: {low}, {high}")
        return options


class LazyImportDeclaration(CodemodDeclaration):
    NAME: ClassVar[str] = "lazy-import"
    DESCRIPTION = "Move a module-level import (default: wandb) into the functions that use it."
    COMMAND: ClassVar[str] = "codemods.commands.lazy_import:LazyImport"
    NEEDLES: ClassVar[tuple[bytes, ...]] = (b"wandb",)
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("module", str, "wandb", "the module whose imports are made lazy"),
    )

    @classmethod
    def resolve_options(cls, given: Mapping[str, object]) -> dict[str, object]:
        options = super().resolve_options(given)
        module_option(options)  # refused here, as bad input, not later as a crash
        return options

    @classmethod
    def needles(cls, options: Mapping[str, object]) -> tuple[bytes, ...]:
        # Every import of a module spells its name out in full.
        return (module_option({**options}).encode(),)


class ReciprocalExpToSigmoidDeclaration(CodemodDeclaration):
    NAME: ClassVar[str] = "reciprocal-exp-to-sigmoid"
    DESCRIPTION = "Rewrite hand-written logistic functions 1 / (1 + torch.exp(-z)) as torch.sigmoid(z)."
    COMMAND: ClassVar[str] = "codemods.commands.reciprocal_exp_to_sigmoid:ReciprocalExpToSigmoid"
    # The name `exp` ends in one of these in every form we match (`torch.exp(`, `(-z).exp()`,
    # `from torch import exp as e`, `import exp,`...). A bare b"exp" would also match
    # `expected`, `export`, `expand`... in most files of a large tree and defeat the needle.
    NEEDLES: ClassVar[tuple[bytes, ...]] = tuple(
        b"exp" + end for end in (b"(", b" ", b",", b")", b"\n", b"\r", b"\t", b"\\")
    )
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option(
            "clamp",
            float,
            0.0,
            "when > 0, clamp the sigmoid input to [-clamp, clamp]; 0 leaves it unclamped",
        ),
    )

    @classmethod
    def resolve_options(cls, given: Mapping[str, object]) -> dict[str, object]:
        resolved = super().resolve_options(given)
        clamp = resolved["clamp"]
        if isinstance(clamp, bool) or not isinstance(clamp, (int, float)):
            raise ValueError(f"option 'clamp' takes a float, not {clamp!r}")
        if not math.isfinite(clamp) or clamp < 0:
            raise ValueError(f"option 'clamp' must be a finite number >= 0, not {clamp!r}")
        resolved["clamp"] = float(clamp)
        return resolved


class RemoveDetachCpuDeclaration(CodemodDeclaration):
    NAME: ClassVar[str] = "remove-detach-cpu"
    DESCRIPTION = "Drop .detach().cpu() in a LightningModule's validation_step so tensors stay on the GPU."
    COMMAND: ClassVar[str] = "codemods.commands.remove_detach_cpu:RemoveDetachCpu"
    NEEDLES: ClassVar[tuple[bytes, ...]] = (b"detach",)
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option(
            "method",
            str,
            "validation_step",
            "name of the LightningModule method to clean (e.g. test_step)",
        ),
    )


class ReplaceCallsDeclaration(CodemodDeclaration):
    NAME: ClassVar[str] = "replace-calls"
    DESCRIPTION = "Replace every call of one function (by qualified name) with a call of another."
    COMMAND: ClassVar[str] = "codemods.commands.replace_calls:ReplaceCalls"
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("old", str, "", "qualified name of the callable whose calls are replaced (required)"),
        Option("new", str, "", "qualified name of the callable called instead (required)"),
    )

    @classmethod
    def resolve_options(cls, given: Mapping[str, object]) -> dict[str, object]:
        options = super().resolve_options(given)
        split_qualified("old", str(options["old"]))
        split_qualified("new", str(options["new"]))
        if options["old"] == options["new"]:
            raise ValueError("options 'old' and 'new' name the same callable")
        return options

    @classmethod
    def needles(cls, options: Mapping[str, object]) -> tuple[bytes, ...]:
        # Every spelling of ``old`` (import line or attribute) contains its last part.
        old = str(options.get("old") or "")
        return (old.rpartition(".")[2].encode(),) if old else cls.NEEDLES


class ReplaceDefaultDeclaration(FunctionTargetDeclaration):
    NAME: ClassVar[str] = "replace-default"
    DESCRIPTION = "Set one parameter's default value in a function or method signature."
    COMMAND: ClassVar[str] = "codemods.commands.replace_default:ReplaceDefault"
    NEEDLES: ClassVar[tuple[bytes, ...]] = (b"def ",)
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("function", str, "", "function name, or Class.method (required)"),
        Option("param", str, "", "the parameter whose default changes (required)"),
        Option("value", PythonLiteral, "", "the new default, a Python literal (required)"),
        Option("expect", str, "", "the current default; if it differs, skip (optional)"),
    )

    @classmethod
    def resolve_options(cls, given: Mapping[str, object]) -> dict[str, object]:
        options = super().resolve_options(given)
        # A default must parse where it goes, in a signature, by LibCST: only this codemod
        # imports LibCST to resolve its options.
        from codemods.commands.replace_default import parse_default

        try:
            parse_default(str(options["value"]))
        except ValueError as err:
            raise ValueError(f"option 'value': {err}") from None
        if options["expect"]:
            try:
                parse_default(str(options["expect"]))
            except ValueError as err:
                raise ValueError(f"option 'expect': {err}") from None
        return options


class ConsolidateFunctionsDeclaration(CodemodDeclaration):
    NAME: ClassVar[str] = "consolidate-functions"
    DESCRIPTION = "Keep one of several identical copies of a function; the others become imports of it."
    COMMAND: ClassVar[str] = "codemods.commands.consolidate_functions:ConsolidateFunctions"
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("function", str, "", "name of the module-level function to consolidate (required)"),
        Option("target", str, "", "path of the module that keeps the one definition (required)"),
    )
    GATHERS: ClassVar[bool] = True
    PATH_OPTIONS: ClassVar[tuple[str, ...]] = ("target",)

    @classmethod
    def resolve_options(cls, given: Mapping[str, object]) -> dict[str, object]:
        options = super().resolve_options(given)
        function, target = str(options["function"]), str(options["target"])
        if not IDENT.match(function):
            raise ValueError(f"option 'function' takes a module-level function's name, not {function!r}")
        if not target.endswith(".py"):
            raise ValueError(f"option 'target' takes the path of a .py module, not {target!r}")
        return options

    @classmethod
    def needles(cls, options: Mapping[str, object]) -> tuple[bytes, ...]:
        return (str(options.get("function") or "").encode(),)


DECLARATIONS: tuple[type[CodemodDeclaration], ...] = (
    ClampInputsDeclaration,
    ConsolidateFunctionsDeclaration,
    LazyImportDeclaration,
    ReciprocalExpToSigmoidDeclaration,
    RemoveDetachCpuDeclaration,
    ReplaceCallsDeclaration,
    ReplaceDefaultDeclaration,
)
