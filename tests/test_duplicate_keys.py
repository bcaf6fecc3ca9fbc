"""The duplicate-key check's counting shortcut answers as the standard library's pairs hook does on any body."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.api.parsing import DuplicateKey, _unique_pairs, loads

_KEYS = st.sampled_from(["a", "b", "as_of", 'q"uote', "back\\slash", "é", ":", ""])
_SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=4) | _KEYS
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.lists(st.tuples(_KEYS, inner), max_size=4),
    max_leaves=20,
)


def _text(value: object) -> str:
    """JSON text of a value where a list of pairs is written as an object (so keys may repeat)."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        return "{" + ", ".join(f"{json.dumps(k)}: {_text(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return json.dumps(value)


def _reference(data: bytes) -> str:
    """The check as the standard library alone makes it: the repeated key it names, or "" for none."""
    try:
        json.loads(data, object_pairs_hook=_unique_pairs)
    except DuplicateKey as error:
        return error.key
    return ""


@settings(max_examples=400, deadline=None)
@given(_VALUES, st.booleans())
def test_the_counting_shortcut_finds_every_repeated_key_the_pairs_hook_finds(value, ascii_only):
    data = _text(value).encode()
    if ascii_only and _reference(data) == "":  # escapes instead of UTF-8: the backslash path
        data = json.dumps(orjson.loads(data), ensure_ascii=True).encode()
    expected = _reference(data)
    try:
        got = loads(data)
    except DuplicateKey as error:
        assert error.key == expected
    else:
        assert expected == "" and got == orjson.loads(data)


def test_a_deep_body_is_checked_as_the_standard_library_checks_it():
    deep = ("[" * 150 + "{}" + "]" * 150).encode()
    assert loads(deep) == orjson.loads(deep)
    with pytest.raises(DuplicateKey):
        loads(("[" * 150 + '{"a": 1, "a": 2}' + "]" * 150).encode())
