"""YAML merge ("Merge into `F.yaml`:" + a yaml block): keys added or set, every other byte kept.

Exact expected bytes for each case, refusals with the file's line, a second
merge that changes nothing, and the step end to end (report, commit, revert).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from runner.errors import ExitCode, InputError
from runner.yaml_merge import merge_yaml
from tests.conftest import RepoFactory, snapshot
from tests.helpers import cli, write_plan

CONFIG = b"""# Trainer settings
trainer:
  max_epochs: 10   # short runs
  precision: "16-mixed"
  accumulate: {steps: 2, sync: true}

# Data
data:
  batch_size: 8
  paths:
    train: 'data/train'   # relative to the repo
"""


def test_sets_adds_and_keeps_every_other_byte() -> None:
    block = (
        "trainer:\n"
        "  max_epochs: 20\n"
        "  # clip exploding gradients\n"
        "  gradient_clip_val: 1.0  # see the stability guide\n"
        "  accumulate: {steps: 4}\n"
        "data:\n"
        "  paths:\n"
        "    val: data/val\n"
        "model:\n"
        "  lr: 0.001\n"
    )
    new, edits = merge_yaml(CONFIG, block.replace("{steps: 4}", "{steps: 2, sync: true}"), "c.yaml")
    assert new == (
        b"# Trainer settings\n"
        b"trainer:\n"
        b"  max_epochs: 20   # short runs\n"
        b'  precision: "16-mixed"\n'
        b"  accumulate: {steps: 2, sync: true}\n"
        b"  # clip exploding gradients\n"
        b"  gradient_clip_val: 1.0  # see the stability guide\n"
        b"\n"
        b"# Data\n"
        b"data:\n"
        b"  batch_size: 8\n"
        b"  paths:\n"
        b"    train: 'data/train'   # relative to the repo\n"
        b"    val: data/val\n"
        b"model:\n"
        b"  lr: 0.001\n"
    )
    assert [(e.key, e.line, e.describe()) for e in edits] == [
        ("trainer.max_epochs", 3, "set trainer.max_epochs: 10 -> 20"),
        ("trainer.gradient_clip_val", 7, "added trainer.gradient_clip_val"),
        ("data.paths.val", 14, "added data.paths.val"),
        ("model", 15, "added model"),
    ]
    again, more = merge_yaml(new, block.replace("{steps: 4}", "{steps: 2, sync: true}"), "c.yaml")
    assert again == new and more == []  # already set


def test_equal_values_keep_the_file_quoting() -> None:
    new, edits = merge_yaml(CONFIG, "trainer:\n  precision: '16-mixed'\n", "c.yaml")
    assert new == CONFIG and edits == []
    new, edits = merge_yaml(b"a: '4'\n", "a: 4\n", "c.yaml")  # a string becomes an int: an edit
    assert new == b"a: 4\n" and [e.describe() for e in edits] == ["set a: '4' -> 4"]


def test_reindents_to_the_siblings_and_keeps_crlf() -> None:
    source = b"outer:\r\n    inner:\r\n        x: 1\r\n"
    new, _ = merge_yaml(
        source, "outer:\n  inner:\n    y: 2\n    # the z\n    z:\n      deep: true\n", "c.yaml"
    )
    # The entry moves right as a whole: its own nesting (2 spaces) is kept.
    assert new == (
        b"outer:\r\n    inner:\r\n        x: 1\r\n        y: 2\r\n"
        b"        # the z\r\n        z:\r\n          deep: true\r\n"
    )
    assert yaml.safe_load(new) == {"outer": {"inner": {"x": 1, "y": 2, "z": {"deep": True}}}}


def test_empty_value_and_file_without_final_newline() -> None:
    new, _ = merge_yaml(b"a:\nb: 1", "a: 3\nc: x\n", "c.yaml")
    assert new == b"a: 3\nb: 1\nc: x\n"


@pytest.mark.parametrize(
    ("source", "block", "fragment", "line"),
    [
        (b"a: 1\nb: 2\na: 3\n", "a: 4\n", "duplicate key 'a' (first at line 1)", 3),
        (
            b"a: 1\n",
            "a: 2\na: 3\n",
            "duplicate key 'a' in the step's YAML block (blueprint lines 11 and 12)",
            None,
        ),
        (b"base: &b\n  x: 1\nuse: *b\n", "base:\n  x: 2\n", "'base' has an anchor or is an alias", 1),
        (b"base: &b 1\nuse: *b\n", "use: 2\n", "'use' has an anchor or is an alias", 2),
        (b"opts: {a: 1}\n", "opts:\n  b: 2\n", "flow style", 1),
        (b"a:\n  b: 1\n", "a: 2\n", "'a' is a mapping in the file and a scalar in the step's block", 1),
        (b"a: [1, 2]\n", "a: [1, 3]\n", "'a' is a sequence in the file and a sequence", 1),
        (b"a: |\n  text\n", "a: other\n", "multi-line scalars are not merged", 1),
        (b"a: 1\n", "- 1\n", "the step's YAML block is not a mapping", None),
        (b"a: 1\n", "a: &x 2\n", "uses anchors or aliases", None),
        (b"- 1\n", "a: 1\n", "top level is not a mapping", None),
    ],
)
def test_refusals_name_the_line(source: bytes, block: str, fragment: str, line: int | None) -> None:
    with pytest.raises(InputError) as caught:
        merge_yaml(source, block, "c.yaml", block_line=10)
    assert fragment in caught.value.message
    assert caught.value.line == line and caught.value.path == "c.yaml"


def test_flow_mapping_scalars_are_set_in_place() -> None:
    new, edits = merge_yaml(CONFIG, "trainer:\n  accumulate:\n    steps: 4\n", "c.yaml")
    assert new == CONFIG.replace(b"{steps: 2, sync", b"{steps: 4, sync")
    assert [e.describe() for e in edits] == ["set trainer.accumulate.steps: 2 -> 4"]


def test_real_schema_file_changes_only_the_merged_lines() -> None:
    """torch's export schema (nobody here wrote it, 1000+ lines): one key set, one added deep inside."""
    path = Path(torch_dir()) / "_export/serde/schema.yaml"
    source = path.read_bytes()
    block = (
        "AOTInductorModelPickleData:\n  kind: record\n"
        "Argument:\n  fields:\n    as_tensor:\n      type: TensorArgument\n      default: None\n"
    )
    new, edits = merge_yaml(source, block, "schema.yaml")
    diff = [
        line
        for line in difflib.unified_diff(
            source.decode().splitlines(), new.decode().splitlines(), lineterm="", n=0
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert diff == ["-  kind: struct", "+  kind: record", "+      default: None"]
    expected = yaml.safe_load(source)
    expected["AOTInductorModelPickleData"]["kind"] = "record"
    expected["Argument"]["fields"]["as_tensor"]["default"] = "None"
    assert yaml.safe_load(new) == expected
    assert [e.describe() for e in edits] == [
        "set AOTInductorModelPickleData.kind: struct -> record",
        "added Argument.fields.as_tensor.default",
    ]


def torch_dir() -> str:
    import importlib.util

    spec = importlib.util.find_spec("torch")
    assert spec is not None and spec.submodule_search_locations, "torch is a test dependency"
    return next(iter(spec.submodule_search_locations))


# -- the step, end to end -------------------------------------------------------------

MERGE_STEP = (
    "1. [ ] **Task 1.1: Stable dataloaders**\n"
    "   - [ ] Merge into `configs/dataloaders/rtx3060_16core.yaml`:\n"
    "     ```yaml\n"
    "     train_dataloader:\n"
    "       num_workers: 8\n"
    "       # fewer batches in flight\n"
    "       prefetch_factor: 2\n"
    "       drop_last: true\n"
    "     ```\n"
)


@pytest.mark.slow
def test_merge_step_reports_commits_and_reverts(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, MERGE_STEP)
    config = repo / "configs/dataloaders/rtx3060_16core.yaml"
    before_tree, before = snapshot(repo), config.read_bytes()
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == 0, doc["message"]
    after = config.read_bytes()
    assert after == before.replace(
        b"num_workers: 16   # one per core", b"num_workers: 8   # one per core", 1
    ).replace(b"prefetch_factor: 8  # 8 x 16", b"prefetch_factor: 2  # 8 x 16", 1).replace(
        b"host RAM\nval_dataloader", b"host RAM\n  drop_last: true\nval_dataloader"
    )
    task = doc["tasks"][0]
    assert task["changes"] == [
        {
            "file": "configs/dataloaders/rtx3060_16core.yaml",
            "kind": "config",
            "line": 5,
            "description": "set train_dataloader.num_workers: 16 -> 8",
        },
        {
            "file": "configs/dataloaders/rtx3060_16core.yaml",
            "kind": "config",
            "line": 8,
            "description": "set train_dataloader.prefetch_factor: 8 -> 2",
        },
        {
            "file": "configs/dataloaders/rtx3060_16core.yaml",
            "kind": "config",
            "line": 9,
            "description": "added train_dataloader.drop_last",
        },
    ]
    code, doc = cli(capsys, "revert", "PLAN-042:1.1", "--repo", repo)
    assert code == 0 and snapshot(repo) == before_tree


@pytest.mark.slow
def test_merge_step_refusal_blocks_with_the_line(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    plan = write_plan(repo, MERGE_STEP.replace("num_workers: 8", "num_workers:\n         a: 1"))
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.TASK_FAILED
    assert doc["tasks"][0]["blocker"] == (
        "step at line 17: configs/dataloaders/rtx3060_16core.yaml:5: 'train_dataloader.num_workers' is a "
        "scalar in the file and a mapping in the step's block; only scalars are set and mappings merged"
    )
