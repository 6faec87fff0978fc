"""Before/after fixture pairs, TorchFix style: adding a case means adding files.

``fixtures/codemods/<codemod-name>/<case>.in.py`` is the input. Beside it:

* ``<case>.out.py``: the expected output; without it the file must not change;
* ``<case>.options.json`` (optional): the codemod's options;
* ``<case>.skips.txt``: the exact snapshot of what was skipped, ``LINE: reason`` per
  skip in report order (``file: reason`` for a whole file left alone); a case without it
  must report no skip. Regenerate the snapshots with ``UPDATE_SNAPSHOTS=1 pytest ...``
  and review the diff before committing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from codemods import registry
from codemods.engine import CodemodCall, apply_codemods

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "codemods"
CASES = sorted(FIXTURES.glob("*/*.in.py"))
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"


def _call_for(case: Path) -> CodemodCall:
    codemod = registry()[case.parent.name]
    options_file = case.with_name(case.name.replace(".in.py", ".options.json"))
    options = json.loads(options_file.read_text()) if options_file.exists() else {}
    return CodemodCall(codemod, codemod.resolve_options(options))


def _id(case: Path) -> str:
    return f"{case.parent.name}/{case.name.removesuffix('.in.py')}"


def test_every_fixture_dir_names_a_codemod() -> None:
    names = set(registry())
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} <= names


def test_every_codemod_has_fixtures() -> None:
    covered = {case.parent.name for case in CASES}
    assert set(registry()) <= covered


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_fixture(case: Path) -> None:
    call = _call_for(case)
    source = case.read_bytes()
    expected_file = case.with_name(case.name.replace(".in.py", ".out.py"))
    skips_file = case.with_name(case.name.replace(".in.py", ".skips.txt"))

    outcome = apply_codemods(source, [call], str(case))

    assert outcome.status != "error", outcome.reason
    if expected_file.exists():
        expected = expected_file.read_bytes()
        # Compare text first for a readable diff, then bytes so CRLF/encoding count.
        assert outcome.after.decode("utf-8", "replace") == expected.decode("utf-8", "replace")
        assert outcome.after == expected
        assert outcome.changes, "a changing case must report its changes"
    else:
        assert outcome.after == source, "a case without .out.py must not change"
        assert not outcome.changes
    lines = [f"{s.line}: {s.reason}" for s in outcome.skips]
    if outcome.reason:
        lines.append(f"file: {outcome.reason}")
    snapshot = "".join(f"{line}\n" for line in lines)
    if UPDATE:
        if snapshot:
            skips_file.write_text(snapshot, encoding="utf-8")
        else:
            skips_file.unlink(missing_ok=True)
    recorded = skips_file.read_text(encoding="utf-8") if skips_file.exists() else ""
    assert snapshot == recorded, f"skips differ from {skips_file.name} (UPDATE_SNAPSHOTS=1 to rewrite)"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_fixture_output_is_a_fixed_point(case: Path) -> None:
    """Applying the codemod to its own output changes nothing."""
    expected_file = case.with_name(case.name.replace(".in.py", ".out.py"))
    target = expected_file if expected_file.exists() else case
    compile(target.read_bytes(), str(target), "exec", dont_inherit=True)  # the output parses
    outcome = apply_codemods(target.read_bytes(), [_call_for(case)], str(target))
    assert outcome.status != "error", outcome.reason
    assert outcome.after == target.read_bytes()
    assert not outcome.changes
