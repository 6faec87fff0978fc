"""LibCST codemods, one command per module in ``codemods.commands``, each declared (name,
needles, options) in ``codemods.declarations``, which costs no LibCST to import."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codemods.base import RunnerCodemod
    from codemods.contract import CodemodDeclaration


def catalog() -> dict[str, type[CodemodDeclaration]]:
    """Every codemod's declaration by its NAME, without importing LibCST; ``load()`` gives
    the command."""
    from codemods.declarations import DECLARATIONS

    return {declaration.NAME: declaration for declaration in DECLARATIONS}


def registry() -> dict[str, type[RunnerCodemod]]:
    """Every codemod's LibCST command by its NAME, found in the modules of ``codemods.commands``."""
    import pkgutil

    import codemods.commands as package
    from codemods.base import RunnerCodemod

    found: dict[str, type[RunnerCodemod]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, RunnerCodemod)
                and value.NAME
                and value.__module__ == module.__name__
            ):
                found[value.NAME] = value
    return found
