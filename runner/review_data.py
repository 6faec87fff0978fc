"""The ``data`` of the review commands (`log`, `show`, `runs`), of `revert` and of `import-server`:
plain JSON shapes."""

# No `from __future__ import annotations` here: a TypedDict turns each string annotation into
# a ForwardRef, compiling it (~0.1 ms a field, ~3 ms of every command's start-up).

from typing import TypedDict, final


class GateRow(TypedDict):
    gate: str
    target: str
    status: str
    detail: str


class LogEntry(TypedDict):
    sha: str
    short: str
    date: str
    plan: str
    task: str
    outcome: str
    subject: str
    run: str
    reverts: list[str]
    reopens: list[str]
    gates: list[GateRow]


@final
class LogData(TypedDict):
    plan: str | None  # the plan asked for; None: every plan
    commits: list[LogEntry]


class ShownCommit(TypedDict):
    sha: str
    short: str
    date: str
    outcome: str
    subject: str
    run: str
    message: str
    files: list[str]
    diff: str


@final
class ShowData(TypedDict):
    task_spec: str  # PLAN-001:1.1
    commits: list[ShownCommit]


class RunTaskRow(TypedDict):
    id: str
    outcome: str
    commit: str | None


class RunRow(TypedDict):
    id: str  # the record's directory name: <UTC time>-<run id>
    run_id: str  # as in the Blueprint-Run trailer of the commits it made
    command: str
    argv: list[str]
    started: str
    finished: bool  # False: still running, or killed
    exit_code: int | None
    code: str
    plan: str
    message: str
    tasks: list[RunTaskRow]
    path: str


@final
class RunsData(TypedDict):
    runs: list[RunRow]  # newest first; one with `runner runs ID`
    report: str  # `runner runs ID`: its report.md; "" for the list


class ReopenedRow(TypedDict):
    id: str
    title: str
    files: list[str]


@final
class RevertData(TypedDict):
    reverted: list[str]  # full shas, as in Blueprint-Reverts
    reopened: list[ReopenedRow]  # later tasks that validated the reverted one, reopened with it


class KeptServerInfo(TypedDict):
    pid: int
    started: str
    checks: int
    idle: float
    modules: int
    isolation: str


@final
class KeptServerData(TypedDict):
    python: str
    socket: str
    running: bool
    stopped: bool
    server: KeptServerInfo | None
