"""Results of pure, costly computations, kept while one command runs (``cli.main``).

A run computes its tasks ahead, in memory, while the import gate's server imports torch
(:func:`runner.commands.run.run`); each task then finds its codemod passes and its pattern
and undefined-name checks here instead of computing them again. A key holds every input of
the computation (the file's bytes, or their digest, the path, the codemods and their options), so
a hit is the same result by construction; outside :func:`remembering` nothing is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_memo: ContextVar[dict[Hashable, object] | None] = ContextVar("runner_memo", default=None)


@contextmanager
def remembering() -> Iterator[None]:
    """Keep results for the duration of the block (nested blocks share the outer one)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def active() -> bool:
    """Whether results are kept now (a caller may skip computing a costly key otherwise)."""
    return _memo.get() is not None


def digest(data: bytes | None) -> str:
    import hashlib  # here: commands that keep nothing (`runner status`) need not load OpenSSL

    return "-" if data is None else hashlib.sha256(data).hexdigest()


def memoized(key: Hashable, compute: Callable[[], T], *, keep: Callable[[T], bool] = lambda _: True) -> T:
    """``compute()``, or its earlier result for ``key`` inside :func:`remembering`.

    ``keep`` says whether a result is worth its memory (a cheap one is computed again).
    """
    memo = _memo.get()
    if memo is None:
        return compute()
    if key in memo:
        return memo[key]  # type: ignore[return-value]
    result = compute()
    if keep(result):
        memo[key] = result
    return result
