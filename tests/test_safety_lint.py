"""`runner lint` names every step that inserts code written in the plan, so a reviewer sees
them before anything runs."""

from __future__ import annotations

import pytest

from tests.conftest import RepoFactory
from tests.helpers import cli, write_plan

OUTLINE = (
    "1. [ ] **Task 1.1: Defaults**\n"
    "   - [ ] Apply `replace-default` to `ocr/models/head/db_head.py` with `function=DBHead.__init__`, "
    "`param=k`, `value=25.0`\n"
    "   - [ ] Apply `reciprocal-exp-to-sigmoid` to `ocr/models/head/db_head.py`\n"
    "   - [ ] Run `python -m py_compile ocr/models/head/db_head.py`"
)


def test_lint_names_the_steps_that_insert_code(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, OUTLINE)
    code, doc = cli(capsys, "lint", plan, "--repo", repo)
    assert code == 0, doc["message"]
    assert [s["inserts_code"] for s in doc["data"]["steps"]] == [True, False, False]
    inserting = [s["line"] for s in doc["data"]["steps"] if s["inserts_code"]]
    assert f"1 step inserts code written in the plan (line {inserting[0]})" in doc["message"]


BLOCKS = (
    "1. [ ] **Task 1.1: Blocks**\n"
    "   - [ ] Create `ocr/extra.py`:\n"
    "     ```python\n"
    "     VALUE = 1\n"
    "     ```\n"
    "   - [ ] Replace in `README.md`:\n"
    "     ```markdown\n"
    "     # ocr-project (demo)\n"
    "     ```\n"
    "     with:\n"
    "     ```markdown\n"
    "     # ocr-project\n"
    "     ```\n"
    "   - [ ] Create `docs/notes.md`:\n"
    "     ```markdown\n"
    "     notes\n"
    "     ```"
)


def test_python_from_the_plan_is_code_and_prose_is_not(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, BLOCKS)
    code, doc = cli(capsys, "lint", plan, "--repo", repo)
    assert code == 0, doc["message"]
    assert [s["inserts_code"] for s in doc["data"]["steps"]] == [True, False, False]
