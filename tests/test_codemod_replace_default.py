"""replace-default beyond the fixture pairs: option validation and value comparison."""

from __future__ import annotations

import pytest

from codemods.commands.replace_default import (
    ReplaceDefault,
    parse_default,
    same_value,
)

BASE = {"function": "f", "param": "x", "value": "1"}


@pytest.mark.parametrize(
    "change",
    [
        {"function": ""},
        {"param": ""},
        {"value": ""},
        {"value": "1, 2"},
        {"value": "y := 1"},
        {"value": "yield"},
        {"value": "1)"},
        {"value": "a = 1"},
        {"value": "1\n2"},
        {"expect": "1, 2"},
    ],
)
def test_bad_options_are_refused(change: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        ReplaceDefault.resolve_options({**BASE, **change})


def test_values_valid_in_a_signature() -> None:
    for code in ("50.0", "-2.0", "(1, 2)", "(y := 1)", "lambda s: s * 2", "None", "1e-3"):
        parse_default(code)


def test_same_value_ignores_formatting_only() -> None:
    assert same_value("1000.0", "1e3")
    assert same_value("( -1.0 )", "-1.0")
    assert not same_value("50", "50.0")
    assert not same_value("1.0", "-1.0")


def test_needles_follow_the_function_option() -> None:
    options = ReplaceDefault.resolve_options({**BASE, "function": "Model.init_bias"})
    assert b"def init_bias" in ReplaceDefault.needles(options)
