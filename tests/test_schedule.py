"""The ofatumumab dose schedule, table-driven, with hand-checked dates.

Label: weeks 0, 1, 2, then monthly from week 4 (dose-to-dose 7, 7, 14, then 28 days or a calendar month).
"""

from __future__ import annotations

import pytest

from service.domain.errors import InvalidInput
from service.domain.schedule import Treatment, build_schedule
from tests.helpers import d


def schedule(profile, as_of, until="2028-12-31", **treatment):
    doses = tuple(d(x) for x in treatment.pop("doses", ()))
    for key in ("start_date", "stopped_on", "b_cell_repletion_on"):
        if key in treatment and treatment[key] is not None:
            treatment[key] = d(treatment[key])
    return build_schedule(profile, Treatment("ofatumumab", doses=doses, **treatment), d(as_of), d(until))


def iso(days):
    return [x.isoformat() for x in days]


def test_planned_start_projects_starter_then_every_28_days(profile):
    s = schedule(profile, "2026-11-24", until="2027-04-30", start_date="2027-01-05")
    assert s.phase == "not_started"
    assert s.next_dose == d("2027-01-05") and not s.overdue
    assert iso(s.projected(d("2027-04-30"))) == [
        "2027-01-05",
        "2027-01-12",
        "2027-01-19",
        "2027-02-02",
        "2027-03-02",
        "2027-03-30",
        "2027-04-27",
    ]


@pytest.mark.parametrize(
    "doses, as_of, phase, next_dose",
    [
        # after dose 1: +7 days
        (["2026-11-10"], "2026-11-14", "starter", "2026-11-17"),
        # after dose 2: +7 days
        (["2026-11-03", "2026-11-10"], "2026-11-14", "starter", "2026-11-17"),
        # after dose 3 (week 2): +14 days to week 4; still starter until the first maintenance dose
        (["2026-10-27", "2026-11-03", "2026-11-10"], "2026-11-14", "starter", "2026-11-24"),
        # after dose 4 (week 4): +28 days, maintenance
        (["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"], "2026-11-24", "maintenance", "2026-12-15"),
        # dose given on as_of itself counts as given: the next one is 7 days later
        (["2026-11-24"], "2026-11-24", "starter", "2026-12-01"),
    ],
    ids=["after dose 1", "after dose 2", "after dose 3", "after dose 4 maintenance", "dose given on as_of"],
)
def test_each_starter_gap_and_the_first_maintenance_gap(profile, doses, as_of, phase, next_dose):
    # start_date = the earliest dose: the list is the complete history of a new start
    s = schedule(profile, as_of, doses=doses, start_date=min(doses))
    assert (s.phase, s.next_dose, s.overdue) == (phase, d(next_dose), False)


def test_doses_may_come_in_any_order(profile):
    s = schedule(profile, "2026-11-24", doses=["2026-11-17", "2026-10-20", "2026-11-03", "2026-10-27"])
    assert iso(s.given) == ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]
    assert s.next_dose == d("2026-12-15")


def test_missed_dose_is_due_on_as_of_and_the_schedule_restarts_from_it(profile):
    # due 2026-10-27 (09-29 + 28), not given by 11-24
    s = schedule(
        profile, "2026-11-24", until="2027-02-28", doses=["2026-09-01", "2026-09-08", "2026-09-15", "2026-09-29"]
    )
    assert s.overdue and s.next_dose == d("2026-11-24")
    assert iso(s.projected(d("2027-02-28"))) == ["2026-11-24", "2026-12-22", "2027-01-19", "2027-02-16"]
    assert "ofatumumab.missed-dose" in s.rules
    assert any("missed" in w.message and w.code == "dose-missed" for w in s.warnings)


def test_missed_starter_dose_restarts_at_the_starter_interval(profile):
    # dose 2 was due 2026-11-10; on 11-24 it is given that day, dose 3 seven days later
    s = schedule(profile, "2026-11-24", doses=["2026-11-03"], start_date="2026-11-03")
    assert s.overdue and iso(s.upcoming[:3]) == ["2026-11-24", "2026-12-01", "2026-12-15"]


@pytest.mark.parametrize(
    "as_of, overdue, next_dose",
    [
        ("2026-11-23", False, "2026-11-24"),  # the day before it is due
        ("2026-11-24", False, "2026-11-24"),  # due today is not overdue
        ("2026-11-25", True, "2026-11-25"),  # one day late: overdue, due now
    ],
    ids=["day before due", "due today", "one day late"],
)
def test_overdue_edge_around_the_due_day(profile, as_of, overdue, next_dose):
    s = schedule(profile, as_of, doses=["2026-09-01", "2026-09-08", "2026-09-15", "2026-09-29", "2026-10-27"])
    assert (s.overdue, s.next_dose) == (overdue, d(next_dose))


def test_monthly_cadence_keeps_the_calendar_day_over_month_ends(profile):
    s = schedule(
        profile,
        "2027-02-01",
        until="2027-07-01",
        cadence="monthly",
        doses=["2027-01-03", "2027-01-10", "2027-01-17", "2027-01-31"],
    )
    assert iso(s.projected(d("2027-07-01"))) == ["2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30"]


def test_monthly_cadence_over_29_february_in_a_leap_year(profile):
    s = schedule(
        profile,
        "2028-02-01",
        until="2028-04-30",
        cadence="monthly",
        doses=["2028-01-03", "2028-01-10", "2028-01-17", "2028-01-31"],
    )
    assert iso(s.projected(d("2028-04-30"))) == ["2028-02-29", "2028-03-31", "2028-04-30"]


def test_monthly_cadence_from_a_dose_given_on_29_february(profile):
    s = schedule(
        profile,
        "2028-03-01",
        until="2028-06-01",
        cadence="monthly",
        start_date="2028-01-18",  # dose 4 came two weeks late: a complete history, not a starter spacing
        doses=["2028-01-18", "2028-01-25", "2028-02-01", "2028-02-29"],
    )
    assert iso(s.projected(d("2028-06-01"))) == ["2028-03-29", "2028-04-29", "2028-05-29"]


def test_every_4_weeks_crosses_29_february_by_day_count(profile):
    s = schedule(
        profile, "2028-02-16", until="2028-05-01", doses=["2028-01-04", "2028-01-11", "2028-01-18", "2028-02-01"]
    )
    assert iso(s.projected(d("2028-05-01"))) == ["2028-02-29", "2028-03-28", "2028-04-25"]


def test_start_in_the_past_without_doses_assumes_the_labelled_schedule(profile):
    s = schedule(profile, "2026-11-24", start_date="2026-11-01")
    assert s.assumed and iso(s.given) == ["2026-11-01", "2026-11-08", "2026-11-15"]
    assert s.phase == "starter" and s.next_dose == d("2026-11-29") and not s.overdue
    assert s.warnings and "assumed" in s.warnings[0].message and s.warnings[0].code == "history-assumed"


def test_start_on_as_of_without_doses_counts_todays_dose_as_given(profile):
    s = schedule(profile, "2026-11-24", start_date="2026-11-24")
    assert s.assumed and iso(s.given) == ["2026-11-24"] and s.next_dose == d("2026-12-01")


def test_assumed_monthly_schedule_keeps_its_month_end_anchor(profile):
    s = schedule(profile, "2027-03-29", cadence="monthly", start_date="2027-01-03")
    assert iso(s.given)[-2:] == ["2027-01-31", "2027-02-28"]
    assert s.next_dose == d("2027-03-31") and not s.overdue


def test_stopped_therapy_has_no_next_dose(profile):
    s = schedule(profile, "2026-11-24", doses=["2026-09-01", "2026-09-08"], stopped_on="2026-09-20")
    assert s.phase == "stopped" and s.next_dose is None and s.upcoming == ()


@pytest.mark.parametrize(
    "treatment, field",
    [
        ({"doses": ["2026-11-25"]}, "treatment.doses[0]"),
        ({"doses": ["2026-11-01", "2026-11-08", "2026-11-01"]}, "treatment.doses[2]"),
        ({"doses": ["2026-11-01"], "start_date": "2026-11-02"}, "treatment.start_date"),
        ({}, "treatment.start_date"),
        ({"doses": ["2026-11-01", "2026-11-08"], "stopped_on": "2026-11-07"}, "treatment.stopped_on"),
        ({"doses": ["2026-11-01"], "stopped_on": "2026-11-25"}, "treatment.stopped_on"),
        ({"start_date": "2026-12-01", "stopped_on": "2026-11-20"}, "treatment.stopped_on"),
        ({"doses": ["2026-11-01"], "b_cell_repletion_on": "2026-11-20"}, "treatment.b_cell_repletion_on"),
        (
            {"doses": ["2026-11-01"], "stopped_on": "2026-11-10", "b_cell_repletion_on": "2026-11-09"},
            "treatment.b_cell_repletion_on",
        ),
        (
            {"doses": ["2026-11-01"], "stopped_on": "2026-11-10", "b_cell_repletion_on": "2026-11-25"},
            "treatment.b_cell_repletion_on",
        ),
        ({"doses": ["2026-11-01"], "cadence": "weekly"}, "treatment.cadence"),
    ],
    ids=[
        "dose after as_of",
        "repeated dose",
        "start after first dose",
        "no start nor doses",
        "stopped before last dose",
        "stopped after as_of",
        "stopped before planned start",
        "repletion without stop",
        "repletion before stop",
        "repletion after as_of",
        "unknown cadence",
    ],
)
def test_impossible_histories_are_rejected_naming_the_field(profile, treatment, field):
    with pytest.raises(InvalidInput) as raised:
        schedule(profile, "2026-11-24", **treatment)
    assert field in [e.field for e in raised.value.errors]


def test_stopped_on_the_last_dose_day_is_accepted(profile):
    s = schedule(profile, "2026-11-24", doses=["2026-11-01"], start_date="2026-11-01", stopped_on="2026-11-01")
    assert s.phase == "stopped"
