"""Before/after fixture pairs, TorchFix style: adding a case means adding files.

``fixtures/codemods/<codemod-name>/<case>.in.py`` is the input. Beside it:

* ``<case>.out.py``: the expected output; without it the file must not change;
* ``<case>.options.json`` (optional): the codemod's options;
* ``<case>.skips.txt``: the exact snapshot of what was skipped, ``LINE: reason`` per
  skip in report order (``file: reason`` for a whole file left alone); a case without it
  must report no skip. Regenerate the snapshots with ``UPDATE_SNAPSHOTS=1 pytest ...``
  and review the diff before committing.

A multi-file codemod's case is a directory tree, named the same way: ``<case>.in/`` (the
files, module names starting at it), ``<case>.out/`` (without it no file may change),
``<case>.options.json``, ``<case>.skips.txt`` (``PATH:LINE: reason``), and optionally
``<case>.calls.json``: ``{"modules": [...], "calls": [[args...], ...]}``, the function
is then called through every module before and after, with equal results.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codemods import registry
from codemods.engine import CodemodCall, FileOutcome, apply_codemods, gather_call

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "codemods"
CASES = sorted(FIXTURES.glob("*/*.in.py"))
TREE_CASES = sorted(p for p in FIXTURES.glob("*/*.in") if p.is_dir())
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"


def _call_for(case: Path) -> CodemodCall:
    codemod = registry()[case.parent.name]
    options_file = case.with_name(
        case.name.replace(".in.py", ".options.json").replace(".in", ".options.json")
    )
    options = json.loads(options_file.read_text()) if options_file.exists() else {}
    return CodemodCall(codemod, codemod.resolve_options(options))


def _id(case: Path) -> str:
    return f"{case.parent.name}/{case.name.removesuffix('.in.py')}"


def test_every_fixture_dir_names_a_codemod() -> None:
    names = set(registry())
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} <= names


def test_every_codemod_has_fixtures() -> None:
    covered = {case.parent.name for case in [*CASES, *TREE_CASES]}
    assert set(registry()) <= covered


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_fixture(case: Path) -> None:
    call = _call_for(case)
    source = case.read_bytes()
    expected_file = case.with_name(case.name.replace(".in.py", ".out.py"))
    skips_file = case.with_name(case.name.replace(".in.py", ".skips.txt"))

    outcome = apply_codemods(source, [call], str(case))

    assert outcome.status != "error", outcome.reason
    if expected_file.exists():
        expected = expected_file.read_bytes()
        # Compare text first for a readable diff, then bytes so CRLF/encoding count.
        assert outcome.after.decode("utf-8", "replace") == expected.decode("utf-8", "replace")
        assert outcome.after == expected
        assert outcome.changes, "a changing case must report its changes"
    else:
        assert outcome.after == source, "a case without .out.py must not change"
        assert not outcome.changes
    lines = [f"{s.line}: {s.reason}" for s in outcome.skips]
    if outcome.reason:
        lines.append(f"file: {outcome.reason}")
    _assert_snapshot(skips_file, "".join(f"{line}\n" for line in lines))


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_fixture_output_is_a_fixed_point(case: Path) -> None:
    """Applying the codemod to its own output changes nothing."""
    expected_file = case.with_name(case.name.replace(".in.py", ".out.py"))
    target = expected_file if expected_file.exists() else case
    compile(target.read_bytes(), str(target), "exec", dont_inherit=True)  # the output parses
    outcome = apply_codemods(target.read_bytes(), [_call_for(case)], str(target))
    assert outcome.status != "error", outcome.reason
    assert outcome.after == target.read_bytes()
    assert not outcome.changes


# -- multi-file cases -----------------------------------------------------------------


def _sibling(case: Path, suffix: str) -> Path:
    return case.with_name(case.name.removesuffix(".in") + suffix)


def _tree_id(case: Path) -> str:
    return f"{case.parent.name}/{case.name.removesuffix('.in')}"


def _python_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))


def _apply_tree(root: Path, call: CodemodCall) -> dict[str, FileOutcome]:
    """The codemod on every file of the tree: its gather step, then each file."""
    files = _python_files(root)

    def read(relative: str) -> bytes | None:
        path = root / relative
        return path.read_bytes() if path.is_file() else None

    gathered = gather_call(call, files, read, str(root))
    return {f: apply_codemods(root.joinpath(f).read_bytes(), [gathered], f) for f in files}


@pytest.mark.parametrize("case", TREE_CASES, ids=_tree_id)
def test_tree_fixture(case: Path) -> None:
    outcomes = _apply_tree(case, _call_for(case))
    expected_dir = _sibling(case, ".out")
    if expected_dir.exists():
        assert _python_files(expected_dir) == sorted(outcomes)
    for relative, outcome in outcomes.items():
        assert outcome.status != "error", f"{relative}: {outcome.reason}"
        before = case.joinpath(relative).read_bytes()
        expected = expected_dir.joinpath(relative).read_bytes() if expected_dir.exists() else before
        assert outcome.after.decode() == expected.decode(), relative
        assert outcome.after == expected
        compile(outcome.after, relative, "exec", dont_inherit=True)
    changes = [c for o in outcomes.values() for c in o.changes]
    assert bool(changes) == expected_dir.exists(), "a changing case reports changes, the others none"
    skips_file = _sibling(case, ".skips.txt")
    _assert_snapshot(
        skips_file, "".join(f"{f}:{s.line}: {s.reason}\n" for f, o in outcomes.items() for s in o.skips)
    )


@pytest.mark.parametrize("case", TREE_CASES, ids=_tree_id)
def test_tree_fixture_output_is_a_fixed_point(case: Path) -> None:
    """A second run over the result (or over a refused case) changes nothing."""
    expected_dir = _sibling(case, ".out")
    root = expected_dir if expected_dir.exists() else case
    outcomes = _apply_tree(root, _call_for(case))
    for relative, outcome in outcomes.items():
        assert outcome.status != "error", outcome.reason
        assert outcome.after == root.joinpath(relative).read_bytes()
        assert not outcome.changes
    if expected_dir.exists():
        assert not [s for o in outcomes.values() for s in o.skips], "consolidated code is not refused"


_CALL_EVERY_PATH = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
spec = json.loads(sys.argv[2])
results, objects = {}, []
for name in spec["modules"]:
    module = importlib.import_module(name)
    if hasattr(module, spec["function"]):
        function = getattr(module, spec["function"])
        objects.append(function)
        results[name] = [repr(function(*args)) for args in spec["calls"]]
print(json.dumps({"results": results, "one_object": all(f is objects[0] for f in objects)}))
"""


def _call_every_path(root: Path, spec: dict[str, object]) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-I", "-B", "-c", _CALL_EVERY_PATH, str(root), json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize("case", [c for c in TREE_CASES if _sibling(c, ".calls.json").exists()], ids=_tree_id)
def test_tree_fixture_runs_the_same(case: Path, tmp_path: Path) -> None:
    """Every old import path still gives the function, now one object, with the results the
    copies gave before (the trees are imported and called for real)."""
    spec = {
        **json.loads(_sibling(case, ".calls.json").read_text()),
        "function": _call_for(case).options["function"],
    }
    before_root, after_root = tmp_path / "before", tmp_path / "after"
    shutil.copytree(case, before_root)
    shutil.copytree(case, after_root)
    for relative, outcome in _apply_tree(case, _call_for(case)).items():
        after_root.joinpath(relative).write_bytes(outcome.after)
    before, after = _call_every_path(before_root, spec), _call_every_path(after_root, spec)
    assert isinstance(before["results"], dict) and isinstance(after["results"], dict)
    assert sorted(after["results"]) == sorted(spec["modules"])  # every old path imports it
    expected = next(iter(before["results"].values()))
    assert all(results == expected for results in before["results"].values())
    assert all(results == expected for results in after["results"].values())
    assert after["one_object"] is True


def _assert_snapshot(skips_file: Path, snapshot: str) -> None:
    """The skips equal the ``.skips.txt`` snapshot (none: no file); UPDATE_SNAPSHOTS=1 rewrites it."""
    if UPDATE:
        if snapshot:
            skips_file.write_text(snapshot, encoding="utf-8")
        else:
            skips_file.unlink(missing_ok=True)
    recorded = skips_file.read_text(encoding="utf-8") if skips_file.exists() else ""
    assert snapshot == recorded, f"skips differ from {skips_file.name} (UPDATE_SNAPSHOTS=1 to rewrite)"
