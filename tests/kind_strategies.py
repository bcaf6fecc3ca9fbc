"""Hypothesis strategies for histories of continuous and course therapies (tests/test_kind_properties.py, and
the every-profile properties of tests/test_properties.py): each draws (profile, as_of, Treatment, horizon_days),
for a given profile or one of every loaded profile of the kind."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from service.data.loader import load_ruleset
from service.domain.continuous import ContinuousProfile
from service.domain.courses import CourseProfile
from service.domain.intervals import shift
from service.domain.schedule import Treatment

PROFILES = load_ruleset().therapies.profiles
CONTINUOUS = [p for p in PROFILES if isinstance(p, ContinuousProfile)]
COURSES = [p for p in PROFILES if isinstance(p, CourseProfile)]
AS_OF = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def continuous_histories(draw, profile=None):
    profile = profile or draw(st.sampled_from(CONTINUOUS))
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
def course_histories(draw, profile=None):
    profile = profile or draw(st.sampled_from(COURSES))
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


def kind_histories(profile):
    """continuous_histories or course_histories of `profile`."""
    return continuous_histories(profile) if isinstance(profile, ContinuousProfile) else course_histories(profile)
