"""Which of a blueprint's Fallback Options applies to the task that failed, and why.

Each option's condition ("If CPU detach removal breaks WandB") is matched against what
failed, and each match is a reason a person can check:

* the option names the task (``Revert Task 1.2``, ``runner revert PLAN-002:2.1 (or 2.2)``);
* a gate that failed is what the condition describes ("import time", "refers to");
* the task runs a codemod the condition names (``remove-detach-cpu``: "CPU detach removal");
* the task edits configuration and the condition is about config changes (or edits, files);
* two words of the condition, in order, are in the task's or its phase's title ("step function");
* the task only runs gates (a validation task) and the condition is "validation fails";
* (only beside one of those) a word of the condition names a folder or file the task changed.

The option with the strongest evidence wins; none when nothing but a shared file word, or
nothing at all, ties an option to the failure: no guess.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from runner.blueprint.model import Blueprint
from runner.records import datarecord

if TYPE_CHECKING:
    from runner.gates import GateResult
    from runner.tasks import TaskPlan

_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by do does for from if in into is it its no not of on or so "
        "still that the then this to with",
    )
)
_TASK_REF = re.compile(
    r"(?:\bTask\s+|\bPLAN-\d+:)(\d+\.\d+)`?(?:\s*\((?:or|and)\s+(\d+\.\d+)\))?", re.IGNORECASE
)
# The words a condition uses for a failed gate's subject (stems, see _stem).
_GATE_WORDS: dict[str, tuple[str, ...]] = {
    "import-time": ("impor", "time"),
    "imports": ("impor",),
    "references": ("refer",),
    "config-references": ("confi",),
    "yaml": ("yaml",),
    "syntax": ("synta",),
}
# Evidence, strongest first (what failed outweighs all the rest); a "file" match alone is not enough.
_WEIGHT = {"gate": 10, "task": 4, "codemod": 3, "config": 3, "title": 2, "validation": 1, "file": 1}


@datarecord(frozen=True)
class Fallback:
    text: str  # the option as the blueprint writes it, bold marks removed
    line: int
    reason: str  # why it applies, e.g. "it names Task 2.1"


def _stem(word: str) -> str:
    return word[:5]


def _words(text: str) -> list[tuple[str, str]]:
    """(word, stem) of every content word, in order."""
    return [(w, _stem(w)) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOPWORDS]


def _shared_run(condition: list[tuple[str, str]], title: str) -> str | None:
    """Two or more consecutive words of ``condition`` that are consecutive in ``title``."""
    stems = [s for _, s in _words(title)]
    pairs = set(itertools.pairwise(stems))
    best: list[str] = []
    run: list[str] = []
    for (word, stem), (next_word, next_stem) in itertools.pairwise(condition):
        if (stem, next_stem) in pairs:
            run = [*run, next_word] if run else [word, next_word]
            best = max(best, run, key=len)
        else:
            run = []
    return " ".join(best) if best else None


def _evidence(
    option: str, plan: TaskPlan, failed_gates: Sequence[str], touched: Sequence[str]
) -> list[tuple[str, str]]:
    """(kind, reason) for every way ``option`` fits the failed task."""
    task = plan.task
    condition_text = option.split(":", 1)[0]
    condition = _words(condition_text)
    stems = {s for _, s in condition}
    found: list[tuple[str, str]] = []
    named = {m for ref in _TASK_REF.finditer(option) for m in ref.groups() if m}
    if task.id in named:
        found.append(("task", f"it names Task {task.id}"))
    for gate in dict.fromkeys(failed_gates):
        if gate in _GATE_WORDS and set(_GATE_WORDS[gate]) <= stems:
            found.append(("gate", f"the {gate} gate failed"))
    for name in plan.codemod_names:
        if {_stem(w) for w in name.split("-") if w not in _STOPWORDS} <= stems:
            found.append(("codemod", f"the task runs the codemod {name}"))
    if "confi" in stems and stems & {"chang", "edit", "updat", "file", "files"}:
        config_steps = [s for s in plan.steps if s.kind == "config"]
        config_files = [p for p in touched if p.endswith((".yaml", ".yml", ".toml"))]
        if config_steps:
            found.append(
                ("config", f"the task edits configuration (step at line {config_steps[0].step.line})")
            )
        elif config_files:
            found.append(("config", f"the task changed {config_files[0]}"))
    for where, title in (("task", task.title), ("phase", task.phase.title)):
        run = _shared_run(condition, title)
        if run:
            found.append(("title", f"'{run}' is in the {where} title '{title}'"))
            break
    checks_only = [s for s in plan.steps if s.kind != "manual"]
    if "valid" in stems and checks_only and all(s.kind == "gate" for s in checks_only):
        found.append(("validation", "the task only runs gates (a validation task)"))
    for path in touched:
        parts = {_stem(p) for p in re.split(r"[/_.\-]+", path.lower()) if len(p) >= 4}
        shared = sorted(w for w, s in condition if len(w) >= 4 and s in parts)
        if shared:
            found.append(("file", f"it changed {path} ('{shared[0]}')"))
            break
    return found


def choose_fallback(
    bp: Blueprint, plan: TaskPlan, *, gates: Sequence[GateResult] = (), touched: Sequence[str] = ()
) -> Fallback | None:
    """The Fallback Option for ``plan``'s task, which failed; None when none applies."""
    failed = [g.gate for g in gates if g.status == "failed"]
    best: tuple[int, Fallback] | None = None
    for line, raw in bp.fallbacks:
        text = raw.replace("**", "")
        evidence = _evidence(text, plan, failed, touched)
        if not any(kind != "file" for kind, _ in evidence):
            continue
        score = sum(_WEIGHT[kind] for kind, _ in evidence)
        if best is None or score > best[0]:  # a tie keeps the earlier option
            best = (score, Fallback(text, line, "; ".join(reason for _, reason in evidence)))
    return best[1] if best else None
