"""Structural code-block edits: find a block of code by its LibCST structure, replace or insert.

The engine behind the blueprint steps ``Replace in ...``, ``Insert into ...`` and
``Insert the lines marked ...``; it knows nothing of blueprints. Pure functions
over a file's bytes, returning a :class:`BlockEdit`; none writes anything.

* :mod:`.replace` (``replace_block``), :mod:`.insert` + :mod:`.where` (``insert_block``),
  :mod:`.marked` (``insert_marked_lines``): the three edits;
* :mod:`.pattern` (blocks parsed, ``...`` located), :mod:`.matcher` (structural matching),
  :mod:`.source` (the file's lines, offsets, scopes), :mod:`.sites` (matches found, one chosen),
  :mod:`.closest` (why a block is absent), :mod:`.render` (text edits, verified),
  :mod:`.result` (``BlockEdit`` and its statuses): what they share.
"""

from codemods.blocks.insert import insert_block
from codemods.blocks.marked import DEFAULT_MARKER, insert_marked_lines
from codemods.blocks.pattern import BlockSyntaxError, parse_block
from codemods.blocks.replace import replace_block
from codemods.blocks.result import HINT_WINDOW, BlockEdit, Candidate, Status
from codemods.blocks.where import Where, WhereKind

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
