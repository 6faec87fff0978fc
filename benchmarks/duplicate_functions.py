"""Find identical module-level functions in a real tree and try ``consolidate-functions`` on them.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/duplicate_functions.py [--package torch] [--show 5]

Every module-level ``def`` of every ``.py`` file under ``site-packages/<package>`` is
normalized as the codemod normalizes it (``codemods.analysis.duplicates.normalize``:
docstrings, comments, formatting and decorators aside) and hashed with its decorators;
definitions of the same name with the same hash in two or more files form a group. Each
group is then given to the codemod in memory (its gather step, then every file's
transform, re-parse and idempotence check included; the first file is the target) and
the outcome counted: consolidated, or refused with the reason's kind. Nothing is written.
"""

from __future__ import annotations

import argparse
import ast
import collections
import hashlib
import re
import sys
import sysconfig
import time
import warnings
from pathlib import Path

from codemods import registry
from codemods.analysis.duplicates import normalize_node
from codemods.engine import CodemodCall, apply_codemods, gather_call

_KINDS = (
    ("differ", "bodies differ (only their hash matched: never expected)"),
    ("decorator", "a decorator that may act per copy, or decorators that differ"),
    ("module global", "uses a module global the target lacks"),
    ("is an import of", "a free name bound differently (another import or statement)"),
    ("bound several times", "a free name bound more than once"),
    ("circular import", "the target imports a file of the group"),
    ("bound more than once", "the function's name is bound more than once in a file"),
    ("something other than", "a conditional definition"),
    ("global", "a `global` statement"),
    ("reads `", "reads __name__, globals() or an undefined name"),
    ("rebinds", "the target rebinds a builtin it uses"),
    ("not an importable", "a file that is not an importable module"),
)


def definitions(root: Path, package: str) -> dict[tuple[str, str], list[str]]:
    """(name, hash of the normalized def and its decorators) -> the files defining it."""
    groups: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for path in sorted((root / package).rglob("*.py")):
        try:
            source = path.read_bytes()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source)
        except (SyntaxError, ValueError, OSError):
            continue
        relative = path.relative_to(root).as_posix()
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            normalized, decorators = normalize_node(node)
            digest = hashlib.sha1(f"{decorators}{ast.dump(normalized)}".encode()).hexdigest()
            if relative not in groups[(node.name, digest)]:
                groups[(node.name, digest)].append(relative)
    return {key: files for key, files in groups.items() if len(files) > 1}


def kind_of(refusal: str) -> str:
    for needle, kind in _KINDS:
        if needle in refusal:
            return kind
    return re.sub(r"^\S+:\d*:? ?", "", refusal.splitlines()[0])[:80]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="torch")
    parser.add_argument("--site-packages", default=sysconfig.get_paths()["purelib"])
    parser.add_argument("--show", type=int, default=5, help="groups to print of each outcome")
    parser.add_argument(
        "--max-bytes", type=int, default=0, help="leave out groups with a file larger than this (0: none)"
    )
    args = parser.parse_args()
    root = Path(args.site_packages)
    started = time.perf_counter()
    groups = definitions(root, args.package)
    found = time.perf_counter() - started
    codemod = registry()["consolidate-functions"]
    outcomes: collections.Counter[str] = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)
    files_changed = 0
    print(f"{len(groups)} groups found in {found:.1f} s; consolidating", file=sys.stderr, flush=True)
    for index, ((name, _), files) in enumerate(sorted(groups.items())):
        if index % 20 == 0:
            print(f"  group {index} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
        if args.max_bytes and any((root / f).stat().st_size > args.max_bytes for f in files):
            outcomes["left out: a file over --max-bytes"] += 1
            continue
        target = files[0]
        call = CodemodCall(codemod, codemod.resolve_options({"function": name, "target": target}))
        gathered = gather_call(call, files, lambda f: (root / f).read_bytes(), str(root))
        assert gathered.gathered is not None
        shown = f"{name}: {', '.join(files)}"
        print(f"  {shown}", file=sys.stderr, flush=True)
        if gathered.gathered.refusal:
            kind = kind_of(gathered.gathered.refusal)
            outcomes[f"refused: {kind}"] += 1
            examples[kind].append(f"{shown}\n      {gathered.gathered.refusal.splitlines()[0]}")
            continue
        results = [apply_codemods((root / f).read_bytes(), [gathered], f) for f in files]
        if any(r.status == "error" for r in results):
            outcomes["error"] += 1
            examples["error"] += [f"{shown}: {r.reason}" for r in results if r.status == "error"]
            continue
        changed = sum(r.status == "changed" for r in results)
        files_changed += changed
        outcomes["consolidated" if changed else "nothing to do"] += 1
        examples["consolidated"].append(shown)
    total = time.perf_counter() - started
    print(
        f"{args.package}: {len(groups)} groups of identical module-level functions "
        f"({sum(len(f) for f in groups.values())} definitions), found in {found:.1f} s"
    )
    for outcome, count in outcomes.most_common():
        print(f"  {count:4d}  {outcome}")
    print(f"  files the consolidations change: {files_changed}; total {total:.1f} s")
    for kind, shown in sorted(examples.items()):
        print(f"\n{kind} (first {args.show} of {len(shown)}):")
        for line in shown[: args.show]:
            print(f"    {line}")


if __name__ == "__main__":
    sys.exit(main())
