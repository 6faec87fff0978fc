"""`runner demo`: PLAN-001 on a fresh copy of the demo OCR project, then one revert."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import git

from runner.blueprint.model import tracker_values
from runner.commands.revert import revert
from runner.commands.run import run
from runner.commands.session import Progress, open_session
from runner.errors import ExitCode, InputError
from runner.report import CommandReport, DemoData

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_FIXTURE = PROJECT_ROOT / "fixtures" / "ocr-project"
DEMO_BLUEPRINT = PROJECT_ROOT / "blueprints" / "PLAN-001-core-training-stabilization.md"
REVERTED_TASK = "PLAN-001:3.1"


def make_demo_repo(demo_dir: Path, blueprints: list[Path], fixture: Path = DEMO_FIXTURE) -> Path:
    """Copy ``fixture`` and ``blueprints`` into ``demo_dir`` as a one-commit git repo."""
    if not fixture.is_dir():
        raise InputError("demo fixture not found; run from a clone of the repository", path=str(fixture))
    shutil.copytree(fixture, demo_dir)
    (demo_dir / "blueprints").mkdir()
    for blueprint in blueprints:
        shutil.copyfile(blueprint, demo_dir / "blueprints" / blueprint.name)
    repo = git.Repo.init(demo_dir, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Blueprint Runner Demo")
        config.set_value("user", "email", "demo@blueprint-runner.invalid")
        config.set_value("commit", "gpgsign", "false")
    repo.git.add("-A")
    repo.git.commit("-m", "Demo OCR project before PLAN-001", "--no-verify")
    return demo_dir


def run_demo(keep: Path | None, progress: Progress) -> CommandReport:
    base = keep if keep is not None else Path(tempfile.mkdtemp(prefix="runner-demo-"))
    demo_dir = base / "ocr-project" if keep is None or keep.exists() else keep
    make_demo_repo(demo_dir, [DEMO_BLUEPRINT])
    blueprint = demo_dir / "blueprints" / DEMO_BLUEPRINT.name
    progress(f"demo repository: {demo_dir}")

    session = open_session(demo_dir, blueprint, progress=progress)
    report = run(session)
    report.command = "demo"
    if report.exit_code != ExitCode.OK:
        return report
    repo = git.Repo(demo_dir)
    log_after_run = repo.git.log("--format=%h %s")
    tracker_after_run = tracker_values(session.load())

    progress(f"reverting {REVERTED_TASK} to show rollback")
    reverted = revert(open_session(demo_dir, blueprint, progress=progress), REVERTED_TASK)
    report.tasks += reverted.tasks
    report.exit_code = reverted.exit_code
    tracker_after_revert = tracker_values(session.load())

    lines = [
        "",
        f"Commits in {demo_dir}, newest first, after `runner run`:",
        *(f"  {line}" for line in log_after_run.splitlines()),
        "",
        "Progress Tracker after the run:",
        *(f"  {k}: {v}" for k, v in tracker_after_run.items()),
        "",
        f"After `runner revert {REVERTED_TASK}`:",
        f"  {repo.git.log('-1', '--format=%h %s')}",
        *(f"  {k}: {v}" for k, v in tracker_after_revert.items()),
        "",
        f"Try it yourself: cd {demo_dir} && git log --stat",
        "",
    ]
    report.data = DemoData(
        repo=str(demo_dir),
        commits=log_after_run.splitlines(),
        tracker_after_run=tracker_after_run,
        tracker_after_revert=tracker_after_revert,
        transcript="\n".join(lines),
    )
    report.message = f"demo finished: PLAN-001 applied and {REVERTED_TASK} reverted in {demo_dir}"
    return report
