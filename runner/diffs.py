"""Unified diffs of a file's bytes, for reports and dry runs (no blueprint, no git)."""

from __future__ import annotations


def unified_diff(path: str, before: bytes | None, after: bytes | None) -> str:
    """None: the file does not exist on that side (created or removed by a file step)."""
    if before == after:
        return ""  # what difflib gives, without importing it (`runner lint` of a blueprint it leaves as is)
    import difflib  # start-up: `status` and `next` never show a diff

    return "".join(
        difflib.unified_diff(
            (before or b"").decode("utf-8", "replace").splitlines(keepends=True),
            (after or b"").decode("utf-8", "replace").splitlines(keepends=True),
            f"a/{path}",
            f"b/{path}",
        )
    )
