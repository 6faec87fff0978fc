"""A person's work survives the runner: their index, untracked files, concurrent commits and hooks;
and a landed commit is never rolled back or denied."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import git
import pytest

from runner.blueprint.edit import complete_task
from runner.blueprint.model import MAX_BLUEPRINT_BYTES, parse_blueprint
from runner.errors import ExitCode
from tests.conftest import RepoFactory, commit_count, snapshot
from tests.helpers import DB_HEAD, cli, crashed_run, trailers, write_plan

pytestmark = pytest.mark.slow

FIX = "1. [ ] **Task 1.1: Fix**\n   - [ ] Apply `reciprocal-exp-to-sigmoid` to `ocr/models/head/db_head.py`"
CHECK = (
    "2. [ ] **Task 1.2: Check**\n   - [ ] Run syntax check: `python -m py_compile ocr/models/head/db_head.py`"
)
MANUAL = (
    "1. [ ] **Task 1.1: Document the step function**\n"
    "   - [ ] Add a docstring to `_step_function` in `ocr/models/head/db_head.py`"
)
DICE = "ocr/models/loss/dice_loss.py"


def _hook(repo: Path, body: str) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\n" + body + "\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)


def _index(repo: Path) -> str:
    """The index as git sees it: every entry's mode, blob and path."""
    return str(git.Repo(repo).git.ls_files("-s"))


def _persons_work(repo: Path) -> None:
    """A manual task's edit, and a new file staged with `git add`."""
    write_plan(repo, MANUAL)
    path = repo / DB_HEAD
    path.write_text(
        path.read_text().replace("        # Differentiable", '        """Step."""\n        # Differentiable')
    )
    (repo / "ocr" / "extra.py").write_text("VALUE = 1\n")
    git.Repo(repo).git.add("ocr/extra.py")


def test_done_after_a_rejected_commit_keeps_the_staged_content(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    _persons_work(repo)
    git.Repo(repo).git.add(DB_HEAD)
    (repo / "ocr" / "extra.py").write_text("VALUE = 2\n")  # staged 1, working tree 2
    _hook(repo, "exit 1")
    index, tree, count = _index(repo), snapshot(repo), commit_count(repo)

    code, doc = cli(capsys, "done", "PLAN-042:1.1", "--repo", repo)

    assert code == ExitCode.TASK_FAILED and "git commit failed" in doc["message"]
    assert _index(repo) == index  # staged content exactly as the person left it
    assert snapshot(repo) == tree and commit_count(repo) == count


def test_done_commits_staged_new_files_and_leaves_other_untracked_files(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    _persons_work(repo)
    (repo / ".env").write_text("API_KEY=secret\n")
    (repo / "scratch.txt").write_text("notes\n")

    code, doc = cli(capsys, "done", "PLAN-042:1.1", "--repo", repo)

    assert code == 0, doc["message"]
    committed = git.Repo(repo).git.diff_tree("--no-commit-id", "--name-only", "-r", "HEAD").splitlines()
    assert sorted(committed) == sorted([DB_HEAD, "blueprints/PLAN-042-test.md", "ocr/extra.py"])
    assert sorted(git.Repo(repo).untracked_files) == [".env", "scratch.txt"]
    assert (repo / ".env").read_text() == "API_KEY=secret\n"
    assert any(".env" in note and "scratch.txt" in note for note in doc["notes"])


def test_a_commit_made_during_the_gates_stops_the_task(
    demo_repo: RepoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A person's `git commit -am` while the import gate runs: detected, nothing committed."""
    repo = demo_repo()
    plan = write_plan(repo, FIX)
    before, count = snapshot(repo), commit_count(repo)
    marker = tmp_path / "committed"
    python = tmp_path / "python"
    # The import gate's interpreter starts before the task writes (it preloads torch), so
    # it waits for the runner's edit to reach the disk, then commits it as a person would.
    python.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{marker}" ]; then touch "{marker}"; '
        f'for i in $(seq 600); do grep -q "sigmoid(self.k" "{repo / DB_HEAD}" && break; sleep 0.1; done; '
        f'git -C "{repo}" commit -qam "my own work" >/dev/null 2>&1; fi\n'
        f'exec "{sys.executable}" "$@"\n'
    )
    python.chmod(0o755)

    code, doc = cli(capsys, "run", plan, "--repo", repo, "--python", python)

    assert marker.exists()
    assert code == ExitCode.DIRTY_TREE and "HEAD moved" in doc["message"], doc["message"]
    assert commit_count(repo) == count + 1  # the person's commit only, no task commit
    assert "Blueprint" not in trailers(repo)
    assert "torch.sigmoid" in git.Repo(repo).git.show(f"HEAD:{DB_HEAD}")  # what they committed
    assert (repo / DB_HEAD).read_bytes() == before[DB_HEAD]  # the runner's edit undone on disk
    assert plan.read_bytes() == before["blueprints/PLAN-042-test.md"]
    assert not (repo / ".git" / "blueprint-runner" / "journal.json").exists()


def test_a_hook_that_edits_without_staging_stops_the_run(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, f"{FIX}\n{CHECK}")
    _hook(repo, f"printf '# formatted\\n' >> {DICE}")

    code, doc = cli(capsys, "run", plan, "--repo", repo)

    assert code == ExitCode.DIRTY_TREE, doc["message"]
    assert DICE in doc["message"] and "next task was not run" in doc["message"]
    assert [t["id"] for t in doc["tasks"]] == ["1.1"] and doc["tasks"][0]["commit"]
    assert trailers(repo)["Blueprint-Task"] == "1.1"
    assert "2. [ ] **Task 1.2" in plan.read_text()
    assert git.Repo(repo).is_dirty(path=DICE)  # the hook's edit is left for the person


def test_a_failure_after_the_commit_keeps_the_commit(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tracker update pushes the blueprint past the size limit: the commit stands, said so."""
    repo = demo_repo()
    plan = write_plan(repo, FIX)
    source = plan.read_bytes() + b"\n## Notes\n\n"
    model = parse_blueprint(source, "plan.md")
    growth = len(complete_task(model, model.tasks[0])) - len(source)
    assert growth > 0
    filler = MAX_BLUEPRINT_BYTES - len(source)
    source += (b"x" * 99 + b"\n") * (filler // 100) + b"y" * (filler % 100)
    assert len(source) == MAX_BLUEPRINT_BYTES
    plan.write_bytes(source)
    git.Repo(repo).git.commit("-qam", "notes")
    head = git.Repo(repo).head.commit.hexsha

    code, doc = cli(capsys, "run", plan, "--repo", repo)

    assert code == ExitCode.INPUT_ERROR and "larger than 4 MiB" in doc["message"]
    assert "the commit stands" in doc["message"] and "nothing was changed" not in doc["message"].lower()
    git_repo = git.Repo(repo)
    assert git_repo.head.commit.parents[0].hexsha == head and trailers(repo)["Blueprint-Task"] == "1.1"
    assert not git_repo.is_dirty(untracked_files=True)  # nothing rolled back under the commit
    assert "torch.sigmoid(self.k * (x - y))" in (repo / DB_HEAD).read_text()


def test_codemod_apply_in_a_repo_goes_through_the_transaction(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """It first rolls back a killed run's half-done task, then writes under the lock, journalled."""
    repo = demo_repo()
    _, before = crashed_run(repo, FIX)
    (repo / ".git" / "blueprint-runner" / "lock").unlink()  # as if cleared by hand

    code, doc = cli(
        capsys, "codemod", "apply", "reciprocal-exp-to-sigmoid", repo / "ocr" / "models", "--repo", repo
    )

    assert code == 0, doc["message"]
    assert any("rolled back an interrupted run of PLAN-042 Task 1.1" in n for n in doc["notes"])
    after = snapshot(repo)
    assert {k for k in after if after[k] != before.get(k)} == {DB_HEAD}
    assert "torch.sigmoid(self.k * (x - y))" in (repo / DB_HEAD).read_text()
    assert not (repo / ".git" / "blueprint-runner" / "journal.json").exists()
    assert not (repo / ".git" / "blueprint-runner" / "lock").exists()
