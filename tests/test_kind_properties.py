"""Safety properties for every continuous and course therapy profile, whatever the history (hypothesis).

1. No live window while the gate is closed: a continuous therapy's live windows end the profile's lead time
   before the start, or begin once every gate after stopping is open (the fixed interval, the laboratory
   date); a course therapy's live windows keep the lead time before every course (given or projected) and
   begin only after a normal lymphocyte count dated after the last day given.
2. No live window during therapy unless the profile says there is no restriction.
3. No window of a course therapy touches a course day or the lead time before a course.
4. Every window lies inside [as_of, until] in date order; the status is the first window's kind, or avoid.
5. A gate the therapy does not use is a 422 naming the field.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.data.loader import load_ruleset
from service.domain.continuous import ContinuousProfile
from service.domain.courses import CourseProfile, courses_of
from service.domain.errors import InvalidInput
from service.domain.gates import GATE_NOT_USED
from service.domain.intervals import shift
from service.domain.kinds import schedule_for, timing_for
from service.domain.schedule import NOT_STARTED, STOPPED, Treatment

PROFILES = load_ruleset().therapies.profiles
CONTINUOUS = [p for p in PROFILES if isinstance(p, ContinuousProfile)]
COURSES = [p for p in PROFILES if isinstance(p, CourseProfile)]
AS_OF = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


def _well_formed(timing, as_of, until):
    previous = None
    for window in timing.windows:
        assert as_of <= window.start <= window.end <= until
        assert previous is None or window.start > previous
        previous = window.end
    assert timing.status == (timing.windows[0].kind if timing.windows else "avoid")
    assert timing.rules and timing.reason


@st.composite
def continuous_histories(draw):
    profile = draw(st.sampled_from(CONTINUOUS))
    as_of = draw(AS_OF)
    kind = draw(st.sampled_from(["planned", "on", "stopped"]))
    start = as_of + timedelta(days=draw(st.integers(-1500, 400)))
    if kind == "planned":
        start = max(start, as_of + timedelta(days=1))
    elif kind == "on":
        start = min(start, as_of)
    stopped = lymph = None
    if kind == "stopped":
        start = min(start, as_of)
        stopped = start + timedelta(days=draw(st.integers(0, (as_of - start).days)))
        if profile.lymphocytes_gate and draw(st.booleans()):
            lymph = stopped + timedelta(days=draw(st.integers(0, (as_of - stopped).days)))
    treatment = Treatment(profile.name, start_date=start, stopped_on=stopped, lymphocytes_normal_on=lymph)
    return profile, as_of, treatment, draw(st.integers(30, 1100))


@settings(max_examples=500, deadline=None, derandomize=True)
@given(case=continuous_histories(), live=st.booleans())
def test_continuous_windows_keep_every_gate(case, live):
    profile, as_of, treatment, horizon = case
    until = as_of + timedelta(days=horizon)
    schedule = schedule_for(profile, treatment, as_of, until)
    timing = timing_for(profile, schedule, live, as_of, until)
    _well_formed(timing, as_of, until)
    if not live or not profile.live_restricted:
        return
    start, stopped = schedule.first_dose, treatment.stopped_on
    assert profile.live_lead is not None
    for window in timing.windows:
        if window.kind == "pre_start":
            assert schedule.phase == NOT_STARTED and profile.live_lead.after(window.end) <= start
            continue
        # Never during therapy: only after stopping, and only once every gate is open.
        assert window.kind == "post_therapy" and stopped is not None and window.start > stopped
        if profile.after_stop is not None:
            assert window.start >= profile.after_stop.after(stopped)
        if profile.lymphocytes_gate:
            assert treatment.lymphocytes_normal_on is not None and window.start >= treatment.lymphocytes_normal_on


def _course_days(profile: CourseProfile, first: date, count: int, draw) -> list[date]:
    """The labelled days of `count` courses from `first`, some days dropped or delayed by a few days."""
    days: list[date] = []
    start = first
    for index in range(count):
        shape = profile.shape(index)
        assert shape is not None
        start = shape.offset.after(start) + timedelta(days=draw(st.integers(0, 60))) if index else start
        for week in shape.weeks:
            begin = week.offset.after(start)
            length = draw(st.integers(1, week.max_days))
            days += [shift(begin, k) for k in range(length)]
    return days


@st.composite
def course_histories(draw):
    profile = draw(st.sampled_from(COURSES))
    as_of = draw(AS_OF)
    count = draw(st.integers(0, len(profile.courses) + (1 if profile.extra_course else 0)))
    if count == 0:
        start = as_of + timedelta(days=draw(st.integers(0, 400)))
        return profile, as_of, Treatment(profile.name, start_date=start), draw(st.integers(30, 1100))
    first = as_of - timedelta(days=draw(st.integers(0, 1500)))
    days = sorted({d for d in _course_days(profile, first, count, draw) if d <= as_of})
    if not days:
        days = [as_of]
    last = days[-1]
    stopped = lymph = None
    if draw(st.booleans()):
        stopped = last + timedelta(days=draw(st.integers(0, (as_of - last).days)))
    if draw(st.booleans()):
        lymph = last + timedelta(days=draw(st.integers(0, (as_of - last).days)))
    treatment = Treatment(profile.name, doses=tuple(days), stopped_on=stopped, lymphocytes_normal_on=lymph)
    return profile, as_of, treatment, draw(st.integers(30, 1100))


@settings(max_examples=500, deadline=None, derandomize=True)
@given(case=course_histories(), live=st.booleans())
def test_course_windows_keep_clear_of_every_course_and_gate(case, live):
    profile, as_of, treatment, horizon = case
    until = as_of + timedelta(days=horizon)
    schedule = schedule_for(profile, treatment, as_of, until)
    timing = timing_for(profile, schedule, live, as_of, until)
    _well_formed(timing, as_of, until)
    courses = courses_of(profile, schedule)
    lead = profile.non_live_lead_days
    for window in timing.windows:
        for course in courses:
            # No window touches a course, nor the lead time before it (live: the live lead time).
            assert window.end < course.start or window.start > course.end, (window, course.days)
            if window.end < course.start:
                if live:
                    assert profile.live_lead is not None and profile.live_lead.after(window.end) <= course.start
                else:
                    assert (course.start - window.end).days >= lead
        if live and window.kind != "pre_start":
            # After the start only once a normal count dated after the last day given opens the gate.
            assert schedule.given and schedule.phase != NOT_STARTED
            lymph = treatment.lymphocytes_normal_on
            assert lymph is not None and window.start >= lymph and window.start > schedule.given[-1]
            if profile.live_after_course is not None:
                assert window.start >= profile.live_after_course.after(schedule.given[-1])
        if live and window.kind == "pre_start":
            assert schedule.phase == NOT_STARTED
    if schedule.phase == STOPPED:
        assert not schedule.upcoming


@pytest.mark.parametrize("profile", CONTINUOUS + COURSES, ids=lambda p: p.id)
@pytest.mark.parametrize("gate", ["b_cell_repletion_on", "lymphocytes_normal_on"])
def test_a_gate_the_therapy_does_not_use_is_refused_naming_the_field(profile, gate):
    uses = gate == "lymphocytes_normal_on" and profile.lymphocytes_gate
    doses = (date(2026, 6, 1),) if isinstance(profile, CourseProfile) else ()
    treatment = Treatment(
        profile.name,
        doses=doses,
        start_date=date(2026, 6, 1),
        stopped_on=date(2026, 12, 1),
        **{gate: date(2027, 1, 15)},
    )
    as_of = date(2027, 3, 1)
    if uses:
        schedule_for(profile, treatment, as_of, as_of + timedelta(days=365))
        return
    with pytest.raises(InvalidInput) as refused:
        schedule_for(profile, treatment, as_of, as_of + timedelta(days=365))
    assert (f"treatment.{gate}", GATE_NOT_USED) in [(e.field, e.code) for e in refused.value.errors]
