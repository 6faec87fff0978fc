"""runner.records.datarecord behaves as dataclasses.dataclass for what the runner uses.

Each shape is declared twice, once with ``@dataclass`` and once with ``@datarecord``, and
every observable behaviour is compared: construction (positional, keyword, defaults, fresh
factory values, the errors), repr, equality, hashing, frozen assignment, ``__match_args__``,
``replace``, inheritance, ``__post_init__``, pickling.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from runner import records
from runner.records import FrozenInstanceError, datarecord, field

Decorator = Callable[..., Any]


def _declare(decorate: Decorator, make_field: Callable[..., Any], frozen: bool) -> dict[str, type]:
    """The same class bodies, decorated by ``decorate``."""

    @decorate(frozen=frozen)
    class Box:
        line: int
        text: str
        tags: list[str] = make_field(default_factory=list)
        note: str = ""
        shared: ClassVar[int] = 7

    @decorate(frozen=frozen)
    class Labelled(Box):
        label: str = "none"

    @decorate(frozen=frozen)
    class Single:
        value: int

    @decorate(frozen=frozen)
    class Empty:
        pass

    return {"Box": Box, "Labelled": Labelled, "Single": Single, "Empty": Empty}


def _pairs(frozen: bool) -> list[tuple[type, type]]:
    ours = _declare(datarecord, field, frozen)
    theirs = _declare(dataclasses.dataclass, dataclasses.field, frozen)
    return [(ours[name], theirs[name]) for name in ours]


def _outcome(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """What a construction gives: the instance's repr, or the kind of error it raises."""
    try:
        return repr(cls(*args, **kwargs))
    except TypeError:
        return "TypeError"


CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),
    ((1,), {}),
    ((1, "a"), {}),
    ((1, "a", ["t"], "n"), {}),
    ((1, "a", ["t"], "n", "l"), {}),
    ((1, "a", ["t"], "n", "l", "extra"), {}),
    ((), {"line": 1, "text": "a"}),
    ((1,), {"text": "a", "note": "n"}),
    ((1,), {"line": 2, "text": "a"}),
    ((1, "a"), {"bogus": 3}),
    ((), {"value": 5}),
    ((5,), {}),
]


@pytest.mark.parametrize("frozen", [True, False])
def test_construction_and_repr_match_dataclasses(frozen: bool) -> None:
    for ours, theirs in _pairs(frozen):
        for args, kwargs in CALLS:
            assert _outcome(ours, args, kwargs) == _outcome(theirs, args, kwargs), (ours, args, kwargs)
        assert ours.__match_args__ == theirs.__match_args__  # type: ignore[attr-defined]


@pytest.mark.parametrize("frozen", [True, False])
def test_equality_and_hash_match_dataclasses(frozen: bool) -> None:
    for ours, theirs in [p for p in _pairs(frozen) if p[0].__name__ == "Box"]:
        for cls in (ours, theirs):
            a, b, c = cls(1, "a"), cls(1, "a"), cls(1, "b")
            assert a == b and a != c and a is not b
            assert (a == cls(1, "a", ["x"])) is False
            if frozen:
                assert hash(cls(1, "a", (), "n")) == hash(cls(1, "a", (), "n"))
            else:
                with pytest.raises(TypeError):
                    hash(a)
        # Different classes never compare equal, even with the same fields.
        assert ours(1, "a") != theirs(1, "a")
        labelled = _declare(datarecord, field, frozen)["Labelled"]
        assert labelled(1, "a") != ours(1, "a")


def test_factory_gives_each_instance_its_own_value() -> None:
    box = _declare(datarecord, field, False)["Box"]
    first, second = box(1, "a"), box(2, "b")
    first.tags.append("x")
    assert second.tags == [] and "tags" not in vars(box)
    assert box.shared == 7 and "shared" not in box.__match_args__  # type: ignore[attr-defined]


def test_frozen_refuses_assignment_and_deletion() -> None:
    box = _declare(datarecord, field, True)["Box"](1, "a")
    with pytest.raises(FrozenInstanceError):
        box.line = 2
    with pytest.raises(AttributeError):
        del box.text
    assert box.line == 1
    mutable = _declare(datarecord, field, False)["Box"](1, "a")
    mutable.line = 2
    assert mutable.line == 2


def test_replace_matches_dataclasses() -> None:
    for frozen in (True, False):
        ours, theirs = next(p for p in _pairs(frozen) if p[0].__name__ == "Labelled")
        for cls, replace in ((ours, records.replace), (theirs, dataclasses.replace)):
            original = cls(1, "a", ["t"], "n", "l")
            changed = replace(original, text="b", label="m")
            assert repr(changed).split("(", 1)[1] == "line=1, text='b', tags=['t'], note='n', label='m')"
            assert type(changed) is cls and original.text == "a"
            with pytest.raises(TypeError):
                replace(original, bogus=1)


def test_post_init_runs_after_the_fields_are_set() -> None:
    @datarecord(frozen=True)
    class Span:
        start: int
        end: int

        def __post_init__(self) -> None:
            if self.end < self.start:
                raise ValueError(f"end {self.end} before start {self.start}")

    assert Span(1, 2).end == 2
    with pytest.raises(ValueError, match="end 1 before start 2"):
        Span(2, 1)


def test_what_the_class_body_defines_stays() -> None:
    @datarecord(frozen=True)
    class Named:
        name: str

        def __repr__(self) -> str:
            return f"<{self.name}>"

    assert repr(Named("x")) == "<x>" and Named("x") == Named("x")


def test_declarations_dataclasses_refuses_are_refused() -> None:
    with pytest.raises(TypeError, match="'b' follows 'a'"):

        @datarecord
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]

    untyped: Any = field
    with pytest.raises(TypeError, match="exactly one"):
        untyped()
    with pytest.raises(TypeError, match="__setattr__"):

        @datarecord(frozen=True)
        class Guarded:
            a: int

            def __setattr__(self, name: str, value: object) -> None:
                pass


@datarecord(frozen=True)
class _Pickled:
    line: int
    tags: tuple[str, ...] = ()


def test_a_frozen_record_survives_pickle() -> None:
    value = _Pickled(3, ("a",))
    copy = pickle.loads(pickle.dumps(value))
    assert copy == value and hash(copy) == hash(value) and copy is not value
