"""Run records without a repository: retention, the event log, highlighting of `show`."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rich.console import Console

from runner import runlog
from runner.render_review import render_show
from runner.reporting import gates_in_message
from runner.review_data import ShowData, ShownCommit


def _records(directory: Path, ages_in_days: list[float], now: datetime) -> list[str]:
    names = []
    for index, age in enumerate(ages_in_days):
        stamp = (now - timedelta(days=age)).strftime("%Y%m%dT%H%M%SZ")
        name = f"{stamp}-{index:012x}"
        (directory / name).mkdir(parents=True)
        (directory / name / "events.jsonl").write_text("{}\n")
        names.append(name)
    return names


def test_prune_keeps_the_newest_ten_and_nothing_older_than_thirty_days(tmp_path: Path) -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    # 12 records a day apart, the oldest two beyond ten; then one 31 days old among the newest.
    names = _records(tmp_path, [*range(12)], now)
    (tmp_path / "notes.txt").write_text("not a record: never touched\n")
    (tmp_path / "not-a-record").mkdir()
    removed = runlog.prune(tmp_path, now=now)
    assert sorted(removed) == sorted(names[10:])
    assert runlog.record_names(tmp_path) == sorted(names[:10], reverse=True)
    assert (tmp_path / "notes.txt").exists() and (tmp_path / "not-a-record").is_dir()
    removed = runlog.prune(tmp_path, now=now + timedelta(days=25.5))
    assert sorted(removed) == sorted(names[5:10])  # now older than 30 days
    # The record being written is kept whatever its age.
    assert runlog.prune(tmp_path, now=now + timedelta(days=400), keep_also=names[0]) == sorted(
        names[1:5], reverse=True
    )
    assert runlog.record_names(tmp_path) == [names[0]]


def test_event_log_times_blocks_and_appends_each_event(tmp_path: Path) -> None:
    events = runlog.EventLog()
    events.emit("early")
    sink = tmp_path / "events.jsonl"
    events.attach(sink)
    with events.timed("step", task="1.1") as out:
        out["ok"] = True
    with pytest.raises(ValueError), events.timed("gate", task="1.1"):
        raise ValueError("boom")
    rows = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [r["event"] for r in rows] == ["early", "step", "gate"]
    assert rows[1]["ok"] is True and rows[1]["duration_ms"] >= 0 and rows[1]["task"] == "1.1"
    assert rows[2]["error"] == "ValueError: boom"
    assert rows == events.events


def test_event_log_that_cannot_write_warns_once_and_keeps_the_events(tmp_path: Path) -> None:
    events = runlog.EventLog()
    events.attach(tmp_path / "missing-dir" / "events.jsonl")
    events.emit("a")
    events.emit("b")
    assert [e["event"] for e in events.events] == ["a", "b"]
    assert len(events.warnings) == 1 and "cannot append to events.jsonl" in events.warnings[0]


def test_gates_paragraph_reads_back() -> None:
    body = (
        "Why: x\n\nGates:\n- syntax a.py: passed\n- imports a (A): warning: missing torch\n"
        "  second line\n- pattern-absent a.py: failed: at line 3: x\n\nBlueprint: PLAN-1\n"
    )
    assert gates_in_message(body) == [
        {"gate": "syntax", "target": "a.py", "status": "passed", "detail": ""},
        {"gate": "imports", "target": "a (A)", "status": "warning", "detail": "missing torch\n  second line"},
        {"gate": "pattern-absent", "target": "a.py", "status": "failed", "detail": "at line 3: x"},
    ]
    assert gates_in_message("no gates here\n") == []


DIFF = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
SHOWN = ShowData(
    task_spec="PLAN-1:1.1",
    commits=[
        ShownCommit(
            sha="a" * 40,
            short="a" * 12,
            date="2026-11-30T00:00:00+00:00",
            outcome="completed",
            subject="PLAN-1 Task 1.1: X",
            run="r",
            message="PLAN-1 Task 1.1: X\n\nWhy: y\n",
            files=["m.py"],
            diff=DIFF,
        )
    ],
)


def _shown(monkeypatch: pytest.MonkeyPatch, *, no_color: bool) -> str:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    buffer = io.StringIO()
    render_show(SHOWN, Console(file=buffer, force_terminal=True, width=100))
    return buffer.getvalue()


def test_show_highlights_the_diff_on_a_terminal_and_not_with_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    coloured = _shown(monkeypatch, no_color=False)
    assert "\x1b[" in coloured.split("Why: y")[1]  # the diff part carries colour codes
    plain = _shown(monkeypatch, no_color=True)
    assert DIFF in plain


@pytest.mark.parametrize("command", ["log", "show", "runs"])
def test_review_commands_help_has_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from runner.cli import main

    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:" in text and f"runner {command} " in text.split("examples:")[1]
