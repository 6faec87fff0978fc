"""Every command's docstring examples run as tests, as Fixit runs a rule's VALID/INVALID.

In a command's docstring (``inspect.getdoc``), at the left margin:

* ``With ``k=v k=v``:`` sets the options of the examples below it;
* ``Valid (...)::`` then an indented module: left alone, no change and no skip;
* ``Invalid (...)::`` then an indented module, and optionally ``becomes::`` then the
  module it is rewritten into; without ``becomes::`` it must be reported as a skip and
  left unchanged.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass

import pytest

from codemods import registry
from codemods.base import RunnerCodemod
from codemods.engine import CodemodCall, apply_codemods

_HEADING = re.compile(
    r"^(With ``(?P<options>[^`]*)``:|(?P<kind>Valid|Invalid)\b.*::|(?P<becomes>becomes)::)$"
)


@dataclass(frozen=True)
class Example:
    codemod: type[RunnerCodemod]
    options: dict[str, str]
    kind: str  # "valid" or "invalid"
    code: str
    becomes: str | None

    @property
    def id(self) -> str:
        return f"{self.codemod.NAME}-{self.kind}-{abs(hash(self.code)) % 10_000:04d}"


def _block(lines: list[str], start: int) -> tuple[str, int]:
    """The indented block after ``lines[start]`` (a ``...::`` heading), and where it ends."""
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(" ")):
        end += 1
    return textwrap.dedent("\n".join(lines[start + 1 : end])).strip("\n") + "\n", end


def examples(codemod: type[RunnerCodemod]) -> list[Example]:
    lines = (inspect.getdoc(codemod) or "").splitlines()
    options: dict[str, str] = {}
    found: list[Example] = []
    index = 0
    while index < len(lines):
        heading = _HEADING.match(lines[index])
        if heading is None:
            index += 1
        elif heading["options"] is not None:
            options = dict(pair.split("=", 1) for pair in heading["options"].split())
            index += 1
        elif heading["becomes"]:
            code, index = _block(lines, index)
            last = found.pop()
            assert last.kind == "invalid" and last.becomes is None, f"{codemod.NAME}: stray becomes::"
            found.append(Example(codemod, last.options, "invalid", last.code, code))
        else:
            code, index = _block(lines, index)
            found.append(Example(codemod, options, heading["kind"].lower(), code, None))
    return found


ALL = [example for codemod in registry().values() for example in examples(codemod)]


def test_every_command_documents_a_valid_and_an_invalid_example() -> None:
    for name, codemod in registry().items():
        kinds = {e.kind for e in examples(codemod)}
        assert kinds == {"valid", "invalid"}, f"{name}: docstring examples {sorted(kinds)}"


@pytest.mark.parametrize("example", ALL, ids=lambda e: e.id)
def test_docstring_example(example: Example) -> None:
    call = CodemodCall(example.codemod, example.codemod.resolve_options(example.options))
    source = example.code.encode()
    outcome = apply_codemods(source, [call], f"{example.codemod.NAME.replace('-', '_')}_example.py")
    assert outcome.status != "error", outcome.reason
    if example.kind == "valid":
        assert outcome.after == source and not outcome.changes, "a valid example must be left alone"
        assert not outcome.skips, f"a valid example must not be reported: {outcome.skips}"
    elif example.becomes is not None:
        assert outcome.after.decode() == example.becomes
        assert outcome.changes
    else:
        assert outcome.after == source and not outcome.changes
        assert outcome.skips, "an invalid example without becomes:: must be reported as a skip"


def test_the_readme_catalogue_shows_every_codemod_with_a_before_and_after() -> None:
    """README ``## Codemods``: each codemod's entry (``**`name`**``) holds a code block
    with its before and after."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Codemods\n", 1)[1].split("\n## ", 1)[0]
    entries = re.split(r"^\*\*`([a-z-]+)`\*\*", section, flags=re.MULTILINE)[1:]
    shown = dict(zip(entries[::2], entries[1::2], strict=True))
    assert sorted(shown) == sorted(registry())
    for name, text in shown.items():
        blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
        assert blocks, f"{name}: no code block"
        assert "before" in blocks[0] and "after" in blocks[0], f"{name}: the block names no before/after"
