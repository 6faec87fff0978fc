"""consolidate-functions in a blueprint: the step grammar, lint, a run, a refusal, revert."""

from __future__ import annotations

import shutil
from pathlib import Path

import git
import pytest

from codemods import registry
from runner.blueprint.steps import CodemodStep, classify
from tests.conftest import snapshot
from tests.helpers import cli, write_plan

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "codemods" / "consolidate-functions"
STEP = (
    "   - [ ] Apply `consolidate-functions` to `shapes/dataset.py` and `shapes/collate.py`"
    " with `function=order_points`, `target=shapes/geometry.py`\n"
    '   - [ ] Run `python -c "from shapes.collate import order_points"`\n'
)


def _repo(tmp_path: Path, case: str) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(CASES / f"{case}.in", repo)
    (repo / "blueprints").mkdir()
    git_repo = git.Repo.init(repo)
    git_repo.git.add("-A")
    git_repo.git.commit("-m", "initial", "--no-verify")
    return repo


def test_the_step_is_a_codemod_step() -> None:
    action = classify(STEP.splitlines()[0].split("- [ ] ", 1)[1])
    assert action == CodemodStep(
        "consolidate-functions",
        ("shapes/dataset.py", "shapes/collate.py"),
        {"function": "order_points", "target": "shapes/geometry.py"},
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"function": "Polygon.order", "target": "a.py"}, "module-level function's name"),
        ({"function": "order_points", "target": "a/geometry"}, "path of a .py module"),
        ({"function": "order_points"}, "path of a .py module"),
    ],
)
def test_bad_options_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        registry()["consolidate-functions"].resolve_options(options)


def test_lint_classifies_it_and_confines_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, "identical_copies")
    plan = write_plan(repo, f"1. [ ] **Task 1.1: Consolidate**\n{STEP}")
    code, document = cli(capsys, "lint", plan, "--repo", repo)
    assert code == 0, document["message"]
    steps = document["data"]["steps"]
    assert [s["kind"] for s in steps] == ["codemod", "gate"]
    # the target module an option names is one of the step's files
    assert steps[0]["files"] == ["shapes/dataset.py", "shapes/collate.py", "shapes/geometry.py"]
    outside = STEP.replace("target=shapes/geometry.py", "target=../geometry.py")
    plan = write_plan(repo, f"1. [ ] **Task 1.1: Consolidate**\n{outside}", name="PLAN-043-out.md")
    code, document = cli(capsys, "lint", plan, "--repo", repo)
    assert code == 2 and document["code"] == "blueprint_invalid"
    assert any("../geometry.py" in str(e) for e in document["data"]["errors"]), document["data"]["errors"]


@pytest.mark.slow
def test_a_run_consolidates_commits_once_and_reverts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, "identical_copies")
    plan = write_plan(repo, f"1. [ ] **Task 1.1: Consolidate**\n{STEP}")
    start = snapshot(repo)
    code, document = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, document["message"]
    (task,) = document["tasks"]
    assert task["outcome"] == "completed", task
    expected = CASES / "identical_copies.out"
    for relative in ("shapes/dataset.py", "shapes/collate.py"):
        assert (repo / relative).read_bytes() == (expected / relative).read_bytes(), relative
    # The first file the step names gives the copy, byte for byte (its docstring and comment too).
    original = start["shapes/dataset.py"].decode()
    copied = original[original.index("def order_points") : original.index("\n\n\ndef load")]
    assert (repo / "shapes/geometry.py").read_text().endswith("\n\n\n" + copied + "\n")
    assert sorted(task["files_changed"]) == ["shapes/collate.py", "shapes/dataset.py", "shapes/geometry.py"]
    assert any(g["gate"] == "imports" and g["status"] == "passed" for g in task["gates"])
    commits = len(list(git.Repo(repo).iter_commits()))
    assert cli(capsys, "run", plan, "--repo", repo)[0] == 0  # nothing left to do: no commit
    assert len(list(git.Repo(repo).iter_commits())) == commits
    code, document = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)
    assert code == 0, document["message"]
    after = snapshot(repo)
    assert {k: v for k, v in after.items() if not k.startswith("blueprints/")} == {
        k: v for k, v in start.items() if not k.startswith("blueprints/")
    }


@pytest.mark.slow
def test_differing_copies_block_the_task_with_the_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, "differing_defaults")
    step = (
        "   - [ ] Apply `consolidate-functions` to `pkg/collate.py`"
        " with `function=is_valid_polygon`, `target=pkg/shared.py`\n"
    )
    plan = write_plan(repo, f"1. [ ] **Task 1.1: Consolidate**\n{step}")
    before = snapshot(repo)
    code, document = cli(capsys, "run", plan, "--repo", repo)
    assert code == 1
    (task,) = document["tasks"]
    assert task["outcome"] == "blocked"
    (refused,) = [s for s in task["steps"] if not s["ok"]]
    assert refused["detail"].startswith("consolidate-functions refused: pkg/collate.py:1: differs from")
    assert "-def is_valid_polygon(points, min_points=3):" in refused["detail"]
    assert "+def is_valid_polygon(points, min_points=4):" in refused["detail"]
    after = snapshot(repo)
    assert {k: v for k, v in after.items() if k.startswith("pkg/")} == {
        k: v for k, v in before.items() if k.startswith("pkg/")
    }
