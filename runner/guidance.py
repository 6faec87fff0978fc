"""``next_action``: what an agent should run after any response, as an argv it can execute.

Decided from the response itself (its ``code``, tasks and data), so every path,
errors included, gets one. ``argv`` is None when there is nothing left to run
(the plan is complete, or a person must act outside the runner, e.g. a live lock
holder); ``why`` says which. Commands that act on a task (``done``, ``skip``,
``revert``) always name the blueprint with ``--blueprint``, so the suggestion holds
when two blueprints share a plan id. The argv repeats the caller's ``--repo`` and
``--json``, so it can be run as is from the same directory.
"""

from __future__ import annotations

from typing import Any

from runner.records import datarecord, field

PROGRAM = "runner"


@datarecord(frozen=True)
class Invocation:
    """What the caller passed that the next command needs again."""

    repo: str | None = None  # --repo as given
    json: bool = False
    blueprint: str | None = None  # the blueprint path as given (or found)
    argv: tuple[str, ...] = ()  # the whole command line, for a retry
    pending: tuple[str, ...] | None = None  # the blueprint's pending task ids, when known


@datarecord(frozen=True)
class Suggestion:
    """An alternative to the next action: the argv to run (None: a person acts) and why."""

    argv: list[str] | None
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"argv": self.argv, "why": self.why}


@datarecord(frozen=True)
class NextAction:
    """The command to run next, why, and the alternatives."""

    argv: list[str] | None
    why: str
    alternatives: list[Suggestion] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "argv": self.argv,
            "why": self.why,
            "alternatives": [a.as_dict() for a in self.alternatives],
        }


class _Builder:
    def __init__(self, doc: dict[str, Any], inv: Invocation) -> None:
        self.doc = doc
        self.inv = inv
        self.plan = str(doc.get("plan") or "")
        self.blueprint = str(doc.get("blueprint") or inv.blueprint or "")

    def runner(self, *args: str) -> list[str]:
        argv = [PROGRAM, *args]
        if self.inv.repo is not None:
            argv += ["--repo", self.inv.repo]
        if self.inv.json:
            argv.append("--json")
        return argv

    def on_task(self, command: str, task: str, *extra: str) -> list[str]:
        spec = f"{self.plan}:{task}" if self.plan else task
        named = ["--blueprint", self.blueprint] if self.blueprint else []
        return self.runner(command, spec, *named, *extra)

    def run(self, *extra: str) -> list[str]:
        return self.runner("run", self.blueprint, *extra)

    def skip(self, task: str) -> Suggestion:
        return Suggestion(
            self.on_task("skip", task, "--reason", "REASON"),
            f"or record Task {task} as skipped, with the reason in the tracker and the commit",
        )

    def retry(self) -> list[str] | None:
        return [PROGRAM, *self.inv.argv] if self.inv.argv else None


def _last_task(doc: dict[str, Any]) -> dict[str, Any] | None:
    tasks = doc.get("tasks") or []
    return tasks[-1] if tasks else None


def _error_data(doc: dict[str, Any]) -> dict[str, Any]:
    error = doc.get("error") or {}
    data = error.get("data") if isinstance(error, dict) else None
    return data if isinstance(data, dict) else {}


def advise(doc: dict[str, Any], inv: Invocation) -> NextAction:
    """The next command for the response ``doc`` (a report's JSON, ``code`` included)."""
    b = _Builder(doc, inv)
    code = str(doc.get("code") or "ok")
    command = str(doc.get("command") or "")
    handler = _BY_CODE.get(code)
    if handler is not None:
        return handler(b, doc)
    if code == "ok":
        return _after_success(b, doc, command)
    return NextAction(None, f"{doc.get('message', '')}: no automatic way forward; see the message")


def _after_success(b: _Builder, doc: dict[str, Any], command: str) -> NextAction:
    data = doc.get("data") or {}
    if command == "run" and any(t.get("outcome") == "planned" for t in doc.get("tasks") or []):
        return NextAction(b.run(), "the dry run shows what `run` would do; nothing was written")
    if command in ("run", "done", "skip"):
        if b.inv.pending:
            return NextAction(b.run(), f"continue with Task {b.inv.pending[0]}, the next pending task")
        return NextAction(None, f"every task of {b.plan or 'the plan'} is completed")
    if command == "status":
        if data.get("next_task"):
            return NextAction(b.run(), f"Task {data['next_task']} is next")
        return NextAction(None, f"every task of {b.plan} is completed")
    if command == "next":
        task = data.get("task")
        if task:
            return NextAction(b.run(), f"run the pending tasks from Task {task['id']}")
        return NextAction(None, f"every task of {b.plan} is completed")
    if command == "lint":
        suggestions = data.get("suggestions") or []
        if suggestions and not data.get("fixed"):
            return NextAction(
                b.runner("lint", b.blueprint, "--fix"),
                f"{len(suggestions)} manual step(s) can be rewritten into steps the runner executes",
                [Suggestion(b.run(), "run the plan as it is")],
            )
        if data.get("fixed"):
            # `run` refuses a blueprint with uncommitted changes: commit the rewrite first.
            return NextAction(
                [
                    "git",
                    "commit",
                    "-m",
                    "Rewrite manual steps the runner can execute (runner lint --fix)",
                    "--",
                    b.blueprint,
                ],
                "the blueprint was rewritten; commit it (run only works on a committed blueprint)",
                [Suggestion(b.run(), "then run it")],
            )
        return NextAction(b.run(), "the blueprint is valid; run it")
    if command == "revert":
        task = _last_task(doc)
        which = f"Task {task['id']}" if task else "the task"
        reopened = [str(r["id"]) for r in data.get("reopened") or []]
        again = f"run {which} again" + (
            f", then Task {', '.join(reopened)}, which validated it and was reopened too" if reopened else ""
        )
        return NextAction(
            None, f"{which} was reverted and reopened; nothing else to do", [Suggestion(b.run(), again)]
        )
    if command in ("log", "show", "runs"):
        return _after_review(b, data, command)
    if command == "new":
        return NextAction(b.runner("lint", b.blueprint), "write the plan's steps, then lint it")
    if command == "import-server" and data.get("running"):
        return NextAction(
            None,
            "the kept server serves the next runs' import checks; it exits when idle",
            [
                Suggestion(
                    b.runner("import-server", "stop", "--python", str(data.get("python"))),
                    "stop it now (its memory back)",
                )
            ],
        )
    return NextAction(None, "done; nothing follows from this command")


def _after_review(b: _Builder, data: dict[str, Any], command: str) -> NextAction:
    """`log` -> `show` the newest task -> (`revert` it); `runs` -> one record's report."""
    if command == "log":
        commits = data.get("commits") or []
        if not commits:
            return NextAction(None, "no runner commits to review")
        newest = max(commits, key=lambda c: str(c.get("date", "")))
        spec = f"{newest['plan']}:{newest['task']}"
        return NextAction(
            b.runner("show", spec),
            f"the newest runner commit is {spec}: see its message and diff",
            [Suggestion(b.runner("runs"), "the run records: what each run did, step by step")],
        )
    if command == "show":
        spec = str(data.get("task_spec") or "")
        return NextAction(
            None,
            "nothing follows from reviewing; to undo the task, revert it",
            [Suggestion(b.runner("revert", spec), f"revert {spec} in one new commit and reopen it")],
        )
    runs = data.get("runs") or []
    if data.get("report") or not runs:
        return NextAction(
            None, "nothing follows from reading a run record" if runs else "no runs recorded yet"
        )
    return NextAction(b.runner("runs", str(runs[0]["run_id"])), "the newest run's report")


def _no_such_review(b: _Builder, doc: dict[str, Any]) -> NextAction:
    if doc.get("code") == "unknown_run":
        return NextAction(b.runner("runs"), "list the run records and their ids")
    plan = str(_error_data(doc).get("plan") or b.plan)
    return NextAction(b.runner("log", plan) if plan else b.runner("log"), "list the tasks that have commits")


def _manual(b: _Builder, doc: dict[str, Any]) -> NextAction:
    task = _last_task(doc) or {}
    step = task.get("manual_step") or {}
    task_id = str(task.get("id", "TASK"))
    if any(t.get("outcome") == "planned" for t in doc.get("tasks") or []):
        return NextAction(b.run(), f"run the tasks before Task {task_id}, whose manual step stops the run")
    where = f" (line {step['line']}: {step['text']})" if step else ""
    return NextAction(
        b.on_task("done", task_id),
        f"Task {task_id} has a step the runner cannot do{where}: make that change in the files, "
        "then run this to gate and commit it as the task",
        [b.skip(task_id)],
    )


def _would_block(b: _Builder, doc: dict[str, Any]) -> NextAction:
    task = _last_task(doc) or {}
    return NextAction(
        None,
        f"`run` would block at Task {task.get('id')}: {task.get('blocker')}; fix the cause first",
        [Suggestion(b.run(), "run anyway: the task is recorded as blocked and every file restored")],
    )


def _blocked(b: _Builder, doc: dict[str, Any]) -> NextAction:
    task = _last_task(doc) or {}
    task_id = str(task.get("id", "TASK"))
    return NextAction(
        b.on_task("done", task_id),
        f"Task {task_id} is blocked ({task.get('blocker') or 'see the message'}); every file was restored. "
        "Fix the cause in the files, then run this: it re-runs the task's steps and gates on your edits",
        [
            Suggestion(b.run("--task", task_id), "retry as is, if the cause was outside the repo"),
            b.skip(task_id),
        ],
    )


def _gates_failed(b: _Builder, doc: dict[str, Any]) -> NextAction:
    task = _last_task(doc) or {}
    task_id = str(task.get("id", "TASK"))
    return NextAction(
        b.on_task("done", task_id),
        f"your edits for Task {task_id} are still in place but failed a gate "
        f"({task.get('blocker') or 'see the message'}); fix them, then run this again",
        [b.skip(task_id)],
    )


def _empty_done(b: _Builder, doc: dict[str, Any]) -> NextAction:
    task_id = str(_error_data(doc).get("task", "TASK"))
    return NextAction(
        None,
        f"Task {task_id} asks for a change and the tree has none: make the change first",
        [
            Suggestion(b.on_task("done", task_id, "--allow-empty"), "if the task truly needs no change"),
            b.skip(task_id),
        ],
    )


def _out_of_order(b: _Builder, doc: dict[str, Any]) -> NextAction:
    first = str(_error_data(doc).get("first_pending", ""))
    if not first:
        return NextAction(b.runner("status", b.blueprint), "see which task is pending")
    return NextAction(
        b.runner("next", b.blueprint), f"Task {first} comes first; see its steps", [b.skip(first)]
    )


def _dirty(b: _Builder, doc: dict[str, Any]) -> NextAction:
    waiting = _error_data(doc).get("waiting_task")
    if waiting:
        return NextAction(
            b.on_task("done", str(waiting)),
            f"Task {waiting} waits for a manual change; if these edits are that change, "
            "commit them as the task",
            [Suggestion(["git", "stash", "push", "--include-untracked"], "or set the edits aside")],
        )
    return NextAction(
        ["git", "stash", "push", "--include-untracked"],
        "the tree has changes the runner did not make; set them aside (or commit them), then retry",
        [Suggestion(b.retry(), "retry after the tree is clean")],
    )


def _git_operation(b: _Builder, doc: dict[str, Any]) -> NextAction:
    return NextAction(
        None, "finish or abort the git operation in progress (or remove a stale index.lock) first"
    )


def _lock_held(b: _Builder, doc: dict[str, Any]) -> NextAction:
    holder = _error_data(doc).get("holder") or {}
    who = f" (pid {holder.get('pid')}, {holder.get('command')})" if holder else ""
    return NextAction(
        None,
        f"another runner holds the repository{who}; wait for it to finish, then retry",
        [Suggestion(b.retry(), "retry once it has finished")],
    )


def _stale_lock(b: _Builder, doc: dict[str, Any]) -> NextAction:
    return NextAction(b.runner("recover"), "a runner that no longer exists left its lock; recover clears it")


def _revert_conflict(b: _Builder, doc: dict[str, Any]) -> NextAction:
    later = _error_data(doc).get("later_tasks") or []
    if later:
        newest = str(later[0])
        return NextAction(
            b.on_task("revert", newest),
            f"later task commits touch the same lines; revert Task {newest} first",
        )
    return NextAction(None, "later commits touch the same lines; resolve by hand (see the message)")


def _unknown_task(b: _Builder, doc: dict[str, Any]) -> NextAction:
    tasks = _error_data(doc).get("tasks") or []
    return NextAction(
        b.runner("status", b.blueprint) if b.blueprint else None,
        f"valid tasks: {', '.join(map(str, tasks)) or 'see status'}",
    )


def _plan_not_found(b: _Builder, doc: dict[str, Any]) -> NextAction:
    candidates = _error_data(doc).get("candidates") or []
    if candidates:
        rest = [a for a in b.inv.argv if a != "--json"]
        argv = [PROGRAM, *rest, "--blueprint", str(candidates[0])]
        if b.inv.json:
            argv.append("--json")
        return NextAction(
            argv,
            f"name the blueprint: {len(candidates)} candidate(s): {', '.join(map(str, candidates))}",
            [
                Suggestion([PROGRAM, *rest, "--blueprint", str(c)], "another candidate")
                for c in candidates[1:]
            ],
        )
    return NextAction(None, "no blueprint in the repository has this plan id; pass --blueprint PATH")


def _invalid_blueprint(b: _Builder, doc: dict[str, Any]) -> NextAction:
    if b.blueprint and doc.get("command") != "lint":
        return NextAction(b.runner("lint", b.blueprint), "lint lists every problem with its line")
    return NextAction(None, "fix the blueprint at the line named in the message")


def _usage(b: _Builder, doc: dict[str, Any]) -> NextAction:
    command = str(doc.get("command") or "")
    return NextAction([PROGRAM, *command.split(), "--help"], "the usage, with examples")


def _internal(b: _Builder, doc: dict[str, Any]) -> NextAction:
    return NextAction(None, "a bug in the runner; the working tree was restored. Report the message")


def _nothing_to_revert(b: _Builder, doc: dict[str, Any]) -> NextAction:
    return NextAction(
        b.runner("status", b.blueprint) if b.blueprint else None, "see which tasks are completed"
    )


_BY_CODE = {
    "manual_step": _manual,
    "task_blocked": _blocked,
    "would_block": _would_block,
    "gates_failed": _gates_failed,
    "empty_done": _empty_done,
    "task_out_of_order": _out_of_order,
    "dirty_tree": _dirty,
    "git_operation": _git_operation,
    "lock_held": _lock_held,
    "stale_lock": _stale_lock,
    "revert_conflict": _revert_conflict,
    "unknown_task": _unknown_task,
    "plan_not_found": _plan_not_found,
    "ambiguous_plan": _plan_not_found,
    "blueprint_invalid": _invalid_blueprint,
    "usage": _usage,
    "internal_error": _internal,
    "nothing_to_revert": _nothing_to_revert,
    "nothing_to_show": _no_such_review,
    "unknown_run": _no_such_review,
}
