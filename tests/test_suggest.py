"""Plans that adopt themselves: `lint --fix` suggestions, the symbol gates, lint findings."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.blueprint.model import parse_blueprint
from runner.blueprint.steps import CodemodStep, ConfigSet, Gate, Manual, classify
from runner.blueprint.suggest import findings, suggest
from runner.gates.symbols import check_defines, defined_names
from runner.tasks import plan_step
from runner.workspace import DirectoryWorkspace, fix_blueprint

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "blueprints" / "seed-PLAN-001.md"
OCR = ROOT / "fixtures" / "ocr-project"
HEAD = "ocr/models/head/db_head.py"
DEMO_PLAN = ROOT / "blueprints" / "PLAN-001-core-training-stabilization.md"
SITE = ROOT / ".venv" / "lib" / "python3.11" / "site-packages"


def executable(source: bytes) -> tuple[int, int]:
    bp = parse_blueprint(source, "plan.md")
    steps = [s for t in bp.tasks for s in t.steps]
    return sum(not isinstance(classify(s.text), Manual) for s in steps), len(steps)


def plan(outline: str, *, next_task: str = "Task 1.1: T") -> bytes:
    return (
        '---\ntitle: "PLAN-042: Test"\n---\n\n## Progress Tracker\n- **STATUS:** Not Started\n'
        f"- **CURRENT STEP:** Phase 1\n- **LAST COMPLETED TASK:** None\n- **NEXT TASK:** {next_task}\n\n"
        f"#### **Phase 1: One**\n{outline}\n"
    ).encode()


def only_suggestion(outline: str, root: Path | None = OCR) -> str | None:
    bp = parse_blueprint(plan(outline), "plan.md")
    found = suggest(bp, DirectoryWorkspace(root) if root else None)
    assert len(found) <= 1
    return found[0].replacement if found else None


def test_seed_plan001_goes_from_9_to_18_executable_steps_and_every_new_step_validates() -> None:
    before = SEED.read_bytes()
    fix = fix_blueprint(parse_blueprint(before, "seed.md"), OCR, "seed.md")
    assert executable(before) == (9, 39)
    assert executable(fix.source) == (18, 39)
    assert [s.line for s in fix.suggestions] == [42, 43, 55, 68, 73, 86, 87, 88, 92]
    # Every rewritten step plans against the real project: known codemod, files inside and present.
    fixed = parse_blueprint(fix.source, "seed.md")
    for task in fixed.tasks:
        for step in task.steps:
            planned, _ = plan_step(fixed, step, OCR)
            if step.line in {s.line for s in fix.suggestions}:
                assert planned.kind in ("gate", "codemod", "config"), step.text
    assert "+   - [ ] Apply `remove-detach-cpu` to `ocr/lightning_modules/ocr_pl.py`" in fix.diff


def test_fix_changes_only_the_suggested_lines_byte_for_byte() -> None:
    before = SEED.read_bytes()
    fix = fix_blueprint(parse_blueprint(before, "seed.md"), OCR, "seed.md")
    old, new = before.splitlines(keepends=True), fix.source.splitlines(keepends=True)
    assert len(old) == len(new)
    changed = {n for n, (a, b) in enumerate(zip(old, new, strict=True), start=1) if a != b}
    assert changed == {s.line for s in fix.suggestions}
    # The double-encoded emoji (mojibake) survive untouched.
    assert before.count("üéØ".encode()) == fix.source.count("üéØ".encode()) > 0


def test_fix_keeps_crlf_latin1_and_bom() -> None:
    text = plan(f"1. [ ] **Task 1.1: T**\n   - [ ] Read `{HEAD}` and locate `forward` method")
    source = b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n").replace(b"Phase 1: One", b"Phase 1: One caf\xe9")
    bp = parse_blueprint(source, "plan.md")
    fix = fix_blueprint(bp, OCR, "plan.md")
    expected = source.replace(
        b"Read `ocr/models/head/db_head.py` and locate `forward` method",
        b"Verify `ocr/models/head/db_head.py` defines `forward`",
    )
    assert fix.source == expected


@pytest.mark.parametrize(
    ("step", "replacement"),
    [
        (
            "Replace `torch.reciprocal(1 + torch.exp(-k(x-y)))` with `torch.sigmoid(k * (x - y))` "
            "in `ocr/models/head/db_head.py`",
            "Apply `reciprocal-exp-to-sigmoid` to `ocr/models/head/db_head.py`",
        ),
        (
            "Replace `1 / (1 + torch.exp(-z))` with `torch.sigmoid(z)` in `ocr/models/head/db_head.py`",
            "Apply `reciprocal-exp-to-sigmoid` to `ocr/models/head/db_head.py`",
        ),
        (
            "Remove `.detach().cpu()` from validation_step in `ocr/lightning_modules/ocr_pl.py` (line 323)",
            "Apply `remove-detach-cpu` to `ocr/lightning_modules/ocr_pl.py` with `method=validation_step`",
        ),
        (
            "Verify the code uses `torch.sigmoid()` in `ocr/models/head/db_head.py`",
            "Verify `torch.sigmoid` is called in `ocr/models/head/db_head.py`",
        ),
        (
            f"Read `{HEAD}` and locate the `DBHead._step_function` method (around line 25)",
            "Verify `ocr/models/head/db_head.py` defines `DBHead._step_function`",
        ),
        (
            "Set `configs/hardware/rtx3060_12gb_i5_16core.yaml` trainer.devices to 2",
            "Set `trainer.devices` to `2` in `configs/hardware/rtx3060_12gb_i5_16core.yaml`",
        ),
    ],
)
def test_confident_rewrites(step: str, replacement: str) -> None:
    assert only_suggestion(f"1. [ ] **Task 1.1: T**\n   - [ ] {step}") == replacement
    assert not isinstance(classify(replacement), Manual)


@pytest.mark.parametrize(
    "step",
    [
        # not the logistic: a different constant, numpy, a different replacement
        f"Replace `torch.reciprocal(2 + torch.exp(-z))` with `torch.sigmoid(z)` in `{HEAD}`",
        f"Replace `1 / (1 + numpy.exp(-z))` with `torch.sigmoid(z)` in `{HEAD}`",
        f"Replace `torch.reciprocal(1 + torch.exp(-z))` with `torch.tanh(z)` in `{HEAD}`",
        f"Replace `torch.reciprocal(1 + torch.exp(z))` with `torch.sigmoid(z)` in `{HEAD}`",
        # a condition the codemod does not know
        "Remove `.detach().cpu()` from validation_step except for the boxes",
        # no file: the task names none
        "Verify current implementation uses `torch.sigmoid`",
        # a bare method name could be anything's method
        "Verify current implementation uses `clamp` in `ocr/models/head/db_head.py`",
        # a YAML key the file does not have: where to add it is a guess
        "Update `configs/hardware/rtx3060_12gb_i5_16core.yaml` max_epochs to 4",
        # judgement, not a check
        "Confirm sigmoid usage is correct (line 188)",
        "Verify input clamping is present (lines 182-183)",
    ],
)
def test_uncertain_steps_stay_manual(step: str) -> None:
    assert only_suggestion(f"1. [ ] **Task 1.1: T**\n   - [ ] {step}") is None


def test_implicit_file_comes_from_the_task_and_is_confirmed_in_the_code() -> None:
    pl = "ocr/lightning_modules/ocr_pl.py"
    outline = (
        f"1. [ ] **Task 1.1: T**\n   - [ ] Search in `{pl}`\n"
        "   - [ ] Remove `.detach().cpu()` from validation_step (line 323)"
    )
    assert only_suggestion(outline) == f"Apply `remove-detach-cpu` to `{pl}` with `method=validation_step`"
    # The file does not define the method: the step stays manual.
    assert only_suggestion(outline.replace("validation_step", "test_step")) is None
    # Without a view of the files, a step whose file is implied is not rewritten.
    assert only_suggestion(outline, root=None) is None
    # Two files in the task: which one is meant is a guess.
    two = outline.replace("Search in", "Search in `ocr/models/head/db_head.py` and")
    assert only_suggestion(two) is None


def test_findings_next_task_and_codemod_without_gate() -> None:
    seed = parse_blueprint(SEED.read_bytes(), "seed.md")
    codes = [(f.code, f.line) for f in findings(seed)]
    assert codes == [("next-task-unknown", 36)]
    demo = parse_blueprint(DEMO_PLAN.read_bytes(), "demo.md")
    unguarded = [f for f in findings(demo) if f.code == "codemod-without-gate"]
    assert [f.task for f in unguarded] == ["3.1"]  # 1.1 and 2.1 verify their codemods
    assert findings(parse_blueprint(plan("1. [ ] **Task 1.1: T**\n   - [ ] Do it"), "p.md")) == []


def test_symbol_gate_grammar() -> None:
    assert classify("Verify `a/b.py` defines `Klass.method`") == Gate(
        "defines", files=("a/b.py",), symbol="Klass.method"
    )
    assert classify("Verify `configs/x.yaml` exists") == Gate("exists", files=("configs/x.yaml",))
    assert isinstance(classify("Verify `a/b.py` defines `not valid!`"), Manual)
    assert isinstance(classify("Set `a` to `1` in `c.yaml`"), ConfigSet)
    assert isinstance(classify("Apply `x` to `y.py`"), CodemodStep)


def test_defines_gate_on_structure_not_text() -> None:
    source = b'''
import sys
"""def ghost(): pass"""
# def comment_ghost(): pass
LIMIT: int = 3
class Outer:
    if sys.version_info >= (3, 10):
        def method(self):
            def inner(): pass
    try:
        import x
    except ImportError:
        fallback = None
'''
    names = defined_names(source)
    assert isinstance(names, dict)
    assert {"LIMIT", "Outer", "Outer.method", "Outer.method.inner", "Outer.fallback"} <= set(names)
    assert "ghost" not in names and "comment_ghost" not in names
    assert check_defines(source, "f.py", "method").status == "passed"
    assert check_defines(source, "f.py", "Outer.method").detail == "Outer.method at line 8"
    missing = check_defines(source, "f.py", "Outer.methd")
    assert missing.status == "failed" and "closest: Outer.method (line 8)" in missing.detail
    broken = check_defines(b"def f(:\n", "f.py", "f")
    assert broken.status == "failed" and broken.detail.startswith("cannot parse: line 1")


def test_defines_gate_on_torch_sources() -> None:
    import torch.nn.modules.activation as activation

    source = Path(activation.__file__).read_bytes()
    assert check_defines(source, "activation.py", "Sigmoid.forward").status == "passed"
    assert check_defines(source, "activation.py", "Sigmoid.backward").status == "failed"


def test_workspace_never_reads_outside_its_root(tmp_path: Path) -> None:
    project = Path(shutil.copytree(OCR, tmp_path / "p"))
    (tmp_path / "secret.py").write_text("def token(): pass\n")
    workspace = DirectoryWorkspace(project)
    assert workspace.defines("ocr/models/head/db_head.py", "DBHead._step_function")
    assert not workspace.is_file("../secret.py")
    assert not workspace.defines("../secret.py", "token")
    assert workspace.has_key("configs/hardware/rtx3060_12gb_i5_16core.yaml", "trainer.devices")
    assert not workspace.has_key("configs/hardware/rtx3060_12gb_i5_16core.yaml", "trainer.nope")


def test_symbol_gates_run_in_a_task(
    demo_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.helpers import cli, write_plan

    repo = demo_repo()
    outline = (
        "1. [ ] **Task 1.1: Locate**\n"
        f"   - [ ] Verify `{HEAD}` defines `DBHead._step_function`\n"
        "   - [ ] Verify `configs/dataloaders/default.yaml` exists\n\n"
        "2. [ ] **Task 1.2: Missing**\n"
        f"   - [ ] Verify `{HEAD}` defines `DBHead._step_fn`\n"
    )
    blueprint = write_plan(repo, outline)
    code, report = cli(capsys, "run", blueprint, "--repo", repo)
    assert code == 1
    first, second = report["tasks"]
    assert first["outcome"] == "completed"
    assert {(g["gate"], g["status"]) for g in first["gates"]} == {("defines", "passed"), ("exists", "passed")}
    assert second["outcome"] == "blocked"
    assert "closest: DBHead._step_function (line 25)" in second["blocker"]
