"""`runner revert` bookkeeping: the tracker after several reverts, reverts done by hand with git,
a git revert in progress, and a blueprint renamed since the task ran."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from runner.errors import ExitCode
from tests.conftest import RepoFactory, commit_count, snapshot
from tests.helpers import DB_HEAD, cli, trailers, write_plan

pytestmark = pytest.mark.slow

TWO_TASKS = (
    "1. [ ] **Task 1.1: Fix**\n"
    "   - [ ] Apply `reciprocal-exp-to-sigmoid` to `ocr/models/head/db_head.py`\n"
    "2. [ ] **Task 1.2: Guard**\n"
    "   - [ ] Apply `clamp-inputs` to `ocr/models/loss/dice_loss.py` with `function=DiceLoss.forward`"
)


def _completed(repo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    plan = write_plan(repo, TWO_TASKS)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    return plan


def _task_commit(repo: Path, task: str) -> str:
    for commit in git.Repo(repo).iter_commits():
        if trailers(repo, commit.hexsha).get("Blueprint-Task") == task:
            return commit.hexsha
    raise AssertionError(f"no commit for Task {task}")


def test_last_completed_task_after_reverting_in_order(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = _completed(repo, capsys)
    assert cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)[0] == 0
    _, status = cli(capsys, "status", plan, "--repo", repo)
    assert status["data"]["tracker"]["LAST COMPLETED TASK"] == "Task 1.2: Guard"
    assert cli(capsys, "revert", "PLAN-042:1.2", "--repo", repo)[0] == 0
    _, status = cli(capsys, "status", plan, "--repo", repo)
    assert status["data"]["tracker"]["LAST COMPLETED TASK"] == "None"
    assert [t["state"] for t in status["data"]["tasks"]] == ["pending", "pending"]


def test_revert_after_a_git_revert_by_hand_says_so(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    _completed(repo, capsys)
    git.Repo(repo).git.revert("--no-edit", _task_commit(repo, "1.2"))
    before, count = snapshot(repo), commit_count(repo)

    code, doc = cli(capsys, "revert", "PLAN-042:1.2", "--repo", repo)

    assert code == ExitCode.INPUT_ERROR and "already reverted" in doc["message"], doc["message"]
    assert "\n" not in doc["message"]
    assert snapshot(repo) == before and commit_count(repo) == count


def test_revert_during_a_conflicted_git_revert_is_refused_as_a_git_operation(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    _completed(repo, capsys)
    path = repo / DB_HEAD
    path.write_text(path.read_text().replace("torch.sigmoid(self.k", "torch.sigmoid(2 * self.k"))
    git_repo = git.Repo(repo)
    git_repo.git.commit("-qam", "Sharpen")
    with pytest.raises(git.GitCommandError):
        git_repo.git.revert("--no-edit", _task_commit(repo, "1.1"))  # conflicts: left in progress
    assert (repo / ".git" / "REVERT_HEAD").exists()
    before = snapshot(repo)

    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)

    assert code == ExitCode.DIRTY_TREE and "a revert is in progress" in doc["message"], doc["message"]
    assert snapshot(repo) == before and (repo / ".git" / "REVERT_HEAD").exists()


def test_revert_follows_a_renamed_blueprint(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    before_fix = (repo / DB_HEAD).read_bytes()
    plan = _completed(repo, capsys)
    renamed = plan.with_name("PLAN-042-renamed.md")
    git_repo = git.Repo(repo)
    git_repo.git.mv(str(plan), str(renamed))
    git_repo.git.commit("-qm", "Rename the plan")

    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)

    assert code == 0, doc["message"]
    assert (repo / DB_HEAD).read_bytes() == before_fix
    assert not plan.exists() and "1. [ ] **Task 1.1: Fix**" in renamed.read_text()
    assert "2. [x] **Task 1.2: Guard**" in renamed.read_text()
    assert not git_repo.is_dirty(untracked_files=True)


def test_revert_of_a_task_that_added_a_file(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    write_plan(repo, "1. [ ] **Task 1.1: Add a module**\n   - [ ] Write `ocr/extra.py` by hand")
    before = snapshot(repo)
    (repo / "ocr" / "extra.py").write_text("VALUE = 1\n")
    git.Repo(repo).git.add("ocr/extra.py")
    assert cli(capsys, "done", "PLAN-042:1.1", "--repo", repo)[0] == 0

    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)

    assert code == 0, doc["message"]
    assert not (repo / "ocr" / "extra.py").exists() and snapshot(repo) == before
    assert "ocr/extra.py" in doc["tasks"][0]["files_changed"]
