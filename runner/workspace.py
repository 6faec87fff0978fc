"""The target directory as `lint --fix` sees it, and the fix itself (applied in memory).

:mod:`runner.blueprint.suggest` decides what each step means; this module gives it
a view of the target directory (files, their definitions, their YAML keys), never
of git, so it works on a blueprint in any directory.
"""

from __future__ import annotations

from pathlib import Path

from runner.blueprint.model import Blueprint
from runner.blueprint.suggest import Suggestion, apply_suggestions, suggest
from runner.diffs import unified_diff
from runner.errors import InputError
from runner.fsutil import resolve_inside
from runner.gates.symbols import defined_names, find_definition
from runner.records import datarecord


@datarecord(frozen=True)
class DirectoryWorkspace:
    """The files under ``root``; a path that leaves it is treated as absent."""

    root: Path

    def _read(self, path: str) -> bytes | None:
        try:
            resolved = resolve_inside(self.root, path)
            return resolved.read_bytes() if resolved.is_file() else None
        except (InputError, OSError):
            return None

    def is_file(self, path: str) -> bool:
        return self._read(path) is not None

    def defines(self, path: str, symbol: str) -> bool:
        source = self._read(path)
        if source is None:
            return False
        names = defined_names(source)
        return not isinstance(names, str) and find_definition(names, symbol) is not None

    def has_key(self, path: str, key: str) -> bool:
        source = self._read(path)
        if source is None:
            return False
        import yaml  # here: `lint` reads a config only for a suggestion naming one of its keys

        try:
            node = yaml.compose(source, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return False
        for part in key.split("."):
            if not isinstance(node, yaml.MappingNode):
                return False
            values = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part]
            if not values:
                return False
            node = values[0]
        return True


@datarecord(frozen=True)
class LintFix:
    """The suggestions ``lint --fix`` applies, the blueprint after them and the diff."""

    suggestions: list[Suggestion]
    source: bytes  # the blueprint with every suggestion applied
    diff: str


def fix_blueprint(bp: Blueprint, root: Path | None, display: str) -> LintFix:
    """Every confident suggestion for ``bp``, applied in memory (the caller writes)."""
    found = suggest(bp, DirectoryWorkspace(root) if root is not None else None)
    after = apply_suggestions(bp, found)
    return LintFix(found, after, unified_diff(display, bp.source, after))
