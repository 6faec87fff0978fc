"""References gate: nothing in the repo still refers to a path a task removed.

Each kind of file is read by its structure, not grepped as a whole:

* Python: import statements (``ast``), relative imports resolved against the
  file's package, naming the removed module or anything inside it; and string
  literals that hold the path (``"scripts/debug_cuda.sh"``) or the dotted
  module name (``importlib.import_module("ocr.old")``);
* YAML: scalar values (and keys) that hold the path, each with its own line;
* Markdown: link targets, resolved against the document's folder
  (``[debug](../scripts/debug_cuda.sh)`` from ``docs/``), and repo-relative
  paths written in the text;
* shell, TOML, INI, JSON and text files: lines that hold the repo-relative path.

A path "holds" another when it appears bounded by non-path characters: a
removed ``scripts/debug_cuda.sh`` is not found in ``scripts/debug_cuda.sh.bak``
nor ``myscripts/debug_cuda.sh``. Folders match everything below them; globs
(``.backup/scripts-backup-*/``) match like the shell.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

import yaml

from runner.fsutil import module_for
from runner.gates import GateResult
from runner.records import datarecord

TEXT_SUFFIXES = (".sh", ".bash", ".toml", ".cfg", ".ini", ".json", ".txt", ".rst", ".env")
_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^)]*)?\)|\bhref=[\"']([^\"']+)[\"']")
_PATH_CHARS = r"[\w.\-/]"


@datarecord(frozen=True)
class Referrer:
    file: str
    line: int
    how: str  # "import", "string", "config value", "link", "path"

    def __str__(self) -> str:
        return f"{self.file}:{self.line} ({self.how})"


@datarecord(frozen=True)
class RemovedPath:
    """A removed file, folder or glob, and the ways code can name it."""

    path: str  # repo-relative, no trailing slash
    pattern: re.Pattern[str]  # the path inside a longer text
    whole: re.Pattern[str]  # a whole repo-relative path that is the removed one or below it
    module: str | None  # dotted module name, for .py files and packages

    @classmethod
    def of(cls, path: str) -> RemovedPath:
        clean = posixpath.normpath(path.strip().removeprefix("./")).rstrip("/")
        body = "".join(
            r"[^/\s'\"`]*" if ch == "*" else r"[^/\s'\"`]" if ch == "?" else re.escape(ch) for ch in clean
        )
        pattern = re.compile(rf"(?<!{_PATH_CHARS})(?:\./)?{body}(?:/{_PATH_CHARS}*)?(?!{_PATH_CHARS})")
        whole = re.compile(rf"{body}(?:/.*)?")
        module = None
        if not any(ch in clean for ch in "*?["):
            module = module_for(clean) or module_for(clean + "/__init__.py")
        return cls(clean, pattern, whole, module)

    def names_module(self, module: str) -> bool:
        return self.module is not None and (module == self.module or module.startswith(self.module + "."))

    def in_text(self, text: str) -> bool:
        if self.pattern.search(text):
            return True
        if self.module is None or "." not in self.module:
            return False
        found = re.search(rf"(?<![\w.]){re.escape(self.module)}(?![\w])", text)
        return found is not None


def find_references(
    files: Iterable[str], read: Callable[[str], bytes | None], removed: list[str]
) -> dict[str, list[Referrer]]:
    """For each removed path, where ``files`` (repo-relative) still refer to it."""
    targets = [RemovedPath.of(p) for p in removed]
    found: dict[str, list[Referrer]] = {t.path: [] for t in targets}
    for name in files:
        live = [t for t in targets if not t.whole.fullmatch(name)]  # a removed file's own text
        if not live or not name.endswith((".py", ".yaml", ".yml", ".md", *TEXT_SUFFIXES)):
            continue
        data = read(name)
        if data is None:
            continue
        text = data.decode("utf-8", "replace")
        # Cheap filter: the last path component (or module part) must appear at all.
        live = [t for t in live if _needle(t) in text]
        for target in live:
            found[target.path] += _scan(name, text, target)
    return found


def _needle(target: RemovedPath) -> str:
    last = re.split(r"[*?\[]", target.path.rsplit("/", 1)[-1])[0]
    return PurePosixPath(last).stem or last


def _scan(name: str, text: str, target: RemovedPath) -> list[Referrer]:
    if name.endswith(".py"):
        return _python(name, text, target)
    if name.endswith((".yaml", ".yml")):
        return _yaml(name, text, target)
    if name.endswith(".md"):
        return _markdown(name, text, target)
    return [Referrer(name, n, "path") for n, line in enumerate(text.splitlines(), 1) if target.in_text(line)]


def _python(name: str, text: str, target: RemovedPath) -> list[Referrer]:
    try:
        tree = ast.parse(text, name)
    except (SyntaxError, ValueError):
        return [Referrer(name, n, "path") for n, ln in enumerate(text.splitlines(), 1) if target.in_text(ln)]
    module = module_for(name) or ""
    package = module if name.endswith("__init__.py") else module.rpartition(".")[0]
    found: list[Referrer] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(target.names_module(alias.name) for alias in node.names):
                found.append(Referrer(name, node.lineno, "import"))
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package or "")
            names = [base] + [f"{base}.{alias.name}".lstrip(".") for alias in node.names if alias.name != "*"]
            if any(target.names_module(n) for n in names if n):
                found.append(Referrer(name, node.lineno, "import"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and target.in_text(node.value):
            found.append(Referrer(name, node.lineno, "string"))
    return sorted(set(found), key=lambda r: r.line)


def _absolute(module: str | None, level: int, package: str) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".") if package else []
    base = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    return ".".join([*base, *([module] if module else [])])


def _yaml(name: str, text: str, target: RemovedPath) -> list[Referrer]:
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return [Referrer(name, n, "path") for n, ln in enumerate(text.splitlines(), 1) if target.in_text(ln)]
    found: list[Referrer] = []
    stack: list[yaml.Node] = [d for d in documents if d is not None]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:  # an alias points at a node already visited
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if isinstance(node.value, str) and target.in_text(node.value):
                found.append(Referrer(name, node.start_mark.line + 1, "config value"))
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += [key, value]
    return sorted(set(found), key=lambda r: r.line)


def _markdown(name: str, text: str, target: RemovedPath) -> list[Referrer]:
    folder = posixpath.dirname(name)
    found: list[Referrer] = []
    for number, line in enumerate(text.splitlines(), 1):
        linked = False
        for match in _LINK.finditer(line):
            link = (match.group(1) or match.group(2) or "").split("#", 1)[0]
            if not link or re.match(r"^[a-z][a-z0-9+.-]*:", link, re.I):  # http:, mailto:
                continue
            resolved = posixpath.normpath(
                link.lstrip("/") if link.startswith("/") else posixpath.join(folder, link)
            )
            if target.whole.fullmatch(resolved):
                found.append(Referrer(name, number, "link"))
                linked = True
        if not linked and target.in_text(line):
            found.append(Referrer(name, number, "path"))
    return found


def check_references(
    files: Iterable[str], read: Callable[[str], bytes | None], removed: list[str]
) -> list[GateResult]:
    checked = list(files)
    results = []
    for path, referrers in find_references(checked, read, removed).items():
        if referrers:
            shown = ", ".join(str(r) for r in referrers)
            results.append(GateResult("references", path, "failed", f"still referred to by {shown}"))
        else:
            results.append(
                GateResult("references", path, "passed", f"nothing refers to it ({len(checked)} files)")
            )
    return results
