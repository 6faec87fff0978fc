"""`runner import-server [status|stop]`: the kept import server of an interpreter.

With ``keep-import-server`` (``[tool.runner]``) or ``BLUEPRINT_RUNNER_KEEP_IMPORT_SERVER`` the
import gate's server outlives the run (``runner.gates.import_server``). This shows whether one
runs for an interpreter, and stops it: after upgrading a package it is not needed (the server
notices changed files itself), but a person may want the memory back.
"""

from __future__ import annotations

import time

from runner.gates.import_server import RUNTIME_FOLDER, Reply, kept_server
from runner.report import CommandReport
from runner.review_data import KeptServerData, KeptServerInfo


def import_server(action: str, python: str) -> CommandReport:
    report = CommandReport("import-server")
    server = kept_server(python)
    if server is None:
        report.data = KeptServerData(python=python, socket="", running=False, stopped=False, server=None)
        report.message = (
            f"{RUNTIME_FOLDER} is not a private (0700) folder of this user: no server is kept here, "
            "every run starts its own"
        )
        return report
    reply = server.shutdown() if action == "stop" else server.status()
    info = _info(reply)
    report.data = KeptServerData(
        python=python,
        socket=str(server.paths[0]),
        running=info is not None and action != "stop",
        stopped=info is not None and action == "stop",
        server=info,
    )
    report.message = _message(action, python, info, reply)
    return report


def _info(reply: Reply | None) -> KeptServerInfo | None:
    if reply is None or "pid" not in reply:
        return None
    return KeptServerInfo(
        pid=int(str(reply["pid"])),
        started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(str(reply["started"])))),
        checks=int(str(reply["checks"])),
        idle=float(str(reply.get("idle", 0.0))),
        modules=int(str(reply["modules"])),
        isolation=str(reply.get("isolation", "")),
    )


def _message(action: str, python: str, info: KeptServerInfo | None, reply: Reply | None) -> str:
    if reply is not None and "stale" in reply:
        return f"the kept import server for {python} was stale ({reply['stale']} changed) and has stopped"
    if info is None:
        return f"no kept import server runs for {python}"
    what = f"pid {info['pid']}, started {info['started']}, {info['checks']} check(s)"
    what += f", idle {info['idle']:.0f} s"
    what += f", {info['modules']} modules imported"
    if action == "stop":
        return f"stopped the kept import server for {python} ({what})"
    return f"a kept import server runs for {python} ({what})"
