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


def test_every_needed_word_is_written_in_its_pattern() -> None:
    needing = {name: phrase for name, phrase in PHRASES.items() if phrase._needs}
    assert len(needing) >= 8
    for name, phrase in needing.items():
        for word in phrase._needs:
            assert word in phrase._source.lower() and word.isascii() and word == word.lower(), name


def _respelled(text: str, word: str, spelling: int) -> str:
    """``text`` with ``word`` (any case) written another way: upper, title, or with a letter
    re.IGNORECASE folds into it, which makes the text non-ASCII."""
    found = text.lower().find(word)
    kinds = [word.upper(), word.title(), "".join(FOLDS.get(c, c) for c in word), word[:-1] + "x"]
    return text[:found] + kinds[spelling % len(kinds)] + text[found + len(word) :]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_needed_word_in_any_spelling_matches_as_the_regex_does(data: st.DataObject) -> None:
    name, phrase = data.draw(st.sampled_from(sorted((n, p) for n, p in PHRASES.items() if p._needs)))
    candidates = [text for text in STEPS if any(word in text.lower() for word in phrase._needs)]
    text = data.draw(st.sampled_from(candidates or ["Verify `a.py` exists"]))
    for word in phrase._needs:
        if word in text.lower():
            text = _respelled(text, word, data.draw(st.integers(0, 3)))
    plain = re.compile(phrase._source, phrase._flags).match(text)
    lazy = phrase.match(text)
    assert (plain and plain.span()) == (lazy and lazy.span()), (name, text)


def test_a_step_compiles_only_the_phrases_its_words_can_start() -> None:
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
    # Of the seven "Verify" phrases, only the one holding "exists" (the others need "defines",
    # "called", "refers", ... which the step lacks).
    assert compiled == ["_EXISTS"]
