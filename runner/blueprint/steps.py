"""The step grammar: what a ``- [ ]`` step asks for, decided from its text alone.

A step is one of:

* a **gate** the runner checks with built-in code (never a shell):
  - ``python -m py_compile F``                         -> syntax gate on F
  - ``python -c "from M import N"`` / ``"import M"``   -> import gate
  - ``python -c "import yaml; yaml.safe_load(open('F'))"`` -> YAML gate on F
  - "Verify no `A` + `B` pattern remains"              -> pattern-absent gate (a call
    to A whose arguments hold a call to B)
  - "Check for any remaining `A(... B(...) ...)` patterns" -> the same, from code
  - "Verify `Q` is called in `F`"                      -> pattern-present gate
  - "Verify `Q` is not called in `F`[, `F` and `F`]"   -> pattern-absent gate (any call to Q)
  - "Verify `F` defines `NAME`" / "Verify `F` exists"  -> symbol gates
* a **codemod**: "Apply `NAME` to `PATH`[, `PATH` and `PATH`] [with `k=v`, `k=v`]
  [(expect N changes)]";
* a **config edit**: "Set `key.path` to `value` in `F.yaml`", or
  "Merge into `F.yaml`:" (or `F.toml`) with one block under the step, or
  "Remove `A`[, `B` and `C`] from `key.path` in `F.toml`" (array items);
* a **file step**: "Create `PATH`:" with one block (the file's content),
  "Move `OLD` to `NEW`", "Archive `P`[, `P` and `P`] to `A.tar.gz` and remove them";
* more gates: "Verify nothing refers to `PATH`" (references), "Verify config
  references resolve in `configs/`" (Hydra defaults and interpolations), "Verify
  importing `M` takes at most N% of its time before" (import time);
* a **code-block edit**, with fenced blocks indented under the step:
  - "Replace in `PATH`[ within `SCOPE`][, every occurrence][ (around line N)]:" + find + replacement
  - "Insert into `PATH` WHERE[ (around line N)]:" + block, WHERE one of: after the imports,
    after `CODE`, before `CODE`, before the comment `TEXT`, at the start of `SCOPE`,
    at the end of `SCOPE`, into class `NAME`
  - "Insert the lines marked `# ADD THIS LINE` into `PATH`[ within `SCOPE`][ (around line N)]:" + block
* anything else: a **manual** step for a person or an agent.

This module knows nothing of which codemods exist; the loop checks names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from runner.blueprint.model import CodeBlock
from runner.blueprint.phrases import LazyPattern, phrase
from runner.records import datarecord, field

if TYPE_CHECKING:
    import ast

Kind = Literal["gate", "codemod", "config", "file", "code", "manual"]
GateName = Literal[
    "syntax",
    "imports",
    "yaml",
    "pattern-absent",
    "pattern-present",
    "references",
    "config-references",
    "import-time",
    "defines",
    "exists",
]

_PY = r"python(?:3(?:\.\d+)?)?"
_COMPILE = LazyPattern(rf"`{_PY}\s+-m\s+py_compile\s+([^`]+)`")
_YAML = LazyPattern(
    rf"""`{_PY}\s+-c\s+(["'])import\s+yaml;\s*yaml\.safe_load\(open\((["'])([^"'`]+)\2\)\)\1`"""
)
_FROM_IMPORT = LazyPattern(rf"""`{_PY}\s+-c\s+(["'])from\s+([\w.]+)\s+import\s+([\w ,]+?)\s*\1`""")
_IMPORT = LazyPattern(rf"""`{_PY}\s+-c\s+(["'])import\s+([\w.]+(?:\s*,\s*[\w.]+)*)\s*\1`""")
_PAIR_ABSENT = LazyPattern(r"\bno\s+`([\w.]+)`\s*\+\s*`([\w.]+)`\s+pattern", re.IGNORECASE)
_CODE_ABSENT = LazyPattern(r"\bany\s+remaining\s+`([^`]+)`\s+pattern", re.IGNORECASE)
_PRESENT = phrase("verify", r"^Verify\s+`([\w.]+)`\s+is\s+called\s+in\s+(.+?)\s*$", needs="called")
_NOT_CALLED = phrase(
    "verify", r"^Verify\s+`([\w.]+)`\s+is\s+not\s+called\s+in\s+(.+?)\s*$", needs="not called"
)
_CODEMOD = phrase(
    "apply",
    r"^Apply\s+`(?P<name>[a-z0-9][a-z0-9-]*)`\s+to\s+(?P<targets>`[^`]+`(?:\s*(?:,|and|,\s*and)\s*`[^`]+`)*)"
    r"(?:\s+with\s+(?P<options>`[^`]+`(?:\s*(?:,|and|,\s*and)\s*`[^`]+`)*))?"
    r"(?:\s*\(expect\s+(?P<expect>\d+)\s+changes?\))?\s*\.?\s*$",
)
_CONFIG_SET = phrase(
    "set",
    r"^Set\s+`(?P<key>[^`]+)`\s+to\s+`(?P<value>[^`]*)`\s+in\s+`(?P<file>[^`]+)`\s*\.?\s*$",
)
_BACKTICKED = re.compile(r"`([^`]+)`")
_PATHS = r"`[^`]+`(?:\s*(?:,|and|,\s*and)\s*`[^`]+`)*"
_CREATE = phrase("create", r"^Create\s+`(?P<path>[^`]+)`\s*:\s*$")
_MOVE = phrase("move rename", r"^(?:Move|Rename)\s+`(?P<old>[^`]+)`\s+to\s+`(?P<new>[^`]+)`\s*\.?\s*$")
_ARCHIVE = phrase(
    "archive",
    rf"^Archive\s+(?P<paths>{_PATHS})\s+to\s+`(?P<archive>[^`]+)`\s+and\s+remove\s+(?:them|it)\s*\.?\s*$",
)
_MERGE = phrase("merge", r"^Merge\s+into\s+`(?P<file>[^`]+)`\s*:\s*$")
_REMOVE_UNUSED_IMPORTS = phrase(
    "remove",
    rf"^Remove\s+(?:the\s+)?unused\s+imports\s+from\s+(?P<files>{_PATHS})\s*\.?\s*$",
)
_REMOVE_ITEMS = phrase(
    "remove",
    rf"^Remove\s+(?P<items>{_PATHS})\s+from\s+`(?P<key>[\w.-]+)`\s+in\s+`(?P<file>[^`]+\.toml)`\s*\.?\s*$",
)
_REFERENCES = phrase(
    "verify",
    rf"^Verify\s+nothing\s+(?:still\s+)?refers\s+to\s+(?P<paths>{_PATHS})\s*\.?\s*$",
    needs="nothing refers",
)
_IMPORT_TIME = phrase(
    "verify",
    r"^Verify\s+importing\s+`(?P<module>[^`]+)`\s+takes\s+at\s+most\s+(?P<percent>\d{1,3})\s*%\s+"
    r"of\s+its\s+time\s+before\s*\.?\s*$",
    needs="importing takes",
)
_CONFIG_REFS = phrase(
    "verify",
    r"^Verify\s+config\s+references\s+resolve\s+in\s+`(?P<dir>[^`]+)`\s*\.?\s*$",
    needs="config references",
)
# Symbol gates (runner/gates/symbols.py): "Verify `F` defines `NAME`", "Verify `F` exists".
_DEFINES = phrase(
    "verify",
    r"^Verify\s+`(?P<file>[^`]+)`\s+defines\s+`(?P<symbol>[A-Za-z_][\w.]*)`\s*\.?\s*$",
    needs="defines",
)
_EXISTS = phrase("verify", r"^Verify\s+`(?P<file>[^`]+)`\s+exists\s*\.?\s*$", needs="exists")
_AROUND = r"(?:\s*\(around\s+line\s+(?P<line>\d+)\))?\s*:?\s*$"
_REPLACE_BLOCK = phrase(
    "replace",
    r"^Replace\s+in\s+`(?P<file>[^`]+)`(?:\s+within\s+`(?P<scope>[^`]+)`)?"
    r"(?P<every>\s*,?\s*every\s+occurrence)?" + _AROUND,
)
_INSERT_BLOCK = phrase("insert", r"^Insert\s+into\s+`(?P<file>[^`]+)`\s+(?P<where>.+?)" + _AROUND)
_INSERT_MARKED = phrase(
    "insert",
    r"^Insert\s+the\s+lines\s+marked\s+`(?P<marker>[^`]+)`\s+into\s+`(?P<file>[^`]+)`"
    r"(?:\s+within\s+`(?P<scope>[^`]+)`)?" + _AROUND,
)
# WHERE of an insert step -> (kind, the backticked target or "")
_PLACES: tuple[tuple[str, LazyPattern], ...] = (
    ("after-imports", LazyPattern(r"^after\s+the\s+imports$", re.IGNORECASE)),
    ("before-comment", LazyPattern(r"^before\s+the\s+comment\s+`(?P<target>[^`]+)`$", re.IGNORECASE)),
    ("after", LazyPattern(r"^after\s+`(?P<target>[^`]+)`$", re.IGNORECASE)),
    ("before", LazyPattern(r"^before\s+`(?P<target>[^`]+)`$", re.IGNORECASE)),
    ("start", LazyPattern(r"^at\s+the\s+start\s+of\s+`(?P<target>[^`]+)`$", re.IGNORECASE)),
    ("end", LazyPattern(r"^at\s+the\s+end\s+of\s+`(?P<target>[^`]+)`$", re.IGNORECASE)),
    ("into-class", LazyPattern(r"^into\s+class\s+`(?P<target>[^`]+)`$", re.IGNORECASE)),
)
PLACES_HELP = (
    "after the imports, after `CODE`, before `CODE`, before the comment `TEXT`, "
    "at the start of `SCOPE`, at the end of `SCOPE`, into class `NAME`"
)


@datarecord(frozen=True)
class Gate:
    """A check the runner makes with built-in code; which fields apply depends on ``gate``."""

    gate: GateName
    files: tuple[str, ...] = ()  # empty: the task's files
    module: str = ""  # imports
    names: tuple[str, ...] = ()  # imports
    outer: str = ""  # pattern gates: qualified name of the call
    inner: str = ""  # pattern-absent: a call to this inside ``outer``'s arguments
    percent: int = 0  # import-time: the most the import may take, in % of its time before the task
    symbol: str = ""  # defines: ``name`` or ``Class.method``

    def describe(self) -> str:
        if self.gate == "imports":
            return (
                f"imports: from {self.module} import {', '.join(self.names)}"
                if self.names
                else (f"imports: import {self.module}")
            )
        if self.gate == "pattern-absent":
            held = f"... {self.inner}(...) ..." if self.inner else "..."
            return f"pattern-absent: no {self.outer}({held})"
        if self.gate == "pattern-present":
            return f"pattern-present: a call to {self.outer}"
        if self.gate == "references":
            return f"references: nothing refers to {', '.join(self.files)}"
        if self.gate == "import-time":
            return f"import-time: importing {self.module} takes at most {self.percent}% of its time before"
        if self.gate == "defines":
            return f"defines: {self.symbol} in {', '.join(self.files)}"
        return f"{self.gate}: {', '.join(self.files) or '(the task files)'}"


@datarecord(frozen=True)
class CodemodStep:
    """Run the codemod ``name`` on ``targets`` with ``options``; ``expect``: the changes it must make."""

    name: str
    targets: tuple[str, ...]
    options: dict[str, str] = field(default_factory=dict)
    expect: int | None = None


@datarecord(frozen=True)
class ConfigSet:
    """Set the dotted ``key`` of the config ``file`` to ``value``."""

    file: str
    key: str
    value: str


@datarecord(frozen=True)
class ConfigMerge:
    """Merge the step's YAML (or TOML) block into ``file``."""

    file: str


@datarecord(frozen=True)
class ConfigRemove:
    """Remove ``items`` from the array at ``key`` (dotted) of a TOML ``file``."""

    file: str
    key: str
    items: tuple[str, ...]


@datarecord(frozen=True)
class CreateFile:
    """Create ``path`` with the step's block as its content."""

    path: str


@datarecord(frozen=True)
class MoveFile:
    """Move (or rename) ``old`` to ``new``."""

    old: str
    new: str


@datarecord(frozen=True)
class ArchiveFiles:
    """Pack ``paths`` (files, folders or globs) into the tarball ``archive``, then remove them."""

    paths: tuple[str, ...]
    archive: str


@datarecord(frozen=True)
class ReplaceBlock:
    """Replace the first block (found structurally) by the second."""

    file: str
    blocks: tuple[CodeBlock, ...]
    scope: str | None = None
    every: bool = False
    line_hint: int | None = None
    expected_blocks: int = 2


@datarecord(frozen=True)
class InsertBlock:
    """Insert the block at ``place`` (see ``PLACES_HELP``); ``place`` is "" when not understood."""

    file: str
    blocks: tuple[CodeBlock, ...]
    place: str
    target: str = ""
    where_text: str = ""
    line_hint: int | None = None
    expected_blocks: int = 1


@datarecord(frozen=True)
class InsertMarked:
    """Insert the block's lines carrying ``marker`` after the context lines they follow."""

    file: str
    blocks: tuple[CodeBlock, ...]
    marker: str
    scope: str | None = None
    line_hint: int | None = None
    expected_blocks: int = 1


CodeAction = ReplaceBlock | InsertBlock | InsertMarked


@datarecord(frozen=True)
class RemoveUnusedImports:
    """Remove the imports of ``files`` that the task's earlier steps left unused (only those)."""

    files: tuple[str, ...]


@datarecord(frozen=True)
class Manual:
    """A step for a person or an agent: the runner stops and waits for ``runner done``."""


Action = (
    Gate
    | CodemodStep
    | ConfigSet
    | ConfigMerge
    | ConfigRemove
    | CreateFile
    | MoveFile
    | ArchiveFiles
    | ReplaceBlock
    | InsertBlock
    | InsertMarked
    | RemoveUnusedImports
    | Manual
)


def kind_of(action: Action) -> Kind:
    if isinstance(action, Gate):
        return "gate"
    if isinstance(action, CodemodStep):
        return "codemod"
    if isinstance(action, ConfigSet | ConfigMerge | ConfigRemove):
        return "config"
    if isinstance(action, CreateFile | MoveFile | ArchiveFiles):
        return "file"
    if isinstance(action, (ReplaceBlock, InsertBlock, InsertMarked, RemoveUnusedImports)):
        return "code"
    return "manual"


def _backticked_list(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in _BACKTICKED.findall(text))


def _call_names(expression: str) -> tuple[str, str] | None:
    """(outer, inner) dotted names of ``outer(... inner(...) ...)`` in a code snippet.

    Read with ``ast`` (a snippet of the blueprint, not a file to edit): the first call
    inside the outer call's arguments, in source order."""
    import ast  # here: few steps name a call, and `runner status` never classifies one

    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if not isinstance(node, ast.Call):
        return None
    outer = _dotted(node.func)
    arguments: list[ast.expr | ast.keyword] = [*node.args, *node.keywords]
    inner = [
        name
        for argument in sorted(arguments, key=lambda a: (a.lineno, a.col_offset))
        for call in _calls_in_order(argument)
        if (name := _dotted(call.func))
    ]
    if not outer or not inner:
        return None
    return outer, inner[0]


def _calls_in_order(node: ast.AST) -> list[ast.Call]:
    """The calls in ``node``, outermost first, left to right (as a pre-order walk meets them)."""
    import ast

    found = [node] if isinstance(node, ast.Call) else []
    for child in ast.iter_child_nodes(node):
        found += _calls_in_order(child)
    return found


def _dotted(node: ast.expr) -> str:
    import ast

    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _hint(match: re.Match[str]) -> int | None:
    line = match.group("line")
    return int(line) if line is not None else None


def _code_action(text: str, blocks: tuple[CodeBlock, ...]) -> Action | None:
    if match := _INSERT_MARKED.match(text):
        return InsertMarked(
            match.group("file"), blocks, match.group("marker"), match.group("scope"), _hint(match)
        )
    if match := _REPLACE_BLOCK.match(text):
        every = bool(match.group("every"))
        return ReplaceBlock(match.group("file"), blocks, match.group("scope"), every, _hint(match))
    if match := _INSERT_BLOCK.match(text):
        where = match.group("where").strip()
        for place, pattern in _PLACES:
            found = pattern.match(where)
            if found:
                target = found.groupdict().get("target") or ""
                return InsertBlock(match.group("file"), blocks, place, target, where, _hint(match))
        return InsertBlock(match.group("file"), blocks, "", "", where, _hint(match))
    return None


def classify(text: str, blocks: Sequence[CodeBlock] = ()) -> Action:
    """What the step ``text`` (with its fenced ``blocks``) asks for; unknown phrasing is manual."""
    # A code-block phrase ends with ':' and the blocks follow; without either it is prose.
    code = _code_action(text.strip(), tuple(blocks)) if blocks or text.rstrip().endswith(":") else None
    if code is not None:
        return code
    codemod = _CODEMOD.match(text.strip())
    if codemod:
        options: dict[str, str] = {}
        for pair in _backticked_list(codemod.group("options") or ""):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                return Manual()
            options[key.strip()] = value.strip()
        expect = codemod.group("expect")
        return CodemodStep(
            codemod.group("name").lower(),
            _backticked_list(codemod.group("targets")),
            options,
            int(expect) if expect is not None else None,
        )
    config = _CONFIG_SET.match(text.strip())
    if config:
        return ConfigSet(config.group("file"), config.group("key"), config.group("value"))
    file_step = _classify_file_step(text.strip())
    if file_step is not None:
        return file_step
    python_gate = _python_gate(text) if "`python" in text else None  # their patterns start so
    if python_gate is not None:
        return python_gate
    if "pattern" in text.lower():  # both need the word; re.IGNORECASE folds no other letter to its
        if match := _PAIR_ABSENT.search(text):
            return Gate("pattern-absent", outer=match.group(1), inner=match.group(2))
        if (match := _CODE_ABSENT.search(text)) and (calls := _call_names(match.group(1))):
            return Gate("pattern-absent", outer=calls[0], inner=calls[1])
    if match := _DEFINES.match(text.strip()):
        return Gate("defines", files=(match.group("file"),), symbol=match.group("symbol"))
    if match := _EXISTS.match(text.strip()):
        return Gate("exists", files=(match.group("file"),))
    if match := _NOT_CALLED.match(text.strip()):
        files = _backticked_list(match.group(2))
        if files:
            return Gate("pattern-absent", files=files, outer=match.group(1))
    if match := _REMOVE_UNUSED_IMPORTS.match(text.strip()):
        return RemoveUnusedImports(_backticked_list(match.group("files")))
    if match := _REMOVE_ITEMS.match(text.strip()):
        items = _backticked_list(match.group("items"))
        return ConfigRemove(match.group("file").strip(), match.group("key"), items)
    if match := _PRESENT.match(text.strip()):
        files = _backticked_list(match.group(2))
        if files:
            return Gate("pattern-present", files=files, outer=match.group(1))
    return Manual()


def _python_gate(text: str) -> Gate | None:
    """The gates written as a `python ...` command: syntax, YAML and import gates."""
    if match := _COMPILE.search(text):
        return Gate("syntax", files=tuple(match.group(1).split()))
    if match := _YAML.search(text):
        return Gate("yaml", files=(match.group(3),))
    if match := _FROM_IMPORT.search(text):
        names = tuple(n.strip() for n in match.group(3).split(",") if n.strip())
        return Gate("imports", module=match.group(2), names=names)
    if match := _IMPORT.search(text):
        return Gate("imports", module=match.group(2).split(",")[0].strip())
    return None


def _classify_file_step(text: str) -> Action | None:
    """The file and config-file phrases, and the gates that check files; None for anything else."""
    if match := _CREATE.match(text):
        return CreateFile(match.group("path").strip())
    if match := _MOVE.match(text):
        return MoveFile(match.group("old").strip(), match.group("new").strip())
    if match := _ARCHIVE.match(text):
        return ArchiveFiles(_backticked_list(match.group("paths")), match.group("archive").strip())
    if match := _MERGE.match(text):
        return ConfigMerge(match.group("file").strip())
    if match := _REFERENCES.match(text):
        return Gate("references", files=_backticked_list(match.group("paths")))
    if match := _IMPORT_TIME.match(text):
        return Gate("import-time", module=match.group("module").strip(), percent=int(match.group("percent")))
    if match := _CONFIG_REFS.match(text):
        return Gate("config-references", files=(match.group("dir").strip(),))
    return None


def mentioned_paths(text: str) -> tuple[str, ...]:
    """Backticked words that look like file paths (``a/b.py``, ``c.yaml``)."""
    found: list[str] = []
    for word in _BACKTICKED.findall(text):
        for token in word.split():
            looks_like_path = "/" in token or re.search(r"\.(py|ya?ml|toml|json|cfg|ini)$", token)
            if looks_like_path and re.fullmatch(r"[\w./*-]+", token):
                found.append(token)
    return tuple(found)


# A step starting with one of these verbs asks for a change to files: `runner done` on a task
# with such a manual step and no change is refused (unless --allow-empty).
_CHANGE_VERB = LazyPattern(
    r"^(?:add|apply|archive|change|create|delete|edit|fix|implement|insert|merge|modify|move|refactor"
    r"|remove|rename|replace|rewrite|set|update|write)\b",
    re.IGNORECASE,
)


def asks_for_change(text: str) -> bool:
    return bool(_CHANGE_VERB.match(text.strip()))
