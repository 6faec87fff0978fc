"""Option values that become code are Python literals, checked before anything runs.

A ``replace-default`` value is pasted into a signature and the import gate then imports
the module, so ``__import__('os').system(...)`` would run as the user: it is refused when
the options are resolved, by ``lint``, ``run`` and ``codemod apply`` alike (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codemods.base import PythonLiteral
from codemods.commands.replace_default import ReplaceDefault
from runner.cli import main
from tests.conftest import RepoFactory, commit_count, snapshot
from tests.helpers import cli, write_plan

TARGET = "ocr/lightning_modules/callbacks/wandb_image_logging.py"


def _attack(marker: Path) -> str:
    return f"__import__('os').system('id > {marker}')"


@pytest.mark.parametrize(
    "text", ["50.0", "-2.0", "1e-3", "None", "True", "'s'", "(1, -2.5)", "[1, 2]", "{'a': (1, None)}"]
)
def test_literals_are_accepted(text: str) -> None:
    assert PythonLiteral(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('id')",
        "math.inf",
        "DEFAULT_THRESHOLD",
        "LIMIT * 5",
        "min(1, 2)",
        "lambda s: s",
        "(y := 1)",
        "",
        "1\n2",
    ],
)
def test_code_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a Python literal"):
        ReplaceDefault.resolve_options({"function": "f", "param": "x", "value": text})


def test_lint_and_run_refuse_a_value_that_is_code(
    capsys: pytest.CaptureFixture[str], demo_repo: RepoFactory, tmp_path: Path
) -> None:
    repo = demo_repo()
    marker = tmp_path / "pwned"
    step = (
        f"   - [ ] Apply `replace-default` to `{TARGET}` with `function=__init__`, `param=max_images`,"
        f" `value={_attack(marker)}`"
    )
    plan = write_plan(repo, f"1. [ ] **Task 1.1: Attack**\n{step}")
    step_line = plan.read_text().splitlines().index(step) + 1
    before, commits = snapshot(repo), commit_count(repo)

    for command in ("lint", "run"):
        code, doc = cli(capsys, command, plan, "--repo", repo)
        assert code == 2, doc
        text = str(doc)
        assert "not a Python literal" in text and str(step_line) in text, text

    assert snapshot(repo) == before and commit_count(repo) == commits
    assert not marker.exists()


def test_codemod_apply_refuses_a_value_that_is_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "m.py"
    target.write_text("def f(x=1):\n    return x\n")
    marker = tmp_path / "pwned"
    code = main(
        [
            "codemod",
            "apply",
            "replace-default",
            "--arg",
            "function=f",
            "--arg",
            "param=x",
            "--arg",
            f"value={_attack(marker)}",
            str(target),
        ]
    )
    assert code == 2
    assert "not a Python literal" in capsys.readouterr().err
    assert target.read_text() == "def f(x=1):\n    return x\n" and not marker.exists()


def test_codemod_apply_refuses_an_empty_module(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("import wandb\n")
    code = main(["codemod", "apply", "lazy-import", "--arg", "module=", str(tmp_path)])
    assert code == 2
    assert "dotted module name" in capsys.readouterr().err
