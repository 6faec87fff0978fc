"""The staged pre-checks lose nothing: outcomes are identical with and without them.

Every fixture case of every codemod, a corpus of real torch files with the fixtures' forms
injected between their statements, and spellings chosen to slip past a careless regular
expression (comments, line breaks, aliases, strings) give the same status, bytes, changes,
skips and reasons either way.
"""

from __future__ import annotations

import json
from pathlib import Path

import libcst as cst
import pytest

from benchmarks.corpus import DETACH_SITES, SIGMOID_SITES, WANDB_SITES, build_injected
from codemods import registry
from codemods.engine import CodemodCall, FileOutcome, apply_codemods
from codemods.prefilters import prefilter_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "codemods"
CASES = sorted(FIXTURES.glob("*/*.in.py"))
PLAN_001 = ("reciprocal-exp-to-sigmoid", "remove-detach-cpu", "lazy-import")


def _call(name: str, options: dict[str, object] | None = None) -> CodemodCall:
    codemod = registry()[name]
    return CodemodCall(codemod, codemod.resolve_options(options or {}))


def _plan_001() -> list[CodemodCall]:
    return [_call(name) for name in PLAN_001]


def _facts(outcome: FileOutcome) -> tuple[object, ...]:
    return (outcome.status, outcome.after, outcome.changes, outcome.skips, outcome.reason)


def _assert_identical(source: bytes, calls: list[CodemodCall], path: str) -> FileOutcome:
    filtered = apply_codemods(source, calls, path)
    full = apply_codemods(source, calls, path, prefilter=False)
    assert _facts(filtered) == _facts(full)
    return filtered


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.parent.name}/{c.name.removesuffix('.in.py')}")
def test_fixture_case_identical_with_and_without_prefilters(case: Path) -> None:
    options_file = case.with_name(case.name.replace(".in.py", ".options.json"))
    options = json.loads(options_file.read_text()) if options_file.exists() else {}
    _assert_identical(case.read_bytes(), [_call(case.parent.name, options)], str(case))


def test_fixture_cases_all_three_codemods_in_one_pass_identical() -> None:
    for case in CASES:
        if case.parent.name in PLAN_001:
            _assert_identical(case.read_bytes(), _plan_001(), str(case))


def test_injected_torch_corpus_identical_and_every_site_rewritten(tmp_path: Path) -> None:
    sites = build_injected(tmp_path, files=3, per_file=1)
    files = sorted(tmp_path.rglob("*.py"))
    assert len(files) == 3 and sites == 3 * (SIGMOID_SITES + DETACH_SITES + WANDB_SITES)
    changes = 0
    for path in files:
        outcome = _assert_identical(path.read_bytes(), _plan_001(), str(path))
        assert outcome.status == "changed", outcome.reason
        assert not outcome.skips, outcome.skips
        changes += len(outcome.changes)
        # Run the rewritten module's logistic function: it is torch.sigmoid now.
        assert b"_bench_logistic_0" not in outcome.after or b"sigmoid" in outcome.after
    # lazy-import reports one change per function that receives the import.
    assert changes >= 3 * (SIGMOID_SITES + DETACH_SITES)


TRICKY = {
    "comment between 1 and +": b"import torch\ny = (1  # one\n     + torch.exp(-x))\nz = 1 / y\n"
    b"w = 1 / (1  # one\n     + torch.exp(-x))\n",
    "line break in the attribute": b"import torch\nw = 1 / (1 + (torch\n    .exp)(-x))\n",
    "commuted sum after a multi-line call": b"import torch\nw = 1 / (torch.exp(\n    -x  # neg\n) + 1)\n",
    "from import alias": b"from torch import exp as e\nw = 1 / (1 + e(-x))\n",
    "import alias": b"import torch as T\nw = 1 / (T.exp(-x) + 1.0)\n",
    "exponent spelled 1e0": b"import torch\nw = 1e0 / (1e+0 + torch.exp(-x))\n",
    "hex one": b"import torch\nw = 0x1 / (0x1 + torch.exp(-x))\n",
    "keyword argument": b"import torch\nw = torch.reciprocal(input=1 + torch.exp(-x))\n",
    "in an f-string": b'import torch\nprint(f"{1 / (1 + torch.exp(-x))}")\n',
    "after a string with quotes": b'import torch\ns = "a\\"b#" \'c\'\nw = 1 / (1 + torch.exp(-x))\n',
    "ambiguous name (a skip)": b"import torch\nif c:\n    from torch import exp\nelse:\n"
    b"    from numpy import exp\nw = 1 / (1 + exp(-x))\n",
    "method form, parenthesized": b"import torch\nw = ((1 + (torch.exp(-x)))).reciprocal()\n",
    "detach with a comment": b"import lightning as L\nclass M(L.LightningModule):\n"
    b"    def validation_step(self, b, i):\n"
    b"        self.log('v', (b  # in\n    .detach()  # x\n    ).cpu())\n",
    "cpu then detach": b"import lightning as L\nclass M(L.LightningModule):\n"
    b"    def validation_step(self, b, i):\n        self.log('v', b.cpu(\n).detach())\n",
    "wandb after a continuation": b"import os, \\\n    wandb\ndef f():\n    wandb.log({})\n",
    "wandb imported in a class body": b"class A:\n    import wandb\n",
    "wandb in try/except": b"try:\n    import wandb\nexcept ImportError:\n    wandb = None\n"
    b"def f():\n    wandb.log({})\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_spellings_identical_and_reach_the_codemod(name: str) -> None:
    source = TRICKY[name]
    outcome = _assert_identical(source, _plan_001(), "tricky.py")
    assert outcome.changes or outcome.skips, "each spelling is one the codemods act on"


@pytest.mark.parametrize(
    "source",
    [
        b"import torch.nn as nn\nimport torch\n\n\ndef f():\n    return nn.ReLU(), torch\n",
        b"from torch.nn import (\n    ReLU,\n)\n\n\ndef f():\n    return ReLU()\n",
        b"import torch.nn.functional\n\n\ndef f():\n    return torch.nn.functional.relu\n",
    ],
)
def test_dotted_module_option_identical(source: bytes) -> None:
    outcome = _assert_identical(source, [_call("lazy-import", {"module": "torch.nn"})], "dotted.py")
    assert outcome.changes or outcome.skips


NOT_CANDIDATES = {
    "numpy exp": b"import numpy as np\nw = 1 / (1 + np.exp(-x))\n",
    "docstring formula": b'"""sigmoid(x) = 1 / (1 + exp(-x))"""\nimport torch\ny = torch.exp(x)\n',
    "comment formula": b"import torch\n# 1 / (1 + torch.exp(-x))\ny = torch.exp(x) * 2\n",
    "detach outside validation_step": b"class M:\n    def training_step(self, b):\n"
    b"        return b.detach().cpu()\n",
    "wandb imported lazily already": b"def f():\n    import wandb\n    wandb.log({})\n",
}


@pytest.mark.parametrize("name", sorted(NOT_CANDIDATES))
def test_files_the_prechecks_clear_are_never_parsed_by_libcst(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = NOT_CANDIDATES[name]
    full = apply_codemods(source, _plan_001(), "plain.py", prefilter=False)
    assert full.status == "unchanged" and not full.changes and not full.skips

    def fail(*_: object) -> cst.Module:
        raise AssertionError("LibCST parsed a file the pre-checks should clear")

    monkeypatch.setattr(cst, "parse_module", fail)
    outcome = apply_codemods(source, _plan_001(), "plain.py")
    assert outcome.status == "unchanged" and not outcome.parsed


def test_unknown_codemod_names_pass_every_file() -> None:
    prefilter = prefilter_for("no-such-codemod")
    assert prefilter.shape(b"", {})
