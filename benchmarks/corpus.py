"""Offline benchmark corpora: real torch sources, and copies of them with the hand-written
forms the codemods' fixtures cover injected between their top-level statements.

Nothing is downloaded: the sources come from the installed torch package.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

# Each snippet is inserted between top-level statements; {n} makes its names unique in the file.
# The forms: aliases, `from` imports, division/function/method reciprocals, commuted sums,
# positive and compound exponents, a Lightning validation_step with both chain orders and a
# multi-line chain, and a module-level `import wandb` used only inside functions.
SIGMOID_SNIPPET = """
import torch as _bench_T{n}
from torch import exp as _bench_e{n}, reciprocal as _bench_r{n}


def _bench_logistic_{n}(z, k, x, y):
    a = 1 / (1 + torch.exp(-z))
    b = torch.reciprocal(torch.exp(-z) + 1.0)
    c = (1 + torch.exp(-z)).reciprocal()
    d = 1 / (1 + _bench_T{n}.exp(z))
    e = 1.0 / (_bench_e{n}(-k * (x - y)) + 1)
    f = _bench_r{n}(1 + _bench_e{n}(x - y))
    return a, b, c, d, e, f
"""
SIGMOID_SITES = 6

DETACH_SNIPPET = """
import lightning.pytorch as _bench_pl{n}


class _BenchNet{n}(_bench_pl{n}.LightningModule):
    def validation_step(self, batch, batch_idx):
        pred = self(batch)
        self.log("val/a", pred.detach().cpu())
        self.log("val/b", pred.cpu().detach())
        self.log(
            "val/c",
            pred
            .detach()
            .cpu(),
        )
"""
DETACH_SITES = 3

WANDB_IMPORT = "\nimport wandb\n"
WANDB_SNIPPET = """

def _bench_report_{n}(values):
    wandb.log({{"bench/{n}": values}})
"""
WANDB_SITES = 1  # one file-level move per file


def torch_root() -> Path:
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        raise SystemExit("torch is not installed: the benchmark corpus is built from its sources")
    return Path(spec.origin).parent


def python_files(root: Path) -> Iterator[Path]:
    yield from sorted(p for p in root.rglob("*.py") if p.is_file())


def copy_python_tree(source: Path, target: Path) -> int:
    """Copy every ``*.py`` of ``source`` to ``target`` (same layout); the number copied."""
    count = 0
    for path in python_files(source):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        count += 1
    return count


def _boundaries(tree: ast.Module) -> list[int]:
    """Line numbers after which a top-level statement ends (past docstring and __future__)."""
    lines = []
    for node in tree.body:
        is_docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if (is_docstring or is_future) and not lines:
            continue
        assert node.end_lineno is not None
        lines.append(node.end_lineno)
    return lines


def _eligible(source: bytes) -> ast.Module | None:
    """Real files that take injections cleanly: parse, no star import, no wandb, UTF-8."""
    if b"import *" in source or b"wandb" in source or b"@" + b"generated" in source:
        return None
    try:
        text = source.decode("utf-8")
        tree = ast.parse(text)
    except (UnicodeDecodeError, SyntaxError, ValueError):
        return None
    if "\r" in text or len(tree.body) < 4:
        return None
    return tree


def inject(source: bytes, first: int, per_file: int) -> tuple[bytes, int, int]:
    """``source`` with ``per_file`` snippet groups between its top-level statements.

    Returns the new bytes, the next free snippet number, and the number of sites injected.
    """
    tree = _eligible(source)
    if tree is None:
        return source, first, 0
    lines = source.decode("utf-8").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    boundaries = _boundaries(tree)
    step = max(1, len(boundaries) // per_file)
    chosen = boundaries[::step][:per_file]
    number, sites = first, 0
    inserts: dict[int, str] = {}
    for index, line in enumerate(chosen):
        parts = [SIGMOID_SNIPPET.format(n=number), DETACH_SNIPPET.format(n=number)]
        sites += SIGMOID_SITES + DETACH_SITES
        if index == 0:
            parts.insert(0, WANDB_IMPORT)
            sites += WANDB_SITES
        parts.append(WANDB_SNIPPET.format(n=number))
        inserts[line] = "".join(parts) + "\n"
        number += 1
    out = []
    for lineno, text in enumerate(lines, start=1):
        out.append(text)
        if lineno in inserts:
            out.append(inserts[lineno])
    return "".join(out).encode("utf-8"), number, sites


def build_injected(target: Path, files: int, per_file: int = 2, max_bytes: int = 12_000) -> int:
    """Copies of ``files`` small real torch files with injections, under ``target``; the
    number of sites injected."""
    root = torch_root()
    number, sites, written = 0, 0, 0
    for path in python_files(root):
        if written >= files:
            break
        source = path.read_bytes()
        if path.name == "__init__.py" or not 2_000 <= len(source) <= max_bytes:
            continue
        new, number, added = inject(source, number, per_file)
        if not added:
            continue
        destination = target / path.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(new)
        sites += added
        written += 1
    return sites
