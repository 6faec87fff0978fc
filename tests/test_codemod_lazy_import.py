"""lazy-import beyond the fixture pairs: options, needles, and running the rewritten code."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import libcst as cst
import pytest

from codemods.analysis.lazy_import_plan import LazyImportPlanner
from codemods.commands.lazy_import import LazyImport
from codemods.engine import CodemodCall, apply_codemods

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "codemods" / "lazy-import"


def _run(source: bytes, path: str = "mod.py", **options: object) -> Any:
    call = CodemodCall(LazyImport, LazyImport.resolve_options(options))
    return apply_codemods(source, [call], path)


def test_needles_follow_the_module_option() -> None:
    assert LazyImport.needles(LazyImport.resolve_options({})) == (b"wandb",)
    assert LazyImport.needles(LazyImport.resolve_options({"module": "numpy"})) == (b"numpy",)
    # A file that never names the module is not parsed at all.
    outcome = _run(b"import wandb\ndef f():\n    wandb.log()\n", module="numpy")
    assert outcome.status == "unchanged" and not outcome.parsed


@pytest.mark.parametrize("bad", ["", "numpy-x", "1np", "a..b", "np "])
def test_module_option_must_be_a_dotted_name(bad: str) -> None:
    with pytest.raises(ValueError, match="dotted module name"):
        LazyImport.needles({"module": bad})


def test_package_init_is_skipped() -> None:
    source = b"import wandb\n\n\ndef log(x):\n    wandb.log(x)\n"
    assert _run(source, "pkg/mod.py").status == "changed"
    outcome = _run(source, "pkg/__init__.py")
    assert outcome.after == source
    assert any("__init__.py" in s.reason for s in outcome.skips)


def test_dotted_module_option() -> None:
    source = b"import torch.nn as nn\nimport torch\n\n\ndef f():\n    return nn.ReLU(), torch\n"
    outcome = _run(source, module="torch.nn")
    # ``import torch`` is another module: only ``torch.nn`` moves.
    assert outcome.after == (
        b"import torch\n\n\ndef f():\n    import torch.nn as nn\n    return nn.ReLU(), torch\n"
    )


def _fake_wandb() -> types.ModuleType:
    fake = types.ModuleType("wandb")
    for name in ("log", "init", "finish", "Image", "Table", "Artifact", "save", "util"):
        setattr(fake, name, mock.MagicMock(name=name))
    fake.run = "the-run"  # type: ignore[attr-defined]
    return fake


@pytest.fixture
def no_wandb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``import wandb`` fails (a None entry in sys.modules makes it raise ImportError)."""
    monkeypatch.setitem(sys.modules, "wandb", None)
    yield


def _exec(case: str) -> dict[str, Any]:
    """The rewritten fixture, executed as a module."""
    source = (FIXTURES / f"{case}.in.py").read_bytes()
    outcome = _run(source, f"{case}.py")
    assert outcome.status == "changed", outcome.reason
    namespace: dict[str, Any] = {"__name__": f"lazy_fixture_{case}"}
    exec(compile(outcome.after, f"{case}.py", "exec"), namespace)
    return namespace


@pytest.mark.parametrize(
    "case",
    [
        "alias_import",
        "from_import",
        "nested_scopes",
        "shadowed_by_param",
        "one_line_body",
        "multi_name_import",
        "semicolon_line",
        "async_method",
        "crlf_line_endings",
        "latin1_coding",
        "type_checking_block",
    ],
)
def test_rewritten_module_imports_without_wandb(case: str, no_wandb: None) -> None:
    _exec(case)  # would raise ImportError if anything still imported wandb at import time


def test_rewritten_functions_import_wandb_when_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)
    ns = _exec("nested_scopes")
    fake = _fake_wandb()
    fake.util.keys.side_effect = lambda row: list(row)
    monkeypatch.setitem(sys.modules, "wandb", fake)
    keys, callback, table = ns["outer"]([{"b": 1, "a": 2}])
    assert keys == ["a", "b"]
    fake.log.assert_called_once_with({"b": 1, "a": 2})
    callback()  # the lambda reads the outer function's local through the closure
    fake.finish.assert_called_once_with()
    assert table.columns is fake.Table
    table().add({"x": 1})  # a method of a class nested in the function
    fake.Table.assert_called_with(data=[{"x": 1}])

    ns = _exec("shadowed_by_param")
    assert ns["uses_module"]() == "the-run"
    assert ns["takes_param"](types.SimpleNamespace(run=7)) == 7
    with pytest.raises(UnboundLocalError):
        ns["assigns_after_use"]()  # as before the rewrite

    ns = _exec("one_line_body")
    assert ns["run"]() == "the-run"
    ns["doc"]()
    assert ns["doc"].__doc__ == "Finish the run."
    fake.finish.assert_called_with()


def test_skipped_file_reports_every_reason_once() -> None:
    outcome = _run((FIXTURES / "module_level_use.in.py").read_bytes())
    assert outcome.status == "unchanged"
    assert [s.line for s in outcome.skips] == [3]


def test_self_check_refuses_a_plan_that_leaves_a_use_without_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Simulate the motivating bug (a function left without its import): the file is skipped."""
    monkeypatch.setattr(LazyImportPlanner, "_statements", lambda self, bindings, names: [])
    source = (FIXTURES / "train_function.in.py").read_bytes()
    outcome = _run(source)
    assert outcome.after == source and not outcome.changes
    assert any("self-check failed: after the move 3 use(s) of wandb" in s.reason for s in outcome.skips)


def _plan(source: str, filename: str = "pkg/train.py") -> LazyImportPlanner:
    """The planner alone on ``source``: what would move where, before any rewrite."""
    module = cst.parse_module(source)
    planner = LazyImportPlanner(LazyImportPlanner.context_for(module, filename), "wandb")
    module.visit(planner)
    return planner


def test_planner_puts_the_import_in_each_outermost_user() -> None:
    planner = _plan(
        "import os, wandb\n\n\ndef train():\n    def inner():\n        wandb.log({})\n    inner()\n\n\n"
        "def idle():\n    return os.sep\n"
    )
    assert planner.refusal is None and planner.moved == ["wandb"]
    assert [cst.ensure_type(f, cst.FunctionDef).name.value for f in planner.inserts] == ["train"]
    [statements] = planner.inserts.values()
    assert [cst.Module([]).code_for_node(s) for s in statements] == ["import wandb"]
    [(statement, indexes)] = planner.dropped.items()
    assert isinstance(statement, cst.Import) and indexes == {1}


def test_planner_refuses_with_the_node_and_reason() -> None:
    planner = _plan("import wandb\n\nRUN = wandb.init()\n")
    assert planner.refusal is not None
    node, reason = planner.refusal
    assert planner.line_of(node) == 3 and "used at import time on line 3" in reason
    assert not planner.inserts and not planner.dropped


def test_planner_ignores_files_without_a_module_level_import() -> None:
    planner = _plan("def f():\n    import wandb\n    wandb.log({})\n")
    assert planner.refusal is None and planner.moved == [] and not planner.inserts
