"""The read-only commands' view of a blueprint: no git, so `status` starts fast."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from runner.blueprint.model import Blueprint, load_blueprint
from runner.errors import InputError, not_a_repo_root
from runner.records import datarecord


class BlueprintView(Protocol):
    """What the read-only commands need: a blueprint and the directory its paths are relative to."""

    @property
    def root(self) -> Path: ...

    @property
    def display(self) -> str: ...

    def load(self) -> Blueprint: ...


@datarecord(frozen=True)
class View:
    """A :class:`BlueprintView` without git (`status`, `next`: start-up stays small)."""

    root: Path
    blueprint_path: Path
    display: str

    def load(self) -> Blueprint:
        return load_blueprint(self.blueprint_path, self.display)


def open_view(repo_dir: Path, blueprint: Path) -> View:
    """Like :func:`open_session` for reading: the same --repo rule, no GitPython."""
    root = repo_dir.resolve()
    if not root.is_dir():
        raise InputError("is not a directory", path=str(repo_dir), code="not_a_repo")
    if not (root / ".git").exists():
        enclosing = next((p for p in root.parents if (p / ".git").exists()), None)
        if enclosing is not None:
            raise not_a_repo_root(str(repo_dir), str(enclosing))
    return View(root, blueprint if blueprint.is_absolute() else Path.cwd() / blueprint, str(blueprint))
