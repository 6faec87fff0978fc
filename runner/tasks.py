"""From blueprint tasks to checked plans: every step classified and validated.

Validation happens for the whole blueprint before anything runs, so wrong input
(an unknown codemod, a bad option, a path outside the repo, a malformed step)
stops the run with the blueprint's file and line and changes nothing. Whether a
named file exists is not wrong input: an earlier task may create it. Such a file
is recorded as ``missing`` and checked when its task runs (:mod:`runner.execute`);
:func:`lint_steps` says which earlier step creates it.
"""

from __future__ import annotations

import glob
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from codemods import catalog
from runner.blueprint.model import Blueprint, Step, Task
from runner.blueprint.steps import (
    PLACES_HELP,
    Action,
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
    classify,
    kind_of,
    mentioned_paths,
)
from runner.errors import BlueprintError, RunnerError
from runner.fsutil import module_for, python_files_under, resolve_inside
from runner.records import datarecord, field
from runner.settings import load_settings

if TYPE_CHECKING:  # LibCST is imported only when a step runs or a code block is checked
    from codemods.contract import CodemodDeclaration
    from codemods.engine import CodemodCall

_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@datarecord(frozen=True)
class PlannedStep:
    """A step, what it asks for and what its files were when it was planned."""

    step: Step
    action: Action
    # codemod steps: the resolved options and the repo-relative .py files they cover
    options: dict[str, object] | None = None
    files: tuple[str, ...] = ()
    # repo-relative paths (or globs) the step needs that did not exist when it was planned
    missing: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (repo-relative path, why) for files found but not read

    @property
    def kind(self) -> str:
        return kind_of(self.action)

    @property
    def call(self) -> CodemodCall | None:
        """A codemod step's codemod with its options (importing the codemod, and LibCST)."""
        if self.options is None or not isinstance(self.action, CodemodStep):
            return None
        from codemods.engine import CodemodCall

        return CodemodCall(catalog()[self.action.name].load(), dict(self.options))


@datarecord(frozen=True)
class TaskPlan:
    """A task with each step planned and every file it touches."""

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


def inserts_code(planned: PlannedStep) -> bool:
    """Whether the step writes code taken from the plan: a reviewer should read it before a run."""
    action = planned.action
    if isinstance(action, ReplaceBlock | InsertBlock | InsertMarked | CreateFile):
        # Python from the plan is code; a Markdown or text replacement is not.
        return (action.path if isinstance(action, CreateFile) else action.file).endswith(".py")
    return isinstance(action, CodemodStep) and any(
        option in action.options for option in CODE_OPTIONS.get(action.name, ())
    )


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def is_glob(target: str) -> bool:
    return any(ch in target for ch in "*?[")


def expand(root: Path, target: str, *, source: str = "", line: int | None = None) -> list[Path]:
    """A file, a directory or a glob, confined to the repo; [] when nothing is there (yet)."""
    if is_glob(target):
        resolve_inside(
            root, target.split("*")[0].split("?")[0].split("[")[0] or ".", source=source, line=line
        )
        matches = sorted(Path(p) for p in glob.glob(str(root / target), recursive=True))
        return [
            resolve_inside(root, _relative(root, m.absolute()), source=source, line=line) for m in matches
        ]
    path = resolve_inside(root, target, source=source, line=line)
    return [path] if path.exists() else []


def _codemod_options(
    action: CodemodStep, known: dict[str, type[CodemodDeclaration]], bp: Blueprint, line: int, root: Path
) -> dict[str, object]:
    """The step's options, resolved and checked as the codemod would (without importing it)."""
    codemod = known.get(action.name)
    if codemod is None:
        raise BlueprintError(
            f"unknown codemod {action.name!r} (known: {', '.join(sorted(known))})",
            path=bp.path,
            line=line,
        )
    try:
        # [tool.runner.codemods.NAME] gives defaults; the step's own `with k=v` wins.
        defaults = load_settings(root).codemod_options.get(action.name, {})
        options = codemod.resolve_options({**defaults, **action.options})
    except ValueError as err:
        raise BlueprintError(str(err), path=bp.path, line=line) from None
    return options


def plan_step(bp: Blueprint, step: Step, root: Path) -> tuple[PlannedStep, list[str]]:
    """The step's action, validated, and the repo files it names or targets."""
    action = classify(step.text, step.blocks)
    line = step.line
    files: list[str] = []
    missing: list[str] = []

    def inside(name: str) -> str:
        return _relative(root, resolve_inside(root, name, source=bp.path, line=line))

    def existing_file(name: str) -> None:
        relative = inside(name)
        (files if (root / relative).is_file() else missing).append(relative)

    if isinstance(action, (ReplaceBlock, InsertBlock, InsertMarked)):
        relative = _check_code_step(bp, step, action, root)
        absent = () if (root / relative).is_file() else (relative,)  # lint asks who creates it
        return PlannedStep(step, action, None, (relative,), absent), [relative]
    if isinstance(action, CodemodStep):
        options = _codemod_options(action, catalog(), bp, line, root)
        skipped: list[tuple[str, str]] = []
        for target in action.targets:
            found = expand(root, target, source=bp.path, line=line)
            if not found:
                missing.append(target if is_glob(target) else inside(target))
            for path in found:
                # Every file under a directory target is resolved: a link into .git or out of
                # the repo stops the run; a FIFO or a submodule is skipped with its reason.
                for under in python_files_under(path, root):
                    shown = _relative(root, under.path)
                    if under.escapes:
                        raise BlueprintError(
                            f"{shown} (under {target!r}) {under.problem}", path=bp.path, line=line
                        )
                    if under.problem:
                        skipped.append((shown, under.problem))
                    else:
                        files.append(_relative(root, under.resolved))
        for name in catalog()[action.name].option_paths(options):  # a file an option names (a target module)
            relative = inside(name)
            if (root / relative).is_file():
                files.append(relative)
            elif relative not in missing:
                missing.append(relative)
        covered = tuple(dict.fromkeys(files))
        planned = PlannedStep(step, action, options, covered, tuple(missing), tuple(dict.fromkeys(skipped)))
        return planned, list(covered)
    if isinstance(action, CreateFile | MoveFile | ArchiveFiles | ConfigMerge):
        files += _plan_file_step(action, step, bp, root)
    elif isinstance(action, ConfigSet | ConfigRemove):
        existing_file(action.file)
    elif isinstance(action, RemoveUnusedImports):
        for name in action.files:
            if not is_python_path(name):
                raise BlueprintError(f"{name!r} is not a Python file", path=bp.path, line=line)
            existing_file(name)
    elif isinstance(action, Gate) and action.gate == "references":
        for name in action.files:
            expand(root, name, source=bp.path, line=line)  # confinement only: these should be gone
    elif isinstance(action, Gate) and action.gate == "config-references":
        relative = inside(action.files[0])
        (files if (root / relative).is_dir() else missing).append(relative)
    elif isinstance(action, Gate):
        for name in action.files:
            existing_file(name)
        if action.gate == "import-time" and not 0 < action.percent <= 100:
            raise BlueprintError("the import-time target must be 1% to 100%", path=bp.path, line=line)
        if action.gate in ("imports", "import-time"):
            if not _MODULE.fullmatch(action.module):
                raise BlueprintError(f"{action.module!r} is not a module name", path=bp.path, line=line)
            module_file = _module_file(root, action.module)
            files += [module_file] if module_file else []
            if module_file is None and _repo_package(root, action.module):
                # a module of the repo's own package that is not there (yet): lint asks who creates it
                missing.append(Path(*action.module.split(".")).with_suffix(".py").as_posix())
    else:
        for name in mentioned_paths(step.text):
            path = resolve_inside(root, name, source=bp.path, line=line)
            if path.is_file():
                files.append(_relative(root, path))
    return PlannedStep(step, action, missing=tuple(missing)), files


def _plan_file_step(
    action: CreateFile | MoveFile | ArchiveFiles | ConfigMerge, step: Step, bp: Blueprint, root: Path
) -> list[str]:
    """Validate a file or merge step's paths and blocks; the repo-relative paths it names."""
    line = step.line
    blocks_wanted = 1 if isinstance(action, CreateFile | ConfigMerge) else 0
    if len(step.blocks) != blocks_wanted:
        raise BlueprintError(
            f"this step takes {blocks_wanted or 'no'} code block(s) under it, it has {len(step.blocks)}",
            path=bp.path,
            line=line,
        )
    if isinstance(action, ConfigMerge) and not action.file.endswith((".yaml", ".yml", ".toml")):
        raise BlueprintError(f"{action.file!r} is not a .yaml or .toml file", path=bp.path, line=line)
    if isinstance(action, ArchiveFiles) and not action.archive.endswith((".tar.gz", ".tgz")):
        raise BlueprintError(f"{action.archive!r} is not a .tar.gz name", path=bp.path, line=line)
    if isinstance(action, CreateFile):
        names = [action.path]
    elif isinstance(action, MoveFile):
        names = [action.old, action.new]
    elif isinstance(action, ArchiveFiles):
        names = [action.archive, *action.paths]
    else:
        names = [action.file]
    named: list[str] = []
    for name in names:
        if is_glob(name):
            expand(root, name, source=bp.path, line=line)
            continue
        path = resolve_inside(root, name, source=bp.path, line=line)
        if path == root.resolve():
            raise BlueprintError(f"{name!r} is the repository itself", path=bp.path, line=line)
        named.append(_relative(root, path))
    return named


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
        from codemods.blocks import BlockSyntaxError, parse_block  # LibCST: only for code blocks

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


def _repo_package(root: Path, module: str) -> bool:
    top = module.split(".")[0]
    return "." in module and ((root / top).is_dir() or (root / f"{top}.py").is_file())


def _module_file(root: Path, module: str) -> str | None:
    base = Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if (root / candidate).is_file():
            rel = candidate.as_posix()
            return rel if module_for(rel) == module else None
    return None


@datarecord
class StepFinding:
    """What ``runner lint`` says about one step."""

    task: str
    step: Step
    kind: str
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    planned: PlannedStep | None = None  # None when the step did not classify


def _required(planned: PlannedStep, exists: Callable[[str], bool]) -> list[str]:
    """Paths that must exist when the step runs (file steps that are already applied need none)."""
    action = planned.action
    if isinstance(action, MoveFile):
        return [] if exists(action.new) else [action.old]
    if isinstance(action, ArchiveFiles):
        return [] if exists(action.archive) else [p for p in action.paths if not exists(p)]
    if isinstance(action, ConfigMerge):
        return [action.file]
    return list(planned.missing)


def _normal(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).rstrip("/")


def lint_steps(bp: Blueprint, root: Path) -> list[StepFinding]:
    """Every step of every task, in order, with what would stop it.

    A path a step needs that is not in the repo is fine when an earlier step
    creates it (a note), a warning when an earlier manual step mentions it (a
    person may create it), and an error only when nothing before it could.
    """
    created: dict[str, str] = {}  # path -> id of the task whose step creates it
    removed: dict[str, str] = {}
    mentioned: dict[str, tuple[str, int]] = {}  # path -> (task id, line) of a manual step naming it

    def on_disk(path: str) -> bool:
        if is_glob(path):
            return bool(glob.glob(str(root / path)))
        return (root / path).exists()

    def exists(path: str) -> bool:
        key = _normal(path)
        return key in created or (key not in removed and on_disk(path))

    findings: list[StepFinding] = []
    for task in bp.tasks:
        for step in task.steps:
            finding = StepFinding(task.id, step, "error")
            findings.append(finding)
            try:
                planned, files = plan_step(bp, step, root)
            except RunnerError as err:
                finding.errors.append(err.one_line())
                continue
            finding.kind, finding.files, finding.planned = planned.kind, files, planned
            where = f"{bp.path}:{step.line}: "
            for path in files:
                if _normal(path) in removed:
                    finding.errors.append(f"{where}{path!r} is removed by Task {removed[_normal(path)]}")
            for path in _required(planned, exists):
                key = _normal(path)
                package = key.removesuffix(".py") + "/__init__.py"  # a module may come as a package
                if key in created or package in created:
                    maker = created.get(key) or created[package]
                    finding.notes.append(f"{path} is created by Task {maker}")
                elif key in removed:
                    finding.errors.append(f"{where}{path!r} is removed by Task {removed[key]}")
                elif on_disk(path):
                    continue
                elif manual := next(
                    (m for p, m in mentioned.items() if key == p or key.startswith(p + "/")), None
                ):
                    finding.warnings.append(
                        f"{where}{path!r} does not exist yet; the manual step at line {manual[1]} "
                        f"(Task {manual[0]}) may create it"
                    )
                else:
                    finding.errors.append(f"{where}{path!r} does not exist and no earlier step creates it")
            action = planned.action
            made: list[str] = []
            gone: list[str] = []
            if isinstance(action, CreateFile):
                made = [action.path]
            elif isinstance(action, MoveFile):
                made, gone = [action.new], [action.old]
            elif isinstance(action, ArchiveFiles):
                made, gone = [action.archive], list(action.paths)
            elif isinstance(action, Manual):
                for path in mentioned_paths(step.text):
                    mentioned.setdefault(_normal(path), (task.id, step.line))
            for path in gone:
                removed[_normal(path)] = task.id
                created.pop(_normal(path), None)
            for path in made:
                created[_normal(path)] = task.id
                removed.pop(_normal(path), None)
    return findings


def plan_blueprint(bp: Blueprint, root: Path, *, pending_only: bool = True) -> list[TaskPlan]:
    """Plans for the (pending) tasks; the first invalid step raises with its file and line.

    Completed tasks are not re-validated: their targets may rightly be gone.
    """
    return [plan_task(bp, t, root) for t in bp.tasks if not (pending_only and t.checked)]
