"""From blueprint tasks to checked plans: every step classified and validated.

Validation happens for the whole blueprint before anything runs, so wrong input
(an unknown codemod, a bad option, a path outside the repo or missing) stops
the run with the blueprint's file and line and changes nothing.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

from codemods import registry
from codemods.base import RunnerCodemod
from codemods.blocks import BlockSyntaxError, parse_block
from codemods.engine import CodemodCall
from runner.blueprint.model import Blueprint, Step, Task
from runner.blueprint.steps import (
    PLACES_HELP,
    Action,
    CodeAction,
    CodemodStep,
    ConfigSet,
    Gate,
    InsertBlock,
    InsertMarked,
    Manual,
    ReplaceBlock,
    classify,
    kind_of,
    mentioned_paths,
)
from runner.errors import BlueprintError
from runner.fsutil import python_files_under, resolve_inside
from runner.gates.imports import module_for

_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    action: Action
    # codemod steps: the call and the repo-relative .py files it covers
    call: CodemodCall | None = None
    files: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (repo-relative path, why) for files found but not read

    @property
    def kind(self) -> str:
        return kind_of(self.action)


@dataclass(frozen=True)
class TaskPlan:
    task: Task
    steps: tuple[PlannedStep, ...]
    files: tuple[str, ...]  # files the task names or targets, repo-relative

    @property
    def manual_steps(self) -> tuple[PlannedStep, ...]:
        return tuple(s for s in self.steps if isinstance(s.action, Manual))

    @property
    def codemod_names(self) -> tuple[str, ...]:
        names = [s.action.name for s in self.steps if isinstance(s.action, CodemodStep)]
        return tuple(dict.fromkeys(names))


# Codemod options whose text becomes code in the file (not a name, a number or a flag).
CODE_OPTIONS: dict[str, tuple[str, ...]] = {"replace-default": ("value",)}
# Step kinds that paste code written in the plan into a file (the code-block steps).
CODE_KINDS: frozenset[str] = frozenset({"code"})


def inserts_code(planned: PlannedStep) -> bool:
    """Whether the step writes code taken from the plan: a reviewer should read it before a run."""
    if planned.kind in CODE_KINDS:
        return True
    action = planned.action
    return isinstance(action, CodemodStep) and any(
        option in action.options for option in CODE_OPTIONS.get(action.name, ())
    )


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _expand(root: Path, target: str, bp: Blueprint, line: int) -> list[Path]:
    """A codemod target: a file, a directory (its .py files) or a glob."""
    if any(ch in target for ch in "*?["):
        resolve_inside(
            root, target.split("*")[0].split("?")[0].split("[")[0] or ".", source=bp.path, line=line
        )
        matches = sorted(Path(p) for p in glob.glob(str(root / target), recursive=True))
        paths = [
            resolve_inside(root, _relative(root, m.absolute()), source=bp.path, line=line) for m in matches
        ]
        if not paths:
            raise BlueprintError(f"no file matches {target!r}", path=bp.path, line=line)
        return paths
    path = resolve_inside(root, target, source=bp.path, line=line)
    if not path.exists():
        raise BlueprintError(f"target {target!r} does not exist in the repo", path=bp.path, line=line)
    return [path]


def _codemod_call(
    action: CodemodStep, known: dict[str, type[RunnerCodemod]], bp: Blueprint, line: int
) -> CodemodCall:
    codemod = known.get(action.name)
    if codemod is None:
        raise BlueprintError(
            f"unknown codemod {action.name!r} (known: {', '.join(sorted(known))})",
            path=bp.path,
            line=line,
        )
    try:
        options = codemod.resolve_options(action.options)
    except ValueError as err:
        raise BlueprintError(str(err), path=bp.path, line=line) from None
    return CodemodCall(codemod, options)


def plan_step(bp: Blueprint, step: Step, root: Path) -> tuple[PlannedStep, list[str]]:
    """The step's action, validated, and the repo files it names or targets."""
    action = classify(step.text, step.blocks)
    line = step.line
    files: list[str] = []
    if isinstance(action, (ReplaceBlock, InsertBlock, InsertMarked)):
        relative = _check_code_step(bp, step, action, root)
        return PlannedStep(step, action, None, (relative,)), [relative]
    if isinstance(action, CodemodStep):
        call = _codemod_call(action, registry(), bp, line)
        skipped: list[tuple[str, str]] = []
        for target in action.targets:
            for path in _expand(root, target, bp, line):
                for found in python_files_under(path, root):
                    shown = _relative(root, found.path)
                    if found.escapes:
                        raise BlueprintError(
                            f"{shown} (under {target!r}) {found.problem}", path=bp.path, line=line
                        )
                    if found.problem:
                        skipped.append((shown, found.problem))
                    else:
                        files.append(_relative(root, found.resolved))
        covered = tuple(dict.fromkeys(files))
        return PlannedStep(step, action, call, covered, tuple(dict.fromkeys(skipped))), list(covered)
    if isinstance(action, ConfigSet):
        path = resolve_inside(root, action.file, source=bp.path, line=line)
        if not path.is_file():
            raise BlueprintError(f"config file {action.file!r} does not exist", path=bp.path, line=line)
        files.append(_relative(root, path))
    elif isinstance(action, Gate):
        for name in action.files:
            path = resolve_inside(root, name, source=bp.path, line=line)
            if not path.is_file():
                raise BlueprintError(f"gate target {name!r} does not exist", path=bp.path, line=line)
            files.append(_relative(root, path))
        if action.gate == "imports":
            if not _MODULE.fullmatch(action.module):
                raise BlueprintError(f"{action.module!r} is not a module name", path=bp.path, line=line)
            module_file = _module_file(root, action.module)
            files += [module_file] if module_file else []
    else:
        for name in mentioned_paths(step.text):
            path = resolve_inside(root, name, source=bp.path, line=line)
            if path.is_file():
                files.append(_relative(root, path))
    return PlannedStep(step, action), files


_PHRASE = {
    ReplaceBlock: "'Replace in' takes 2 code blocks: the block to find, then its replacement",
    InsertBlock: "'Insert into' takes 1 code block: the code to insert",
    InsertMarked: "'Insert the lines marked' takes 1 code block: context lines and marked lines",
}


def is_python_path(name: str) -> bool:
    return name.endswith((".py", ".pyi"))


def _check_code_step(bp: Blueprint, step: Step, action: CodeAction, root: Path) -> str:
    """A code-block step's file (repo-relative), its blocks and anchor checked; raises BlueprintError."""
    line = step.line
    if len(action.blocks) != action.expected_blocks:
        raise BlueprintError(
            f"{_PHRASE[type(action)]}; this step has {len(action.blocks)}", path=bp.path, line=line
        )
    if isinstance(action, InsertBlock) and not action.place:
        raise BlueprintError(
            f"unknown place {action.where_text!r}; say one of: {PLACES_HELP}", path=bp.path, line=line
        )
    # Confined to the repo now; whether it exists is checked when the task runs (an earlier
    # step may create it).
    path = resolve_inside(root, action.file, source=bp.path, line=line)
    structural = is_python_path(action.file)
    if not structural and not isinstance(action, ReplaceBlock):
        raise BlueprintError(
            f"{action.file!r} is not a Python file: only 'Replace in' edits other files (line by line)",
            path=bp.path,
            line=line,
        )
    if structural:
        for block in action.blocks:
            try:
                parse_block(block.text)
            except BlockSyntaxError as err:
                where = block.line + err.line if err.line else block.line
                raise BlueprintError(str(err), path=bp.path, line=where) from None
        if isinstance(action, InsertBlock) and action.place in ("after", "before"):
            try:
                parse_block(action.target)
            except BlockSyntaxError as err:
                raise BlueprintError(
                    f"the anchor `{action.target}`: {err}", path=bp.path, line=line
                ) from None
    return _relative(root, path)


def plan_task(bp: Blueprint, task: Task, root: Path) -> TaskPlan:
    planned: list[PlannedStep] = []
    files: list[str] = []
    for step in task.steps:
        planned_step, step_files = plan_step(bp, step, root)
        planned.append(planned_step)
        files += step_files
    return TaskPlan(task, tuple(planned), tuple(dict.fromkeys(files)))


def _module_file(root: Path, module: str) -> str | None:
    base = Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if (root / candidate).is_file():
            rel = candidate.as_posix()
            return rel if module_for(rel) == module else None
    return None


def plan_blueprint(bp: Blueprint, root: Path, *, pending_only: bool = True) -> list[TaskPlan]:
    """Plans for the (pending) tasks; the first invalid step raises with its file and line.

    Completed tasks are not re-validated: their targets may rightly be gone.
    """
    return [plan_task(bp, t, root) for t in bp.tasks if not (pending_only and t.checked)]
