"""The contract every codemod of this project follows.

A codemod is a ``libcst.codemod.VisitorBasedCodemodCommand`` (so
``python -m libcst.tool codemod`` can run it) that also declares:

* ``NAME``: the kebab-case name blueprints and the CLI use;
* ``DESCRIPTION``: one line, shown by ``runner codemod list`` and libcst.tool;
* ``NEEDLES`` (or ``needles(options)`` when they depend on an option): cheap byte
  strings; a file containing none of them is never parsed;
* ``OPTIONS``: typed options, turned into argparse flags for libcst.tool and parsed
  from ``key=value`` strings for the runner.

While transforming, a codemod calls :meth:`RunnerCodemod.record_change` for each
rewrite and :meth:`RunnerCodemod.record_skip` (with a reason) for each place it
recognised but could not prove safe to rewrite. It knows nothing of blueprints.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.metadata import PositionProvider, ProviderT

if TYPE_CHECKING:
    from codemods.prefilters import Prefilter


@dataclass(frozen=True)
class Option:
    """One codemod option: ``--arg name=value`` for the runner, ``--name`` for libcst.tool."""

    name: str
    kind: type[str] | type[int] | type[float] | type[bool]
    default: str | int | float | bool
    help: str

    def parse(self, text: str) -> str | int | float | bool:
        if self.kind is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"option {self.name!r} takes true or false, not {text!r}")
        try:
            return self.kind(text)
        except ValueError:
            raise ValueError(f"option {self.name!r} takes a {self.kind.__name__}, not {text!r}") from None


@dataclass(frozen=True)
class Change:
    codemod: str
    line: int
    description: str


@dataclass(frozen=True)
class Skip:
    codemod: str
    line: int
    reason: str


@dataclass
class CodemodReport:
    changes: list[Change] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)


class RunnerCodemod(VisitorBasedCodemodCommand):
    NAME: ClassVar[str] = ""
    DESCRIPTION: str = ""  # libcst declares it as an attribute; one line, kept on the class
    NEEDLES: ClassVar[tuple[bytes, ...]] = ()
    OPTIONS: ClassVar[tuple[Option, ...]] = ()
    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (PositionProvider,)

    def __init__(self, context: CodemodContext, **options: object) -> None:
        super().__init__(context)
        self.options: dict[str, object] = self.resolve_options(options)
        self.report = CodemodReport()

    @classmethod
    def needles(cls, options: Mapping[str, object]) -> tuple[bytes, ...]:
        """Byte strings of which a file must contain one to be worth parsing.

        Override when the needle depends on an option (the module a lazy import moves).
        """
        return cls.NEEDLES

    @classmethod
    def prefilter(cls) -> Prefilter:
        """Cheap conservative pre-checks run before parsing (``codemods/prefilters.py``);
        a codemod without an entry there lets every file through."""
        from codemods.prefilters import prefilter_for

        return prefilter_for(cls.NAME)

    # -- options -----------------------------------------------------------------
    @classmethod
    def resolve_options(cls, given: Mapping[str, object]) -> dict[str, object]:
        """Defaults, overridden by ``given``; strings are parsed by the option's type.

        libcst.tool passes every declared flag, ``None`` when not given.
        """
        known = {opt.name: opt for opt in cls.OPTIONS}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ValueError(
                f"codemod {cls.NAME!r} has no option {unknown[0]!r}"
                f" (it takes: {', '.join(known) or 'no options'})"
            )
        resolved: dict[str, object] = {opt.name: opt.default for opt in cls.OPTIONS}
        for name, value in given.items():
            if value is None:
                continue
            resolved[name] = known[name].parse(value) if isinstance(value, str) else value
        return resolved

    @classmethod
    def add_args(cls, arg_parser: argparse.ArgumentParser) -> None:
        # libcst.tool calls this on the class to build its command line.
        for opt in cls.OPTIONS:
            arg_parser.add_argument(
                f"--{opt.name}",
                dest=opt.name,
                default=None,
                help=f"{opt.help} (default: {opt.default})",
            )

    # -- reporting ---------------------------------------------------------------
    def line_of(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def record_change(self, node: cst.CSTNode, description: str) -> None:
        self.report.changes.append(Change(self.NAME, self.line_of(node), description))

    def record_skip(self, node: cst.CSTNode, reason: str) -> None:
        self.report.skips.append(Skip(self.NAME, self.line_of(node), reason))

    def skip_file(self, node: cst.CSTNode, reason: str) -> SkipFile:
        """Record a file-level skip and return the exception that aborts the transform."""
        self.record_skip(node, reason)
        return SkipFile(reason)
