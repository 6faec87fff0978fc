"""The shared codemod base: skips reach libcst.tool as warnings; star imports resolved."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest
from libcst.codemod import CodemodContext, TransformSkip, TransformSuccess, transform_module

from codemods.commands.lazy_import import LazyImport
from codemods.commands.replace_default import ReplaceDefault
from codemods.star_imports import star_import_names

ROOT = Path(__file__).resolve().parent.parent


def test_a_skip_is_a_libcst_warning() -> None:
    command = ReplaceDefault(CodemodContext(), function="f", param="x", value="2", expect="3")
    result = transform_module(command, "def f(x=1):\n    return x\n")
    assert isinstance(result, TransformSuccess)
    assert result.warning_messages == ["line 1: f: x: default is 1, expected 3"]


def test_a_skipped_file_says_why_as_a_warning() -> None:
    result = transform_module(LazyImport(CodemodContext()), "import wandb\n\nRUN = wandb.init()\n")
    assert isinstance(result, TransformSkip)
    assert len(result.warning_messages) == 1
    assert result.warning_messages[0].startswith("line 3: 'wandb' is used at import time on line 3")


def test_libcst_tool_prints_the_reason(tmp_path: Path) -> None:
    target = tmp_path / "m.py"
    target.write_text("def f(x=1):\n    return x\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "libcst.tool",
            "codemod",
            "--no-format",
            "replace_default.ReplaceDefault",
            "--function",
            "f",
            "--param",
            "x",
            "--value",
            "2",
            "--expect",
            "3",
            str(target),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "f: x: default is 1, expected 3" in done.stderr, done.stderr
    assert "1 warnings" in done.stderr
    assert target.read_text() == "def f(x=1):\n    return x\n"


def _star(code: str, filename: str | None = "/nowhere/m.py") -> frozenset[str] | None:
    return star_import_names(cst.ensure_type(cst.parse_statement(code).body[0], cst.ImportFrom), filename)


def test_stdlib_star_imports_are_known_without_running_them() -> None:
    typing_names = _star("from typing import *")
    assert typing_names is not None and {"Optional", "Any"} <= typing_names and "torch" not in typing_names
    math_names = _star("from math import *")  # a C extension
    assert math_names is not None and "exp" in math_names
    assert _star("from antigravity import *") == frozenset({"geohash", "hashlib", "webbrowser"})


@pytest.mark.parametrize("code", ["from torch import *", "from helpers import *", "from os.path import *"])
def test_other_star_imports_are_unknown(code: str) -> None:
    assert _star(code) is None


def test_star_imports_from_the_same_tree_are_read(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "consts.py").write_text("import os\nEPS = 1e-6\n_PRIVATE = 1\nfrom .more import *\n")
    (package / "more.py").write_text("__all__ = ['scale']\nscale = 2\nhidden = 3\n")
    (package / "dynamic.py").write_text("__all__ = [n for n in dir()]\n")
    user = str(package / "model.py")
    assert _star("from .consts import *", user) == frozenset({"os", "EPS", "scale"})
    assert _star("from pkg.consts import *", user) == frozenset({"os", "EPS", "scale"})
    assert _star("from .dynamic import *", user) is None
    assert _star("from .missing import *", user) is None
