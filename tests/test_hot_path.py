"""The speed-ups on the request path change no answer: each is held equal to what it replaced."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.intervals import _SHIFT_REACH, Interval, add_months, iso_day, shift
from service.domain.therapy import Cadence
from service.domain.windows import MID_CYCLE, clip, mid_cycle_slot, mid_cycle_windows

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


def mid_cycle_windows_without_the_skip(profile, doses, lo, hi):
    """mid_cycle_windows as it was before pairs ending before lo were skipped."""
    windows = []
    for dose, next_dose in zip(doses, doses[1:], strict=False):
        if dose > hi:
            break
        slot = mid_cycle_slot(profile.mid_cycle, dose, next_dose)
        if slot is not None:
            window = clip(MID_CYCLE, slot[0], slot[1], lo, hi)
            if window is not None:
                windows.append(window)
    return windows


@settings(max_examples=300, deadline=None)
@given(doses=st.lists(days, min_size=0, max_size=40, unique=True), lo=days, span=st.integers(0, 1200))
def test_skipping_pairs_that_end_before_lo_changes_no_window(profile, doses, lo, span):
    doses = tuple(sorted(doses))
    hi = lo + timedelta(days=span)
    assert mid_cycle_windows(profile, doses, lo, hi) == mid_cycle_windows_without_the_skip(profile, doses, lo, hi)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(
    day=st.dates(),
    moved=st.one_of(
        st.integers(-_SHIFT_REACH - 2, _SHIFT_REACH + 2),  # the built offsets and both of their edges
        st.integers(-4_000_000, 4_000_000),  # beyond them, back to timedelta, overflow included
    ),
)
def test_shifting_a_day_gives_what_timedelta_gives(day, moved):
    try:
        expected = day + timedelta(days=moved)
    except OverflowError:
        with pytest.raises(OverflowError):
            shift(day, moved)
    else:
        assert shift(day, moved) == expected


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(day=st.dates())
def test_a_day_is_written_as_isoformat_writes_it(day):
    assert iso_day(day) == day.isoformat() == str(day)


def test_days_are_written_with_four_digit_years_and_two_digit_months_and_days():
    for day in (date(1, 1, 1), date(999, 12, 31), date(2024, 2, 29), date(9999, 12, 31)):
        assert iso_day(day) == day.isoformat()


def test_shifting_at_the_edges_of_the_built_offsets():
    day = date(2024, 2, 29)
    for moved in (-_SHIFT_REACH - 1, -_SHIFT_REACH, -1, 0, 1, _SHIFT_REACH, _SHIFT_REACH + 1):
        assert shift(day, moved) == day + timedelta(days=moved)


@settings(max_examples=300, deadline=None)
@given(day=days, step_days=st.integers(1, 60), steps=st.integers(0, 500))
def test_day_cadences_add_days_as_relativedelta_did(day, step_days, steps):
    assert Cadence("every_n_days", days=step_days).after(day, steps) == day + relativedelta(days=step_days * steps)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(day=days, months=st.integers(-1200, 1200))
def test_adding_calendar_months_gives_what_relativedelta_gives(day, months):
    assert add_months(day, months) == day + relativedelta(months=months)


@settings(max_examples=500, deadline=None)
@given(day=days, years=st.integers(-5, 5), months=st.integers(-30, 30), extra_days=st.integers(-400, 400))
def test_calendar_intervals_add_as_relativedelta_did(day, years, months, extra_days):
    interval = Interval("any", years=years, months=months, days=extra_days)
    expected = day + relativedelta(years=years, months=months) + timedelta(days=extra_days)
    assert interval.after(day) == expected


@settings(max_examples=300, deadline=None)
@given(day=days, step_months=st.integers(1, 12), steps=st.integers(0, 120))
def test_month_cadences_add_months_as_relativedelta_did(day, step_months, steps):
    assert Cadence("monthly", months=step_months).after(day, steps) == day + relativedelta(months=step_months * steps)


def test_each_plan_computes_its_mid_cycle_slots_once_and_every_vaccine_gets_them(ruleset):
    from scripts.workloads import largest_request
    from service.domain.planner import make_plan
    from service.planning import REQUEST_SCHEMA, to_request

    request = to_request(REQUEST_SCHEMA.load(largest_request()), date(2026, 10, 16))
    plan = make_plan(request, ruleset.therapies, ruleset.catalog, ruleset.vaccine_rules)
    profile = ruleset.therapies.find("ofatumumab")
    expected = mid_cycle_windows(profile, plan.schedule.doses, plan.as_of, plan.until)
    assert expected and len(plan.schedule.derived) == 1
    non_live = [v for v in plan.vaccines if v.match.vaccine.live is False]
    assert len(non_live) == 49
    for vaccine in non_live:
        assert [w for w in vaccine.timing.windows if w.kind == MID_CYCLE] == expected


def test_a_name_or_code_as_the_catalog_writes_it_matches_what_the_full_look_up_gives(catalog):
    """Catalog.as_written (the planner's first try) gives exactly by_name's or by_cvx's match, for every
    spelling and code in the catalog, and None for text written otherwise."""
    names = {n for v in catalog.vaccines for n in (v.id, *v.names)} | {u.name for u in catalog.unspecified}
    codes = {c for v in catalog.vaccines for c in v.cvx} | {u.cvx for u in catalog.unspecified if u.cvx}
    found = 0
    for name in names:
        written = catalog.as_written(name, None)
        if written is not None:
            found += 1
            assert written == catalog.by_name(name, "name")
    for code in codes:
        written = catalog.as_written(None, code)
        if written is not None:
            found += 1
            assert written == catalog.by_cvx(code, "cvx")
    assert found > len(catalog.vaccines)
    assert catalog.as_written("shingrix", None) is None and catalog.as_written(None, "3") is None
    assert catalog.by_name("shingrix", "name") == catalog.as_written("Shingrix", None)


@settings(max_examples=200, deadline=None)
@given(day=days, number=st.integers(1, 12))
def test_the_dose_after_a_dose_is_the_second_day_the_labelled_schedule_gives(dosed_profile, day, number):
    from service.domain.schedule import labelled_after, labelled_doses

    for cadence in dosed_profile.cadences.values():
        run = labelled_doses(dosed_profile, cadence, day, number)
        next(run)  # dose `number` itself, on `day`
        assert labelled_after(dosed_profile, cadence, day, number) == next(run)


def maintenance_anchor_by_dates(cadence, maintenance, anchor, steps):
    """schedule.maintenance_anchor's walk over the doses as it is for every cadence, in dates."""
    for day in maintenance[1:]:
        if cadence.after(anchor, steps + 1) == day:
            steps += 1
        else:
            anchor, steps = day, 0
    return anchor, steps


@settings(max_examples=300, deadline=None)
@given(
    first=days,
    step_days=st.integers(1, 60),
    gaps=st.lists(st.integers(1, 120), min_size=0, max_size=12),
    on_time=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_a_cadence_in_days_anchors_its_doses_as_the_dates_do(first, step_days, gaps, on_time):
    from service.domain.schedule import maintenance_anchor

    cadence = Cadence("every_n_days", days=step_days)
    maintenance = [first]
    for gap, keeps in zip(gaps, on_time, strict=False):
        maintenance.append(maintenance[-1] + timedelta(days=step_days if keeps else gap))
    expected = maintenance_anchor_by_dates(cadence, maintenance, maintenance[0], 0)
    assert maintenance_anchor(cadence, maintenance, None) == expected
