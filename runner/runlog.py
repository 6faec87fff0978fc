"""Run records: what one `run`, `done`, `skip` or `revert` did, kept in the git directory.

``.git/blueprint-runner/runs/<UTC time>-<run id>/`` holds ``events.jsonl`` (every step,
gate and outcome, with timings, appended as they happen so a killed run leaves its trail),
``options.json`` (argv, the resolved ``[tool.runner]`` settings), ``system.json`` (Python,
platform, package versions), ``git.json`` (HEAD and ``git status --porcelain`` before and
after), ``result.json`` (the command's JSON response) and ``report.md`` (the same, for
people). In the git directory the records never dirty the tree. The last
:data:`KEEP` records are kept, minus those older than :data:`MAX_AGE_DAYS` days.

Writing a record must never break a run: every failure becomes a warning on the
:class:`EventLog`, and the command goes on.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.records import datarecord, field
from runner.review_data import RunRow, RunTaskRow

if TYPE_CHECKING:
    from runner.repository import Repository
    from runner.task_report import TaskReport

KEEP = 10
MAX_AGE_DAYS = 30
RUNS = Path("blueprint-runner") / "runs"
PACKAGES = (
    "blueprint-runner",
    "libcst",
    "GitPython",
    "PyYAML",
    "Jinja2",
    "rich",
    "tomlkit",
    "omegaconf",
    "ruff",
)
_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)-(?P<run>[0-9a-f]+)$")
_STAMP = "%Y%m%dT%H%M%SZ"


class EventLog:
    """The events of one command, in memory and (once :meth:`attach` ed) appended to a file.

    Commands pass it down to where steps and gates run; a session without a record
    keeps events in memory only, which costs nothing worth measuring.
    """

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self._start = time.monotonic()
        self._sink: Path | None = None

    def attach(self, sink: Path) -> None:
        self._sink = sink
        for row in self.events:  # anything emitted before the file existed
            self._append(row)

    def emit(self, event: str, **fields: Any) -> None:
        row = {"t": round(time.monotonic() - self._start, 4), "event": event, **fields}
        self.events.append(row)
        self._append(row)

    @contextmanager
    def timed(self, event: str, **fields: Any) -> Iterator[dict[str, Any]]:
        """Emit ``event`` with ``duration_ms`` when the block ends; the block may add fields."""
        extra: dict[str, Any] = {}
        start = time.monotonic()
        try:
            yield extra
        except BaseException as err:
            extra["error"] = f"{type(err).__name__}: {err}"
            raise
        finally:
            self.emit(event, **fields, **extra, duration_ms=round((time.monotonic() - start) * 1000, 1))

    def task_outcome(self, task: TaskReport) -> None:
        self.emit(
            "task",
            task=task.id,
            outcome=task.outcome,
            commit=task.commit,
            blocker=task.blocker,
            manual_step=task.manual_step.line if task.manual_step else None,
            files_changed=task.files_changed,
        )

    def warn(self, what: str, err: BaseException) -> None:
        self.warnings.append(f"run record: {what}: {err}; the command itself is unaffected")

    def _append(self, row: dict[str, Any]) -> None:
        if self._sink is None:
            return
        try:
            with self._sink.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row, default=str) + "\n")
        except OSError as err:
            self._sink = None  # one warning, not one per event
            self.warn("cannot append to events.jsonl", err)


def timed(events: EventLog | None, event: str, **fields: Any) -> AbstractContextManager[dict[str, Any]]:
    """:meth:`EventLog.timed`, or nothing at all without a log (codemod apply, a dry run's callers)."""
    return events.timed(event, **fields) if events is not None else nullcontext({})


@datarecord
class RunRecord:
    run_id: str
    command: str
    argv: list[str]
    events: EventLog
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    directory: Path | None = None
    git_before: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.started.strftime(_STAMP)}-{self.run_id}"


def runs_dir(git_dir: Path) -> Path:
    return git_dir / RUNS


def _git_state(repo: Repository) -> dict[str, Any]:
    state: dict[str, Any] = {}
    try:
        state["head"] = repo.repo.head.commit.hexsha
    except ValueError:
        state["head"] = None
    try:
        state["branch"] = repo.repo.active_branch.name
    except TypeError:
        state["branch"] = None  # detached
    state["status"] = repo.repo.git.status("--porcelain=v1", "--untracked-files=all").splitlines()
    return state


def system_info() -> dict[str, Any]:
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "packages": versions,
    }


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def start(
    repo: Repository,
    run_id: str,
    command: str,
    argv: Sequence[str],
    options: dict[str, Any],
    events: EventLog,
) -> RunRecord:
    """Open the record: its directory, options, system info and the git state before."""
    record = RunRecord(run_id, command, list(argv), events)
    try:
        record.git_before = _git_state(repo)
        directory = runs_dir(repo.git_dir) / record.name
        directory.mkdir(parents=True, exist_ok=False)
        record.directory = directory
        _write_json(directory / "options.json", {"command": command, "argv": list(argv), **options})
        _write_json(directory / "system.json", system_info())
        _write_json(directory / "git.json", {"before": record.git_before, "after": None})
        events.attach(directory / "events.jsonl")
    except Exception as err:  # a record never breaks a run: any failure is a warning
        events.warn(f"cannot start the record in {runs_dir(repo.git_dir)}", err)
    events.emit("start", command=command, run_id=run_id, head=record.git_before.get("head"))
    return record


def finish(record: RunRecord, repo: Repository, result: dict[str, Any]) -> None:
    """Close the record with the command's JSON response; then prune old records."""
    events = record.events
    events.emit("finish", exit_code=result.get("exit_code"), code=result.get("code"))
    if record.directory is None:
        return
    try:
        after = _git_state(repo)
        _write_json(record.directory / "git.json", {"before": record.git_before, "after": after})
        _write_json(record.directory / "result.json", result)
        from runner.runlog_report import markdown_report

        finished = datetime.now(timezone.utc)
        (record.directory / "report.md").write_text(
            markdown_report(
                record,
                result,
                after,
                finished,
                _read_json(record.directory, "options.json"),
                _read_json(record.directory, "system.json"),
            ),
            encoding="utf-8",
        )
    except Exception as err:
        events.warn(f"cannot finish {record.directory}", err)
    try:
        prune(runs_dir(repo.git_dir), keep_also=record.name)
    except Exception as err:
        events.warn("cannot prune old records", err)


def _read_json(directory: Path, name: str) -> dict[str, Any]:
    try:
        data = json.loads((directory / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _started(name: str) -> datetime | None:
    match = _NAME.match(name)
    if match is None:
        return None
    return datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=timezone.utc)


def record_names(directory: Path) -> list[str]:
    """The records' directory names, newest first (only names the runner writes)."""
    if not directory.is_dir():
        return []
    return sorted((p.name for p in directory.iterdir() if p.is_dir() and _NAME.match(p.name)), reverse=True)


def prune(directory: Path, *, keep_also: str = "", now: datetime | None = None) -> list[str]:
    """Remove every record beyond the newest :data:`KEEP` and any older than :data:`MAX_AGE_DAYS`."""
    now = now or datetime.now(timezone.utc)
    oldest = now - timedelta(days=MAX_AGE_DAYS)
    removed = []
    for index, name in enumerate(record_names(directory)):
        started = _started(name)
        if name == keep_also or (index < KEEP and started is not None and started >= oldest):
            continue
        shutil.rmtree(directory / name)
        removed.append(name)
    return removed


def summary(directory: Path, name: str) -> RunRow:
    """One record as `runner runs` lists it."""
    path = directory / name
    options = _read_json(path, "options.json")
    result = _read_json(path, "result.json")
    match = _NAME.match(name)
    started = _started(name)
    exit_code = result.get("exit_code")
    return RunRow(
        id=name,
        run_id=match["run"] if match else "",
        command=str(options.get("command", "")),
        argv=[str(a) for a in options.get("argv", [])],
        started=started.isoformat() if started else "",
        finished=bool(result),  # False: still running, or killed
        exit_code=exit_code if isinstance(exit_code, int) else None,
        code=str(result.get("code", "")),
        plan=str(result.get("plan", "")),
        message=str(result.get("message", "")),
        tasks=[
            RunTaskRow(id=str(t.get("id")), outcome=str(t.get("outcome")), commit=t.get("commit"))
            for t in (result.get("tasks") or [])
        ],
        path=str(path),
    )
