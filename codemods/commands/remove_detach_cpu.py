"""``remove-detach-cpu``: keep ``validation_step`` tensors on their device.

The decisions come from :class:`codemods.analysis.detach_flow.DetachCpuAnalysis`; this
module only rewrites them.
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst
from libcst.metadata import (
    ParentNodeProvider,
    ProviderT,
    QualifiedNameProvider,
    ScopeProvider,
)

from codemods.analysis.detach_flow import CandidateFinder, DetachCpuAnalysis, match_pair
from codemods.base import RunnerCodemod
from codemods.declarations import RemoveDetachCpuDeclaration


class RemoveDetachCpu(RemoveDetachCpuDeclaration, RunnerCodemod):
    """Remove ``.detach().cpu()`` in a LightningModule's ``validation_step``.

    Lightning already runs ``validation_step``/``test_step``/``predict_step``
    under ``torch.no_grad()``, so ``.detach()`` there is redundant, and ``.cpu()``
    copies every tensor to the host only for the logger (WandB, ``self.log``) to
    take it as it is. Inside the method named by the ``method`` option, in
    classes whose bases resolve (imports followed, any alias) to Lightning's
    ``LightningModule`` or to a class of this file that does, the chain is cut:

    * ``x.detach().cpu()`` and ``x.cpu().detach()`` become ``x``;
      ``x.detach().cpu().float()`` becomes ``x.float()``;
    * in a hook Lightning does not run under no-grad (``training_step`` ...),
      or under ``with torch.enable_grad()``/``set_grad_enabled``, only ``.cpu()``
      goes and ``.detach()`` stays (``x.detach()``), so no graph is kept alive;
    * nested functions and lambdas in the method are rewritten too; classes
      nested in it, and ``validation_step`` functions outside such a class, are not.

    Left as is, with a skip saying why: ``.cpu(...)`` with arguments; a comment
    inside the chain; a chain that repeats ``.detach()``/``.cpu()``; a result that
    feeds ``.numpy()``, ``.tolist()``, ``.data_ptr()`` or a numpy, sklearn, cv2, PIL,
    matplotlib, ``wandb.Histogram``... call, directly or through local names, a local
    list it is appended to or a numpy array it is stored in; a result modified in
    place (``y += 1``, ``y[m] = 0``, ``.add_()``, ``out=``), or whose source name is,
    or whose source is module state (``self.ema.detach().cpu()``): without the copy
    they would share memory; a result combined with an operand whose device is
    unknown (``y_hat.detach().cpu() == y``: ``y`` worked with a CPU tensor, so is
    likely on the CPU); and a class whose base is imported from elsewhere.

    Limits: flows through attributes (``self.outputs``), dict keys read in other
    methods, and calls of unknown functions (assumed to take any device, as
    ``self.log`` and ``wandb.log`` do) are not followed.

    Valid (left alone)::

        import lightning.pytorch as pl


        class Net(pl.LightningModule):
            def validation_step(self, batch, batch_idx):
                self.log("val/loss", self(batch))

    Invalid (rewritten)::

        import lightning.pytorch as pl


        class Net(pl.LightningModule):
            def validation_step(self, batch, batch_idx):
                self.log("val/loss", self(batch).detach().cpu())

    becomes::

        import lightning.pytorch as pl


        class Net(pl.LightningModule):
            def validation_step(self, batch, batch_idx):
                self.log("val/loss", self(batch))

    Invalid (kept, reported: ``.numpy()`` needs a CPU tensor)::

        import lightning.pytorch as pl


        class Net(pl.LightningModule):
            def validation_step(self, batch, batch_idx):
                return self(batch).detach().cpu().numpy()
    """

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        *RunnerCodemod.METADATA_DEPENDENCIES,
        ParentNodeProvider,
        QualifiedNameProvider,
        ScopeProvider,
    )

    def __init__(self, context: cst.codemod.CodemodContext, **options: object) -> None:
        super().__init__(context, **options)
        self.method = str(self.options["method"])
        self.analysis: DetachCpuAnalysis | None = None

    def transform_module(self, tree: cst.Module) -> cst.Module:
        finder = CandidateFinder(self.method)
        tree.visit(finder)
        if not finder.found:
            return tree  # nothing to do: skip the tree copy and the metadata
        return super().transform_module(tree)

    def visit_Module(self, node: cst.Module) -> None:
        self.analysis = DetachCpuAnalysis(self.context, self.method)
        node.visit(self.analysis)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        decision = self.analysis.decisions.get(original_node) if self.analysis is not None else None
        updated = match_pair(updated_node)
        if decision is None or updated is None:
            return updated_node
        chain = decision.chain
        if decision.skip is not None:
            self.record_skip(original_node, decision.skip)
            return updated_node

        parens = {
            "lpar": [*updated_node.lpar, *updated.value.lpar],
            "rpar": [*updated.value.rpar, *updated_node.rpar],
        }
        if decision.keep_detach:
            if updated.order == "detach().cpu()":
                kept: cst.BaseExpression = updated.inner
            else:
                kept = updated_node.with_changes(
                    func=updated_node.func.with_changes(value=updated.value)
                    if isinstance(updated_node.func, cst.Attribute)
                    else updated_node.func
                )
            parens = {"lpar": [*updated_node.lpar], "rpar": [*updated_node.rpar]}
            self.record_change(
                original_node,
                f"removed .cpu() from {chain} (kept .detach(): gradients may be enabled here)",
            )
            return kept.with_changes(**parens)
        value = self.short(self.code_of(decision.pair.value), 40)
        self.record_change(original_node, f"removed {chain}; `{value}` stays on its device")
        return updated.value.with_changes(**parens)
