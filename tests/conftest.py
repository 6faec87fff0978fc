"""Shared fixtures: demo repositories built from fixtures/ocr-project."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import git
import pytest

from runner.demo import DEMO_BLUEPRINT, make_demo_repo

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = sorted((ROOT / "blueprints").glob("*.md"))
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits need an identity; CI machines have none configured."""
    for key, value in {
        "GIT_AUTHOR_NAME": "Runner Test",
        "GIT_AUTHOR_EMAIL": "test@blueprint-runner.invalid",
        "GIT_COMMITTER_NAME": "Runner Test",
        "GIT_COMMITTER_EMAIL": "test@blueprint-runner.invalid",
    }.items():
        monkeypatch.setenv(key, value)


RepoFactory = Callable[..., Path]

# Fixtures that build a git repository: a test using one is an integration test.
_REPO_FIXTURES = frozenset({"demo_repo", "completed_demo"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that builds a repository ``slow``, whoever wrote its module."""
    for item in items:
        if _REPO_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def demo_repo(tmp_path: Path) -> RepoFactory:
    """Build a fresh demo repo (with the given blueprints) and return its path."""

    def build(*blueprints: Path) -> Path:
        return make_demo_repo(tmp_path / "repo", list(blueprints) or [DEMO_BLUEPRINT])

    return build


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the working tree (not .git) with its bytes."""
    files: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath) / name
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def commit_count(root: Path) -> int:
    return int(git.Repo(root).git.rev_list("--count", "HEAD"))


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target
