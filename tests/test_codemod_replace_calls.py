"""replace-calls beyond the fixture pairs: options, and running the rewritten code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from codemods.commands.replace_calls import ReplaceCalls
from codemods.engine import CodemodCall, apply_codemods

OPTIONS = {"old": "pkg.validation.check_polygon", "new": "pkg.validators.validate_polygon"}


@pytest.mark.parametrize(
    "change", [{"old": ""}, {"new": "validate"}, {"old": "pkg.x-y.f"}, {"new": OPTIONS["old"]}]
)
def test_bad_options_are_refused(change: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        ReplaceCalls.resolve_options({**OPTIONS, **change})


def test_the_rewritten_module_calls_the_new_function(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "validation.py").write_text("def check_polygon(points):\n    return 'old'\n")
    (package / "validators.py").write_text("def validate_polygon(points, min_points=3):\n    return 'new'\n")
    user = tmp_path / "user.py"
    source = (
        "import pkg.validation as V\nfrom pkg.validation import check_polygon\n\n\n"
        "def run(points):\n    return check_polygon(points), V.check_polygon(points)\n"
    )
    call = CodemodCall(ReplaceCalls, ReplaceCalls.resolve_options(OPTIONS))
    outcome = apply_codemods(source.encode(), [call], str(user))
    assert outcome.status == "changed", outcome.reason
    assert len([c for c in outcome.changes if "(...) ->" in c.description]) == 2
    user.write_bytes(outcome.after)
    done = subprocess.run(
        [sys.executable, "-c", "import user; print(user.run([(0, 0)]))"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "('new', 'new')"
    assert b"pkg.validation" not in outcome.after  # both imports of the old function went
