"""What a multi-file codemod's gather step found (kept apart from :mod:`codemods.contract`,
which must not import ``dataclasses``; each GATHERS codemod's result subclasses it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gathered:
    """What a multi-file codemod's gather step found over every file of one application
    (:meth:`CodemodDeclaration.gather`), handed to each file's transform."""

    files: frozenset[str] = frozenset()  # the files it has work or a verdict for (normalized paths)
    refusal: str = ""  # why no file is rewritten: a first line naming file and line, then details
