"""Fixture cases of the code-block engine: adding a case means adding files.

``fixtures/blocks/<case>/`` holds ``step.json`` (the operation, its options and, as
``source``, the input file under ``fixtures/blocks/``: a shared one in ``_sources/`` or
another case's ``after.py``; without it the case's own ``before.py``), the blocks as
``find.txt`` + ``replacement.txt`` or ``block.txt`` (byte for byte, most of them copied from
the fix guides in ``../shared/seeds``), ``expected.txt`` (the status on its first line, then
fragments the message or the closest candidate's diff must contain) and ``after.py``
(without it the file must not change).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
import torch

from codemods.blocks import BlockEdit, Where, insert_block, insert_marked_lines, replace_block

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "blocks"
CASES = sorted(p for p in FIXTURES.iterdir() if (p / "step.json").is_file())


def _edit(case: Path, source: bytes) -> BlockEdit:
    spec: dict[str, Any] = json.loads((case / "step.json").read_text())

    def block(name: str) -> str:
        return (case / f"{name}.txt").read_text(encoding="utf-8")

    hint = spec.get("line_hint")
    if spec["op"] == "replace":
        return replace_block(
            source,
            block("find"),
            block("replacement"),
            scope=spec.get("scope"),
            every=spec.get("every", False),
            line_hint=hint,
        )
    if spec["op"] == "insert":
        where = Where(spec["where"], spec.get("target", ""))
        return insert_block(source, block("block"), where=where, scope=spec.get("scope"), line_hint=hint)
    assert spec["op"] == "marked"
    return insert_marked_lines(
        source, block("block"), spec.get("marker", "# ADD THIS LINE"), scope=spec.get("scope"), line_hint=hint
    )


def test_every_status_has_cases() -> None:
    statuses = {(case / "expected.txt").read_text().splitlines()[0] for case in CASES}
    assert statuses == {"applied", "already-applied", "absent", "ambiguous", "refused"}


def _before(case: Path) -> bytes:
    source = json.loads((case / "step.json").read_text()).get("source")
    return (FIXTURES / source).read_bytes() if source else (case / "before.py").read_bytes()


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case(case: Path) -> None:
    before = _before(case)
    status, *fragments = (case / "expected.txt").read_text().splitlines()
    edit = _edit(case, before)
    assert edit.status == status, edit.message
    report = edit.message + ("\n" + edit.closest.diff if edit.closest else "")
    for fragment in fragments:
        assert fragment in report
    expected = case / "after.py"
    if not expected.exists():
        assert edit.source == before
        return
    assert edit.source.decode() == expected.read_bytes().decode()
    assert edit.source == expected.read_bytes()
    cst.parse_module(edit.source)
    compile(edit.source, str(expected), "exec")
    again = _edit(case, edit.source)
    assert again.status == "already-applied", again.message
    assert again.source == edit.source


def _function(case: str, name: str) -> Any:
    """Run one function of a fixture's edited file (the rest imports modules that do not exist)."""
    module = cst.parse_module((FIXTURES / case / "after.py").read_bytes())
    found = [n for n in module.body if isinstance(n, cst.FunctionDef) and n.name.value == name]
    namespace: dict[str, Any] = {"torch": torch}
    exec(compile(module.code_for_node(found[0]), case, "exec"), namespace)
    return namespace[name]


def _method(case: str, cls: str, name: str) -> Any:
    module = cst.parse_module((FIXTURES / case / "after.py").read_bytes())
    (klass,) = [n for n in module.body if isinstance(n, cst.ClassDef) and n.name.value == cls]
    assert isinstance(klass.body, cst.IndentedBlock)
    (method,) = [n for n in klass.body.body if isinstance(n, cst.FunctionDef) and n.name.value == name]
    namespace: dict[str, Any] = {"torch": torch}
    exec(compile(cst.Module(body=[method]).code, case, "exec"), namespace)
    return namespace[name]


def test_inserted_contrastive_loss_is_finite_on_random_embeddings() -> None:
    loss_fn = _function("s004-contrastive-loss-after-imports", "supervised_contrastive_loss")
    torch.manual_seed(0)
    embeddings = torch.nn.functional.normalize(torch.randn(16, 8), dim=1)
    labels = torch.randint(0, 4, (16,))
    loss = loss_fn(embeddings, labels)
    assert torch.isfinite(loss) and loss.item() > 0


def test_inserted_clamp_delta_norm_bounds_the_norm() -> None:
    clamp = _method("s002-clamp-delta-norm-into-class", "HyperLoRA", "_clamp_delta_norm")
    delta = torch.randn(5, 6, 6) * 10
    clamped = clamp(None, delta, max_norm=3.0)
    assert torch.all(clamped.norm(dim=(1, 2)) <= 3.0 + 1e-4)
    small = torch.full((1, 2, 2), 0.1)
    assert torch.equal(clamp(None, small), small)


def test_soft_clamp_new_default_threshold() -> None:
    soft_clamp = _function("s002-soft-clamp-header-only", "soft_clamp_logits")
    x = torch.tensor([10.0, 60.0, 1000.0, -1000.0])
    out = soft_clamp(x)
    assert out[0] == 10.0 and out[1] < 60.0 and out[2] <= 150.0 and out[3] >= -150.0
