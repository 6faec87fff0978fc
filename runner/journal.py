"""Write-ahead journal: pre-images of every file a task is about to touch.

Written (atomically) to the git directory before the first file changes, and
removed once the task's commit has landed or its files were restored. If a
runner dies in between, :func:`recover` puts the pre-images back, unless the
task's commit had landed, in which case it only clears the journal.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from runner.fsutil import atomic_write
from runner.lock import state_dir


@dataclass
class Journal:
    run_id: str
    plan: str
    task: str
    head: str
    files: dict[str, bytes | None]  # absolute path -> pre-image (None: did not exist)
    operation: str = "run"  # or "revert": recovery then also clears git's revert state

    def to_json(self) -> str:
        return json.dumps(
            {
                "run_id": self.run_id,
                "plan": self.plan,
                "task": self.task,
                "head": self.head,
                "operation": self.operation,
                "files": {
                    p: None if data is None else base64.b64encode(data).decode("ascii")
                    for p, data in self.files.items()
                },
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Journal:
        raw = json.loads(text)
        return cls(
            raw["run_id"],
            raw["plan"],
            raw["task"],
            raw["head"],
            {p: None if d is None else base64.b64decode(d) for p, d in raw["files"].items()},
            raw.get("operation", "run"),
        )


def journal_path(git_dir: Path) -> Path:
    return state_dir(git_dir) / "journal.json"


def write_journal(git_dir: Path, journal: Journal) -> None:
    atomic_write(journal_path(git_dir), journal.to_json().encode("utf-8"))


def read_journal(git_dir: Path) -> Journal | None:
    path = git_dir / "blueprint-runner" / "journal.json"
    try:
        return Journal.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def clear_journal(git_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(journal_path(git_dir))


def restore_files(journal: Journal) -> list[str]:
    """Put every pre-image back; return the paths whose bytes differed."""
    restored: list[str] = []
    for name, data in journal.files.items():
        path = Path(name)
        current = path.read_bytes() if path.exists() else None
        if current == data:
            continue
        if data is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)  # a removal may have pruned the folder
            atomic_write(path, data)
        restored.append(name)
    return restored
