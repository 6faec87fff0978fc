"""Plans that adopt themselves: for a manual step, the grammar phrase that does what it says.

Like a linter's fix, a suggestion is made only when the step's meaning is certain:
its words follow one of the shapes below, the code it quotes has the structure the
codemod rewrites (parsed, never compared as text), and a file it leaves implicit is
the only Python file its task (or else its phase) names. Anything else stays manual.

=====================================================================  =============================
the step says                                                          becomes
=====================================================================  =============================
Read `F` and locate `NAME` method / function / class                   Verify `F` defines `NAME`
Locate NAME method [in `F`]  (F: the task's one Python file)           Verify `F` defines `NAME`
Read `F`                                                               Verify `F` exists
Verify [current implementation] uses `mod.name` [in `F`]               Verify `mod.name` is called in `F`
Remove `.detach().cpu()` from NAME [in `F`]                            Apply `remove-detach-cpu` to `F`
                                                                       with `method=NAME`
Replace `torch.reciprocal(1 + torch.exp(-z))` with `torch.sigmoid(z)`  Apply `reciprocal-exp-to-sigmoid`
[in `F`]                                                               to `F`
Update `F.yaml` KEY to VALUE                                           Set `KEY` to `VALUE` in `F.yaml`
=====================================================================  =============================

A trailing remark the rewrite makes moot, a line hint ``(line 323)`` or ``(already
fixed)``, is dropped; any other trailing text leaves the step manual. This module
knows nothing of git: what it needs to know about the repository (does a file
exist, define a name, hold a YAML key) it asks a :class:`Workspace`; without one,
only suggestions certain from the text alone are made.

:func:`findings` reports two things ``lint`` warns about: a tracker NEXT TASK that
names no task, and a codemod step that no gate step follows in its task.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from runner.blueprint.edit import Edit, apply_edits
from runner.blueprint.model import BOM, Blueprint, Step, Task, encode
from runner.blueprint.phrases import LazyPattern, phrase
from runner.blueprint.steps import CodemodStep, Gate, Manual, classify, mentioned_paths
from runner.records import datarecord


class Workspace(Protocol):
    """What a suggestion may ask about the target repository (paths are repo-relative)."""

    def is_file(self, path: str) -> bool: ...

    def defines(self, path: str, symbol: str) -> bool: ...

    def has_key(self, path: str, key: str) -> bool: ...


@datarecord(frozen=True)
class Suggestion:
    """A manual step the grammar phrase ``replacement`` does the work of, and why."""

    task: str
    line: int
    start: int  # byte span of the step's text in the blueprint
    end: int
    text: str
    replacement: str
    rule: str
    why: str

    def as_dict(self) -> dict[str, object]:
        return {
            "task": self.task,
            "line": self.line,
            "text": self.text,
            "replacement": self.replacement,
            "rule": self.rule,
            "why": self.why,
        }


@datarecord(frozen=True)
class Finding:
    """A problem ``lint`` reports in a blueprint that parses."""

    code: str  # next-task-unknown | codemod-without-gate
    line: int
    message: str
    task: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "line": self.line, "task": self.task, "message": self.message}


# A remark the rewritten step makes moot: a line hint, or "(already fixed)".
_TAIL = (
    r"(?:\s*\((?:(?:around\s+|at\s+)?lines?\s+\d+(?:\s*[-–]\s*\d+)?"
    r"|already\s+(?:fixed|set|done|implemented|applied|present))\))?\s*\.?\s*$"
)
_SYMBOL = r"`?(?P<symbol>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)`?(?:\(\))?"
_IN_FILE = r"(?:\s+in\s+`(?P<file>[^`\s]+\.py)`)?"
_READ_LOCATE = phrase(
    "read",
    rf"^Read\s+`(?P<file>[^`\s]+\.py)`\s+and\s+(?:locate|find)\s+(?:the\s+)?{_SYMBOL}"
    rf"\s+(?:method|function|class){_TAIL}",
)
_LOCATE = phrase(
    "locate find",
    rf"^(?:Locate|Find)\s+(?:the\s+)?{_SYMBOL}\s+(?:method|function|class){_IN_FILE}{_TAIL}",
)
_READ = phrase("read", rf"^Read\s+`(?P<file>[^`\s]+)`{_TAIL}")
_USES = phrase(
    "verify",
    r"^Verify\s+(?:that\s+)?(?:the\s+)?(?:current\s+)?(?:implementation\s+|code\s+)?uses\s+"
    rf"`(?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\(\))?`{_IN_FILE}{_TAIL}",
    needs="uses",
)
_REMOVE_DETACH = phrase(
    "remove",
    r"^Remove\s+(?:the\s+)?(?:redundant\s+)?`\s*\.detach\(\)\s*\.cpu\(\)\s*`\s+(?:calls?\s+)?from\s+"
    rf"(?:the\s+)?`?(?P<method>[A-Za-z_]\w*)`?(?:\(\))?(?:\s+method)?{_IN_FILE}{_TAIL}",
)
_REPLACE = phrase(
    "replace",
    rf"^Replace\s+`(?P<old>[^`]+)`\s+with\s+`(?P<new>[^`]+)`{_IN_FILE}{_TAIL}",
)
_UPDATE_CONFIG = phrase(
    "update set change",
    r"^(?:Update|Set|Change)\s+`(?P<file>[^`\s]+\.ya?ml)`\s+`?(?P<key>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)`?"
    rf"\s+to\s+`?(?P<value>[\w.+-]+)`?{_TAIL}",
)
_STEP_PREFIX = LazyPattern(r"^\s*[-*+]\s+\[[ xX]\]\s+")


def _python_files(tasks: list[Task]) -> list[str]:
    found = [p for t in tasks for s in t.steps for p in mentioned_paths(s.text) if p.endswith(".py")]
    return list(dict.fromkeys(found))


def _context_file(bp: Blueprint, task: Task) -> str | None:
    """The one Python file the task names, else the one its phase names; None when not one."""
    own = _python_files([task])
    if own:
        return own[0] if len(own) == 1 else None
    phase = _python_files([t for t in bp.tasks if t.phase == task.phase])
    return phase[0] if len(phase) == 1 else None


def _is_hand_written_sigmoid(code: str) -> bool:
    from runner.blueprint.code_shapes import is_hand_written_sigmoid  # LibCST: only for such a step

    return is_hand_written_sigmoid(code)


def _is_sigmoid_call(code: str) -> bool:
    from runner.blueprint.code_shapes import is_sigmoid_call

    return is_sigmoid_call(code)


Rule = Callable[["_Context"], tuple[str, str] | None]


@datarecord(frozen=True)
class _Context:
    """What a rule sees: the step, its task and blueprint, the files when they are at hand."""

    bp: Blueprint
    task: Task
    step: Step
    workspace: Workspace | None

    def file(self, explicit: str | None) -> str | None:
        return explicit or _context_file(self.bp, self.task)

    def confirms(self, path: str, symbol: str) -> bool:
        return self.workspace is not None and self.workspace.defines(path, symbol)


def _read_and_locate(ctx: _Context) -> tuple[str, str] | None:
    match = _READ_LOCATE.match(ctx.step.text)
    if not match:
        return None
    file, symbol = match.group("file"), match.group("symbol")
    return f"Verify `{file}` defines `{symbol}`", f"the step names the file and the {symbol} to find in it"


def _locate(ctx: _Context) -> tuple[str, str] | None:
    match = _LOCATE.match(ctx.step.text)
    if not match:
        return None
    file, symbol = ctx.file(match.group("file")), match.group("symbol")
    if file is None or not (match.group("file") or ctx.confirms(file, symbol)):
        return None
    return f"Verify `{file}` defines `{symbol}`", f"{file}, the task's one Python file, defines {symbol}"


def _read(ctx: _Context) -> tuple[str, str] | None:
    match = _READ.match(ctx.step.text)
    if not match or not mentioned_paths(f"`{match.group('file')}`"):
        return None
    file = match.group("file")
    return f"Verify `{file}` exists", "reading a file checks nothing but that it is there"


def _uses(ctx: _Context) -> tuple[str, str] | None:
    match = _USES.match(ctx.step.text)
    if not match:
        return None
    file = ctx.file(match.group("file"))
    if file is None:
        return None
    name = match.group("name")
    return f"Verify `{name}` is called in `{file}`", f"a call to {name} in {file}, by qualified name"


def _remove_detach(ctx: _Context) -> tuple[str, str] | None:
    match = _REMOVE_DETACH.match(ctx.step.text)
    if not match:
        return None
    method = match.group("method")
    file = ctx.file(match.group("file"))
    if file is None or not (match.group("file") or ctx.confirms(file, method)):
        return None
    return (
        f"Apply `remove-detach-cpu` to `{file}` with `method={method}`",
        f"remove-detach-cpu removes .detach().cpu() in {method} where the tensor needs no CPU copy",
    )


def _replace(ctx: _Context) -> tuple[str, str] | None:
    match = _REPLACE.match(ctx.step.text)
    if not match or not _is_hand_written_sigmoid(match.group("old")):
        return None
    if not _is_sigmoid_call(match.group("new")):
        return None
    file = ctx.file(match.group("file"))
    if file is None:
        return None
    return (
        f"Apply `reciprocal-exp-to-sigmoid` to `{file}`",
        "the step rewrites the hand-written logistic 1/(1+exp(-z)) into torch.sigmoid(z)",
    )


def _update_config(ctx: _Context) -> tuple[str, str] | None:
    match = _UPDATE_CONFIG.match(ctx.step.text)
    if not match or ctx.workspace is None:
        return None
    file, key, value = match.group("file"), match.group("key"), match.group("value")
    if not ctx.workspace.has_key(file, key):
        return None  # "update" an absent key: which block it belongs in is a guess
    return f"Set `{key}` to `{value}` in `{file}`", f"{file} has {key}; the step sets it"


RULES: dict[str, Rule] = {
    "read-and-locate": _read_and_locate,
    "locate": _locate,
    "read": _read,
    "uses": _uses,
    "remove-detach-cpu": _remove_detach,
    "reciprocal-exp-to-sigmoid": _replace,
    "update-config": _update_config,
}


def _text_span(bp: Blueprint, step: Step) -> tuple[int, int]:
    line = bp.lines[step.line - 1]
    prefix = _STEP_PREFIX.match(line.text)
    assert prefix is not None, "a parsed step starts with its checkbox"
    bom = len(BOM) if line.number == 1 and line.raw.startswith(BOM) else 0
    start = line.start + bom + len(encode(line.text[: prefix.end()]))
    return start, start + len(encode(step.text))


def suggest(bp: Blueprint, workspace: Workspace | None = None) -> list[Suggestion]:
    """A suggestion for every manual step whose meaning is certain, in blueprint order."""
    out: list[Suggestion] = []
    for task in bp.tasks:
        for step in task.steps:
            if not isinstance(classify(step.text, step.blocks), Manual):
                continue
            ctx = _Context(bp, task, step, workspace)
            for name, rule in RULES.items():
                found = rule(ctx)
                # The rewrite must be a step the grammar executes, or it is no fix.
                if found is None or isinstance(classify(found[0]), Manual):
                    continue
                start, end = _text_span(bp, step)
                out.append(Suggestion(task.id, step.line, start, end, step.text, found[0], name, found[1]))
                break
    return out


def apply_suggestions(bp: Blueprint, suggestions: list[Suggestion]) -> bytes:
    """The blueprint with each suggested step's text replaced; every other byte kept."""
    return apply_edits(bp.source, [Edit(s.start, s.end, encode(s.replacement)) for s in suggestions])


def _names_task(bp: Blueprint, value: str) -> bool:
    if value.strip().lower() in ("none", "") and not bp.pending():
        return True
    for task in bp.tasks:
        if value.strip() == task.label or re.match(rf"^Task\s+{re.escape(task.id)}\b", value.strip()):
            return True
    return False


def findings(bp: Blueprint) -> list[Finding]:
    """A NEXT TASK that names no task; a codemod step with no gate step after it in its task."""
    out: list[Finding] = []
    next_task = bp.tracker["NEXT TASK"]
    if not _names_task(bp, next_task.value):
        pending = bp.pending()
        hint = f"; the first pending task is '{pending[0].label}'" if pending else ""
        out.append(
            Finding(
                "next-task-unknown",
                next_task.line,
                f"NEXT TASK '{next_task.value}' names no task of the blueprint{hint}",
            )
        )
    for task in bp.tasks:
        kinds = [classify(s.text, s.blocks) for s in task.steps]
        for index, (step, action) in enumerate(zip(task.steps, kinds, strict=True)):
            if isinstance(action, CodemodStep) and not any(isinstance(a, Gate) for a in kinds[index + 1 :]):
                out.append(
                    Finding(
                        "codemod-without-gate",
                        step.line,
                        f"Task {task.id}: codemod {action.name} has no gate step after it "
                        "(only the automatic syntax, undefined-names and import gates check it)",
                        task.id,
                    )
                )
    return out
