"""Facts about one module-level function in one file, for ``consolidate-functions``.

:func:`file_facts` reads a file with LibCST (scope metadata) and says how the file binds
the function's name, and, when it defines it, what the definition depends on:

* its **normalized form**: the definition parsed by the standard library's ``ast`` (so
  comments, blank lines, line breaks, parentheses, quote style and trailing commas are
  already gone), then with every docstring removed (the function's own and those of the
  functions and classes inside it; a body left empty becomes ``pass``), the decorators
  set aside (compared on their own), string prefixes (``u"…"``) and type comments
  dropped. Everything else counts: parameter names, defaults, annotations, local names,
  literal values (``1e3`` and ``1000.0`` are one value, ``1`` and ``1.0`` are not);
* its **free names**: every name it reads that resolves to a module-level binding or a
  builtin (decorators, defaults and annotations included, which are evaluated in the
  module), each with what it is bound to: an import (by the absolute qualified name, a
  relative import resolved), a builtin, another module-level statement (by that
  statement's normalized form) or the function itself;
* what makes it depend on its own module (``global``, ``__name__``, ``globals()`` …).
"""

from __future__ import annotations

import ast
import builtins
import copy
import difflib
import warnings
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (
    Assignment,
    BuiltinAssignment,
    ClassScope,
    GlobalScope,
    ImportAssignment,
    MetadataWrapper,
    PositionProvider,
    ScopeProvider,
)

# Names whose value is the module's own: a copy in another module would see that module's.
MODULE_DUNDERS = frozenset(
    {"__name__", "__file__", "__spec__", "__loader__", "__package__", "__path__", "__cached__", "__doc__"}
)
MODULE_READERS = frozenset({"globals", "vars", "eval", "exec", "__import__"})
# Decorators that only wrap the function: one shared copy behaves as the several did.
# Any other decorator may register or count per copy (``@registry.register``): refused.
WRAPPING_DECORATORS = frozenset(
    {
        "functools.lru_cache",
        "functools.cache",
        "contextlib.contextmanager",
        "contextlib.asynccontextmanager",
        "typing.no_type_check",
        "torch.no_grad",
        "torch.inference_mode",
        "torch.jit.script",
        "torch.jit.ignore",
        "torch.jit.unused",
        "numba.njit",
        "numba.jit",
    }
)

Binding = tuple[str, str]  # ("import", "numpy") | ("builtin", "len") | ("statement", dump) | ("self", name)


@dataclass(frozen=True)
class FreeName:
    name: str
    binding: Binding
    import_code: str = ""  # for an import: the statement that binds it, absolute
    line: int = 0  # of its binding in the file


@dataclass(frozen=True)
class Definition:
    path: str
    line: int
    code: str  # the definition as written: leading comments, decorators, def and body
    normalized: str  # ast.dump of the normalized tree: equal iff the definitions are the same
    shown: str  # the normalized tree as code (ast.unparse), for diffs
    decorators: tuple[str, ...]
    decorator_names: tuple[frozenset[str], ...]  # qualified names each decorator may be
    free: tuple[FreeName, ...]
    problem: str = ""  # why it cannot live in another module, or ""


@dataclass(frozen=True)
class FileFacts:
    path: str
    module: str
    definition: Definition | None = None
    imported_from: str = ""  # the name is bound only by ``from M import name``: M (absolute)
    problem: tuple[int, str] | None = None  # (line, why this file cannot take part)
    bindings: dict[str, Binding] = field(default_factory=dict)  # module-level names (one binding each)
    binding_lines: dict[str, int] = field(default_factory=dict)
    imported_modules: frozenset[str] = frozenset()  # modules the file imports at module level


def absolute_module(relative_to: str, level: int, module: str, is_package: bool) -> str:
    """``from ..x import y`` in ``relative_to`` -> the absolute module of ``..x``."""
    if level == 0:
        return module
    parts = relative_to.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def normalize(code: str) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[str]]:
    """The normalized tree of a definition's code and its decorators as code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(code)
    assert isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef)
    return normalize_node(tree.body[0])


def normalize_node(
    definition: ast.FunctionDef | ast.AsyncFunctionDef,
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[str]]:
    """:func:`normalize` of a definition already parsed (a copy; ``definition`` is kept)."""
    node = copy.deepcopy(definition)
    decorators = [ast.unparse(_strip(d)) for d in node.decorator_list]
    node.decorator_list = []
    _strip(node)
    return node, decorators


def _strip(root: ast.AST) -> ast.AST:
    for node in ast.walk(root):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            first = body[0] if body else None
            value = first.value if isinstance(first, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                node.body = body[1:] or [ast.Pass()]
        if isinstance(node, ast.Constant):
            node.kind = None
        if hasattr(node, "type_comment"):
            node.type_comment = None
    return root


def normalized_diff(first: Definition, second: Definition) -> str:
    """A unified diff of two definitions' normalized forms, headed by file and line."""
    lines = difflib.unified_diff(
        [*(f"@{d}" for d in first.decorators), *first.shown.splitlines()],
        [*(f"@{d}" for d in second.decorators), *second.shown.splitlines()],
        f"{first.path}:{first.line} (normalized)",
        f"{second.path}:{second.line} (normalized)",
        lineterm="",
    )
    return "\n".join(lines)


class _Reader:
    """One file's module-level bindings, read through LibCST's scope metadata."""

    def __init__(self, path: str, module: str, source: bytes) -> None:
        self.path, self.module = path, module
        self.is_package = path.endswith("__init__.py")
        self.tree = cst.parse_module(source)
        self.wrapper = MetadataWrapper(self.tree, unsafe_skip_copy=True)
        self.scopes = self.wrapper.resolve(ScopeProvider)
        self.positions = self.wrapper.resolve(PositionProvider)
        found = [s for s in self.scopes.values() if isinstance(s, GlobalScope)]
        self.globals: GlobalScope | None = found[0] if found else None

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def statement_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        line = self.line(node)
        for statement in self.tree.body:
            position = self.positions[statement]
            if position.start.line <= line <= position.end.line:
                return statement
        return None

    def binding(self, name: str, assignment: Assignment | ImportAssignment) -> tuple[Binding, str]:
        """What ``name`` is bound to by ``assignment``, and the absolute import binding it."""
        node = assignment.node
        if isinstance(assignment, ImportAssignment) and isinstance(node, cst.Import | cst.ImportFrom):
            for alias in node.names if not isinstance(node.names, cst.ImportStar) else ():
                bound = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
                if bound != name:
                    continue
                if isinstance(node, cst.Import):
                    target = alias.evaluated_name if alias.asname else bound
                    code = f"import {alias.evaluated_name}" + (f" as {name}" if alias.asname else "")
                    return ("import", target), code
                level = len(node.relative)
                dotted = cst.Module(body=[]).code_for_node(node.module) if node.module else ""
                origin = absolute_module(self.module, level, dotted, self.is_package)
                as_part = f" as {name}" if alias.asname else ""
                return ("import", f"{origin}.{alias.evaluated_name}"), (
                    f"from {origin} import {alias.evaluated_name}{as_part}"
                )
            return ("star-import", name), ""
        statement = self.statement_of(node)
        if statement is None:
            return ("unknown", name), ""
        code = self.tree.code_for_node(statement)
        try:
            return ("statement", ast.dump(_strip(ast.parse(code.strip())))), ""
        except SyntaxError:
            return ("unknown", name), ""

    def module_bindings(self) -> tuple[dict[str, Binding], dict[str, int], dict[str, str]]:
        bindings: dict[str, Binding] = {}
        lines: dict[str, int] = {}
        imports: dict[str, str] = {}
        if self.globals is None:
            return bindings, lines, imports
        names = {a.name for a in self.globals.assignments}
        for name in names:
            assigned = [a for a in self.globals.assignments[name] if isinstance(a, Assignment)]
            if not assigned:
                continue
            lines[name] = self.line(assigned[0].node)
            if len(assigned) > 1:
                bindings[name] = ("several", ", ".join(str(self.line(a.node)) for a in assigned))
                continue
            bindings[name], imports[name] = self.binding(name, assigned[0])
        return bindings, lines, imports

    def imported_modules(self) -> frozenset[str]:
        """Modules imported outside functions (what importing this module imports)."""
        found: set[str] = set()
        for node in m.findall(self.tree, m.Import() | m.ImportFrom()):
            if not isinstance(self.scopes.get(node), GlobalScope | ClassScope):
                continue  # inside a function: runs when called, not on import
            if isinstance(node, cst.Import):
                found.update(a.evaluated_name for a in node.names)
            elif isinstance(node, cst.ImportFrom):
                dotted = cst.Module(body=[]).code_for_node(node.module) if node.module else ""
                origin = absolute_module(self.module, len(node.relative), dotted, self.is_package)
                found.add(origin)
                if not isinstance(node.names, cst.ImportStar):
                    found.update(f"{origin}.{a.evaluated_name}" for a in node.names)
        return frozenset(found)


def file_facts(path: str, module: str, source: bytes, name: str) -> FileFacts:
    """How the file at ``path`` (module ``module``) binds ``name``, and its definition."""
    try:
        reader = _Reader(path, module, source)
    except cst.ParserSyntaxError as err:
        return FileFacts(path, module, problem=(err.raw_line, f"does not parse: {err.message}"))
    bindings, lines, imports = reader.module_bindings()
    facts = FileFacts(
        path, module, bindings=bindings, binding_lines=lines, imported_modules=reader.imported_modules()
    )
    top = [s for s in reader.tree.body if isinstance(s, cst.FunctionDef) and s.name.value == name]
    everywhere = m.findall(reader.tree, m.FunctionDef(name=m.Name(name)))
    assigned = (
        [a for a in reader.globals.assignments[name] if isinstance(a, Assignment)] if reader.globals else []
    )
    if len(assigned) > 1:
        shown = ", ".join(str(reader.line(a.node)) for a in assigned)
        return _with(
            facts,
            problem=(
                reader.line(assigned[-1].node),
                f"{name} is bound more than once"
                f" at module level (lines {shown}): which one is meant is not certain",
            ),
        )
    if not assigned:
        if everywhere:
            line = reader.line(everywhere[0])
            return _with(
                facts,
                problem=(
                    line,
                    f"defines {name} only inside a class or function (line"
                    f" {line}); only module-level functions are consolidated",
                ),
            )
        return _with(facts, problem=(1, f"does not define {name}"))
    only = assigned[0]
    if isinstance(only, ImportAssignment):
        binding, _ = reader.binding(name, only)
        if binding[0] == "import" and binding[1].rsplit(".", 1)[-1] == name:
            return _with(facts, imported_from=binding[1].rsplit(".", 1)[0])
        return _with(facts, problem=(reader.line(only.node), f"binds {name} by an import of {binding[1]}"))
    if not top:
        line = reader.line(only.node)
        return _with(
            facts,
            problem=(
                line,
                f"{name} is bound at line {line} by something other than a"
                " module-level def (a conditional or nested definition, or an"
                " assignment)",
            ),
        )
    return _with(facts, definition=_definition(reader, top[0], name, bindings, imports))


def _with(facts: FileFacts, **changes: object) -> FileFacts:
    from dataclasses import replace

    return replace(facts, **changes)  # type: ignore[arg-type]


def _definition(
    reader: _Reader,
    node: cst.FunctionDef,
    name: str,
    bindings: dict[str, Binding],
    imports: dict[str, str],
) -> Definition:
    code = reader.tree.code_for_node(node)
    stripped = code.lstrip("\r\n")
    tree, decorators = normalize(code)
    problem = ""
    free: dict[str, FreeName] = {}
    inside = {id(n) for n in m.findall(node, m.Name() | m.Attribute())}
    if m.findall(node, m.Global() | m.Nonlocal()):
        problem = "it has a `global` statement: it writes its own module's variables"
    for scope in set(reader.scopes.values()):
        if scope is None:
            continue
        for access in scope.accesses:
            if id(access.node) not in inside:
                continue
            for referent in access.referents:
                label = referent.name
                if isinstance(referent, BuiltinAssignment):
                    if label in MODULE_DUNDERS or label in MODULE_READERS:
                        problem = problem or f"it reads `{label}`, which depends on the module it is in"
                    free.setdefault(label, FreeName(label, ("builtin", label)))
                elif isinstance(referent, Assignment) and isinstance(referent.scope, GlobalScope):
                    if label == name:
                        free[label] = FreeName(label, ("self", name))
                        continue
                    binding = bindings.get(label, ("unknown", label))
                    free[label] = FreeName(label, binding, imports.get(label, ""), reader.line(referent.node))
            if not access.referents:
                label = cst.Module(body=[]).code_for_node(access.node).split(".")[0]
                if not hasattr(builtins, label):
                    problem = problem or f"it reads `{label}`, which is not defined in {reader.path}"
    decorator_names = tuple(frozenset(_decorator_names(d.decorator, free)) for d in node.decorators)
    return Definition(
        path=reader.path,
        line=reader.line(node),
        code=stripped,
        normalized=ast.dump(tree),
        shown=ast.unparse(tree),
        decorators=tuple(decorators),
        decorator_names=decorator_names,
        free=tuple(sorted(free.values(), key=lambda f: f.name)),
        problem=problem,
    )


def _decorator_names(expression: cst.BaseExpression, free: dict[str, FreeName]) -> set[str]:
    """``@torch.no_grad()`` -> {"torch.no_grad"}, through the import that binds ``torch``."""
    if isinstance(expression, cst.Call):
        expression = expression.func
    dotted = cst.Module(body=[]).code_for_node(expression)
    head, _, rest = dotted.partition(".")
    bound = free.get(head)
    if bound is None or bound.binding[0] != "import":
        return {dotted}
    return {f"{bound.binding[1]}.{rest}" if rest else bound.binding[1]}
