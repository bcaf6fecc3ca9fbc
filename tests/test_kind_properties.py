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
from service.domain.courses import CourseProfile, courses_of
from service.domain.errors import InvalidInput
from service.domain.gates import GATE_NOT_USED
from service.domain.history import VaccineGiven
from service.domain.kinds import review_for, schedule_for, timing_for
from service.domain.schedule import NOT_STARTED, STOPPED, Treatment
from tests.kind_strategies import CONTINUOUS, COURSES, continuous_histories, course_histories

YELLOW_FEVER = load_ruleset().catalog.get("yellow-fever")


def _well_formed(timing, as_of, until):
    previous = None
    for window in timing.windows:
        assert as_of <= window.start <= window.end <= until
        assert previous is None or window.start > previous
        previous = window.end
    assert timing.status == (timing.windows[0].kind if timing.windows else "avoid")
    assert timing.rules and timing.reason


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


@settings(max_examples=300, deadline=None, derandomize=True)
@given(case=st.one_of(continuous_histories(), course_histories()), back=st.integers(1, 60))
def test_a_live_vaccine_inside_the_lead_time_before_any_start_is_always_flagged(case, back):
    profile, as_of, treatment, horizon = case
    if profile.live_lead is None:
        return  # no restriction: nothing to flag
    until = as_of + timedelta(days=horizon)
    schedule = schedule_for(profile, treatment, as_of, until)
    starts = [c.start for c in courses_of(profile, schedule)] if isinstance(profile, CourseProfile) else []
    start = starts[-1] if starts else schedule.first_dose
    day = start - timedelta(days=back)
    if not profile.live_last_day_before(start) < day or day > as_of:
        return  # outside the lead time, or not yet given
    yellow_fever = YELLOW_FEVER
    review = review_for(profile, schedule, [VaccineGiven(yellow_fever, day)], as_of)
    assert "live-vaccine-before-start" in [w.code for w in review.warnings], (profile.id, start, day)
