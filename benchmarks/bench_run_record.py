"""What a run record costs a command: opening and closing one, and its size on disk.

Builds the demo repository in a temporary directory, then opens and closes a record
(options, system info, git state before and after, 40 events, result.json, report.md,
pruning) N times and prints the median and the slowest time, and the bytes one record
takes. Run it beside `runner run` timings: the record is written once per command.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_run_record.py [--times N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from runner import runlog
from runner.demo import DEMO_BLUEPRINT, make_demo_repo
from runner.repository import Repository


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--times", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        repo = Repository(make_demo_repo(Path(scratch) / "repo", [DEMO_BLUEPRINT]))
        result = {"command": "run", "exit_code": 0, "code": "ok", "plan": "PLAN-001", "tasks": []}
        took = []
        for index in range(args.times):
            events = runlog.EventLog()
            start = time.perf_counter()
            record = runlog.start(repo, f"{index:012x}", "run", ["run", "x"], {"run_id": "x"}, events)
            for step in range(40):
                with events.timed("step", task="1.1", line=step):
                    pass
            runlog.finish(record, repo, result)
            took.append(time.perf_counter() - start)
            assert not events.warnings, events.warnings
        directory = runlog.runs_dir(repo.git_dir)
        names = runlog.record_names(directory)
        size = sum(p.stat().st_size for p in (directory / names[0]).iterdir())
        print(f"records kept: {len(names)} of {args.times} written (the newest {runlog.KEEP})")
        median, slowest = statistics.median(took) * 1000, max(took) * 1000
        print(f"open + 40 events + close: median {median:.1f} ms, slowest {slowest:.1f} ms")
        print(f"one record: {size} bytes")


if __name__ == "__main__":
    main()
