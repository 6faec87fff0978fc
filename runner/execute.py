"""Executing one task's mechanical steps and gates, in memory first.

:func:`apply_steps` computes every file's new bytes (codemods, then config
edits) without touching the disk; each file is read once, and all codemod steps
of the task that cover a file work on one parse of it. :func:`run_gates` checks
the result; only the import gate needs the files on disk, so it runs last.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from codemods.base import Change, Skip
from codemods.blocks import BlockEdit, Where, WhereKind, insert_block, insert_marked_lines, replace_block
from codemods.engine import CodemodCall, apply_codemods
from runner.blueprint.steps import (
    CodeAction,
    CodemodStep,
    ConfigSet,
    Gate,
    InsertBlock,
    InsertMarked,
    ReplaceBlock,
)
from runner.config_edit import set_value
from runner.errors import InputError
from runner.faults import checkpoint
from runner.gates import GateResult
from runner.gates.imports import ImportOutcome, import_modules, judge_import, module_for
from runner.gates.patterns import check_absent, check_present
from runner.gates.syntax import check_syntax
from runner.gates.undefined import check_undefined
from runner.gates.yaml_gate import check_yaml
from runner.tasks import PlannedStep, TaskPlan, is_python_path
from runner.text_edit import replace_text

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class StepOutcome:
    line: int
    text: str
    kind: str
    detail: str = ""
    changes: int = 0
    ok: bool = True


@dataclass
class TaskExecution:
    """What a task's steps did: new file contents and the record of why."""

    before: dict[str, bytes] = field(default_factory=dict)
    after: dict[str, bytes] = field(default_factory=dict)
    changes: list[tuple[str, Change]] = field(default_factory=list)
    skips: list[tuple[str, Skip]] = field(default_factory=list)
    file_problems: list[tuple[str, str, str]] = field(default_factory=list)  # path, status, reason
    steps: list[StepOutcome] = field(default_factory=list)
    config_changes: list[tuple[str, str, str | None, str]] = field(default_factory=list)

    def changed_files(self) -> list[str]:
        return [p for p, data in self.after.items() if data != self.before[p]]

    @property
    def failures(self) -> list[str]:
        # One line each (a detail may go on with a diff for the JSON report).
        failed = [f"step at line {s.line}: {s.detail.splitlines()[0]}" for s in self.steps if not s.ok]
        failed += [f"{p}: {reason}" for p, status, reason in self.file_problems if status == "error"]
        return failed


def _read(root: Path, relative: str, execution: TaskExecution) -> bytes:
    if relative not in execution.after:
        data = (root / relative).read_bytes()
        execution.before[relative] = data
        execution.after[relative] = data
    return execution.after[relative]


def apply_steps(plan: TaskPlan, root: Path) -> TaskExecution:
    execution = TaskExecution()
    codemod_steps = [s for s in plan.steps if isinstance(s.action, CodemodStep)]

    # All codemod calls per file, in step order: one read, one parse per file.
    calls_by_file: dict[str, list[CodemodCall]] = defaultdict(list)
    for planned in codemod_steps:
        assert planned.call is not None
        for relative in planned.files:
            if planned.call not in calls_by_file[relative]:
                calls_by_file[relative].append(planned.call)
        for path, reason in planned.skipped:  # found under a target, never read: a FIFO, a submodule
            if (path, "skipped", reason) not in execution.file_problems:
                execution.file_problems.append((path, "skipped", reason))
    per_codemod_file: dict[tuple[str, str], int] = defaultdict(int)
    for relative, calls in calls_by_file.items():
        outcome = apply_codemods(_read(root, relative, execution), calls, relative)
        execution.after[relative] = outcome.after
        execution.changes += [(relative, c) for c in outcome.changes]
        execution.skips += [(relative, s) for s in outcome.skips]
        if outcome.status in ("skipped", "error"):
            execution.file_problems.append((relative, outcome.status, outcome.reason))
        if outcome.status == "changed":
            for change in outcome.changes:
                per_codemod_file[(change.codemod, relative)] += 1

    for planned in plan.steps:
        action = planned.action
        if isinstance(action, (ReplaceBlock, InsertBlock, InsertMarked)):
            execution.steps.append(_apply_code_step(planned, action, root, execution))
        elif isinstance(action, CodemodStep):
            count = sum(per_codemod_file[(action.name, f)] for f in planned.files)
            outcome_step = StepOutcome(
                planned.step.line,
                planned.step.text,
                "codemod",
                f"{action.name}: {count} change(s)",
                count,
            )
            if action.expect is not None and count != action.expect:
                outcome_step.ok = False
                outcome_step.detail = (
                    f"{action.name} made {count} change(s), the step expects {action.expect}"
                )
            execution.steps.append(outcome_step)
        elif isinstance(action, ConfigSet):
            relative = Path(action.file).as_posix()
            relative = (root / relative).resolve().relative_to(root).as_posix()
            try:
                new, config_change = set_value(
                    _read(root, relative, execution), action.key, action.value, relative
                )
            except InputError as err:
                execution.steps.append(
                    StepOutcome(planned.step.line, planned.step.text, "config", err.one_line(), ok=False)
                )
                continue
            execution.after[relative] = new
            detail = (
                f"{relative}: {action.key} already {action.value}"
                if not config_change.changed
                else f"{relative}:{config_change.line}: {action.key}: "
                f"{config_change.before} -> {action.value}"
            )
            if config_change.changed:
                execution.config_changes.append((relative, action.key, config_change.before, action.value))
            execution.steps.append(
                StepOutcome(
                    planned.step.line, planned.step.text, "config", detail, int(config_change.changed)
                )
            )
    return execution


_PLACE_KINDS: dict[str, WhereKind] = {kind: kind for kind in get_args(WhereKind)}
_CODE_STEP_NAMES = {
    ReplaceBlock: "replace-block",
    InsertBlock: "insert-block",
    InsertMarked: "insert-marked-lines",
}


def _code_edit(action: CodeAction, data: bytes) -> BlockEdit:
    if isinstance(action, ReplaceBlock):
        find, replacement = (b.text for b in action.blocks)
        if not is_python_path(action.file):
            return _text_edit(data, find, replacement, action.every)
        return replace_block(
            data, find, replacement, scope=action.scope, every=action.every, line_hint=action.line_hint
        )
    if isinstance(action, InsertBlock):
        where = Where(_PLACE_KINDS[action.place], action.target)
        return insert_block(data, action.blocks[0].text, where=where, line_hint=action.line_hint)
    return insert_marked_lines(
        data, action.blocks[0].text, action.marker, scope=action.scope, line_hint=action.line_hint
    )


def _text_edit(data: bytes, find: str, replacement: str, every: bool) -> BlockEdit:
    """'Replace in' a file that is not Python: whole lines, exactly (runner.text_edit)."""
    edit = replace_text(data, find, replacement, every=every)
    first, _, diff = edit.detail.partition("\n")
    if edit.status == "applied":
        lines = ", ".join(map(str, edit.lines))
        return BlockEdit("applied", edit.after, f"replaced the lines at line {lines}", tuple(edit.lines))
    return BlockEdit(edit.status, data, first + (f"\n{diff}" if diff else ""), tuple(edit.lines))


def _apply_code_step(
    planned: PlannedStep, action: CodeAction, root: Path, execution: TaskExecution
) -> StepOutcome:
    relative = planned.files[0]
    step = planned.step
    if relative not in execution.after and not (root / relative).is_file():
        return StepOutcome(step.line, step.text, "code", f"{relative} does not exist", ok=False)
    edit = _code_edit(action, _read(root, relative, execution))
    detail = f"{relative}: {edit.message}"
    if edit.closest is not None:
        detail += f"\n{edit.closest.diff}"
    if edit.status == "applied":
        execution.after[relative] = edit.source
        name = _CODE_STEP_NAMES[type(action)]
        execution.changes += [(relative, Change(name, line, edit.message)) for line in edit.lines[:1]]
        return StepOutcome(step.line, step.text, "code", detail, max(1, len(edit.lines)))
    return StepOutcome(step.line, step.text, "code", detail, 0, ok=edit.status == "already-applied")


def _pattern_scope(gate: Gate, plan: TaskPlan, execution: TaskExecution, tracked_py: list[str]) -> list[str]:
    if gate.files:
        return list(gate.files)
    named = [f for f in plan.files if f.endswith(".py")]
    return named or [f for f in execution.changed_files() if f.endswith(".py")] or tracked_py


def run_gates(
    plan: TaskPlan,
    execution: TaskExecution,
    root: Path,
    *,
    tracked_py: list[str],
    on_disk: bool,
    python: str = sys.executable,
    import_cache: dict[tuple[str, ...], ImportOutcome] | None = None,
    code_state: str = "",
) -> list[GateResult]:
    """Explicit gate steps on their targets, then the automatic gates on changed files.

    With ``on_disk`` False (a dry run) the import gate, which must import the
    files from disk, is reported as not run. Importing torch costs seconds, so
    import results are reused from ``import_cache`` while ``code_state`` (a
    fingerprint of the repo's Python files) is the same.
    """
    results: list[GateResult] = []

    def content(relative: str) -> bytes:
        if relative in execution.after:
            return execution.after[relative]
        return (root / relative).read_bytes()

    import_requests: list[tuple[str, tuple[str, ...]]] = []

    def imports(module: str, names: tuple[str, ...]) -> None:
        if (module, names) not in import_requests:
            import_requests.append((module, names))

    for planned in plan.steps:
        gate = planned.action
        if not isinstance(gate, Gate):
            continue
        if gate.gate == "syntax":
            results += [check_syntax(content(f), f) for f in gate.files]
        elif gate.gate == "yaml":
            results += [check_yaml(content(f), f) for f in gate.files]
        elif gate.gate == "imports":
            imports(gate.module, gate.names)
        elif gate.gate == "pattern-absent":
            for f in _pattern_scope(gate, plan, execution, tracked_py):
                results.append(check_absent(content(f), f, gate.outer, gate.inner))
        elif gate.gate == "pattern-present":
            results += [check_present(content(f), f, gate.outer) for f in gate.files]

    checkpoint("during-gates")
    for relative in execution.changed_files():
        after = execution.after[relative]
        if relative.endswith(".py"):
            results.append(check_syntax(after, relative))
            results.append(check_undefined(execution.before[relative], after, relative))
            module = module_for(relative)
            if module:
                imports(module, ())
        elif relative.endswith(YAML_SUFFIXES):
            results.append(check_yaml(after, relative))
    results += _import_gates(root, import_requests, on_disk, python, import_cache, code_state)
    return list(dict.fromkeys(results))  # an explicit gate may repeat an automatic one


def _import_gates(
    root: Path,
    requests: list[tuple[str, tuple[str, ...]]],
    on_disk: bool,
    python: str,
    cache: dict[tuple[str, ...], ImportOutcome] | None,
    code_state: str,
) -> list[GateResult]:
    if not on_disk:
        return [GateResult("imports", m, "warning", "not run in a dry run") for m, _ in requests]
    cache = {} if cache is None or not code_state else cache
    wanted = list(dict.fromkeys(m for m, _ in requests if (code_state, python, m) not in cache))
    for module, outcome in import_modules(root, wanted, python=python).items():
        cache[(code_state, python, module)] = outcome
    return [judge_import(root, m, names, cache[(code_state, python, m)]) for m, names in requests]
