"""The declarations (no LibCST) and the LibCST commands describe the same codemods, and a
tree whose files the cheap stages clear is run without ever importing LibCST."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codemods import catalog, registry
from codemods.contract import CodemodDeclaration

REPO = Path(__file__).resolve().parent.parent
PLAN_001 = "reciprocal-exp-to-sigmoid,remove-detach-cpu,lazy-import"


def test_every_command_inherits_its_declaration() -> None:
    declared, commands = catalog(), registry()
    assert set(declared) == set(commands)
    for name, declaration in declared.items():
        command = commands[name]
        assert issubclass(command, declaration)
        assert declaration.load() is command
        assert command.load() is command
        assert (command.NAME, command.DESCRIPTION, command.OPTIONS) == (
            declaration.NAME,
            declaration.DESCRIPTION,
            declaration.OPTIONS,
        )


def test_a_declaration_must_name_a_command_that_inherits_it() -> None:
    class Stray(CodemodDeclaration):
        NAME = "stray"
        COMMAND = "codemods.commands.lazy_import:LazyImport"

    with pytest.raises(TypeError, match="does not declare itself as"):
        Stray.load()


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("lazy-import", {"module": "not a module"}, "dotted module name"),
        ("reciprocal-exp-to-sigmoid", {"clamp": "-1"}, "finite number >= 0"),
        ("replace-calls", {"old": "a.f", "new": "a.f"}, "the same callable"),
        ("clamp-inputs", {"min": "2", "max": "1"}, "min <= max"),
        ("replace-default", {"function": "f", "param": "x", "value": "(1,"}, "option 'value'"),
    ],
)
def test_declarations_check_options_as_the_commands_do(
    name: str, options: dict[str, str], message: str
) -> None:
    for codemod in (catalog()[name], registry()[name]):
        with pytest.raises(ValueError, match=message):
            codemod.resolve_options(options)


def _fresh(code: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def test_a_tree_without_candidates_never_imports_libcst(tmp_path: Path) -> None:
    # Needles present, but no shape the codemods act on: cleared before LibCST.
    for index in range(120):
        (tmp_path / f"m{index:03}.py").write_text(f"import torch\n\ny = torch.exp({index}).detach()\n")
    code = (
        "import sys, json\n"
        "from runner.cli import main\n"
        f"main(['codemod', 'apply', '--json', {PLAN_001!r}, '--dry-run', {str(tmp_path)!r}])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'libcst')))\n"
    )
    out = _fresh(code, tmp_path)
    assert json.loads(out.splitlines()[-1]) == []
    assert "0 file(s) changed of 120 scanned (0 parsed)" in out


def test_a_candidate_imports_libcst_only_in_a_worker(tmp_path: Path) -> None:
    logistic = "import torch\n\n\ndef f(x):\n    return 1 / (1 + torch.exp(-x))\n"
    for index in range(120):
        (tmp_path / f"m{index:03}.py").write_text(logistic if index == 60 else "x = 1\n")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from codemods import catalog\n"
        "from codemods.engine import CodemodCall, iter_python_files, run_codemods\n"
        "d = catalog()['reciprocal-exp-to-sigmoid']\n"
        f"paths = list(iter_python_files(Path({str(tmp_path)!r})))\n"
        "outcomes = list(run_codemods(paths, [CodemodCall(d, d.resolve_options({}))], jobs=2))\n"
        "print([o.status for o in outcomes].count('changed'), 'libcst' in sys.modules)\n"
    )
    assert _fresh(code, tmp_path).split() == ["1", "False"]


def test_a_dry_run_with_a_diff_imports_no_blueprint_model_and_no_git(tmp_path: Path) -> None:
    logistic = "import torch\n\n\ndef f(x):\n    return 1 / (1 + torch.exp(-x))\n"
    for index in range(120):
        (tmp_path / f"m{index:03}.py").write_text(logistic if index == 3 else "x = 1\n")
    code = (
        "import sys, json\n"
        "from runner.cli import main\n"
        f"main(['codemod', 'apply', '--json', {PLAN_001!r}, '--dry-run', {str(tmp_path)!r}])\n"
        "heavy = ('git', 'yaml', 'runner.blueprint.model')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    out = _fresh(code, tmp_path)
    assert json.loads(out.splitlines()[-1]) == []
    assert "+    return torch.sigmoid(x)" in json.loads("\n".join(out.splitlines()[:-1]))["data"]["diff"]
