"""The references gate: "Verify nothing refers to `PATH`", after a task removes or moves files.

Imports by structure (relative ones resolved), string paths in code, YAML
values, Markdown links resolved from the document's folder and paths in text;
look-alikes (a longer name, a backup copy, a sibling module) are not referrers.
"""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from runner.errors import ExitCode
from runner.gates.references import find_references
from tests.conftest import RepoFactory, commit_count, snapshot
from tests.helpers import cli, write_plan

REFERRING = {
    "docs/TROUBLESHOOTING.md": (
        "# Troubleshooting\n\n"
        "If CUDA hangs, run the [debug script](../scripts/profile_gpu.sh#usage).\n"
        "Old copies live in `.backup/scripts-backup-20250101/`.\n"
        "Not this one: `scripts/profile_gpu.sh.bak`, nor [that](https://example.com/scripts/profile_gpu.sh).\n"
    ),
    "README.md": "See [docs](docs/TROUBLESHOOTING.md) and `scripts/profile_gpu.sh`.\n",
    "configs/tools.yaml": (
        "# tools the trainer can call\n"
        "debug:\n"
        "  script: scripts/profile_gpu.sh   # run on hang\n"
        "  other: myscripts/profile_gpu.sh\n"
        "legacy: [.backup/scripts-backup-20250301/eval_old.sh]\n"
    ),
    "ocr/tools/run_debug.py": (
        "import subprocess\n\n\n"
        "def debug() -> None:\n"
        '    subprocess.run(["bash", "scripts/profile_gpu.sh"], check=False)\n'
        '    print("scripts/profile_gpu.shell is unrelated")\n'
    ),
    "ocr/legacy/__init__.py": "",
    "ocr/legacy/old_utils.py": "def f() -> int:\n    return 1\n",
    "ocr/legacy/old_utils_v2.py": "def g() -> int:\n    return 2\n",
    "ocr/uses_legacy.py": (
        "from ocr.legacy import old_utils\n"
        "from ocr.legacy.old_utils_v2 import g\n"
        "import ocr.legacy.old_utils as u\n"
        "from .legacy.old_utils import f\n"
        "from .legacy import old_utils_v2\n"
        'NAME = "ocr.legacy.old_utils"\n'
    ),
    "scripts/profile_gpu.sh": "#!/bin/sh\nnvidia-smi\n",
    "scripts/run_all.sh": "#!/bin/sh\nsh scripts/profile_gpu.sh\nsh scripts/profile_gpu.sh.bak\n",
}


def _read(files: dict[str, str]) -> object:
    def read(name: str) -> bytes | None:
        return files[name].encode() if name in files else None

    return read


def test_every_kind_of_referrer_with_its_line() -> None:
    files = dict(REFERRING)
    found = find_references(
        sorted(files),
        _read(files),  # type: ignore[arg-type]
        ["scripts/profile_gpu.sh", "ocr/legacy/old_utils.py", ".backup/scripts-backup-*/"],
    )
    assert [str(r) for r in found["scripts/profile_gpu.sh"]] == [
        "README.md:1 (path)",
        "configs/tools.yaml:3 (config value)",
        "docs/TROUBLESHOOTING.md:3 (link)",
        "ocr/tools/run_debug.py:5 (string)",
        "scripts/run_all.sh:2 (path)",
    ]
    assert [str(r) for r in found["ocr/legacy/old_utils.py"]] == [
        "ocr/uses_legacy.py:1 (import)",
        "ocr/uses_legacy.py:3 (import)",
        "ocr/uses_legacy.py:4 (import)",
        "ocr/uses_legacy.py:6 (string)",
    ]
    assert [str(r) for r in found[".backup/scripts-backup-*"]] == [
        "configs/tools.yaml:5 (config value)",
        "docs/TROUBLESHOOTING.md:4 (path)",
    ]


def test_a_removed_package_is_named_by_imports_of_anything_inside() -> None:
    files = {k: v for k, v in REFERRING.items() if k.endswith(".py")}
    found = find_references(sorted(files), _read(files), ["ocr/legacy/"])  # type: ignore[arg-type]
    assert [r.line for r in found["ocr/legacy"]] == [1, 2, 3, 4, 5, 6]


def _install(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git.Repo(repo).git.add("-A")
    git.Repo(repo).git.commit("-m", "legacy files and their referrers", "--no-verify")


CLEANUP = (
    "1. [ ] **Task 1.1: Remove the debug script**\n"
    "   - [ ] Archive `scripts/profile_gpu.sh` to `archive/debug.tar.gz` and remove them\n"
    "   - [ ] Verify nothing refers to `scripts/profile_gpu.sh`\n"
)


@pytest.mark.slow
def test_removal_with_referrers_blocks_and_restores(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    _install(repo, REFERRING)
    plan = write_plan(repo, CLEANUP)
    before, count = snapshot(repo), commit_count(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.TASK_FAILED
    gate = next(g for g in doc["tasks"][0]["gates"] if g["gate"] == "references")
    assert gate["status"] == "failed" and gate["target"] == "scripts/profile_gpu.sh"
    assert gate["detail"] == (
        "still referred to by README.md:1 (path), configs/tools.yaml:3 (config value), "
        "docs/TROUBLESHOOTING.md:3 (link), ocr/tools/run_debug.py:5 (string), scripts/run_all.sh:2 (path)"
    )
    after = snapshot(repo)
    assert {p for p in after if after[p] != before.get(p)} == {f"blueprints/{plan.name}"}
    assert set(after) == set(before) and commit_count(repo) == count + 1


@pytest.mark.slow
def test_removal_without_referrers_passes(demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo()
    _install(
        repo, {"scripts/profile_gpu.sh": "#!/bin/sh\n", "docs/GUIDE.md": "Use `scripts/profile_gpu.py`.\n"}
    )
    plan = write_plan(repo, CLEANUP)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    gate = next(g for g in doc["tasks"][0]["gates"] if g["gate"] == "references")
    assert gate["status"] == "passed" and gate["detail"].startswith("nothing refers to it")
    assert not (repo / "scripts/profile_gpu.sh").exists()


@pytest.mark.slow
def test_blocked_archive_puts_removed_folders_back(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's docs link into a backup folder: the archive is undone, emptied folders and all."""
    repo = demo_repo()
    plan = write_plan(
        repo,
        "1. [ ] **Task 1.1: Archive the backups**\n"
        "   - [ ] Archive `.backup/scripts-backup-*/` to `archive/backups.tar.gz` and remove them\n"
        "   - [ ] Verify nothing refers to `.backup/scripts-backup-*/`\n",
    )
    before = snapshot(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.TASK_FAILED
    assert doc["tasks"][0]["blocker"] == (
        "references gate failed on .backup/scripts-backup-*: still referred to by docs/debugging.md:7 (link)"
    )
    after = snapshot(repo)
    assert set(after) == set(before)  # every backup file back, in its recreated folder
    assert {p for p in after if after[p] != before[p]} == {f"blueprints/{plan.name}"}
