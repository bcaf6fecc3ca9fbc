"""The validation fast path (service.contract.fastload) against marshmallow, on thousands of generated bodies.

The fast path is compiled from PlanRequestSchema; for every body it must either give exactly what
`PlanRequestSchema().load` gives (same values, same keys in the same order), or refuse, and it may refuse
only what marshmallow refuses: then the answer is marshmallow's own errors (Planner.load).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, post_load

from scripts.workloads import heaviest_request, largest_request, plan_request, typical_request
from service.contract.fastload import compile_loader
from service.contract.schemas import read_day
from service.planning import FAST_LOAD, REQUEST_SCHEMA

# Values near every rule of the schema: dates well and badly written, in and out of range; lengths at and past
# their limits; numbers, booleans and strings where integers belong.
DATES = st.sampled_from(
    ["2026-10-16", "2025-01-31", "1900-01-01", "2199-12-31", "1899-12-31", "2200-01-01", "2026-02-30", "2026-1-05",
     "20261016", "2026-10-16T00:00:00", "", "2026-W42-5"]
)  # fmt: skip
ANY_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-5, 2000), st.floats(allow_nan=False), st.text(max_size=5))
MAYBE_DATE = st.one_of(DATES, DATES, ANY_SCALAR)
NAMES = st.sampled_from(["Shingrix", "MMR", "Fluzone", "", "x" * 100, "x" * 101, "no such vaccine"])
CVX = st.sampled_from(["03", "187", "1", "12345", "abc", "", "08 ", "٣"])


def _vaccine(extra: bool) -> st.SearchStrategy[dict[str, Any]]:
    keys: dict[str, st.SearchStrategy[Any]] = {
        "name": st.one_of(NAMES, ANY_SCALAR),
        "cvx": st.one_of(CVX, ANY_SCALAR),
        "given": st.one_of(st.lists(MAYBE_DATE, max_size=12), ANY_SCALAR),
        "needed_by": MAYBE_DATE,
    }
    if extra:
        keys["date"] = MAYBE_DATE
        keys["surprise"] = ANY_SCALAR
    return st.fixed_dictionaries({}, optional=keys)


def _vaccines() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(_vaccine(False), max_size=52),
        st.lists(st.one_of(_vaccine(True), ANY_SCALAR), max_size=3),
        ANY_SCALAR,
    )


TREATMENT = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "drug": st.one_of(st.sampled_from(["ofatumumab", "Kesimpta", "", "y" * 101]), ANY_SCALAR),
            "doses": st.one_of(st.lists(MAYBE_DATE, max_size=20), st.lists(DATES, min_size=399, max_size=402)),
            "start_date": MAYBE_DATE,
            "cadence": st.one_of(st.sampled_from(["every_4_weeks", "monthly", "weekly"]), ANY_SCALAR),
            "stopped_on": MAYBE_DATE,
            "b_cell_repletion_on": MAYBE_DATE,
            "extra": ANY_SCALAR,
        },
    ),
    ANY_SCALAR,
)
BODIES = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "as_of": MAYBE_DATE,
            "treatment": TREATMENT,
            "vaccines": _vaccines(),
            "immunizations": st.one_of(
                st.lists(st.fixed_dictionaries({"date": MAYBE_DATE}, optional={"cvx": CVX, "name": NAMES}), max_size=4),
                st.lists(_vaccine(True), max_size=2),
                ANY_SCALAR,
            ),
            "horizon_days": st.one_of(st.integers(55, 1100), ANY_SCALAR),
            "unknown": ANY_SCALAR,
        },
    ),
    st.lists(ANY_SCALAR, max_size=2),
    ANY_SCALAR,
)

# Bodies that are valid by construction, so the fast path is seen accepting, not only refusing.
VALID = st.builds(
    plan_request,
    doses=st.integers(0, 400),
    vaccines=st.integers(1, 20),
    horizon_days=st.integers(60, 1095),
)


def marshmallow_load(raw: Any) -> dict[str, Any] | None:
    try:
        return REQUEST_SCHEMA.load(raw)  # type: ignore[no-any-return]
    except ValidationError:
        return None


def assert_same(raw: Any) -> bool:
    """The fast path gives marshmallow's body, keys in the same order, or refuses what marshmallow refuses.
    Returns whether the body was valid."""
    expected = marshmallow_load(raw)
    got = FAST_LOAD(raw)  # type: ignore[misc]
    assert got == expected
    if expected is not None:
        assert list(got) == list(expected)  # type: ignore[arg-type]
        assert list(got["treatment"]) == list(expected["treatment"])  # type: ignore[index]
    return expected is not None


def test_the_plan_request_schema_has_a_fast_path():
    assert FAST_LOAD is not None


@pytest.mark.parametrize(
    "raw",
    [typical_request(), largest_request(), heaviest_request(), plan_request(0, 1, 60)],
    ids=["typical", "largest", "heaviest", "planned-start"],
)
def test_fast_path_loads_the_workloads_as_marshmallow_does(raw):
    assert assert_same(raw)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(BODIES)
def test_fast_path_equals_marshmallow_on_generated_bodies_valid_and_invalid(raw):
    assert_same(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALID, st.data())
def test_fast_path_accepts_every_valid_body_and_refuses_each_single_mistake(raw, data):
    assert assert_same(raw)
    # One mistake anywhere makes both refuse it (marshmallow then words the error).
    broken = data.draw(
        st.sampled_from(
            [
                {**raw, "horizon_days": 59},
                {**raw, "vaccines": []},
                {**raw, "surprise": 1},
                {**raw, "treatment": {**raw["treatment"], "drug": ""}},
                {**raw, "vaccines": [*raw["vaccines"], {"name": "MMR", "cvx": "03"}]},
                {**raw, "vaccines": [{**raw["vaccines"][0], "given": ["2026-02-30"]}]},
                {**raw, "as_of": "2026-10-16T00:00"},
            ]
        )
    )
    assert not assert_same(broken)


def test_a_schema_beyond_the_compiler_gets_no_fast_path():
    """A post_load hook, a data_key: marshmallow loads every body of such a schema."""

    class WithHook(Schema):
        a = fields.Integer()

        @post_load
        def shout(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            return data

    class WithDataKey(Schema):
        a = fields.Integer(data_key="A")

    assert compile_loader(WithHook()) is None
    assert compile_loader(WithDataKey()) is None


def test_a_nested_field_of_its_own_class_is_loaded_by_its_own_deserialize():
    """The fast path walks into a Nested or a List of Nested only when the field keeps marshmallow's own
    deserialize and checks; a class that overrides them is called as it is, so its answer is still marshmallow's."""

    class Inner(Schema):
        a = fields.Integer()

    class Counted(fields.Nested):
        def deserialize(self, value: Any, attr: Any = None, data: Any = None, **kwargs: Any) -> Any:
            return {"n": len(value)} if isinstance(value, dict) else super().deserialize(value, attr, data, **kwargs)

    class Outer(Schema):
        inner = Counted(Inner, validate=lambda v: v != {"n": 0})
        items = fields.List(fields.Nested(Inner), validate=lambda v: len(v) < 3)

    loader = compile_loader(Outer())
    assert loader is not None
    for raw in ({"inner": {"a": 1}}, {"inner": {}}, {"items": [{"a": 1}, {"a": 2}]}, {"items": [{}, {}, {}]}):
        try:
            expected = Outer().load(raw)
        except ValidationError:
            expected = None
        assert loader(raw) == expected, raw


_OLD_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _read_day_by_regex(value: Any) -> date | None:
    """How IsoDate read a date before read_day: the regular expression, then fromisoformat."""
    if not isinstance(value, str) or not _OLD_ISO_DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


# Strings near YYYY-MM-DD: ISO's other forms (week dates, compact, times), Unicode digits (which \d matches),
# a trailing newline (which $ lets through), signs, spaces and out-of-calendar days.
DATE_LIKE = st.one_of(
    st.dates().map(date.isoformat),
    st.dates().map(lambda d: d.strftime("%Y%m%d")),
    st.dates().map(lambda d: "{}-W{:02d}-{}".format(*d.isocalendar())),
    st.dates().map(lambda d: d.isoformat() + "\n"),
    st.text(alphabet="0123456789-WT:+Z \n\u0663\uff10", max_size=12),
    st.builds(
        "{}-{}-{}".format,
        st.text(alphabet="0123456789\u0663", min_size=3, max_size=5),
        st.text(alphabet="0123456789\uff10", min_size=1, max_size=3),
        st.text(alphabet="0123456789 ", min_size=1, max_size=3),
    ),
)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None)
@given(st.one_of(DATE_LIKE, ANY_SCALAR))
def test_read_day_takes_exactly_the_dates_the_regular_expression_and_fromisoformat_took(value):
    assert read_day(value) == _read_day_by_regex(value)


@pytest.mark.parametrize(
    "text",
    ["2026-10-16\n", "2026-W42-5", "20261016", "\u0662\u0660\u0662\u0666-\u0661\u0660-\u0661\u0666", "2026-1\uff10-16",
     "2026-02-29", "2024-02-29", "0000-01-01", "2026-10-16 ", " 2026-10-1", "2026-10-16T00"],
)  # fmt: skip
def test_read_day_on_the_near_misses(text):
    assert read_day(text) == _read_day_by_regex(text)
    assert (read_day(text) is not None) == (text == "2024-02-29")
