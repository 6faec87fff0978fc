"""Code-block steps (Replace in / Insert into / Insert the lines marked) through the CLI."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import textwrap
from contextlib import redirect_stdout
from pathlib import Path
from types import ModuleType
from typing import Any

import git
import pytest

from runner.blueprint.model import parse_blueprint
from runner.blueprint.steps import InsertBlock, InsertMarked, ReplaceBlock, classify
from runner.cli import main
from runner.errors import InputError
from runner.tasks import plan_blueprint
from tests.conftest import commit_count, snapshot

TRAIN = '''\
"""A tiny training module."""

import random


def scale(values, factor=2):
    # Multiply every value; the factor comes from the config in real runs.
    return [v * factor for v in values]


class Loader:
    def __init__(self, seed):
        self.seed = seed
        self._rng = random.Random(seed)  # private stream

    def batch(self, size):
        rng = random.Random(self.seed)
        return [rng.random() for _ in range(size)]


def train(epochs):
    history = []
    for epoch in range(epochs):
        # Learning rate schedule
        lr = adjust_lr(epoch, base=0.1, warmup=2)
        history.append(lr)
    return history


def adjust_lr(epoch, base, warmup):
    return base * min(1.0, (epoch + 1) / warmup)
'''

TRACKER = (
    "# PLAN-077: Code blocks\n\n## Progress Tracker\n- **STATUS:** Not Started\n"
    "- **CURRENT STEP:** Task 1.1\n- **LAST COMPLETED TASK:** None\n- **NEXT TASK:** Task 1.1\n\n"
    "### Implementation Outline\n\n#### **Phase 1: Edits**\n\n"
)

OUTLINE = """\
1. [ ] **Task 1.1: Edit the training module**
   - [ ] Replace in `pkg/train.py` within `train` (around line 400):
     ```python
     for epoch in range(epochs):
         # Learning rate schedule
         lr = adjust_lr(epoch, ...)
     ```
     with:
     ```python
     for epoch in range(epochs):
         # Learning rate schedule (halved)
         lr = adjust_lr(epoch, ...) / 2
     ```
   - [ ] Insert into `pkg/train.py` after the imports:
     ```python
     def clamp(x: float, low: float = 0.0, high: float = 1.0) -> float:
         \"\"\"Clamp x into [low, high].\"\"\"
         return max(low, min(high, x))
     ```
   - [ ] Insert the lines marked `# ADD THIS LINE` into `pkg/train.py` within `Loader.__init__`:
     ```python
             self._rng = random.Random(seed)
             self._epoch = 0  # ADD THIS LINE
     ```
   - [ ] Insert into `pkg/train.py` into class `Loader`:
     ```python
         def set_epoch(self, epoch: int) -> None:
             self._epoch = epoch
     ```
   - [ ] Insert into `pkg/train.py` after `history.append(...)`:
     ```python
             history.append(clamp(lr * 10))
     ```
"""


def _blueprint(outline: str) -> str:
    return TRACKER + outline


def _repo(tmp_path: Path, outline: str) -> Path:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / "pkg" / "train.py").write_text(TRAIN)
    (repo / "PLAN-077.md").write_text(_blueprint(outline))
    git_repo = git.Repo.init(repo)
    git_repo.git.add("-A")
    git_repo.git.commit("-m", "initial", "--no-verify")
    return repo


def _run(repo: Path) -> tuple[int, dict[str, Any]]:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(["run", str(repo / "PLAN-077.md"), "--repo", str(repo), "--json"])
    return code, json.loads(buffer.getvalue())


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"edited_{id(path)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    was = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no __pycache__ in the repo: the next run would find it dirty
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = was
    return module


@pytest.mark.slow
def test_code_block_steps_run_commit_once_and_the_code_works(tmp_path: Path) -> None:
    repo = _repo(tmp_path, OUTLINE)
    start = commit_count(repo)
    code, report = _run(repo)
    assert code == 0, report["message"]
    (task,) = report["tasks"]
    assert task["outcome"] == "completed", task
    assert commit_count(repo) == start + 1
    details = [s["detail"] for s in task["steps"]]
    assert details[0].startswith("pkg/train.py: replaced the block at line")
    assert "inserted" in details[1] and "after the imports" in details[1]
    text = (repo / "pkg" / "train.py").read_text()
    # Every byte outside the edits is kept; the `...` kept the call's other arguments.
    assert "        lr = adjust_lr(epoch, base=0.1, warmup=2) / 2\n" in text
    assert "# Multiply every value; the factor comes from the config in real runs." in text
    assert "        self._rng = random.Random(seed)  # private stream\n        self._epoch = 0\n" in text
    assert text.index("def clamp") < text.index("def scale")
    module = _load(repo / "pkg" / "train.py")
    assert module.clamp(3.0) == 1.0
    loader = module.Loader(seed=1)
    assert loader._epoch == 0
    loader.set_epoch(4)
    assert loader._epoch == 4
    assert module.train(2) == [0.025, 0.25, 0.05, 0.5]  # lr halved; then clamp(lr * 10)

    # A second run: the task is done; a re-opened copy of the plan reports every step applied.
    assert _run(repo)[0] == 0 and commit_count(repo) == start + 1
    before = snapshot(repo)
    (repo / "PLAN-077.md").write_text(_blueprint(OUTLINE))
    git.Repo(repo).git.commit("-am", "reopen", "--no-verify")
    code, report = _run(repo)
    assert code == 0, report["message"]
    assert all("already applied" in s["detail"] for s in report["tasks"][0]["steps"])
    after = snapshot(repo)
    assert after["pkg/train.py"] == before["pkg/train.py"]


@pytest.mark.slow
def test_absent_block_blocks_the_task_with_the_closest_candidate(tmp_path: Path) -> None:
    outline = """\
1. [ ] **Task 1.1: Edit**
   - [ ] Replace in `pkg/train.py`:
     ```python
     rng = random.Random(self.seed + 1)
     ```
     with:
     ```python
     rng = random.Random(self.seed + 2)
     ```
"""
    repo = _repo(tmp_path, outline)
    code, report = _run(repo)
    (task,) = report["tasks"]
    assert task["outcome"] == "blocked"
    assert "closest candidate at line 17" in task["blocker"]
    assert "-rng = random.Random(self.seed + 1)" in task["steps"][0]["detail"]
    assert (repo / "pkg" / "train.py").read_text() == TRAIN  # nothing written
    assert code != 0


@pytest.mark.slow
def test_missing_file_blocks_its_task_when_it_runs(tmp_path: Path) -> None:
    outline = """\
1. [ ] **Task 1.1: Edit**
   - [ ] Insert into `pkg/later.py` after the imports:
     ```python
     x = 1
     ```
"""
    repo = _repo(tmp_path, outline)
    code, report = _run(repo)
    (task,) = report["tasks"]
    assert task["outcome"] == "blocked" and code != 0
    assert task["blocker"] == "step at line 14: pkg/later.py does not exist"
    assert not (repo / "pkg" / "later.py").exists()


@pytest.mark.slow
def test_replace_in_a_file_that_is_not_python_replaces_whole_lines(tmp_path: Path) -> None:
    outline = """\
1. [ ] **Task 1.1: Docs**
   - [ ] Replace in `NOTES.md`:
     ```text
     Run `python train.py --epochs 10`.
     ```
     with:
     ```text
     Run `python -m pkg.train --epochs 10`.
     ```
"""
    repo = _repo(tmp_path, outline)
    (repo / "NOTES.md").write_text("# Notes\n\nRun `python train.py --epochs 10`.  \nThen wait.\n")
    git.Repo(repo).git.add("-A")
    git.Repo(repo).git.commit("-m", "notes", "--no-verify")
    code, report = _run(repo)
    assert code == 0, report["message"]
    assert (
        repo / "NOTES.md"
    ).read_text() == "# Notes\n\nRun `python -m pkg.train --epochs 10`.\nThen wait.\n"


@pytest.mark.slow
def test_ambiguous_anchor_names_every_candidate(tmp_path: Path) -> None:
    outline = """\
1. [ ] **Task 1.1: Edit**
   - [ ] Insert into `pkg/train.py` before `rng = random.Random(...)`:
     ```python
     pass
     ```
   - [ ] Insert into `pkg/train.py` after `return ...`:
     ```python
     pass
     ```
"""
    repo = _repo(tmp_path, outline)
    _, report = _run(repo)
    (task,) = report["tasks"]
    assert task["outcome"] == "blocked"
    assert "matches 4 places (lines 8, 19, 28, 32); name a scope" in task["steps"][1]["detail"]
    assert (repo / "pkg" / "train.py").read_text() == TRAIN


@pytest.mark.slow
@pytest.mark.parametrize(
    ("outline", "message"),
    [
        (
            "1. [ ] **Task 1.1: E**\n   - [ ] Replace in `pkg/train.py`:\n"
            "     ```python\n     x = 1\n     ```\n",
            "'Replace in' takes 2 code blocks",
        ),
        (
            "1. [ ] **Task 1.1: E**\n   - [ ] Insert into `pkg/train.py` somewhere nice:\n"
            "     ```python\n     x = 1\n     ```\n",
            "unknown place 'somewhere nice'",
        ),
        (
            "1. [ ] **Task 1.1: E**\n   - [ ] Insert into `pkg/train.py` after the imports:\n"
            "     ```python\n     def broken(:\n     ```\n",
            "the code block is not Python",
        ),
        (
            "1. [ ] **Task 1.1: E**\n   - [ ] Insert into `../outside.py` after the imports:\n"
            "     ```python\n     x = 1\n     ```\n",
            "outside",
        ),
    ],
)
def test_bad_code_steps_are_blueprint_errors_with_the_line(
    outline: str, message: str, tmp_path: Path
) -> None:
    repo = _repo(tmp_path, outline)
    bp = parse_blueprint(_blueprint(outline).encode(), "PLAN-077.md")
    with pytest.raises(InputError) as caught:  # BlueprintError, or a path outside the repo
        plan_blueprint(bp, repo)
    assert message in str(caught.value)
    assert caught.value.line is not None and caught.value.line >= 14


def test_blocks_attach_to_their_step_and_phrases_classify() -> None:
    bp = parse_blueprint(_blueprint(OUTLINE).encode(), "PLAN-077.md")
    steps = bp.tasks[0].steps
    assert [len(s.blocks) for s in steps] == [2, 1, 1, 1, 1]
    assert steps[0].blocks[1].text.splitlines()[1] == "    # Learning rate schedule (halved)"
    assert steps[0].blocks[0].info == "python"
    assert bp.tasks[0].last_line == steps[-1].blocks[0].last_line
    replace = classify(steps[0].text, steps[0].blocks)
    assert isinstance(replace, ReplaceBlock) and replace.scope == "train" and replace.line_hint == 400
    assert isinstance(classify(steps[1].text, steps[1].blocks), InsertBlock)
    marked = classify(steps[2].text, steps[2].blocks)
    assert isinstance(marked, InsertMarked) and marked.marker == "# ADD THIS LINE"
    assert classify("Replace in `a.py` the old helper").__class__.__name__ == "Manual"  # prose, no blocks


def test_code_block_text_is_the_fence_content_byte_for_byte() -> None:
    block = textwrap.indent("```python\n        x = 1  \n\n    y = 2\n```", "     ")
    outline = f"1. [ ] **Task 1.1: E**\n   - [ ] Insert into `a.py` after the imports:\n{block}\n"
    bp = parse_blueprint(_blueprint(outline).encode(), "PLAN-077.md")
    assert bp.tasks[0].steps[0].blocks[0].text == "        x = 1  \n\n    y = 2"
