"""No-new-undefined-names gate: ruff F821/F822 before and after, only new findings block.

A finding is keyed by (rule, name) and counted, so line shifts caused by the
task's own edit do not make an old finding look new. Pre-existing findings are
reported as context, never as failures.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

from runner.gates import GateResult

_NAME = re.compile(r"`([^`]+)`")


def _ruff() -> list[str]:
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]

        return [find_ruff_bin()]
    except (ImportError, FileNotFoundError):
        return [sys.executable, "-m", "ruff"]


def findings(source: bytes, target: str) -> Counter[tuple[str, str]] | str:
    """(rule, name) counts for one file's bytes, or the reason ruff could not say."""
    command = [
        *_ruff(),
        "check",
        "--isolated",
        "--no-cache",
        "--select",
        "F821,F822",
        "--output-format",
        "json",
        "--exit-zero",
        "--stdin-filename",
        target,
        "-",
    ]
    try:
        proc = subprocess.run(command, input=source, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"ruff did not run: {err}"
    try:
        rows = json.loads(proc.stdout or b"[]")
    except json.JSONDecodeError:
        return f"ruff gave no JSON: {proc.stderr.decode('utf-8', 'replace').strip()[:200]}"
    counted: Counter[tuple[str, str]] = Counter()
    for row in rows:
        code = row.get("code") or ""
        if code in ("invalid-syntax", "E999") or not code:
            # ruff cannot resolve names in code it cannot parse: never report that as passed.
            line = (row.get("location") or {}).get("row")
            return f"not checked: line {line}: {row.get('message', 'syntax error')}"
        if code in ("F821", "F822"):
            name = _NAME.search(row.get("message", ""))
            counted[(code, name.group(1) if name else row.get("message", ""))] += 1
    return counted


def check_undefined(before: bytes | None, after: bytes, target: str) -> GateResult:
    gate = "undefined-names"
    new = findings(after, target)
    if isinstance(new, str):
        return GateResult(gate, target, "failed", new)
    old: Counter[tuple[str, str]] | str = Counter() if before is None else findings(before, target)
    if isinstance(old, str):
        old = Counter()
    added = new - old
    if added:
        names = ", ".join(f"{name} ({code})" for (code, name) in sorted(added))
        return GateResult(gate, target, "failed", f"new undefined names: {names}")
    if new:
        return GateResult(gate, target, "passed", f"{sum(new.values())} pre-existing, none new")
    return GateResult(gate, target, "passed")
