"""Codemod engine throughput on a large real tree (default: the installed torch package).

Prints, for every codemod alone and for all of them in one pass: files scanned, files
parsed (those that hold a needle), files changed/skipped/errored, and wall time; and,
as the reference point, the time to parse every file the way `libcst.tool codemod`
does before it looks at it.

    .venv/bin/python benchmarks/bench_codemods.py [TREE] [--limit N]

Nothing is written: the engine returns new bytes and this script only counts them.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import libcst as cst

from codemods import registry
from codemods.engine import CodemodCall, apply_codemods, iter_python_files

# Codemods whose defaults are not enough: the ARC plan's threshold change.
REQUIRED = {"replace-default": {"function": "soft_clamp_logits", "param": "threshold", "value": "50.0"}}


def _default_tree() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        sys.exit("torch is not installed; pass a TREE to scan")
    return Path(spec.origin).parent


def _run(files: list[tuple[Path, bytes]], calls: list[CodemodCall]) -> dict[str, float]:
    counts = {"parsed": 0.0, "changed": 0.0, "skipped": 0.0, "error": 0.0, "places": 0.0}
    start = time.perf_counter()
    for path, source in files:
        outcome = apply_codemods(source, calls, str(path))
        counts["parsed"] += outcome.parsed
        counts["places"] += len(outcome.changes)
        if outcome.status in counts:
            counts[outcome.status] += 1
    counts["seconds"] = time.perf_counter() - start
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tree", nargs="?", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="only the first N files")
    args = parser.parse_args()
    tree = args.tree or _default_tree()
    paths = list(iter_python_files(tree))
    if args.limit:
        paths = paths[: args.limit]
    files = [(p, p.read_bytes()) for p in paths]
    size = sum(len(s) for _, s in files) / 1e6
    print(f"tree: {tree}  files: {len(files)}  size: {size:.1f} MB")

    sample = files[: min(len(files), 300)]
    start = time.perf_counter()
    for _, source in sample:
        with contextlib.suppress(Exception):  # unparseable files cost their time too
            cst.parse_module(source)
    per_file = (time.perf_counter() - start) / max(len(sample), 1)
    print(
        f"reference: parsing every file costs {per_file * 1000:.1f} ms/file, "
        f"~{per_file * len(files):.1f} s for the tree (libcst.tool parses all of them)"
    )

    columns = ("parsed", "changed", "places", "skipped", "errors", "seconds")
    header = f"{'codemod':28} " + " ".join(f"{c:>8}" for c in columns)
    print(header)
    print("-" * len(header))
    every = [CodemodCall(cls, cls.resolve_options(REQUIRED.get(n, {}))) for n, cls in registry().items()]
    for call in every:
        c = _run(files, [call])
        print(
            f"{call.codemod.NAME:28} {c['parsed']:7.0f} {c['changed']:8.0f} {c['places']:7.0f} "
            f"{c['skipped']:8.0f} {c['error']:7.0f} {c['seconds']:8.2f}"
        )
    c = _run(files, every)
    print(
        f"{'all, one pass':28} {c['parsed']:7.0f} {c['changed']:8.0f} {c['places']:7.0f} "
        f"{c['skipped']:8.0f} {c['error']:7.0f} {c['seconds']:8.2f}"
    )
    print(f"files/second (all codemods, one pass): {len(files) / c['seconds']:.0f}")


if __name__ == "__main__":
    main()
