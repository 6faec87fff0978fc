"""A run computes its tasks ahead while the import gate's server starts, and reuses the results.

`runner.commands.warm` foresees whether a run will use the import gate (then the server starts
before the runner's own modules load); `runner.memo` keeps the costly pure results (codemod
passes, pattern and undefined-name checks) for the run, so each is computed once; one
`git ls-files` gives a task's three views of the index.
"""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from runner import execute, task_gates
from runner.blueprint.model import parse_blueprint
from runner.cli import main
from runner.commands.warm import imports_ahead
from runner.execute import _worth_keeping
from runner.memo import memoized, remembering
from runner.repository import Repository
from tests.conftest import ROOT, commit_count

PLAN_001 = ROOT / "blueprints" / "PLAN-001-core-training-stabilization.md"


def _plan(outline: str) -> bytes:
    return (
        '---\ntitle: "PLAN-042: Test plan"\n---\n\n# Living Implementation Blueprint: PLAN-042\n\n'
        "## Progress Tracker\n- **STATUS:** Not Started\n- **CURRENT STEP:** Phase 1, Task 1.1\n"
        "- **LAST COMPLETED TASK:** None\n- **NEXT TASK:** Task 1.1\n\n"
        "### Implementation Outline (Checklist)\n\n#### **Phase 1: One**\n"
        f"{outline}\n\n---\n"
    ).encode()


def test_plan_001_foresees_the_import_gate_and_its_config_tasks_do_not() -> None:
    bp = parse_blueprint(PLAN_001.read_bytes(), PLAN_001.name)
    assert imports_ahead(bp.pending(), automatic=True)
    assert imports_ahead(bp.pending(), automatic=False)  # it has explicit `import` gates
    config_tasks = [t for t in bp.pending() if t.id.startswith("4.")]
    assert config_tasks and not imports_ahead(config_tasks, automatic=True)


def test_a_codemod_step_needs_the_server_only_with_the_automatic_import_gate() -> None:
    bp = parse_blueprint(
        _plan("1. [ ] **Task 1.1: Fix**\n   - [ ] Apply `remove-detach-cpu` to `ocr/`\n"), "p.md"
    )
    assert imports_ahead(bp.pending(), automatic=True)
    assert not imports_ahead(bp.pending(), automatic=False)


def test_a_manual_task_stops_the_forecast() -> None:
    bp = parse_blueprint(
        _plan(
            "1. [ ] **Task 1.1: Think**\n   - [ ] Decide what the loss should be\n"
            '2. [ ] **Task 1.2: Check**\n   - [ ] Run import check: `python -c "import ocr"`\n'
        ),
        "p.md",
    )
    assert not imports_ahead(bp.pending(), automatic=True)
    assert imports_ahead(bp.pending()[1:], automatic=True)


def test_memoized_computes_once_inside_remembering_and_always_outside() -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert memoized("k", compute) == 1
    assert memoized("k", compute) == 2  # nothing is kept outside a block
    with remembering():
        assert memoized("k", compute) == 3
        with remembering():  # a nested block shares the outer one
            assert memoized("k", compute) == 3
        assert memoized("other", compute) == 4
        assert memoized("cheap", compute, keep=lambda _: False) == 5
        assert memoized("cheap", compute, keep=lambda _: False) == 6
    with remembering():
        assert memoized("k", compute) == 7


def test_a_codemod_pass_over_a_star_import_is_not_kept() -> None:
    from codemods.engine import FileOutcome

    parsed = FileOutcome("a.py", "unchanged", b"", b"", parsed=True)
    assert _worth_keeping(b"import torch\n", parsed)
    assert not _worth_keeping(b"from torch import *\n", parsed)  # the codemod reads torch's files
    assert not _worth_keeping(b"import torch\n", FileOutcome("a.py", "unchanged", b"", b""))


def test_one_ls_files_gives_the_tracked_files_and_the_python_fingerprint(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path)
    (tmp_path / "pkg").mkdir()
    for name, text in {"a.py": "A = 1\n", "pkg/b.py": "B = 2\n", "notes.md": "x\n"}.items():
        (tmp_path / name).write_text(text)
    repo.git.add("-A")
    repo.git.commit("-m", "init", "--no-verify")
    runner_repo = Repository(tmp_path)
    blobs = runner_repo.tracked_blobs()
    assert list(blobs) == runner_repo.tracked_files() == ["a.py", "notes.md", "pkg/b.py"]
    changed = {"a.py": b"A = 3\n"}
    assert runner_repo.python_fingerprint(changed, blobs) == runner_repo.python_fingerprint(changed)
    assert runner_repo.python_fingerprint(changed) != runner_repo.python_fingerprint({})


def test_a_run_computes_each_codemod_pass_and_pattern_check_once(
    demo_repo: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert callable(demo_repo)
    repo: Path = demo_repo()
    passes: list[str] = []
    patterns: list[str] = []
    real_pass, real_absent = execute.apply_codemods, task_gates.check_absent

    def counted_pass(*args: object, **kwargs: object) -> object:
        passes.append(str(args[2]))
        return real_pass(*args, **kwargs)  # type: ignore[arg-type]

    def counted_absent(*args: object) -> object:
        patterns.append(str(args[1]))
        return real_absent(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(execute, "apply_codemods", counted_pass)
    monkeypatch.setattr(task_gates, "check_absent", counted_absent)
    monkeypatch.chdir(repo)
    code = main(["run", f"blueprints/{PLAN_001.name}"])
    assert code == 0, capsys.readouterr().err
    assert commit_count(repo) == 9  # the initial commit and one per task
    # Each file the codemods rewrite is parsed once in the run (computed ahead, then reused);
    # pattern-absent on db_head.py runs in Tasks 1.1 and 1.2, on the same bytes: once.
    assert sorted(passes) == sorted(set(passes)) and len(passes) == 3
    assert patterns == ["ocr/models/head/db_head.py"]
    assert "torch.sigmoid" in (repo / "ocr/models/head/db_head.py").read_text()


def test_a_run_parses_the_same_blueprint_bytes_once() -> None:
    source = PLAN_001.read_bytes()
    assert parse_blueprint(source, "p.md") is not parse_blueprint(source, "p.md")
    with remembering():
        first = parse_blueprint(source, "p.md")
        assert parse_blueprint(source, "p.md") is first
        assert parse_blueprint(source + b"\n", "p.md") is not first
