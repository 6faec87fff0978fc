"""Which files a directory target holds, and the same outcomes streamed through a pool."""

from __future__ import annotations

import gc
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

from codemods import registry
from codemods.base import RunnerCodemod
from codemods.engine import CHUNK, CodemodCall, FileOutcome, iter_python_files, run_codemods
from codemods.workers import RewriteWorkers

LOGISTIC = b"import torch\n\n\ndef f(x):\n    return 1 / (1 + torch.exp(-x))\n"


def _names(root: Path, **kwargs: bool) -> list[str]:
    return [p.relative_to(root).as_posix() for p in iter_python_files(root, **kwargs)]


def test_vendored_and_generated_trees_are_skipped_unless_asked(tmp_path: Path) -> None:
    for relative in ("pkg/a.py", "pkg/_vendor/v.py", "third_party/t.py", "build/lib/b.py", "dist/d.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"x = 1\n")
    assert _names(tmp_path) == ["pkg/a.py"]
    assert len(_names(tmp_path, include_vendored=True)) == 5
    # A vendored directory named as the target itself was asked for.
    assert _names(tmp_path / "third_party") == ["t.py"]


def test_gitignore_is_respected_in_a_git_work_tree(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("generated/\nscratch_*.py\n")
    for relative in ("src/m.py", "generated/g.py", "src/scratch_1.py", "src/new.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"x = 1\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "src/m.py"], check=True)
    assert _names(tmp_path) == ["src/m.py", "src/new.py"]  # tracked and untracked-not-ignored
    assert [p.name for p in iter_python_files(tmp_path / "src")] == ["m.py", "new.py"]


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_bytes(b"x = 1\n")
    os.mkfifo(tmp_path / "pipe.py")
    assert _names(tmp_path) == ["ok.py"]


def test_pool_and_serial_runs_give_the_same_outcomes_in_order(tmp_path: Path) -> None:
    count = 2 * CHUNK + 7
    for index in range(count):
        body = LOGISTIC if index % 25 == 0 else b"import torch\n\ny = torch.exp(%d)\n" % index
        (tmp_path / f"m{index:03}.py").write_bytes(body)
    codemod = registry()["reciprocal-exp-to-sigmoid"]
    calls = [CodemodCall(codemod, codemod.resolve_options({}))]
    paths = list(iter_python_files(tmp_path))
    serial = list(run_codemods(paths, calls, jobs=1))
    pooled = list(run_codemods(paths, calls, jobs=2))
    assert [o.path for o in pooled] == [str(p) for p in paths]
    facts = [(o.path, o.status, o.before, o.after, o.changes, o.skips) for o in serial]
    assert facts == [(o.path, o.status, o.before, o.after, o.changes, o.skips) for o in pooled]
    changed = [o for o in pooled if o.status == "changed"]
    assert len(changed) == len(range(0, count, 25))
    assert all(b"torch.sigmoid(x)" in o.after and o.before == LOGISTIC for o in changed)
    # Unchanged files' bytes are not kept: memory stays flat on a large tree.
    assert all(o.before == b"" for o in pooled if o.status == "unchanged")


DETACH = (
    b"import lightning as L\n\n\nclass M(L.LightningModule):\n"
    b"    def validation_step(self, batch, i):\n        self.log('v', batch.detach().cpu())\n"
)
WANDB = b"import wandb\n\n\ndef f():\n    wandb.log({})\n"


def test_codemod_apply_takes_several_names_in_one_pass(tmp_path: Path) -> None:
    from runner.commands.codemod import codemod_apply

    for name, body in (("a.py", LOGISTIC), ("b.py", DETACH), ("c.py", WANDB)):
        (tmp_path / name).write_bytes(body)
    names = "reciprocal-exp-to-sigmoid,remove-detach-cpu,lazy-import"
    report = codemod_apply(names, {"reciprocal-exp-to-sigmoid.clamp": "5"}, [tmp_path], dry_run=True)
    data = report.data
    assert data is not None and data["totals"]["changed"] == 3  # type: ignore[index]
    assert data["options"]["reciprocal-exp-to-sigmoid.clamp"] == 5.0  # type: ignore[index]
    assert "torch.sigmoid(torch.clamp(x, -5.0, 5.0))" in data["diff"]  # type: ignore[index]
    codemod_apply(names, {"method": "validation_step"}, [tmp_path], dry_run=False)
    assert b"torch.sigmoid(x)" in (tmp_path / "a.py").read_bytes()
    assert b".detach().cpu()" not in (tmp_path / "b.py").read_bytes()
    assert (tmp_path / "c.py").read_bytes() == b"def f():\n    import wandb\n    wandb.log({})\n"


@pytest.mark.parametrize(
    ("names", "options", "message"),
    [
        ("reciprocal-exp-to-sigmoid,nope", {}, "unknown codemod 'nope'"),
        ("reciprocal-exp-to-sigmoid,lazy-import", {"color": "red"}, "takes an option 'color'"),
        ("reciprocal-exp-to-sigmoid", {"lazy-import.module": "x"}, "no option 'lazy-import.module'"),
        ("reciprocal-exp-to-sigmoid,lazy-import", {"remove-detach-cpu.method": "x"}, "not being applied"),
    ],
)
def test_codemod_apply_rejects_unknown_names_and_options(
    tmp_path: Path, names: str, options: dict[str, str], message: str
) -> None:
    from runner.commands.codemod import codemod_apply
    from runner.errors import InputError

    with pytest.raises(InputError, match=re.escape(message)):
        codemod_apply(names, options, [tmp_path], dry_run=True)


class ExitInWorker(RunnerCodemod):
    """Test double: the process transforming a file that says ``boom`` dies (exit code 9)."""

    NAME = "exit-in-worker"
    NEEDLES = (b"boom",)

    def transform_module(self, tree: cst.Module) -> cst.Module:
        os._exit(9)


def test_a_worker_that_dies_leaves_its_file_as_an_error_and_the_run_goes_on(tmp_path: Path) -> None:
    count = 2 * CHUNK + 7
    for index in range(count):
        body = b"boom = 1\n" if index in (10, 50) else LOGISTIC if index == 30 else b"x = 1\n"
        (tmp_path / f"m{index:03}.py").write_bytes(body)
    sigmoid = registry()["reciprocal-exp-to-sigmoid"]
    calls = [CodemodCall(sigmoid, sigmoid.resolve_options({})), CodemodCall(ExitInWorker)]
    outcomes = list(run_codemods(list(iter_python_files(tmp_path)), calls, jobs=2))
    assert [o.path for o in outcomes] == [str(p) for p in iter_python_files(tmp_path)]
    by_name = {Path(o.path).name: o for o in outcomes}
    for name in ("m010.py", "m050.py"):
        assert by_name[name].status == "error"
        assert by_name[name].reason == "the process rewriting it exited unexpectedly (exit code 9)"
    assert by_name["m030.py"].status == "changed"  # queued behind m010 or not, it is rewritten
    others = [o for n, o in by_name.items() if n not in ("m010.py", "m030.py", "m050.py")]
    assert all(o.status == "unchanged" for o in others)


def _report_origin(path: Path) -> FileOutcome:
    """Test double for a worker's work: which process warmed it up, which forked it, and
    whether it collects garbage (the host does not)."""
    return FileOutcome(
        str(path),
        "unchanged",
        b"",
        b"",
        reason=f"{os.environ.get('WARMED_BY')} {os.getppid()} {gc.isenabled()}",
    )


def _warm_up() -> None:
    os.environ["WARMED_BY"] = str(os.getpid())


def test_workers_are_forked_from_one_host_after_its_warm_up(tmp_path: Path) -> None:
    workers = RewriteWorkers(_report_origin, _warm_up, limit=2)
    outcomes: dict[int, FileOutcome] = {}
    try:
        for index in range(6):
            workers.submit(index, tmp_path / f"m{index}.py")
        while len(outcomes) < 6:
            outcomes.update(workers.collect(block=True))
    finally:
        workers.close()
    assert sorted(outcomes) == list(range(6))
    assert all(o.path == str(tmp_path / f"m{i}.py") for i, o in outcomes.items())
    host = str(workers.host.pid)
    assert host != str(os.getpid()) and "WARMED_BY" not in os.environ
    # Every worker starts with what the host loaded (its warm-up ran before it forked them).
    assert {o.reason for o in outcomes.values()} == {f"{host} {host} True"}
    assert workers.forked == 2  # no more than the limit
    assert not workers.host.is_alive()


def test_a_walk_still_going_on_is_screened_as_it_goes_with_the_total_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 2 * CHUNK + 7
    for index in range(count):
        (tmp_path / f"m{index:03}.py").write_bytes(LOGISTIC if index == 0 else b"x = 1\n")
    paths = list(iter_python_files(tmp_path))
    hosts: list[RewriteWorkers] = []
    start = RewriteWorkers.__init__

    def recorded(self: RewriteWorkers, *args: Any, **kwargs: Any) -> None:
        hosts.append(self)
        start(self, *args, **kwargs)

    monkeypatch.setattr(RewriteWorkers, "__init__", recorded)
    hosts_when_walked: list[int] = []

    def walk() -> Iterator[Path]:
        for index, path in enumerate(paths):
            if index == 2 * CHUNK:  # the first files are screened before the rest is walked
                hosts_when_walked.append(len(hosts))
            yield path

    sigmoid = registry()["reciprocal-exp-to-sigmoid"]
    reports: list[tuple[int, int]] = []
    outcomes = list(
        run_codemods(walk(), [CodemodCall(sigmoid, {})], jobs=2, progress=lambda d, t: reports.append((d, t)))
    )
    assert hosts_when_walked == [1]  # the first file's candidate started the host already
    assert [o.path for o in outcomes] == [str(p) for p in paths]
    assert [o.status for o in outcomes] == ["changed"] + ["unchanged"] * (count - 1)
    assert reports[-1] == (count, count) and {t for _, t in reports} == {count}


def test_a_worker_holds_one_path_until_it_returns_one_and_again_once_the_screening_ends(
    tmp_path: Path,
) -> None:
    workers = RewriteWorkers(_report_origin, _warm_up, limit=1)
    outcomes: dict[int, FileOutcome] = {}
    try:
        for index in range(5):
            workers.submit(index, tmp_path / f"m{index}.py")
        # Its first path alone: it may wait for the host's imports, and another worker may
        # be free before it.
        assert [len(w.in_flight) for w in workers.workers] == [1] and len(workers.waiting) == 4
        outcomes.update(workers.collect(block=True))
        assert sorted(outcomes) == [0]
        # Then two while the engine screens (the next is queued when it finishes one).
        assert [len(w.in_flight) for w in workers.workers] == [2] and len(workers.waiting) == 2
        workers.widen(2)  # the screening is over: one at a time to whichever is free
        assert [len(w.in_flight) for w in workers.workers] == [2, 1] and len(workers.waiting) == 1
        while len(outcomes) < 5:
            outcomes.update(workers.collect(block=True))
    finally:
        workers.close()
    assert [outcomes[i].path for i in range(5)] == [str(tmp_path / f"m{i}.py") for i in range(5)]
