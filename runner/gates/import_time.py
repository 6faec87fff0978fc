"""Import-time gate: importing a module takes at most N% of the time it took before the task.

``python -X importtime`` in a child started like the import gate's (``-I -B``,
the repo first on ``sys.path``, an environment without credentials), once on
the repo as it was before the task (its Python files copied to a temporary
folder, the task's changed files at their old bytes) and once as the task left
it. Each side is measured several times, the two taking turns, and its
fastest run counts: a slow run is noise (another process), a fast one is not. The figure is the module's
own cumulative line in the ``importtime`` report, so the interpreter's start-up
is not in it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from runner.gates import GateResult
from runner.gates.imports import DEFAULT_TIMEOUT, _repo_owns, scrubbed_environment

GATE = "import-time"
RUNS = 5

# `-X importtime` instruments the import statement, not importlib.import_module: the module name
# goes into the code, once it is known to be a dotted name and nothing else.
_DRIVER = "import sys; sys.path.insert(0, sys.argv[1]); import {module}"
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def import_microseconds(
    root: Path, module: str, *, python: str = sys.executable, timeout: float = DEFAULT_TIMEOUT
) -> int | str:
    """The module's cumulative import time in one fresh child, or why it could not be measured."""
    if not _MODULE.fullmatch(module):
        return f"{module!r} is not a module name"
    try:
        proc = subprocess.run(
            [python, "-I", "-B", "-X", "importtime", "-c", _DRIVER.format(module=module), str(root)],
            cwd=root,
            env=scrubbed_environment(),
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"importing took longer than {timeout:.0f}s"
    except OSError as err:
        return f"cannot start {python}: {err.strerror}"
    lines = proc.stderr.decode("utf-8", "replace").splitlines()
    if proc.returncode != 0:
        return next((ln for ln in reversed(lines) if ln.strip()), f"the child exited {proc.returncode}")
    for line in reversed(lines):  # the module's own line comes after everything it imported
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if line.startswith("import time:") and len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    return f"no importtime line for {module}"


def fastest_pair(
    before: Path, after: Path, module: str, *, python: str, runs: int = RUNS
) -> tuple[int | str, int | str]:
    """The fastest of ``runs`` imports on each side, the sides taking turns so that a busy spell
    of the machine slows both rather than one."""
    times: dict[Path, list[int]] = {before: [], after: []}
    failed: dict[Path, str] = {}
    for _ in range(runs):
        for side in (before, after):
            if side in failed:
                continue
            measured = import_microseconds(side, module, python=python)
            if isinstance(measured, str):
                failed[side] = measured
            else:
                times[side].append(measured)
    old = failed.get(before) or min(times[before])
    new = failed.get(after) or min(times[after])
    return old, new


def snapshot_before(files: list[str], before: Callable[[str], bytes | None], into: Path) -> None:
    """Write the repo's Python files as they were before the task under ``into``."""
    for relative in files:
        data = before(relative)
        if data is None:
            continue
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def check_import_time(
    root: Path,
    module: str,
    percent: int,
    python_files: list[str],
    before: Callable[[str], bytes | None],
    *,
    python: str = sys.executable,
) -> GateResult:
    """``module``'s import after the task takes at most ``percent``% of its time before it."""
    target = f"{module} (at most {percent}%)"
    with tempfile.TemporaryDirectory(prefix="runner-import-time-") as folder:
        snapshot_before(python_files, before, Path(folder))
        old, new = fastest_pair(Path(folder), root, module, python=python)
    for side, measured in (("before", old), ("after", new)):
        if isinstance(measured, str):
            missing = (
                measured.rsplit("No module named ", 1)[-1].strip("'\"")
                if "No module named" in measured
                else ""
            )
            if missing and not _repo_owns(root, missing):
                return GateResult(
                    GATE, target, "warning", f"third-party package {missing!r} not installed ({side})"
                )
            return GateResult(GATE, target, "failed", f"cannot measure {side} the task: {measured}")
    assert isinstance(old, int) and isinstance(new, int)
    share = 100.0 * new / max(old, 1)
    detail = (
        f"{old / 1000:.1f} ms before, {new / 1000:.1f} ms after ({share:.0f}%; fastest of {RUNS} runs each)"
    )
    if share > percent:
        return GateResult(GATE, target, "failed", f"{detail}; the step asks at most {percent}%")
    return GateResult(GATE, target, "passed", detail)
