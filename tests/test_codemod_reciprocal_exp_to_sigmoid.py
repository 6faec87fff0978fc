"""Numeric equivalence of ``reciprocal-exp-to-sigmoid`` on its own fixtures.

Every fixture case with a ``.out.py`` defines functions (or classes whose methods)
take tensors and return the expression. Both files are executed and the same-named
callables are called on the same random tensors, which include large magnitudes
(±20, ±50, ±100) where ``exp`` overflows in float32.

Where ``exp`` overflows, the hand-written form gives exactly 0 (``1 / (1 + inf)``)
and sigmoid a denormal such as 3.7e-44: the absolute tolerance absorbs it. The
hand-written form never gives NaN for finite inputs, but its *gradient* does
(``0 * inf``) and sigmoid's does not; ``test_gradient_no_longer_nan`` shows it.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch  # a test dependency (the `torch` extra): a missing torch fails, never skips

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "codemods" / "reciprocal-exp-to-sigmoid"
CASES = sorted(
    p for p in FIXTURES.glob("*.in.py") if p.with_name(p.name.replace(".in.py", ".out.py")).exists()
)
SPECIAL = [-100.0, -50.0, -20.0, -5.0, -1.0, -0.1, 0.0, 0.1, 1.0, 5.0, 20.0, 50.0, 100.0]
# rtol, atol; integer inputs promote to float32 in both forms.
TOLERANCE = {
    torch.float16: (1e-3, 1e-3),
    torch.float32: (1e-5, 1e-6),
    torch.float64: (1e-10, 1e-12),
    torch.int64: (1e-5, 1e-6),
}


def _case_id(case: Path) -> str:
    return case.name.removesuffix(".in.py")


def _execute(path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": f"fixture_{path.name.replace('.', '_')}"}
    sys.path.insert(0, str(path.parent))  # a case may star-import a helper module beside it
    try:
        exec(compile(path.read_bytes(), str(path), "exec"), namespace)
    finally:
        sys.path.remove(str(path.parent))
    return namespace


def _callables(namespace: dict[str, Any], path: Path) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Functions defined in the file, and the non-dunder methods of its classes."""
    for name, value in sorted(namespace.items()):
        if inspect.isfunction(value) and value.__code__.co_filename == str(path):
            yield name, value
        elif inspect.isclass(value) and value.__module__ == namespace["__name__"]:
            instance = value()
            for attr, member in sorted(vars(value).items()):
                if inspect.isfunction(member) and not attr.startswith("__"):
                    yield f"{name}.{attr}", getattr(instance, attr)


def _arity(fn: Callable[..., Any]) -> int:
    return len(inspect.signature(fn).parameters)


def _inputs(count: int, dtype: Any, seed: int, scale: float | None) -> list[Any]:
    """``count`` 4x4 tensors; with ``scale`` uniform in [-scale, scale], else mixed."""
    gen = torch.Generator().manual_seed(seed)
    tensors = []
    for _ in range(count):
        if scale is not None:
            t = (torch.rand(16, generator=gen, dtype=torch.float64) * 2 - 1) * scale
        else:
            special = torch.tensor(SPECIAL, dtype=torch.float64)
            extra = torch.randn(16 - len(SPECIAL), generator=gen, dtype=torch.float64) * 3
            t = torch.cat([special, extra])[torch.randperm(16, generator=gen)]
        tensors.append(t.reshape(4, 4).to(dtype))
    return tensors


def _clamp(case: Path) -> float:
    options = case.with_name(case.name.replace(".in.py", ".options.json"))
    return float(json.loads(options.read_text()).get("clamp", 0.0)) if options.exists() else 0.0


def _pairs(case: Path) -> list[tuple[str, Callable[..., Any], Callable[..., Any]]]:
    out = case.with_name(case.name.replace(".in.py", ".out.py"))
    before = dict(_callables(_execute(case), case))
    after = dict(_callables(_execute(out), out))
    assert before.keys() == after.keys(), "the rewrite must keep every function"
    assert before, f"{case.name} defines nothing the test can call"
    return [(name, before[name], after[name]) for name in sorted(before)]


def test_there_are_cases() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("dtype", list(TOLERANCE), ids=str)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_rewrite_is_numerically_equivalent(case: Path, dtype: Any) -> None:
    clamp = _clamp(case)
    rtol, atol = TOLERANCE[dtype]
    for name, original, rewritten in _pairs(case):
        for seed in range(5):
            # With clamp the results agree only inside [-clamp, clamp]: small inputs.
            args = _inputs(_arity(original), dtype, seed, 1.0 if clamp else None)
            try:
                expected = original(*args)
            except RuntimeError as err:  # e.g. integer division by zero: both must fail
                with pytest.raises(type(err)):
                    rewritten(*args)
                continue
            actual = rewritten(*args)
            assert actual.dtype == expected.dtype, name
            assert actual.shape == expected.shape, name
            assert torch.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True), (
                f"{case.name}:{name} differs (max {(actual - expected).abs().nanmax()})"
            )


@pytest.mark.parametrize("case", [c for c in CASES if _clamp(c) > 0], ids=_case_id)
def test_clamp_bounds_extreme_inputs(case: Path) -> None:
    """With ``clamp`` the output never leaves [sigmoid(-clamp), sigmoid(clamp)]."""
    bound = torch.sigmoid(torch.tensor(_clamp(case), dtype=torch.float64))
    for _, _, rewritten in _pairs(case):
        args = _inputs(_arity(rewritten), torch.float64, 0, 1000.0)
        result = rewritten(*args)
        assert bool(((result >= 1 - bound - 1e-12) & (result <= bound + 1e-12)).all())


def test_dbnet_step_function_gradient_no_longer_nan() -> None:
    """Where exp overflows the hand-written form's gradient is NaN; sigmoid's is not."""
    case = FIXTURES / "dbnet_step_function.in.py"
    (_, original, rewritten), *_ = [p for p in _pairs(case) if p[0].endswith("_step_function")]
    x = torch.tensor([-100.0, -1.0, 0.0, 1.0, 100.0], requires_grad=True)
    y = torch.zeros(5)
    original(x, y).sum().backward()
    assert x.grad is not None
    grad_before = x.grad.clone()
    x.grad = None
    rewritten(x, y).sum().backward()
    assert x.grad is not None
    assert torch.isnan(grad_before).any()  # k * (x - y) = -5000: exp overflows
    assert torch.isfinite(x.grad).all()
    finite = torch.isfinite(grad_before)
    assert torch.allclose(x.grad[finite], grad_before[finite], atol=1e-6)
