"""Which files a directory target covers: ``*.py`` below it, minus what git ignores and vendored code.

No LibCST here: planning a blueprint's codemod steps (`runner lint`, `runner next`) lists
files without importing the engine.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules"})

# Code that is someone else's or generated: skipped below a directory target unless asked.
VENDORED_DIRS = frozenset({"vendor", "third_party", "_vendor", "node_modules", "build", "dist"})


def _git_visible(root: Path) -> set[str] | None:
    """Paths under ``root`` (relative to it) that git tracks or would not ignore; None when
    ``root`` is not in a git work tree (then nothing is filtered)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return {os.fsdecode(p) for p in proc.stdout.split(b"\0") if p}


def iter_python_files(root: Path, *, include_vendored: bool = False) -> Iterator[Path]:
    """``root`` itself if a file, else every ``*.py`` below it in sorted order.

    Below a directory, files git ignores (``.gitignore``, when ``root`` is in a git work
    tree) and directories of vendored or generated code (``VENDORED_DIRS``) are left out,
    the latter unless ``include_vendored``. Only regular files are yielded (never a FIFO).
    """
    if root.is_file():
        yield root
        return
    visible = _git_visible(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in _SKIPPED_DIRS and (include_vendored or d not in VENDORED_DIRS)
        )
        relative_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = Path(dirpath) / name
            if visible is not None:
                relative = name if relative_dir == "." else f"{relative_dir}/{name}"
                if relative.replace(os.sep, "/") not in visible:
                    continue
            try:
                if not stat.S_ISREG(path.stat().st_mode):
                    continue
            except OSError:
                continue
            yield path
