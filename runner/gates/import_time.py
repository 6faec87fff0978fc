"""Import-time gate: importing a module takes at most N% of the time it took before the task.

``python -X importtime`` in a child contained like the import gate's one-shot child
(``-I -B``, an environment without credentials, HOME and TMPDIR in a scratch folder, and
where the OS allows it no network and a read-only filesystem: ``sandbox`` of
:mod:`runner.gates.imports`, entered before the timed import), the repo first on
``sys.path``: on the repo as it was before the task (its Python files copied to a
temporary folder, the task's changed files at their old bytes) and as the task left it.
Each side is measured several times, the two taking turns, and its fastest run counts: a
slow run is noise (another process on a busy machine only ever adds time), a fast one is
not. The figure is the module's own cumulative line in the ``importtime`` report, so the
interpreter's start-up and the sandbox's own imports are not in it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from runner.gates import GateResult
from runner.gates.import_programs import COMMON
from runner.gates.import_server import scratch_directory, scrubbed_environment
from runner.gates.imports import DEFAULT_TIMEOUT, _repo_owns

GATE = "import-time"
RUNS = 5

# The import gate's containment, then the one import statement `-X importtime` times (it does not
# time importlib.import_module): the module name goes into the code once it is known to be a dotted
# name and nothing else. python -I -B -X importtime -c DRIVER SCRATCH ROOT
_CONTAINED = (
    COMMON
    + """
print(sandbox(sys.argv[1]), flush=True)
sys.path.insert(0, sys.argv[2])
os.chdir(sys.argv[2])
"""
)
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def import_microseconds(
    root: Path, module: str, *, python: str = sys.executable, timeout: float = DEFAULT_TIMEOUT
) -> int | str:
    """The module's cumulative import time in one fresh child, or why it could not be measured."""
    return measure_import(root, module, python=python, timeout=timeout)[0]


def measure_import(
    root: Path, module: str, *, python: str = sys.executable, timeout: float = DEFAULT_TIMEOUT
) -> tuple[int | str, str]:
    """:func:`import_microseconds`, and the isolation the child had (as the import gate says it)."""
    if not _MODULE.fullmatch(module):
        return f"{module!r} is not a module name", ""
    scratch = scratch_directory()
    folders = [str(scratch), str(root.resolve())]
    try:
        proc = subprocess.run(
            [python, "-I", "-B", "-X", "importtime", "-c", f"{_CONTAINED}import {module}\n", *folders],
            cwd=root,
            env=scrubbed_environment(scratch),
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"importing took longer than {timeout:.0f}s", ""
    except OSError as err:
        return f"cannot start {python}: {err.strerror}", ""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    isolation = proc.stdout.decode("utf-8", "replace").partition("\n")[0].strip()
    return _figure(proc, module), isolation


def _figure(proc: subprocess.CompletedProcess[bytes], module: str) -> int | str:
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
) -> tuple[int | str, int | str, str]:
    """The fastest of ``runs`` imports on each side, the sides taking turns so that a busy spell
    of the machine slows both rather than one; and the children's isolation."""
    times: dict[Path, list[int]] = {before: [], after: []}
    failed: dict[Path, str] = {}
    isolation = ""
    for _ in range(runs):
        for side in (before, after):
            if side in failed:
                continue
            measured, isolation = measure_import(side, module, python=python)
            if isinstance(measured, str):
                failed[side] = measured
            else:
                times[side].append(measured)
    old = failed.get(before) or min(times[before])
    new = failed.get(after) or min(times[after])
    return old, new, isolation


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
        old, new, isolation = fastest_pair(Path(folder), root, module, python=python)
    for side, measured in (("before", old), ("after", new)):
        if isinstance(measured, str):
            missing = (
                measured.rsplit("No module named ", 1)[-1].strip("'\"")
                if "No module named" in measured
                else ""
            )
            if missing and not _repo_owns(root, missing):
                return GateResult(
                    GATE,
                    target,
                    "warning",
                    f"third-party package {missing!r} not installed ({side})",
                    isolation,
                )
            return GateResult(
                GATE, target, "failed", f"cannot measure {side} the task: {measured}", isolation
            )
    assert isinstance(old, int) and isinstance(new, int)
    share = 100.0 * new / max(old, 1)
    detail = (
        f"{old / 1000:.1f} ms before, {new / 1000:.1f} ms after ({share:.0f}%; fastest of {RUNS} runs each)"
    )
    if share > percent:
        return GateResult(GATE, target, "failed", f"{detail}; the step asks at most {percent}%", isolation)
    return GateResult(GATE, target, "passed", detail, isolation)
