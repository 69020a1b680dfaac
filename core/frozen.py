"""Frozen dataclasses made in hot loops, without their generated ``__init__``.

A frozen dataclass's ``__init__`` sets each field with ``object.__setattr__``, about 0.2 µs a
field; planning makes a few such objects for every row read (a ``Row``, its ``PropertyValue``s,
a ``Rendered``, a ``DesiredItem``, an ``Action``), which was a tenth of its CPU. ``made`` fills
the instance's ``__dict__`` in one step instead. The result is the same object: equality,
hashing, ``repr`` and immutability come from the class.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["made"]

T = TypeVar("T")

_new = object.__new__


def made(cls: type[T], **fields: Any) -> T:
    """An instance of the frozen dataclass ``cls`` with ``fields``, which must name every field
    (defaults are not applied) and must not be a ``slots`` class."""
    obj: T = _new(cls)
    obj.__dict__.update(fields)
    return obj
