"""Start-up time of the CLI: `--help`, `status`, `next` and `lint` (text and --json) on the demo repo.

Each command runs in a fresh interpreter N times. Printed per command: the median wall time,
the median user+sys CPU time of the child process (resource.getrusage of children: on a
machine shared with other jobs the CPU time is the steadier figure), and the number of
modules it imported, with the heavy packages among them (libcst, GitPython, Jinja2 and rich
are imported only by the commands that need them). Target: under 100 ms.

Each run of a command follows a run of `python -c pass` (the interpreter's own start-up with
this venv's `site`, the floor no command can go below); `x floor` is the ratio of the two
medians, measured in the same stretch of time, so it holds on a machine shared with other jobs.

Bytecode is cached as after `pip install` (PYTHONDONTWRITEBYTECODE is unset for the children
and each command runs once, untimed, first); `--no-bytecode` measures with every module
compiled from source on each run instead.

`--instructions` adds the instructions each command executes, counted by valgrind's callgrind
(one run each, about 5 s): the same figure on every run, however busy the machine, so it is
the one to compare two versions by, where wall times on a shared machine vary by a quarter.

    .venv/bin/python benchmarks/bench_startup.py [--runs N] [--instructions]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.demo import DEMO_BLUEPRINT, make_demo_repo  # noqa: E402

HEAVY = ("libcst", "git", "jinja2", "rich")
COUNT = "import sys, runpy; sys.argv = ['runner', *{args!r}]\n" + (
    "try:\n    runpy.run_module('runner', run_name='__main__')\nexcept SystemExit:\n    pass\n"
    "print(len(sys.modules), ','.join(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy!r})),"
    " file=sys.stderr)"
)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, user+sys CPU) of one run, in ms."""
    cpu = _children_cpu()
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    return (time.perf_counter() - start) * 1000, (_children_cpu() - cpu) * 1000


def _env(bytecode: bool) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NO_COLOR", None)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def instructions(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Millions of instructions ``command`` executes (valgrind --tool=callgrind)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind gave no count: {done.stderr.strip().splitlines()[-1:]}")
    return int(found.group(1)) / 1e6


def measure(args: list[str], cwd: Path, runs: int, bytecode: bool) -> tuple[float, float, float, int, str]:
    env = _env(bytecode)
    if bytecode:
        _run([sys.executable, "-m", "runner", *args], cwd, env)  # warm-up: writes the bytecode
    samples, floor = [], []
    for _ in range(runs):
        floor.append(_run([sys.executable, "-c", "pass"], cwd, env)[0])
        samples.append(_run([sys.executable, "-m", "runner", *args], cwd, env))
    probe = subprocess.run(
        [sys.executable, "-c", COUNT.format(args=args, heavy=set(HEAVY))],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    modules, _, heavy = probe.stderr.strip().splitlines()[-1].partition(" ")
    wall = statistics.median(s[0] for s in samples)
    cpu = statistics.median(s[1] for s in samples)
    return wall, cpu, wall / statistics.median(floor), int(modules), heavy or "-"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-bytecode", action="store_true", help="compile every module on each run")
    parser.add_argument("--instructions", action="store_true", help="count instructions (valgrind)")
    options = parser.parse_args()
    runs, bytecode = options.runs, not options.no_bytecode
    if options.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_demo_repo(Path(tmp) / "repo", [DEMO_BLUEPRINT])
        blueprint = f"blueprints/{DEMO_BLUEPRINT.name}"
        print(
            f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {runs} runs each; "
            f"bytecode {'cached' if bytecode else 'not cached'}"
        )
        header = f"{'command':<26} {'wall ms':>8} {'cpu ms':>7} {'x floor':>8} {'modules':>8}"
        if options.instructions:
            header += f" {'M instr':>8} {'x floor':>8}"
            floor_instr = instructions([sys.executable, "-c", "pass"], repo, _env(bytecode))
        print(header + "  heavy packages imported")
        for label, args in [
            ("runner --version", ["--version"]),
            ("runner --help", ["--help"]),
            ("runner status", ["status", blueprint]),
            ("runner status --json", ["status", blueprint, "--json"]),
            ("runner next --json", ["next", blueprint, "--json"]),
            ("runner lint", ["lint", blueprint]),
            ("runner lint --json", ["lint", blueprint, "--json"]),
        ]:
            wall, cpu, ratio, modules, heavy = measure(args, repo, runs, bytecode)
            row = f"{label:<26} {wall:>8.0f} {cpu:>7.0f} {ratio:>8.2f} {modules:>8}"
            if options.instructions:
                count = instructions([sys.executable, "-m", "runner", *args], repo, _env(bytecode))
                row += f" {count:>8.1f} {count / floor_instr:>8.2f}"
            print(f"{row}  {heavy}")
        floor = [_run([sys.executable, "-c", "pass"], repo, _env(bytecode)) for _ in range(runs)]
        wall, cpu = statistics.median(s[0] for s in floor), statistics.median(s[1] for s in floor)
        row = f"{'python -c pass (floor)':<26} {wall:>8.0f} {cpu:>7.0f}"
        if options.instructions:
            row += f" {'':>8} {'':>8} {floor_instr:>8.1f}"
        print(row)
        print(f"with load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
