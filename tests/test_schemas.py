"""Every command's real --json output validates against its schema in schemas/."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from runner.cli import main
from runner.demo import DEMO_BLUEPRINT, make_demo_repo

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
PLAN_001 = "blueprints/PLAN-001-core-training-stabilization.md"


def registry() -> Registry[Any]:
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        resources.append((document["$id"], Resource.from_contents(document)))
    return Registry().with_resources(resources)


def validator(command: str) -> jsonschema.protocols.Validator:
    path = SCHEMAS / f"{command.replace(' ', '-')}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=registry())


def call(repo: Path, *args: str) -> dict[str, Any]:
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(repo)
        with redirect_stdout(buffer):
            main([*args, "--json"])
    document: dict[str, Any] = json.loads(buffer.getvalue())
    return document


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Real outputs of every command, successes and failures, on one demo repo."""
    with pytest.MonkeyPatch.context() as mp:
        for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
            mp.setenv(key, "Runner Test")
        for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
            mp.setenv(key, "test@blueprint-runner.invalid")
        base = tmp_path_factory.mktemp("schemas")
        repo = make_demo_repo(base / "repo", [DEMO_BLUEPRINT])
        got = [
            call(repo, "status", PLAN_001),
            call(repo, "next", PLAN_001),
            call(repo, "lint", PLAN_001),
            call(repo, "run", PLAN_001, "--dry-run"),
            call(repo, "run", PLAN_001, "--task", "9.9"),  # unknown task: an error
            call(repo, "run", PLAN_001),
            call(repo, "next", PLAN_001),  # nothing left: task null
            call(repo, "revert", "PLAN-001:3.1"),
            call(repo, "revert", "PLAN-001:3.1"),  # nothing to revert: an error
            call(repo, "log"),
            call(repo, "log", PLAN_001),
            call(repo, "show", "PLAN-001:3.1"),
            call(repo, "show", "PLAN-001:9.9"),  # no commit: an error
            call(repo, "runs"),
            call(repo, "runs", "no-such-run"),  # an error
            call(repo, "skip", "PLAN-001:3.1", "--reason", "schema test"),
            call(repo, "status", PLAN_001),  # a skipped task
            call(repo, "recover"),
            call(repo, "import-server"),  # none kept: running false
            call(repo, "run", "--bogus"),  # a usage error
            call(repo, "frobnicate"),  # a usage error without a command
            call(repo, "--version"),
            call(repo, "check", "ocr/models/head/db_head.py", "configs/hardware/rtx3060_12gb_i5_16core.yaml"),
            call(repo, "codemod", "list"),
            call(repo, "codemod", "apply", "remove-detach-cpu", "ocr", "--dry-run"),
            call(repo, "codemod", "apply", "no-such-codemod", "ocr"),
        ]
        (repo / "README.md").write_text("edited\n")
        got.append(call(repo, "run", PLAN_001))  # dirty tree
        got.append(call(repo, "done", "PLAN-001:3.1"))
        got.append(call(repo, "lint", PLAN_001, "--fix"))
        got.append(call(repo, "new", "PLAN-006", "--title", "Schema Test"))
        got.append(call(repo, "init"))
        listed = next(d for d in got if d["command"] == "runs" and d["data"].get("runs"))
        got.append(call(repo, "runs", listed["data"]["runs"][0]["run_id"]))  # one record, with its report
        got.append(call(repo, "demo", "--keep", str(base / "demo")))
    return got


def test_every_schema_is_a_valid_2020_12_schema() -> None:
    names = sorted(p.name for p in SCHEMAS.glob("*.schema.json"))
    assert len(names) >= 19
    for name in names:
        jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMAS / name).read_text()))


def test_real_outputs_validate(outputs: list[dict[str, Any]]) -> None:
    seen = set()
    for document in outputs:
        errors = sorted(validator(document["command"]).iter_errors(document), key=str)
        where = list(errors[0].absolute_path) if errors else []
        assert not errors, f"{document['command']} ({document['message']}): {errors[0].message} at {where}"
        seen.add((document["command"], document["exit_code"]))
    commands = {c for c, _ in seen}
    assert commands >= {"status", "next", "lint", "run", "revert", "recover", "done", "demo", "skip"}
    assert commands >= {"codemod list", "codemod apply", "new", "init", "check", "runner"}
    assert commands >= {"log", "show", "runs"}
    assert {code for _, code in seen} >= {0, 2, 3}


def test_schemas_catch_an_undocumented_or_retyped_field(outputs: list[dict[str, Any]]) -> None:
    status = next(d for d in outputs if d["command"] == "status")
    assert validator("status").is_valid(status)
    assert not validator("status").is_valid({**status, "surprise": 1})
    assert not validator("status").is_valid({**status, "exit_code": "0"})
    run = next(d for d in outputs if d["command"] == "run" and d["tasks"])
    broken_task = {**run["tasks"][0], "outcome": "exploded"}
    assert not validator("run").is_valid({**run, "tasks": [broken_task]})
