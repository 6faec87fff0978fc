"""What ``from X import *`` binds, when that can be known without running the repo's code.

A star import hides which names a file binds, so a codemod that relies on a name (``torch``,
``exp``) must refuse it, unless the names are known:

* the standard library (``sys.stdlib_module_names``): a module with Python source is read
  and parsed, never imported (``antigravity`` opens a browser when imported); a built-in or
  C extension module, which has no import-time Python code, is imported for its names;
* a module of the same source tree: ``from .x import *`` relative to the file, and
  ``from pkg.x import *`` below the directory that holds the file's top-level package
  (the first ancestor without ``__init__.py``), parsed statically, never imported.

Names are ``__all__`` when the module assigns it only literal lists/tuples of strings
(``=``/``+=``), else every public module-level name (including its own star imports,
resolved the same way). Anything else (a dynamic ``__all__``, a module not found, a
third-party package) is ``None``: unknown, and the codemod refuses.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import GatherExportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, ScopeProvider

_MAX_DEPTH = 4
_STRINGS = [m.ZeroOrMore(m.Element(m.SimpleString()))]
_LITERAL_ALL = m.List(elements=_STRINGS) | m.Tuple(elements=_STRINGS)
# ``__all__ = [...]``, ``__all__ += (...)``, ``__all__: list[str] = [...]`` of string literals.
_LITERAL_ALL_BINDING = (
    m.Assign(targets=[m.AssignTarget(m.Name("__all__"))], value=_LITERAL_ALL)
    | m.AugAssign(target=m.Name("__all__"), operator=m.AddAssign(), value=_LITERAL_ALL)
    | m.AnnAssign(target=m.Name("__all__"), value=_LITERAL_ALL)
)


def star_import_names(node: cst.ImportFrom, filename: str | None) -> frozenset[str] | None:
    """The names ``node`` (a ``from X import *``) binds in a file at ``filename``, or None."""
    return _star_names(node, Path(filename) if filename else None, 0)


def _star_names(node: cst.ImportFrom, path: Path | None, depth: int) -> frozenset[str] | None:
    if not isinstance(node.names, cst.ImportStar):
        return frozenset()
    module = get_full_name_for_node(node.module) if node.module is not None else None
    if node.relative:
        if path is None:
            return None
        return _tree_module_names(_relative_path(path, len(node.relative), module), depth + 1)
    if module is None:
        return None
    if module.split(".")[0] in sys.stdlib_module_names:
        return _stdlib_names(module)
    root = _source_root(path) if path is not None else None
    return _tree_module_names(_module_path(root, module), depth + 1)


def _relative_path(path: Path, level: int, module: str | None) -> Path | None:
    base = path.resolve().parent
    for _ in range(level - 1):
        base = base.parent
    return _module_path(base, module) if module else _module_path(base.parent, base.name)


def _source_root(path: Path) -> Path | None:
    """The directory holding the file's top-level package (where Python would find it)."""
    directory = path.resolve().parent
    while (directory / "__init__.py").is_file():
        if directory.parent == directory:
            return None
        directory = directory.parent
    return directory


def _module_path(root: Path | None, dotted: str) -> Path | None:
    if root is None:
        return None
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=256)
def _stdlib_names(module: str) -> frozenset[str] | None:
    source = _module_path(Path(sysconfig.get_paths()["stdlib"]), module)
    if source is not None:
        return _tree_module_names(source, 0)
    if module in sys.builtin_module_names or _is_extension(module):
        # Compiled code: importing it runs no Python code of the standard library's.
        imported = importlib.import_module(module)
        exported = getattr(imported, "__all__", None)
        names = exported if exported is not None else [n for n in vars(imported) if not n.startswith("_")]
        return frozenset(str(n) for n in names)
    return None


def _is_extension(module: str) -> bool:
    """A top-level C extension of the standard library (found without importing it)."""
    if "." in module:
        return False  # finding a submodule would import its package
    spec = importlib.util.find_spec(module)
    origin = spec.origin if spec is not None else None
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    return (
        origin is not None
        and origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
        and Path(origin).resolve().is_relative_to(stdlib)
    )


def _tree_module_names(path: Path | None, depth: int) -> frozenset[str] | None:
    if path is None or depth > _MAX_DEPTH:
        return None
    return _parsed_module_names(path.resolve(), depth)


@lru_cache(maxsize=256)
def _parsed_module_names(path: Path, depth: int) -> frozenset[str] | None:
    try:
        tree = cst.parse_module(path.read_bytes())
    except (OSError, cst.ParserSyntaxError, UnicodeDecodeError, LookupError, SyntaxError):
        return None
    mentions = len(m.findall(tree, m.Name("__all__")))
    if mentions:
        literal = m.findall(tree, _LITERAL_ALL_BINDING)
        if len(literal) != mentions:
            return None  # __all__ computed, extended by a call, or read: not knowable statically
        gatherer = GatherExportsVisitor(CodemodContext())
        tree.visit(gatherer)
        return frozenset(gatherer.explicit_exported_objects)
    names: set[str] = set()
    for found in m.findall(tree, m.ImportFrom(names=m.ImportStar())):
        assert isinstance(found, cst.ImportFrom)
        inner = _star_names(found, path, depth)
        if inner is None:
            return None
        names |= inner
    scope = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(ScopeProvider).get(tree)
    if scope is None:
        return None
    names.update(a.name for a in scope.assignments)
    return frozenset(n for n in names if not n.startswith("_"))
