"""The block matcher on code nobody here wrote: torch's own nn modules.

From each of ten files of the installed torch, runs of two statements are taken
from method bodies, re-printed by ``ast.unparse`` (other quotes, parentheses and
line breaks, no comments) and used as find blocks: each must be found exactly
once within its method, and replacing it must change only its own lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from codemods.blocks import replace_block

MODULES = Path(torch.__file__).parent / "nn" / "modules"
FILES = (
    "linear.py",
    "conv.py",
    "activation.py",
    "batchnorm.py",
    "dropout.py",
    "loss.py",
    "normalization.py",
    "pooling.py",
    "rnn.py",
    "transformer.py",
    "sparse.py",
    "adaptive.py",
    "container.py",
)
PROBE = "_block_edit_probe = True"

pytestmark = pytest.mark.slow  # ~1 min: LibCST parses and positions ten large torch files


def _plain(nodes: list[ast.stmt]) -> bool:
    """Runs whose re-printing keeps their structure (no `...`, implicit concatenation, decorators)."""
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and sub.value is Ellipsis:
                return False
            if isinstance(sub, (ast.JoinedStr, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                return False
    return True


def _snippets() -> list[tuple[str, str, int, int]]:
    """(file, Class.method, first line, last line): two per file, from the first fitting methods."""
    found: list[tuple[str, str, int, int]] = []
    for name in FILES:
        if len(found) == 20:
            break
        tree = ast.parse((MODULES / name).read_text(encoding="utf-8"))
        taken = 0
        for klass in tree.body:
            if not isinstance(klass, ast.ClassDef) or taken == 2 or len(found) == 20:
                continue
            for method in klass.body:
                if taken == 2 or len(found) == 20:
                    break
                if not isinstance(method, ast.FunctionDef) or len(method.body) < 4:
                    continue
                run = method.body[1:3]
                if not _plain(run):
                    continue
                last = run[-1].end_lineno
                assert last is not None
                found.append((name, f"{klass.name}.{method.name}", run[0].lineno, last))
                taken += 1
    return found


SNIPPETS = _snippets()


def test_twenty_snippets() -> None:
    assert len(SNIPPETS) == 20


@pytest.mark.parametrize(("name", "scope", "first", "last"), SNIPPETS, ids=lambda v: str(v))
def test_reprinted_snippet_is_found_once_and_replaced_byte_exactly(
    name: str, scope: str, first: int, last: int
) -> None:
    source = (MODULES / name).read_bytes()
    lines = source.decode("utf-8").splitlines(keepends=True)
    original = "".join(lines[first - 1 : last])
    find = ast.unparse(ast.parse(_dedent(original)))
    assert "#" not in find or "#" in original  # comments are gone unless inside strings
    replacement = find + "\n" + PROBE + "\n"
    edit = replace_block(source, find, replacement, scope=scope)
    assert edit.status == "applied", edit.message
    indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
    new = "".join(indent + line + "\n" if line else "\n" for line in replacement.splitlines())
    expected = "".join(lines[: first - 1]) + new + "".join(lines[last:])
    assert edit.source.decode("utf-8") == expected  # (the engine also checked a second run changes nothing)


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text)
