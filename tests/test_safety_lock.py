"""The repo lock: created with its content in one step, held with an OS lock for the holder's
lifetime, never cleared while its holder lives (whatever the file says)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest

from runner.errors import ExitCode, LockedError
from runner.lock import clear_stale_lock, repo_lock
from tests.conftest import RepoFactory, commit_count
from tests.helpers import cli, write_plan

ROOT = Path(__file__).resolve().parent.parent


def _lock(repo: Path) -> Path:
    path = repo / ".git" / "blueprint-runner" / "lock"
    path.parent.mkdir(exist_ok=True)
    return path


def _flock_holder(path: Path) -> subprocess.Popen[bytes]:
    """A child process holding an exclusive flock on ``path`` until killed."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "time.sleep(120)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stdout.readline() == b"held\n"
    return child


def _flock_free(path: Path) -> bool:
    """Whether a fresh process can take an exclusive flock on ``path`` right now."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
            "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "except BlockingIOError:\n    sys.exit(1)\n",
            str(path),
        ],
        check=False,
    )
    return probe.returncode == 0


def test_lock_appears_with_its_content_and_is_flocked(tmp_path: Path) -> None:
    git_dir = tmp_path / ".git"
    git_dir.mkdir()
    with repo_lock(git_dir, "run-1", "run"):
        path = git_dir / "blueprint-runner" / "lock"
        info = json.loads(path.read_text())
        assert info["pid"] == os.getpid() and info["run_id"] == "run-1" and info["command"] == "run"
        assert not _flock_free(path)  # the holder keeps an OS lock on it
        assert [p.name for p in path.parent.iterdir()] == ["lock"]  # no temporary file left
    assert not path.exists()


def test_empty_lock_being_written_is_not_taken_as_stale(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `recover` saw beside a starting `run`: the lock file exists, still empty."""
    repo = demo_repo()
    lock = _lock(repo)
    lock.write_bytes(b"")
    with pytest.raises(LockedError):
        clear_stale_lock(repo / ".git")
    code, doc = cli(capsys, "recover", "--repo", repo)
    assert code == ExitCode.LOCKED and lock.exists(), doc["message"]
    assert "\n" not in doc["message"]


def test_unreadable_lock_whose_holder_holds_the_flock_is_never_cleared(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    lock = _lock(repo)
    lock.write_bytes(b"{not json")
    old = time.time() - 3600
    os.utime(lock, (old, old))  # old enough to look abandoned: only the flock says otherwise
    holder = _flock_holder(lock)
    try:
        code, doc = cli(capsys, "recover", "--repo", repo)
        assert code == ExitCode.LOCKED and lock.exists(), doc["message"]
        code, doc = cli(
            capsys, "run", write_plan(repo, "1. [ ] **Task 1.1: x**\n   - [ ] Do x"), "--repo", repo
        )
        assert code == ExitCode.LOCKED and "another runner holds" in doc["message"]
    finally:
        holder.kill()
        holder.wait()
    # Its holder gone, the old unreadable lock is stale and `recover` clears it.
    code, doc = cli(capsys, "recover", "--repo", repo)
    assert code == 0 and not lock.exists(), doc["message"]
    assert "cleared the stale lock" in doc["message"]


def test_recover_beside_run_never_breaks_a_live_run(demo_repo: RepoFactory) -> None:
    """`run` and `recover` started together, 20 times: the run's lock and task survive."""
    repo = demo_repo()
    config = repo / "configs" / "race.yaml"
    config.write_text("".join(f"k{i}: 0\n" for i in range(20)))
    tasks = "\n".join(
        f"{i + 1}. [ ] **Task 1.{i + 1}: set k{i}**\n   - [ ] Set `k{i}` to `1` in `configs/race.yaml`"
        for i in range(20)
    )
    plan = write_plan(repo, tasks)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-m", "runner"]
    start = commit_count(repo)
    for i in range(20):
        task = f"PLAN-042:1.{i + 1}"
        for _attempt in range(10):
            run = subprocess.Popen(
                [*base, "run", str(plan), "--task", task, "--repo", str(repo), "--json"],
                env=env,
                stdout=subprocess.PIPE,
            )
            recover = subprocess.run(
                [*base, "recover", "--repo", str(repo), "--json"],
                env=env,
                capture_output=True,
                timeout=120,
                check=False,
            )
            out, _ = run.communicate(timeout=120)
            recovered = json.loads(recover.stdout)
            assert recover.returncode in (0, ExitCode.LOCKED), recovered["message"]
            assert "rolled back" not in recover.stdout.decode(), recovered
            assert "cleared" not in recover.stdout.decode(), recovered
            ran = json.loads(out)
            if run.returncode == 0:
                break
            # `recover` held the lock at that moment: refused, nothing touched; try again
            assert run.returncode == ExitCode.LOCKED, ran["message"]
        else:
            pytest.fail(f"Task 1.{i + 1} never got the lock")
        assert f"k{i}: 1\n" in config.read_text()
    assert commit_count(repo) == start + 20
    assert not git.Repo(repo).is_dirty(untracked_files=True)
    assert not _lock(repo).exists()
