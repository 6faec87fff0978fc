"""Style-preserving TOML edits: only the named keys change, every other byte is kept."""

from __future__ import annotations

import difflib

import pytest
import tomllib

from runner.toml_edit import TomlEditError, merge_toml, remove_array_items
from tests.conftest import ROOT

PYPROJECT = (ROOT / "fixtures" / "ocr-project" / "pyproject.toml").read_bytes()
GROUPS = '[project.optional-dependencies]\ntracking = ["wandb>=0.16"]\nui = ["streamlit>=1.30"]\n'


def _changed_lines(before: bytes, after: bytes) -> list[str]:
    diff = difflib.ndiff(before.decode().splitlines(), after.decode().splitlines())
    return [line for line in diff if line[:1] in "+-"]


def test_merge_adds_groups_and_keeps_every_other_byte() -> None:
    edit = merge_toml(PYPROJECT, GROUPS)
    assert _changed_lines(PYPROJECT, edit.after) == [
        '+ tracking = ["wandb>=0.16"]',
        '+ ui = ["streamlit>=1.30"]',
    ]
    parsed = tomllib.loads(edit.after.decode())
    assert parsed["project"]["optional-dependencies"]["ui"] == ["streamlit>=1.30"]
    assert parsed["project"]["optional-dependencies"]["dev"] == ["pytest>=7", "ruff>=0.4"]
    assert edit.changes == [
        'added project.optional-dependencies.tracking = ["wandb>=0.16"]',
        'added project.optional-dependencies.ui = ["streamlit>=1.30"]',
    ]


def test_merge_twice_changes_nothing_the_second_time() -> None:
    once = merge_toml(PYPROJECT, GROUPS)
    twice = merge_toml(once.after, GROUPS)
    assert twice.after == once.after
    assert all(change.endswith("already set") for change in twice.changes)
    assert twice.applied == [] and once.applied == once.changes  # only real changes are reported as edits


def test_merge_sets_an_existing_scalar_in_place() -> None:
    edit = merge_toml(PYPROJECT, "[tool.ruff]\nline-length = 100\n")
    assert _changed_lines(PYPROJECT, edit.after) == ["- line-length = 120", "+ line-length = 100"]
    assert edit.changes == ["set tool.ruff.line-length: 120 -> 100"]


def test_merge_adds_a_new_table() -> None:
    edit = merge_toml(PYPROJECT, "[tool.mypy]\nstrict = true\n")
    assert tomllib.loads(edit.after.decode())["tool"]["mypy"] == {"strict": True}
    assert edit.after.startswith(PYPROJECT.rstrip(b"\n"))


def test_merge_refuses_a_table_where_the_file_has_a_value() -> None:
    with pytest.raises(TomlEditError, match=r"project\.name is a value in the file") as err:
        merge_toml(PYPROJECT, "[project.name]\nfirst = 'x'\n")
    assert err.value.line == 6


def test_merge_refuses_a_block_that_is_not_toml() -> None:
    with pytest.raises(TomlEditError, match="the block is not valid TOML") as err:
        merge_toml(PYPROJECT, "[project\nname = 1\n")
    assert err.value.line == 1


def test_a_file_that_is_not_toml_is_refused_with_its_line() -> None:
    with pytest.raises(TomlEditError, match="the file is not valid TOML") as err:
        merge_toml(b"[a]\nb = 1\nc = = 2\n", GROUPS)
    assert err.value.line == 3


def test_crlf_files_keep_crlf_on_added_lines() -> None:
    crlf = PYPROJECT.replace(b"\n", b"\r\n")
    edit = merge_toml(crlf, GROUPS)
    assert b"\n" not in edit.after.replace(b"\r\n", b"")
    assert edit.after.replace(b"\r\n", b"\n") == merge_toml(PYPROJECT, GROUPS).after


def test_remove_items_takes_their_comments_and_nothing_else() -> None:
    edit = remove_array_items(PYPROJECT, "project.dependencies", ["wandb>=0.16", "streamlit>=1.30"])
    assert _changed_lines(PYPROJECT, edit.after) == [
        '-     "wandb>=0.16",      # experiment tracking',
        '-     "streamlit>=1.30",  # ui/apps',
    ]
    again = remove_array_items(edit.after, "project.dependencies", ["wandb>=0.16"])
    assert again.after == edit.after
    assert again.changes == ["project.dependencies: 'wandb>=0.16' already removed"]


def test_remove_from_something_that_is_not_an_array_is_refused() -> None:
    with pytest.raises(TomlEditError, match=r"project\.name is not an array"):
        remove_array_items(PYPROJECT, "project.name", ["x"])
    with pytest.raises(TomlEditError, match=r"no key project\.missing"):
        remove_array_items(PYPROJECT, "project.missing", ["x"])


def test_a_block_without_its_last_line_break_keeps_the_blank_line_after_the_table() -> None:
    """Blueprint blocks come without a final line break; the blank line before [tool.ruff] stays."""
    assert merge_toml(PYPROJECT, GROUPS.rstrip("\n")).after == merge_toml(PYPROJECT, GROUPS).after


def test_the_grammar_names_the_toml_steps_and_the_not_called_gate() -> None:
    from runner.blueprint.steps import ConfigRemove, Gate, classify

    assert classify(
        "Remove `wandb>=0.16` and `streamlit>=1.30` from `project.dependencies` in `pyproject.toml`"
    ) == ConfigRemove("pyproject.toml", "project.dependencies", ("wandb>=0.16", "streamlit>=1.30"))
    assert classify("Verify `tempfile.mkdtemp` is not called in `a.py` and `b.py`") == Gate(
        "pattern-absent", files=("a.py", "b.py"), outer="tempfile.mkdtemp"
    )
    # Not TOML: stays a manual step rather than a guess.
    assert type(classify("Remove `x` from `a.b` in `c.yaml`")).__name__ == "Manual"
