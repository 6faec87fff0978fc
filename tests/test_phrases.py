"""Step phrases compiled at first use (runner/blueprint/phrases.py): the first-word test skips
only texts the regex cannot match, and a step compiles only the phrases its first word starts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.blueprint import steps, suggest
from runner.blueprint.phrases import LazyPattern

ROOT = Path(__file__).resolve().parent.parent
PHRASES = {
    f"{module.__name__}.{name}": value
    for module in (steps, suggest)
    for name, value in vars(module).items()
    if isinstance(value, LazyPattern) and value._first_words
}
WORDS = sorted({word for phrase in PHRASES.values() for word in phrase._first_words})
# A word as a step may write it: any case, or with a letter re.IGNORECASE folds (ı, ſ, K).
FOLDS = {"i": "ı", "s": "ſ", "k": "K"}


def _spellings(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [word, word.upper(), word.title(), "".join(FOLDS.get(c, c) for c in word), word + "s", word[:-1]]
    )


def _step_texts() -> list[str]:
    """The text of every `- [ ]` step in the repo's blueprints and fixtures."""
    found = []
    for path in sorted([*ROOT.glob("blueprints/*.md"), *ROOT.glob("fixtures/**/*.md")]):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if step := re.match(r"\s*[-*+]\s+\[[ xX]\]\s+(.*)", line):
                found.append(step.group(1))
    return found


STEPS = _step_texts()
TAILS = [parts[1] for text in STEPS if len(parts := text.split(None, 1)) == 2]
texts = st.tuples(
    st.sampled_from(WORDS).flatmap(_spellings),
    st.sampled_from([" ", "  ", "\t", "\u2003", "", "`", ":"]),
    st.sampled_from(TAILS) | st.text(alphabet="`ab.py/ _-:()0123456789"),
).map(lambda parts: "".join(parts))


def test_the_repos_steps_match_as_they_did() -> None:
    matched = 0
    for text in STEPS:
        for name, phrase in PHRASES.items():
            plain = re.compile(phrase._source, phrase._flags).match(text)
            lazy = phrase.match(text)
            assert (plain and plain.span()) == (lazy and lazy.span()), (name, text)
            matched += plain is not None
    assert len(STEPS) > 200 and matched > 100


def test_every_phrase_starts_with_its_words() -> None:
    """The rule the first-word test relies on: a phrase's pattern is ^(word|word)\\s+..."""
    assert len(PHRASES) >= 20
    for name, phrase in PHRASES.items():
        alternatives = "|".join(phrase._first_words)
        head = re.match(r"\^(?:\(\?:)?([A-Za-z|]+)\)?\\s\+", phrase._source)
        assert head, name
        assert head.group(1).lower() in (alternatives, "|".join(reversed(phrase._first_words))), name


@settings(max_examples=400, deadline=None)
@given(texts)
def test_a_phrase_matches_exactly_what_its_regex_matches(text: str) -> None:
    for name, phrase in PHRASES.items():
        plain = re.compile(phrase._source, phrase._flags).match(text)
        lazy = phrase.match(text)
        assert (plain and plain.span()) == (lazy and lazy.span()), (name, text)


def test_a_step_compiles_only_the_phrases_its_first_word_starts() -> None:
    probe = (
        "from runner.blueprint import steps\n"
        "from runner.blueprint.phrases import LazyPattern\n"
        "steps.classify('Read the training loop and take notes')\n"
        "steps.classify('Verify `a.py` exists')\n"
        "print(sorted(n for n, v in vars(steps).items() if isinstance(v, LazyPattern) and v.is_compiled))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    compiled = eval(shown.stdout)  # a printed list of names
    assert compiled == ["_CONFIG_REFS", "_DEFINES", "_EXISTS", "_IMPORT_TIME", "_REFERENCES"]
