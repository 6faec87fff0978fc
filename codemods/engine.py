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

Stages 1-3 need no LibCST: this module and the codemods' declarations import none, and stages
4-5 (``codemods.rewrite``, with the LibCST commands) are imported when a file first reaches
them. On a tree, ``run_codemods`` screens every file through stages 1-3 in this process and
sends the paths of the files left, the candidates, to worker processes forked, LibCST loaded,
from a host process started when the first one turns up (``codemods.workers``): a tree
without candidates never loads LibCST.
"""

from __future__ import annotations

import ast
import functools
import io
import itertools
import os
import re
import time
import tokenize
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from codemods.contract import Change, CodemodDeclaration, Skip
from codemods.files import VENDORED_DIRS, iter_python_files
from codemods.gathered import Gathered
from codemods.prefilters import PASS_THROUGH

if TYPE_CHECKING:
    from codemods.workers import RewriteWorkers

__all__ = [
    "VENDORED_DIRS",
    "CodemodCall",
    "FileOutcome",
    "apply_codemods",
    "iter_python_files",
    "run_codemods",
]

MAX_FILE_BYTES = 2 * 1024 * 1024
GENERATED_MARKER = b"@" + b"generated"  # split so this file is not itself "generated"
# Below two chunks of files a tree is run in this process: forking a worker (which imports
# LibCST again) costs more than it saves.
CHUNK = 48
# How often the screening loop looks for workers' results (each look is a system call).
_POLL_SECONDS = 0.005

Status = Literal["changed", "unchanged", "skipped", "error"]


@dataclass(frozen=True)
class CodemodCall:
    """One codemod with its resolved options."""

    codemod: type[CodemodDeclaration]  # a declaration, or the command itself
    options: dict[str, object] = field(default_factory=dict)
    gathered: Gathered | None = None  # a GATHERS codemod's analysis of every file (gather_call)

    def wants(self, source: bytes, path: str) -> bool:
        """Whether ``source`` holds a needle, or the gathered analysis has work for ``path``."""
        if self.gathered is not None and os.path.normpath(path) in self.gathered.files:
            return True
        return _holds_needles(source, self)


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


@functools.lru_cache(maxsize=64)
def _needle_test(needles: tuple[bytes, ...]) -> Callable[[bytes], bool]:
    """Whether bytes hold one of ``needles``: one regular expression pass when they share a
    prefix (the expression engine then scans for the prefix; ``exp(``, ``exp ``, ``exp,``...
    take six times less than eight ``in`` tests), else one ``in`` per needle."""
    if len(needles) > 1 and all(len(n) >= 2 and n[:2] == needles[0][:2] for n in needles):
        search = re.compile(b"|".join(re.escape(n) for n in needles)).search
        return lambda source: search(source) is not None
    return lambda source: any(n in source for n in needles)


def _holds_needles(source: bytes, call: CodemodCall) -> bool:
    return _needle_test(tuple(call.codemod.needles(call.options)))(source)


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
    screened = _screen(source, calls, path, prefilter=prefilter, report_unparseable=report_unparseable)
    if isinstance(screened, FileOutcome):
        return screened
    from codemods.rewrite import rewrite  # LibCST, imported by the first file that needs it

    active, cleared = screened
    return rewrite(source, active, cleared, path, prefilter=prefilter)


def still_active(source: bytes, calls: Sequence[CodemodCall]) -> tuple[list[CodemodCall], list[CodemodCall]]:
    """Of ``calls``, those whose needles ``source`` holds, and those of them its pre-checks
    clear (a codemod's rewrite verified: a cleared codemod leaves the rewrite unchanged)."""
    active = [c for c in calls if _holds_needles(source, c)]
    kept, _ = _prefiltered(source, active)
    return active, [c for c in active if c not in kept]


def _screen(
    source: bytes, calls: Sequence[CodemodCall], path: str, *, prefilter: bool, report_unparseable: bool
) -> FileOutcome | tuple[list[CodemodCall], list[CodemodCall]]:
    """The outcome of stages 1-3 when they decide the file, else the codemods to run on it
    and those of them the pre-checks cleared (see ``codemods.rewrite``)."""
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
    return active, cleared


def _light(outcome: FileOutcome) -> FileOutcome:
    """``outcome`` without the file's bytes unless it changed (streaming keeps memory flat)."""
    if outcome.status != "changed":
        outcome.before = outcome.after = b""
    return outcome


def _read(path: Path) -> bytes | FileOutcome:
    try:
        return path.read_bytes()
    except OSError as err:
        return FileOutcome(str(path), "error", b"", b"", reason=f"cannot read: {err.strerror}")


def outcome_of(path: Path, calls: Sequence[CodemodCall], prefilter: bool) -> FileOutcome:
    """Read and transform one file of a tree (in a worker, or in this process)."""
    source = _read(path)
    if isinstance(source, FileOutcome):
        return source
    return _light(apply_codemods(source, calls, str(path), prefilter=prefilter, report_unparseable=False))


def _screened(path: Path, calls: Sequence[CodemodCall], prefilter: bool) -> FileOutcome | None:
    """The file's outcome when stages 1-3 decide it (as ``outcome_of`` would give it), else
    None: a candidate for LibCST."""
    source = _read(path)
    if isinstance(source, FileOutcome):
        return source
    screened = _screen(source, calls, str(path), prefilter=prefilter, report_unparseable=False)
    return _light(screened) if isinstance(screened, FileOutcome) else None


def _warm(calls: Sequence[CodemodCall]) -> None:
    """Import what the LibCST stage runs (once, in the workers' host: see ``codemods.workers``)."""
    import codemods.rewrite  # noqa: F401

    for call in calls:
        call.codemod.load()


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_codemods(
    paths: Iterable[Path],
    calls: Sequence[CodemodCall],
    *,
    jobs: int | None = None,
    prefilter: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[FileOutcome]:
    """The outcome of ``calls`` on each file of ``paths``, in order, streamed.

    Files are read one at a time and an unchanged file's outcome carries no bytes, so memory
    stays flat however large the tree; ``paths`` may be a walk still going on. With many
    files and ``jobs`` > 1 (default: the CPU count), this process screens every file and
    worker processes (forked from a host started when the first candidate turns up, see
    ``codemods.workers``) run LibCST on the candidates' paths.
    ``progress(done, total)`` is called every ``CHUNK`` files and at the end (a progress bar).
    """
    total = 0

    def sized(count: int) -> None:
        nonlocal total
        total = count

    outcomes = _outcomes(iter(paths), calls, _cpu_count() if jobs is None else jobs, prefilter, sized)
    if progress is None:
        yield from outcomes
        return
    for done, outcome in enumerate(outcomes, 1):  # the total is known by the first outcome
        if done % CHUNK == 0 or done == total:
            progress(done, total)
        yield outcome


def _outcomes(
    walk: Iterator[Path],
    calls: Sequence[CodemodCall],
    jobs: int,
    prefilter: bool,
    sized: Callable[[int], None],
) -> Iterator[FileOutcome]:
    """The outcomes, in order; ``sized(count)`` is called before the first, once ``walk`` is
    done. A tree's first ``2 * CHUNK`` files are screened before the rest is walked: when a
    candidate among them starts the workers' host, the walk overlaps its import of LibCST."""
    pending = list(itertools.islice(walk, 2 * CHUNK))
    if jobs <= 1 or len(pending) < 2 * CHUNK:
        pending.extend(walk)
        sized(len(pending))
        for path in pending:
            yield outcome_of(path, calls, prefilter)
        return
    work = functools.partial(outcome_of, calls=calls, prefilter=prefilter)
    ready: dict[int, FileOutcome] = {}
    following = 0  # the index of the next outcome to yield
    workers: RewriteWorkers | None = None  # the host is forked at the first candidate
    try:
        polled = time.monotonic()
        walked = False  # pending holds the whole walk, its size told: outcomes may go out
        index = 0
        while index < len(pending):
            path = pending[index]
            screened = _screened(path, calls, prefilter)
            if screened is not None:
                ready[index] = screened
            else:
                if workers is None:
                    from codemods.workers import RewriteWorkers

                    # While this process screens, one core is its own: jobs - 1 workers.
                    workers = RewriteWorkers(work, functools.partial(_warm, calls), limit=jobs - 1)
                workers.submit(index, path)
            index += 1
            if not walked and index == len(pending):
                pending.extend(walk)
                sized(len(pending))
                walked = True
            if workers is not None and workers.busy() and time.monotonic() - polled > _POLL_SECONDS:
                ready.update(workers.collect())
                polled = time.monotonic()
            while walked and following in ready:
                yield ready.pop(following)
                following += 1
        if workers is not None:
            workers.widen(jobs)
        while following < len(pending):
            if following not in ready:
                if workers is None or not workers.busy():
                    raise RuntimeError(f"no outcome for {pending[following]} and no worker holds it")
                ready.update(workers.collect(block=True))
                continue
            yield ready.pop(following)
            following += 1
    finally:
        if workers is not None:
            workers.close()
