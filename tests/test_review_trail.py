"""The review trail in commits: the why in commit bodies, Git's revert line with full shas, and
a revert that reopens the tasks which validated the reverted one."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from runner.blueprint.edit import complete_task
from runner.blueprint.model import parse_blueprint
from runner.blueprint.objective import task_objective
from runner.blueprint.validators import validators_of
from runner.repository import Repository
from tests.conftest import RepoFactory
from tests.helpers import DB_HEAD, PLAN_001, cli, trailers, write_plan

ROOT = Path(__file__).resolve().parent.parent
PLAN_001_SOURCE = (ROOT / PLAN_001).read_bytes()
AUTHORS_OBJECTIVE = (
    "Replace `torch.reciprocal(1 + torch.exp(-k * (x - y)))` in `DBHead._step_function` "
    "with the numerically stable `torch.sigmoid(k * (x - y))`"
)


def _completed_through(task_ids: list[str]) -> bytes:
    source = PLAN_001_SOURCE
    for task_id in task_ids:
        bp = parse_blueprint(source, "p.md")
        source = complete_task(bp, bp.task(task_id))
    return source


# -- the objective ---------------------------------------------------------------------


def test_objective_is_the_authors_for_the_task_the_next_action_names() -> None:
    bp = parse_blueprint(PLAN_001_SOURCE, "p.md")
    objective = task_objective(bp, bp.task("1.1"))
    assert objective.text == AUTHORS_OBJECTIVE
    assert "Immediate Next Action" in objective.source
    # Task 1.2 is not the one the block names: the phase speaks for it.
    other = task_objective(bp, bp.task("1.2"))
    assert other.text == "Step Function Fix (Critical)" and "Phase 1" in other.source


def test_objective_the_runner_wrote_itself_is_not_taken_as_the_authors() -> None:
    bp = parse_blueprint(_completed_through(["1.1"]), "p.md")
    assert "**TASK:** Task 1.2" in bp.source.decode("utf-8", "replace")
    objective = task_objective(bp, bp.task("1.2"))
    assert objective.text == "Step Function Fix (Critical)"
    assert "title" in objective.source


def test_objective_falls_back_to_the_phases_prose() -> None:
    source = PLAN_001_SOURCE.replace(
        b"#### **Phase 2: Dice Loss Input Clamping**\n",
        b"#### **Phase 2: Dice Loss Input Clamping**\n\nNaN predictions reach the loss;\n"
        b"clamp them first.\n\n",
    )
    bp = parse_blueprint(source, "p.md")
    objective = task_objective(bp, bp.task("2.2"))
    assert objective.text == "NaN predictions reach the loss; clamp them first."
    assert objective.source == "Phase 2 of the blueprint"


# -- which tasks validated a task ----------------------------------------------------


def test_validators_are_later_completed_gate_only_tasks_on_the_changed_files() -> None:
    bp = parse_blueprint(_completed_through(["1.1", "1.2", "2.1", "2.2"]), "p.md")
    found = validators_of(bp, bp.task("1.1"), ["ocr/models/head/db_head.py"])
    assert [(v.task.id, v.files) for v in found] == [("1.2", ("ocr/models/head/db_head.py",))]
    # 2.2 gates dice_loss.py only; 2.1 changes code (not gates only).
    assert validators_of(bp, bp.task("2.1"), ["ocr/models/loss/dice_loss.py"])[0].task.id == "2.2"
    assert validators_of(bp, bp.task("1.1"), ["ocr/other.py"]) == []


def test_a_pending_or_skipped_validator_is_not_reopened() -> None:
    bp = parse_blueprint(_completed_through(["1.1"]), "p.md")
    assert validators_of(bp, bp.task("1.1"), ["ocr/models/head/db_head.py"]) == []


def test_an_import_gate_validates_the_modules_file() -> None:
    source = _completed_through(["1.1", "1.2"]).replace(
        b"   - [x] Run syntax check: `python -m py_compile ocr/models/head/db_head.py`\n", b""
    )
    bp = parse_blueprint(source, "p.md")
    found = validators_of(bp, bp.task("1.1"), ["ocr/models/head/db_head.py"])
    assert [v.task.id for v in found] == ["1.2"]


# -- revert commits ----------------------------------------------------------------------

VALIDATED = (
    "1. [ ] **Task 1.1: Fix**\n"
    "   - [ ] Apply `reciprocal-exp-to-sigmoid` to `ocr/models/head/db_head.py`\n"
    "2. [ ] **Task 1.2: Check the fix**\n"
    "   - [ ] Run syntax check: `python -m py_compile ocr/models/head/db_head.py`\n"
    "3. [ ] **Task 1.3: Guard**\n"
    "   - [ ] Apply `clamp-inputs` to `ocr/models/loss/dice_loss.py` with `function=DiceLoss.forward`"
)


def _task_commit(repo: Path, task: str) -> str:
    for commit in git.Repo(repo).iter_commits():
        found = trailers(repo, commit.hexsha)
        if found.get("Blueprint-Task") == task and found.get("Blueprint-Outcome") == "completed":
            return commit.hexsha
    raise AssertionError(f"no commit for Task {task}")


@pytest.mark.slow
def test_revert_commit_has_gits_line_full_shas_and_reopens_the_validator(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, VALIDATED)
    assert cli(capsys, "run", plan, "--repo", repo)[0] == 0
    fixed = _task_commit(repo, "1.1")

    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)

    assert code == 0, doc["message"]
    body = git.Repo(repo).head.commit.message
    assert f"\nThis reverts commit {fixed}.\n" in body
    found = trailers(repo)
    assert found["Blueprint-Reverts"] == fixed and len(fixed) == 40
    assert found["Blueprint-Reopens"] == "1.2"
    assert doc["data"] == {
        "reverted": [fixed],
        "reopened": [{"id": "1.2", "title": "Check the fix", "files": [DB_HEAD]}],
    }
    assert "also reopened Task 1.2" in doc["message"]
    _, status = cli(capsys, "status", plan, "--repo", repo)
    states = {t["id"]: t["state"] for t in status["data"]["tasks"]}
    assert states == {"1.1": "pending", "1.2": "pending", "1.3": "completed"}
    assert status["data"]["tracker"]["LAST COMPLETED TASK"] == "Task 1.3: Guard"
    # `git revert`'s own lookup finds the runner's revert by the full sha ...
    assert Repository(repo).reverted_by(fixed) == git.Repo(repo).head.commit.hexsha
    # ... and a second revert knows from the trailer that nothing is left.
    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)
    assert code == 2 and doc["code"] == "nothing_to_revert" and "by hand" not in doc["message"]
    # Running again redoes the task and its validation, in order.
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0 and [t["id"] for t in doc["tasks"]] == ["1.1", "1.2"]


@pytest.mark.slow
def test_an_older_revert_with_a_short_sha_is_still_understood(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, VALIDATED)
    assert cli(capsys, "run", plan, "--repo", repo)[0] == 0
    guard = _task_commit(repo, "1.3")
    git_repo = git.Repo(repo)
    git_repo.git.revert("--no-commit", guard)
    # What runners before full shas wrote: a 12-character Blueprint-Reverts and no git line.
    git_repo.git.commit(
        "-qm",
        "PLAN-042 Task 1.3: Guard (revert)\n\nBlueprint: PLAN-042\nBlueprint-Task: 1.3\n"
        f"Blueprint-Outcome: reverted\nBlueprint-Run: 0123456789ab\nBlueprint-Reverts: {guard[:12]}\n",
    )
    assert Repository(repo).reverted_by(guard) is None

    code, doc = cli(capsys, "revert", "PLAN-042:1.3", "--repo", repo)

    assert code == 2 and doc["code"] == "nothing_to_revert", doc["message"]
    assert "or all were reverted" in doc["message"]
