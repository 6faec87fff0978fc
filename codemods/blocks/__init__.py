"""Structural code-block edits: find a block of code by its LibCST structure, replace or insert.

The engine behind the blueprint steps ``Replace in ...``, ``Insert into ...`` and
``Insert the lines marked ...``; it knows nothing of blueprints. Pure functions
over a file's bytes, returning a :class:`BlockEdit`.
"""

from codemods.blocks.edits import (
    DEFAULT_MARKER,
    HINT_WINDOW,
    BlockEdit,
    Candidate,
    Status,
    Where,
    WhereKind,
    insert_block,
    insert_marked_lines,
    replace_block,
)
from codemods.blocks.pattern import BlockSyntaxError, parse_block

__all__ = [
    "DEFAULT_MARKER",
    "HINT_WINDOW",
    "BlockEdit",
    "BlockSyntaxError",
    "Candidate",
    "Status",
    "Where",
    "WhereKind",
    "insert_block",
    "insert_marked_lines",
    "parse_block",
    "replace_block",
]
