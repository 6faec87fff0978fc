"""Commands and analyses without matcher decorators visit as plain LibCST visitors; a class
with one keeps LibCST's matcher-decorator behaviour."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
import pytest
from libcst import MetadataException
from libcst.codemod import CodemodContext, TransformSuccess, transform_module
from libcst.metadata import PositionProvider

from codemods import registry
from codemods.analysis.detach_flow import DetachCpuAnalysis
from codemods.analysis.lazy_import_plan import LazyImportPlanner
from codemods.base import RunnerCodemod, RunnerVisitor, plain_visits

ANALYSES = [DetachCpuAnalysis, LazyImportPlanner]


@pytest.mark.parametrize("name", sorted(registry()))
def test_every_command_is_plain_and_libcst_gathers_nothing_on_it(name: str) -> None:
    command = registry()[name]
    assert plain_visits(command)
    # LibCST's own gathering agrees: built the full way, an instance holds no decorated method.
    full = command.__new__(command)
    m.MatcherDecoratableTransformer.__init__(full)
    assert full._extra_visit_funcs == {} and full._extra_leave_funcs == {} and full._matchers == {}


@pytest.mark.parametrize("analysis", ANALYSES, ids=lambda c: c.__name__)
def test_every_analysis_is_plain_and_libcst_gathers_nothing_on_it(analysis: type[RunnerVisitor]) -> None:
    assert plain_visits(analysis)
    full = analysis.__new__(analysis)
    m.MatcherDecoratableVisitor.__init__(full)
    assert full._extra_visit_funcs == {} and full._extra_leave_funcs == {} and full._matchers == {}


class RenameInsideF(RunnerCodemod):
    """Test double: renames ``x`` to ``y`` only inside ``def f`` (a matcher decorator)."""

    NAME = "rename-inside-f"
    NEEDLES = (b"x",)

    @m.call_if_inside(m.FunctionDef(name=m.Name("f")))
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return updated_node.with_changes(value="y") if updated_node.value == "x" else updated_node


class RenameEverywhere(RunnerCodemod):
    """Test double: the same rename with no decorator."""

    NAME = "rename-everywhere"
    NEEDLES = (b"x",)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if updated_node.value != "x":
            return updated_node
        self.record_change(original_node, "renamed")
        return updated_node.with_changes(value="y")


SOURCE = "x = 1\n\n\ndef f():\n    return x\n\n\ndef g():\n    return x\n"


def test_a_decorated_command_keeps_libcst_matcher_behaviour() -> None:
    assert not plain_visits(RenameInsideF)
    result = transform_module(RenameInsideF(CodemodContext()), SOURCE)
    assert isinstance(result, TransformSuccess)
    assert result.code == SOURCE.replace("    return x\n\n\ndef g", "    return y\n\n\ndef g")


def test_a_plain_command_visits_every_node_with_its_metadata() -> None:
    assert plain_visits(RenameEverywhere)
    command = RenameEverywhere(CodemodContext())
    assert not hasattr(command, "_extra_visit_funcs")  # LibCST's gathering was skipped
    assert command.transform_module(cst.parse_module(SOURCE)).code == SOURCE.replace("x", "y")
    assert [c.line for c in command.report.changes] == [1, 5, 9]


class Lines(RunnerVisitor):
    """Test double: the lines of the names it visits (metadata through the command's wrapper)."""

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.lines: list[int] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.lines.append(self.line_of(node))


def test_a_plain_analysis_reads_the_metadata_resolved_for_it() -> None:
    assert plain_visits(Lines)
    module = cst.parse_module(SOURCE)
    context = Lines.context_for(module)
    analysis = Lines(context)
    module.visit(analysis)
    assert analysis.lines == [1, 4, 5, 8, 9]
    assert analysis.metadata[PositionProvider] is context.wrapper.resolve(PositionProvider)  # type: ignore[union-attr]


def test_a_plain_analysis_without_its_metadata_says_so() -> None:
    with pytest.raises(MetadataException, match="needs the metadata of an active transform"):
        Lines(CodemodContext())
