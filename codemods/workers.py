"""Processes that run the LibCST stage on the files the cheap stages could not clear.

The engine screens every file in its own process (needles, pre-checks: no LibCST) and hands
the paths of the rest, the candidates, to these workers, never their contents. A worker is
forked when the first candidate turns up, so a tree without candidates forks nothing and
imports no LibCST, and a worker imports LibCST while the engine goes on screening; more
workers (up to ``limit``) are forked while candidates wait. Each worker runs the whole
per-file pipeline again on its path (``codemods.engine.outcome_of``): its outcome is exactly
the one a run without workers gives. When the engine has screened everything, up to one
worker per core may run.

Plain pipes, no threads: forking stays safe, and a worker that dies leaves the file it was
rewriting as an error naming its exit code instead of hanging the run.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codemods.engine import FileOutcome

# Paths in flight per worker: one being rewritten, one queued, so a worker never waits for
# the engine (which is busy screening) to hand it the next file.
DEPTH = 2
# A further worker imports LibCST again (about a second of CPU, as long as rewriting a
# dozen small files): forked only when this many candidates wait.
FORK_BACKLOG = 8

Work = Callable[[Path], "FileOutcome"]


def _serve(conn: Connection, inherited: list[Connection], work: Work) -> None:
    """A worker's loop: a path in, ``(True, outcome)`` or ``(False, traceback)`` out."""
    # Ctrl-C reaches the whole process group: the engine stops and closes the pipes (EOF
    # here), so a worker does not print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for other in inherited:  # other workers' engine ends: their EOF must not wait for us
        other.close()
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        try:
            conn.send((True, work(Path(message))))
        except Exception:  # a bug: the engine raises it
            conn.send((False, traceback.format_exc()))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    in_flight: deque[tuple[int, str]] = field(default_factory=deque)
    broken: bool = False  # a send failed: it died; collect() finds its EOF


class WorkerError(RuntimeError):
    """A worker raised (a bug in a codemod or the engine); its traceback is the message."""


class RewriteWorkers:
    """Forked workers, each running ``work`` on the paths it is sent; results by index."""

    def __init__(self, work: Work, limit: int) -> None:
        self.work = work
        self.limit = max(1, limit)
        self.workers: list[_Worker] = []
        self.waiting: deque[tuple[int, str]] = deque()
        self.context = multiprocessing.get_context("fork")

    def submit(self, index: int, path: Path) -> None:
        self.waiting.append((index, str(path)))
        self._dispatch()

    def _dispatch(self) -> None:
        while self.waiting:
            free = [w for w in self.workers if len(w.in_flight) < DEPTH and not w.broken]
            if free:
                worker = min(free, key=lambda w: len(w.in_flight))
            elif not self.workers or (len(self.workers) < self.limit and len(self.waiting) >= FORK_BACKLOG):
                worker = self._fork()
            else:
                return
            item = self.waiting.popleft()
            worker.in_flight.append(item)
            try:
                worker.conn.send(item[1])
            except OSError:
                worker.broken = True

    def _fork(self) -> _Worker:
        sys.stdout.flush()  # a forked child must not print the engine's buffered output again
        sys.stderr.flush()
        engine_end, worker_end = self.context.Pipe()
        inherited = [w.conn for w in self.workers] + [engine_end]
        process = self.context.Process(target=_serve, args=(worker_end, inherited, self.work), daemon=True)
        process.start()
        worker_end.close()
        worker = _Worker(process, engine_end)
        self.workers.append(worker)
        return worker

    def widen(self, limit: int) -> None:
        """Allow up to ``limit`` workers from now on (the engine has finished screening)."""
        self.limit = max(self.limit, limit)
        self._dispatch()

    def busy(self) -> bool:
        return any(w.in_flight for w in self.workers)

    def collect(self, block: bool = False) -> Iterator[tuple[int, FileOutcome]]:
        """Outcomes that are ready (with ``block``, at least one, if any are in flight)."""
        active = [w for w in self.workers if w.in_flight]
        if not active:
            return
        ready = wait([w.conn for w in active], None if block else 0)
        for worker in active:
            if worker.conn not in ready:
                continue
            try:
                while worker.in_flight and worker.conn.poll():
                    ok, result = worker.conn.recv()
                    index, _ = worker.in_flight.popleft()
                    if not ok:
                        raise WorkerError(result)
                    yield index, result
            except (EOFError, OSError):
                yield from self._lost(worker)
        self._dispatch()

    def _lost(self, worker: _Worker) -> Iterator[tuple[int, FileOutcome]]:
        """A dead worker's file, as an error; the files queued behind it (not started: a
        worker takes them in order) go to another worker."""
        from codemods.engine import FileOutcome

        worker.process.join(5)
        self.workers.remove(worker)
        worker.conn.close()
        if worker.in_flight:
            index, path = worker.in_flight.popleft()
            reason = f"the process rewriting it exited unexpectedly (exit code {worker.process.exitcode})"
            yield index, FileOutcome(path, "error", b"", b"", reason=reason)
        self.waiting.extendleft(reversed(worker.in_flight))

    def close(self) -> None:
        for worker in self.workers:
            worker.conn.close()  # EOF: the worker returns
        for worker in self.workers:
            worker.process.join(5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self.workers.clear()
