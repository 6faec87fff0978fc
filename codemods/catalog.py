"""Every codemod's name, description and options, known without importing LibCST.

`runner lint`, `runner next` and the planning of a blueprint check codemod steps
(the name exists, the options parse and make sense) from this table; a codemod's
module, and LibCST with it, is imported only when the codemod runs (:func:`load`).
The table mirrors the classes in ``codemods/commands/``:
``tests/test_codemod_catalog.py`` checks both give the same names, descriptions,
options, resolved values and refusals.
"""

from __future__ import annotations

import ast
import importlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codemods.options import Option, PythonLiteral, check_function_spec, check_param_name, resolve_declared

if TYPE_CHECKING:
    from codemods.base import RunnerCodemod

Check = Callable[[dict[str, object]], None]  # raises ValueError; may normalise values in place

_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_QUALIFIED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+\Z")


@dataclass(frozen=True)
class CodemodSpec:
    name: str
    module: str  # the module under codemods.commands holding the class
    class_name: str
    description: str
    options: tuple[Option, ...]
    checks: tuple[Check, ...] = ()

    def resolve_options(self, given: Mapping[str, object]) -> dict[str, object]:
        """What the class's ``resolve_options`` returns, or the same ``ValueError``."""
        resolved = resolve_declared(self.name, self.options, given)
        for check in self.checks:
            check(resolved)
        return resolved


def _function_target(options: dict[str, object]) -> None:
    check_function_spec(str(options["function"]))
    check_param_name(str(options["param"]))


def _clamp_bounds(options: dict[str, object]) -> None:
    low, high = options["min"], options["max"]
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        raise ValueError("options 'min' and 'max' take numbers")
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"options 'min' and 'max' must be finite with min <= max: {low}, {high}")


def _sigmoid_clamp(options: dict[str, object]) -> None:
    clamp = options["clamp"]
    if isinstance(clamp, bool) or not isinstance(clamp, int | float):
        raise ValueError(f"option 'clamp' takes a float, not {clamp!r}")
    if not math.isfinite(clamp) or clamp < 0:
        raise ValueError(f"option 'clamp' must be a finite number >= 0, not {clamp!r}")
    options["clamp"] = float(clamp)


def _module_name(options: dict[str, object]) -> None:
    value = options.get("module", "wandb")
    if not isinstance(value, str) or not _MODULE.match(value):
        raise ValueError(f"option 'module' takes a dotted module name, not {value!r}")


def _old_and_new(options: dict[str, object]) -> None:
    for key in ("old", "new"):
        if not _QUALIFIED.match(str(options[key])):
            raise ValueError(f"option {key!r} takes a dotted name module.function, not {options[key]!r}")
    if options["old"] == options["new"]:
        raise ValueError("options 'old' and 'new' name the same callable")


def check_default(code: str) -> None:
    """``code`` is valid as a parameter default (``def _(_=<code>): pass``), read with ``ast``."""
    text = code.strip()
    if not text or "\n" in text or "\r" in text:
        raise ValueError(f"not a one-line Python expression: {code!r}")
    try:
        tree = ast.parse(f"def _(_={text}): pass\n")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise ValueError(f"not valid as a parameter default: {code!r}") from None
    func = tree.body[0] if len(tree.body) == 1 else None
    args = func.args if isinstance(func, ast.FunctionDef) else None
    if (
        args is None
        or len(args.args) != 1
        or len(args.defaults) != 1
        or args.posonlyargs
        or args.kwonlyargs
        or args.vararg
        or args.kwarg
    ):
        raise ValueError(f"not valid as a parameter default: {code!r}")


def _defaults(options: dict[str, object]) -> None:
    for key in ("value", "expect"):
        if key == "value" or options[key]:
            try:
                check_default(str(options[key]))
            except ValueError as err:
                raise ValueError(f"option {key!r}: {err}") from None


CATALOG: dict[str, CodemodSpec] = {
    spec.name: spec
    for spec in (
        CodemodSpec(
            "clamp-inputs",
            "clamp_inputs",
            "ClampInputs",
            "Insert a NaN/Inf check and pred = pred.clamp(0, 1) at the start of a function.",
            (
                Option("function", str, "forward", "function name, or Class.method"),
                Option("param", str, "pred", "the parameter to guard"),
                Option("min", float, 0.0, "lower clamp bound"),
                Option("max", float, 1.0, "upper clamp bound"),
                Option("check_finite", bool, True, "also insert the NaN/Inf check"),
            ),
            (_function_target, _clamp_bounds),
        ),
        CodemodSpec(
            "lazy-import",
            "lazy_import",
            "LazyImport",
            "Move a module-level import (default: wandb) into the functions that use it.",
            (Option("module", str, "wandb", "the module whose imports are made lazy"),),
            (_module_name,),
        ),
        CodemodSpec(
            "reciprocal-exp-to-sigmoid",
            "reciprocal_exp_to_sigmoid",
            "ReciprocalExpToSigmoid",
            "Rewrite hand-written logistic functions 1 / (1 + torch.exp(-z)) as torch.sigmoid(z).",
            (
                Option(
                    "clamp",
                    float,
                    0.0,
                    "when > 0, clamp the sigmoid input to [-clamp, clamp]; 0 leaves it unclamped",
                ),
            ),
            (_sigmoid_clamp,),
        ),
        CodemodSpec(
            "remove-detach-cpu",
            "remove_detach_cpu",
            "RemoveDetachCpu",
            "Drop .detach().cpu() in a LightningModule's validation_step so tensors stay on the GPU.",
            (
                Option(
                    "method",
                    str,
                    "validation_step",
                    "name of the LightningModule method to clean (e.g. test_step)",
                ),
            ),
        ),
        CodemodSpec(
            "replace-calls",
            "replace_calls",
            "ReplaceCalls",
            "Replace every call of one function (by qualified name) with a call of another.",
            (
                Option("old", str, "", "qualified name of the callable whose calls are replaced (required)"),
                Option("new", str, "", "qualified name of the callable called instead (required)"),
            ),
            (_old_and_new,),
        ),
        CodemodSpec(
            "replace-default",
            "replace_default",
            "ReplaceDefault",
            "Set one parameter's default value in a function or method signature.",
            (
                Option("function", str, "", "function name, or Class.method (required)"),
                Option("param", str, "", "the parameter whose default changes (required)"),
                Option("value", PythonLiteral, "", "the new default, a Python literal (required)"),
                Option("expect", str, "", "the current default; if it differs, skip (optional)"),
            ),
            (_function_target, _defaults),
        ),
    )
}


def load(name: str) -> type[RunnerCodemod]:
    """The codemod class (its module, and LibCST, imported now)."""
    spec = CATALOG[name]
    module = importlib.import_module(f"codemods.commands.{spec.module}")
    codemod: type[RunnerCodemod] = getattr(module, spec.class_name)
    return codemod
