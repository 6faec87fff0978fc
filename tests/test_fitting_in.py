"""`runner new`, `[tool.runner]` settings and `runner init`."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from runner.blueprint.model import parse_blueprint
from runner.blueprint.suggest import findings, suggest
from runner.errors import InputError
from runner.scaffold import file_name, new_blueprint
from runner.settings import init_pyproject, load_settings, parse_settings
from tests.conftest import RepoFactory

PLAN = "blueprints/PLAN-001-core-training-stabilization.md"

ROOT = Path(__file__).resolve().parent.parent


def test_new_blueprint_has_plan001_shape_and_lints_clean() -> None:
    source = new_blueprint("PLAN-006", "Data Pipeline", author="me", date=datetime.date(2026, 1, 2))
    bp = parse_blueprint(source, "PLAN-006.md")
    assert bp.plan_id == "PLAN-006" and bp.title == "PLAN-006: Data Pipeline"
    assert bp.front_matter["date"] == "2026-01-02" and bp.front_matter["author"] == "me"
    assert bp.tracker["NEXT TASK"].value == "Task 1.1: Describe the First Change"
    assert [t.id for t in bp.tasks] == ["1.1", "1.2"]
    assert bp.fallbacks and bp.checklist and bp.next_action is not None
    assert findings(bp) == [] and suggest(bp) == []
    assert "**OBJECTIVE:** Complete Phase 1 (First Phase)" in source.decode()


def test_new_blueprint_keeps_a_hostile_title_literal() -> None:
    title = 'Data {{ 7*7 }} "quoted" \\ {% if x %}'
    source = new_blueprint("PLAN-007", title)
    bp = parse_blueprint(source, "p.md")
    assert bp.title == f"PLAN-007: {title}"
    assert "49" not in source.decode()
    assert file_name("PLAN-007", title) == "PLAN-007-data-7-7-quoted-if-x.md"


@pytest.mark.parametrize(("plan_id", "title"), [("PLAN-6a", "T"), ("PLAN-006", ""), ("PLAN-006", "a\nb")])
def test_new_blueprint_refuses_bad_input(plan_id: str, title: str) -> None:
    with pytest.raises(InputError):
        new_blueprint(plan_id, title)


def test_settings_read_and_validated() -> None:
    settings = parse_settings(
        "[tool.runner]\nprotected-branches = ['main']\n[tool.runner.gates]\nimports = false\n"
        "[tool.runner.codemods.remove-detach-cpu]\nmethod = 'test_step'\n"
        "[tool.runner.codemods.x]\nflag = true\n"
    )
    assert settings.protected_branches == ("main",)
    assert not settings.gate_on("imports") and settings.gate_on("syntax")
    assert settings.codemod_options == {"remove-detach-cpu": {"method": "test_step"}, "x": {"flag": "true"}}
    assert parse_settings("[project]\nname = 'x'\n").gates["syntax"] is True
    # Without the word "runner" there is no table to read: the defaults, even past bad TOML.
    assert parse_settings("[project\nname = 'x'\n") == parse_settings("")
    assert settings.keep_import_server == 0.0
    assert parse_settings("[tool.runner]\nkeep-import-server = 600\n").keep_import_server == 600.0
    for bad, message in [
        ("[tool.runner]\nkeep-import-server = true\n", "keep-import-server: must be a number of seconds"),
        ("[tool.runner]\nkeep-import-server = -1\n", "keep-import-server: must be a number of seconds"),
        ("[tool.runner]\nkeep-import-server = '10m'\n", "keep-import-server: must be a number of seconds"),
        ("[tool.runner.gates]\nspeed = true\n", "gates.speed: unknown gate"),
        ("[tool.runner.gates]\nsyntax = 'no'\n", "must be true or false"),
        ("[tool.runner]\nprotected-branches = 'main'\n", "list of branch names"),
        ("[tool.runner]\ncolour = 1\n", "colour: unknown key"),
        ("[tool.runner\n", "is not valid TOML"),
        # Written without the word, through a quoted key's escape: still read, still checked.
        ('[tool."\\u0072unner"]\ncolour = 1\n', "colour: unknown key"),
        ('[tool]\n"r\\u0075nner" = { gates = { speed = true } }\n', "gates.speed: unknown gate"),
    ]:
        with pytest.raises(InputError, match=message) as info:
            parse_settings(bad)
        assert info.value.path == "pyproject.toml"


def test_init_appends_and_keeps_every_existing_byte(tmp_path: Path) -> None:
    original = (
        (ROOT / "pyproject.toml").read_bytes().replace(b"\n", b"\r\n").rstrip(b"\r\n")
    )  # no final newline
    (tmp_path / "pyproject.toml").write_bytes(original)
    old, new, _ = init_pyproject(tmp_path)
    assert old == original and new.startswith(original)
    assert b"\n" not in new.replace(b"\r\n", b"")  # the file's CRLF kept in the new table too
    (tmp_path / "pyproject.toml").write_bytes(new)
    settings = load_settings(tmp_path)
    assert settings.gates == {"syntax": True, "undefined-names": True, "imports": True, "yaml": True}
    # A second init changes nothing.
    again_old, again_new, message = init_pyproject(tmp_path)
    assert again_old == again_new == new and "already has [tool.runner]" in message


def test_init_without_pyproject_writes_only_the_table(tmp_path: Path) -> None:
    old, new, _ = init_pyproject(tmp_path)
    assert old is None
    assert new.startswith(b"[tool.runner]\n# blueprint runner settings")
    assert parse_settings(new.decode()).protected_branches == ()


def _commit_all(repo: Path, message: str) -> None:
    import git

    git.Repo(repo).git.add("-A")
    git.Repo(repo).git.commit("-m", message, "--no-verify")


def test_settings_in_the_target_repo_take_effect(demo_repo: RepoFactory) -> None:
    from tests.test_guidance import call

    repo = demo_repo()
    pyproject = repo / "pyproject.toml"
    original = pyproject.read_text() if pyproject.exists() else ""
    pyproject.write_text(original + '\n[tool.runner]\nprotected-branches = ["main"]\n')
    _commit_all(repo, "protect main")
    code, document = call("run", PLAN, "--task", "4.1", "--json", cwd=repo)
    assert code == 2 and document["code"] == "protected_branch"
    pyproject.write_text(original + "\n[tool.runner.gates]\nyaml = false\n")
    _commit_all(repo, "no yaml gate")
    code, document = call("run", PLAN, "--task", "4.1", "--json", cwd=repo)
    assert code == 0, document["message"]
    assert document["tasks"][0]["files_changed"] and not document["tasks"][0]["gates"]


def test_new_init_and_check_through_the_cli(tmp_path: Path) -> None:
    from tests.test_guidance import call

    code, document = call("new", "PLAN-006", "--title", "Data Pipeline", "--repo", tmp_path, "--json")
    assert code == 0, document["message"]
    written = Path(document["data"]["path"])
    assert written == tmp_path / "blueprints" / "PLAN-006-data-pipeline.md"
    code, linted = call("lint", written, "--repo", tmp_path, "--json")
    assert code == 0 and linted["data"]["findings"] == [] and linted["data"]["errors"] == []
    code, again = call("new", "PLAN-006", "--title", "Data Pipeline", "--repo", tmp_path, "--json")
    assert code == 2 and "never overwrites" in again["message"]

    code, document = call("init", "--repo", tmp_path, "--json")
    assert code == 0 and document["data"]["changed"] is True
    assert load_settings(tmp_path).gate_on("imports")

    (tmp_path / "ok.py").write_text("import os\nprint(os.sep)\n")
    (tmp_path / "bad.py").write_text("print(undefined_name)\n")
    (tmp_path / "bad.yaml").write_text("a: [1\n")
    code, document = call("check", tmp_path / "ok.py", "--repo", tmp_path, "--json")
    assert code == 0 and {g["status"] for g in document["data"]["gates"]} == {"passed"}
    code, document = call("check", tmp_path / "bad.py", tmp_path / "bad.yaml", "--repo", tmp_path, "--json")
    assert code == 1 and document["code"] == "gates_failed"
    failed = {(g["gate"], g["status"]) for g in document["data"]["gates"]}
    assert ("undefined-names", "failed") in failed and ("yaml", "failed") in failed
