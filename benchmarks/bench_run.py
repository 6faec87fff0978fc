"""`runner run` of PLAN-001 on the demo OCR project: wall and CPU, median of N fresh repos.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_run.py [--runs N] [--baseline TREE]

Each run builds the demo repository anew in a temporary directory (the fixture plus the
PLAN-001 blueprint, one commit), then runs ``python -m runner run`` on it in a fresh
interpreter: 8 tasks, 8 commits, every gate (the import gate imports torch and lightning
when they are installed). Printed per row: median, lowest and highest wall time, and the
median CPU time (user + sys) of the runner and every process it waited for (the import
gate's server and its checks, git, ruff), from ``wait4``; the load average before each run,
since other work on the machine stretches wall time but hardly CPU time. Also printed: the
floor a single run cannot go under, ``python -I -c "import torch, lightning"`` in a fresh
interpreter (the import gate's server pays it once per run).

``--baseline TREE`` times another checkout of the runner (e.g. ``/work/main``) too,
alternating run by run with this one, so both rows see the same load.

``--keep-import-server`` adds a row with the import gate's kept server
(``BLUEPRINT_RUNNER_KEEP_IMPORT_SERVER``, in a private runtime folder of the benchmark's, so it
starts cold): its first run starts the server and imports torch and lightning, and is printed
on its own line; the row's figures are the runs after it, which find them imported. The kept
server is no child the runner waits for, so its CPU (and its checks') is read from
``/proc/PID/stat`` and added to the row's CPU. The server is stopped at the end. A run that does not
exit 0 with 8 new commits stops the benchmark. Nothing outside the temporary directory is
written. No assertion on time: this prints figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.demo import DEMO_BLUEPRINT, make_demo_repo  # noqa: E402

TASKS = 8


@dataclass
class Row:
    label: str
    tree: Path
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    user: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    first: tuple[float, float] | None = None  # a kept server's cold start: (wall, CPU)


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float, int, bytes]:
    """(wall, user, sys, exit status, stderr) of one process and every child it waited for."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_utime, usage.ru_stime, proc.returncode, err


def run_once(row: Row, base: Path, index: int) -> None:
    repo = make_demo_repo(base / f"{row.label}-{index}", [DEMO_BLUEPRINT])
    env = {**os.environ, "PYTHONPATH": str(row.tree), **row.env}
    load = os.getloadavg()[0]
    argv = [sys.executable, "-m", "runner", "run", f"blueprints/{DEMO_BLUEPRINT.name}"]
    server_before = kept_server_cpu(row)
    wall, user, system, code, err = timed(argv, repo, env)
    server_cpu = kept_server_cpu(row) - server_before
    commits = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    if code != 0 or int(commits) != TASKS + 1:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise SystemExit(f"{row.label}: exit {code}, {commits} commit(s): {' | '.join(tail)}")
    if row.env and row.first is None:
        row.first = (wall, user + system + server_cpu)
        return
    row.load.append(load)
    row.wall.append(wall)
    row.cpu.append(user + system + server_cpu)
    row.user.append(user)


def _kept_server(row: Row) -> object:
    """The handle on the row's kept server (the environment as the runner sees it)."""
    from runner.gates.import_server import kept_server

    saved = dict(os.environ)
    os.environ.update(row.env)
    try:
        return kept_server(sys.executable)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def kept_server_cpu(row: Row) -> float:
    """CPU seconds the row's kept server and its reaped checks have used so far (0: none runs)."""
    if not row.env:
        return 0.0
    server = _kept_server(row)
    status = server.status() if server is not None else None  # type: ignore[attr-defined]
    if not status:
        return 0.0
    try:
        fields = Path(f"/proc/{status['pid']}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def import_floor(runs: int) -> tuple[float, float] | None:
    """Median (wall, CPU) of importing torch and lightning in a fresh interpreter."""
    if not all(importlib.util.find_spec(n) for n in ("torch", "lightning")):
        return None
    walls, cpus = [], []
    for _ in range(runs):
        wall, user, system, _, _ = timed(
            [sys.executable, "-I", "-c", "import torch, lightning"], ROOT, dict(os.environ)
        )
        walls.append(wall)
        cpus.append(user + system)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout of the runner to time alongside")
    parser.add_argument(
        "--keep-import-server", action="store_true", help="add a row with the import gate's kept server"
    )
    args = parser.parse_args()
    rows = [Row("this tree", ROOT)]
    runtime = Path(tempfile.mkdtemp(prefix="bench-rt-", dir="/tmp"))
    if args.keep_import_server:
        kept = {"BLUEPRINT_RUNNER_KEEP_IMPORT_SERVER": "600", "XDG_RUNTIME_DIR": str(runtime)}
        rows.append(Row("kept server", ROOT, env=kept))
    if args.baseline is not None:
        rows.insert(0, Row("baseline", args.baseline.resolve()))
    have = {n: importlib.util.find_spec(n) is not None for n in ("torch", "lightning")}
    print(
        f"PLAN-001 on the demo ({TASKS} tasks, {TASKS} commits); {os.cpu_count()} CPU(s); "
        + ", ".join(f"{n} {'installed' if ok else 'NOT installed'}" for n, ok in have.items())
    )
    try:
        with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
            for index in range(args.runs + 1):  # a kept server's row uses one more: its cold start
                for row in rows:
                    if index < args.runs or (row.env and row.first is not None):
                        run_once(row, Path(tmp), index)
    finally:
        for row in rows:
            server = _kept_server(row) if row.env else None
            if server is not None:
                server.stop()  # type: ignore[attr-defined]
        shutil.rmtree(runtime, ignore_errors=True)
    floor = import_floor(max(1, min(args.runs, 3)))
    print(f"{'':<12} {'wall median':>11} {'min':>6} {'max':>6} {'CPU median':>10} {'user':>6} {'load':>9}")
    for row in rows:
        print(
            f"{row.label:<12} {statistics.median(row.wall):>10.2f}s {min(row.wall):>5.2f}s "
            f"{max(row.wall):>5.2f}s {statistics.median(row.cpu):>9.2f}s {statistics.median(row.user):>5.2f}s"
            f" {min(row.load):>4.1f}-{max(row.load):<4.1f}"
        )
        if args.baseline is not None:
            print(f"{'':<12} ({row.tree})")
        if row.first is not None:
            wall, cpu = row.first
            print(f"{'':<12} its first run, which started the server: {wall:.2f}s wall, {cpu:.2f}s CPU")
    if floor is not None:
        wall, cpu = floor
        print(f"floor: `import torch, lightning` in a fresh interpreter: {wall:.2f}s wall, {cpu:.2f}s CPU")
    print(f"runs: {args.runs} per row, alternating; load: 1-minute load average before each run")


if __name__ == "__main__":
    main()
