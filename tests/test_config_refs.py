"""Config-reference gate on a Hydra tree (fixtures/hydra-configs): defaults entries and interpolations.

The fixture's hardware preset overrides two presets that do not exist, as the
real OCR repository's did: the gate names both with file and line. The seed's
``${data.batch_size}`` -> ``${batch_size}`` fix is the interpolation case.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from runner.demo import make_demo_repo
from runner.errors import ExitCode
from runner.gates.config_refs import check_config_references, config_root
from tests.conftest import snapshot
from tests.helpers import cli, write_plan

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "hydra-configs"


def _check(root: Path, checked: list[str] | None = None) -> list[str]:
    files = [
        Path(d, f).relative_to(root).as_posix() for d, _, names in os.walk(root / "configs") for f in names
    ]

    def read(relative: str) -> bytes | None:
        path = root / relative
        return path.read_bytes() if path.is_file() else None

    return [r.line() for r in check_config_references("configs", files, read, checked)]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "project"))


def test_the_preset_names_two_presets_that_do_not_exist(tree: Path) -> None:
    assert _check(tree) == [
        "config-references configs/hardware/rtx3060_12gb_i5_16core.yaml:5: failed: defaults entry "
        "'override /trainer: gpu_12gb': configs/trainer/gpu_12gb.yaml does not exist",
        "config-references configs/hardware/rtx3060_12gb_i5_16core.yaml:6: failed: defaults entry "
        "'override /model/optimizer: adamw_8bit': configs/model/optimizer/adamw_8bit.yaml does not exist",
        "config-references configs/train.yaml:10: warning: defaults entry 'optional local: dev': "
        "configs/local/dev.yaml does not exist (optional: Hydra skips it)",
        "config-references configs/train.yaml:18: warning: ocr-${oc.env:USER,anon}: unresolvable resolver "
        "oc.env (not evaluated)",
    ]


def test_fixed_preset_passes(tree: Path) -> None:
    for name in ("trainer/gpu_12gb.yaml", "model/optimizer/adamw_8bit.yaml"):
        (tree / "configs" / name).write_text("# @package _global_\n")
    (tree / "configs/train.yaml").write_text(
        (tree / "configs/train.yaml").read_text().replace("${oc.env:USER,anon}", "dev")
    )
    assert _check(tree) == [
        "config-references configs/train.yaml:10: warning: defaults entry 'optional local: dev': "
        "configs/local/dev.yaml does not exist (optional: Hydra skips it)"
    ]


def test_interpolation_to_a_missing_key_fails_with_its_line(tree: Path) -> None:
    """The seed's bug: `${data.batch_size}` where the composed config has `batch_size` at the root."""
    loaders = tree / "configs/dataloaders/default.yaml"
    loaders.write_text(loaders.read_text().replace("${batch_size}", "${data.batch_size}", 1))
    found = _check(tree, ["configs/dataloaders/default.yaml"])
    assert found == [
        "config-references configs/dataloaders/default.yaml:2: failed: ${data.batch_size} does not resolve "
        "in configs/train.yaml: Interpolation key 'data.batch_size' not found"
    ]
    loaders.write_text(loaders.read_text().replace("${data.batch_size}", "${batch_size}"))
    assert _check(tree, ["configs/dataloaders/default.yaml"]) == [
        "config-references configs: passed: 1 config(s): defaults and interpolations resolve"
    ]


def test_relative_and_package_interpolations(tree: Path) -> None:
    paths = tree / "configs/paths/default.yaml"
    assert _check(tree, ["configs/paths/default.yaml", "configs/callbacks/early_stopping.yaml"])[-1].endswith(
        "passed: 2 config(s): defaults and interpolations resolve"
    )
    paths.write_text(paths.read_text().replace("${.data_dir}", "${.data_root}"))
    assert _check(tree, ["configs/paths/default.yaml"]) == [
        "config-references configs/paths/default.yaml:3: failed: ${.data_root}/cache does not resolve in "
        "configs/train.yaml: Interpolation key '.data_root' not found (resolved to 'paths.data_root')"
    ]


def test_a_config_no_primary_includes_is_checked_as_if_selected(tree: Path) -> None:
    """rtx3060_16core is chosen by the preset, which train.yaml does not select: a warning, not a failure."""
    loaders = tree / "configs/dataloaders/rtx3060_16core.yaml"
    loaders.write_text(loaders.read_text().replace("${batch_size}", "${hw.batch}", 1))
    found = _check(tree, ["configs/dataloaders/rtx3060_16core.yaml"])
    assert found == [
        "config-references configs/dataloaders/rtx3060_16core.yaml:3: warning: ${hw.batch} does not resolve "
        "in configs/train.yaml: Interpolation key 'hw.batch' not found (no primary config includes this "
        "file; checked as if selected)"
    ]


def test_custom_resolver_is_a_warning(tree: Path) -> None:
    trainer = tree / "configs/trainer/default.yaml"
    trainer.write_text(trainer.read_text() + "started: ${now:%Y-%m-%d}\n")
    assert _check(tree, ["configs/trainer/default.yaml"]) == [
        "config-references configs/trainer/default.yaml:5: warning: ${now:%Y-%m-%d}: unresolvable resolver "
        "now (not evaluated)"
    ]


def test_invalid_yaml_fails(tree: Path) -> None:
    (tree / "configs/trainer/default.yaml").write_text("max_epochs: [10\n")
    found = _check(tree, ["configs/trainer/default.yaml"])
    assert found[0].startswith("config-references configs/trainer/default.yaml:2: failed: is not valid YAML")


def test_config_root() -> None:
    assert config_root("configs/dataloaders/x.yaml") == "configs"
    assert config_root("src/app/conf/db/pg.yaml") == "src/app/conf"
    assert config_root("docker-compose.yaml") is None


# -- through the CLI ----------------------------------------------------------------------


def _repo(tmp_path: Path) -> Path:
    return make_demo_repo(tmp_path / "repo", [], fixture=FIXTURE)


@pytest.mark.slow
def test_step_blocks_on_the_missing_presets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path)
    plan = write_plan(
        repo,
        "1. [ ] **Task 1.1: Check the configs**\n   - [ ] Verify config references resolve in `configs/`\n",
    )
    before = snapshot(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.TASK_FAILED
    failed = [g["target"] for g in doc["tasks"][0]["gates"] if g["status"] == "failed"]
    assert failed == [
        "configs/hardware/rtx3060_12gb_i5_16core.yaml:5",
        "configs/hardware/rtx3060_12gb_i5_16core.yaml:6",
    ]
    after = snapshot(repo)
    assert {p for p in after if after[p] != before[p]} == {f"blueprints/{plan.name}"}


@pytest.mark.slow
def test_changed_config_is_checked_automatically(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path)
    plan = write_plan(
        repo,
        "1. [ ] **Task 1.1: Loader batch size**\n"
        "   - [ ] Set `train_dataloader.batch_size` to `${data.batch_size}` in "
        "`configs/dataloaders/default.yaml`\n",
    )
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.TASK_FAILED
    assert doc["tasks"][0]["blocker"] == (
        "config-references gate failed on configs/dataloaders/default.yaml:2: ${data.batch_size} does not "
        "resolve in configs/train.yaml: Interpolation key 'data.batch_size' not found"
    )
