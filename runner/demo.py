"""`runner demo`: PLAN-001 on a fresh copy of the demo OCR project, then one revert."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import git

from runner import loop
from runner.errors import ExitCode, InputError
from runner.report import CommandReport

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_FIXTURE = PROJECT_ROOT / "fixtures" / "ocr-project"
DEMO_BLUEPRINT = PROJECT_ROOT / "blueprints" / "PLAN-001-core-training-stabilization.md"
REVERTED_TASK = "PLAN-001:3.1"


def make_demo_repo(target: Path, blueprints: list[Path], fixture: Path = DEMO_FIXTURE) -> Path:
    """Copy ``fixture`` and ``blueprints`` into ``target`` as a one-commit git repo."""
    if not fixture.is_dir():
        raise InputError("demo fixture not found; run from a clone of the repository", path=str(fixture))
    shutil.copytree(fixture, target)
    (target / "blueprints").mkdir()
    for blueprint in blueprints:
        shutil.copyfile(blueprint, target / "blueprints" / blueprint.name)
    repo = git.Repo.init(target, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Blueprint Runner Demo")
        config.set_value("user", "email", "demo@blueprint-runner.invalid")
        config.set_value("commit", "gpgsign", "false")
    repo.git.add("-A")
    repo.git.commit("-m", "Demo OCR project before PLAN-001", "--no-verify")
    return target


def run_demo(keep: Path | None, progress: loop.Progress) -> CommandReport:
    base = keep if keep is not None else Path(tempfile.mkdtemp(prefix="runner-demo-"))
    target = base / "ocr-project" if keep is None or keep.exists() else keep
    make_demo_repo(target, [DEMO_BLUEPRINT])
    blueprint = target / "blueprints" / DEMO_BLUEPRINT.name
    progress(f"demo repository: {target}")

    session = loop.open_session(target, blueprint, progress=progress)
    report = loop.run(session)
    report.command = "demo"
    if report.exit_code != ExitCode.OK:
        return report
    repo = git.Repo(target)
    log_after_run = repo.git.log("--format=%h %s")
    tracker_after_run = dict(loop.status(session).data["tracker"])

    progress(f"reverting {REVERTED_TASK} to show rollback")
    reverted = loop.revert(loop.open_session(target, blueprint, progress=progress), REVERTED_TASK)
    report.tasks += reverted.tasks
    report.exit_code = reverted.exit_code
    status_after = loop.status(session).data

    lines = [
        "",
        f"Commits in {target}, newest first, after `runner run`:",
        *(f"  {line}" for line in log_after_run.splitlines()),
        "",
        "Progress Tracker after the run:",
        *(f"  {k}: {v}" for k, v in tracker_after_run.items()),
        "",
        f"After `runner revert {REVERTED_TASK}`:",
        f"  {repo.git.log('-1', '--format=%h %s')}",
        *(f"  {k}: {v}" for k, v in status_after["tracker"].items()),
        "",
        f"Try it yourself: cd {target} && git log --stat",
        "",
    ]
    report.data = {
        "repo": str(target),
        "commits": log_after_run.splitlines(),
        "tracker_after_run": tracker_after_run,
        "tracker_after_revert": status_after["tracker"],
        "transcript": "\n".join(lines),
    }
    report.message = f"demo finished: PLAN-001 applied and {REVERTED_TASK} reverted in {target}"
    return report
