"""The base of the value objects the planner builds for every request (windows, timings, proposals, plans).

Written out with their own `__init__` rather than as frozen dataclasses, for speed in both cores: a typical
plan builds about 45 of them. In the compiled core (mypyc, docs/production.md) a dataclass's generated
`__init__` stays interpreted Python; in the pure Python a frozen dataclass sets each field through
`object.__setattr__` (a three-field object: about 370 ns against 125 ns written out). Their fields are
`Final`: mypy refuses any assignment after `__init__`, and the compiled class refuses it at run time
(AttributeError), as a frozen dataclass raises FrozenInstanceError. tests/test_values.py holds each class's
`__init__` parameters equal to its `_fields`.

Equality, hash and repr are a frozen dataclass's, from the fields `_fields` names in order: equal when the
class is the same and every field is equal; the hash of the fields; `Window(kind='pre_start', ...)`.
"""

from __future__ import annotations

from typing import ClassVar


class Value:
    """Equality, hash and repr from the fields `_fields` names, as a frozen dataclass has them."""

    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Value)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join([f"{name}={getattr(self, name)!r}" for name in self._fields])
        return f"{type(self).__qualname__}({shown})"
