"""Import gate: import the target module in a child interpreter, with a timeout.

The child runs ``python -I`` (no user site, no PYTHONPATH) with the target repo
first on ``sys.path`` and an environment stripped of credentials. A missing
package that is not part of the repo (torch on a machine without it) is a
warning: the gate exists to catch errors in the repo's own code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from runner.gates import GateResult

DEFAULT_TIMEOUT = 60.0
_SECRET = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE|AUTH", re.I)
_KEEP = {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT", "TERM"}

# Runs in the child: imports each module and prints one JSON list on its last line.
_DRIVER = r"""
import importlib, json, sys, traceback
root, modules = sys.argv[1], sys.argv[2:]
sys.path.insert(0, root)
results = []
for module in modules:
    try:
        imported = importlib.import_module(module)
        results.append({"module": module, "ok": True, "names": sorted(vars(imported))})
    except ModuleNotFoundError as err:
        results.append({"module": module, "ok": False, "kind": "missing", "name": err.name or "",
                        "detail": str(err)})
    except BaseException as err:
        tb = traceback.extract_tb(err.__traceback__)
        frame = tb[-1] if tb else None
        where = f"{frame.filename}:{frame.lineno}: " if frame else ""
        results.append({"module": module, "ok": False, "kind": "error",
                        "detail": where + type(err).__name__ + ": " + str(err)})
print(json.dumps(results))
"""


def scrubbed_environment() -> dict[str, str]:
    """The parent's environment without anything that looks like a credential."""
    env = {k: v for k, v in os.environ.items() if k in _KEEP or not _SECRET.search(k)}
    env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left in the target tree
    return env


def _repo_owns(repo: Path, module_name: str) -> bool:
    top = module_name.split(".")[0]
    return (repo / top).is_dir() or (repo / f"{top}.py").is_file()


ImportOutcome = dict[str, object]


def import_modules(
    repo: Path,
    modules: list[str],
    *,
    python: str = sys.executable,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, ImportOutcome]:
    """Import ``modules`` in one child interpreter (torch is then imported once)."""
    if not modules:
        return {}
    try:
        proc = subprocess.run(
            [python, "-I", "-B", "-c", _DRIVER, str(repo), *modules],
            cwd=repo,
            env=scrubbed_environment(),
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        failure = f"importing took longer than {timeout:.0f}s"
        return {m: {"ok": False, "kind": "error", "detail": failure} for m in modules}
    except OSError as err:
        failure = f"cannot start {python}: {err.strerror}"
        return {m: {"ok": False, "kind": "error", "detail": failure} for m in modules}
    lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        rows = json.loads(lines[-1])
        return {str(row["module"]): row for row in rows}
    except (IndexError, ValueError, KeyError, TypeError):
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        failure = f"the import child exited {proc.returncode}: {tail[0]}"
        return {m: {"ok": False, "kind": "error", "detail": failure} for m in modules}


def judge_import(repo: Path, module: str, names: tuple[str, ...], outcome: ImportOutcome) -> GateResult:
    """The gate's verdict on one import request, from what the child reported."""
    target = module + (f" ({', '.join(names)})" if names else "")
    if outcome.get("ok"):
        available = outcome.get("names")
        missing = [n for n in names if isinstance(available, list) and n not in available]
        if missing:
            return GateResult("imports", target, "failed", f"cannot import name {', '.join(missing)}")
        return GateResult("imports", target, "passed")
    missing_name = str(outcome.get("name", ""))
    if outcome.get("kind") == "missing" and not _repo_owns(repo, missing_name):
        return GateResult("imports", target, "warning", f"third-party package {missing_name!r} not installed")
    return GateResult("imports", target, "failed", str(outcome.get("detail", "")))


def check_import(
    repo: Path,
    module: str,
    names: tuple[str, ...] = (),
    *,
    python: str = sys.executable,
    timeout: float = DEFAULT_TIMEOUT,
) -> GateResult:
    outcome = import_modules(repo, [module], python=python, timeout=timeout)[module]
    return judge_import(repo, module, names, outcome)


def module_for(relative: str) -> str | None:
    """``ocr/models/head.py`` -> ``ocr.models.head``; None for a non-module path."""
    path = Path(relative)
    if path.suffix != ".py" or not all(p.isidentifier() for p in path.with_suffix("").parts):
        return None
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or None
