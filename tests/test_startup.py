"""Start-up: `--help`, `--version --json` and `status --json` import no libcst, GitPython, Jinja2, rich.

What they cost is measured in benchmarks/bench_startup.py; this checks the cause, not the time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RepoFactory
from tests.helpers import PLAN_001

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("libcst", "git", "jinja2", "rich", "codemods")
PROBE = (
    "import sys, runpy\nsys.argv = ['runner', *{args!r}]\n"
    "try:\n    runpy.run_module('runner', run_name='__main__')\nexcept SystemExit:\n    pass\n"
    "print(sorted({{m.split('.')[0] for m in sys.modules}}), file=sys.stderr)"
)


def imported(args: list[str], cwd: Path) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    probe = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], cwd=cwd, env=env, capture_output=True, text=True
    )
    return set(json.loads(probe.stderr.strip().splitlines()[-1].replace("'", '"')))


@pytest.mark.parametrize("args", [["--help"], ["--version", "--json"], ["status", PLAN_001, "--json"]])
def test_light_commands_import_no_heavy_package(args: list[str], demo_repo: RepoFactory) -> None:
    assert not imported(args, demo_repo()) & set(HEAVY)


def test_a_command_that_needs_them_still_gets_them(demo_repo: RepoFactory) -> None:
    assert {"libcst", "codemods"} <= imported(["next", PLAN_001, "--json"], demo_repo())
