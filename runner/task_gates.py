"""A task's gates: its gate steps on their targets, then the automatic gates on changed files.

:func:`run_gates` checks what :func:`runner.execute.apply_steps` computed, reading through the
same :class:`~runner.execute.WorkingTree` (the task's files in memory, the rest from disk);
only the import gates need the files on disk, so they run last. Costly checks (patterns,
ruff, OmegaConf) are memoized on the bytes they read (:mod:`runner.memo`).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path

from runner.blueprint.steps import Gate
from runner.errors import InputError
from runner.execute import YAML_SUFFIXES, TaskExecution, WorkingTree
from runner.faults import checkpoint
from runner.fsutil import module_for
from runner.gates import GateResult
from runner.gates.config_refs import check_config_references, config_root
from runner.gates.import_server import keep_seconds
from runner.gates.import_time import check_import_time
from runner.gates.imports import ImportOutcome, import_modules, judge_import
from runner.gates.patterns import check_absent, check_present
from runner.gates.references import check_references
from runner.gates.symbols import check_defines, check_exists
from runner.gates.syntax import check_syntax
from runner.gates.undefined import check_undefined
from runner.gates.yaml_gate import check_yaml
from runner.memo import digest, memoized
from runner.runlog import EventLog, timed
from runner.settings import Settings, load_settings
from runner.tasks import PlannedStep, TaskPlan


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
    tracked: list[str] | None = None,
    events: EventLog | None = None,
) -> list[GateResult]:
    """Explicit gate steps on their targets, then the automatic gates on changed files.

    With ``on_disk`` False (a dry run) the import gate, which must import the
    files from disk, is reported as not run. Importing torch costs seconds, so
    import results are reused from ``import_cache`` while ``code_state`` (a
    fingerprint of the repo's Python files) is the same. ``tracked``: the
    repo's files the references gate reads (default: ``tracked_py``), to which
    files the task creates are added. ``events``: each gate step, each changed file's
    automatic gates and the import checks, with their results and times.
    """
    results: list[GateResult] = []

    tree = WorkingTree(root, execution)

    def content(relative: str) -> bytes:
        data = tree.read(relative)
        if data is None:
            raise InputError("does not exist (no earlier step created it)", path=relative)
        return data

    import_requests: list[tuple[str, tuple[str, ...]]] = []
    timing_requests: list[Gate] = []

    def imports(module: str, names: tuple[str, ...]) -> None:
        if (module, names) not in import_requests:
            import_requests.append((module, names))

    def gate_step(planned: PlannedStep, gate: Gate) -> list[GateResult]:
        try:
            if gate.gate == "references":
                return _references(gate, execution, tree, tracked_py if tracked is None else tracked)
            if gate.gate == "import-time":
                timing_requests.append(gate)
                return []
            if gate.gate == "config-references":
                root_dir = gate.files[0].rstrip("/")
                if not tree.files_under(root_dir):
                    raise InputError("is not a folder of configs (no file under it)", path=root_dir)
                return _config_references(root_dir, tree.files_under(root_dir), tree.read)
            return _explicit_gate(gate, planned, plan, execution, tree, content, tracked_py, imports)
        except InputError as err:
            line = planned.step.line
            return [GateResult(gate.gate, err.path or "", "failed", f"step at line {line}: {err.message}")]

    task = plan.task.id
    for planned in plan.steps:
        if isinstance(gate := planned.action, Gate):
            with timed(events, "gate_step", task=task, line=planned.step.line, gate=gate.gate) as out:
                found = gate_step(planned, gate)
                out["results"] = [g.as_dict() for g in found]
            results += found
    if on_disk:  # the crash-safety stage: gates on files written (not a run's look ahead)
        checkpoint("during-gates")
    settings = load_settings(root)  # [tool.runner.gates]: the automatic gates on or off
    changed_configs: dict[str, list[str]] = defaultdict(list)  # config root -> changed YAML under it
    for relative in execution.changed_files():
        after = execution.after[relative]
        if after is None:
            continue  # removed; the references gate says whether anything still needs it
        automatic = len(results)
        with timed(events, "gates", task=task, file=relative) as out:
            _automatic_gates(relative, after, execution, settings, results, imports, changed_configs)
            out["results"] = [g.as_dict() for g in results[automatic:]]
    for configs, changed in changed_configs.items():
        with timed(events, "gates", task=task, configs=configs) as out:
            found = _config_references(configs, tree.files_under(configs), tree.read, changed)
            out["results"] = [g.as_dict() for g in found]
        results += found
    if import_requests:
        with timed(events, "import_gates", task=task, modules=[m for m, _ in import_requests]) as out:
            found = _import_gates(
                root, import_requests, on_disk, python, import_cache, code_state, settings.keep_import_server
            )
            out["results"] = [g.as_dict() for g in found]
        results += found
    for gate in timing_requests:
        with timed(events, "import_time_gate", task=task, module=gate.module) as out:
            found = [_import_time(root, gate, on_disk, tracked_py, execution, python)]
            out["results"] = [g.as_dict() for g in found]
        results += found
    return list(dict.fromkeys(results))  # an explicit gate may repeat an automatic one


def _automatic_gates(
    relative: str,
    after: bytes,
    execution: TaskExecution,
    settings: Settings,
    results: list[GateResult],
    imports: Callable[[str, tuple[str, ...]], None],
    changed_configs: dict[str, list[str]],
) -> None:
    """The gates every changed file gets: syntax, undefined names, imports (queued), YAML."""
    if relative.endswith(".py"):
        if settings.gate_on("syntax"):
            results.append(check_syntax(after, relative))
        if settings.gate_on("undefined-names"):
            before = execution.before[relative]
            results.append(
                memoized(
                    ("undefined-names", digest(before), digest(after), relative),
                    partial(check_undefined, before, after, relative),
                )
            )
        module = module_for(relative)
        if module and settings.gate_on("imports"):
            imports(module, ())
    elif relative.endswith(YAML_SUFFIXES) and settings.gate_on("yaml"):
        results.append(check_yaml(after, relative))
        if (configs := config_root(relative)) is not None:
            changed_configs[configs].append(relative)


def _import_time(
    root: Path, gate: Gate, on_disk: bool, tracked_py: list[str], execution: TaskExecution, python: str
) -> GateResult:
    if not on_disk:
        return GateResult("import-time", gate.module, "warning", "not run in a dry run")
    python_files = sorted({*tracked_py, *(p for p in execution.before if p.endswith(".py"))})
    return check_import_time(
        root, gate.module, gate.percent, python_files, _before(root, execution), python=python
    )


def _references(
    gate: Gate, execution: TaskExecution, tree: WorkingTree, tracked: list[str]
) -> list[GateResult]:
    """The repo after the task (its new files in, its removed ones out) must not name ``gate.files``."""
    files = [*tracked, *(p for p, data in execution.after.items() if data is not None and p not in tracked)]
    return check_references(sorted(f for f in files if tree.read(f) is not None), tree.read, list(gate.files))


def _explicit_gate(
    gate: Gate,
    planned: PlannedStep,
    plan: TaskPlan,
    execution: TaskExecution,
    tree: WorkingTree,
    content: Callable[[str], bytes],
    tracked_py: list[str],
    imports: Callable[[str, tuple[str, ...]], None],
) -> list[GateResult]:
    if gate.gate == "syntax":
        return [check_syntax(content(f), f) for f in gate.files]
    if gate.gate == "yaml":
        return [check_yaml(content(f), f) for f in gate.files]
    if gate.gate == "imports":
        imports(gate.module, gate.names)
        return []
    if gate.gate == "pattern-absent":
        scope = _pattern_scope(gate, plan, execution, tracked_py)
        return [_pattern(gate, content(f), f) for f in scope]
    if gate.gate == "pattern-present":
        return [_pattern(gate, content(f), f) for f in gate.files]
    if gate.gate == "defines":
        return [check_defines(content(f), f, gate.symbol) for f in gate.files]
    if gate.gate == "exists":
        return [check_exists(tree.exists(f), f) for f in gate.files]
    return []


def _pattern(gate: Gate, source: bytes, relative: str) -> GateResult:
    """A pattern gate on one file (LibCST with scope metadata: memoized, see runner.memo)."""

    def check() -> GateResult:
        if gate.gate == "pattern-absent":
            return check_absent(source, relative, gate.outer, gate.inner)
        return check_present(source, relative, gate.outer)

    return memoized((gate.gate, digest(source), relative, gate.outer, gate.inner), check)


def _config_references(
    root: str, files: list[str], read: Callable[[str], bytes | None], changed: list[str] | None = None
) -> list[GateResult]:
    """The config-references gate (OmegaConf composes the tree: memoized on every file's bytes)."""
    contents = tuple((f, digest(read(f))) for f in files)
    key = ("config-references", root, contents, None if changed is None else tuple(changed))
    return memoized(key, partial(check_config_references, root, files, read, changed))


def _before(root: Path, execution: TaskExecution) -> Callable[[str], bytes | None]:
    """A file's bytes before the task: its pre-image if the task changed it, else the disk's."""

    def read(relative: str) -> bytes | None:
        if relative in execution.before:
            return execution.before[relative]
        path = root / relative
        return path.read_bytes() if path.is_file() else None

    return read


def _import_gates(
    root: Path,
    requests: list[tuple[str, tuple[str, ...]]],
    on_disk: bool,
    python: str,
    cache: dict[tuple[str, ...], ImportOutcome] | None,
    code_state: str,
    keep: float,
) -> list[GateResult]:
    if not on_disk:
        return [GateResult("imports", m, "warning", "not run in a dry run") for m, _ in requests]
    cache = {} if cache is None or not code_state else cache
    wanted = list(dict.fromkeys(m for m, _ in requests if (code_state, python, m) not in cache))
    for module, outcome in import_modules(root, wanted, python=python, keep=keep_seconds(keep)).items():
        cache[(code_state, python, module)] = outcome
    return [judge_import(root, m, names, cache[(code_state, python, m)]) for m, names in requests]
