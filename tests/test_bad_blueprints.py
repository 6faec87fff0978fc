"""The hostile-input corpus: fixtures/bad-blueprints/ with its expected.json.

Each broken blueprint gets one clear line naming the file (and the line where
there is one), its documented exit code, and leaves the tree and the blueprint
byte-identical. Each odd but valid blueprint runs to completion with its odd
bytes (CRLF, CR, BOM, Latin-1, mojibake, trailing blanks) kept.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import git
import pytest

from runner.blueprint.model import MAX_BLUEPRINT_BYTES, parse_blueprint, split_lines
from tests.conftest import RepoFactory, commit_count, snapshot
from tests.helpers import cli

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "bad-blueprints"
EXPECTED: dict[str, dict[str, object]] = json.loads((CORPUS / "expected.json").read_text())


def _changed_lines(before: bytes, after: bytes) -> set[int]:
    """1-based numbers of the lines of ``before`` that ``after`` replaced or removed."""
    old = [line.raw for line in split_lines(before)]
    new = [line.raw for line in split_lines(after)]
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return {i + 1 for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal" for i in range(i1, i2)}


def _writable_lines(source: bytes, name: str) -> set[int]:
    """The lines the runner may rewrite: tracker, task and step checkboxes, the next-action block."""
    bp = parse_blueprint(source, name)
    lines = set(range(bp.tracker_section.first_line, bp.tracker_section.last_line + 1))
    lines |= {t.line for t in bp.tasks} | {s.line for t in bp.tasks for s in t.steps}
    if bp.next_action is not None:
        lines |= set(range(bp.next_action.first_line, bp.next_action.last_line + 1))
    return lines


def test_corpus_is_complete() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name != "expected.json"}
    assert files == set(EXPECTED)
    assert len(EXPECTED) >= 40


def _install(repo: Path, name: str) -> Path:
    target = repo / "blueprints" / name
    target.write_bytes((CORPUS / name).read_bytes())
    setup = EXPECTED[name].get("setup")
    if isinstance(setup, str):
        _, link, destination = setup.split()
        os.symlink(destination, repo / link)
    git_repo = git.Repo(repo)
    git_repo.git.add("-A")
    git_repo.git.commit("-m", f"add {name}", "--no-verify")
    return target


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e["exit"] != 0))
def test_broken_blueprint(name: str, demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    expected = EXPECTED[name]
    repo = demo_repo()
    blueprint = _install(repo, name)
    before, count = snapshot(repo), commit_count(repo)

    code, doc = cli(capsys, "run", blueprint, "--repo", repo)

    assert code == expected["exit"], doc["message"]
    assert str(expected["fragment"]) in doc["message"]
    assert "\n" not in doc["message"]
    if code == 2:
        assert doc["error"]["path"].endswith(name)
        assert doc["message"].startswith(doc["error"]["path"])
        assert doc["error"]["line"] == expected["line"]
    assert snapshot(repo) == before
    assert commit_count(repo) == count


def test_very_large_blueprint(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo()
    path = repo / "huge.md"
    path.write_bytes(b"# x\n" + b"- [ ] filler line\n" * (MAX_BLUEPRINT_BYTES // 18 + 10))
    git.Repo(repo).git.add("-A")
    git.Repo(repo).git.commit("-m", "huge", "--no-verify")
    before = snapshot(repo)
    code, doc = cli(capsys, "run", path, "--repo", repo)
    assert code == 2 and "larger than 4 MiB" in doc["message"] and doc["error"]["path"].endswith("huge.md")
    assert snapshot(repo) == before


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e["exit"] == 0))
def test_odd_but_valid_blueprint(
    name: str, demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    blueprint = _install(repo, name)
    original = blueprint.read_bytes()
    code, doc = cli(capsys, "run", blueprint, "--repo", repo)
    assert code == 0, doc["message"]
    new = blueprint.read_bytes()
    assert b"- **STATUS:** Completed" in new
    for check in EXPECTED[name]["checks"]:  # type: ignore[union-attr]
        kind, _, value = str(check).partition(":")
        if kind == "crlf":
            assert new.count(b"\n") == new.count(b"\r\n") > 0
        elif kind == "cr":
            assert b"\n" not in new and b"\r- **STATUS:** Completed\r" in new
            assert _changed_lines(original, new) <= _writable_lines(original, name)
        elif kind == "bom":
            assert new.startswith(b"\xef\xbb\xbf") and not new[3:].startswith(b"\xef\xbb\xbf")
        elif kind == "bytes":
            assert value.encode().decode("unicode_escape").encode("latin-1") in new
        elif kind == "text":
            assert value.encode() in new
        elif kind == "no-final-newline":
            assert not new.endswith((b"\n", b"\r"))
        elif kind == "tasks":
            assert [t["id"] for t in doc["tasks"]] == value.split(",")
        else:
            raise AssertionError(f"unknown check {check}")
