"""`runner --help` and every subcommand's help show examples and the exit codes, all
generated from one table (runner.errors.EXIT_CODES), which the README's table matches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runner.cli import EXAMPLES, main
from runner.errors import EXIT_CODES, ExitCode

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [[name] for name in EXAMPLES if name != "codemod"] + [["codemod", "list"], ["codemod", "apply"]]


def _help(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    capsys.readouterr()
    assert main([*words, "--help"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("words", [[], *COMMANDS], ids=lambda w: " ".join(w) or "runner")
def test_help_shows_an_example_and_every_exit_code(
    capsys: pytest.CaptureFixture[str], words: list[str]
) -> None:
    text = _help(capsys, *words)
    examples = text.split("examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert examples and all(line.startswith("  runner ") for line in examples)
    assert any(line.split()[1] == (words[0] if words else line.split()[1]) for line in examples)
    codes = text.split("exit codes:\n", 1)[1].split("\n\n", 1)[0]
    assert [int(line.split()[0]) for line in codes.splitlines()] == [int(code) for code in ExitCode]
    for code, meaning in EXIT_CODES.items():
        assert f"{int(code):>2}  {meaning}" in codes


def test_every_exit_code_has_a_meaning_and_the_readme_lists_the_same_codes() -> None:
    assert set(EXIT_CODES) == set(ExitCode)
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    assert [int(m) for m in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)] == [int(c) for c in ExitCode]


def test_help_with_json_is_one_document_holding_the_same_text(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    capsys.readouterr()
    assert main(["lint", "--help", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "exit codes:" in str(document) and "runner lint blueprints/PLAN-001.md --fix" in str(document)
