"""Wrong or missing guidance an agent got from the runner; each test failed before its fix."""

from __future__ import annotations

from runner.gates.undefined import check_undefined


def test_undefined_names_gate_never_passes_a_file_it_cannot_parse() -> None:
    result = check_undefined(None, b"def f(:\n    return missing_name\n", "bad.py")
    assert result.status == "failed"
    assert result.detail.startswith("not checked: line 1:")
    # A file that parses still gets the real check.
    assert check_undefined(None, b"x = 1\n", "ok.py").status == "passed"
