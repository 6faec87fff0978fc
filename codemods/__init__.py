"""LibCST codemods, one command per module in ``codemods.commands``."""

from __future__ import annotations

import importlib
import pkgutil

from codemods.base import RunnerCodemod


def registry() -> dict[str, type[RunnerCodemod]]:
    """Every codemod by its NAME, found in the modules of ``codemods.commands``."""
    import codemods.commands as package

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
