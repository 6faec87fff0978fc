"""File steps (create, move, archive and remove) and when a named file is checked.

Through the CLI, on the demo OCR project: each step kind applied, already
applied, missing and refused, byte for byte; run then revert gives back the
tree byte for byte, removed files included; a file a later task needs may be
created by an earlier one (the plan is no longer refused up front), and
``runner lint`` says which step creates it.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import git
import pytest

from runner.blueprint.model import parse_blueprint
from runner.errors import ExitCode
from runner.execute import TaskExecution, WorkingTree, apply_steps
from runner.file_ops import tarball
from runner.tasks import plan_task
from tests.conftest import RepoFactory, commit_count, snapshot
from tests.helpers import cli, write_plan

pytestmark = pytest.mark.slow

VALIDATORS = "ocr/utils/polygon_validators.py"
VALIDATORS_CODE = (
    '"""Shared polygon validation."""\n\n\n'
    "def has_enough_points(polygon: list[tuple[float, float]]) -> bool:\n"
    "    return len(polygon) >= 3\n"
)


def _indented(text: str, indent: str = "     ") -> str:
    return "".join(indent + line if line.strip() else line for line in text.splitlines(keepends=True))


def create_step(path: str, content: str) -> str:
    return f"   - [ ] Create `{path}`:\n     ```python\n{_indented(content)}     ```\n"


def blocker_of(capsys: pytest.CaptureFixture[str], repo: Path, outline: str, name: str) -> str:
    """Run a one-plan blueprint that must block; its blocker."""
    code, doc = cli(capsys, "run", write_plan(repo, outline, name), "--repo", repo)
    assert code == ExitCode.TASK_FAILED, doc["message"]
    return str(next(t for t in doc["tasks"] if t["outcome"] == "blocked")["blocker"])


def _commit_all(repo: Path, message: str) -> None:
    git.Repo(repo).git.add("-A")
    git.Repo(repo).git.commit("-m", message, "--no-verify")


def _backup_tree(repo: Path) -> dict[str, bytes]:
    """The demo's legacy files (PLAN-005's targets): backup folders and the shell script with a twin."""
    tree = snapshot(repo)
    files = {
        p: d for p, d in tree.items() if p.startswith(".backup/scripts-backup-") or p.startswith("scripts/")
    }
    assert "scripts/debug_cuda.sh" in files and "scripts/debug_cuda.py" in files
    assert len([p for p in files if p.startswith(".backup/")]) >= 4
    return files


# -- when files are checked ---------------------------------------------------------


def test_later_task_may_check_a_file_a_manual_task_creates(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(
        repo,
        "1. [ ] **Task 1.1: Shared validators**\n"
        f"   - [ ] Create `{VALIDATORS}` with the shared polygon validators\n"
        "2. [ ] **Task 1.2: Check them**\n"
        f"   - [ ] Run syntax check: `python -m py_compile {VALIDATORS}`\n",
    )
    code, lint = cli(capsys, "lint", plan, "--repo", repo)
    assert code == 0, lint["data"]["errors"]
    assert lint["data"]["warnings"] == [
        f"{plan}:19: '{VALIDATORS}' does not exist yet; the manual step at line 17 (Task 1.1) may create it"
    ]
    # Not refused up front (it used to be: exit 2, "gate target ... does not exist").
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.MANUAL_STEP and doc["tasks"][0]["id"] == "1.1"
    (repo / VALIDATORS).parent.mkdir(exist_ok=True)
    (repo / VALIDATORS).write_text(VALIDATORS_CODE)
    code, doc = cli(capsys, "done", "PLAN-042:1.1", "--blueprint", plan, "--repo", repo)
    assert code == 0, doc["message"]
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    assert [g["status"] for g in doc["tasks"][0]["gates"] if g["gate"] == "syntax"] == ["passed"]


def test_missing_file_blocks_its_task_not_the_plan(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(
        repo,
        "1. [ ] **Task 1.1: Fine**\n"
        "   - [ ] Set `batch_size` to `4` in `configs/hardware/rtx3060_12gb_i5_16core.yaml`\n"
        "2. [ ] **Task 1.2: Needs a file nobody makes**\n"
        "   - [ ] Run syntax check: `python -m py_compile ocr/ghost.py`\n",
    )
    code, lint = cli(capsys, "lint", plan, "--repo", repo)
    assert code == ExitCode.INPUT_ERROR
    assert lint["data"]["errors"] == [
        f"{plan}:19: 'ocr/ghost.py' does not exist and no earlier step creates it"
    ]
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.TASK_FAILED
    assert [t["outcome"] for t in doc["tasks"]] == ["completed", "blocked"]
    assert doc["tasks"][1]["blocker"] == (
        "syntax gate failed on ocr/ghost.py: step at line 19: does not exist (no earlier step created it)"
    )


def test_lint_names_the_task_that_creates_a_file(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(
        repo,
        "1. [ ] **Task 1.1: Create**\n"
        + create_step(VALIDATORS, VALIDATORS_CODE)
        + "2. [ ] **Task 1.2: Check**\n"
        f"   - [ ] Run syntax check: `python -m py_compile {VALIDATORS}`\n"
        f"   - [ ] Apply `lazy-import` to `{VALIDATORS}` with `module=wandb`\n"
        '   - [ ] Run: `python -c "from ocr.utils.polygon_validators import has_enough_points"`\n',
    )
    code, lint = cli(capsys, "lint", plan, "--repo", repo)
    assert code == 0 and lint["data"]["errors"] == [] and lint["data"]["warnings"] == []
    notes = [s.get("notes") for s in lint["data"]["steps"]]
    assert notes == [None] + [[f"{VALIDATORS} is created by Task 1.1"]] * 3
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    assert (repo / VALIDATORS).read_text() == VALIDATORS_CODE
    # A module of the repo's own package that nothing creates: an error; a third-party one: not ours.
    other = write_plan(
        repo,
        '1. [ ] **Task 1.1: Imports**\n   - [ ] Run: `python -c "from ocr.utils.nowhere import f"`\n'
        '   - [ ] Run: `python -c "from yaml.nowhere import f"`\n',
        "PLAN-043-imports.md",
    )
    code, lint = cli(capsys, "lint", other, "--repo", repo)
    assert code == ExitCode.INPUT_ERROR
    assert lint["data"]["errors"] == [
        f"{other}:17: 'ocr/utils/nowhere.py' does not exist and no earlier step creates it"
    ]


def test_lint_errors_on_a_file_an_earlier_task_removes(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(
        repo,
        "1. [ ] **Task 1.1: Rename**\n   - [ ] Move `runners/train.py` to `runners/train_main.py`\n"
        "2. [ ] **Task 1.2: Check**\n   - [ ] Run syntax check: `python -m py_compile runners/train.py`\n",
    )
    code, lint = cli(capsys, "lint", plan, "--repo", repo)
    assert code == ExitCode.INPUT_ERROR
    assert lint["data"]["errors"] == [f"{plan}:19: 'runners/train.py' is removed by Task 1.1"]


# -- Create -------------------------------------------------------------------------


def test_create_applied_then_already_applied(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    outline = "1. [ ] **Task 1.1: Create**\n" + create_step(VALIDATORS, VALIDATORS_CODE)
    plan = write_plan(repo, outline)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    assert (repo / VALIDATORS).read_bytes() == VALIDATORS_CODE.encode()  # the block, dedented, exactly
    assert oct((repo / VALIDATORS).stat().st_mode & 0o777) in ("0o644", "0o664")
    task = doc["tasks"][0]
    assert task["files_changed"] == [VALIDATORS]
    assert task["changes"] == [
        {
            "file": VALIDATORS,
            "kind": "file",
            "line": None,
            "description": f"created ({len(VALIDATORS_CODE)} bytes)",
        }
    ]
    assert VALIDATORS in git.Repo(repo).git.show("--name-only", "HEAD")
    assert any(g["gate"] == "imports" and g["status"] == "passed" for g in task["gates"])
    # A second plan with the same step, on a repo that already has the file: nothing to do.
    second = write_plan(repo, outline, name="PLAN-043-again.md")
    count = commit_count(repo)
    code, doc = cli(capsys, "run", second, "--repo", repo)
    assert code == 0 and doc["tasks"][0]["steps"][0]["detail"] == "already applied"
    assert doc["tasks"][0]["files_changed"] == []
    assert commit_count(repo) == count + 1  # the tracker update only


def test_create_refuses_to_overwrite(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo()
    plan = write_plan(repo, "1. [ ] **Task 1.1: Create**\n" + create_step("runners/train.py", "x = 1\n"))
    before = (repo / "runners/train.py").read_bytes()
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.TASK_FAILED
    assert doc["tasks"][0]["blocker"].startswith(
        "step at line 17: runners/train.py: exists with different content (first difference at line 1)"
    )
    assert (repo / "runners/train.py").read_bytes() == before


# -- Move ---------------------------------------------------------------------------


def test_move_round_trip(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo()
    _backup_tree(repo)
    plan = write_plan(
        repo, "1. [ ] **Task 1.1: Rename**\n   - [ ] Move `scripts/debug_cuda.sh` to `tools/debug_cuda.sh`\n"
    )
    before = snapshot(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    assert not (repo / "scripts/debug_cuda.sh").exists()
    assert (repo / "tools/debug_cuda.sh").read_bytes() == before["scripts/debug_cuda.sh"]
    assert (repo / "tools/debug_cuda.sh").stat().st_mode & 0o111  # still executable
    status = git.Repo(repo).git.show("--name-status", "--no-renames", "--format=", "HEAD").splitlines()
    assert "D\tscripts/debug_cuda.sh" in status and "A\ttools/debug_cuda.sh" in status
    assert not git.Repo(repo).is_dirty(untracked_files=True)
    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)
    assert code == 0, doc["message"]
    after = snapshot(repo)
    assert {p: d for p, d in after.items() if not p.startswith("blueprints/")} == {
        p: d for p, d in before.items() if not p.startswith("blueprints/")
    }
    assert after[f"blueprints/{plan.name}"] == before[f"blueprints/{plan.name}"]


def test_move_already_applied_missing_and_refused(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    files = _backup_tree(repo)
    plan = write_plan(
        repo,
        "1. [ ] **Task 1.1: Already**\n   - [ ] Move `scripts/gone.sh` to `scripts/debug_cuda.sh`\n"
        "2. [ ] **Task 1.2: Refused**\n   - [ ] Move `scripts/debug_cuda.sh` to `scripts/debug_cuda.py`\n",
    )
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.TASK_FAILED
    first, second = doc["tasks"]
    assert first["outcome"] == "completed" and first["steps"][0]["detail"] == "already applied"
    assert second["blocker"] == (
        "step at line 19: scripts/debug_cuda.py: already exists; will not move scripts/debug_cuda.sh over it"
    )
    assert (repo / "scripts/debug_cuda.py").read_bytes() == files["scripts/debug_cuda.py"]
    outline = "1. [ ] **Task 1.1: Missing**\n   - [ ] Move `scripts/a.sh` to `scripts/b.sh`\n"
    assert blocker_of(capsys, repo, outline, "PLAN-043-m.md") == (
        "step at line 17: scripts/a.sh: does not exist (nor does the destination)"
    )


# -- Archive ------------------------------------------------------------------------

ARCHIVE_STEP = (
    "   - [ ] Archive `.backup/scripts-backup-*/` and `scripts/debug_cuda.sh` "
    "to `archive/legacy-scripts.tar.gz` and remove them\n"
)


def test_archive_round_trip(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo()
    files = _backup_tree(repo)
    archived = sorted(p for p in files if p != "scripts/debug_cuda.py")
    plan = write_plan(repo, "1. [ ] **Task 1.1: Archive legacy scripts**\n" + ARCHIVE_STEP)
    before = snapshot(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    for path in archived:
        assert not (repo / path).exists()
    assert not (repo / ".backup").exists()  # emptied folders go too
    assert (repo / "scripts/debug_cuda.py").exists()
    data = (repo / "archive/legacy-scripts.tar.gz").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == archived
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" for m in members)
        for member in members:
            extracted = tar.extractfile(member)
            assert extracted is not None and extracted.read() == files[member.name]
        assert tar.getmember("scripts/debug_cuda.sh").mode == 0o755  # executable in the fixture
    assert data[4:8] == b"\0\0\0\0"  # the gzip header's mtime
    assert gzip.decompress(data)
    committed = git.Repo(repo).git.show("--name-status", "--no-renames", "--format=", "HEAD").splitlines()
    assert sorted(committed) == sorted(
        ["A\tarchive/legacy-scripts.tar.gz", f"M\tblueprints/{plan.name}"] + [f"D\t{p}" for p in archived]
    )
    assert not git.Repo(repo).is_dirty(untracked_files=True)
    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)
    assert code == 0, doc["message"]
    assert snapshot(repo) == before  # byte-identical, the removed files back
    # Run again: the same bytes (the tarball depends on content only).
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0 and (repo / "archive/legacy-scripts.tar.gz").read_bytes() == data


def test_archive_already_applied_missing_and_refused(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    _backup_tree(repo)
    plan = write_plan(repo, "1. [ ] **Task 1.1: Archive**\n" + ARCHIVE_STEP)
    cli(capsys, "run", plan, "--repo", repo)
    again = write_plan(repo, "1. [ ] **Task 1.1: Archive**\n" + ARCHIVE_STEP, "PLAN-043-again.md")
    code, doc = cli(capsys, "run", again, "--repo", repo)
    assert code == 0 and doc["tasks"][0]["steps"][0]["detail"] == "already applied"

    outline = (
        "1. [ ] **Task 1.1: Archive**\n   - [ ] Archive `old/` to `archive/old.tar.gz` and remove them\n"
    )
    assert blocker_of(capsys, repo, outline, "PLAN-044-missing.md") == (
        "step at line 17: archive/old.tar.gz: nothing to archive: old/ not found"
    )

    (repo / "old").mkdir()
    (repo / "old/a.txt").write_text("a\n")
    (repo / "archive/old.tar.gz").write_bytes(b"not this archive")
    _commit_all(repo, "old")
    before = snapshot(repo)
    assert blocker_of(capsys, repo, outline, "PLAN-045-refused.md").startswith(
        "step at line 17: archive/old.tar.gz: already exists with different content"
    )
    after = snapshot(repo)
    assert {p for p in after if after[p] != before.get(p)} == {"blueprints/PLAN-045-refused.md"}


def test_archive_path_outside_the_repo_is_refused_up_front(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(
        repo, "1. [ ] **Task 1.1: Archive**\n   - [ ] Archive `../outside/` to `a.tar.gz` and remove them\n"
    )
    before = snapshot(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.INPUT_ERROR and "resolves outside the repository" in doc["message"]
    assert doc["error"]["line"] == 17 and snapshot(repo) == before


def test_tarball_is_deterministic(tmp_path: Path) -> None:
    for name, data in {"b.txt": b"b\n", "a/c.txt": b"c\n"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    tree = WorkingTree(tmp_path, TaskExecution())
    first = tarball(tree, ["b.txt", "a/c.txt"])
    (tmp_path / "b.txt").touch()  # a new mtime changes nothing
    assert tarball(tree, ["a/c.txt", "b.txt"]) == first


def test_steps_of_one_task_see_each_other_in_order(tmp_path: Path) -> None:
    """In memory, in written order: a codemod edits what a Create made, a Merge what a Move made."""
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs/old.yaml").write_bytes(b"a: 1  # kept\n")
    text = (
        "# PLAN-050\n\n## Progress Tracker\n- **STATUS:** Not Started\n- **CURRENT STEP:** x\n"
        "- **LAST COMPLETED TASK:** None\n- **NEXT TASK:** Task 1.1\n\n#### **Phase 1: P**\n"
        "1. [ ] **Task 1.1: T**\n"
        + create_step("app/log.py", 'import wandb\n\n\ndef log(x):\n    wandb.log({"x": x})\n')
        + "   - [ ] Apply `lazy-import` to `app/log.py` with `module=wandb`\n"
        "   - [ ] Move `configs/old.yaml` to `configs/new.yaml`\n"
        "   - [ ] Merge into `configs/new.yaml`:\n     ```yaml\n     b: 2\n     ```\n"
    )
    bp = parse_blueprint(text.encode(), "PLAN-050.md")
    execution = apply_steps(plan_task(bp, bp.tasks[0], tmp_path), tmp_path)
    assert execution.failures == []
    assert execution.after["app/log.py"] == b'def log(x):\n    import wandb\n    wandb.log({"x": x})\n'
    assert execution.before["app/log.py"] is None
    assert execution.after["configs/old.yaml"] is None
    assert execution.after["configs/new.yaml"] == b"a: 1  # kept\nb: 2\n"
    assert not (tmp_path / "app").exists()  # nothing on disk until the transaction writes
