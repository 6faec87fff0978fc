"""LibCST codemods, one command per module in ``codemods.commands``.

Importing this package imports no LibCST: :mod:`codemods.catalog` knows every
codemod's name and options; :func:`registry` imports the commands themselves.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codemods.base import RunnerCodemod


def registry() -> dict[str, type[RunnerCodemod]]:
    """Every codemod by its NAME, found in the modules of ``codemods.commands``."""
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
