"""A test that is an agent: it executes every blueprint in blueprints/ through the CLI,
reading only the one JSON document each call prints and following its ``next_action``.

It starts from `runner status`, runs whatever argv ``next_action`` names (a `git`
argv with git itself), and stops when ``next_action.argv`` is null. At a manual step
it does what an agent would: edits the files the task names (a comment recording
the step, in the file's own comment syntax), then follows ``next_action`` again.
Every response is checked against its JSON Schema on the way.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from runner.blueprint.model import load_blueprint
from runner.cli import main
from runner.demo import make_demo_repo
from tests.conftest import BLUEPRINTS, ROOT
from tests.test_schemas import validator

MAX_CALLS = 120
_PATH = re.compile(r"`([\w./-]+\.(?:py|ya?ml|md|toml|txt|sh))`")
_COMMENT = {".py": "# ", ".yaml": "# ", ".yml": "# ", ".toml": "# ", ".sh": "# ", ".md": "<!-- "}


def execute(argv: list[str], cwd: Path) -> dict[str, Any]:
    """Run one suggested argv the way an agent would; runner calls must print one JSON document."""
    assert argv[0] == "runner", argv
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        with redirect_stdout(buffer):
            code = main(argv[1:])
    document: dict[str, Any] = json.loads(buffer.getvalue())  # exactly one document, or this raises
    assert document["exit_code"] == code
    errors = list(validator(document["command"]).iter_errors(document))
    assert not errors, errors[0].message
    return document


def manual_edit(repo: Path, document: dict[str, Any]) -> str:
    """A plausible agent edit for the manual step the response names; returns the file edited."""
    task = document["tasks"][-1]
    step = task["manual_step"]
    texts = [step["text"]] + [s["text"] for s in task["steps"]]
    candidates = [p for text in texts for p in _PATH.findall(text) if (repo / p).is_file()]
    # No file named: a note in the project's README (an untracked new file would not be committed).
    target = candidates[0] if candidates else "README.md"
    path = repo / target
    prefix = _COMMENT.get(path.suffix, "# ")
    suffix = " -->" if prefix == "<!-- " else ""
    note = f"{prefix}agent: {document['plan']} Task {task['id']}: {step['text']}{suffix}\n"
    existing = path.read_bytes() if path.exists() else b""
    if existing and not existing.endswith(b"\n"):
        note = "\n" + note
    path.write_bytes(existing + note.encode("utf-8"))
    return target


SEED = ROOT / "fixtures" / "blueprints" / "seed-PLAN-001.md"


@pytest.mark.parametrize("blueprint", [*BLUEPRINTS, SEED], ids=lambda p: p.stem)
def test_an_agent_completes_every_blueprint_by_following_next_action(blueprint: Path, tmp_path: Path) -> None:
    """The seed is the original PLAN-001: lint --fix first, manual steps, tasks whose premise
    is false on this project (it asks to verify a fix that is not there): the agent skips
    what it cannot make pass, as the first alternative offers, with a reason."""
    model = load_blueprint(blueprint)
    fixture = ROOT / str(model.front_matter.get("demo_fixture", "fixtures/ocr-project"))
    repo = make_demo_repo(tmp_path / "repo", [blueprint], fixture)
    path = f"blueprints/{blueprint.name}"

    argv = ["runner", "lint", path, "--json"]
    previous = argv
    trail: list[tuple[str, int, str]] = []
    seen: set[tuple[tuple[str, ...], str, str]] = set()
    edits: list[str] = []
    for _ in range(MAX_CALLS):
        if argv[0] == "git":  # commit a rewritten blueprint, or set edits aside; then retry
            subprocess.run(argv, cwd=repo, check=True, capture_output=True)
            argv = previous
            continue
        document = execute(argv, repo)
        trail.append((" ".join(argv[1:3]), document["exit_code"], document["code"]))
        action = document["next_action"]
        assert set(action) == {"argv", "why", "alternatives"} and action["why"]
        if document["code"] == "manual_step":
            edits.append(manual_edit(repo, document))
        chosen = action["argv"]
        task = document["tasks"][-1]["id"] if document["tasks"] else ""
        answer = (tuple(argv), document["code"], task)
        if answer in seen and action["alternatives"]:
            # The same answer twice: what it suggests does not work here; take the alternative.
            chosen = [
                a if a != "REASON" else "the agent could not make its gates pass"
                for a in action["alternatives"][0]["argv"]
            ]
        seen.add(answer)
        if chosen is None:
            break
        assert chosen[0] in ("runner", "git"), action
        previous, argv = argv, chosen
    else:
        pytest.fail(f"no end after {MAX_CALLS} calls: {trail}")

    final = execute(["runner", "status", path, "--json"], repo)
    assert final["data"]["next_task"] is None, trail
    states = {t["state"] for t in final["data"]["tasks"]}
    assert states <= {"completed", "skipped"}, trail
    skipped = [t["id"] for t in final["data"]["tasks"] if t["state"] == "skipped"]
    # The seed's Tasks 1.1 and 1.2 verify a sigmoid fix this project does not have: their gates
    # fail on the agent's edit, as they should; every other task is done.
    assert skipped == (["1.1", "1.2"] if blueprint == SEED else []), trail
    assert document["code"] == "ok", trail
    # Each manual task's edit landed in its commit (or was set aside): the tree is clean.
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True)
    assert status.stdout == "", (status.stdout, edits)
