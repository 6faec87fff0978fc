"""Helpers the integration tests share: the CLI as agents call it, and a small committed plan."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import git
import pytest

from runner.cli import main
from runner.faults import ENV
from tests.conftest import snapshot

PLAN_001 = "blueprints/PLAN-001-core-training-stabilization.md"
DB_HEAD = "ocr/models/head/db_head.py"


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main([str(a) for a in args] + ["--json"])
    out = capsys.readouterr().out
    document = json.loads(out)  # exactly one JSON document, or this raises
    assert document["schema_version"] == 1
    assert document["exit_code"] == code
    return code, document


def trailers(repo: Path, rev: str = "HEAD") -> dict[str, str]:
    text = git.Repo(repo).git.log("-1", "--format=%(trailers:only,unfold)", rev)
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def write_plan(repo: Path, outline: str, name: str = "PLAN-042-test.md") -> Path:
    """A small blueprint committed into ``repo``."""
    text = (
        '---\ntitle: "PLAN-042: Test plan"\n---\n\n# Living Implementation Blueprint: PLAN-042\n\n'
        "## Progress Tracker\n- **STATUS:** Not Started\n- **CURRENT STEP:** Phase 1, Task 1.1\n"
        "- **LAST COMPLETED TASK:** None\n- **NEXT TASK:** Task 1.1\n\n"
        "### Implementation Outline (Checklist)\n\n#### **Phase 1: Step Function Fix**\n"
        f"{outline}\n\n---\n\n### **Fallback Options**:\n"
        "1. **If step function fix breaks**: Revert to previous implementation\n"
        "2. **If validation fails**: Rollback specific commit, document issue\n\n"
        "## **Immediate Next Action**\n\n**TASK:** Task 1.1\n\n---\n"
    )
    path = repo / "blueprints" / name
    path.write_text(text, encoding="utf-8")
    git_repo = git.Repo(repo)
    git_repo.git.add("-A")
    git_repo.git.commit("-m", "add test plan", "--no-verify")
    return path


def run_killed(repo: Path, stage: str, *args: str | Path) -> subprocess.CompletedProcess[bytes]:
    """``runner ARGS --repo REPO`` in a child that SIGKILLs itself at checkpoint ``stage``."""
    return subprocess.run(
        [sys.executable, "-m", "runner", *map(str, args), "--repo", str(repo)],
        env={**os.environ, ENV: stage},
        capture_output=True,
        check=False,
        timeout=300,
    )


def crashed_run(repo: Path, outline: str, stage: str = "after-writes") -> tuple[Path, dict[str, bytes]]:
    """A plan committed into ``repo`` and run until SIGKILL at ``stage``: (plan, tree before)."""
    plan = write_plan(repo, outline)
    before = snapshot(repo)
    killed = run_killed(repo, stage, "run", plan)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    return plan, before
