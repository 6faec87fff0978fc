"""Start-up: `--help`, `--version`, `status`, `next` and `lint` import no libcst, GitPython,
Jinja2 or rich (text output to a pipe and `--json` alike).

What they cost is measured in benchmarks/bench_startup.py; this checks the cause, not the time.
By design: `lint` and `next` check codemod steps from the codemods' declarations
(codemods/declarations.py) and read step snippets with `ast`; LibCST is imported only to check a
step's code blocks, and rich only when a person watches a terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PLAN_001

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"libcst", "git", "jinja2", "rich"}
PROBE = (
    "import sys, runpy\nsys.argv = ['runner', *{args!r}]\n"
    "try:\n    runpy.run_module('runner', run_name='__main__')\nexcept SystemExit:\n    pass\n"
    "print(sorted(sys.modules), file=sys.stderr)"
)


def imported(args: list[str], cwd: Path = ROOT) -> set[str]:
    """The top-level packages the command imports."""
    return {name.split(".")[0] for name in modules(args, cwd)}


def modules(args: list[str], cwd: Path = ROOT) -> set[str]:
    """Every module the command imports."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"PYTHONPATH": str(ROOT)}
    probe = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], cwd=cwd, env=env, capture_output=True, text=True
    )
    return set(json.loads(probe.stderr.strip().splitlines()[-1].replace("'", '"')))


LIGHT = [
    ["--help"],
    ["status", "--help"],
    ["--version"],
    ["--version", "--json"],
    ["status", PLAN_001],
    ["status", PLAN_001, "--json"],
    ["next", PLAN_001],
    ["next", PLAN_001, "--json"],
    ["lint", PLAN_001],
    ["lint", PLAN_001, "--json"],
    ["lint", "blueprints/PLAN-005-legacy-cleanup-config-consolidation.md", "--json"],
    ["status", "no-such-blueprint.md"],  # an error, rendered as text
]


@pytest.mark.parametrize("args", LIGHT, ids=" ".join)
def test_light_commands_import_no_heavy_package(args: list[str]) -> None:
    assert not imported(args) & HEAVY


@pytest.mark.parametrize("args", [["next", PLAN_001, "--json"], ["lint", PLAN_001]], ids=" ".join)
def test_next_and_lint_check_import_steps_without_the_import_gates_machinery(args: list[str]) -> None:
    """PLAN-001 has import gate steps: a step's module name comes from runner/fsutil.py, not from
    the import gate (its server: socket, hashlib, tempfile); files are listed without subprocess."""
    assert not modules(args) & {"runner.gates.imports", "runner.gates.import_server", "subprocess", "socket"}


def test_lint_shows_its_fixes_without_the_task_reports() -> None:
    assert not modules(["lint", PLAN_001]) & {
        "runner.reporting",
        "runner.task_report",
        "runner.blueprint.objective",
    }


def test_help_and_status_do_not_even_import_the_codemods_package() -> None:
    assert "codemods" not in imported(["status", PLAN_001, "--json"]) | imported(["--help"])


def test_code_blocks_are_still_checked_with_libcst() -> None:
    """A blueprint with `Replace in` blocks: lint parses them (LibCST), so it imports it."""
    assert "libcst" in imported(["lint", "blueprints/PLAN-004-inference-service-consolidation.md", "--json"])


# Read-only commands on the repo's blueprints: their front matter is read without PyYAML.
WITHOUT_YAML = [
    ["--help"],
    ["--version"],
    ["status", PLAN_001],
    ["status", PLAN_001, "--json"],
    ["next", PLAN_001, "--json"],
    ["lint", PLAN_001],
]


@pytest.mark.parametrize("args", WITHOUT_YAML, ids=" ".join)
def test_front_matter_is_read_without_pyyaml(args: list[str]) -> None:
    assert "yaml" not in imported(args)


def test_a_front_matter_outside_the_simple_subset_is_still_read_with_pyyaml(tmp_path: Path) -> None:
    source = (ROOT / PLAN_001).read_text(encoding="utf-8")
    (tmp_path / "plan.md").write_text(source.replace("---\n", "---\n# a YAML comment\n", 1), encoding="utf-8")
    assert "yaml" in imported(["status", str(tmp_path / "plan.md"), "--repo", str(tmp_path)], cwd=tmp_path)


def test_version_needs_no_package_metadata() -> None:
    """`runner --version` prints runner.__version__, which pyproject.toml takes as the version."""
    assert "importlib" not in imported(["--version"]) - imported(["--help"])


def test_the_version_printed_is_the_installed_distributions() -> None:
    from importlib import metadata

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"PYTHONPATH": str(ROOT)}
    shown = subprocess.run(
        [sys.executable, "-m", "runner", "--version"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert shown.stdout == f"runner {metadata.version('blueprint-runner')}\n"


def test_version_alone_is_answered_as_the_full_path_answers(capsys: pytest.CaptureFixture[str]) -> None:
    """`runner --version` prints before the parser and the response load; `--vers` (argparse's
    abbreviation) goes the whole way: parser, version report, next_action, text rendering."""
    from runner.cli import main

    assert main(["--version"]) == 0
    early = capsys.readouterr()
    assert main(["--vers"]) == 0
    assert capsys.readouterr() == early
    assert early.out.startswith("runner ")


# What the read-only commands' start-up no longer pays for (benchmarks/bench_startup.py has the
# figures): dataclasses (with inspect, ast, dis and tokenize) and the methods it compiles for
# each class (runner/records.py), shutil for argparse's terminal width (runner/cli.py), difflib
# for the diff of a blueprint `lint` leaves as is (runner/diffs.py).
@pytest.mark.parametrize(
    "args", [["status", PLAN_001], ["next", PLAN_001, "--json"], ["lint", PLAN_001]], ids=" ".join
)
def test_read_only_commands_import_no_module_they_do_not_use(args: list[str]) -> None:
    assert not modules(args) & {"dataclasses", "inspect", "dis", "shutil", "bz2", "lzma", "difflib"}


def test_the_collector_is_off_only_while_a_read_only_command_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """status, next and lint skip the cyclic collector's passes; a run, which may allocate for
    minutes, collects; and whoever called main gets the collector back as it was."""
    import gc

    import runner.cli as cli

    seen: dict[str, bool] = {}
    real = cli._dispatch

    def dispatch(args: Any, argv: Any, progress: Any) -> Any:
        seen[args.command] = gc.isenabled()
        return real(args, argv, progress)

    monkeypatch.setattr(cli, "_dispatch", dispatch)
    assert gc.isenabled()
    cli.main(["status", PLAN_001])
    assert gc.isenabled()
    cli.main(["codemod", "list"])
    assert seen == {"status": False, "codemod": True} and gc.isenabled()
    gc.disable()
    try:
        cli.main(["codemod", "list"])
        assert not gc.isenabled() and seen["codemod"] is False  # a caller's choice stands
    finally:
        gc.enable()
