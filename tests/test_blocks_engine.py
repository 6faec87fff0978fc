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


ROUND_TRIP = b"""def run(image):
    engine = get_engine()
    # Kept: the plan does not show this line.
    # Round trip through a temporary file because the engine used to take paths only.
    with open("x.npy", "wb") as handle:
        save(handle, image)
    return engine.predict_path("x.npy")
"""


def test_a_comment_the_find_block_shows_goes_with_the_code_it_introduces() -> None:
    find = """# Round trip through a temporary file because ...
with open("x.npy", "wb") as handle:
    save(handle, image)
return engine.predict_path("x.npy")
"""
    edit = replace_block(ROUND_TRIP, find, "return engine.predict_array(image)", scope="run")
    assert edit.status == "applied", edit.message
    assert edit.source == (
        b"def run(image):\n"
        b"    engine = get_engine()\n"
        b"    # Kept: the plan does not show this line.\n"
        b"    return engine.predict_array(image)\n"
    )
    namespace: dict[str, object] = {
        "get_engine": lambda: type("E", (), {"predict_array": staticmethod(lambda image: image * 2)})
    }
    exec(compile(edit.source, "run.py", "exec"), namespace)
    assert namespace["run"](21) == 42  # type: ignore[operator]


@pytest.mark.parametrize(
    "shown",
    [
        "",  # the block shows no comment: the file's stay
        "# Some other remark.\n",  # a comment the file does not have there: the file's stay
    ],
)
def test_a_comment_the_find_block_does_not_show_is_kept(shown: str) -> None:
    find = shown + 'with open("x.npy", "wb") as handle:\n    save(handle, image)\n'
    edit = replace_block(ROUND_TRIP, find, "save_array(image)", scope="run")
    assert edit.status == "applied", edit.message
    assert b"# Round trip through a temporary file" in edit.source
    assert (
        b"    # Round trip through a temporary file because the engine used to take paths only.\n"
        b"    save_array(image)\n" in edit.source
    )


def test_a_block_inserted_before_a_comment_keeps_the_comments_paragraph_break() -> None:
    source = (
        b"def build():\n    model = make()\n\n"
        b"    # Feature hook: capture features.\n    hook(model)\n    return model\n"
    )
    edit = insert_block(source, "model.head = head()", where=Where("before-comment", "Feature hook"))
    assert edit.status == "applied", edit.message
    assert edit.source == (
        b"def build():\n    model = make()\n\n    model.head = head()\n\n"
        b"    # Feature hook: capture features.\n    hook(model)\n    return model\n"
    )
    glued = source.replace(b"make()\n\n", b"make()\n")  # no break above the comment: none below the block
    edit = insert_block(glued, "model.head = head()", where=Where("before-comment", "Feature hook"))
    assert edit.source == glued.replace(b"make()\n", b"make()\n    model.head = head()\n")
