"""Engine behaviours of codemods.blocks that the fixture cases do not show one by one."""

from __future__ import annotations

import pytest

from codemods.blocks import BlockSyntaxError, Where, insert_block, parse_block, replace_block

CLASS = b'''class Model:
    @torch.no_grad()
    def predict(self, x):
        """Predict labels.

        Args:
            x: the batch.
        """
        # the model is in eval mode here
        return self.net(x).argmax(1)
'''


def test_a_docstring_matches_at_any_depth_and_a_decorated_def_starts_at_its_decorator() -> None:
    find = '''@torch.no_grad()
def predict(self, x):
    """Predict labels.

    Args:
        x: the batch.
    """
    ...
'''
    replacement = find.replace("@torch.no_grad()", "@torch.inference_mode()")
    edit = replace_block(CLASS, find, replacement)
    assert edit.status == "applied", edit.message
    assert edit.source == CLASS.replace(b"@torch.no_grad()", b"@torch.inference_mode()")


def test_an_expression_keeps_its_parentheses_and_an_empty_run_takes_its_comma() -> None:
    source = b"y = (a + b) * c\nz = f(a + b)\n"
    edit = replace_block(source, "f(a + b, ...)", "f(a - b, ...)")
    assert edit.status == "applied", edit.message
    assert edit.source == b"y = (a + b) * c\nz = f(a - b)\n"
    edit = replace_block(source, "a + b", "a - b", every=True)
    assert edit.source == b"y = (a - b) * c\nz = f(a - b)\n"


def test_encodings_bom_and_crlf_survive() -> None:
    latin = "# -*- coding: latin-1 -*-\nname = 'café'\nx = 1\r\n".encode("latin-1")
    edit = replace_block(latin, "x = 1", "x = 2")
    assert edit.status == "applied"
    assert edit.source == latin.replace(b"x = 1", b"x = 2")
    bom = b"\xef\xbb\xbfimport os\r\n\r\nx = 1\r\n"
    edit = insert_block(bom, "y = 2", where=Where("after-imports"))
    assert edit.status == "applied"
    assert edit.source == b"\xef\xbb\xbfimport os\r\n\r\ny = 2\r\n\r\nx = 1\r\n"


def test_a_target_that_does_not_parse_is_refused_with_nothing_changed() -> None:
    edit = replace_block(b"def f(:\n", "x = 1", "x = 2")
    assert edit.status == "refused" and "does not parse" in edit.message
    assert edit.source == b"def f(:\n"


@pytest.mark.parametrize(
    ("block", "line"),
    [("x = (", 1), ("def f(x):\n    return )", 2)],
)
def test_a_block_that_is_not_python_names_its_line(block: str, line: int) -> None:
    with pytest.raises(BlockSyntaxError) as caught:
        parse_block(block)
    assert caught.value.line == line


def test_guide_style_ellipses_parse() -> None:
    # A `...` line with no comma before the next keyword, a bare `...` dict entry, an and-chain.
    parse_block("backbone = LeViT(\n    img_size=config.img_size,\n    ...\n    drop_path=drop_path,\n)")
    parse_block("deltas = {\n    'gru_reset': ...,\n    ...\n}")
    parse_block("is_stable = (a < b and ...)")
