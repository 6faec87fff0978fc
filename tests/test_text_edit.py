"""Exact line-block replacement in prose files: applied, already applied, absent, ambiguous."""

from __future__ import annotations

import pytest

from runner.text_edit import replace_text

DOC = b"""# Debugging

## CUDA

Run `scripts/debug_cuda.sh` first: it prints the driver.
Older copies live in
[the backups](../.backup/scripts-backup-20251028/debug_cuda.sh).

## Data

Run `scripts/debug_cuda.sh` first: it prints the driver.
"""


def test_applied_changes_only_the_block() -> None:
    edit = replace_text(DOC, "Older copies live in\n[the backups](../.backup/x/debug_cuda.sh).\n", "x")
    assert edit.status == "absent"
    edit = replace_text(
        DOC,
        "Older copies live in\n[the backups](../.backup/scripts-backup-20251028/debug_cuda.sh).",
        "Older copies are in the archive `archive/scripts-backup.tar.gz`.",
    )
    assert edit.status == "applied"
    assert edit.lines == [6]
    assert edit.after == DOC.replace(
        b"Older copies live in\n[the backups](../.backup/scripts-backup-20251028/debug_cuda.sh).",
        b"Older copies are in the archive `archive/scripts-backup.tar.gz`.",
    )
    again = replace_text(
        edit.after,
        "Older copies live in\n[the backups](../.backup/scripts-backup-20251028/debug_cuda.sh).",
        "Older copies are in the archive `archive/scripts-backup.tar.gz`.",
    )
    assert again.status == "already-applied"
    assert again.after == edit.after


def test_two_matches_need_every_occurrence() -> None:
    find = "Run `scripts/debug_cuda.sh` first: it prints the driver."
    new = "Run `python scripts/debug_cuda.py` first: it prints the driver."
    edit = replace_text(DOC, find, new)
    assert edit.status == "ambiguous"
    assert edit.lines == [5, 11]
    assert edit.after == DOC
    every = replace_text(DOC, find, new, every=True)
    assert every.status == "applied"
    assert every.after == DOC.replace(find.encode(), new.encode())


def test_absent_names_the_closest_lines_and_the_difference() -> None:
    edit = replace_text(DOC, "Run `scripts/debug_gpu.sh` first: it prints the driver.", "x")
    assert edit.status == "absent"
    assert edit.lines == [5]
    assert "-Run `scripts/debug_cuda.sh` first" in edit.detail
    assert "+Run `scripts/debug_gpu.sh` first" in edit.detail


def test_a_replacement_that_contains_the_find_block_is_idempotent() -> None:
    find = "## CUDA"
    new = "## CUDA\n\nSee also `scripts/debug_cuda.py`."
    once = replace_text(DOC, find, new)
    assert once.status == "applied"
    twice = replace_text(once.after, find, new)
    assert twice.status == "already-applied"
    assert twice.after == once.after


def test_crlf_and_trailing_spaces() -> None:
    crlf = DOC.replace(b"\n", b"\r\n").replace(b"## Data", b"## Data   ")
    edit = replace_text(crlf, "## Data", "## Data sets")
    assert edit.status == "applied"
    assert edit.after == crlf.replace(b"## Data   ", b"## Data sets")


def test_an_empty_find_block_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        replace_text(DOC, "\n\n", "x")
