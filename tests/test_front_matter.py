"""The front matter reader: the simple subset read without PyYAML gives what yaml.safe_load gives.

Every other text must be left to PyYAML (read_simple returns None), which the model then uses.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.blueprint.front_matter import read_simple
from runner.blueprint.model import parse_blueprint, split_lines
from runner.errors import BlueprintError

ROOT = Path(__file__).resolve().parent.parent


def _front_text(source: bytes) -> str | None:
    """The text the model hands to the front matter reader (None: the file has none)."""
    lines = split_lines(source)
    if not lines or lines[0].text.strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].text.strip() in ("---", "..."):
            return "\n".join(ln.text for ln in lines[1:index])
    return None


def _markdown_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.split()]


FRONT_MATTERS = {
    str(path.relative_to(ROOT)): text
    for path in _markdown_files()
    if (text := _front_text(path.read_bytes())) is not None
}


def _yaml(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return "<YAML error>"


def test_every_blueprint_in_the_repo_is_read_without_pyyaml() -> None:
    blueprints = [name for name in FRONT_MATTERS if name.startswith("blueprints/")]
    assert len(blueprints) >= 7
    for name in blueprints:
        assert read_simple(FRONT_MATTERS[name]) == yaml.safe_load(FRONT_MATTERS[name]), name


@pytest.mark.parametrize("name", sorted(FRONT_MATTERS))
def test_every_front_matter_in_the_repo_reads_as_yaml_does_or_is_left_to_it(name: str) -> None:
    simple = read_simple(FRONT_MATTERS[name])
    assert simple is None or simple == _yaml(FRONT_MATTERS[name])


def test_the_subset() -> None:
    text = 'title: "PLAN-9: a # b: [c], & *d !e"\ntags: ["x", "y, z", ""]\nempty: []\nnone_yet: ""'
    expected = {"title": "PLAN-9: a # b: [c], & *d !e", "tags": ["x", "y, z", ""], "empty": []}
    expected["none_yet"] = ""
    assert read_simple(text) == expected == yaml.safe_load(text)
    assert read_simple('title: "Ünïcode — 한국어 🙂"') == {"title": "Ünïcode — 한국어 🙂"}


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty: PyYAML decides (None)
        'title: "a\\"b"',  # an escape
        "title: 'single'",
        "title: plain",
        "count: 3",
        'yes: "x"',  # a bool key in YAML 1.1
        'On: "x"',
        'NULL: "x"',
        'a: "1"\na: "2"',  # duplicate keys: PyYAML keeps the last
        'a:  "x"',
        'a: "x" # comment',
        'a: "x" ',
        '# comment\na: "x"',
        'a: "x"\n\nb: "y"',  # a blank line
        'a: "tab\there"',
        'a: "nel\x85"',
        'a: "sep\u2028"',
        'a: "bom\ufeff"',
        'a: "undecodable\udcff"',
        'a: "bell\x07"',
        'a: ["x","y"]',
        "a: [1, 2]",
        'a: &x "v"\nb: *x',
        'a: !!str "v"',
        'nested:\n  b: "c"',
        '- "a"',
        "x" * 200 + ': "long key"',
    ],
)
def test_anything_else_is_left_to_pyyaml(text: str) -> None:
    assert read_simple(text) is None


# Lines in and close to the subset: keys YAML may read as bools, quotes, brackets,
# separators, escapes, YAML's special characters and its other line breaks.
_CHARS = st.sampled_from(list("ab_-: \",[]#&*!|>'\\\t{}%@`~.03\x85\u2028\ufeff\udcffé한\U0001f642"))
_KEYS = st.text(st.sampled_from(list("yesnoYESNOtrufalTRUFALl_-0")), min_size=1, max_size=5)
_TEXT = st.text(st.one_of(_CHARS, st.sampled_from("abc xyz")), max_size=10)
_SEP = st.sampled_from([": ", ": ", ": ", ":  ", ":", ":\t", " : "])
_ENTRY = st.builds(lambda k, sep, v: f'{k}{sep}"{v}"', _KEYS, _SEP, _TEXT)
_LIST = st.builds(
    lambda k, sep, items, comma: f"{k}{sep}[" + comma.join(f'"{i}"' for i in items) + "]",
    _KEYS,
    _SEP,
    st.lists(_TEXT, max_size=3),
    st.sampled_from([", ", ", ", ",", " , "]),
)
_LINE = st.one_of(_ENTRY, _LIST, _TEXT)


@settings(max_examples=500, deadline=None)
@given(st.lists(_LINE, min_size=1, max_size=4))
def test_read_simple_never_differs_from_yaml(lines: list[str]) -> None:
    text = "\n".join(lines)
    simple = read_simple(text)
    if simple is not None:
        assert simple == yaml.safe_load(text)


def test_outside_the_subset_the_model_still_refuses_aliases_and_reports_yaml_errors() -> None:
    body = b"# T\n## Progress Tracker\n- **STATUS:** x\n"
    with pytest.raises(BlueprintError, match="YAML alias") as alias:
        parse_blueprint(b"---\na: &x [1]\nb: *x\n---\n" + body, "b.md")
    assert alias.value.line == 3
    with pytest.raises(BlueprintError, match="not valid YAML"):
        parse_blueprint(b'---\na: "x\n---\n' + body, "b.md")
