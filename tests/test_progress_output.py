"""What a watching person sees on stderr: rich on a terminal (a live task list, a scan bar),
plain lines when stderr is not a terminal or NO_COLOR is set; stdout stays one JSON document."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console

from runner.cli import main
from runner.console import PlainOut, esc, plain, wants_rich
from runner.live import LiveProgress
from runner.progress import LineProgress, TaskLine
from tests.conftest import RepoFactory
from tests.helpers import PLAN_001

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SIGMOID = "import torch\n\ndef f(x):\n    return 1 / (1 + torch.exp(-x))\n"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rich_only_on_a_terminal_without_no_color() -> None:
    assert wants_rich(_Terminal(), {})
    assert not wants_rich(_Terminal(), {"NO_COLOR": "1"})
    assert not wants_rich(io.StringIO(), {})
    assert wants_rich(_Terminal(), {"NO_COLOR": ""})  # the convention: set and not empty


@pytest.mark.parametrize(
    "text",
    ["plain", "ocr/[x]/m.py", "a [bold]not markup[/bold] b", "ends in \\", "two \\\\[red]x", "[/] [] [1]"],
)
def test_plain_output_is_what_rich_shows_without_styles(text: str) -> None:
    """PlainOut drops markup the way rich reads it, so both modes say the same words."""
    rich_out = io.StringIO()
    Console(file=rich_out, no_color=True, highlight=False, soft_wrap=True, width=200).print(
        f"[bold]{esc(text)}[/bold] [red]!" + esc(text)
    )
    ours = io.StringIO()
    PlainOut(ours).print(f"[bold]{esc(text)}[/bold] [red]!" + esc(text))
    assert ours.getvalue() == rich_out.getvalue()
    if not text.endswith("\\"):  # rich itself shows a final backslash doubled
        assert ours.getvalue() == f"{text} !{text}\n"
        assert plain(esc(text)) == text


def test_live_task_list_and_scan_bar_on_a_terminal() -> None:
    screen = io.StringIO()
    live = LiveProgress(Console(file=screen, force_terminal=True, width=100, color_system="standard"))
    live.tasks(
        [TaskLine("1.1", "Replace the Step Function", "completed"), TaskLine("1.2", "Validate", "pending")]
    )
    live.task_state("1.2", "running")
    live.scan(48, 100)
    live.task_state("1.2", "blocked")
    live.scan(100, 100)
    live.close()
    text = screen.getvalue()
    assert ANSI.search(text)  # styled and redrawn in place
    final = ANSI.sub("", text).rsplit("Task 1.1", 1)[1]  # the last frame
    assert "Task 1.2: Validate" in final and "blocked" in final and "running" not in final
    assert "100/100" in final and "48/100" in ANSI.sub("", text)


def test_plain_lines_for_tasks_and_scans() -> None:
    stream = io.StringIO()
    lines = LineProgress(stream)
    lines.tasks([TaskLine("1.1", "Replace", "pending")])
    lines.task_state("1.1", "running")
    lines.task_state("1.1", "completed")
    for done in range(0, 1001, 48):
        lines.scan(min(done, 1000), 1000)
    lines.scan(1000, 1000)
    out = stream.getvalue().splitlines()
    assert out[:3] == [
        "  pending   Task 1.1: Replace",
        "Task 1.1: Replace (running)",
        "Task 1.1: Replace (completed)",
    ]
    scans = [line for line in out if line.startswith("scanned ")]
    assert scans[-1] == "scanned 1000/1000 files" and len(scans) == 11  # every 10%, not every chunk
    assert not ANSI.search(stream.getvalue())


def test_codemod_apply_over_a_directory_reports_its_scan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "src"
    tree.mkdir()
    for i in range(120):
        (tree / f"m{i:03}.py").write_text(SIGMOID if i % 40 == 0 else f"X = {i}\n")
    code = main(["codemod", "apply", "reciprocal-exp-to-sigmoid", str(tree), "--dry-run", "--json"])
    captured = capsys.readouterr()
    assert code == 0 and json.loads(captured.out)["data"]["totals"]["changed"] == 3
    assert "scanned 120/120 files" in captured.err.splitlines()
    assert not ANSI.search(captured.err)


def _run_on_a_pty(repo: Path, args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """The CLI with stderr on a pseudo-terminal (a person watching) and stdout on a pipe."""
    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    proc = subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=repo,
        env={**env, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "120"},
        stdout=subprocess.PIPE,
        stderr=follower,
        check=False,
    )
    os.close(follower)
    reader.join(timeout=30)
    os.close(leader)
    return proc.returncode, proc.stdout.decode(), b"".join(chunks).decode("utf-8", "replace")


def test_run_on_a_terminal_shows_the_live_list_and_stdout_stays_json(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    code, out, screen = _run_on_a_pty(repo, ["run", PLAN_001, "--task", "1.1", "--json"], env)
    assert code == 0, screen
    assert json.loads(out)["tasks"][0]["outcome"] == "completed"  # stdout: exactly one document
    assert ANSI.search(screen)
    last = ANSI.sub("", screen)
    assert "Task 1.1: Replace the Hand-Written Step Function" in last and "completed" in last
    assert "Task 4.2: Validate Config Files" in last  # the whole plan is listed, pending ones too


def test_no_color_on_a_terminal_gives_plain_lines(demo_repo: RepoFactory) -> None:
    repo = demo_repo()
    code, out, screen = _run_on_a_pty(
        repo, ["run", PLAN_001, "--task", "1.1", "--json"], {**os.environ, "NO_COLOR": "1"}
    )
    assert code == 0 and json.loads(out)["exit_code"] == 0
    assert not ANSI.search(screen), screen
    lines = screen.replace("\r\n", "\n").splitlines()
    assert "  pending   Task 4.2: Validate Config Files" in lines
    assert "Task 1.1: Replace the Hand-Written Step Function (completed)" in lines


def test_codemod_apply_on_a_terminal_draws_a_scan_bar(tmp_path: Path) -> None:
    tree = tmp_path / "src"
    tree.mkdir()
    for i in range(120):
        (tree / f"m{i:03}.py").write_text(SIGMOID if i % 40 == 0 else f"X = {i}\n")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    code, out, screen = _run_on_a_pty(
        tmp_path, ["codemod", "apply", "reciprocal-exp-to-sigmoid", str(tree), "--dry-run", "--json"], env
    )
    assert code == 0 and json.loads(out)["data"]["totals"]["scanned"] == 120
    assert ANSI.search(screen) and "120/120" in ANSI.sub("", screen) and "scanning" in screen
