"""The light half of the codemod contract: what a codemod declares, without LibCST.

A codemod's name, description, needles, options (and their checks) and pre-checks are all
the engine needs to decide that a file holds nothing for it, and all the CLI needs to
resolve a command line. They live on a :class:`CodemodDeclaration` (``codemods/declarations.py``)
which the LibCST command (:class:`codemods.base.RunnerCodemod`) inherits, so they are
written once; importing this module and the catalog costs no LibCST (about a second of
start-up), which is loaded only when a file reaches the LibCST stage (:meth:`load`).

Its records are NamedTuples, not dataclasses: `runner lint` and `next` import this module,
and the ``dataclasses`` module alone (with ``inspect``) costs them about 15 ms of start-up.
No ``from __future__ import annotations`` either: a NamedTuple compiles each string annotation.
"""

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, NamedTuple

if TYPE_CHECKING:
    from codemods.base import RunnerCodemod
    from codemods.gathered import Gathered
    from codemods.prefilters import Prefilter


class PythonLiteral(str):
    """The source text of a Python literal, the kind of an option whose value becomes code.

    Only what ``ast.literal_eval`` accepts (numbers, negative ones included, strings,
    bytes, True/False/None, tuples/lists/sets/dicts of literals): a blueprint's option
    is pasted into files the import gate later imports, so it must never be able to
    call anything (``__import__('os').system(...)`` is refused here, when the options
    are resolved, before any step runs).
    """

    __slots__ = ()

    def __new__(cls, text: str) -> "PythonLiteral":
        import ast  # here: `runner lint` and `next` import this module, and rarely parse a literal

        code = text.strip()
        try:
            ast.literal_eval(code)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ValueError(
                f"not a Python literal (a number, string, True/False/None, or a tuple/list/dict"
                f" of them): {text!r}"
            ) from None
        return super().__new__(cls, code)


class Option(NamedTuple):
    """One codemod option: ``--arg name=value`` for the runner, ``--name`` for libcst.tool."""

    name: str
    kind: type[str] | type[int] | type[float] | type[bool] | type[PythonLiteral]
    default: str | int | float | bool
    help: str

    def parse(self, text: str) -> str | int | float | bool:
        if self.kind is PythonLiteral:
            try:
                return PythonLiteral(text)
            except ValueError as err:
                raise ValueError(f"option {self.name!r}: {err}") from None
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


class Change(NamedTuple):
    codemod: str
    line: int
    description: str


class Skip(NamedTuple):
    codemod: str
    line: int
    reason: str


class CodemodDeclaration:
    """What a codemod declares (see :mod:`codemods.base` for the contract)."""

    NAME: ClassVar[str] = ""
    DESCRIPTION: str = ""  # libcst declares it as an attribute; one line, kept on the class
    NEEDLES: ClassVar[tuple[bytes, ...]] = ()
    OPTIONS: ClassVar[tuple[Option, ...]] = ()
    # "module:Class" of the LibCST command, imported by load().
    COMMAND: ClassVar[str] = ""
    # A multi-file codemod: ``gather`` reads every file of one application first (an
    # analysis, gather-style), then each file's transform acts on what it found.
    GATHERS: ClassVar[bool] = False
    # Options that name a file the codemod reads and may change besides its targets.
    PATH_OPTIONS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def option_paths(cls, options: Mapping[str, object]) -> tuple[str, ...]:
        """The files the ``PATH_OPTIONS`` name."""
        return tuple(str(options[name]) for name in cls.PATH_OPTIONS if options.get(name))

    @classmethod
    def gather(
        cls, sources: Mapping[str, bytes | None], options: Mapping[str, object], root: str
    ) -> "Gathered":
        """A GATHERS codemod's analysis of every file (path -> bytes, None when missing);
        ``root``: the directory module names start from. The command (LibCST) does the work."""
        command = cls.load()
        if command is cls or not cls.GATHERS:
            raise NotImplementedError(f"{cls.NAME} is not a multi-file codemod")
        return command.gather(sources, options, root)

    @classmethod
    def load(cls) -> "type[RunnerCodemod]":
        """The LibCST command (imports LibCST: call it only for a file that reaches it)."""
        module, _, name = cls.COMMAND.partition(":")
        command: type[RunnerCodemod] = getattr(importlib.import_module(module), name)
        if not issubclass(command, cls):
            raise TypeError(f"{cls.COMMAND} does not declare itself as {cls.__qualname__}")
        return command

    @classmethod
    def needles(cls, options: Mapping[str, object]) -> tuple[bytes, ...]:
        """Byte strings of which a file must contain one to be worth parsing.

        Override when the needle depends on an option (the module a lazy import moves).
        """
        return cls.NEEDLES

    @classmethod
    def prefilter(cls) -> "Prefilter":
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
            if isinstance(value, str):
                resolved[name] = known[name].parse(value)
            elif known[name].kind is PythonLiteral:
                # A JSON number or bool from an options file: checked as its source text.
                resolved[name] = known[name].parse(repr(value))
            else:
                resolved[name] = value
        return resolved
