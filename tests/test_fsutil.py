"""Atomic writes and repo-confined paths."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from runner.errors import InputError
from runner.fsutil import atomic_write, resolve_inside


def test_atomic_write_keeps_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "run.sh"
    target.write_bytes(b"old")
    target.chmod(0o751)
    atomic_write(target, b"new\r\n")
    assert target.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert sorted(os.listdir(tmp_path)) == ["run.sh"]


def test_atomic_write_failure_keeps_the_old_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f.py"
    target.write_bytes(b"old")

    def broken_replace(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["f.py"]


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("../x.py", "outside the repository"),
        ("/etc/passwd", "is absolute"),
        ("a/../../x", "outside the repository"),
        (".git/config", "points into .git"),
        ("link/passwd", "outside the repository"),
        ("ok\x00.py", "NUL byte"),
    ],
)
def test_resolve_inside_refuses(tmp_path: Path, path: str, fragment: str) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(InputError) as caught:
        resolve_inside(tmp_path, path, source="plan.md", line=7)
    assert fragment in caught.value.message
    assert caught.value.one_line().startswith("plan.md:7: ")


def test_resolve_inside_accepts_paths_in_the_repo(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("")
    assert resolve_inside(tmp_path, "pkg/./m.py") == (tmp_path / "pkg" / "m.py").resolve()
