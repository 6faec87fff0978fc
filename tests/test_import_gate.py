"""The import gate: a forking server (fresh repo code per check) inside an OS sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runner.gates.imports import check_import, import_modules, stop_servers, third_party_imports

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="namespaces are Linux's")


@pytest.fixture(autouse=True)
def _fresh_servers() -> object:
    yield
    stop_servers()


def _sandboxed(isolation: str) -> bool:
    return isolation.startswith(("user+net", "net namespace"))


def test_a_module_that_opens_a_socket_fails_inside_the_gate(tmp_path: Path) -> None:
    (tmp_path / "phone_home.py").write_text(
        "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=5).close()\n"
    )
    result = check_import(tmp_path, "phone_home")
    assert result.isolation, "the result names its isolation"
    if not _sandboxed(result.isolation):
        pytest.skip(f"no network namespace on this machine: {result.isolation}")
    assert result.status == "failed"
    assert "Network is unreachable" in result.detail or "OSError" in result.detail
    assert result.as_dict()["isolation"] == result.isolation


def test_writes_outside_the_scratch_directory_fail_and_home_is_scratch(tmp_path: Path) -> None:
    outside = tmp_path / "written-by-import.txt"
    (tmp_path / "writer.py").write_text(
        "import os, pathlib\n"
        "home = pathlib.Path(os.environ['HOME'])\n"
        "(home / 'cache.txt').write_text('fine')\n"
        f"pathlib.Path({str(outside)!r}).write_text('escaped')\n"
    )
    result = check_import(tmp_path, "writer")
    if "read-only filesystem" not in result.isolation:
        pytest.skip(f"no read-only mount namespace here: {result.isolation}")
    assert result.status == "failed" and "Read-only file system" in result.detail
    assert not outside.exists()


def test_every_check_imports_the_repo_code_afresh(tmp_path: Path) -> None:
    (tmp_path / "state.py").write_text("SEEN = []\n")
    (tmp_path / "probe.py").write_text(
        "import json, state\n"
        "state.SEEN.append(1)\n"
        "assert state.SEEN == [1], state.SEEN\n"
        "assert not hasattr(json, '_gate_mark')\n"
        "json._gate_mark = 1  # a preloaded module's state must not leak into the next check\n"
    )
    assert check_import(tmp_path, "probe").status == "passed"
    assert check_import(tmp_path, "probe").status == "passed"
    (tmp_path / "state.py").write_text("raise RuntimeError('version 2')\n")
    failed = check_import(tmp_path, "probe")
    assert failed.status == "failed" and "version 2" in failed.detail


def test_a_repo_package_shadowing_a_preloaded_one_is_the_repos(tmp_path: Path) -> None:
    (tmp_path / "user.py").write_text("import json\n")
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "__init__.py").write_text("MARK = 'repo'\n")
    (tmp_path / "probe2.py").write_text("import json\nassert json.MARK == 'repo'\n")
    import_modules(tmp_path, ["user"])  # the server may have the stdlib json loaded now
    assert check_import(tmp_path, "probe2").status == "passed"


def test_third_party_names_to_preload_exclude_the_repos_own(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text(
        "import os.path\nimport numpy as np\nfrom torch import nn\n"
        "from . import b\nimport pkg.c\nimport local\n"
    )
    (tmp_path / "local.py").write_text("")
    assert third_party_imports(tmp_path, ["pkg.a"]) == ["numpy", "os", "torch"]


def test_timeout_kills_the_check_and_the_server_keeps_serving(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(60)\n")
    (tmp_path / "quick.py").write_text("X = 1\n")
    slow = check_import(tmp_path, "slow", timeout=1)
    assert slow.status == "failed" and "longer than 1s" in slow.detail
    assert check_import(tmp_path, "quick", ("X",)).status == "passed"


def test_prestarted_server_serves_the_first_check(tmp_path: Path) -> None:
    from runner.gates.imports import prestart

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("import json\nVALUE = json.dumps(1)\n")
    prestart(tmp_path)
    result = check_import(tmp_path, "pkg", ("VALUE",))
    assert result.status == "passed" and result.isolation


def test_prestart_reads_the_repo_on_the_calling_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ast.parse` in two threads at once raised SystemError on CPython 3.11 (seen in a full test
    run): the background warm-up must not parse anything, the caller does it first."""
    import threading

    from runner.gates import imports

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("import json\n")
    threads: list[str] = []
    real = imports.third_party_imports

    def recorded(repo: Path, modules: list[str]) -> list[str]:
        threads.append(threading.current_thread().name)
        return real(repo, modules)

    monkeypatch.setattr(imports, "third_party_imports", recorded)
    imports.prestart(tmp_path)
    for thread in threading.enumerate():
        if thread.name == "import-gate-prestart":
            thread.join(timeout=120)  # the warm-up is done before the check asks the server
    result = check_import(tmp_path, "pkg")
    assert result.status == "passed"
    assert threads and set(threads) == {threading.main_thread().name}, threads
