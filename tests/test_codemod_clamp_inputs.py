"""clamp-inputs beyond the fixture pairs: options, needles, and the guard's behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemods.commands.clamp_inputs import ClampInputs
from codemods.engine import CodemodCall, apply_codemods
from codemods.targets import spec_matches

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "codemods" / "clamp-inputs"


@pytest.mark.parametrize(
    "options",
    [
        {"function": "Dice Loss.forward"},
        {"function": "DiceLoss."},
        {"param": "1pred"},
        {"min": "2", "max": "1"},
        {"max": "inf"},
        {"check_finite": "maybe"},
    ],
)
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ClampInputs.resolve_options(options)


def test_needles_follow_the_function_option() -> None:
    assert b"def forward" in ClampInputs.needles(ClampInputs.resolve_options({}))
    options = ClampInputs.resolve_options({"function": "DiceLoss.dice"})
    assert ClampInputs.needles(options) == (b"def dice", b"dice = lambda", b"dice=lambda")


def test_spec_matching() -> None:
    assert spec_matches("forward", "forward", iter(()))
    assert spec_matches("DiceLoss.forward", "forward", iter(["DiceLoss.forward"]))
    assert spec_matches("DiceLoss.forward", "forward", iter(["make.<locals>.DiceLoss.forward"]))
    assert spec_matches("make.forward", "forward", iter(["make.<locals>.forward"]))
    assert not spec_matches("DiceLoss.forward", "forward", iter(["MyDiceLoss.forward"]))
    assert not spec_matches("DiceLoss.forward", "forward", iter(["forward"]))


def test_guarded_dice_loss_behaves() -> None:
    import torch

    case = FIXTURES / "dice_loss_forward.in.py"
    call = CodemodCall(ClampInputs, ClampInputs.resolve_options({"function": "DiceLoss.forward"}))
    outcome = apply_codemods(case.read_bytes(), [call], str(case))
    assert outcome.status == "changed"
    namespace: dict[str, object] = {}
    exec(compile(outcome.after, str(case), "exec"), namespace)
    loss = namespace["DiceLoss"]()  # type: ignore[operator]

    gt = torch.ones(2, 1, 4, 4)
    mask = torch.ones(2, 4, 4)
    wild = torch.full((2, 1, 4, 4), 3.0)
    assert torch.allclose(loss(wild, gt, mask), loss(torch.ones_like(wild), gt, mask))
    for bad in (float("nan"), float("inf"), float("-inf")):
        pred = torch.rand(2, 1, 4, 4)
        pred[0, 0, 0, 0] = bad
        with pytest.raises(ValueError, match="pred contains NaN or Inf"):
            loss(pred, gt, mask)
