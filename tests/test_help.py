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


@pytest.mark.parametrize("columns", ["40", "200", "", "0", "-5", "wide"])
def test_help_is_as_wide_as_argparse_would_make_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    """The CLI finds the terminal's width itself (no shutil at start-up): the same width
    shutil.get_terminal_size gives argparse, and the help wraps to it."""
    import argparse
    import shutil

    from runner import cli

    monkeypatch.setenv("COLUMNS", columns)
    assert cli._columns() == shutil.get_terminal_size().columns
    text = _help(capsys, "lint")
    options = text.split("options:\n", 1)[1].split("\n\n", 1)[0]
    reference = argparse.HelpFormatter("runner lint")  # argparse's own width: shutil's, minus 2
    assert max(map(len, options.splitlines())) <= reference._width
    if columns == "40":  # wrapped, where 200 columns hold each option on one line
        monkeypatch.setenv("COLUMNS", "200")
        wide = _help(capsys, "lint").split("options:\n", 1)[1].split("\n\n", 1)[0]
        assert len(options.splitlines()) > len(wide.splitlines()) == 4
