"""The contract an agent follows (one JSON document, `code`, `next_action`) and the wrong or
missing guidance it got before; each test here failed before its fix."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import git
import pytest

from runner.blueprint.model import load_blueprint
from runner.cli import main
from runner.gates.undefined import check_undefined
from tests.conftest import RepoFactory, commit_count, snapshot
from tests.helpers import DB_HEAD, PLAN_001, trailers, write_plan

MANUAL = (
    "1. [ ] **Task 1.1: Document the Head**\n"
    f"   - [ ] Update the docstring of `{DB_HEAD}`\n\n"
    "2. [ ] **Task 1.2: Check the Head**\n"
    f"   - [ ] Verify `{DB_HEAD}` defines `DBHead`\n"
)
BLOCKED = (
    f"1. [ ] **Task 1.1: Needs a Method**\n   - [ ] Verify `{DB_HEAD}` defines `DBHead.missing_method`\n"
)


def call(*argv: str | Path, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
    """One CLI call; its stdout must be exactly one JSON document."""
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        if cwd is not None:
            mp.chdir(cwd)
        with redirect_stdout(buffer):
            code = main([str(a) for a in argv])
    document: dict[str, Any] = json.loads(buffer.getvalue())
    assert document["exit_code"] == code
    assert set(document["next_action"]) == {"argv", "why", "alternatives"}
    return code, document


def follow(document: dict[str, Any], cwd: Path) -> tuple[int, dict[str, Any]]:
    argv = document["next_action"]["argv"]
    assert argv is not None and argv[0] == "runner", document["next_action"]
    return call(*argv[1:], cwd=cwd)


# -- the contract ------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--json", "--bogus", "X"],
        ["status", "--json"],
        ["--json", "frobnicate"],
        ["--json"],
        ["codemod", "apply", "--json"],
    ],
)
def test_usage_errors_are_one_json_document_with_exit_2(argv: list[str]) -> None:
    code, document = call(*argv)
    assert code == 2 and document["code"] == "usage" and document["error"]["code"] == "usage"
    assert document["next_action"]["argv"][-1] == "--help"


def test_json_anywhere_help_and_version(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    code, document = call("--json", "status", PLAN_001, cwd=repo)
    assert code == 0 and document["command"] == "status" and document["plan"] == "PLAN-001"
    code, document = call("--version", "--json")
    assert code == 0 and document["message"].startswith("runner ")
    code, document = call("run", "--help", "--json")
    assert code == 0 and "--dry-run" in document["message"]


def test_errors_carry_code_context_and_data(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    code, document = call("run", PLAN_001, "--task", "9.9", "--json", cwd=repo)
    assert code == 2 and document["code"] == "unknown_task"
    assert document["error"]["data"]["tasks"][:2] == ["1.1", "1.2"]
    assert (document["plan"], document["blueprint"]) == ("PLAN-001", PLAN_001)
    assert document["repo"] == str(repo.resolve())
    (repo / "README.md").write_text("changed\n")
    code, document = call("run", PLAN_001, "--json", cwd=repo)
    assert code == 3 and document["code"] == "dirty_tree" and document["plan"] == "PLAN-001"
    assert document["error"]["data"]["paths"] == ["README.md"]


def test_lock_holder_is_data(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    lock = repo / ".git" / "blueprint-runner" / "lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": "x", "command": "run", "started": 1}
    lock.write_text(json.dumps(holder))
    code, document = call("run", PLAN_001, "--json", cwd=repo)
    assert code == 5 and document["code"] == "lock_held"
    assert document["error"]["data"]["holder"]["pid"] == os.getpid()
    assert document["next_action"]["argv"] is None  # a live holder: wait, never clear it
    assert document["next_action"]["alternatives"][0]["argv"][:2] == ["runner", "run"]


def test_manual_stop_then_follow_next_action_with_two_blueprints_of_one_plan(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    write_plan(repo, MANUAL)
    other = write_plan(repo, MANUAL, name="PLAN-042-copy.md")  # the same plan id twice
    code, document = call("run", other, "--json", cwd=repo)
    assert code == 4 and document["code"] == "manual_step"
    action = document["next_action"]
    assert action["argv"][:3] == ["runner", "done", "PLAN-042:1.1"]
    assert "--blueprint" in action["argv"] and str(other) in action["argv"]
    assert action["alternatives"][0]["argv"][:3] == ["runner", "skip", "PLAN-042:1.1"]
    # The agent makes the change, then runs exactly what it was told.
    path = repo / DB_HEAD
    path.write_text(path.read_text().replace("threshold map T;", "threshold map T (documented);"))
    code, document = follow(document, repo)
    assert code == 0, document["message"]
    assert document["tasks"][0]["outcome"] == "done"
    assert all(step["checked"] for step in document["tasks"][0]["steps"])  # as the commit ticks them
    assert document["next_action"]["argv"][:2] == ["runner", "run"]
    code, document = follow(document, repo)
    assert code == 0 and document["next_action"]["argv"] is None


# -- wrong guidance, fixed -----------------------------------------------------------


def test_repo_that_is_not_a_repo_root_is_refused(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    before = snapshot(repo)
    code, document = call("status", PLAN_001, "--repo", repo / "ocr", "--json", cwd=repo)
    assert code == 2 and document["code"] == "not_a_repo"
    assert document["error"]["data"]["enclosing_repo"] == str(repo.resolve())
    assert snapshot(repo) == before


def test_lint_works_outside_a_git_repository(tmp_path: Path) -> None:
    project = Path(shutil.copytree(Path(__file__).parent.parent / "fixtures" / "ocr-project", tmp_path / "p"))
    blueprint = Path(__file__).parent.parent / "blueprints" / "PLAN-001-core-training-stabilization.md"
    code, document = call("lint", blueprint, "--repo", project, "--json")
    assert code == 0, document["message"]
    assert not (project / ".git").exists()


def test_dry_run_carries_each_task_into_the_next(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    code, document = call("run", PLAN_001, "--dry-run", "--json", cwd=repo)
    assert code == 0, document["message"]
    gates = {(t["id"], g["gate"]): g["status"] for t in document["tasks"] for g in t["gates"]}
    # Task 1.2 checks the pattern Task 1.1 removes: in memory, 1.1's result is there.
    assert gates[("1.2", "pattern-absent")] == "passed"
    assert git.Repo(repo).is_dirty() is False


def test_blocked_task_way_out(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    blueprint = write_plan(repo, BLOCKED)
    code, document = call("run", blueprint, "--json", cwd=repo)
    assert code == 1 and document["code"] == "task_blocked"
    commits = commit_count(repo)
    code, again = call("run", blueprint, "--json", cwd=repo)
    assert code == 1 and again["tasks"][0]["commit"] is None
    assert commit_count(repo) == commits  # no second "(blocked)" commit
    assert again["next_action"]["argv"][:3] == ["runner", "done", "PLAN-042:1.1"]
    # The fix, then `done` as advised.
    path = repo / DB_HEAD
    path.write_text(
        path.read_text().replace(
            "class DBHead(nn.Module):\n",
            "class DBHead(nn.Module):\n    def missing_method(self) -> None:\n        pass\n\n",
        )
    )
    code, finished = follow(again, repo)
    assert code == 0, finished["message"]
    assert load_blueprint(blueprint).tracker["STATUS"].value == "Completed"
    assert "BLOCKER" not in load_blueprint(blueprint).tracker


def test_skip_is_recorded_in_tracker_and_commit(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    blueprint = write_plan(
        repo, BLOCKED + f"\n2. [ ] **Task 1.2: After**\n   - [ ] Verify `{DB_HEAD}` exists\n"
    )
    call("run", blueprint, "--json", cwd=repo)
    code, document = call("skip", "PLAN-042:1.1", "--reason", "needs a design decision", "--json", cwd=repo)
    assert code == 0, document["message"]
    bp = load_blueprint(blueprint)
    assert (
        bp.tracker["LAST COMPLETED TASK"].value
        == "Task 1.1: Needs a Method (skipped: needs a design decision)"
    )
    assert "BLOCKER" not in bp.tracker
    assert trailers(repo)["Blueprint-Outcome"] == "skipped"
    assert "Reason: needs a design decision" in git.Repo(repo).head.commit.message
    code, status = call("status", blueprint, "--json", cwd=repo)
    assert [t["state"] for t in status["data"]["tasks"]] == ["skipped", "pending"]
    code, document = follow(document, repo)  # next_action: run the rest
    assert code == 0 and document["tasks"][0]["id"] == "1.2"


def test_done_refuses_out_of_order_and_empty_unless_allowed(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    blueprint = write_plan(repo, MANUAL)
    code, document = call("done", "PLAN-042:1.2", "--json", cwd=repo)
    assert code == 2 and document["code"] == "task_out_of_order"
    assert document["error"]["data"]["first_pending"] == "1.1"
    commits = commit_count(repo)
    code, document = call("done", "PLAN-042:1.1", "--json", cwd=repo)
    assert code == 2 and document["code"] == "empty_done" and commit_count(repo) == commits
    assert document["next_action"]["alternatives"][0]["argv"][3:5] == ["--blueprint", str(blueprint)]
    code, document = call("done", "PLAN-042:1.1", "--allow-empty", "--json", cwd=repo)
    assert code == 0 and commit_count(repo) == commits + 1


def test_dirty_tree_while_a_manual_task_waits_advises_done(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    write_plan(repo, MANUAL)
    call("run", "blueprints/PLAN-042-test.md", "--json", cwd=repo)
    (repo / DB_HEAD).write_text((repo / DB_HEAD).read_text() + "# documented\n")
    code, document = call("run", "blueprints/PLAN-042-test.md", "--json", cwd=repo)
    assert code == 3 and document["error"]["data"]["waiting_task"] == "1.1"
    assert "runner done PLAN-042:1.1" in document["message"]
    assert document["next_action"]["argv"][:3] == ["runner", "done", "PLAN-042:1.1"]


def test_revert_of_a_plan_without_a_task_says_so(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    code, document = call("revert", "PLAN-009", "--json", cwd=repo)
    assert code == 2 and document["code"] == "task_required"
    assert "names a plan but no task" in document["message"]


def test_undefined_names_gate_never_passes_a_file_it_cannot_parse() -> None:
    result = check_undefined(None, b"def f(:\n    return missing_name\n", "bad.py")
    assert result.status == "failed"
    assert result.detail.startswith("not checked: line 1:")
    assert check_undefined(None, b"x = 1\n", "ok.py").status == "passed"


def test_revert_conflict_names_the_later_task_to_revert_first(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    config = "configs/hardware/rtx3060_12gb_i5_16core.yaml"
    blueprint = write_plan(
        repo,
        f"1. [ ] **Task 1.1: Eight**\n   - [ ] Set `batch_size` to `8` in `{config}`\n\n"
        f"2. [ ] **Task 1.2: Sixteen**\n   - [ ] Set `batch_size` to `16` in `{config}`\n",
    )
    code, document = call("run", blueprint, "--json", cwd=repo)
    assert code == 0, document["message"]
    code, document = call("revert", "PLAN-042:1.1", "--json", cwd=repo)
    assert code == 6 and document["code"] == "revert_conflict"
    assert document["error"]["data"]["later_tasks"] == ["1.2"]
    assert document["next_action"]["argv"][:3] == ["runner", "revert", "PLAN-042:1.2"]
    code, document = follow(document, repo)
    assert code == 0, document["message"]
    code, document = call("revert", "PLAN-042:1.1", "--json", cwd=repo)
    assert code == 0 and "batch_size: 4" in (repo / config).read_text()


def test_next_shows_the_blocker(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    blueprint = write_plan(repo, BLOCKED)
    call("run", blueprint, "--json", cwd=repo)
    code, document = call("next", blueprint, "--json", cwd=repo)
    assert code == 0
    goal = document["data"]["task"]
    assert goal["state"] == "blocked" and "DBHead.missing_method" in goal["blocker"]
    assert "blocked:" in document["message"]
