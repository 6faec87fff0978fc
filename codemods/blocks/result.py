"""What every block edit returns: a :class:`BlockEdit` with its status.

Statuses:

* ``applied``: one edit (or every one, when asked) was made; the result parses,
  and running the same edit on it reports ``already-applied``;
* ``already-applied``: the find block is absent but the replacement is there
  (or the inserted block is already at its site): nothing changes;
* ``absent``: nothing matches; the closest statement run in scope, its line and
  a diff are reported;
* ``ambiguous``: several places match and one was asked for; a line hint picks
  one only when exactly one candidate lies within :data:`HINT_WINDOW` lines of it;
* ``refused``: a match was found but the edit cannot be shown safe (the result
  would not parse, a second run would change it again, a function of that name
  already exists and differs, the target does not parse, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Status = Literal["applied", "already-applied", "absent", "ambiguous", "refused"]

# A line hint picks a candidate only when it is the one candidate this close to it.
HINT_WINDOW = 80


@dataclass(frozen=True)
class Candidate:
    """The closest statement run to an absent block."""

    line: int
    end_line: int
    similarity: float  # difflib ratio of the comment-free code, 0..1
    diff: str  # unified diff: block -> candidate


@dataclass(frozen=True)
class BlockEdit:
    status: Status
    source: bytes  # the new bytes; the input itself unless applied
    message: str  # one line
    lines: tuple[int, ...] = ()  # applied/already-applied: where; ambiguous: every candidate
    closest: Candidate | None = None

    @property
    def changed(self) -> bool:
        return self.status == "applied"


class Refusal(Exception):
    """Ends an edit early, from however deep, with the edit to report (the input unchanged)."""

    def __init__(self, edit: BlockEdit) -> None:
        super().__init__(edit.message)
        self.edit = edit


def edit_or_refusal(run: Callable[[], BlockEdit]) -> BlockEdit:
    try:
        return run()
    except Refusal as refusal:
        return refusal.edit
