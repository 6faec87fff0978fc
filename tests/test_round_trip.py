"""Every blueprint in blueprints/ runs to completion on its fixture, and reverting every
task newest first gives back the starting tree byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.blueprint.model import load_blueprint
from runner.demo import make_demo_repo
from tests.conftest import BLUEPRINTS, ROOT, snapshot
from tests.helpers import cli

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("blueprint", BLUEPRINTS, ids=lambda p: p.stem)
def test_run_then_revert_everything(
    blueprint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = load_blueprint(blueprint)
    fixture = ROOT / str(model.front_matter["demo_fixture"])
    repo = make_demo_repo(tmp_path / "repo", [blueprint], fixture)
    start = snapshot(repo)
    path = repo / "blueprints" / blueprint.name

    code, doc = cli(capsys, "run", path, "--repo", repo)
    assert code == 0, doc["message"]
    assert all(t["outcome"] == "completed" for t in doc["tasks"])
    assert load_blueprint(path).status == "Completed"
    assert snapshot(repo) != start

    for task in reversed(doc["tasks"]):
        code, reverted = cli(capsys, "revert", f"{model.plan_id}:{task['id']}", "--repo", repo)
        assert code == 0, reverted["message"]
    assert snapshot(repo) == start
