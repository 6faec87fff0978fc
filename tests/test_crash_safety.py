"""Kill the runner (SIGKILL) at every stage of a task; recovery must leave the repo
exactly at the state before the task or at the task's commit, never in between."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import git
import pytest

from runner.cli import main
from runner.errors import ExitCode
from runner.faults import CHECKPOINTS, ENV
from tests.conftest import RepoFactory, snapshot
from tests.helpers import DB_HEAD, cli, write_plan

pytestmark = pytest.mark.slow

OUTLINE = (
    "1. [ ] **Task 1.1: Fix the step function**\n"
    "   - [ ] Apply `reciprocal-exp-to-sigmoid` to `ocr/models/head/db_head.py` (expect 1 change)"
)


def _run_killed(repo: Path, plan: Path, stage: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, ENV: stage}
    return subprocess.run(
        [sys.executable, "-m", "runner", "run", str(plan), "--repo", str(repo), "--json"],
        env=env,
        capture_output=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("stage", CHECKPOINTS)
def test_kill_at_each_stage_then_recover(
    stage: str, demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    before = snapshot(repo)
    head_before = git.Repo(repo).head.commit.hexsha

    killed = _run_killed(repo, plan, stage)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()

    # The dead runner's lock is reported as stale, with the way out, and nothing is touched.
    mid_state = snapshot(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.LOCKED and "stale lock" in doc["message"] and "runner recover" in doc["message"]
    assert snapshot(repo) == mid_state

    code, doc = cli(capsys, "recover", "--repo", repo)
    assert code == 0, doc["message"]
    assert "cleared the stale lock" in doc["message"]

    git_repo = git.Repo(repo)
    assert not git_repo.is_dirty(untracked_files=True), git_repo.git.status()
    assert not (repo / ".git" / "blueprint-runner" / "journal.json").exists()
    if git_repo.head.commit.hexsha == head_before:
        assert snapshot(repo) == before  # rolled back, byte for byte
        assert "rolled back" in doc["message"] or stage == "after-journal"
    else:
        assert stage == "after-commit"  # only a landed commit is kept
        assert git_repo.head.commit.parents[0].hexsha == head_before
        assert "torch.sigmoid(self.k * (x - y))" in (repo / DB_HEAD).read_text()
        assert "1. [x] **Task 1.1:" in plan.read_text()

    # And the task then runs normally.
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    assert "- **STATUS:** Completed" in plan.read_text()


def test_second_runner_is_refused_while_first_holds_the_lock(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = repo / ".git" / "blueprint-runner" / "lock"
        lock.parent.mkdir(exist_ok=True)
        import socket

        lock.write_text(
            json.dumps({"pid": holder.pid, "run_id": "r1", "host": socket.gethostname(), "command": "run"})
        )
        before = snapshot(repo)
        code, doc = cli(capsys, "run", plan, "--repo", repo)
        assert code == ExitCode.LOCKED
        assert f"pid {holder.pid}" in doc["message"] and "another runner holds" in doc["message"]
        assert snapshot(repo) == before and lock.exists()
        code, doc = cli(capsys, "recover", "--repo", repo)
        assert code == ExitCode.LOCKED and lock.exists()  # a live owner's lock is never cleared
    finally:
        holder.kill()
        holder.wait()


def test_interrupted_task_is_rolled_back_on_next_start(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A journal without a lock (e.g. lock cleared by hand) is rolled back when the next run starts."""
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    before = snapshot(repo)
    assert _run_killed(repo, plan, "after-writes").returncode == -signal.SIGKILL
    (repo / ".git" / "blueprint-runner" / "lock").unlink()
    code, doc = cli(capsys, "run", plan, "--repo", repo, "--dry-run")
    assert code == 0  # a dry run takes no lock and repairs nothing ...
    assert snapshot(repo) != before
    code, doc = cli(capsys, "run", plan, "--repo", repo)  # ... a real run repairs first, then runs
    assert code == 0, doc["message"]
    assert any("rolled back an interrupted run of PLAN-042 Task 1.1" in n for n in doc["notes"])
    assert main(["status", str(plan), "--repo", str(repo)]) == 0


def test_kill_during_revert_then_recover(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    code, _ = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0
    before, head = snapshot(repo), git.Repo(repo).head.commit.hexsha
    killed = subprocess.run(
        [sys.executable, "-m", "runner", "revert", "PLAN-042:1.1", "--repo", str(repo)],
        env={**os.environ, ENV: "during-revert"},
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    assert snapshot(repo) != before  # the revert was half applied
    code, doc = cli(capsys, "recover", "--repo", repo)
    assert code == 0 and "rolled back" in doc["message"]
    assert snapshot(repo) == before and git.Repo(repo).head.commit.hexsha == head
    assert not git.Repo(repo).is_dirty(untracked_files=True)
    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)  # and it then works
    assert code == 0, doc["message"]
