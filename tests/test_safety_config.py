"""`Set` never gives a wrong answer: a duplicate key, an alias, an anchor or a merged key is
refused with its line; every other edit stays byte-exact and takes effect."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runner.config_edit import set_value
from runner.errors import ExitCode, InputError
from tests.conftest import RepoFactory, snapshot
from tests.helpers import cli, write_plan

SOURCE = (
    "# training\n"  # 1
    "defaults: &defaults\n"  # 2
    "  lr: 0.1\n"  # 3
    "  epochs: 3\n"  # 4
    "train:\n"  # 5
    "  <<: *defaults\n"  # 6
    "  batch: 8\n"  # 7
    "seed: &seed 42\n"  # 8
    "eval_seed: *seed\n"  # 9
    "finetune: *defaults\n"  # 10
    "dropout: 0.1\n"  # 11
    "dropout: 0.2   # the one loaders keep\n"  # 12
    "model:\n"  # 13
    "  width: 64\n"  # 14
    "model:\n"  # 15
    "  depth: 4\n"  # 16
)


def _refused(key: str, value: str = "7") -> InputError:
    with pytest.raises(InputError) as caught:
        set_value(SOURCE.encode(), key, value, "configs/train.yaml")
    return caught.value


def test_duplicate_key_is_refused_with_its_lines() -> None:
    err = _refused("dropout")
    assert err.line == 12 and "duplicate key 'dropout'" in err.message and "11" in err.message
    err = _refused("model.depth")  # a duplicate on the way down, too
    assert err.line == 15 and "duplicate key 'model'" in err.message


def test_alias_is_refused_with_its_line() -> None:
    err = _refused("eval_seed")
    assert err.line == 9 and "alias" in err.message
    err = _refused("finetune.lr")  # through an aliased mapping: would land on `defaults`
    assert err.line == 10 and "alias" in err.message


def test_anchored_value_is_refused() -> None:
    err = _refused("seed")
    assert err.line == 8 and "anchor" in err.message


def test_merged_key_is_refused_with_the_merge_line() -> None:
    err = _refused("train.lr")
    assert err.line == 6 and "<<" in err.message


def test_plain_keys_stay_byte_exact_and_take_effect() -> None:
    for key, value, line in [("train.batch", "16", 7), ("defaults.epochs", "5", 4)]:
        new, change = set_value(SOURCE.encode(), key, value, "c.yaml")
        assert change.changed and change.line == line
        old_lines, new_lines = SOURCE.splitlines(True), new.decode().splitlines(True)
        assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b] == [line - 1]
    new, _ = set_value(SOURCE.encode(), "train.batch", "16", "c.yaml")
    assert yaml.safe_load(new)["train"] == {"lr": 0.1, "epochs": 3, "batch": 16}
    # a key in a mapping that also merges, written there: the written one is edited
    text = "base: &b\n  lr: 1\nrun:\n  <<: *b\n  lr: 2\n"
    new, change = set_value(text.encode(), "run.lr", "3", "c.yaml")
    assert yaml.safe_load(new)["run"]["lr"] == 3 and yaml.safe_load(new)["base"]["lr"] == 1


def test_run_blocks_on_a_duplicate_key_and_names_the_line(
    demo_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = demo_repo()
    config = repo / "configs" / "train.yaml"
    config.write_text(SOURCE)
    plan = write_plan(
        repo, "1. [ ] **Task 1.1: Lower dropout**\n   - [ ] Set `dropout` to `0.05` in `configs/train.yaml`"
    )
    before = snapshot(repo)
    code, doc = cli(capsys, "run", plan, "--repo", repo)
    assert code == ExitCode.TASK_FAILED, doc["message"]
    assert "configs/train.yaml:12: duplicate key 'dropout'" in doc["tasks"][0]["blocker"]
    assert config.read_bytes() == before["configs/train.yaml"]
    assert Path(plan).read_text().count("BLOCKER") == 1


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("a: # none yet\nb: 1\n", "a", "a: 5 # none yet\nb: 1\n"),
        ("a:\nb: 1\n", "a", "a: 5\nb: 1\n"),
        ("x:\n  a:\n  b: 1\n", "x.a", "x:\n  a: 5\n  b: 1\n"),
        ("a:", "a", "a: 5"),
    ],
)
def test_empty_value_gets_its_space(text: str, key: str, expected: str) -> None:
    """`key:` (null) set to 5 becomes `key: 5`, not the single scalar `key:5`."""
    new, change = set_value(text.encode(), key, "5", "c.yaml")
    assert new.decode() == expected and change.changed
    loaded = yaml.safe_load(new)
    assert (loaded["x"]["a"] if key == "x.a" else loaded["a"]) == 5


def test_block_scalar_keeps_the_following_lines() -> None:
    text = "a:\n  help: |-\n    two\n    lines\n\n  kind: str\nb: 1\n"
    new, change = set_value(text.encode(), "a.help", "short", "c.yaml")
    assert new.decode() == "a:\n  help: short\n\n  kind: str\nb: 1\n" and change.line == 2
    assert yaml.safe_load(new) == {"a": {"help": "short", "kind": "str"}, "b": 1}


def test_flow_mapping_key_without_value_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        set_value(b"env: flex\nruntime: {runtime}\n", "runtime.runtime", "node", "app.yaml")
    assert caught.value.line == 2
