"""Kill the runner (SIGKILL) at every stage of a task; recovery must leave the repo
exactly at the state before the task or at the task's commit, never in between."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest

from runner.cli import main
from runner.errors import ExitCode
from runner.faults import CHECKPOINTS
from tests.conftest import RepoFactory, snapshot
from tests.helpers import DB_HEAD, cli, crashed_run, run_killed, write_plan

pytestmark = pytest.mark.slow

OUTLINE = (
    "1. [ ] **Task 1.1: Fix the step function**\n"
    "   - [ ] Apply `reciprocal-exp-to-sigmoid` to `ocr/models/head/db_head.py` (expect 1 change)"
)


@pytest.mark.parametrize("stage", CHECKPOINTS)
def test_kill_at_each_stage_then_recover(
    stage: str, demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    before = snapshot(repo)
    head_before = git.Repo(repo).head.commit.hexsha

    killed = run_killed(repo, stage, "run", plan)
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
    plan, before = crashed_run(repo, OUTLINE)
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
    killed = run_killed(repo, "during-revert", "revert", "PLAN-042:1.1")
    assert killed.returncode == -signal.SIGKILL
    assert snapshot(repo) != before  # the revert was half applied
    code, doc = cli(capsys, "recover", "--repo", repo)
    assert code == 0 and "rolled back" in doc["message"]
    assert snapshot(repo) == before and git.Repo(repo).head.commit.hexsha == head
    assert not git.Repo(repo).is_dirty(untracked_files=True)
    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)  # and it then works
    assert code == 0, doc["message"]


# -- recovery never overwrites a person's work ----------------------------------------

JOURNAL = Path(".git") / "blueprint-runner" / "journal.json"


def test_recovery_keeps_an_edit_made_after_the_crash(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    _, before = crashed_run(repo, OUTLINE)
    path = repo / DB_HEAD
    edited = path.read_text() + "# my edit\n"
    path.write_text(edited)

    code, doc = cli(capsys, "recover", "--repo", repo)

    assert code == ExitCode.DIRTY_TREE and DB_HEAD in doc["message"], doc["message"]
    assert path.read_text() == edited and (repo / JOURNAL).exists()
    # Move the edit aside as the message says: recovery then rolls back, and the edit comes back.
    git.Repo(repo).git.stash()
    code, doc = cli(capsys, "recover", "--repo", repo)
    assert code == 0 and "rolled back" in doc["message"], doc["message"]
    assert snapshot(repo) == before
    git.Repo(repo).git.stash("pop")
    assert path.read_text() == edited


def test_a_journal_acts_on_its_own_copy_of_the_repository(
    demo_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    _, before = crashed_run(repo, OUTLINE)
    crashed = snapshot(repo)

    copy = shutil.copytree(repo, tmp_path / "copy", symlinks=True)
    code, doc = cli(capsys, "recover", "--repo", copy)
    assert code == 0, doc["message"]
    assert snapshot(copy) == before and snapshot(repo) == crashed  # the original is untouched

    moved = tmp_path / "moved"
    repo.rename(moved)
    code, doc = cli(capsys, "recover", "--repo", moved)
    assert code == 0, doc["message"]
    assert snapshot(moved) == before and not git.Repo(moved).is_dirty(untracked_files=True)


def test_killed_done_then_recover_keeps_the_persons_index(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    write_plan(
        repo,
        "1. [ ] **Task 1.1: Document**\n"
        "   - [ ] Add a docstring to `_step_function` in `ocr/models/head/db_head.py`",
    )
    path = repo / DB_HEAD
    path.write_text(path.read_text() + "# documented\n")
    (repo / "ocr" / "extra.py").write_text("VALUE = 1\n")
    git.Repo(repo).git.add("ocr/extra.py")
    index, tree = git.Repo(repo).git.ls_files("-s"), snapshot(repo)
    killed = run_killed(repo, "during-commit", "done", "PLAN-042:1.1")  # after `git add`, before commit
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()

    code, doc = cli(capsys, "recover", "--repo", repo)

    assert code == 0 and "rolled back" in doc["message"], doc["message"]
    assert git.Repo(repo).git.ls_files("-s") == index  # extra.py still staged, nothing else
    assert snapshot(repo) == tree


def test_recovery_keeps_a_landed_commit_under_later_commits(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    assert run_killed(repo, "after-commit", "run", plan).returncode == -signal.SIGKILL
    (repo / "NOTES.txt").write_text("later work\n")
    git_repo = git.Repo(repo)
    git_repo.git.add("NOTES.txt")
    git_repo.git.commit("-qm", "Later work")

    code, doc = cli(capsys, "recover", "--repo", repo)

    assert code == 0 and "kept it" in doc["message"], doc["message"]
    assert "torch.sigmoid(self.k * (x - y))" in (repo / DB_HEAD).read_text()
    assert not git_repo.is_dirty(untracked_files=True) and not (repo / JOURNAL).exists()


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has finished


def test_git_commit_dies_with_a_killed_runner(
    demo_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A runner killed while a pre-commit hook runs: git must not land the commit afterwards."""
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    head = git.Repo(repo).head.commit.hexsha
    started, release = tmp_path / "hook-started", tmp_path / "release"
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(
        f'#!/bin/sh\necho $PPID > "{started}"\n'
        f'i=0; while [ ! -e "{release}" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\nexit 0\n'
    )
    hook.chmod(0o755)
    runner = subprocess.Popen([sys.executable, "-m", "runner", "run", str(plan), "--repo", str(repo)])
    try:
        for _ in range(3000):
            if started.exists() and started.read_text().strip():
                break
            assert runner.poll() is None, "the runner ended before its commit hook ran"
            time.sleep(0.1)
        git_pid = int(started.read_text())
        runner.kill()
        runner.wait()
    finally:
        release.touch()
    for _ in range(600):  # the hook is released; a git that outlived the runner would commit now
        if not _alive(git_pid):
            break
        time.sleep(0.1)
    assert not _alive(git_pid)
    assert git.Repo(repo).head.commit.hexsha == head  # no commit landed after the runner died

    code, doc = cli(capsys, "recover", "--repo", repo)
    assert code == 0 and "rolled back" in doc["message"], doc["message"]
    assert not git.Repo(repo).is_dirty(untracked_files=True)


@pytest.mark.parametrize("content", ["{not json", '{"run_id": "r1", "files": {"/abs/path.py": null}}'])
def test_an_unreadable_or_old_journal_is_refused_not_a_crash(
    content: str, demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    journal = repo / JOURNAL
    journal.parent.mkdir(exist_ok=True)
    journal.write_text(content)
    before = snapshot(repo)

    code, doc = cli(capsys, "recover", "--repo", repo)

    assert code == ExitCode.DIRTY_TREE and "journal" in doc["message"], doc["message"]
    assert doc["error"]["path"] == str(journal.resolve()) and journal.read_text() == content
    assert snapshot(repo) == before


def test_kill_codemod_apply_then_recover(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    """`codemod apply` in a repository writes through the same transaction as a task."""
    repo = demo_repo()
    before = snapshot(repo)
    killed = run_killed(repo, "after-writes", "codemod", "apply", "reciprocal-exp-to-sigmoid", repo / "ocr")
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert snapshot(repo) != before

    code, doc = cli(capsys, "recover", "--repo", repo)

    assert code == 0 and "rolled back an interrupted `codemod apply" in doc["message"], doc["message"]
    assert snapshot(repo) == before and not git.Repo(repo).is_dirty(untracked_files=True)
