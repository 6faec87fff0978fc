"""Writes stay where they belong: every file found under a directory target is resolved
(symlinks, FIFOs, submodules), a tracked symlink stays a symlink, nothing in `.git` or
outside the repo is read or written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import git
import pytest

from runner.errors import ExitCode
from tests.conftest import RepoFactory, commit_count, snapshot
from tests.helpers import cli, write_plan

SIGMOID_SOURCE = "import torch\n\n\ndef f(x):\n    return 1 / (1 + torch.exp(-x))\n"
SIGMOID_AFTER = "torch.sigmoid(x)"
PKG_TASK = "1. [ ] **Task 1.1: Fix pkg**\n   - [ ] Apply `reciprocal-exp-to-sigmoid` to `pkg`"


def _commit_all(repo: Path, message: str = "setup") -> None:
    git_repo = git.Repo(repo)
    git_repo.git.add("-A")
    git_repo.git.commit("-m", message, "--no-verify")


def _pkg(repo: Path) -> Path:
    pkg = repo / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "ok.py").write_text(SIGMOID_SOURCE)
    return pkg


def _run_subprocess(repo: Path, *args: str | Path) -> tuple[int, dict[str, Any]]:
    """The runner in a child with a timeout, for cases that used to hang."""
    import json

    done = subprocess.run(
        [sys.executable, "-m", "runner", *map(str, args), "--repo", str(repo), "--json"],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    return done.returncode, json.loads(done.stdout)


def test_directory_target_symlink_into_git_is_refused(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    pkg = _pkg(repo)
    hook = repo / ".git" / "hooks" / "helper.py"
    hook.write_text(SIGMOID_SOURCE)
    (pkg / "evil.py").symlink_to(Path("..") / ".git" / "hooks" / "helper.py")
    _commit_all(repo)
    plan = write_plan(repo, PKG_TASK)
    before, count = snapshot(repo), commit_count(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.INPUT_ERROR, doc["message"]
    assert "pkg/evil.py" in doc["message"] and ".git" in doc["message"]
    assert doc["error"]["line"] is not None and "\n" not in doc["message"]
    assert hook.read_text() == SIGMOID_SOURCE
    assert snapshot(repo) == before and commit_count(repo) == count
    # lint reports the same error, naming the step's line
    code, doc = cli(capsys, "lint", plan, "--repo", repo)
    assert code == ExitCode.INPUT_ERROR and any("pkg/evil.py" in e for e in doc["data"]["errors"])


def test_directory_target_symlink_out_of_repo_is_refused(
    demo_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    pkg = _pkg(repo)
    outside = tmp_path / "outside.py"
    outside.write_text(SIGMOID_SOURCE)
    (pkg / "escape.py").symlink_to(outside)
    _commit_all(repo)
    plan = write_plan(repo, PKG_TASK)
    before, count = snapshot(repo), commit_count(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.INPUT_ERROR, doc["message"]
    assert "pkg/escape.py" in doc["message"] and "outside the repository" in doc["message"]
    assert outside.read_text() == SIGMOID_SOURCE
    assert snapshot(repo) == before and commit_count(repo) == count


def test_tracked_py_symlink_edits_its_target_and_stays_a_link(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    pkg = _pkg(repo)
    (repo / "shared").mkdir()
    (repo / "shared" / "common.py").write_text(SIGMOID_SOURCE)
    (pkg / "alias.py").symlink_to(Path("..") / "shared" / "common.py")
    _commit_all(repo)
    plan = write_plan(repo, PKG_TASK)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    assert sorted(doc["tasks"][0]["files_changed"]) == ["pkg/ok.py", "shared/common.py"]
    assert (pkg / "alias.py").is_symlink()
    assert os.readlink(pkg / "alias.py") == os.path.join("..", "shared", "common.py")
    assert SIGMOID_AFTER in (repo / "shared" / "common.py").read_text()
    tree = git.Repo(repo).head.commit.tree
    assert (tree / "pkg/alias.py").mode == 0o120000  # still a symlink in the commit
    assert SIGMOID_AFTER.encode() in (tree / "shared/common.py").data_stream.read()
    assert not git.Repo(repo).is_dirty(untracked_files=True)
    # the rewritten module runs
    namespace: dict[str, Any] = {}
    exec(compile((repo / "shared" / "common.py").read_text(), "common.py", "exec"), namespace)
    torch = pytest.importorskip("torch")
    assert float(namespace["f"](torch.tensor(0.0))) == 0.5


def test_fifo_in_target_is_skipped_not_read(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    pkg = _pkg(repo)
    _commit_all(repo)
    plan = write_plan(repo, PKG_TASK)
    os.mkfifo(pkg / "pipe.py")  # git neither tracks nor reports a FIFO: the tree stays clean
    code, doc = _run_subprocess(repo, "run", plan)
    assert code == 0, doc["message"]
    task = doc["tasks"][0]
    assert task["files_changed"] == ["pkg/ok.py"]  # the FIFO was never opened: the run did not hang
    assert stat.S_ISFIFO(os.lstat(pkg / "pipe.py").st_mode)


def test_submodule_in_target_is_skipped(
    demo_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    (upstream / "vendored.py").write_text(SIGMOID_SOURCE)
    up = git.Repo.init(upstream)
    up.git.add("-A")
    up.git.commit("-m", "upstream", "--no-verify")
    repo = demo_repo()
    _pkg(repo)
    git.Repo(repo).git.execute(
        ["git", "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(upstream), "pkg/sub"]
    )
    _commit_all(repo, "add submodule")
    plan = write_plan(repo, PKG_TASK)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    task = doc["tasks"][0]
    assert task["files_changed"] == ["pkg/ok.py"]  # the submodule's files are not this repo's
    assert (repo / "pkg" / "sub" / "vendored.py").read_text() == SIGMOID_SOURCE
    assert not git.Repo(repo).is_dirty(untracked_files=True)


def test_blueprint_symlink_stays_a_symlink(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    _pkg(repo)
    plan = write_plan(repo, PKG_TASK)
    (repo / "current-plan.md").symlink_to(Path("blueprints") / plan.name)
    _commit_all(repo, "link the current plan")
    code, doc = cli(capsys, "run", repo / "current-plan.md", "--repo", repo)
    assert code == 0, doc["message"]
    assert (repo / "current-plan.md").is_symlink()
    tree = git.Repo(repo).head.commit.tree
    assert (tree / "current-plan.md").mode == 0o120000
    assert b"1. [x] **Task 1.1:" in (tree / f"blueprints/{plan.name}").data_stream.read()
    assert not git.Repo(repo).is_dirty(untracked_files=True)
    # one blueprint for the plan id, so revert finds it
    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)
    assert code == 0, doc["message"]
    assert (repo / "current-plan.md").is_symlink()
    assert (repo / "pkg" / "ok.py").read_text() == SIGMOID_SOURCE


def test_codemod_apply_resolves_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "real.py").write_text(SIGMOID_SOURCE)
    (tree / "alias.py").symlink_to("real.py")
    outside = tmp_path / "outside.py"
    outside.write_text(SIGMOID_SOURCE)
    (tree / "escape.py").symlink_to(outside)
    os.mkfifo(tree / "pipe.py")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner",
            "codemod",
            "apply",
            "reciprocal-exp-to-sigmoid",
            str(tree),
            "--json",
        ],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    import json

    doc = json.loads(done.stdout)
    assert done.returncode == 0, doc["message"]
    files = {Path(f["file"]).name: f for f in doc["data"]["files"]}
    assert files["escape.py"]["status"] == "skipped"
    assert "outside" in files["escape.py"]["reason"]
    assert files.get("pipe.py", {"status": "skipped"})["status"] == "skipped"  # never opened
    assert outside.read_text() == SIGMOID_SOURCE
    assert (tree / "alias.py").is_symlink() and os.readlink(tree / "alias.py") == "real.py"
    assert SIGMOID_AFTER in (tree / "real.py").read_text()
    assert doc["data"]["totals"]["changed"] == 1
