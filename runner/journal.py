"""The write-ahead journal's format: what a transaction is about to change, on disk.

It lives in ``.git/blueprint-runner/journal.json`` (written atomically) with a copy
of the git index beside it. Files inside the repository are keyed by their
repo-relative path, so a journal copied or moved with its repository acts on that
copy only; a blueprint kept outside the repository is keyed by its absolute path.
For every file the journal holds the pre-image and the SHA-256 of the bytes the
runner wrote (its post-image), so recovery can tell the runner's bytes from a
person's edit. :mod:`runner.transaction` is its only writer.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from pathlib import Path

from runner.errors import DirtyTreeError
from runner.fsutil import atomic_write
from runner.lock import state_dir
from runner.records import datarecord, field

FORMAT = 2


def digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


@datarecord
class FileImages:
    before: bytes | None  # None: the file did not exist
    after: str | None = None  # SHA-256 of what the runner wrote; None: not written yet
    after_exists: bool = True  # False: the runner removed the file


@datarecord
class Journal:
    run_id: str
    plan: str
    task: str
    head: str
    root: str  # the repository's root when written: tells a copied or moved repo apart
    operation: str = "run"  # or "revert": recovery then also forgets git's revert state
    files: dict[str, FileImages] = field(default_factory=dict)  # repo-relative posix path
    outside: dict[str, FileImages] = field(default_factory=dict)  # absolute path outside the repo
    index_touched: bool = False  # the runner staged or committed: the saved index is the truth

    def to_json(self) -> str:
        def images(table: dict[str, FileImages]) -> dict[str, object]:
            return {
                path: {
                    "before": None if i.before is None else base64.b64encode(i.before).decode("ascii"),
                    "after": i.after,
                    "after_exists": i.after_exists,
                }
                for path, i in table.items()
            }

        return json.dumps(
            {
                "format": FORMAT,
                "run_id": self.run_id,
                "plan": self.plan,
                "task": self.task,
                "head": self.head,
                "root": self.root,
                "operation": self.operation,
                "index_touched": self.index_touched,
                "files": images(self.files),
                "outside": images(self.outside),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Journal:
        raw = json.loads(text)

        def images(table: dict[str, dict[str, object]]) -> dict[str, FileImages]:
            out: dict[str, FileImages] = {}
            for path, entry in table.items():
                before = entry["before"]
                after = entry["after"]
                out[path] = FileImages(
                    None if before is None else base64.b64decode(str(before)),
                    None if after is None else str(after),
                    bool(entry.get("after_exists", True)),
                )
            return out

        return cls(
            raw["run_id"],
            raw["plan"],
            raw["task"],
            raw["head"],
            raw["root"],
            raw.get("operation", "run"),
            images(raw["files"]),
            images(raw.get("outside", {})),
            bool(raw.get("index_touched", False)),
        )


def journal_path(git_dir: Path) -> Path:
    return state_dir(git_dir) / "journal.json"


def saved_index_path(git_dir: Path) -> Path:
    return state_dir(git_dir) / "index.saved"


def write_journal(git_dir: Path, journal: Journal) -> None:
    atomic_write(journal_path(git_dir), journal.to_json().encode("utf-8"))


def read_journal(git_dir: Path) -> Journal | None:
    path = journal_path(git_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        if json.loads(text).get("format") != FORMAT:
            raise ValueError("written by another version of the runner")
        return Journal.from_json(text)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise DirtyTreeError(
            f"cannot read this interrupted task's journal ({err}); compare the tree with `git status`, "
            "restore what you need, then delete the journal",
            path=str(path),
        ) from None


def clear_journal(git_dir: Path) -> None:
    """Remove the journal, then the saved index: a journal never outlives its index copy."""
    for path in (journal_path(git_dir), saved_index_path(git_dir)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
