"""remove-detach-cpu beyond the fixture pairs: pre-scan, options, runtime equivalence."""

from __future__ import annotations

import argparse
import types
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from libcst.codemod import CodemodContext

from codemods.commands.remove_detach_cpu import RemoveDetachCpu
from codemods.engine import CodemodCall, apply_codemods

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "codemods" / "remove-detach-cpu"


def test_file_without_candidate_method_is_returned_as_is() -> None:
    # No class method named validation_step holds a pair: the tree is not even copied.
    tree = cst.parse_module(
        "import pytorch_lightning as pl\n"
        "class Net(pl.LightningModule):\n"
        "    def training_step(self, b, i):\n"
        "        return b.detach().cpu()\n"
        "def validation_step(b):\n"
        "    return b.detach().cpu()\n"
    )
    command = RemoveDetachCpu(CodemodContext())
    assert command.transform_module(tree) is tree
    assert not command.report.changes and not command.report.skips


def test_method_option_from_string_and_libcst_tool_flag() -> None:
    assert RemoveDetachCpu.resolve_options({"method": "test_step"}) == {"method": "test_step"}
    parser = argparse.ArgumentParser()
    RemoveDetachCpu.add_args(parser)
    assert parser.parse_args(["--method", "predict_step"]).method == "predict_step"
    source = (FIXTURES / "test_step_option.in.py").read_bytes()
    call = CodemodCall(RemoveDetachCpu, RemoveDetachCpu.resolve_options({"method": "predict_step"}))
    assert apply_codemods(source, [call], "x.py").after == source


def test_documentation() -> None:
    assert RemoveDetachCpu.__doc__ and "Valid" in RemoveDetachCpu.__doc__
    assert "\n" not in RemoveDetachCpu.DESCRIPTION
    assert RemoveDetachCpu.NEEDLES == (b"detach",)


class _Model:
    """Returns fixed tensors, like a detector head."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch

    def __call__(self, **batch: Any) -> dict[str, Any]:
        x = batch["x"]
        return {"prob_maps": x.sigmoid(), "loss": (x**2).mean()}


def _forward(self: Any, batch: Any) -> Any:
    return (batch["x"] if isinstance(batch, dict) else batch) * 2


def _load(path: Path, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(path.read_bytes(), str(path), "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("case", ["ocr_validation_step", "pl_alias", "lightning_top_level_alias"])
def test_rewritten_validation_step_computes_the_same(case: str) -> None:
    # Test dependencies (the `torch` extra): missing ones fail loudly rather than skip.
    import lightning  # noqa: F401
    import numpy
    import pytorch_lightning  # noqa: F401
    import torch

    results = []
    for suffix in (".in.py", ".out.py"):
        module = _load(FIXTURES / f"{case}{suffix}", f"rdc_{case}_{suffix[1:3]}")
        cls = next(v for v in vars(module).values() if isinstance(v, type) and "validation_step" in vars(v))
        net = cls.__new__(cls)  # skip LightningModule.__init__: only the hook runs
        logged: list[tuple[str, Any]] = []
        vars(net).update(
            model=_Model(torch),
            validation_step_outputs=[],
            outputs=[],
            loss_fn=torch.nn.functional.mse_loss,
            log=lambda name, value, _logged=logged, **kw: _logged.append((name, value)),
        )
        # self(...) without nn.Module.__init__: call a stand-in forward directly
        cls.__call__ = _forward  # type: ignore[method-assign,assignment]
        x = torch.randn(2, 3, requires_grad=True, generator=torch.Generator().manual_seed(0))
        batch: Any = (x, x * 0.5) if case == "pl_alias" else {"x": x}
        with torch.no_grad():
            returned = net.validation_step(batch, 0)
        results.append((returned, logged, net.validation_step_outputs, net.outputs))

    def flat(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [v for k in sorted(value) for v in flat(value[k])]
        if isinstance(value, (list, tuple)):
            return [v for item in value for v in flat(item)]
        return [value]

    before, after = (flat(r) for r in results)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        assert type(old) is type(new)
        if isinstance(old, torch.Tensor):
            assert torch.equal(old, new)
            assert not new.requires_grad  # no graph kept: the hook ran under no_grad
        elif isinstance(old, numpy.ndarray):
            assert numpy.array_equal(old, new)
        else:
            assert old == new
