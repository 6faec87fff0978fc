"""`runner log`, `runner show`, `runner runs` and the run records, on real runs through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from runner.cli import main
from runner.runlog import runs_dir
from tests.conftest import RepoFactory
from tests.helpers import DB_HEAD, cli, trailers, write_plan
from tests.test_review_trail import VALIDATED

pytestmark = pytest.mark.slow


@pytest.fixture
def reviewed(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, str]:
    """VALIDATED run, then Task 1.1 reverted: (repo, plan, HEAD before the run)."""
    repo = demo_repo()
    plan = write_plan(repo, VALIDATED)
    start = git.Repo(repo).head.commit.hexsha
    assert cli(capsys, "run", plan, "--repo", repo)[0] == 0
    assert cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)[0] == 0
    return repo, plan, start


def _shas(repo: Path) -> dict[tuple[str, str], str]:
    found = {}
    for commit in git.Repo(repo).iter_commits():
        t = trailers(repo, commit.hexsha)
        if "Blueprint-Task" in t:
            found[(t["Blueprint-Task"], t["Blueprint-Outcome"])] = commit.hexsha
    return found


def test_log_lists_the_runners_commits_by_task_with_their_gates(
    reviewed: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, plan, _ = reviewed
    shas = _shas(repo)
    code, doc = cli(capsys, "log", plan, "--repo", repo)
    assert code == 0 and doc["plan"] == "PLAN-042"
    rows = [(c["task"], c["outcome"], c["sha"]) for c in doc["data"]["commits"]]
    assert rows == [
        ("1.1", "completed", shas[("1.1", "completed")]),
        ("1.1", "reverted", shas[("1.1", "reverted")]),
        ("1.2", "completed", shas[("1.2", "completed")]),
        ("1.3", "completed", shas[("1.3", "completed")]),
    ]
    fix, revert = doc["data"]["commits"][0], doc["data"]["commits"][1]
    assert {"gate": "syntax", "target": DB_HEAD, "status": "passed", "detail": ""} in fix["gates"]
    assert fix["short"] == fix["sha"][:12] and fix["date"].startswith("20")
    assert revert["reverts"] == [fix["sha"]] and revert["reopens"] == ["1.2"]
    assert fix["run"] == trailers(repo, fix["sha"])["Blueprint-Run"]
    assert doc["next_action"]["argv"][:3] == ["runner", "show", "PLAN-042:1.1"]
    # By plan id, and for every plan, the same commits; a plan without commits says so.
    assert cli(capsys, "log", "PLAN-042", "--repo", repo)[1]["data"] == doc["data"]
    assert cli(capsys, "log", "--repo", repo)[1]["data"]["commits"] == doc["data"]["commits"]
    code, empty = cli(capsys, "log", "PLAN-777", "--repo", repo)
    assert code == 0 and empty["data"]["commits"] == []
    assert "no runner commits of PLAN-777" in empty["message"]
    # For people: one line a commit, its gates under it.
    capsys.readouterr()
    assert main(["log", "--repo", str(repo)]) == 0
    text = capsys.readouterr().out
    assert "PLAN-042" in text and f"{fix['short']}" in text and f"passed syntax {DB_HEAD}" in text


def test_show_prints_each_commit_message_and_its_diff_plain_off_a_terminal(
    reviewed: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _, _ = reviewed
    shas = _shas(repo)
    code, doc = cli(capsys, "show", "PLAN-042:1.1", "--repo", repo)
    assert code == 0
    commits = doc["data"]["commits"]
    assert [c["outcome"] for c in commits] == ["completed", "reverted"]
    assert commits[1]["message"].count(f"This reverts commit {shas[('1.1', 'completed')]}.") == 1
    assert f"+++ b/{DB_HEAD}" in commits[0]["diff"] and "+        return torch.sigmoid" in commits[0]["diff"]
    assert DB_HEAD in commits[0]["files"]
    assert doc["next_action"]["alternatives"][0]["argv"][:3] == ["runner", "revert", "PLAN-042:1.1"]
    capsys.readouterr()
    assert main(["show", "PLAN-042:1.1", "--repo", str(repo)]) == 0
    text = capsys.readouterr().out
    assert "\x1b[" not in text  # not a terminal: a plain patch
    assert commits[0]["diff"] in text and "    Why:" in text
    code, missing = cli(capsys, "show", "PLAN-042:9.9", "--repo", repo)
    assert code == 2 and missing["code"] == "nothing_to_show"
    assert missing["error"]["data"]["tasks"] == ["1.1", "1.2", "1.3"]
    assert missing["next_action"]["argv"][:3] == ["runner", "log", "PLAN-042"]


def test_every_run_and_revert_leaves_a_record_in_the_git_directory(
    reviewed: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, plan, start = reviewed
    shas = _shas(repo)
    assert not git.Repo(repo).is_dirty(untracked_files=True)  # records never dirty the tree
    code, doc = cli(capsys, "runs", "--repo", repo)
    assert code == 0
    listed = doc["data"]["runs"]
    assert [r["command"] for r in listed] == ["revert", "run"]  # newest first
    run, revert = listed[1], listed[0]
    assert run["run_id"] == trailers(repo, shas[("1.3", "completed")])["Blueprint-Run"]
    assert revert["run_id"] == trailers(repo, shas[("1.1", "reverted")])["Blueprint-Run"]
    assert run["finished"] and run["exit_code"] == 0
    assert [t["id"] for t in run["tasks"]] == ["1.1", "1.2", "1.3"]
    record = Path(run["path"])
    assert record.parent == runs_dir(Path(git.Repo(repo).git_dir))
    events = [json.loads(line) for line in (record / "events.jsonl").read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "finish"
    step = next(e for e in events if e["event"] == "step" and e["task"] == "1.1")
    assert step["kind"] == "codemod" and step["ok"] is True and "1 change" in step["detail"]
    gate_step = next(e for e in events if e["event"] == "gate_step" and e["task"] == "1.2")
    assert gate_step["gate"] == "syntax" and gate_step["results"][0]["status"] == "passed"
    assert gate_step["duration_ms"] >= 0
    commits = [e["sha"] for e in events if e["event"] == "commit"]
    assert commits == [shas[("1.1", "completed")], shas[("1.2", "completed")], shas[("1.3", "completed")]]
    outcomes = [(e["task"], e["outcome"]) for e in events if e["event"] == "task"]
    assert outcomes == [("1.1", "completed"), ("1.2", "completed"), ("1.3", "completed")]
    git_state = json.loads((record / "git.json").read_text())
    assert git_state["before"]["head"] == start and git_state["before"]["status"] == []
    assert git_state["after"]["head"] == shas[("1.3", "completed")]
    options = json.loads((record / "options.json").read_text())
    assert options["argv"] == ["run", str(plan), "--repo", str(repo)]
    assert options["settings"]["gates"]["syntax"] is True
    system = json.loads((record / "system.json").read_text())
    assert system["packages"]["libcst"] and system["python"].count(".") == 2
    assert json.loads((record / "result.json").read_text())["message"] == "PLAN-042 completed"
    report = (record / "report.md").read_text()
    assert "# runner run: PLAN-042 (exit 0, ok)" in report and "| 1.3 Guard | completed |" in report
    # One record with its report, by the run id a commit carries (or a prefix of it).
    code, one = cli(capsys, "runs", run["run_id"][:8], "--repo", repo)
    assert code == 0 and one["data"]["report"] == report and one["data"]["runs"] == [run]


def test_dry_runs_leave_no_record_and_refused_runs_do(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, VALIDATED)
    assert cli(capsys, "run", plan, "--repo", repo, "--dry-run")[0] == 0
    assert cli(capsys, "runs", "--repo", repo)[1]["data"]["runs"] == []
    (repo / DB_HEAD).write_text("edited\n")
    assert cli(capsys, "run", plan, "--repo", repo)[0] == 3
    (record,) = cli(capsys, "runs", "--repo", repo)[1]["data"]["runs"]
    assert record["exit_code"] == 3 and record["code"] == "dirty_tree"
    state = json.loads((Path(record["path"]) / "git.json").read_text())
    assert state["before"]["status"] == [f" M {DB_HEAD}"]


def test_a_record_that_cannot_be_written_is_a_warning_not_a_failure(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, VALIDATED)
    blocked = runs_dir(Path(git.Repo(repo).git_dir))
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("not a directory\n")
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    assert any(n.startswith("run record: cannot start the record") for n in doc["notes"]), doc["notes"]
    assert len(list(git.Repo(repo).iter_commits())) == 2 + 3  # the project, the plan, three tasks
