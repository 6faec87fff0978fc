"""The loop end to end, through the CLI as agents call it (`--json`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import git
import pytest

from runner.cli import main
from runner.errors import ExitCode
from tests.conftest import RepoFactory, commit_count, snapshot
from tests.helpers import DB_HEAD, PLAN_001, cli, trailers, write_plan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def completed_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], dict[str, Any]]:
    """PLAN-001 run once on a fresh demo repo: (repo, tree before, run report)."""
    from runner.demo import DEMO_BLUEPRINT, make_demo_repo

    repo = make_demo_repo(tmp_path_factory.mktemp("plan001") / "repo", [DEMO_BLUEPRINT])
    before = snapshot(repo)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(repo)
        import io
        from contextlib import redirect_stdout

        buffer = io.StringIO()
        with redirect_stdout(buffer):
            code = main(["run", PLAN_001, "--json"])
    report = json.loads(buffer.getvalue())
    assert code == 0, report["message"]
    return repo, before, report


def copy_repo(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "copy"))


def test_plan001_one_commit_per_task_with_trailers(
    completed_demo: tuple[Path, dict[str, bytes], dict[str, Any]],
) -> None:
    repo, _, report = completed_demo
    tasks = report["tasks"]
    assert [t["id"] for t in tasks] == ["1.1", "1.2", "2.1", "2.2", "3.1", "3.2", "4.1", "4.2"]
    assert all(t["outcome"] == "completed" for t in tasks)
    assert commit_count(repo) == 1 + len(tasks)
    log = git.Repo(repo)
    for offset, task in enumerate(reversed(tasks)):
        rev = f"HEAD~{offset}"
        found = trailers(repo, rev)
        assert found["Blueprint"] == "PLAN-001"
        assert found["Blueprint-Task"] == task["id"]
        assert found["Blueprint-Outcome"] == "completed"
        changed = log.git.diff_tree("--no-commit-id", "--name-only", "-r", rev).splitlines()
        assert PLAN_001 in changed  # the tracker update is in the task's own commit
        assert sorted(set(changed) - {PLAN_001}) == sorted(task["files_changed"])
    assert trailers(repo, "HEAD~7")["Codemod"] == "reciprocal-exp-to-sigmoid"
    assert "Codemod" not in trailers(repo, "HEAD~6")  # a gates-only task


def test_plan001_code_and_tracker(completed_demo: tuple[Path, dict[str, bytes], dict[str, Any]]) -> None:
    repo, before, report = completed_demo
    head = (repo / DB_HEAD).read_text()
    assert "return torch.sigmoid(self.k * (x - y))" in head and "reciprocal" not in head.split("def ")[2]
    pl = (repo / "ocr/lightning_modules/ocr_pl.py").read_text()
    assert '"prob_maps": pred["prob_maps"],' in pl and '"loss": pred["loss"],' in pl
    assert 'pred["prob_maps"].detach().cpu().numpy()' in pl  # feeds numpy: kept, reported
    assert any("numpy" in s["reason"] for t in report["tasks"] for s in t["skips"])
    dice = (repo / "ocr/models/loss/dice_loss.py").read_text()
    assert "pred = pred.clamp(0, 1)" in dice and "torch.isfinite(pred)" in dice
    hw = (repo / "configs/hardware/rtx3060_12gb_i5_16core.yaml").read_bytes()
    assert hw == before["configs/hardware/rtx3060_12gb_i5_16core.yaml"]  # batch_size already 4
    dl = (repo / "configs/dataloaders/rtx3060_16core.yaml").read_text()
    assert "num_workers: 8   # one per core starves the main process" in dl  # comment kept
    blueprint = (repo / PLAN_001).read_bytes()
    assert b"- **STATUS:** Completed" in blueprint
    assert "üéØ".encode() in blueprint  # the seed's mojibake is kept byte for byte
    assert not git.Repo(repo).is_dirty(untracked_files=True)


def test_second_run_makes_no_commit(
    completed_demo: tuple[Path, dict[str, bytes], dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = copy_repo(completed_demo[0], tmp_path)
    count = commit_count(repo)
    code, doc = cli(capsys, "run", repo / PLAN_001, "--repo", repo)
    assert code == 0 and doc["tasks"] == [] and "nothing to do" in doc["message"]
    assert commit_count(repo) == count


def test_revert_restores_files_and_reopens_task(
    completed_demo: tuple[Path, dict[str, bytes], dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = copy_repo(completed_demo[0], tmp_path)
    before = completed_demo[1]
    code, doc = cli(capsys, "revert", "PLAN-001:1.1", "--repo", repo)
    assert code == 0, doc["message"]
    assert (repo / DB_HEAD).read_bytes() == before[DB_HEAD]
    assert trailers(repo)["Blueprint-Outcome"] == "reverted"
    code, status = cli(capsys, "status", repo / PLAN_001, "--repo", repo)
    states = {t["id"]: t["state"] for t in status["data"]["tasks"]}
    # Task 1.2 only validated 1.1's file: reopened with it, not left checked without a note.
    assert states["1.1"] == "pending" and states["1.2"] == "pending" and states["2.1"] == "completed"
    assert status["data"]["tracker"]["NEXT TASK"].startswith("Task 1.1")
    # Running again re-applies exactly that task, then validates it again.
    code, doc = cli(capsys, "run", repo / PLAN_001, "--repo", repo)
    assert code == 0 and [t["id"] for t in doc["tasks"]] == ["1.1", "1.2"]
    assert "torch.sigmoid(self.k * (x - y))" in (repo / DB_HEAD).read_text()


def test_revert_conflict_refuses_and_names_commits(
    completed_demo: tuple[Path, dict[str, bytes], dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = copy_repo(completed_demo[0], tmp_path)
    path = repo / DB_HEAD
    path.write_text(
        path.read_text().replace("torch.sigmoid(self.k * (x - y))", "torch.sigmoid(2 * self.k * (x - y))")
    )
    git.Repo(repo).git.commit("-am", "Sharpen the step function")
    before, count = snapshot(repo), commit_count(repo)
    code, doc = cli(capsys, "revert", "PLAN-001:1.1", "--repo", repo)
    assert code == ExitCode.REVERT_CONFLICT
    assert "Sharpen the step function" in doc["message"] and DB_HEAD in doc["message"]
    assert snapshot(repo) == before and commit_count(repo) == count
    assert not (repo / ".git" / "REVERT_HEAD").exists()


# -- refusals: one line, non-zero, nothing touched ----------------------------------


def test_dirty_tree_is_refused(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo()
    (repo / "ocr/models/loss/dice_loss.py").write_text("# work in progress\n")
    before, count = snapshot(repo), commit_count(repo)
    code, doc = cli(capsys, "run", repo / PLAN_001, "--repo", repo)
    assert (
        code == ExitCode.DIRTY_TREE and "uncommitted changes (ocr/models/loss/dice_loss.py)" in doc["message"]
    )
    assert snapshot(repo) == before and commit_count(repo) == count


def test_index_lock_is_refused_and_kept(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo()
    (repo / ".git" / "index.lock").write_text("")
    code, doc = cli(capsys, "run", repo / PLAN_001, "--repo", repo)
    assert code == ExitCode.DIRTY_TREE and "index.lock" in doc["message"]
    assert (repo / ".git" / "index.lock").exists()


@pytest.mark.parametrize(
    ("outline", "fragment"),
    [
        (
            "1. [ ] **Task 1.1: A**\n   - [ ] Apply `no-such-codemod` to `ocr/models/head/db_head.py`",
            "unknown codemod 'no-such-codemod'",
        ),
        (
            "1. [ ] **Task 1.1: A**\n   - [ ] Apply `reciprocal-exp-to-sigmoid` to `../../etc/passwd`",
            "outside the repository",
        ),
        # (a missing target is no input error: an earlier task may create it; see test_file_steps)
        ("1. [ ] **Task 1.1: A**\n   - [ ] Create `ocr/new.py`:", "takes 1 code block(s) under it, it has 0"),
        (
            "1. [ ] **Task 1.1: A**\n   - [ ] Apply `lazy-import` to `runners/train.py` with `colour=blue`",
            "no option 'colour'",
        ),
        ("1. [ ] **Task 1.1: A**\n   - [ ] Run `python -m py_compile /etc/passwd`", "is absolute"),
        ("1. [ ] **Task 1.1: A**\n   - [ ] s\n2. [ ] **Task 1.1: B**\n   - [ ] s", "duplicate task id 1.1"),
    ],
)
def test_bad_input_changes_nothing(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str], outline: str, fragment: str
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, outline)
    before, count = snapshot(repo), commit_count(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.INPUT_ERROR, doc["message"]
    assert fragment in doc["message"] and doc["message"].count("\n") == 0
    assert doc["error"]["path"] and doc["error"]["path"].endswith("PLAN-042-test.md")
    assert doc["error"]["line"] is not None
    assert snapshot(repo) == before and commit_count(repo) == count


# -- blocked, manual, done, dry run ---------------------------------------------------


def test_blocked_task_restores_files_and_records_blocker(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(
        repo,
        "1. [ ] **Task 1.1: Fix**\n"
        "   - [ ] Apply `reciprocal-exp-to-sigmoid` to `ocr/models/head/db_head.py` (expect 3 changes)",
    )
    before = snapshot(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.TASK_FAILED
    task = doc["tasks"][0]
    assert task["outcome"] == "blocked" and "made 1 change(s), the step expects 3" in task["blocker"]
    assert task["fallback"] == "If step function fix breaks: Revert to previous implementation"
    after = snapshot(repo)
    assert {k for k in after if after[k] != before.get(k)} == {"blueprints/PLAN-042-test.md"}
    assert trailers(repo)["Blueprint-Outcome"] == "blocked"
    assert not git.Repo(repo).is_dirty(untracked_files=True)
    text = plan.read_text()
    assert "- **STATUS:** Blocked" in text and "- **BLOCKER:** Task 1.1: " in text
    # Fix the expectation: the next run retries the blocked task and clears the blocker.
    plan.write_text(text.replace("(expect 3 changes)", "(expect 1 change)"))
    git.Repo(repo).git.commit("-am", "fix expectation")
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0 and doc["tasks"][0]["outcome"] == "completed"
    assert "BLOCKER" not in plan.read_text() and "- **STATUS:** Completed" in plan.read_text()


def test_manual_step_stops_then_done_commits_the_edit(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(
        repo,
        "1. [ ] **Task 1.1: Document the step function**\n"
        "   - [ ] Add a docstring to `_step_function` in `ocr/models/head/db_head.py`\n"
        "   - [ ] Run syntax check: `python -m py_compile ocr/models/head/db_head.py`",
    )
    count = commit_count(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.MANUAL_STEP
    assert doc["tasks"][0]["manual_step"]["text"].startswith("Add a docstring")
    assert commit_count(repo) == count
    path = repo / DB_HEAD
    path.write_text(
        path.read_text().replace("        # Differentiable", '        """Step."""\n        # Differentiable')
    )
    code, doc = cli(capsys, "done", "PLAN-042:1.1", "--repo", repo)
    assert code == 0, doc["message"]
    assert trailers(repo)["Blueprint-Outcome"] == "done"
    changed = git.Repo(repo).git.diff_tree("--no-commit-id", "--name-only", "-r", "HEAD").splitlines()
    assert sorted(changed) == sorted([DB_HEAD, "blueprints/PLAN-042-test.md"])
    assert "- [x] Add a docstring" in plan.read_text()


def test_done_with_new_undefined_name_keeps_the_edit(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    write_plan(repo, "1. [ ] **Task 1.1: Edit**\n   - [ ] Make the lazy import of `runners/train.py` by hand")
    path = repo / "runners/train.py"
    edited = path.read_text().replace("import wandb\n", "")  # the NameError that shipped
    path.write_text(edited)
    count = commit_count(repo)
    code, doc = cli(capsys, "done", "PLAN-042:1.1", "--repo", repo)
    assert code == ExitCode.TASK_FAILED
    assert "new undefined names: wandb (F821)" in doc["tasks"][0]["blocker"]
    assert path.read_text() == edited and commit_count(repo) == count


def test_dry_run_writes_nothing(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo()
    before = snapshot(repo)
    code, doc = cli(capsys, "run", repo / PLAN_001, "--repo", repo, "--dry-run")
    assert code == 0
    assert "+        return torch.sigmoid(self.k * (x - y))" in doc["tasks"][0]["diff"]
    assert "+- **STATUS:** In Progress" in doc["tasks"][0]["diff"]
    assert doc["tasks"][-1]["tracker_after"]["STATUS"] == "Completed"
    assert snapshot(repo) == before and commit_count(repo) == 1


def test_blueprint_outside_repo_is_rewritten_in_place(
    demo_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    outside = tmp_path / "elsewhere" / "PLAN-001.md"
    outside.parent.mkdir()
    shutil.copyfile(repo / PLAN_001, outside)
    code, doc = cli(capsys, "run", outside, "--repo", repo, "--task", "1.1")
    assert code == 0, doc["message"]
    changed = git.Repo(repo).git.diff_tree("--no-commit-id", "--name-only", "-r", "HEAD").splitlines()
    assert changed == [DB_HEAD]
    assert "1. [x] **Task 1.1:" in outside.read_text()


def test_lint_next_status(capsys: pytest.CaptureFixture[str], demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    code, doc = cli(capsys, "lint", repo / PLAN_001, "--repo", repo)
    assert code == 0 and not doc["data"]["errors"]
    kinds = {s["text"][:20]: s["kind"] for s in doc["data"]["steps"]}
    assert kinds["Apply `reciprocal-ex"] == "codemod" and kinds["Run syntax check: `p"] == "gate"
    assert kinds["Set `batch_size` to "] == "config"
    code, doc = cli(capsys, "next", repo / PLAN_001, "--repo", repo)
    assert doc["data"]["task"]["id"] == "1.1" and doc["data"]["task"]["files"] == [DB_HEAD]
    code, doc = cli(capsys, "status", repo / PLAN_001, "--repo", repo)
    assert [t["state"] for t in doc["data"]["tasks"]] == ["pending"] * 8


def test_unparseable_targets_are_skipped_not_fatal(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    legacy = repo / "legacy"
    legacy.mkdir()
    (legacy / "py2.py").write_bytes(b"import torch\nprint 'hello', torch.exp(x)\n")
    (legacy / "latin1.py").write_bytes(b"import torch\n# caf\xe9\ny = torch.exp(x)\n")
    (legacy / "ok.py").write_bytes(b"import torch\n\n\ndef f(x):\n    return 1 / (1 + torch.exp(-x))\n")
    plan = write_plan(
        repo, "1. [ ] **Task 1.1: Fix legacy**\n   - [ ] Apply `reciprocal-exp-to-sigmoid` to `legacy`"
    )
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    task = doc["tasks"][0]
    assert task["files_changed"] == ["legacy/ok.py"]
    problems = {p["file"]: p["reason"] for p in task["file_problems"]}
    assert "does not parse as Python 3" in problems["legacy/py2.py"]
    assert "cannot be decoded" in problems["legacy/latin1.py"]
    assert (legacy / "py2.py").read_bytes() == b"import torch\nprint 'hello', torch.exp(x)\n"
    message = git.Repo(repo).head.commit.message
    assert "legacy/py2.py (skipped): does not parse as Python 3" in message
