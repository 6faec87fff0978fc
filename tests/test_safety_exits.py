"""Ordinary conditions get their documented exit code and one line, never exit 70."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

import runner.repository
import runner.task_gates
from runner.errors import ExitCode
from tests.conftest import RepoFactory, commit_count, snapshot
from tests.helpers import cli, write_plan

OUTLINE = (
    "1. [ ] **Task 1.1: Fix the step function**\n"
    "   - [ ] Apply `reciprocal-exp-to-sigmoid` to `ocr/models/head/db_head.py` (expect 1 change)"
)


def _lock_index_at(monkeypatch: pytest.MonkeyPatch, module: object, stage: str, repo: Path) -> None:
    """Another git process takes the index at ``stage`` (a checkpoint name)."""
    original = module.checkpoint  # type: ignore[attr-defined]

    def checkpoint(name: str) -> None:
        if name == stage:
            (repo / ".git" / "index.lock").write_bytes(b"")
        original(name)

    monkeypatch.setattr(module, "checkpoint", checkpoint)


@pytest.mark.parametrize(
    ("module", "stage"), [(runner.task_gates, "during-gates"), (runner.repository, "during-commit")]
)
def test_index_lock_appearing_at_commit_time_exits_3(
    module: object,
    stage: str,
    demo_repo: RepoFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    before, count = snapshot(repo), commit_count(repo)
    _lock_index_at(monkeypatch, module, stage, repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.DIRTY_TREE, doc["message"]
    assert "index.lock" in doc["message"] and "\n" not in doc["message"]
    assert snapshot(repo) == before and commit_count(repo) == count
    assert (repo / ".git" / "index.lock").exists()  # never deleted: it is another process's
    assert not (repo / ".git" / "blueprint-runner" / "journal.json").exists()
    monkeypatch.undo()
    (repo / ".git" / "index.lock").unlink()  # that process ends
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]


def test_task_that_added_a_file_can_be_reverted(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, "1. [ ] **Task 1.1: Add a helper**\n   - [ ] Write `ocr/helper.py` by hand")
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.MANUAL_STEP, doc["message"]
    (repo / "ocr" / "helper.py").write_text("def helper() -> int:\n    return 1\n")
    git.Repo(repo).git.add("ocr/helper.py")
    code, doc = cli(capsys, "done", "PLAN-042:1.1", "--repo", repo)
    assert code == 0, doc["message"]
    assert "ocr/helper.py" in git.Repo(repo).git.show("--name-only", "--format=", "HEAD").split()
    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)
    assert code == 0, doc["message"]
    assert not (repo / "ocr" / "helper.py").exists()
    assert "ocr/helper.py" not in git.Repo(repo).git.ls_files().split()
    assert "1. [ ] **Task 1.1:" in plan.read_text()
    assert not git.Repo(repo).is_dirty(untracked_files=True)


def test_revert_outside_a_sparse_checkout_is_one_line(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    git_repo = git.Repo(repo)
    git_repo.git.sparse_checkout("set", "--no-cone", "/blueprints/", "/configs/")
    assert not (repo / "ocr").exists()
    before, count = snapshot(repo), commit_count(repo)
    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)
    assert code in (ExitCode.INPUT_ERROR, ExitCode.DIRTY_TREE), doc["message"]
    assert "sparse" in doc["message"] and "ocr/models/head/db_head.py" in doc["message"]
    assert "\n" not in doc["message"]
    assert snapshot(repo) == before and commit_count(repo) == count
    assert not git_repo.is_dirty()


def test_lazy_import_with_an_empty_module_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.py").write_text("import wandb\n\n\ndef f():\n    return wandb.run\n")
    code, doc = cli(capsys, "codemod", "apply", "lazy-import", "--arg", "module=", tmp_path)
    assert code == ExitCode.INPUT_ERROR, doc["message"]
    assert "module" in doc["message"] and "\n" not in doc["message"]
    assert (tmp_path / "m.py").read_text() == "import wandb\n\n\ndef f():\n    return wandb.run\n"
