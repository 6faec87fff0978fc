"""TRAINING-STABILITY and GLYPH-QUICKFIX run as written on their fixtures, and the code they
write runs.

Each fixture's code is imported and called on tiny tensors before the plan; then the plan runs
through the CLI (``python -m runner run --json``) on a fresh git copy of the fixture, and the
rewritten code is imported from that copy and called again: the contrastive loss, the delta
clamp, the new defaults, the epoch-dependent augmentation, the meta-escalation pause. A second
run makes no commit, and reverting every task newest first gives back the starting tree.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
import yaml

from runner.blueprint.model import load_blueprint
from runner.demo import make_demo_repo
from tests.conftest import ROOT, commit_count, snapshot

ARC_FIXTURE = ROOT / "fixtures" / "arc-solver"
GLYPH_FIXTURE = ROOT / "fixtures" / "glyph-classifier"
ARC_PLAN = ROOT / "blueprints" / "TRAINING-STABILITY.md"
GLYPH_PLAN = ROOT / "blueprints" / "GLYPH-QUICKFIX.md"
# The two source documents, byte-identical copies of ../shared/seeds/002_… and 004_…
STABILITY_GUIDE = ROOT / "fixtures" / "blueprints" / "seed-002-training-stability.txt"
GLYPH_GUIDE = ROOT / "fixtures" / "blueprints" / "seed-004-glyph-quickfix.txt"
FIXTURE_PACKAGES = ("sci_arc", "raster", "train_rlan")

# ----------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """The fixture models are tiny; several threads only fight the other test processes."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _purge_fixture_modules() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in FIXTURE_PACKAGES:
            del sys.modules[name]


@contextlib.contextmanager
def imported_from(root: Path, *modules: str) -> Iterator[list[ModuleType]]:
    """Import ``modules`` from the project at ``root`` (and only from there), then forget them.

    ``scripts/train_rlan.py`` is not in a package; ``train_rlan`` loads it from its path."""
    saved_path = list(sys.path)
    _purge_fixture_modules()
    sys.path.insert(0, str(root))
    try:
        loaded = []
        for name in modules:
            if name == "train_rlan":
                spec = importlib.util.spec_from_file_location(
                    "train_rlan", root / "scripts" / "train_rlan.py"
                )
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules["train_rlan"] = module
                spec.loader.exec_module(module)
                loaded.append(module)
            else:
                loaded.append(importlib.import_module(name))
        for module in loaded:
            assert Path(str(module.__file__)).resolve().is_relative_to(root.resolve()), module.__file__
        yield loaded
    finally:
        _purge_fixture_modules()
        sys.path[:] = saved_path


def runner_cli(*args: str | Path) -> dict[str, Any]:
    """``python -m runner ARGS --json`` in a child process, as an agent calls it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        PYTHONPATH=str(ROOT),
        GIT_AUTHOR_NAME="Runner Test",
        GIT_AUTHOR_EMAIL="test@blueprint-runner.invalid",
        GIT_COMMITTER_NAME="Runner Test",
        GIT_COMMITTER_EMAIL="test@blueprint-runner.invalid",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "runner", *map(str, args), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    document: dict[str, Any] = json.loads(proc.stdout)
    assert document["exit_code"] == proc.returncode, proc.stderr
    return document


@dataclass
class PlanRun:
    """Everything one plan did on a fresh copy of its fixture, recorded for the tests below."""

    repo: Path
    applied: Path  # a copy of the working tree right after the first run
    start: dict[str, bytes]
    after_run: dict[str, bytes]
    run: dict[str, Any]
    commits_after_run: int
    rerun: dict[str, Any]
    commits_after_rerun: int
    reverts: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, bytes] = field(default_factory=dict)


def run_plan_then_revert(blueprint: Path, fixture: Path, base: Path) -> PlanRun:
    repo = make_demo_repo(base / "repo", [blueprint], fixture)
    path = repo / "blueprints" / blueprint.name
    start = snapshot(repo)
    run = runner_cli("run", path, "--repo", repo)
    after_run = snapshot(repo)
    applied = base / "applied"
    shutil.copytree(repo, applied, ignore=shutil.ignore_patterns(".git"))
    commits_after_run = commit_count(repo)
    rerun = runner_cli("run", path, "--repo", repo)
    result = PlanRun(repo, applied, start, after_run, run, commits_after_run, rerun, commit_count(repo))
    plan_id = load_blueprint(blueprint).plan_id
    for task in reversed(run["tasks"]):
        result.reverts.append(runner_cli("revert", f"{plan_id}:{task['id']}", "--repo", repo))
    result.end = snapshot(repo)
    return result


@pytest.fixture(scope="module")
def arc_run(tmp_path_factory: pytest.TempPathFactory) -> PlanRun:
    return run_plan_then_revert(ARC_PLAN, ARC_FIXTURE, tmp_path_factory.mktemp("arc"))


@pytest.fixture(scope="module")
def glyph_run(tmp_path_factory: pytest.TempPathFactory) -> PlanRun:
    return run_plan_then_revert(GLYPH_PLAN, GLYPH_FIXTURE, tmp_path_factory.mktemp("glyph"))


def guide_blocks(guide: Path) -> list[str]:
    return [body for _, body in re.findall(r"```(\w*)\n(.*?)```", guide.read_text(encoding="utf-8"), re.S)]


def blueprint_blocks(blueprint: Path) -> list[str]:
    """The fenced blocks under the steps, with the step's indentation taken off."""
    text = blueprint.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"^( +)```\w*\n(.*?)^\1```", text, re.S | re.M):
        indent = match.group(1)
        lines = match.group(2).split("\n")[:-1]
        found.append("".join(line.removeprefix(indent) + "\n" for line in lines))
    return found


def lines_of(block: str, first: int, last: int) -> str:
    return "".join(line + "\n" for line in block.split("\n")[first - 1 : last])


# ----------------------------------------------------------------------------- both plans


@pytest.mark.parametrize(
    ("blueprint", "guide", "used"),
    [
        # (block index in the guide, lines used or None for the whole block)
        (
            ARC_PLAN,
            STABILITY_GUIDE,
            [
                (0, None),
                (1, (1, 6)),
                (1, (8, 11)),
                (2, None),
                (3, None),
                (3, (8, 10)),
                (6, (1, 6)),
                (7, None),
                (9, None),
            ],
        ),
        (
            GLYPH_PLAN,
            GLYPH_GUIDE,
            [
                (0, None),
                (1, None),
                (2, None),
                (3, None),
                (4, (2, 3)),
                (4, (10, 16)),
                (5, None),
                (6, None),
                (7, None),
                (8, None),
                (10, None),
                (12, None),
            ],
        ),
    ],
    ids=["training-stability", "glyph-quickfix"],
)
def test_blueprint_uses_the_guides_blocks_byte_for_byte(
    blueprint: Path, guide: Path, used: list[tuple[int, tuple[int, int] | None]]
) -> None:
    ours = blueprint_blocks(blueprint)
    theirs = guide_blocks(guide)
    for index, span in used:
        expected = theirs[index] if span is None else lines_of(theirs[index], *span)
        assert expected in ours, f"guide block {index} {span or ''} is not in {blueprint.name} as written"


@pytest.mark.parametrize("blueprint", [ARC_PLAN, GLYPH_PLAN], ids=lambda p: p.stem)
def test_blueprint_names_its_fixture(blueprint: Path) -> None:
    fixture = ROOT / str(load_blueprint(blueprint).front_matter["demo_fixture"])
    assert fixture in (ARC_FIXTURE, GLYPH_FIXTURE) and fixture.is_dir()


PLAN_RUNS = pytest.mark.parametrize(
    ("plan_run", "blueprint"),
    [("arc_run", ARC_PLAN), ("glyph_run", GLYPH_PLAN)],
    ids=["training-stability", "glyph-quickfix"],
)


@pytest.mark.slow
@PLAN_RUNS
def test_plan_runs_to_completion_one_commit_per_task(
    plan_run: str, blueprint: Path, request: pytest.FixtureRequest
) -> None:
    result: PlanRun = request.getfixturevalue(plan_run)
    run = result.run
    assert run["exit_code"] == 0, run["message"]
    tasks = load_blueprint(blueprint).tasks
    assert [t["id"] for t in run["tasks"]] == [t.id for t in tasks]
    assert all(t["outcome"] == "completed" for t in run["tasks"]), run["tasks"]
    assert result.commits_after_run == 1 + len(tasks)
    assert load_blueprint(result.applied / "blueprints" / blueprint.name).status == "Completed"


@pytest.mark.slow
@PLAN_RUNS
def test_second_run_makes_no_commit_and_every_task_reverts(
    plan_run: str, blueprint: Path, request: pytest.FixtureRequest
) -> None:
    result: PlanRun = request.getfixturevalue(plan_run)
    assert result.rerun["exit_code"] == 0, result.rerun["message"]
    assert result.commits_after_rerun == result.commits_after_run  # nothing left to do: no commit
    assert result.after_run != result.start
    assert len(result.reverts) == len(load_blueprint(blueprint).tasks)
    for reverted in result.reverts:
        assert reverted["exit_code"] == 0, reverted["message"]
    assert result.end == result.start  # byte-identical tree, blueprint included


# ----------------------------------------------------------------------------- arc-solver

TINY_ARC_OVERRIDES = [
    "model.hidden_dim=16",
    "model.max_clues=3",
    "dsc.num_heads=2",
    "hyper_lora.warmup_epochs=0",
    "recursive_solver.num_steps=2",
    "training.batch_size=4",
    "training.amp=false",
    "data.num_workers=0",
    "data.eval_frac=0.25",
    "meta_escalation.start_epoch=0",
    "meta_escalation.escalation_step=0.25",
    "checkpointing.save_best=false",
    "logging.log_every=0",
]


def tiny_arc_history(root: Path, epochs: int = 2) -> tuple[list[dict[str, float]], dict[str, Any]]:
    with imported_from(root, "train_rlan") as (train_rlan,):
        config = train_rlan.load_config(str(root / "configs" / "rlan_stable_dev.yaml"), TINY_ARC_OVERRIDES)
        history = train_rlan.train(config, device="cpu", max_epochs=epochs, synthetic=12)
    return history, config


def support_batch(
    hidden: int, batch: int = 3, pairs: int = 2
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(batch, pairs, hidden, generator=generator)
    outputs = torch.randn(batch, pairs, hidden, generator=generator)
    return inputs, outputs, torch.ones(batch, pairs, dtype=torch.bool)


def test_arc_fixture_runs_before_the_plan() -> None:
    with imported_from(ARC_FIXTURE, "sci_arc.models.rlan_modules") as (modules,):
        soft_clamp = modules.soft_clamp_logits
        assert inspect.signature(soft_clamp).parameters["threshold"].default == 1000.0
        assert soft_clamp(torch.tensor([67.0, -67.0])).tolist() == [67.0, -67.0]  # the +-67 of the logs pass

        dsc = modules.DynamicSaliencyController(hidden_dim=8, max_clues=2, num_heads=2, context_dim=8)
        assert torch.all(dsc.stop_predictor[-1].bias == -1.0)

        lora = modules.HyperLoRA(hidden_dim=8, context_dim=8, rank=2, scaling=500.0)
        assert not hasattr(lora, "_clamp_delta_norm")
        deltas = lora.compute_delta_w(*support_batch(8))
        assert max(deltas[name].norm(dim=(1, 2)).max().item() for name in lora.DELTA_NAMES) > 3.0

    history, _ = tiny_arc_history(ARC_FIXTURE)
    # Random attention on 6x6 grids is diffuse (max ~0.03): "collapsed" by P0.2's measure, but
    # before the plan only NaNs and gradient explosions pause escalation, so it escalates.
    assert history[0]["attention_max"] < 0.1
    assert [h["escalation_paused"] for h in history] == [0.0, 0.0]
    assert history[-1]["escalation_level"] == 0.5


@pytest.mark.slow
def test_arc_clamp_delta_norm_bounds_every_delta(arc_run: PlanRun) -> None:
    with imported_from(arc_run.applied, "sci_arc.models.rlan_modules.hyper_lora") as (hyper_lora,):
        lora = hyper_lora.HyperLoRA(hidden_dim=8, context_dim=8, rank=2, scaling=500.0)

        big = torch.randn(4, 8, 8) * 10
        small = torch.randn(4, 8, 8) * 1e-3
        assert torch.all(lora._clamp_delta_norm(big).norm(dim=(1, 2)) <= 3.0 + 1e-4)
        assert torch.all(lora._clamp_delta_norm(big, max_norm=1.5).norm(dim=(1, 2)) <= 1.5 + 1e-4)
        torch.testing.assert_close(lora._clamp_delta_norm(small), small)  # under the bound: unchanged
        # direction kept: the clamp only rescales
        clamped = lora._clamp_delta_norm(big)
        cosine = torch.nn.functional.cosine_similarity(clamped.flatten(1), big.flatten(1))
        torch.testing.assert_close(cosine, torch.ones(4))

        inputs, outputs, mask = support_batch(8)
        deltas = lora.compute_delta_w(inputs, outputs, mask)
        for name in lora.DELTA_NAMES:
            assert torch.all(deltas[name].norm(dim=(1, 2)) <= 3.0 + 1e-4), name
        assert deltas["context"].shape == (3, 8)  # the context rides along, unclamped
        deltas["gru_update"].sum().backward()  # the clamp is differentiable

        # compute_deltas_for_logging builds the same dict and was left alone on purpose
        stats = lora.compute_deltas_for_logging(inputs, outputs, mask)
        assert stats["lora_delta_norm_max"] > 3.0


@pytest.mark.slow
def test_arc_soft_clamp_logits_new_defaults(arc_run: PlanRun) -> None:
    with imported_from(arc_run.applied, "sci_arc.models.rlan_modules.recursive_solver") as (solver,):
        parameters = inspect.signature(solver.soft_clamp_logits).parameters
        assert parameters["threshold"].default == 50.0
        assert parameters["max_val"].default == 100.0

        x = torch.tensor([10.0, -49.0, 67.0, -67.0, 500.0, -1e6])
        y = solver.soft_clamp_logits(x)
        assert y[:2].tolist() == [10.0, -49.0]  # identity inside the threshold
        assert 50.0 < y[2].item() < 67.0 and -67.0 < y[3].item() < -50.0  # the logged +-67 are squashed
        assert torch.all(y.abs() <= 100.0)

        model = solver.RecursiveSolver(hidden_dim=8, num_colors=10, num_steps=2, dropout=0.0)
        with torch.no_grad():
            model.output_head.weight.mul_(1e4)
        out = model(torch.randn(2, 3, 3, 8), torch.randn(2, 3, 3, 8))
        assert out["logit_abs_max"] > 100.0
        assert all(step.abs().max().item() <= 100.0 for step in out["all_logits"])


@pytest.mark.slow
def test_arc_stop_predictor_bias_default(arc_run: PlanRun) -> None:
    with imported_from(arc_run.applied, "sci_arc.models.rlan_modules.dynamic_saliency_controller") as (
        dsc_mod,
    ):
        controller = dsc_mod.DynamicSaliencyController
        init = controller._init_stop_predictor_for_entropy_coupling
        assert inspect.signature(init).parameters["init_bias"].default == -2.0

        dsc = controller(hidden_dim=8, max_clues=3, num_heads=2, context_dim=8)
        assert torch.all(dsc.stop_predictor[-1].bias == -2.0)
        out = dsc(torch.zeros(1, 4, 4, 8), task_context=torch.zeros(1, 8))
        # all-zero input: the stop logit is the bias plus the entropy term, below the old prior
        assert torch.all(torch.sigmoid(out["stop_logits"]) < torch.sigmoid(torch.tensor(-1.0)))


@pytest.mark.slow
def test_arc_training_pauses_on_attention_collapse(arc_run: PlanRun) -> None:
    history, config = tiny_arc_history(arc_run.applied)
    assert config["hyper_lora"]["lora_max_norm"] == 3.0
    assert config["recursive_solver"]["logit_clamp_threshold"] == 50.0
    assert config["meta_escalation"]["accuracy_drop_threshold"] == 0.05
    assert config["loss_weights"]["lora_norm_reg"] == 0.001
    # same diffuse attention as before the plan: now every epoch is unstable and escalation holds
    assert history[0]["attention_max"] < 0.1
    assert [h["escalation_paused"] for h in history] == [1.0, 1.0]
    assert history[-1]["escalation_level"] == 0.0
    assert all(torch.isfinite(torch.tensor(h["train_loss"])) for h in history)


@pytest.mark.slow
def test_arc_lora_norm_regularization(arc_run: PlanRun) -> None:
    with imported_from(arc_run.applied, "sci_arc.training.losses") as (losses,):
        deltas = {"gru_reset": torch.randn(2, 4, 4, requires_grad=True), "context": torch.randn(2, 4)}
        reg = losses.lora_norm_regularization(deltas)
        expected = (deltas["gru_reset"].norm(dim=(1, 2)).mean() - 1.0).abs()
        torch.testing.assert_close(reg, expected)
        reg.backward()
        assert deltas["gru_reset"].grad is not None


@pytest.mark.slow
def test_arc_config_merge_only_adds(arc_run: PlanRun) -> None:
    config = "configs/rlan_stable_dev.yaml"
    before = arc_run.start[config].decode().splitlines()
    after = arc_run.after_run[config].decode().splitlines()
    remaining = iter(after)
    assert all(line in remaining for line in before)  # every old line kept, in order
    merged = yaml.safe_load(arc_run.after_run[config])
    original = yaml.safe_load(arc_run.start[config])
    assert merged["hyper_lora"] == {**original["hyper_lora"], "lora_max_norm": 3.0}
    assert merged["meta_escalation"]["nan_streak_threshold"] == 3
    assert set(merged) == set(original)  # merged into the existing sections, none added


# ----------------------------------------------------------------------------- glyph-classifier


def tiny_glyph_setup(raster_dataset: ModuleType, raster_model: ModuleType, augment: bool = True) -> Any:
    rows = raster_dataset.synthetic_rows(num_labels=3, per_label=4, seed=1)
    config = raster_dataset.GlyphDatasetConfig(img_size=32, seed=7, augment=augment)
    dataset = raster_dataset.GlyphRasterDataset(rows, config)
    model = raster_model.build_model(
        raster_model.ModelConfig(img_size=32, num_classes=dataset.num_classes, variant="Glyph_tiny")
    )
    return dataset, model


def glyph_loader(dataset: Any) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(dataset, batch_size=6, shuffle=False, num_workers=0)


def test_glyph_fixture_runs_before_the_plan() -> None:
    with imported_from(GLYPH_FIXTURE, "raster.dataset", "raster.model", "raster.train") as (
        dataset_mod,
        model_mod,
        train,
    ):
        torch.manual_seed(0)
        dataset, model = tiny_glyph_setup(dataset_mod, model_mod)
        assert torch.equal(dataset[0][0], dataset[0][0])  # the same augmentation every call...
        assert not hasattr(dataset, "set_epoch")  # ...and every epoch
        assert isinstance(model.backbone.head, model_mod.BN_Linear)
        assert not hasattr(train, "supervised_contrastive_loss")

        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        metrics = train.train_one_epoch(
            model,
            glyph_loader(dataset),
            optimizer,
            torch.device("cpu"),
            arcface_margin=0.2,
            grad_clip=1.0,
            log_interval=0,
        )
        assert set(metrics) == {"train_loss", "grad_norm", "grad_norm_unclipped"}
        assert model._last_backbone_features is not None


@pytest.mark.slow
def test_glyph_contrastive_loss_is_finite_and_backpropagates(glyph_run: PlanRun) -> None:
    with imported_from(glyph_run.applied, "raster.train") as (train,):
        torch.manual_seed(0)
        raw = torch.randn(8, 16, requires_grad=True)
        embeddings = torch.nn.functional.normalize(raw, dim=1)
        labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
        loss = train.supervised_contrastive_loss(embeddings, labels, temperature=0.07)
        assert loss.ndim == 0 and torch.isfinite(loss) and loss.item() > 0
        loss.backward()  # the guide's in-place exp_sim.fill_diagonal_ would raise here
        assert raw.grad is not None and torch.isfinite(raw.grad).all() and raw.grad.abs().sum() > 0

        # pulling same-label embeddings together lowers the loss
        clustered = torch.nn.functional.normalize(torch.eye(16)[labels] + 0.01 * torch.randn(8, 16), dim=1)
        assert train.supervised_contrastive_loss(clustered, labels).item() < loss.item()
        # no sample has a positive: zero, not NaN
        assert train.supervised_contrastive_loss(embeddings.detach(), torch.arange(8)).item() == 0.0


@pytest.mark.slow
def test_glyph_training_step_optimises_both_losses(glyph_run: PlanRun) -> None:
    with imported_from(glyph_run.applied, "raster.dataset", "raster.model", "raster.train") as (
        dataset_mod,
        model_mod,
        train,
    ):
        torch.manual_seed(0)
        dataset, model = tiny_glyph_setup(dataset_mod, model_mod)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        metrics = train.train_one_epoch(
            model,
            glyph_loader(dataset),
            optimizer,
            torch.device("cpu"),
            arcface_margin=0.2,
            grad_clip=1.0,
            log_interval=0,
        )
        assert {"ce_loss", "emb_loss"} <= set(metrics)
        assert metrics["emb_loss"] > 0
        # train_loss is the sample-weighted mean of ce_loss + 0.3 * emb_loss
        assert metrics["train_loss"] == pytest.approx(
            metrics["ce_loss"] + 0.3 * metrics["emb_loss"], rel=1e-5
        )
        # the look-alike block in the --overfit-batch sanity check kept the plain loss
        assert "emb_loss" not in inspect.getsource(train.overfit_single_batch)
        assert "emb_loss" not in inspect.getsource(train.evaluate)


@pytest.mark.slow
def test_glyph_set_epoch_changes_the_augmentation(glyph_run: PlanRun) -> None:
    with imported_from(glyph_run.applied, "raster.dataset", "raster.model") as (dataset_mod, model_mod):
        dataset, _ = tiny_glyph_setup(dataset_mod, model_mod)
        dataset.set_epoch(0)
        first = dataset[0][0]
        dataset.set_epoch(1)
        second = dataset[0][0]
        assert not torch.equal(first, second)

        clean, _ = tiny_glyph_setup(dataset_mod, model_mod, augment=False)
        clean.set_epoch(0)
        unaugmented = clean[0][0]
        clean.set_epoch(5)
        assert torch.equal(unaugmented, clean[0][0])  # no augmentation: the epoch changes nothing


@pytest.mark.slow
def test_glyph_main_sets_the_epoch_every_epoch(glyph_run: PlanRun, tmp_path: Path) -> None:
    with imported_from(glyph_run.applied, "raster.dataset", "raster.train") as (dataset_mod, train):
        seen: list[int] = []
        original = dataset_mod.GlyphRasterDataset.set_epoch

        def spy(self: Any, epoch: int) -> None:
            seen.append(epoch)
            original(self, epoch)

        dataset_mod.GlyphRasterDataset.set_epoch = spy
        metrics = train.main(
            [
                "--synthetic",
                "3",
                "--img-size",
                "32",
                "--variant",
                "Glyph_tiny",
                "--epochs",
                "2",
                "--batch-size",
                "6",
                "--num-workers",
                "0",
                "--retrieval-every",
                "0",
                "--log-interval",
                "0",
                "--out",
                str(tmp_path / "run"),
            ]
        )
        assert seen == [0, 1]
        assert {"ce_loss", "emb_loss", "val_loss"} <= set(metrics)


@pytest.mark.slow
def test_glyph_classifier_head_is_a_plain_linear(glyph_run: PlanRun) -> None:
    with imported_from(glyph_run.applied, "raster.dataset", "raster.model") as (dataset_mod, model_mod):
        dataset, model = tiny_glyph_setup(dataset_mod, model_mod)
        head = model.backbone.head
        assert type(head) is torch.nn.Linear
        assert head.in_features == 32 and head.out_features == dataset.num_classes
        assert torch.all(head.bias == 0)
        out = model(torch.stack([dataset[i][0] for i in range(4)]))
        assert out["logits"].shape == (4, dataset.num_classes)
        # the feature hook sits on the new head (it was registered after the replacement)
        assert model._last_backbone_features is not None
        assert model._last_backbone_features.shape == (4, 32)
