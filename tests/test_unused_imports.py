"""`Remove unused imports from F`: only the imports the task's own edits left unused go."""

from __future__ import annotations

import pytest

from codemods.unused_imports import remove_imports_made_unused
from runner.blueprint.steps import RemoveUnusedImports, classify, kind_of

BEFORE = b'''"""Uploads."""

import json
import os  # for the temporary file
import sys
import tempfile
from pathlib import Path, PurePath

__all__ = ["PurePath"]


def save(data):
    # scratch space first
    folder = tempfile.mkdtemp()
    target = Path(folder) / "data.json"
    target.write_text(json.dumps(data))
    os.sync()
    return json.loads(target.read_text())
'''

AFTER = b'''"""Uploads."""

import json
import os  # for the temporary file
import sys
import tempfile
from pathlib import Path, PurePath

__all__ = ["PurePath"]


def save(data):
    return json.loads(json.dumps(data))
'''


def test_only_what_the_edit_left_unused_goes() -> None:
    edit = remove_imports_made_unused(BEFORE, AFTER, "uploads.py")
    assert [(n.line, n.name) for n in edit.removed] == [
        (4, "os"),
        (6, "tempfile"),
        (7, "Path (from pathlib)"),
    ]
    # sys was unused already (debt the task did not make); PurePath is exported by __all__.
    assert [(n.name, n.reason) for n in edit.kept] == [("sys", "not used before the task either")]
    assert edit.after == AFTER.replace(b"import os  # for the temporary file\n", b"").replace(
        b"import tempfile\nfrom pathlib import Path, PurePath\n", b"from pathlib import PurePath\n"
    )
    namespace: dict[str, object] = {}
    exec(compile(edit.after, "uploads.py", "exec"), namespace)
    assert namespace["save"]({"a": [1]}) == {"a": [1]}  # type: ignore[operator]
    again = remove_imports_made_unused(BEFORE, edit.after, "uploads.py")
    assert again.after == edit.after and not again.removed


@pytest.mark.parametrize(
    ("path", "before", "after", "reason"),
    [
        (
            "pkg/__init__.py",
            b"import os\nos.sep\n",
            b"import os\n",
            "an __init__.py's imports are its package's API",
        ),
        (
            "m.py",
            b"from os import sep as sep\nsep\n",
            b"from os import sep as sep\n",
            "`sep as sep` marks a re-export",
        ),
        (
            "m.py",
            b"def f():\n    import os\n    os.sep\n",
            b"def f():\n    import os\n",
            "not a module-level import line",
        ),
        ("m.py", None, b"import os\n", "not used before the task either"),
    ],
)
def test_imports_it_leaves_alone(path: str, before: bytes | None, after: bytes, reason: str) -> None:
    edit = remove_imports_made_unused(before, after, path)
    assert edit.after == after and not edit.removed
    assert [n.reason for n in edit.kept] == [reason]


def test_the_step_phrase() -> None:
    action = classify("Remove unused imports from `a.py` and `b/c.py`")
    assert action == RemoveUnusedImports(("a.py", "b/c.py")) and kind_of(action) == "code"
