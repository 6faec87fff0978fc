"""The remove-detach-cpu analysis on its own: decisions, before any rewrite."""

from __future__ import annotations

import libcst as cst

from codemods.analysis.detach_flow import Decision, DetachCpuAnalysis

HEADER = "import lightning as L\nimport numpy as np\n\n\nclass Net(L.LightningModule):\n"


def decide(body: str, method: str = "validation_step", header: str = HEADER) -> dict[int, Decision]:
    """Each pair's decision by line, for ``body`` (the class body) under ``header``."""
    module = cst.parse_module(header + body)
    context = DetachCpuAnalysis.context_for(module)
    analysis = DetachCpuAnalysis(context, method)
    module.visit(analysis)
    return {analysis.line_of(call): decision for call, decision in analysis.decisions.items()}


def test_a_logged_value_may_lose_its_pair() -> None:
    decisions = decide(
        "    def validation_step(self, batch, batch_idx):\n"
        "        loss = self(batch)\n"
        "        self.log('val/loss', loss.detach().cpu())\n"
    )
    assert list(decisions) == [8]
    assert decisions[8].skip is None and not decisions[8].keep_detach
    assert decisions[8].chain == ".detach().cpu()"


def test_a_value_flowing_into_numpy_keeps_it() -> None:
    decisions = decide(
        "    def validation_step(self, batch, batch_idx):\n"
        "        probs = self(batch).cpu().detach()\n"
        "        boxes = probs\n"
        "        return np.asarray(boxes)\n"
    )
    skip = decisions[7].skip
    assert skip is not None and skip.startswith(".cpu().detach() kept:")
    assert "numpy.asarray" in skip and "`probs`" in skip


def test_training_step_keeps_detach() -> None:
    decisions = decide(
        "    def training_step(self, batch, batch_idx):\n        self.log('x', self(batch).detach().cpu())\n",
        method="training_step",
    )
    assert decisions[7].skip is None and decisions[7].keep_detach


def test_other_classes_and_methods_are_not_decided() -> None:
    assert decide("    def forward(self, x):\n        return x.detach().cpu()\n") == {}
    plain = "import torch\n\n\nclass Net(torch.nn.Module):\n"
    assert decide("    def validation_step(self, b):\n        return b.detach().cpu()\n", header=plain) == {}


def test_a_base_from_elsewhere_is_a_skip_not_a_guess() -> None:
    decisions = decide(
        "    def validation_step(self, b):\n        return b.detach().cpu()\n",
        header="from mylib import Base\n\n\nclass Net(Base):\n",
    )
    skip = decisions[6].skip
    assert skip is not None and "not known to be a LightningModule" in skip and "mylib.Base" in skip
