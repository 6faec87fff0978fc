"""Records: the part of :mod:`dataclasses` the runner uses, without its start-up cost.

``@datarecord`` and ``@datarecord(frozen=True)`` give a class what ``@dataclass`` would: an
``__init__`` taking the annotated fields in order (inherited records' fields first, a
default or ``field(default_factory=...)`` for the later ones), ``__repr__``, ``__eq__``,
``__match_args__``, ``__post_init__`` when defined, and for a frozen record assignment
refused and ``__hash__``. ``replace`` is :func:`dataclasses.replace`.

Why not dataclasses: it imports ``inspect`` (with ``ast``, ``dis`` and ``tokenize``, about
15 ms) and compiles source for every method of every class, about 0.85 ms a class; `runner
status`, `next` and `lint` define 20 to 45 of them before they can answer, which was a third
of their start-up. Here a class gets shared closures and no code is compiled. Type checkers
see ``@dataclass`` semantics through ``dataclass_transform`` (PEP 681).

Not supported, refused at decoration time: ``InitVar`` fields, and field options other than
``default`` and ``default_factory`` (nothing here needs ``compare=False``, ``kw_only``, slots
or ordering).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from typing import dataclass_transform
else:
    try:
        from typing import dataclass_transform
    except ImportError:  # Python 3.10: only type checkers read it

        def dataclass_transform(**_: object) -> Callable[[Any], Any]:
            return lambda function: function


T = TypeVar("T")
R = TypeVar("R")

_FIELDS = "__record_fields__"  # the class attribute holding a record's fields, in order
_NO_DEFAULT: Any = object()


class FrozenInstanceError(AttributeError):
    """Assigning to, or deleting, a field of a frozen record."""


class _Field:
    __slots__ = ("default", "factory")

    def __init__(self, default: object, factory: Callable[[], object] | None) -> None:
        self.default = default
        self.factory = factory


@overload
def field(*, default: T) -> T: ...
@overload
def field(*, default_factory: Callable[[], T]) -> T: ...
def field(*, default: Any = _NO_DEFAULT, default_factory: Callable[[], Any] | None = None) -> Any:
    """A field's default, or the function that makes a fresh one for each instance."""
    if (default is _NO_DEFAULT) == (default_factory is None):
        raise TypeError("field() takes exactly one of default and default_factory")
    return _Field(default, default_factory)


def _own_fields(cls: type) -> dict[str, _Field | None]:
    """The fields a class body annotates, with their defaults (None: required)."""
    own: dict[str, _Field | None] = {}
    # The class body's own annotations (strings under ``from __future__ import annotations``);
    # not inspect.get_annotations, which would import inspect, the cost this module avoids.
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        if text.startswith(("ClassVar", "typing.ClassVar")):
            continue
        if text.startswith(("InitVar", "dataclasses.InitVar")):
            raise TypeError(f"{cls.__qualname__}.{name}: records take no InitVar fields")
        value = cls.__dict__.get(name, _NO_DEFAULT)
        if isinstance(value, _Field):
            if value.factory is not None:
                delattr(cls, name)  # like dataclasses: no class attribute for a factory field
            own[name] = value
        else:
            own[name] = None if value is _NO_DEFAULT else _Field(value, None)
    return own


def _init(cls: type, names: tuple[str, ...], fields: dict[str, _Field | None]) -> Callable[..., None]:
    count = len(names)
    post_init = getattr(cls, "__post_init__", None) is not None

    def __init__(self: object, *args: object, **kwargs: object) -> None:
        if len(args) > count:
            raise TypeError(
                f"{type(self).__qualname__}() takes {count} positional arguments but {len(args)} were given"
            )
        values = dict(zip(names, args, strict=False))  # the first len(args) fields
        for name in names[len(args) :]:
            if name in kwargs:
                values[name] = kwargs.pop(name)
                continue
            default = fields[name]
            if default is None:
                raise TypeError(f"{type(self).__qualname__}() missing required argument: {name!r}")
            values[name] = default.default if default.factory is None else default.factory()
        if kwargs:
            name = next(iter(kwargs))
            problem = (
                "got multiple values for argument" if name in values else "got an unexpected keyword argument"
            )
            raise TypeError(f"{type(self).__qualname__}() {problem} {name!r}")
        vars(self).update(values)  # not setattr: a frozen record refuses it
        if post_init:
            self.__post_init__()  # type: ignore[attr-defined]

    return __init__


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _build(cls: type[T], frozen: bool) -> type[T]:
    fields: dict[str, _Field | None] = {}
    for base in reversed(cls.__mro__[1:]):
        fields.update(base.__dict__.get(_FIELDS, {}))
    fields.update(_own_fields(cls))
    names = tuple(fields)
    seen_default = ""
    for name, default in fields.items():
        if default is not None:
            seen_default = name
        elif seen_default:
            raise TypeError(
                f"{cls.__qualname__}: required field {name!r} follows {seen_default!r}, which has a default"
            )
    key: Callable[[object], object] = attrgetter(*names) if names else (lambda _: ())
    if len(names) == 1:
        single = key
        key = lambda self: (single(self),)  # noqa: E731

    def __repr__(self: object) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(names, key(self), strict=True))  # type: ignore[call-overload]
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self: object, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return key(self) == key(other)

    setattr(cls, _FIELDS, fields)
    body = cls.__dict__
    methods: dict[str, object] = {
        "__init__": _init(cls, names, fields),
        "__repr__": __repr__,
        "__eq__": __eq__,
        "__match_args__": names,
    }
    if frozen:
        if "__setattr__" in body or "__delattr__" in body:
            raise TypeError(f"{cls.__qualname__}: a frozen record cannot define __setattr__ or __delattr__")
        methods.update(__setattr__=_frozen_setattr, __delattr__=_frozen_delattr)
    # Like dataclasses: what the class body defines stays (a body's __eq__ sets __hash__ to None).
    for name, method in methods.items():
        if name not in body:
            setattr(cls, name, method)
    explicit_hash = body.get("__hash__") is not None
    if not explicit_hash:
        # Frozen: hashed by value; mutable: unhashable, since it compares by value.
        cls.__hash__ = (lambda self: hash(key(self))) if frozen else None  # type: ignore[assignment, method-assign]
    return cls


@overload
def datarecord(cls: type[T], /) -> type[T]: ...
@overload
def datarecord(*, frozen: bool = False) -> Callable[[type[T]], type[T]]: ...
@dataclass_transform(field_specifiers=(field,))
def datarecord(
    cls: type[T] | None = None, /, *, frozen: bool = False
) -> type[T] | Callable[[type[T]], type[T]]:
    """``@datarecord`` or ``@datarecord(frozen=True)``: the class as ``@dataclass`` would make it."""
    if cls is None:
        return lambda klass: _build(klass, frozen)
    return _build(cls, frozen)


def replace(obj: R, /, **changes: object) -> R:
    """A copy of a record with some fields changed (:func:`dataclasses.replace`)."""
    names: dict[str, object] = getattr(type(obj), _FIELDS)
    values = {name: changes.pop(name) if name in changes else getattr(obj, name) for name in names}
    if changes:
        raise TypeError(f"{type(obj).__qualname__} has no field {next(iter(changes))!r}")
    return type(obj)(**values)
