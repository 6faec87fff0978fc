"""YAML gate: the file loads with ``yaml.safe_load`` (aliases are not expanded)."""

from __future__ import annotations

import yaml

from runner.gates import GateResult


def check_yaml(source: bytes, target: str) -> GateResult:
    try:
        # compose builds the node graph without expanding aliases, so an alias
        # bomb costs nothing; construction then runs on that graph.
        for _ in yaml.compose_all(source, Loader=yaml.SafeLoader):
            pass
        list(yaml.safe_load_all(source))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        return GateResult("yaml", target, "failed", f"{where}{getattr(err, 'problem', err)}")
    return GateResult("yaml", target, "passed")
