"""Processes that run the LibCST stage on the files the cheap stages could not clear.

The engine screens every file in its own process (needles, pre-checks: no LibCST) and hands
the paths of the rest, the candidates, to workers, never their contents. When the first
candidate turns up the engine forks a host process, which imports LibCST and the commands
(``warm``) while the engine goes on screening, then forks each worker the engine asks for:
every worker starts with LibCST loaded, so a further worker costs a fork, not another
second of imports. A tree without candidates forks nothing and imports no LibCST. Each
worker runs the whole per-file pipeline again on its path (``codemods.engine.outcome_of``):
its outcome is exactly the one a run without workers gives. While the engine screens, one
core is its own; when it has screened everything, up to one worker per core may run.

The host does no work itself: it forks workers (the engine sends it one end of each
worker's pipe) and reaps them, telling the engine each one's exit code, so that a worker
that dies leaves the file it was rewriting as an error naming its exit code instead of
hanging the run. Plain pipes, no threads: forking stays safe.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import signal
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import recv_handle, send_handle
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codemods.engine import FileOutcome

# Paths in flight per worker while the engine screens: one being rewritten, one queued, so a
# worker never waits for the engine (busy screening) to hand it the next file. A worker that
# has not yet returned a result (it may still wait for the host's imports), and every worker
# once the engine waits on them alone, gets one at a time: the files go to whichever worker
# is free first, so a slow file does not hold back the one queued behind it.
DEPTH = 2
# A further worker is forked from the host (LibCST already loaded) when this many
# candidates wait.
FORK_BACKLOG = 1
# How long the engine waits for the host to say how a worker that hung up ended.
_EXIT_WAIT_SECONDS = 5.0

Work = Callable[[Path], "FileOutcome"]


def _serve(conn: Connection, host_end: Connection, work: Work) -> None:
    """A worker's loop: a path in, ``(True, outcome)`` or ``(False, traceback)`` out."""
    host_end.close()  # the host's end: the engine must see EOF when the host goes
    gc.enable()  # the host disabled it; what it imported is frozen (see ``_host``)
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


def _host(control: Connection, engine_end: Connection, warm: Callable[[], None], work: Work) -> None:
    """The host's loop: fork a worker per request (an index, then its pipe end), report
    ``(index, exit code)`` of each worker that ends; return at the engine's EOF."""
    engine_end.close()  # inherited: the host must see EOF when the engine closes its end
    # Ctrl-C reaches the whole process group: the engine stops and closes the pipes (EOF
    # here and in the workers), so no process prints a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # As the gc module's documentation advises for a process that forks without exec: no
    # collection while importing (LibCST's modules make many objects, none garbage), and
    # the imported objects frozen, so a worker's collections neither scan them nor write
    # to their pages (which the workers then share with the host).
    gc.disable()
    with contextlib.suppress(Exception):  # a worker imports again and reports it as a bug
        warm()
    gc.freeze()
    context = multiprocessing.get_context("fork")
    workers: dict[int, BaseProcess] = {}
    try:
        while True:
            ready = wait([control, *(p.sentinel for p in workers.values())])
            for index, process in list(workers.items()):
                if process.sentinel in ready:
                    process.join()
                    del workers[index]
                    control.send((index, process.exitcode))
            if control in ready:
                index = control.recv()
                conn = Connection(recv_handle(control))
                process = context.Process(target=_serve, args=(conn, control, work), daemon=True)
                process.start()
                conn.close()  # the worker's now: its EOF must not wait for the host
                workers[index] = process
    except (EOFError, OSError):  # the engine closed its end (or went)
        pass
    for process in workers.values():
        process.join(_EXIT_WAIT_SECONDS)  # the engine has closed their pipes too


@dataclass
class _Worker:
    index: int
    conn: Connection
    in_flight: deque[tuple[int, str]] = field(default_factory=deque)
    broken: bool = False  # a send failed: it died; collect() finds its EOF
    returned: bool = False  # it has sent a result


class WorkerError(RuntimeError):
    """A worker raised (a bug in a codemod or the engine); its traceback is the message."""


class RewriteWorkers:
    """Workers forked from one host, each running ``work`` on the paths it is sent; results
    by index. ``warm`` runs once in the host, before it forks any worker."""

    def __init__(self, work: Work, warm: Callable[[], None], limit: int) -> None:
        self.work = work
        self.limit = max(1, limit)
        self.workers: list[_Worker] = []
        self.waiting: deque[tuple[int, str]] = deque()
        self.exits: dict[int, int | None] = {}  # worker index -> exit code, as the host reports
        self.forked = 0
        self.screening = True  # the engine screens meanwhile (see DEPTH)
        context = multiprocessing.get_context("fork")
        sys.stdout.flush()  # a forked child must not print the engine's buffered output again
        sys.stderr.flush()
        self.control, host_end = context.Pipe()
        self.host = context.Process(target=_host, args=(host_end, self.control, warm, work))
        self.host.start()
        host_end.close()

    def submit(self, index: int, path: Path) -> None:
        self.waiting.append((index, str(path)))
        self._dispatch()

    def _dispatch(self) -> None:
        while self.waiting:
            free = [w for w in self.workers if len(w.in_flight) < self._depth(w) and not w.broken]
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

    def _depth(self, worker: _Worker) -> int:
        return DEPTH if self.screening and worker.returned else 1

    def _fork(self) -> _Worker:
        """Ask the host for a worker; paths sent meanwhile wait in its pipe."""
        engine_end, worker_end = multiprocessing.get_context("fork").Pipe()
        worker = _Worker(self.forked, engine_end)
        self.forked += 1
        try:
            self.control.send(worker.index)
            send_handle(self.control, worker_end.fileno(), self.host.pid)
        except OSError:
            worker.broken = True  # the host is gone: collect() finds this worker's EOF
        worker_end.close()
        self.workers.append(worker)
        return worker

    def widen(self, limit: int) -> None:
        """Allow up to ``limit`` workers from now on (the engine has finished screening)."""
        self.limit = max(self.limit, limit)
        self.screening = False
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
                    worker.returned = True
                    if not ok:
                        raise WorkerError(result)
                    yield index, result
            except (EOFError, OSError):
                yield from self._lost(worker)
        self._dispatch()

    def _exit_code(self, index: int) -> int | None:
        """The exit code of worker ``index`` as the host reports it; None if it cannot."""
        while index not in self.exits:
            try:
                if not self.control.poll(_EXIT_WAIT_SECONDS):
                    return None
                reported, code = self.control.recv()
            except (EOFError, OSError):
                return None
            self.exits[reported] = code
        return self.exits[index]

    def _lost(self, worker: _Worker) -> Iterator[tuple[int, FileOutcome]]:
        """A dead worker's file, as an error; the files queued behind it (not started: a
        worker takes them in order) go to another worker."""
        from codemods.engine import FileOutcome

        self.workers.remove(worker)
        worker.conn.close()
        if worker.in_flight:
            index, path = worker.in_flight.popleft()
            code = self._exit_code(worker.index)
            reason = f"the process rewriting it exited unexpectedly (exit code {code})"
            if code is None:
                reason = "the process rewriting it exited unexpectedly (exit code unknown)"
            yield index, FileOutcome(path, "error", b"", b"", reason=reason)
        self.waiting.extendleft(reversed(worker.in_flight))

    def close(self) -> None:
        for worker in self.workers:
            worker.conn.close()  # EOF: the worker returns
        self.workers.clear()
        self.control.close()  # EOF: the host joins its workers and returns
        self.host.join(2 * _EXIT_WAIT_SECONDS)
        if self.host.is_alive():
            self.host.kill()
            self.host.join()
