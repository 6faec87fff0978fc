"""Applies codemods to source bytes: read once, parse at most once, verify like ruff.

For one file and a list of codemods, cheapest stage first:

1. codemods whose needles (``needles(options)``) do not occur in the raw bytes are dropped; with none
   left the file is never parsed (parsing is ~10 ms a file, needles are ~µs);
2. files too large, generated or binary are skipped with the reason;
3. each codemod's pre-checks (``codemods.prefilters``, reached through ``prefilter()``): a
   regular expression of the pattern's shape on the bytes, then the pattern's structure in
   one ``ast`` parse shared by the file's codemods. They are conservative: a codemod they
   drop would have reported nothing on this file;
4. the bytes are parsed once by LibCST (which honours PEP 263 cookies, BOM and CRLF, and
   ``Module.bytes`` gives them back exactly), and every remaining codemod transforms that
   one tree in turn;
5. a result that differs is re-parsed and compiled, then transformed again by every codemod
   that passed the needles: a fix that breaks syntax, or that a second run would change
   further, is discarded and the file reported as an error. Nothing here writes files.

Outcomes are exactly those without the pre-checks. Only ``run_codemods`` (whole trees) skips
the ``ast`` parse of a file the pre-checks clear, so there a syntax error in a file with no
candidate shape goes unreported.
"""

from __future__ import annotations

import ast
import io
import itertools
import os
import stat
import subprocess
import tokenize
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile

from codemods.base import Change, Gathered, RunnerCodemod, Skip
from codemods.prefilters import PASS_THROUGH

MAX_FILE_BYTES = 2 * 1024 * 1024
GENERATED_MARKER = b"@" + b"generated"  # split so this file is not itself "generated"
_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules"})
# Code that is someone else's or generated: skipped below a directory target unless asked.
VENDORED_DIRS = frozenset({"vendor", "third_party", "_vendor", "node_modules", "build", "dist"})
# Files per task sent to a worker; below two chunks the pool costs more than it saves.
CHUNK = 48

Status = Literal["changed", "unchanged", "skipped", "error"]


@dataclass(frozen=True)
class CodemodCall:
    """One codemod with its resolved options."""

    codemod: type[RunnerCodemod]
    options: dict[str, object] = field(default_factory=dict)
    gathered: Gathered | None = None  # a GATHERS codemod's analysis of every file (gather_call)

    def wants(self, source: bytes, path: str) -> bool:
        """Whether ``source`` holds a needle, or the gathered analysis has work for ``path``."""
        if self.gathered is not None and os.path.normpath(path) in self.gathered.files:
            return True
        return any(n in source for n in self.codemod.needles(self.options))


def gather_call(
    call: CodemodCall, paths: Sequence[str], read: Callable[[str], bytes | None], root: str
) -> CodemodCall:
    """``call`` of a multi-file (GATHERS) codemod with its analysis of ``paths`` and of the
    files its options name (``read`` gives a file's bytes, None when missing). The paths
    are the ones later given to :func:`apply_codemods`; ``root``: where module names start."""
    named = dict.fromkeys([*paths, *call.codemod.option_paths(call.options)])
    sources = {path: read(path) for path in named}
    return replace(call, gathered=call.codemod.gather(sources, call.options, root))


@dataclass
class FileOutcome:
    path: str
    status: Status
    before: bytes
    after: bytes
    parsed: bool = False
    changes: list[Change] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    reason: str = ""  # why a file was skipped or errored as a whole


def _file_level_reason(source: bytes) -> str:
    if len(source) > MAX_FILE_BYTES:
        return f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
    if GENERATED_MARKER in source[:2048]:
        return "generated file (has an @generated marker)"
    if b"\x00" in source:
        return "binary content (NUL byte)"
    return ""


def _parse(source: bytes) -> cst.Module | str:
    """The module, or the reason it cannot be parsed."""
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as err:
        return f"does not parse as Python 3 (line {err.raw_line}: {err.message})"
    except (UnicodeDecodeError, LookupError, SyntaxError) as err:
        return f"cannot be decoded: {err}"


def _structure(source: bytes) -> ast.Module | None:
    """The standard library's tree of ``source``; None when it cannot say (LibCST decides)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escapes and the like are not our business
        try:
            # ast tolerates bytes LibCST cannot decode (in a comment): decode as LibCST does.
            source.decode(tokenize.detect_encoding(io.BytesIO(source).readline)[0])
            return ast.parse(source)
        except (SyntaxError, ValueError, UnicodeDecodeError, LookupError, RecursionError, MemoryError):
            return None


def _prefiltered(source: bytes, calls: Sequence[CodemodCall]) -> tuple[list[CodemodCall], bool]:
    """The calls whose pre-checks say they may change or skip something in ``source``, and
    whether ``ast`` parsed it."""
    kept = [c for c in calls if c.codemod.prefilter().shape(source, c.options)]
    if all(c.codemod.prefilter() is PASS_THROUGH for c in kept):
        return kept, False  # no structural check to make: spare the ast parse
    tree = _structure(source)
    if tree is None:
        return kept, False
    return [c for c in kept if c.codemod.prefilter().structure(tree, c.options)], True


def _transform(
    tree: cst.Module,
    calls: Sequence[CodemodCall],
    path: str,
    cleared: Sequence[CodemodCall] = (),
) -> tuple[cst.Module, list[Change], list[Skip]]:
    """Run ``calls`` in order; those in ``cleared`` only once an earlier one changed the tree
    (their pre-checks spoke for the original source only)."""
    changes: list[Change] = []
    skips: list[Skip] = []
    original = tree
    for call in calls:
        if call in cleared and (tree is original or tree.code == original.code):
            continue
        command = call.codemod(CodemodContext(filename=path), **call.options)
        command.gathered = call.gathered
        try:
            tree = command.transform_module(tree)
        except SkipFile:
            # The command recorded why; its partial work is discarded.
            skips.extend(command.report.skips)
            continue
        changes.extend(command.report.changes)
        skips.extend(command.report.skips)
    return tree, changes, skips


def apply_codemods(
    source: bytes,
    calls: Sequence[CodemodCall],
    path: str,
    *,
    prefilter: bool = True,
    report_unparseable: bool = True,
) -> FileOutcome:
    """Run ``calls`` on one file's bytes and say what happened; never raises on bad input.

    ``prefilter=False`` runs LibCST on every file that holds a needle (the reference the
    pre-checks are tested against). A file the pre-checks clear is still checked to parse
    (with ``ast``; LibCST gives the reason when it does not) unless ``report_unparseable`` is
    False: then it is not parsed at all, and a syntax error in it goes unreported."""
    active = [c for c in calls if c.wants(source, path)]
    if not active:
        return FileOutcome(path, "unchanged", source, source)
    reason = _file_level_reason(source)
    if reason:
        return FileOutcome(path, "skipped", source, source, reason=reason)
    cleared: list[CodemodCall] = []
    if prefilter:
        kept, parses = _prefiltered(source, active)
        if not kept and (not report_unparseable or parses or _structure(source) is not None):
            return FileOutcome(path, "unchanged", source, source)
        cleared = [c for c in active if c not in kept] if kept else []
    parsed = _parse(source)
    if isinstance(parsed, str):
        return FileOutcome(path, "skipped", source, source, reason=parsed)

    try:
        tree, changes, skips = _transform(parsed, active, path, cleared)
    except Exception as err:  # a codemod bug must not take the whole run down
        return FileOutcome(path, "error", source, source, parsed=True, reason=f"codemod crashed: {err!r}")
    after = tree.bytes
    outcome = FileOutcome(path, "unchanged", source, source, True, changes, skips)
    if after == source:
        return outcome

    problem = _verify(after, active, path)
    if problem:
        outcome.status, outcome.reason = "error", f"{problem}; the change was not kept"
        return outcome
    outcome.status, outcome.after = "changed", after
    return outcome


def _verify(after: bytes, calls: Sequence[CodemodCall], path: str) -> str:
    """Empty when ``after`` compiles and a second pass leaves it unchanged."""
    try:
        compile(after, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as err:
        return f"the rewrite does not compile ({err})"
    reparsed = _parse(after)
    if isinstance(reparsed, str):
        return f"the rewrite does not re-parse ({reparsed})"
    again, _, _ = _transform(reparsed, calls, path)
    if again.bytes != after:
        return "the rewrite is not idempotent (a second pass changes it again)"
    return ""


def _git_visible(root: Path) -> set[str] | None:
    """Paths under ``root`` (relative to it) that git tracks or would not ignore; None when
    ``root`` is not in a git work tree (then nothing is filtered)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return {os.fsdecode(p) for p in proc.stdout.split(b"\0") if p}


def iter_python_files(root: Path, *, include_vendored: bool = False) -> Iterator[Path]:
    """``root`` itself if a file, else every ``*.py`` below it in sorted order.

    Below a directory, files git ignores (``.gitignore``, when ``root`` is in a git work
    tree) and directories of vendored or generated code (``VENDORED_DIRS``) are left out,
    the latter unless ``include_vendored``. Only regular files are yielded (never a FIFO).
    """
    if root.is_file():
        yield root
        return
    visible = _git_visible(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in _SKIPPED_DIRS and (include_vendored or d not in VENDORED_DIRS)
        )
        relative_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = Path(dirpath) / name
            if visible is not None:
                relative = name if relative_dir == "." else f"{relative_dir}/{name}"
                if relative.replace(os.sep, "/") not in visible:
                    continue
            try:
                if not stat.S_ISREG(path.stat().st_mode):
                    continue
            except OSError:
                continue
            yield path


def _light(outcome: FileOutcome) -> FileOutcome:
    """``outcome`` without the file's bytes unless it changed (streaming keeps memory flat)."""
    if outcome.status != "changed":
        outcome.before = outcome.after = b""
    return outcome


def _process(paths: Sequence[Path], calls: Sequence[CodemodCall], prefilter: bool) -> list[FileOutcome]:
    """Read and transform ``paths`` one at a time (in a worker, or in this process)."""
    outcomes = []
    for path in paths:
        try:
            source = path.read_bytes()
        except OSError as err:
            outcomes.append(FileOutcome(str(path), "error", b"", b"", reason=f"cannot read: {err.strerror}"))
            continue
        outcome = apply_codemods(source, calls, str(path), prefilter=prefilter, report_unparseable=False)
        outcomes.append(_light(outcome))
    return outcomes


def run_codemods(
    paths: Iterable[Path],
    calls: Sequence[CodemodCall],
    *,
    jobs: int | None = None,
    prefilter: bool = True,
) -> Iterator[FileOutcome]:
    """The outcome of ``calls`` on each file of ``paths``, in order, streamed.

    Files are read one at a time and an unchanged file's outcome carries no bytes, so memory
    stays flat however large the tree. With many files and ``jobs`` > 1 (default: the CPU
    count), chunks of paths (never contents) go to a process pool.
    """
    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    pending = list(paths)
    if jobs <= 1 or len(pending) < 2 * CHUNK:
        for start in range(0, len(pending), CHUNK):
            yield from _process(pending[start : start + CHUNK], calls, prefilter)
        return
    chunks = [pending[i : i + CHUNK] for i in range(0, len(pending), CHUNK)]
    with ProcessPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
        for outcomes in pool.map(_process, chunks, itertools.repeat(calls), itertools.repeat(prefilter)):
            yield from outcomes
