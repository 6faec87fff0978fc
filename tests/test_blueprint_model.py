"""The blueprint model: parsing, and edits that change only the bytes they mean to."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.blueprint.edit import block_task, complete_task, reopen_task
from runner.blueprint.model import Blueprint, parse_blueprint, split_lines
from runner.errors import BlueprintError

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "blueprints" / "seed-PLAN-001.md"
ALL_BLUEPRINTS = [*sorted((ROOT / "blueprints").glob("*.md")), SEED]


def test_seed_structure() -> None:
    bp = parse_blueprint(SEED.read_bytes(), "seed.md")
    assert bp.plan_id == "PLAN-001"
    assert bp.front_matter["status"] == "draft"
    assert [t.id for t in bp.tasks] == ["1.1", "1.2", "2.1", "2.2", "3.1", "3.2", "3.3", "4.1", "4.2", "4.3"]
    assert [len(t.steps) for t in bp.tasks] == [4, 4, 3, 4, 4, 4, 4, 4, 4, 4]
    assert bp.tasks[0].phase.title == "Step Function Fix (Critical)"
    assert bp.tracker["STATUS"].value == "Not Started"
    assert bp.tracker["NEXT TASK"].line == 36
    assert len(bp.fallbacks) == 4 and bp.fallbacks[0][1].startswith("**If step function fix breaks**")
    assert sum(1 for c in bp.checklist if c.checked) == 2
    assert bp.next_action is not None and bp.lines[bp.next_action.heading_line - 1].text.endswith(
        "Immediate Next Action**"
    )


def test_fenced_code_is_not_tasks() -> None:
    source = _blueprint(["1. [ ] **Task 1.1: Real**", "   - [ ] step"]).replace(
        b"## Notes", b"## Notes\n```\n1. [ ] **Task 9.9: Not a task**\n   - [ ] nope\n```"
    )
    assert [t.id for t in parse_blueprint(source, "b.md").tasks] == ["1.1"]


@pytest.mark.parametrize("path", ALL_BLUEPRINTS, ids=lambda p: p.name)
def test_every_edit_keeps_all_other_bytes(path: Path) -> None:
    """Completing, blocking and reopening every task keeps every untouched line."""
    source = path.read_bytes()
    bp = parse_blueprint(source, path.name)
    for task in bp.tasks:
        for new in (complete_task(bp, task), block_task(bp, task, "why"), reopen_task(bp, task)):
            _assert_only_expected_lines_changed(bp, new)
    # Complete everything in order, then reopen everything newest first.
    current = source
    for task_id in [t.id for t in bp.tasks]:
        model = parse_blueprint(current, path.name)
        current = complete_task(model, model.task(task_id))
    final = parse_blueprint(current, path.name)
    assert all(t.checked for t in final.tasks) and final.status == "Completed"


def _edited_lines(bp: Blueprint) -> set[int]:
    lines = {f.line for f in bp.tracker.values()}
    for task in bp.tasks:
        lines |= {task.line, *(s.line for s in task.steps)}
    if bp.next_action:
        lines |= set(range(bp.next_action.first_line, bp.next_action.last_line + 1))
    return lines


def _assert_only_expected_lines_changed(bp: Blueprint, new: bytes) -> None:
    """Lines outside the tracker, task lines and next-action block survive byte for byte, in order;
    task and step lines differ at most in their mark byte."""
    edited = _edited_lines(bp)
    kept_before = [ln.raw for ln in bp.lines if ln.number not in edited]
    after = parse_blueprint(new, bp.path)
    kept_after = [ln.raw for ln in after.lines if ln.number not in _edited_lines(after)]
    assert kept_after == kept_before
    for old_task, new_task in zip(bp.tasks, after.tasks, strict=True):
        for old, newer in zip([old_task, *old_task.steps], [new_task, *new_task.steps], strict=True):
            old_raw, new_raw = bp.lines[old.line - 1].raw, after.lines[newer.line - 1].raw
            assert len(old_raw) == len(new_raw)
            assert [i for i, (a, b) in enumerate(zip(old_raw, new_raw, strict=True)) if a != b] in (
                [],
                [old.mark_offset - bp.lines[old.line - 1].start],
            )


def test_complete_updates_tracker_and_marks() -> None:
    bp = parse_blueprint(SEED.read_bytes(), "seed.md")
    after = parse_blueprint(complete_task(bp, bp.tasks[0]), "seed.md")
    assert after.tasks[0].checked and all(s.checked for s in after.tasks[0].steps)
    assert not any(t.checked for t in after.tasks[1:])
    assert after.tracker["STATUS"].value == "In Progress"
    assert (
        after.tracker["LAST COMPLETED TASK"].value == "Task 1.1: Verify Current Step Function Implementation"
    )
    assert after.tracker["NEXT TASK"].value == "Task 1.2: Validate Step Function Fix"
    block = b"".join(
        ln.raw
        for ln in after.lines[after.next_action.first_line - 1 : after.next_action.last_line]  # type: ignore[union-attr]
    )
    assert b"**TASK:** Task 1.2: Validate Step Function Fix" in block
    assert b"1. Run syntax check: `python -m py_compile ocr/models/head/db_head.py`" in block


def test_block_adds_and_complete_removes_blocker_line() -> None:
    bp = parse_blueprint(SEED.read_bytes(), "seed.md")
    blocked = parse_blueprint(block_task(bp, bp.tasks[0], "gate failed\non two lines"), "seed.md")
    assert blocked.status == "Blocked"
    assert blocked.tracker["BLOCKER"].value == "Task 1.1: gate failed on two lines"
    assert blocked.tracker["BLOCKER"].line == blocked.tracker["NEXT TASK"].line + 1
    cleared = parse_blueprint(complete_task(blocked, blocked.tasks[0]), "seed.md")
    assert "BLOCKER" not in cleared.tracker
    # The BLOCKER line is gone again: everything before the next-action block is back in place.
    assert cleared.next_action is not None and bp.next_action is not None
    assert cleared.next_action.heading_line == bp.next_action.heading_line


def test_reopen_after_complete_restores_marks() -> None:
    bp = parse_blueprint(SEED.read_bytes(), "seed.md")
    done = parse_blueprint(complete_task(bp, bp.tasks[2]), "seed.md")
    reopened = parse_blueprint(reopen_task(done, done.tasks[2]), "seed.md")
    assert not reopened.tasks[2].checked
    assert reopened.tracker["NEXT TASK"].value == "Task 1.1: Verify Current Step Function Implementation"


# -- malformed input ----------------------------------------------------------------


def _blueprint(outline: list[str], *, tracker: bool = True, newline: str = "\n") -> bytes:
    lines = ["---", 'title: "PLAN-042: Test plan"', "---", "", "# Living Implementation Blueprint", ""]
    if tracker:
        lines += [
            "## Progress Tracker",
            "- **STATUS:** Not Started",
            "- **CURRENT STEP:** Phase 1, Task 1.1",
            "- **LAST COMPLETED TASK:** None",
            "- **NEXT TASK:** Task 1.1",
            "",
        ]
    lines += ["### Implementation Outline", "", "#### **Phase 1: First**", *outline, "", "## Notes", ""]
    return newline.join(lines).encode()


@pytest.mark.parametrize(
    ("source", "line", "fragment"),
    [
        (
            _blueprint(["1. [ ] **Task 1.1: A**", "   - [ ] s"], tracker=False),
            None,
            "no '## Progress Tracker'",
        ),
        (
            _blueprint(["1. [ ] **Task 1.1: A**", "   - [ ] s", "2. [ ] **Task 1.1: B**", "   - [ ] s"]),
            18,
            "duplicate task id 1.1",
        ),
        (_blueprint(["1. [ ] **Task 1.1: A**"]), 16, "has no '- [ ]' steps"),
        (_blueprint(["1. [ ] **Task 1.1 A**", "   - [ ] s"]), 16, "malformed task line"),
        (_blueprint(["```python", "1. [ ] **Task 1.1: A**"]), 16, "code fence is never closed"),
        (b"---\ntitle: [unclosed\n---\n", 2, "front matter is not valid YAML"),
        (b"---\na: &x [1]\nb: *x\n---\n", 3, "YAML alias"),
        (b"---\ntitle: x\n", 1, "never closed"),
        (b"", None, "empty"),
        (b"# t\x00\n", 1, "NUL byte"),
    ],
)
def test_malformed_blueprints_name_file_and_line(source: bytes, line: int | None, fragment: str) -> None:
    with pytest.raises(BlueprintError) as caught:
        parse_blueprint(source, "bad.md")
    assert fragment in caught.value.message
    assert caught.value.line == line
    assert caught.value.one_line().startswith("bad.md")


# -- generated blueprints (property test) ----------------------------------------------

_TEXT = (
    st.lists(st.sampled_from([*"abcXYZ 019-_.()", "üéØ", "‚ö†Ô∏è", "é", "→"]), min_size=1, max_size=12)
    .map(lambda parts: "".join(parts).strip())
    .filter(bool)
)


@st.composite
def blueprints(draw: st.DrawFn) -> bytes:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.booleans())
    outline: list[str] = []
    task_count = draw(st.integers(1, 4))
    for n in range(1, task_count + 1):
        mark = draw(st.sampled_from([" ", "x", "X"]))
        trailing = draw(st.sampled_from(["", " ", "  \t"]))
        outline.append(f"{n}. [{mark}] **Task 1.{n}: {draw(_TEXT)}**{trailing}")
        for _ in range(draw(st.integers(1, 3))):
            step_mark = draw(st.sampled_from([" ", "x"]))
            outline.append(f"   - [{step_mark}] {draw(_TEXT)}{draw(st.sampled_from(['', ' ']))}")
        outline.append("")
    source = _blueprint(outline, newline=newline)
    source = source.replace(b"## Notes", b"## Notes \xff\xfe latin-1 \xe9 bytes")
    source += ("## üöÄ **Immediate Next Action**" + newline + newline + "**TASK:** x" + newline).encode()
    return (b"\xef\xbb\xbf" if bom else b"") + source


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blueprints(), st.data())
def test_generated_blueprints_round_trip(source: bytes, data: st.DataObject) -> None:
    bp = parse_blueprint(source, "gen.md")
    assert b"".join(ln.raw for ln in split_lines(source)) == source
    task = data.draw(st.sampled_from(bp.tasks))
    for new in (complete_task(bp, task), block_task(bp, task, "é \udcff reason"), reopen_task(bp, task)):
        _assert_only_expected_lines_changed(bp, new)
        assert new.startswith(b"\xef\xbb\xbf") == source.startswith(b"\xef\xbb\xbf")
        assert (b"\r\n" in new) == (b"\r\n" in source)
        if b"\r\n" in source:
            assert new.count(b"\n") == new.count(b"\r\n")  # no bare LF introduced
