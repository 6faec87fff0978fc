"""The kept import server: one import of the heavy packages serves the next runs, and never
answers with anything a fresh server would not (the repo's code is imported afresh per check,
and a change to an imported file retires the server)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.gates import import_server
from runner.gates.import_server import KeptServer, RunServer, keep_seconds, kept_server, server_for
from runner.gates.imports import check_import, stop_servers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and Unix sockets")


@pytest.fixture(autouse=True)
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private runtime folder per test (short: a socket path holds about 100 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="rt-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    for python in {sys.executable, *_pythons}:
        server = kept_server(python)
        if server is not None:
            server.shutdown()
    _pythons.clear()
    stop_servers()
    subprocess.run(["rm", "-rf", str(folder)], check=False)


_pythons: set[str] = set()


def _new_run() -> None:
    """What a new `runner run` process starts from: no handle on any server."""
    stop_servers()


def _status(python: str = sys.executable) -> dict[str, object] | None:
    server = kept_server(python)
    assert server is not None
    return server.status()


def test_a_kept_server_serves_the_next_run_and_the_repo_code_is_imported_afresh(tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text("import json\nVERSION = 1\n")
    assert check_import(tmp_path, "probe", ("VERSION",), keep=60).status == "passed"
    first = _status()
    assert first is not None and first["checks"] == 1

    _new_run()
    (tmp_path / "probe.py").write_text("import json\nraise RuntimeError('version 2')\n")
    failed = check_import(tmp_path, "probe", keep=60)
    assert failed.status == "failed" and "version 2" in failed.detail
    second = _status()
    assert second is not None and second["pid"] == first["pid"] and second["checks"] == 2
    assert failed.isolation == check_import(tmp_path, "probe", keep=0).isolation


def test_a_kept_server_exits_after_the_latest_runs_idle_seconds(tmp_path: Path) -> None:
    (tmp_path / "quick.py").write_text("X = 1\n")
    assert check_import(tmp_path, "quick", ("X",), keep=600).status == "passed"
    _new_run()
    assert check_import(tmp_path, "quick", ("X",), keep=1).status == "passed"  # the setting changed
    deadline = time.monotonic() + 60
    while _status() is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _status() is None


def test_every_check_gets_an_empty_home(tmp_path: Path) -> None:
    (tmp_path / "homely.py").write_text(
        "import os, pathlib\n"
        "mark = pathlib.Path(os.environ['HOME']) / 'mark'\n"
        "assert not mark.exists(), 'a previous check left its HOME'\n"
        "mark.write_text('1')\n"
    )
    for _ in range(2):
        _new_run()
        assert check_import(tmp_path, "homely", keep=60).status == "passed"
    assert check_import(tmp_path, "homely", keep=0).status == "passed"
    assert check_import(tmp_path, "homely", keep=0).status == "passed"  # the run server's too


@pytest.mark.parametrize("keep", [0, 60], ids=["run server", "kept server"])
def test_a_daemon_the_imported_code_starts_dies_with_the_check(tmp_path: Path, keep: int) -> None:
    """A process started in a new session escapes a process-group kill; the check's own PID
    namespace takes it down all the same (and with it, anything else the check started)."""
    marker = f"{os.getpid()}.{time.monotonic_ns() % 10**6}"
    (tmp_path / "daemon.py").write_text(
        f"import subprocess\nsubprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
    )
    result = check_import(tmp_path, "daemon", keep=keep)
    assert result.status == "passed", result.detail
    deadline = time.monotonic() + 30
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = _running(marker)
    for pid in survivors:
        os.kill(pid, 9)
    # Without a user namespace there is no PID namespace: only the process group dies (README).
    assert bool(survivors) == ("user+net" not in result.isolation), result.isolation


def _running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[:2] == [b"sleep", marker.encode()] and _alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _venv_with_package(folder: Path, value: int) -> tuple[str, Path]:
    """An interpreter whose site-packages holds ``dep`` (VALUE = value): a third-party package."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = str(folder / "bin" / "python")
    site = subprocess.run(
        [python, "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "dep").mkdir()
    _write_dep(Path(site), value)
    _pythons.add(python)
    return python, Path(site)


def _write_dep(site: Path, value: int) -> None:
    """Written as pip writes: a new file renamed into place."""
    new = site / "dep" / "__init__.new"
    new.write_text(f"VALUE = {value}\n")
    os.replace(new, site / "dep" / "__init__.py")


def test_a_changed_third_party_file_retires_the_kept_server(tmp_path: Path) -> None:
    python, site = _venv_with_package(tmp_path / "venv", 1)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "uses.py").write_text(
        "import dep\nif dep.VALUE != 2:\n    raise RuntimeError(f'dep {dep.VALUE}')\n"
    )
    failed = check_import(repo, "uses", python=python, keep=60)
    assert failed.status == "failed" and "dep 1" in failed.detail
    before = _status(python)
    assert before is not None

    _new_run()
    _write_dep(site, 2)  # `pip install -U dep` while the server keeps version 1 imported
    assert check_import(repo, "uses", python=python, keep=60).status == "passed"
    after = _status(python)
    assert after is not None and after["pid"] != before["pid"]


def test_a_folder_others_may_enter_is_never_used_for_a_socket(runtime: Path) -> None:
    folder = runtime / f"blueprint-runner-{os.getuid()}"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    assert import_server.runtime_folder() is None
    server = server_for(sys.executable, runtime, keep=60)
    assert isinstance(server, RunServer)  # the run's own server, as without the setting
    assert not list(folder.iterdir())


def test_stop_ends_the_kept_server(tmp_path: Path) -> None:
    (tmp_path / "quick.py").write_text("X = 1\n")
    assert check_import(tmp_path, "quick", keep=60).status == "passed"
    server = kept_server(sys.executable)
    assert isinstance(server, KeptServer)
    said = server.shutdown()
    assert said is not None and said["stopping"] is True and said["checks"] == 1
    assert server.status() is None


def test_the_environment_setting_wins_over_the_settings_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(import_server.KEEP_ENVIRONMENT, raising=False)
    assert keep_seconds(30.0) == 30.0
    monkeypatch.setenv(import_server.KEEP_ENVIRONMENT, "0")
    assert keep_seconds(30.0) == 0.0
    monkeypatch.setenv(import_server.KEEP_ENVIRONMENT, "600")
    assert keep_seconds(0.0) == 600.0
    assert import_server.KEEP_ENVIRONMENT not in import_server.scrubbed_environment()


def _cli(*args: str) -> dict[str, object]:
    import io
    import json
    from contextlib import redirect_stdout

    from runner.cli import main

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main([*args, "--json"])
    document: dict[str, object] = json.loads(buffer.getvalue())
    assert code == document["exit_code"] == 0, document
    return document


def test_the_cli_shows_and_stops_the_kept_server(tmp_path: Path) -> None:
    from tests.test_schemas import validator

    none = _cli("import-server")
    assert none["data"] == {
        "python": sys.executable,
        "socket": str(import_server.runtime_folder() / f"{import_server.server_key(sys.executable)}.sock"),  # type: ignore[operator]
        "running": False,
        "stopped": False,
        "server": None,
    }
    (tmp_path / "quick.py").write_text("X = 1\n")
    assert check_import(tmp_path, "quick", keep=60).status == "passed"
    running = _cli("import-server", "status")
    info = running["data"]["server"]  # type: ignore[index]
    assert running["data"]["running"] is True and info["checks"] == 1  # type: ignore[index]
    assert running["next_action"]["alternatives"][0]["argv"][-4:] == [  # type: ignore[index]
        "stop",
        "--python",
        sys.executable,
        "--json",
    ]
    stopped = _cli("import-server", "stop")
    assert stopped["data"]["stopped"] is True and stopped["data"]["server"]["pid"] == info["pid"]  # type: ignore[index]
    assert _status() is None
    for document in (none, running, stopped):
        assert not list(validator("import-server").iter_errors(document))


def test_servers_for_many_environments_do_not_pile_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "quick.py").write_text("X = 1\n")
    pids = []
    for index in range(import_server.MAX_KEPT + 2):
        monkeypatch.setenv("AGENT_RUN", str(index))  # every run with its own environment
        _new_run()
        assert check_import(tmp_path, "quick", keep=60).status == "passed"
        status = _status()
        assert status is not None
        pids.append(status["pid"])
    assert len(set(pids)) == import_server.MAX_KEPT + 2  # a server per environment...
    folder = import_server.runtime_folder()
    assert folder is not None
    alive = [
        s
        for s in (KeptServer(sys.executable, folder, 0.0, key=p.stem) for p in folder.glob("*.sock"))
        if s.status() is not None
    ]
    assert len(alive) == import_server.MAX_KEPT  # ...but the least recently used were stopped
    assert _status() is not None  # the newest runs on


def test_a_kept_server_that_cannot_start_gives_way_to_the_runs_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a socket cannot be bound or served, the run must not fall back to a one-shot
    child per check (each importing torch again): it starts its own server, once."""
    starts: list[str] = []

    def cannot_start(self: KeptServer) -> bool:
        starts.append(self.key)
        return False

    monkeypatch.setattr(KeptServer, "_start", cannot_start)
    (tmp_path / "quick.py").write_text("X = 1\n")
    first = check_import(tmp_path, "quick", ("X",), keep=60)
    second = check_import(tmp_path, "quick", ("X",), keep=60)
    assert first.status == second.status == "passed"
    assert len(starts) == 1  # tried once, not per check
    assert any(isinstance(s, RunServer) and s.alive() for s in import_server._servers.values())
    assert _status() is None  # no kept server runs
