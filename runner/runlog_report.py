"""``report.md`` of a run record: the record's JSON files, written out for a person to read."""

from __future__ import annotations

import shlex
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.runlog import RunRecord


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _status(lines: list[str]) -> list[str]:
    return [f"    {line}" for line in lines] if lines else ["    (clean)"]


def _value(key: str, value: object) -> str:
    if key == "results" and isinstance(value, list):  # gate rows: "passed syntax a.py"
        return "; ".join(f"{r.get('status')} {r.get('gate')} {r.get('target')}" for r in value) or "-"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _event_detail(event: dict[str, Any]) -> str:
    skip = {"t", "event", "task", "duration_ms"}
    return ", ".join(
        f"{k}: {_value(k, v)}" for k, v in event.items() if k not in skip and v not in (None, "", [])
    )


def markdown_report(
    record: RunRecord,
    result: dict[str, Any],
    after: dict[str, Any],
    finished: datetime,
    options: dict[str, Any],
    system: dict[str, Any],
) -> str:
    before = record.git_before
    seconds = (finished - record.started).total_seconds()
    out = [
        f"# runner {record.command}: {result.get('plan') or '(no plan)'} "
        f"(exit {result.get('exit_code')}, {result.get('code')})",
        "",
        f"{result.get('message', '')}",
        "",
        f"- run id: `{record.run_id}` (the commits it made carry `Blueprint-Run: {record.run_id}`)",
        f"- started {record.started.isoformat(timespec='seconds')}, took {seconds:.1f} s",
        f"- command line: `{shlex.join(['runner', *record.argv])}`",
        f"- repository: `{result.get('repo', '')}`, branch {before.get('branch') or '(detached)'}",
        f"- HEAD before: `{before.get('head')}`, after: `{after.get('head')}`",
        f"- blueprint: `{result.get('blueprint', '')}`",
        "",
    ]
    tasks = result.get("tasks") or []
    if tasks:
        out += ["## Tasks", "", "| task | outcome | commit | gates | blocker |", "|---|---|---|---|---|"]
        for task in tasks:
            counts: dict[str, int] = {}
            for gate in task.get("gates") or []:
                counts[gate["status"]] = counts.get(gate["status"], 0) + 1
            gates = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "-"
            commit = (task.get("commit") or "")[:12] or "-"
            out.append(
                f"| {_cell(task['id'])} {_cell(task['title'])} | {task['outcome']} | {commit} | {gates} "
                f"| {_cell(task.get('blocker') or '')} |"
            )
        out.append("")
    out += ["## Events", "", "| t (s) | event | task | took (ms) | detail |", "|---:|---|---|---:|---|"]
    for event in record.events.events:
        out.append(
            f"| {event['t']:.3f} | {event['event']} | {_cell(event.get('task', ''))} "
            f"| {event.get('duration_ms', '')} | {_cell(_event_detail(event))} |"
        )
    out += ["", "## Working tree (`git status --porcelain`)", "", "Before:", ""]
    out += _status(before.get("status") or [])
    out += ["", "After:", ""]
    out += _status(after.get("status") or [])
    settings = options.get("settings") or {}
    out += ["", "## Options", ""]
    out += [f"- {key}: `{value}`" for key, value in options.items() if key not in ("settings", "argv")]
    out += [f"- [tool.runner] {key}: `{value}`" for key, value in settings.items()]
    if record.events.warnings:
        out += ["", "## Warnings", "", *(f"- {w}" for w in record.events.warnings)]
    packages = system.get("packages") or {}
    out += [
        "",
        "## System",
        "",
        f"- Python {system.get('python')} ({system.get('implementation')}) at `{system.get('executable')}`",
        f"- {system.get('platform')}, {system.get('cpus')} CPU(s)",
        "- " + ", ".join(f"{name} {version or '(not installed)'}" for name, version in packages.items()),
        "",
        "Every event with all its fields: `events.jsonl`; the JSON response: `result.json`.",
        "",
    ]
    return "\n".join(out)
