"""Executing one task's mechanical steps and gates, in memory first.

:func:`apply_steps` computes every file's new bytes (codemods, config edits,
file steps, in the order the steps are written) without touching the disk; each
file is read once, and consecutive codemod steps that cover a file work on one
parse of it. :func:`runner.task_gates.run_gates` checks the result.
"""

from __future__ import annotations

import ast
import glob
import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import get_args

import libcst as cst

from codemods.base import Change, Skip
from codemods.blocks import BlockEdit, Where, WhereKind, insert_block, insert_marked_lines, replace_block
from codemods.engine import CodemodCall, FileOutcome, apply_codemods, gather_call
from codemods.unused_imports import remove_imports_made_unused
from runner.blueprint.model import Step, encode
from runner.blueprint.steps import (
    ArchiveFiles,
    CodeAction,
    CodemodStep,
    ConfigMerge,
    ConfigRemove,
    ConfigSet,
    CreateFile,
    Gate,
    InsertBlock,
    InsertMarked,
    Manual,
    MoveFile,
    RemoveUnusedImports,
    ReplaceBlock,
)
from runner.config_edit import set_value
from runner.errors import InputError
from runner.file_ops import NEW_FILE_MODE, FileEdit, archive_files, create_file, move_file
from runner.fsutil import resolve_inside
from runner.memo import digest, memoized
from runner.records import datarecord, field
from runner.runlog import EventLog, timed
from runner.tasks import PlannedStep, TaskPlan, is_glob, is_python_path
from runner.text_edit import replace_text
from runner.toml_edit import TomlEdit, TomlEditError, merge_toml, remove_array_items
from runner.yaml_merge import merge_yaml

YAML_SUFFIXES = (".yaml", ".yml")


@datarecord
class StepOutcome:
    line: int
    text: str
    kind: str
    detail: str = ""
    changes: int = 0
    ok: bool = True


@datarecord
class TaskExecution:
    """What a task's steps did: new file contents and the record of why.

    ``before``/``after`` map repo-relative paths to bytes, None where the file
    does not exist (created or removed by a file step).
    """

    before: dict[str, bytes | None] = field(default_factory=dict)
    after: dict[str, bytes | None] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)  # files a step creates
    changes: list[tuple[str, Change]] = field(default_factory=list)
    skips: list[tuple[str, Skip]] = field(default_factory=list)
    file_problems: list[tuple[str, str, str]] = field(default_factory=list)  # path, status, reason
    steps: list[StepOutcome] = field(default_factory=list)
    edits: list[FileEdit] = field(default_factory=list)  # config and file edits, for the report
    earlier: dict[str, bytes | None] = field(default_factory=dict)  # a dry run's earlier tasks' files

    def changed_files(self) -> list[str]:
        return [p for p, data in self.after.items() if data != self.before[p]]

    @property
    def failures(self) -> list[str]:
        # One line each (a detail may go on with a diff for the JSON report).
        failed = [f"step at line {s.line}: {s.detail.splitlines()[0]}" for s in self.steps if not s.ok]
        failed += [f"{p}: {reason}" for p, status, reason in self.file_problems if status == "error"]
        return failed


class WorkingTree:
    """The repo as the task's steps see it: their writes over the disk (a :class:`file_ops.Tree`)."""

    def __init__(self, root: Path, execution: TaskExecution) -> None:
        self.root = root
        self.execution = execution

    def read(self, relative: str) -> bytes | None:
        if relative not in self.execution.after:
            path = self.root / relative
            if relative in self.execution.earlier:  # a dry run: an earlier task's result
                data = self.execution.earlier[relative]
            else:
                data = path.read_bytes() if path.is_file() and not path.is_symlink() else None
            self.execution.before[relative] = data
            self.execution.after[relative] = data
        return self.execution.after[relative]

    def mode(self, relative: str) -> int:
        if relative in self.execution.modes:
            return self.execution.modes[relative]
        try:
            return (self.root / relative).stat().st_mode & 0o7777
        except FileNotFoundError:
            return NEW_FILE_MODE

    def write(self, relative: str, data: bytes | None, mode: int | None = None) -> None:
        self.read(relative)
        self.execution.after[relative] = data
        if mode is not None:
            self.execution.modes[relative] = mode

    def files_under(self, relative: str) -> list[str]:
        prefix = relative.rstrip("/") + "/"
        folder = self.root / relative
        found: set[str] = set()
        if folder.is_dir() and not folder.is_symlink():
            for dirpath, dirnames, filenames in os.walk(folder):
                for name in [*dirnames, *filenames]:
                    if os.path.islink(os.path.join(dirpath, name)):
                        link = Path(dirpath, name).relative_to(self.root).as_posix()
                        raise InputError(
                            "is a symbolic link; file steps move and archive files only", path=link
                        )
                found.update(Path(dirpath, n).relative_to(self.root).as_posix() for n in filenames)
        found.update(p for p in self.execution.after if p.startswith(prefix))
        return sorted(p for p in found if self.read(p) is not None)

    def glob(self, pattern: str) -> list[str]:
        matches = {
            resolve_inside(self.root, Path(m).relative_to(self.root).as_posix()).relative_to(self.root)
            for m in glob.glob(str(self.root / pattern))
        }
        created = {Path(p) for p, data in self.execution.after.items() if data is not None}
        matches |= {p for p in created if p.match(pattern.rstrip("/"))}
        return sorted(p.as_posix() for p in matches)

    def existing(self, name: str) -> tuple[str, bytes]:
        """A file a config step edits: its repo-relative path and bytes; missing is an input error."""
        relative = (self.root / name).resolve().relative_to(self.root.resolve()).as_posix()
        data = self.read(relative)
        if data is None:
            raise InputError("does not exist", path=relative)
        return relative, data

    def exists(self, relative: str) -> bool:
        return self.read(relative) is not None or bool(self.files_under(relative))


def apply_steps(
    plan: TaskPlan,
    root: Path,
    earlier: Mapping[str, bytes | None] | None = None,
    events: EventLog | None = None,
) -> TaskExecution:
    """Every step's edits, in the order the steps are written, in memory.

    Consecutive codemod steps share one parse per file; a step that needs a
    file which neither the disk nor an earlier step of the task provides fails
    with its line. ``earlier``: files as the previous tasks of a dry run left them, standing
    in for the disk. ``events``: each step (a run of codemod steps: together) with its time.
    """
    execution = TaskExecution(earlier=dict(earlier or {}))
    tree = WorkingTree(root, execution)
    codemods: list[PlannedStep] = []
    task_id = plan.task.id
    for planned in plan.steps:
        if isinstance(planned.action, CodemodStep):
            codemods.append(planned)
            continue
        _timed_codemods(codemods, tree, events, task_id)
        codemods = []
        if isinstance(planned.action, Gate | Manual):
            continue  # gates run in run_gates; a manual step is a person's
        step = planned.step
        with timed(events, "step", task=task_id, line=step.line, kind=planned.kind) as result:
            edits_before = len(execution.edits)
            _apply_step(planned, tree)
            result.update(_step_result(execution, step.line, edits_before))
    _timed_codemods(codemods, tree, events, task_id)
    return execution


def _timed_codemods(steps: list[PlannedStep], tree: WorkingTree, events: EventLog | None, task: str) -> None:
    if not steps:
        return
    with timed(events, "codemods", task=task, lines=[s.step.line for s in steps]):
        _apply_codemods(steps, tree)
    if events is not None:
        for planned in steps:
            events.emit(
                "step",
                task=task,
                line=planned.step.line,
                kind="codemod",
                **_step_result(tree.execution, planned.step.line),
            )


def _step_result(execution: TaskExecution, line: int, edits_before: int = 0) -> dict[str, object]:
    outcome = next((s for s in reversed(execution.steps) if s.line == line), None)
    if outcome is None:  # config and file steps record edits, not outcomes
        return {"ok": True, "detail": "; ".join(e.description for e in execution.edits[edits_before:])}
    return {"ok": outcome.ok, "detail": outcome.detail}


def _apply_step(planned: PlannedStep, tree: WorkingTree) -> None:
    execution = tree.execution
    step = planned.step
    try:
        if isinstance(planned.action, ConfigSet):
            _require(planned, tree)
            _config_set(planned.action, step, tree)
        elif isinstance(planned.action, ConfigMerge):
            _config_merge(planned.action, step, tree)
        elif isinstance(planned.action, ConfigRemove):
            _require(planned, tree)
            _config_remove(planned.action, step, tree)
        elif isinstance(planned.action, ReplaceBlock | InsertBlock | InsertMarked):
            execution.steps.append(_apply_code_step(planned, planned.action, tree))
        elif isinstance(planned.action, RemoveUnusedImports):
            _require(planned, tree)
            execution.steps.append(_remove_unused_imports(planned.action, step, tree))
        elif isinstance(planned.action, CreateFile | MoveFile | ArchiveFiles):
            _file_step(planned.action, step, tree)
    except InputError as err:
        execution.steps.append(StepOutcome(step.line, step.text, planned.kind, err.one_line(), ok=False))


def _worth_keeping(source: bytes, outcome: FileOutcome) -> bool:
    """A codemod pass worth memoizing: LibCST ran (a needle-only outcome costs nothing to redo),
    and no ``from X import *`` made a codemod read X from disk (the result then depends on more
    than the file's bytes)."""
    return outcome.parsed and not _star_import(source)


def _star_import(source: bytes) -> bool:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True
    return any(isinstance(n, ast.ImportFrom) and n.names[0].name == "*" for n in ast.walk(tree))


def _require(planned: PlannedStep, tree: WorkingTree) -> None:
    """The paths the step needed that were missing when planned must exist by now."""
    for path in planned.missing:
        if not (tree.glob(path) if is_glob(path) else tree.exists(path)):
            raise InputError("does not exist (no earlier step created it)", path=path)


def _apply_codemods(steps: list[PlannedStep], tree: WorkingTree) -> None:
    """A run of codemod steps: all their calls per file, in step order, on one parse."""
    execution = tree.execution
    calls_by_file: dict[str, list[CodemodCall]] = defaultdict(list)
    files_by_step: dict[int, list[str]] = {}
    calls_by_step: dict[int, CodemodCall] = {}
    for planned in steps:
        call = planned.call  # a new CodemodCall at each access: kept once per step
        assert call is not None
        calls_by_step[planned.step.line] = call
        files = list(planned.files)
        for path in planned.missing:  # created by an earlier step of this task
            files += [f for f in tree.glob(path) if f.endswith(".py")] if is_glob(path) else [path]
        files_by_step[planned.step.line] = files
        for relative in files:
            if call not in calls_by_file[relative]:
                calls_by_file[relative].append(call)
        for path, reason in planned.skipped:  # found under a target, never read: a FIFO, a submodule
            if (path, "skipped", reason) not in execution.file_problems:
                execution.file_problems.append((path, "skipped", reason))
    refusals = _gather(calls_by_step, files_by_step, calls_by_file, tree)
    per_codemod_file: dict[tuple[str, str], int] = defaultdict(int)
    for relative, calls in calls_by_file.items():
        source = tree.read(relative)
        if source is None:
            continue  # the step reports it missing below
        # Memoized: a run computes its tasks ahead while the import gate's server starts. A
        # multi-file codemod's outcome also depends on what its gather step read elsewhere.
        outcome = memoized(
            (
                "codemods",
                digest(source),
                relative,
                tuple((c.codemod, repr(c.options), repr(c.gathered)) for c in calls),
            ),
            partial(apply_codemods, source, calls, relative),
            keep=partial(_worth_keeping, source),
        )
        execution.after[relative] = outcome.after
        execution.changes += [(relative, c) for c in outcome.changes]
        execution.skips += [(relative, s) for s in outcome.skips]
        if outcome.status in ("skipped", "error"):
            execution.file_problems.append((relative, outcome.status, outcome.reason))
        if outcome.status == "changed":
            for change in outcome.changes:
                per_codemod_file[(change.codemod, relative)] += 1

    for planned in steps:
        action = planned.action
        assert isinstance(action, CodemodStep)
        files = files_by_step[planned.step.line]
        absent = [f for f in files if tree.read(f) is None] + [
            p for p in planned.missing if is_glob(p) and not tree.glob(p)
        ]
        count = sum(per_codemod_file[(action.name, f)] for f in files)
        outcome_step = StepOutcome(
            planned.step.line, planned.step.text, "codemod", f"{action.name}: {count} change(s)", count
        )
        if absent:
            outcome_step.ok = False
            outcome_step.detail = f"{', '.join(absent)}: does not exist (no earlier step created it)"
        elif planned.step.line in refusals:
            outcome_step.ok = False
            outcome_step.detail = f"{action.name} refused: {refusals[planned.step.line]}"
        elif action.expect is not None and count != action.expect:
            outcome_step.ok = False
            outcome_step.detail = f"{action.name} made {count} change(s), the step expects {action.expect}"
        execution.steps.append(outcome_step)


def _gather(
    calls_by_step: dict[int, CodemodCall],
    files_by_step: dict[int, list[str]],
    calls_by_file: dict[str, list[CodemodCall]],
    tree: WorkingTree,
) -> dict[int, str]:
    """Give each multi-file codemod step's call its analysis of the step's files (as the
    earlier steps left them); the refusals by step line."""
    refusals: dict[int, str] = {}
    for line, call in calls_by_step.items():
        if not call.codemod.GATHERS:
            continue
        files = files_by_step[line]
        gathered = gather_call(call, files, tree.read, str(tree.root))
        for relative in files:
            calls_by_file[relative] = [gathered if c is call else c for c in calls_by_file[relative]]
        if gathered.gathered is not None and gathered.gathered.refusal:
            refusals[line] = gathered.gathered.refusal
    return refusals


def _config_set(action: ConfigSet, step: Step, tree: WorkingTree) -> None:
    execution = tree.execution
    relative, source = tree.existing(action.file)
    new, config_change = set_value(source, action.key, action.value, relative)
    tree.write(relative, new)
    detail = (
        f"{relative}: {action.key} already {action.value}"
        if not config_change.changed
        else f"{relative}:{config_change.line}: {action.key}: {config_change.before} -> {action.value}"
    )
    if config_change.changed:
        description = f"set {action.key}: {config_change.before} -> {action.value}"
        execution.edits.append(FileEdit(relative, description, "config", config_change.line))
    execution.steps.append(StepOutcome(step.line, step.text, "config", detail, int(config_change.changed)))


def _config_merge(action: ConfigMerge, step: Step, tree: WorkingTree) -> None:
    relative, source = tree.existing(action.file)
    block = step.blocks[0]
    if relative.endswith(".toml"):
        _toml_edit(step, tree, relative, lambda: merge_toml(source, block.text))
        return
    new, edits = merge_yaml(source, block.text, relative, block_line=block.line)
    tree.write(relative, new)
    for edit in edits:
        tree.execution.edits.append(FileEdit(relative, edit.describe(), "config", edit.line))
    shown = "; ".join(f"{relative}:{e.line}: {e.describe()}" for e in edits)
    tree.execution.steps.append(
        StepOutcome(step.line, step.text, "config", shown or f"{relative}: already set", len(edits))
    )


def _config_remove(action: ConfigRemove, step: Step, tree: WorkingTree) -> None:
    relative, source = tree.existing(action.file)
    _toml_edit(step, tree, relative, lambda: remove_array_items(source, action.key, list(action.items)))


def _toml_edit(step: Step, tree: WorkingTree, relative: str, edit: Callable[[], TomlEdit]) -> None:
    """A TOML merge or removal (runner.toml_edit: tomlkit keeps every other byte)."""
    try:
        result = edit()
    except TomlEditError as err:
        raise InputError(str(err), path=relative, line=err.line) from None
    tree.write(relative, result.after)
    for change in result.applied:
        tree.execution.edits.append(FileEdit(relative, change, "config", None))
    shown = "; ".join(result.changes) or "nothing to change"
    tree.execution.steps.append(
        StepOutcome(step.line, step.text, "config", f"{relative}: {shown}", len(result.applied))
    )


def _file_step(action: CreateFile | MoveFile | ArchiveFiles, step: Step, tree: WorkingTree) -> None:
    if isinstance(action, CreateFile):
        text = step.blocks[0].text  # the block's lines; a file ends with a line break
        edits = create_file(
            tree, action.path, encode(text + "\n" if text and not text.endswith("\n") else text)
        )
    elif isinstance(action, MoveFile):
        edits = move_file(tree, action.old, action.new)
    else:
        edits = archive_files(tree, action.paths, action.archive)
    tree.execution.edits += edits
    detail = "; ".join(f"{e.file}: {e.description}" for e in edits[:3]) + (
        f" (and {len(edits) - 3} more)" if len(edits) > 3 else ""
    )
    tree.execution.steps.append(
        StepOutcome(step.line, step.text, "file", detail or "already applied", len(edits))
    )


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


def _apply_code_step(planned: PlannedStep, action: CodeAction, tree: WorkingTree) -> StepOutcome:
    relative = planned.files[0]
    step = planned.step
    execution = tree.execution
    data = tree.read(relative)
    if data is None:
        return StepOutcome(step.line, step.text, "code", f"{relative} does not exist", ok=False)
    edit = _code_edit(action, data)
    detail = f"{relative}: {edit.message}"
    if edit.closest is not None:
        detail += f"\n{edit.closest.diff}"
    if edit.status == "applied":
        tree.write(relative, edit.source)
        name = _CODE_STEP_NAMES[type(action)]
        execution.changes += [(relative, Change(name, line, edit.message)) for line in edit.lines[:1]]
        return StepOutcome(step.line, step.text, "code", detail, max(1, len(edit.lines)))
    return StepOutcome(step.line, step.text, "code", detail, 0, ok=edit.status == "already-applied")


def _remove_unused_imports(action: RemoveUnusedImports, step: Step, tree: WorkingTree) -> StepOutcome:
    """The imports the task's earlier steps left unused (codemods.unused_imports), file by file."""
    details: list[str] = []
    count = 0
    for name in action.files:
        relative, data = tree.existing(name)
        try:
            edit = remove_imports_made_unused(tree.execution.before[relative], data, relative)
        except cst.ParserSyntaxError as err:
            raise InputError(f"does not parse: {err.message}", path=relative, line=err.raw_line) from None
        tree.write(relative, edit.after)
        for note in edit.removed:
            change = Change("remove-unused-imports", note.line, f"removed the unused import {note.name}")
            tree.execution.changes.append((relative, change))
        shown = [f"removed {n.name} (line {n.line})" for n in edit.removed]
        shown += [f"kept {n.name} (line {n.line}): {n.reason}" for n in edit.kept]
        details.append(f"{relative}: {'; '.join(shown) or 'no import was left unused'}")
        count += len(edit.removed)
    return StepOutcome(step.line, step.text, "code", "; ".join(details), count)
