"""Start-up time of the CLI: `runner --help` and `runner status` (text and --json) on the demo repo.

Each command runs in a fresh interpreter N times; the median wall time is printed with the
number of modules the command imported (libcst, GitPython, Jinja2 and rich are imported only
by the commands that need them). Target: under 100 ms for `--help` and `status --json`.

    .venv/bin/python benchmarks/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.demo import DEMO_BLUEPRINT, make_demo_repo  # noqa: E402

COUNT = "import sys, runpy; sys.argv = ['runner', *{args!r}]\n" + (
    "try:\n    runpy.run_module('runner', run_name='__main__')\nexcept SystemExit:\n    pass\n"
    "print(len(sys.modules), file=sys.stderr)"
)


def measure(args: list[str], cwd: Path, runs: int) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "runner", *args], cwd=cwd, env=env, capture_output=True)
        times.append(time.perf_counter() - start)
    probe = subprocess.run(
        [sys.executable, "-c", COUNT.format(args=args)], cwd=cwd, env=env, capture_output=True, text=True
    )
    modules = int(probe.stderr.strip().splitlines()[-1])
    return statistics.median(times) * 1000, modules


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_demo_repo(Path(tmp) / "repo", [DEMO_BLUEPRINT])
        blueprint = f"blueprints/{DEMO_BLUEPRINT.name}"
        print(f"{'command':<28} {'median ms':>10} {'modules':>8}")
        for label, args in [
            ("runner --version", ["--version"]),
            ("runner --help", ["--help"]),
            ("runner status --json", ["status", blueprint, "--json"]),
            ("runner status", ["status", blueprint]),
        ]:
            ms, modules = measure(args, repo, runs)
            print(f"{label:<28} {ms:>10.0f} {modules:>8}")
        python_ms = statistics.median(_time([sys.executable, "-c", "pass"]) for _ in range(runs))
        print(f"{'python -c pass (floor)':<28} {python_ms:>10.0f}")


def _time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True)
    return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    main()
