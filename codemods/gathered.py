"""The base of a GATHERS codemod's analysis result, apart from :mod:`codemods.contract`, which
`runner next` and `lint` import and which must therefore not import ``dataclasses``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gathered:
    """What a multi-file codemod's gather step found over every file of one application
    (:meth:`CodemodDeclaration.gather`), handed to each file's transform."""

    files: frozenset[str] = frozenset()  # the files it has work or a verdict for (normalized paths)
    refusal: str = ""  # why no file is rewritten: a first line naming file and line, then details
