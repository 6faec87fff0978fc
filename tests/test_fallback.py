"""The Fallback Option printed for a failed task is chosen by what failed, says why, and is
None when no option fits (issue 10: "the fallback chosen for the failing task only")."""

from __future__ import annotations

import json
from pathlib import Path

import git
import jsonschema
import pytest

from runner.blueprint.model import load_blueprint
from runner.fallback import choose_fallback
from runner.gates import GateResult
from runner.tasks import plan_task
from tests.conftest import RepoFactory
from tests.helpers import PLAN_001, cli

ROOT = Path(__file__).resolve().parent.parent
REPO_OF = {"GLYPH-QUICKFIX.md": "glyph-classifier", "TRAINING-STABILITY.md": "arc-solver"}

# blueprint -> task -> (the option's number in its Fallback Options, or None; a word of the reason)
EXPECTED: dict[str, dict[str, tuple[int | None, str]]] = {
    "PLAN-001-core-training-stabilization.md": {
        "1.1": (1, "'step function' is in the task title"),
        "1.2": (1, "'step function fix' is in the task title"),
        "2.1": (None, ""),  # clamping the dice loss: no option is about it
        "2.2": (4, "only runs gates"),
        "3.1": (2, "runs the codemod remove-detach-cpu"),
        "3.2": (2, "phase title 'Remove Redundant CPU Detaches'"),
        "4.1": (3, "edits configuration"),
        "4.2": (4, "only runs gates"),
    },
    "PLAN-002-polygon-validation-consolidation.md": {
        "1.1": (None, ""),
        "2.1": (1, "names Task 2.1"),
        "2.2": (1, "names Task 2.2"),  # `runner revert PLAN-002:2.1` (or 2.2)
        "2.3": (2, "names Task 2.3"),
        "3.1": (3, "only runs gates"),
    },
    "PLAN-003-import-time-optimization.md": {
        "1.1": (1, "runs the codemod lazy-import"),
        "1.2": (1, "names Task 1.2"),
        "2.1": (None, ""),
        "3.1": (3, "only runs gates"),
    },
    "PLAN-004-inference-service-consolidation.md": {
        "1.1": (1, "'cached engine' is in the task title"),
        "2.1": (1, "names Task 2.1"),
        "2.2": (2, "names Task 2.2"),
    },
    "PLAN-005-legacy-cleanup-config-consolidation.md": {
        "1.1": (None, ""),  # "If a config preset is still needed" is not about this task's config edit
        "2.1": (None, ""),
        "3.1": (2, "names Task 3.1"),
    },
    "TRAINING-STABILITY.md": {
        "1.1": (1, "names Task 1.1"),
        "1.3": (3, "'logit clamp' is in the task title"),
        "2.1": (None, ""),
        "2.2": (2, "'meta escalation' is in the task title"),
        "3.1": (None, ""),  # a config task, and no option about config
        "4.1": (4, "only runs gates"),
    },
    "GLYPH-QUICKFIX.md": {
        "1.1": (1, "'embedding loss' is in the phase title"),
        "2.2": (2, "names Task 2.2"),
        "3.1": (3, "names Task 3.1"),
        "4.1": (4, "only runs gates"),
    },
}
CASES = [(name, task, *want) for name, tasks in EXPECTED.items() for task, want in tasks.items()]


def _choice(name: str, task_id: str, failed: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    bp = load_blueprint(ROOT / "blueprints" / name)
    root = ROOT / "fixtures" / REPO_OF.get(name, "ocr-project")
    plan = plan_task(bp, bp.task(task_id), root)
    # What the task would have written before it was restored: the files of its editing steps.
    touched = [f for s in plan.steps if s.kind not in ("gate", "manual") for f in s.files]
    gates = [GateResult(gate, "x.py", "failed") for gate in failed]
    return bp, choose_fallback(bp, plan, gates=gates, touched=touched)


@pytest.mark.parametrize(
    ("name", "task_id", "option", "why"), CASES, ids=[f"{c[0][:8]}-{c[1]}" for c in CASES]
)
def test_the_option_for_a_blocked_task_in_each_phase(
    name: str, task_id: str, option: int | None, why: str
) -> None:
    bp, choice = _choice(name, task_id)
    if option is None:
        assert choice is None, choice
        return
    assert choice is not None
    assert (choice.line, choice.text) == (
        bp.fallbacks[option - 1][0],
        bp.fallbacks[option - 1][1].replace("**", ""),
    )
    assert why in choice.reason


def test_the_failed_gate_decides_when_the_condition_describes_it() -> None:
    _, choice = _choice("PLAN-003-import-time-optimization.md", "1.1", failed=("import-time",))
    assert choice is not None and choice.text.startswith("If import time does not improve")
    assert choice.reason.startswith("the import-time gate failed")
    _, choice = _choice("PLAN-005-legacy-cleanup-config-consolidation.md", "3.1", failed=("references",))
    assert choice is not None and choice.text.startswith("If something still refers to a removed file")


def test_a_blocked_run_reports_the_option_and_why(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = repo / PLAN_001
    plan.write_bytes(plan.read_bytes().replace(b"(expect 1 change)", b"(expect 5 changes)", 1))
    git.Repo(repo).git.commit("-am", "expect more")
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    task = doc["tasks"][0]
    assert code == 1 and task["outcome"] == "blocked"
    assert task["fallback"].startswith("If step function fix breaks:")
    assert (
        task["fallback_reason"]
        == "'step function' is in the task title 'Replace the Hand-Written Step Function'"
    )
    schema = json.loads((ROOT / "schemas" / "common.schema.json").read_text())
    jsonschema.validate(task, {**schema, "$ref": "#/$defs/task"})
    message = git.Repo(repo).head.commit.message
    assert "Chosen because 'step function' is in the task title" in message
