"""Step phrases compiled at their first use, tried only on a step that starts with their word.

The step grammar (``steps.py``) and the suggestions (``suggest.py``) hold some forty patterns,
and compiling them all cost `runner next` and `lint` ~20 ms of start-up. A blueprint's steps
start with a handful of verbs: a phrase is compiled the first time a step starting with one of
its words is tried, and a step starting with another word never reaches the regex at all.

The word test only skips texts the regex cannot match: a phrase's pattern starts with one of its
words (ASCII letters, any case) then whitespace, so its first whitespace-separated token, when
ASCII, is that word in some case; a token with any other character (which ``re.IGNORECASE`` may
fold, as ``ı`` to ``i``) goes to the regex. Likewise a phrase's ``needs``: words its pattern
holds literally, outside any optional part or alternative (the phrases starting with "Verify"
differ by them), so an ASCII text without one of them cannot match; a text that is not all ASCII
goes to the regex.
"""

from __future__ import annotations

import re


class LazyPattern:
    """``re.compile(source, flags)``, compiled at the first ``match`` or ``search``.

    ``first_words`` (lower case): the words the pattern, anchored at the start, begins with; a
    ``match`` on a text whose first word is none of them returns None without the regex.
    ``needs`` (lower case): words the pattern holds literally; a ``match`` on an ASCII text
    without one of them, in any case, returns None without the regex.
    """

    __slots__ = ("_compiled", "_first_words", "_flags", "_needs", "_source")

    def __init__(
        self,
        source: str,
        flags: int = 0,
        *,
        first_words: tuple[str, ...] = (),
        needs: tuple[str, ...] = (),
    ) -> None:
        self._source = source
        self._flags = flags
        self._first_words = first_words
        self._needs = needs
        self._compiled: re.Pattern[str] | None = None

    @property
    def is_compiled(self) -> bool:
        return self._compiled is not None

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    def match(self, text: str) -> re.Match[str] | None:
        if self._first_words and not _may_start_with(text, self._first_words):
            return None
        if self._needs and text.isascii():
            lowered = text.lower()
            if not all(word in lowered for word in self._needs):
                return None
        return self.pattern.match(text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(text)


def phrase(first_words: str, source: str, *, needs: str = "") -> LazyPattern:
    """A case-insensitive step phrase starting with one of ``first_words`` (``"move rename"``)
    and holding each of the words ``needs`` names (``"not called"``)."""
    return LazyPattern(
        source, re.IGNORECASE, first_words=tuple(first_words.split()), needs=tuple(needs.lower().split())
    )


def _may_start_with(text: str, words: tuple[str, ...]) -> bool:
    head = text.split(None, 1)
    if not head:
        return False
    return not head[0].isascii() or head[0].lower() in words
