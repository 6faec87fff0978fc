"""Cheap, conservative pre-checks in front of each codemod's LibCST analysis.

LibCST with scope and qualified-name metadata costs up to seconds on a big file; most files
that hold a codemod's needle hold nothing it would rewrite. Two stages sit between the
needles and LibCST, cheapest first:

1. ``shape``: compiled byte regular expressions that every rewritable (or reportable) place
   needs somewhere in the file's text, comments and line breaks allowed where Python allows
   them;
2. ``structure``: the standard library's ``ast`` (one parse shared by every codemod of the
   file, about ten times cheaper than LibCST with metadata) looking for the pattern's shape.

Each stage may only answer False for a file where the full analysis reports neither a change
nor a skip: it checks necessary conditions of the codemod's own matching code, never
sufficient ones. A file ``ast`` cannot parse goes to LibCST unfiltered (LibCST reports why,
or accepts syntax this Python's ``ast`` does not know). Keyed by codemod NAME; a codemod
without an entry here lets every file through. ``tests/test_prefilters.py`` proves the
outcomes identical with and without these stages on every fixture case and an injected
corpus.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

# Whitespace between tokens: line breaks (inside brackets), continuations, comments.
_COMMENT = rb"#[^\n]*(?![^\n])"  # always to the end of its line: one way to match, no backtracking
_WS = rb"(?:[\s\\]|" + _COMMENT + rb")*"
# Like _WS, plus the parentheses that may wrap an operand.
_WSP = rb"(?:[\s\\()]|" + _COMMENT + rb")*"
# Any number literal (a superset of the ones equal to 1: 1, 1., 1.0, 1e0, 0x1, 10e-1, ...).
_NUMBER = rb"(?<![\w.])(?:\d|\.\d)[\w.]*(?:(?<=[eE])[+-][\w.]*)?"


@dataclass(frozen=True)
class Prefilter:
    """The two stages of one codemod, both built from its resolved options."""

    shape: Callable[[bytes, Mapping[str, object]], bool]
    structure: Callable[[ast.Module, Mapping[str, object]], bool]


def _always(*_: object) -> bool:
    return True


PASS_THROUGH = Prefilter(_always, _always)


def _aliases_of(tree: ast.Module, name: str) -> set[str]:
    """``name`` and every name an import binds to something whose last part is ``name``."""
    found = {name}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.asname and alias.name.rsplit(".", 1)[-1] == name:
                    found.add(alias.asname)
    return found


# -- reciprocal-exp-to-sigmoid ----------------------------------------------------------
# The codemod acts (rewrites or skips) only where `_shape` matches, i.e. `1 / (1 + E)`,
# `(1 + E).reciprocal(...)` or `f(1 + E, ...)` (either order of the sum), and only when
# the call E's function has the qualified name torch.exp: `exp` or a name an import binds
# to `...exp` (`from torch import exp as e`), or `X.exp` with X `torch` or a name bound by
# `import torch as X`.
_EXP_ALIAS = re.compile(rb"exp" + _WS + rb"as" + _WS + rb"(\w+)")
_TORCH_ALIAS = re.compile(rb"torch" + _WS + rb"as" + _WS + rb"(\w+)")
_CALL_OPEN = re.compile(rb"(?:[\s\\)]|" + _COMMENT + rb")*\(")
_NUMBER_AT = re.compile(_NUMBER)
_SIMPLE_NUMBER = re.compile(rb"\d+(?:\.\d*)?|\.\d+")
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_BLANK = frozenset(b" \t\\\r\n\f")
_SCAN_LIMIT = 20_000  # bytes of call arguments scanned before giving up (and saying yes)


def _back(source: bytes, index: int, skip: frozenset[int]) -> tuple[int, bool]:
    """The last position before ``index`` not in ``skip``, and whether a line break was passed
    (in text that may hold comments, one may then hide there: the caller must answer yes)."""
    crossed = False
    while index > 0 and source[index - 1] in skip:
        index -= 1
        crossed = crossed or source[index] in b"\r\n"
    return index - 1, crossed


def _could_be_one(token: bytes) -> bool:
    """False only for a number literal that is certainly not equal to 1."""
    if _SIMPLE_NUMBER.fullmatch(token):
        return float(token) == 1
    return True  # exponents, hex, underscores, imaginary: let the parser decide


def _one_before(source: bytes, start: int, comments: bool) -> bool:
    """Could the expression starting at ``start`` be the right operand of ``1 + ...``?"""
    at, crossed = _back(source, start, _BLANK | {ord("(")})
    if (crossed and comments) or at < 0:
        return crossed and comments
    if source[at] != ord("+"):
        return False
    at, crossed = _back(source, at, _BLANK | {ord("("), ord(")")})
    if crossed and comments:
        return True
    end = at + 1
    while at >= 0 and (source[at] in _WORD or source[at] == ord(".")):
        at -= 1
    token = source[at + 1 : end]
    if at >= 0 and source[at] in b"+-" and at > 0 and source[at - 1] in b"eE":
        return True  # `1e+0`: a signed exponent; the parser decides
    return bool(_NUMBER_AT.fullmatch(token)) and _could_be_one(token)


def _one_after(source: bytes, open_paren: int, comments: bool) -> bool:
    """Could the call whose arguments open at ``open_paren`` be followed by ``+ 1``?"""
    depth, at, end = 0, open_paren, min(len(source), open_paren + _SCAN_LIMIT)
    while at < end:
        char = source[at]
        if char in b"\"'#":
            return True  # strings (f-strings are kept) may hold parentheses: the parser decides
        if char == ord("("):
            depth += 1
        elif char == ord(")"):
            depth -= 1
            if depth == 0:
                break
        at += 1
    else:
        return True
    at += 1
    while at < len(source) and (source[at] in _BLANK or source[at] == ord(")")):
        if comments and source[at] in b"\r\n":
            return True  # a comment may follow on the next line
        at += 1
    if at >= len(source) or source[at] != ord("+"):
        return at < len(source) and source[at] == ord("#")
    at += 1
    while at < len(source) and (source[at] in _BLANK or source[at] == ord("(")):
        if comments and source[at] in b"\r\n":
            return True
        at += 1
    number = _NUMBER_AT.match(source, at)
    return number is not None and _could_be_one(number.group())


# Python's strings and comments, leftmost first (as the tokenizer meets them). Starting
# with a quote or `#` lets the regular expression engine skip to those characters fast;
# a string's prefix (r, b, f...) is read back from the text before it.
_STRING_OR_COMMENT = re.compile(
    rb"#[^\n]*"
    rb'|"""[^\\"]*(?:(?:\\.|"(?!""))[^\\"]*)*"""'
    rb"|'''[^\\']*(?:(?:\\.|'(?!''))[^\\']*)*'''"
    rb'|"[^\\"\n]*(?:\\.[^\\"\n]*)*"'
    rb"|'[^\\'\n]*(?:\\.[^\\'\n]*)*'",
    re.S,
)
_PREFIX_LETTERS = frozenset(b"rRbBuUfF")
_HASH = ord("#")


def _code_only(source: bytes) -> bytes | None:
    """``source`` with comments removed and plain string literals replaced by ``_``;
    f-strings (which hold code) stay. None when the text may not lex as assumed
    (an f-string with unbalanced braces: Python 3.12 lets one nest the same quotes)."""
    unsure = False

    def blank(match: re.Match[bytes]) -> bytes:
        nonlocal unsure
        start = match.start()
        if source[start] == _HASH:
            return b""
        if source[start - 1] not in _PREFIX_LETTERS:
            return b"_"
        text = match.group()
        prefix = start
        while prefix > 0 and start - prefix < 2 and source[prefix - 1] in _PREFIX_LETTERS:
            prefix -= 1
        if prefix > 0 and source[prefix - 1] in _WORD:
            prefix = start  # the letters end a name (`elif"x"`): no prefix
        if b"f" not in source[prefix:start].lower():
            return b"_"
        body = text.replace(b"{{", b"").replace(b"}}", b"")
        depth = 0
        for char in body:
            depth += (char == ord("{")) - (char == ord("}"))
            unsure = unsure or depth < 0
        unsure = unsure or depth != 0
        return text

    stripped = _STRING_OR_COMMENT.sub(blank, source)
    return None if unsure else stripped


def _sigmoid_shape(source: bytes, options: Mapping[str, object]) -> bool:
    """Is there a call of torch.exp (by any of its spellings) in a sum with a literal 1?

    First on the raw text (where a comment may hide anywhere a line breaks), then, for a
    file that passes, on its code alone (docstrings quote the formula often)."""
    if not _exp_in_sum(source, comments=True):
        return False
    code = _code_only(source)
    return code is None or _exp_in_sum(code, comments=False)


def _exp_in_sum(source: bytes, *, comments: bool) -> bool:
    exp_names = {b"exp", *(m.group(1) for m in _EXP_ALIAS.finditer(source))}
    torch_names = {b"torch", *(m.group(1) for m in _TORCH_ALIAS.finditer(source))}
    for name in exp_names:
        at = source.find(name)
        while at != -1:
            index, at = at, source.find(name, at + 1)
            after = index + len(name)
            if (index and source[index - 1] in _WORD) or (after < len(source) and source[after] in _WORD):
                continue
            call = _CALL_OPEN.match(source, after)
            if call is None:
                continue
            dot, crossed = _back(source, index, _BLANK)
            start = index
            if dot >= 0 and source[dot] == ord("."):
                if name != b"exp":
                    continue  # `x.e` is never torch.exp
                owner_end, crossed_owner = _back(source, dot, _BLANK | {ord(")")})
                owner_start = owner_end
                while owner_start >= 0 and source[owner_start] in _WORD:
                    owner_start -= 1
                owner = source[owner_start + 1 : owner_end + 1]
                if not ((comments and (crossed or crossed_owner)) or owner in torch_names):
                    continue
                start = owner_start + 1
            if _one_before(source, start, comments) or _one_after(source, call.end() - 1, comments):
                return True
    return False


def _is_one(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float, complex) and node.value == 1


def _is_exp(func: ast.expr, exp_names: set[str], torch_names: set[str]) -> bool:
    """``func`` may have the qualified name torch.exp (see the comment above _EXP_ALIAS)."""
    if isinstance(func, ast.Name):
        return func.id in exp_names
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "exp"
        and isinstance(func.value, ast.Name)
        and func.value.id in torch_names
    )


def _exp_call_in_sum(node: ast.expr, exp_names: set[str], torch_names: set[str]) -> bool:
    """``1 + E`` or ``E + 1`` with E a call of a function that may be torch.exp."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)):
        return False
    if _is_one(node.left):
        other = node.right
    elif _is_one(node.right):
        other = node.left
    else:
        return False
    return isinstance(other, ast.Call) and _is_exp(other.func, exp_names, torch_names)


def _sigmoid_structure(tree: ast.Module, options: Mapping[str, object]) -> bool:
    exp_names = _aliases_of(tree, "exp")
    torch_names = {"torch"} | {
        a.asname
        for n in ast.walk(tree)
        if isinstance(n, ast.Import)
        for a in n.names
        if a.name == "torch" and a.asname
    }

    def in_sum(node: ast.expr) -> bool:
        return _exp_call_in_sum(node, exp_names, torch_names)

    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Div) and _is_one(node.left) and in_sum(node.right):
                return True
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and in_sum(func.value):
                return True  # (1 + exp(z)).reciprocal(...)
            # torch.reciprocal(1 + exp(z)): LibCST's first argument may be a keyword or *arg.
            arguments = [a.value if isinstance(a, ast.Starred) else a for a in node.args]
            arguments += [k.value for k in node.keywords]
            if any(in_sum(a) for a in arguments):
                return True
    return False


# -- remove-detach-cpu ------------------------------------------------------------------
# The codemod acts only on a `.detach().cpu()` / `.cpu().detach()` pair (the detach call
# without arguments) inside a method named by the `method` option that is defined in a
# class body (or in a function nested in such a method).
_DETACH_THEN_CPU = re.compile(rb"detach" + _WSP + rb"\(" + _WS + rb"\)" + _WSP + rb"\." + _WS + rb"cpu\b")
_CPU_THEN_DETACH = re.compile(rb"\)" + _WSP + rb"\." + _WS + rb"detach" + _WSP + rb"\(" + _WS + rb"\)")
_CPU = re.compile(rb"\bcpu\b")


def _detach_shape(source: bytes, options: Mapping[str, object]) -> bool:
    method = str(options.get("method", "validation_step"))
    if method.encode() not in source or not re.search(
        rb"def" + _WS + re.escape(method.encode()) + rb"\b", source
    ):
        return False
    if _DETACH_THEN_CPU.search(source):
        return True
    return bool(_CPU.search(source)) and bool(_CPU_THEN_DETACH.search(source))


def _is_pair(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    inner = node.func.value
    if not (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute)):
        return False
    order = (node.func.attr, inner.func.attr)
    if order == ("cpu", "detach"):
        detach = inner
    elif order == ("detach", "cpu"):
        detach = node
    else:
        return False
    return not detach.args and not detach.keywords


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _methods_named(tree: ast.Module, method: str) -> Iterable[ast.AST]:
    """Functions named ``method`` whose nearest enclosing def or class is a class."""

    def visit(node: ast.AST, in_class: bool) -> Iterable[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if (
                isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                and child.name == method
                and in_class
            ):
                yield child
            if isinstance(child, _SCOPES):
                yield from visit(child, isinstance(child, ast.ClassDef))
            else:
                yield from visit(child, in_class)

    return visit(tree, False)


def _detach_structure(tree: ast.Module, options: Mapping[str, object]) -> bool:
    method = str(options.get("method", "validation_step"))
    return any(_is_pair(node) for found in _methods_named(tree, method) for node in ast.walk(found))


# -- lazy-import ------------------------------------------------------------------------
# The codemod resolves metadata (and so can change or skip anything) only for a file with
# an import of the module (`import m`, `import m.sub`, `from m[.sub] import ...`, not
# relative) outside every function.


def _dotted(module: str) -> bytes:
    return _WS.join(re.escape(part.encode()) for part in module.split("."))


def _lazy_shape(source: bytes, options: Mapping[str, object]) -> bool:
    module = str(options.get("module", "wandb"))
    # `import a, m`, `import a as b, m.sub`, `from m import x`: the name after `import`
    # or after a comma of an import list, or after `from`.
    pattern = rb"\b(?:import|from)" + _WS + rb"(?:[\w.]+" + _WS + rb"(?:as" + _WS + rb"\w+" + _WS + rb")?,"
    pattern += _WS + rb")*" + _dotted(module) + rb"(?![\w])"
    return bool(re.search(pattern, source))


def _lazy_structure(tree: ast.Module, options: Mapping[str, object]) -> bool:
    module = str(options.get("module", "wandb"))

    def matches(dotted: str | None) -> bool:
        return dotted is not None and (dotted == module or dotted.startswith(module + "."))

    def visit(node: ast.AST) -> bool:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import) and any(matches(a.name) for a in child.names):
                return True
            if isinstance(child, ast.ImportFrom) and not child.level and matches(child.module):
                return True
            # Statements, except handlers and match cases hold statements; expressions never do.
            if not isinstance(child, (ast.expr, ast.FunctionDef, ast.AsyncFunctionDef)) and visit(child):
                return True
        return False

    return visit(tree)


PREFILTERS: dict[str, Prefilter] = {
    "reciprocal-exp-to-sigmoid": Prefilter(_sigmoid_shape, _sigmoid_structure),
    "remove-detach-cpu": Prefilter(_detach_shape, _detach_structure),
    "lazy-import": Prefilter(_lazy_shape, _lazy_structure),
}


def prefilter_for(name: str) -> Prefilter:
    """The pre-checks of the codemod called ``name``; every file passes for an unknown one."""
    return PREFILTERS.get(name, PASS_THROUGH)
