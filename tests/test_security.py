"""Blueprint text is data: no shell, credentials stripped, hooks honoured."""

from __future__ import annotations

import stat
from pathlib import Path

import git
import pytest

from runner.errors import ExitCode
from runner.gates.imports import check_import
from tests.conftest import RepoFactory, commit_count, snapshot
from tests.helpers import cli, write_plan

OUTLINE = (
    "1. [ ] **Task 1.1: Fix the step function**\n"
    "   - [ ] Apply `reciprocal-exp-to-sigmoid` to `ocr/models/head/db_head.py` (expect 1 change)"
)


def test_import_gate_strips_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "probe.py").write_text(
        "import os\n"
        "leaked = [k for k in os.environ if 'TOKEN' in k or 'SECRET' in k or 'API_KEY' in k]\n"
        "assert not leaked, leaked\n"
        "assert 'PATH' in os.environ\n"
    )
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    assert check_import(tmp_path, "probe").status == "passed"


def test_import_gate_times_out(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(30)\n")
    result = check_import(tmp_path, "slow", timeout=1)
    assert result.status == "failed" and "longer than 1s" in result.detail


def test_import_gate_separates_missing_packages_from_broken_code(tmp_path: Path) -> None:
    (tmp_path / "uses_missing.py").write_text("import surely_not_installed_pkg\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "broken.py").write_text("import pkg.gone\n")
    assert check_import(tmp_path, "uses_missing").status == "warning"
    failed = check_import(tmp_path, "broken")
    assert failed.status == "failed" and "pkg.gone" in failed.detail


def _hook(repo: Path, body: str) -> Path:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\n" + body)
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    return hook


def test_target_repo_hooks_run_on_runner_commits(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    _hook(repo, 'echo ran >> "$(git rev-parse --git-dir)/hook-ran"\n')
    code, _ = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0 and (repo / ".git" / "hook-ran").read_text() == "ran\n"


def test_no_verify_skips_hooks_explicitly(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    _hook(repo, "exit 1\n")
    code, _ = cli(capsys, "run", plan, "--repo", repo, "--no-verify")
    assert code == 0 and "Blueprint-Task: 1.1" in git.Repo(repo).head.commit.message


def test_rejecting_hook_restores_everything(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    _hook(repo, "echo 'lint failed' >&2\nexit 1\n")
    before, count = snapshot(repo), commit_count(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.TASK_FAILED and "git commit failed" in doc["message"]
    assert snapshot(repo) == before and commit_count(repo) == count
    assert not git.Repo(repo).is_dirty(untracked_files=True)
