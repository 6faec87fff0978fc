"""The three PLAN-001 codemods against ruff, ast-grep and libcst.tool on torch's own sources.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_speed.py [--quick] [--repeat N]

Builds its corpus offline under --workdir (default /tmp/bench-speed): the installed torch
package's ``*.py`` files plus ``fixtures/ocr-project`` (the tree), and copies of small torch
files with the fixtures' hand-written forms injected (the injected corpus). Then, alternating
the tools and taking medians, it times:

* the runner engine with reciprocal-exp-to-sigmoid, remove-detach-cpu and lazy-import in one
  pass (a fresh interpreter: imports included), and ``runner codemod apply`` with the three
  names when the CLI takes several;
* ``python -m libcst.tool codemod`` with the same codemod classes, one run each, summed (slow:
  on a subset unless --full-libcst; the output says which rows used a subset);
* ``ruff check --select F821 --no-cache`` and ``ast-grep run`` with the sigmoid pattern;
* the CLI and ruff again on torch's tree alone (the issue's target: no file there holds a
  rewrite, so the runner never loads LibCST);

checks that the runner and libcst.tool leave identical bytes (on the subset) and that the
runner finds the same outcomes with and without its pre-checks, and prints peak memory (of
the largest process: /usr/bin/time's %M), the CPU time (user + sys, children included) and
the scaling rows (1x, 2x, 4x the tree, and 4x with the candidate files held fixed), with the
load average before and after: on a shared machine compare ratios within one run, not wall
times across runs. Nothing outside --workdir is written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = sys.executable
PLAN_001 = ("reciprocal-exp-to-sigmoid", "remove-detach-cpu", "lazy-import")
CLASSES = {
    "reciprocal-exp-to-sigmoid": "codemods.commands.reciprocal_exp_to_sigmoid.ReciprocalExpToSigmoid",
    "remove-detach-cpu": "codemods.commands.remove_detach_cpu.RemoveDetachCpu",
    "lazy-import": "codemods.commands.lazy_import.LazyImport",
}
SIGMOID_PATTERN = "1 / (1 + torch.exp($X))"
TIME = Path("/usr/bin/time")


# -- the engine, run in a fresh interpreter (--drive) -------------------------------------
def drive(tree: Path, prefilter: bool, write: bool) -> None:
    """Run the three codemods over ``tree`` and print one JSON summary line."""
    import codemods as package
    from codemods import engine

    # The declarations (no LibCST) where this checkout has them, as the CLI uses them.
    codemods = getattr(package, "catalog", package.registry)()
    calls = [engine.CodemodCall(codemods[n], codemods[n].resolve_options({})) for n in PLAN_001]
    paths = list(engine.iter_python_files(tree))
    kwargs = {} if prefilter else {"prefilter": False}
    if hasattr(engine, "run_codemods"):
        outcomes = engine.run_codemods(paths, calls, **kwargs)  # type: ignore[arg-type]
    else:  # the engine before streaming: one file at a time, in order
        outcomes = (engine.apply_codemods(p.read_bytes(), calls, str(p), **kwargs) for p in paths)  # type: ignore[arg-type]
    summary = {"scanned": 0, "parsed": 0, "changed": 0, "skipped": 0, "error": 0, "changes": 0, "skips": 0}
    digest = hashlib.sha256()
    for outcome in outcomes:
        summary["scanned"] += 1
        summary["parsed"] += outcome.parsed
        summary[outcome.status] = summary.get(outcome.status, 0) + 1
        summary["changes"] += len(outcome.changes)
        summary["skips"] += len(outcome.skips)
        if outcome.status != "unchanged" or outcome.skips:
            relative = os.path.relpath(outcome.path, tree)
            facts = [relative, outcome.status, outcome.reason, outcome.changes, outcome.skips]
            digest.update(repr(facts).encode())
            digest.update(hashlib.sha256(outcome.after).digest() if outcome.status == "changed" else b"")
        if write and outcome.status == "changed":
            Path(outcome.path).write_bytes(outcome.after)
    summary["digest"] = digest.hexdigest()[:16]  # type: ignore[assignment]
    print(json.dumps(summary))


# -- timing --------------------------------------------------------------------------------
def timed(
    command: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> dict[str, object]:
    """Wall seconds, CPU seconds (user + sys), peak RSS (MB, largest process) and stdout of
    one command."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        wrapped = [str(TIME), "-f", "%e %M %U %S", "-o", report.name, *command]
        proc = subprocess.run(wrapped, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        seconds, kilobytes, user, system = report.read().strip().splitlines()[-1].split()
    return {
        "seconds": float(seconds),
        "cpu": float(user) + float(system),
        "rss_mb": int(kilobytes) / 1024,
        "stdout": proc.stdout,
        "rc": proc.returncode,
    }


def engine_env(code: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}


def build(workdir: Path, injected_files: int) -> dict[str, Path | int]:
    sys.path.insert(0, str(REPO))
    from benchmarks.corpus import build_injected, copy_python_tree, torch_root

    tree, injected = workdir / "tree", workdir / "injected"
    marker = workdir / f"built-{injected_files}"
    if not marker.exists():
        shutil.rmtree(workdir, ignore_errors=True)
        copy_python_tree(torch_root(), tree / "torch")
        shutil.copytree(REPO / "fixtures" / "ocr-project", tree / "ocr-project")
        sites = build_injected(injected, injected_files)
        marker.write_text(str(sites))
    return {"tree": tree, "injected": injected, "sites": int(marker.read_text())}


def scaled_trees(workdir: Path, tree: Path, code: Path) -> dict[str, Path]:
    """1x, 2x, 4x the tree; and the tree plus 3 copies of its non-candidate files only."""
    sys.path.insert(0, str(code))
    from codemods import registry

    codemods = registry()  # the commands: a --code checkout may predate the declarations
    needles = [n for name in PLAN_001 for n in codemods[name].needles(codemods[name].resolve_options({}))]
    rows = {"1x": tree}
    for factor in (2, 4):
        target = workdir / f"tree-{factor}x"
        if not target.exists():
            for copy in range(factor):
                shutil.copytree(tree, target / f"copy{copy}")
        rows[f"{factor}x"] = target
    fixed = workdir / "tree-4x-fixed"
    if not fixed.exists():
        shutil.copytree(tree, fixed / "copy0")
        for copy in (1, 2, 3):
            for path in sorted(tree.rglob("*.py")):
                if not any(n in path.read_bytes() for n in needles):
                    destination = fixed / f"copy{copy}" / path.relative_to(tree)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, destination)
    rows["4x, candidates fixed"] = fixed
    return rows


def median_rows(
    commands: dict[str, Callable[[], dict[str, object]]], repeat: int
) -> dict[str, dict[str, object]]:
    """Run every command ``repeat`` times, alternating; median seconds and CPU, max RSS, last output."""
    samples: dict[str, list[dict[str, object]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, run in commands.items():
            samples[name].append(run())
    result = {}
    for name, runs in samples.items():
        result[name] = {
            "seconds": statistics.median(float(str(r["seconds"])) for r in runs),
            "cpu": statistics.median(float(str(r["cpu"])) for r in runs),
            "rss_mb": max(float(str(r["rss_mb"])) for r in runs),
            "stdout": runs[-1]["stdout"],
            "runs": len(runs),
        }
    return result


def print_rows(rows: dict[str, dict[str, object]], ruff: dict[str, object], title: str = "what") -> None:
    print()
    print(f"| {title} | wall (median) | x ruff | CPU user+sys (median) | x ruff | peak RSS |")
    print("|---|---|---|---|---|---|")
    ruff_seconds, ruff_cpu = float(str(ruff["seconds"])), float(str(ruff["cpu"]))
    for name, row in rows.items():
        seconds, memory, cpu = float(str(row["seconds"])), float(str(row["rss_mb"])), float(str(row["cpu"]))
        print(
            f"| {name} | {seconds:.2f} s | {seconds / ruff_seconds:.2f} | {cpu:.2f} s | "
            f"{cpu / ruff_cpu:.2f} | {memory:.0f} MB |"
        )


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions and a smaller libcst.tool subset"
    )
    parser.add_argument(
        "--repeat", type=int, default=0, help="repetitions of each timed row (default 5, quick 3)"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-speed"))
    parser.add_argument(
        "--code", type=Path, default=REPO, help="the runner checkout to time (default: this one)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another runner checkout timed in the same alternation (its engine and CLI rows)",
    )
    parser.add_argument(
        "--full-libcst", action="store_true", help="run libcst.tool on the whole tree (minutes)"
    )
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument(
        "--plan-run",
        type=int,
        default=0,
        metavar="N",
        help="also time `runner run` of PLAN-001 on the demo, N runs a row (bench_run.py)",
    )
    parser.add_argument(
        "--tree-only",
        action="store_true",
        help="only the timed rows on the tree (e.g. for a --code baseline)",
    )
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-prefilter", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args.drive, not args.no_prefilter, args.write)
        return
    repeat = args.repeat or (3 if args.quick else 5)
    code = args.code.resolve()
    corpus = build(args.workdir, 20 if args.quick else 100)
    tree, injected = Path(str(corpus["tree"])), Path(str(corpus["injected"]))
    env = engine_env(code)
    files = sum(1 for _ in tree.rglob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in tree.rglob("*.py"))
    print(
        f"tree: {tree} ({files} files, {lines / 1e6:.2f} M lines); injected corpus: {injected} "
        f"({sum(1 for _ in injected.rglob('*.py'))} files, {corpus['sites']} injected sites)"
    )
    print(f"code timed: {code}; {repeat} alternating runs per row, median wall time; cores: {os.cpu_count()}")
    print(f"load average (1, 5, 15 min) at the start: {load_average()}")

    ruff = shutil.which("ruff") or str(Path(PYTHON).parent / "ruff")

    def runner_engine(target: Path, *extra: str, at: Path = code) -> Callable[[], dict[str, object]]:
        # This script drives the engine of the checkout on PYTHONPATH.
        return lambda: timed(
            [PYTHON, str(HERE / "bench_speed.py"), "--drive", str(target), *extra], env=engine_env(at)
        )

    def ruff_on(target: Path) -> Callable[[], dict[str, object]]:
        return lambda: timed([ruff, "check", "--no-cache", "--select", "F821", "-q", str(target)])

    def runner_cli(target: Path, at: Path = code) -> Callable[[], dict[str, object]]:
        command = [
            PYTHON,
            "-m",
            "runner",
            "codemod",
            "apply",
            "--json",
            ",".join(PLAN_001),
            "--dry-run",
            str(target),
        ]
        return lambda: timed(command, cwd=at, env=engine_env(at))

    ast_grep = shutil.which("ast-grep") or str(Path(PYTHON).parent / "ast-grep")
    commands: dict[str, Callable[[], dict[str, object]]] = {
        "runner engine, 3 codemods, one pass": runner_engine(tree),
    }
    probe = [
        PYTHON,
        "-m",
        "runner",
        "codemod",
        "apply",
        ",".join(PLAN_001),
        "--dry-run",
        str(HERE / "corpus.py"),
    ]
    several = timed(probe, cwd=code, env=env)["rc"] == 0  # the CLI takes several names
    if several:
        commands["runner codemod apply A,B,C (CLI)"] = runner_cli(tree)
    if args.baseline:
        baseline = args.baseline.resolve()
        commands["baseline: runner engine"] = runner_engine(tree, at=baseline)
        commands["baseline: runner codemod apply A,B,C (CLI)"] = runner_cli(tree, at=baseline)
    commands["ruff check --select F821"] = ruff_on(tree)
    torch_only: dict[str, Callable[[], dict[str, object]]] = {}
    if several:
        torch_only["runner codemod apply A,B,C (CLI), torch only"] = runner_cli(tree / "torch")
    torch_only["ruff check --select F821, torch only"] = ruff_on(tree / "torch")
    commands.update(torch_only)
    if Path(ast_grep).exists():
        commands[f"ast-grep run -p '{SIGMOID_PATTERN}'"] = lambda: timed(
            [ast_grep, "run", "-p", SIGMOID_PATTERN, "-l", "python", str(tree)]
        )
    rows = median_rows(commands, repeat)
    ruff_row = rows["ruff check --select F821"]
    ruff_seconds = float(str(ruff_row["seconds"]))
    tree_rows = {k: v for k, v in rows.items() if k not in torch_only}
    torch_rows = {k: v for k, v in rows.items() if k in torch_only}

    def print_tree_rows() -> None:
        print_rows(tree_rows, ruff_row, f"tree: torch + demo, {files} files")
        print_rows(torch_rows, torch_rows["ruff check --select F821, torch only"], "torch's tree alone")
        print(f"load average after the timed rows: {load_average()}")

    if args.tree_only:
        print_tree_rows()
        return

    # libcst.tool: one run per codemod, summed; on a copy (it writes in place).
    subset_note = "whole tree" if args.full_libcst else "subset"
    scratch = args.workdir / "libcst-run"
    shutil.rmtree(scratch, ignore_errors=True)
    if args.full_libcst:
        shutil.copytree(tree, scratch / "lib")
    else:
        take = 40 if args.quick else 150
        torch_files = sorted((tree / "torch").rglob("*.py"))[
            :: max(1, len(list((tree / "torch").rglob("*.py"))) // take)
        ]
        for path in torch_files:
            destination = scratch / "lib" / path.relative_to(tree)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
        shutil.copytree(tree / "ocr-project", scratch / "lib" / "ocr-project")
        shutil.copytree(injected, scratch / "lib" / "injected")
    shutil.copytree(scratch / "lib", scratch / "runner")
    shutil.copytree(scratch / "lib", scratch / "pristine")
    subset_files = sum(1 for _ in (scratch / "lib").rglob("*.py"))
    libcst_seconds, libcst_rss = 0.0, 0.0
    for name in PLAN_001:
        run = timed(
            [
                PYTHON,
                "-m",
                "libcst.tool",
                "codemod",
                "-x",
                CLASSES[name],
                "--jobs",
                str(os.cpu_count() or 1),
                "--no-format",
                "--hide-progress",
                "--hide-generated-warnings",
                str(scratch / "lib"),
            ],
            cwd=scratch,
            env=env,
        )
        libcst_seconds += float(str(run["seconds"]))
        libcst_rss = max(libcst_rss, float(str(run["rss_mb"])))
    on_subset = timed(
        [PYTHON, str(HERE / "bench_speed.py"), "--drive", str(scratch / "runner"), "--write"], env=env
    )
    differing = [
        str(p.relative_to(scratch / "lib"))
        for p in sorted((scratch / "lib").rglob("*.py"))
        if p.read_bytes() != (scratch / "runner" / p.relative_to(scratch / "lib")).read_bytes()
    ]
    changed_by_libcst = sum(
        1
        for p in (scratch / "lib").rglob("*.py")
        if p.read_bytes() != (scratch / "pristine" / p.relative_to(scratch / "lib")).read_bytes()
    )

    # The injected corpus: the pre-checks find every site (outcomes identical without them).
    with_checks = timed([PYTHON, str(HERE / "bench_speed.py"), "--drive", str(injected)], env=env)
    without = timed(
        [PYTHON, str(HERE / "bench_speed.py"), "--drive", str(injected), "--no-prefilter"], env=env
    )
    summary_with = json.loads(str(with_checks["stdout"]).strip().splitlines()[-1])
    summary_without = json.loads(str(without["stdout"]).strip().splitlines()[-1])

    engine_row = rows["runner engine, 3 codemods, one pass"]
    tree_summary = json.loads(str(engine_row["stdout"]).strip().splitlines()[-1])
    print_tree_rows()
    print()
    print("| one run each, on a subset | wall | x ruff (tree) | peak RSS |")
    print("|---|---|---|---|")
    print(
        f"| libcst.tool codemod, 3 codemods summed ({subset_note}: {subset_files} files, 1 run) | "
        f"{libcst_seconds:.2f} s | {libcst_seconds / ruff_seconds:.1f} | {libcst_rss:.0f} MB |"
    )
    print(
        f"| runner engine on the same {subset_note} (1 run) | {float(str(on_subset['seconds'])):.2f} s | "
        f"{float(str(on_subset['seconds'])) / ruff_seconds:.1f} | {float(str(on_subset['rss_mb'])):.0f} MB |"
    )
    print()
    print(f"runner on the tree: {json.dumps(tree_summary)}")
    if "runner codemod apply A,B,C (CLI)" in rows:
        message = json.loads(str(rows["runner codemod apply A,B,C (CLI)"]["stdout"])).get("message", "")
        print(f"runner CLI on the tree: {message}")
    print(
        f"identical bytes, runner vs libcst.tool ({subset_note}, {subset_files} files, "
        f"{changed_by_libcst} changed by libcst.tool): "
        + ("yes" if not differing else "NO: " + ", ".join(differing[:5]))
    )
    same = {k: v for k, v in summary_with.items() if k != "parsed"} == {
        k: v for k, v in summary_without.items() if k != "parsed"
    }
    print(f"injected corpus ({corpus['sites']} sites): with pre-checks {json.dumps(summary_with)}")
    print(f"injected corpus without pre-checks:            {json.dumps(summary_without)}")
    print(
        f"identical outcomes with and without pre-checks: {'yes' if same else 'NO'} "
        f"(with: {float(str(with_checks['seconds'])):.1f} s, without: {float(str(without['seconds'])):.1f} s)"
    )

    if args.plan_run:
        # Issue 11's last figure, in the same command: PLAN-001 on the demo, with and without
        # the kept import server (benchmarks/bench_run.py, the checkout timed here).
        print()
        bench_run = [sys.executable, str(Path(__file__).with_name("bench_run.py"))]
        subprocess.run(
            [*bench_run, "--runs", str(args.plan_run), "--keep-import-server"],
            env={**os.environ, "PYTHONPATH": str(code)},
            check=True,
        )
    if args.no_scaling:
        return
    print()
    print("| scaling | files | runner engine | ruff | runner / ruff | CPU runner / ruff |")
    print("|---|---|---|---|---|---|")
    for label, target in scaled_trees(args.workdir, tree, code).items():
        scaling = median_rows(
            {
                "runner": runner_engine(target),
                "ruff": ruff_on(target),
            },
            1 if args.quick else max(1, repeat // 2),
        )
        count = sum(1 for _ in target.rglob("*.py"))
        r, f = float(str(scaling["runner"]["seconds"])), float(str(scaling["ruff"]["seconds"]))
        memory = float(str(scaling["runner"]["rss_mb"]))
        cpu = float(str(scaling["runner"]["cpu"])) / float(str(scaling["ruff"]["cpu"]))
        print(f"| {label} | {count} | {r:.2f} s ({memory:.0f} MB) | {f:.2f} s | {r / f:.2f} | {cpu:.2f} |")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
