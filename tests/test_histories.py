"""Histories as clinics hold them: partial dose lists, the vaccine history against the first dose, repletion
dates typed in error, and a monthly cadence over month ends. Dates are worked by hand in each table.

Label: doses at weeks 0, 1 and 2, then monthly from week 4 (dose-to-dose 7, 7, 14, then 28 days or a month);
live vaccines at least 4 weeks and non-live at least 2 weeks (whenever possible) before the first dose.
"""

from __future__ import annotations

import pytest

from service.domain.errors import InvalidInput
from service.domain.planner import Immunization, PlanRequest, VaccineRequest, make_plan
from service.domain.schedule import Treatment, build_schedule
from service.domain.windows import plan_timing
from tests.helpers import d, days


def schedule(profile, as_of, until="2028-12-31", **treatment):
    doses = tuple(d(x) for x in treatment.pop("doses", ()))
    for key in ("start_date", "stopped_on", "b_cell_repletion_on"):
        if treatment.get(key) is not None:
            treatment[key] = d(treatment[key])
    return build_schedule(profile, Treatment("ofatumumab", doses=doses, **treatment), d(as_of), d(until))


def plan(ruleset, as_of, treatment, immunizations=(), vaccines=(("Shingrix", ()),), horizon=365):
    t = dict(treatment)
    doses = tuple(d(x) for x in t.pop("doses", ()))
    for key in ("start_date", "stopped_on", "b_cell_repletion_on"):
        if t.get(key) is not None:
            t[key] = d(t[key])
    request = PlanRequest(
        as_of=d(as_of),
        treatment=Treatment("ofatumumab", doses=doses, **t),
        vaccines=tuple(VaccineRequest(name=n, given=tuple(d(x) for x in g)) for n, g in vaccines),
        horizon_days=horizon,
        immunizations=tuple(Immunization(d(day), name=name) for name, day in immunizations),
    )
    return make_plan(request, ruleset.therapies, ruleset.catalog, ruleset.vaccine_rules)


def codes(p):
    return [w.code for w in p.warnings]


def iso(days_):
    return [x.isoformat() for x in days_]


def refused(profile, as_of, **treatment):
    with pytest.raises(InvalidInput) as raised:
        schedule(profile, as_of, **treatment)
    return {(e.field, e.code) for e in raised.value.errors}, raised.value.errors


EVERY_28 = [
    "2026-01-06",
    "2026-02-03",
    "2026-03-03",
    "2026-03-31",
    "2026-04-28",
    "2026-05-26",
    "2026-06-23",
    "2026-07-21",
    "2026-08-18",
    "2026-09-15",
    "2026-10-13",
    "2026-11-10",
]


# ---- partial histories: start_date earlier than the earliest listed dose -------------------------------


@pytest.mark.parametrize(
    "start, doses, as_of, phase, next_dose",
    [
        # "on Kesimpta since 2024, last injection 17 Nov": maintenance, next 17 Nov + 28
        ("2024-03-01", ["2026-11-17"], "2026-11-24", "maintenance", "2026-12-15"),
        ("2024-03-01", ["2026-10-20", "2026-11-17"], "2026-11-24", "maintenance", "2026-12-15"),
        ("2024-03-01", ["2026-09-22", "2026-10-20", "2026-11-17"], "2026-11-24", "maintenance", "2026-12-15"),
        ("2025-06-01", EVERY_28, "2026-11-24", "maintenance", "2026-12-08"),
        # near the start the distance to the start says which starter dose it was
        ("2026-11-01", ["2026-11-08"], "2026-11-10", "starter", "2026-11-15"),  # day 7: dose 2, +7
        ("2026-11-01", ["2026-11-15"], "2026-11-20", "starter", "2026-11-29"),  # day 14: dose 3, +14
        ("2026-11-01", ["2026-11-12"], "2026-11-20", "starter", "2026-11-26"),  # day 11: dose 3, 3 days early
        ("2026-11-01", ["2026-11-22"], "2026-11-24", "starter", "2026-12-06"),  # day 21: dose 3 a week late
        ("2026-11-01", ["2026-11-26"], "2026-11-28", "maintenance", "2026-12-24"),  # day 25: dose 4, 3 days early
        ("2026-11-01", ["2026-11-29"], "2026-12-01", "maintenance", "2026-12-27"),  # day 28: dose 4, +28
        # a gap inside the list: dose 2 on day 7, then day 28 is dose 4 (dose 3 unlisted), not dose 3
        ("2026-11-01", ["2026-11-08", "2026-11-29"], "2026-12-01", "maintenance", "2026-12-27"),
    ],
    ids=[
        "one-dose-since-2024",
        "two-doses",
        "three-doses",
        "many-doses",
        "dose-2-on-day-7",
        "dose-3-on-day-14",
        "dose-3-early",
        "dose-3-late",
        "dose-4-early",
        "dose-4-on-day-28",
        "unlisted-dose-3",
    ],
)
def test_a_partial_history_takes_the_phase_and_next_dose_from_the_dates(profile, start, doses, as_of, phase, next_dose):
    s = schedule(profile, as_of, start_date=start, doses=doses)
    assert (s.phase, s.next_dose, s.overdue, s.partial) == (phase, d(next_dose), False, True)
    assert s.first_dose == d(start) and iso(s.given) == sorted(doses)
    [warning] = [w for w in s.warnings if w.code == "history-assumed"]
    assert start in warning.message and next_dose in warning.message
    assert warning.rules == ("ofatumumab.partial-history",)


@pytest.mark.parametrize(
    "start, dose, as_of, said",
    [
        ("2026-11-01", "2026-11-08", "2026-11-10", "starter dose 2 (week 1)"),
        ("2026-11-01", "2026-11-15", "2026-11-20", "starter dose 3 (week 2)"),
        ("2026-11-01", "2026-12-02", "2026-12-03", "the first maintenance dose (week 4)"),  # day 31: 3 days late
        ("2026-11-01", "2026-12-03", "2026-12-03", "a maintenance dose"),  # day 32: a later one
        ("2024-03-01", "2026-11-17", "2026-11-24", "a maintenance dose"),
    ],
    ids=["week-1", "week-2", "week-4-late", "past-week-4", "since-2024"],
)
def test_the_warning_says_which_dose_the_latest_listed_one_was_taken_as(profile, start, dose, as_of, said):
    s = schedule(profile, as_of, start_date=start, doses=[dose])
    assert f"The latest listed dose, {dose}, is taken as {said}," in s.warnings[0].message


def test_the_travel_clinic_request_gets_the_next_dose_and_the_mid_cycle_slots(profile):
    s = schedule(profile, "2026-11-24", until="2027-02-28", start_date="2024-03-01", doses=["2026-11-17"])
    assert iso(s.projected(d("2027-02-28"))) == ["2026-12-15", "2027-01-12", "2027-02-09"]
    t = plan_timing(profile, s, False, d("2026-11-24"), d("2027-02-28"))
    # 28-day cycle: D+14 .. D+21 after 17 Nov, 15 Dec, 12 Jan, 9 Feb (the last one clipped to the horizon)
    assert [(w.kind, w.start.isoformat(), w.end.isoformat()) for w in t.windows] == [
        ("mid_cycle", "2026-12-01", "2026-12-08"),
        ("mid_cycle", "2026-12-29", "2027-01-05"),
        ("mid_cycle", "2027-01-26", "2027-02-02"),
        ("mid_cycle", "2027-02-23", "2027-02-28"),
    ]
    assert plan_timing(profile, s, True, d("2026-11-24"), d("2027-02-28")).status == "avoid"


def test_a_partial_history_whose_next_dose_has_passed_is_overdue(profile):
    s = schedule(profile, "2026-11-24", start_date="2024-03-01", doses=["2026-09-22"])
    assert (s.phase, s.next_dose, s.overdue) == ("maintenance", d("2026-11-24"), True)
    assert [w.code for w in s.warnings] == ["history-assumed", "dose-missed"]
    assert "2026-10-20" in s.warnings[1].message  # due 22 Sep + 28


def test_a_stopped_partial_history_says_what_it_assumed(profile):
    s = schedule(profile, "2026-11-24", start_date="2024-03-01", doses=["2026-06-02"], stopped_on="2026-06-30")
    assert s.phase == "stopped" and s.partial and [w.code for w in s.warnings] == ["history-assumed"]


@pytest.mark.parametrize(
    "tail",
    [1, 2, 3, 5, 8],
    ids=["last-dose", "last-two", "last-three", "last-five", "all-but-one"],
)
@pytest.mark.parametrize("as_of", ["2026-11-24", "2026-12-20"], ids=["on-time", "overdue"])
def test_listing_more_of_a_labelled_history_changes_nothing(profile, tail, as_of):
    # started 2 June 2026: 2, 9, 16 June, 30 June (week 4), then every 28 days
    run = ["2026-06-02", "2026-06-09", "2026-06-16", "2026-06-30", "2026-07-28", "2026-08-25", "2026-09-22"]
    run += ["2026-10-20", "2026-11-17"]
    full = schedule(profile, as_of, start_date="2026-06-02", doses=run)
    part = schedule(profile, as_of, start_date="2026-06-02", doses=run[-tail:])
    assert (part.phase, part.next_dose, part.overdue, part.upcoming) == (
        full.phase,
        full.next_dose,
        full.overdue,
        full.upcoming,
    )
    for live in (True, False):
        until = d(as_of) + days(365)
        assert plan_timing(profile, part, live, d(as_of), until) == plan_timing(profile, full, live, d(as_of), until)


# ---- doses without start_date ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "doses, as_of, phase, next_dose",
    [
        (["2026-11-10", "2026-11-17"], "2026-11-20", "starter", "2026-11-24"),  # 7 days: doses 1 and 2
        (["2026-11-07", "2026-11-17"], "2026-11-20", "starter", "2026-11-24"),  # 10 days: late within tolerance
        (["2026-11-13", "2026-11-17"], "2026-11-20", "starter", "2026-11-24"),  # 4 days: early within tolerance
        (["2026-11-01", "2026-11-08", "2026-11-15"], "2026-11-20", "starter", "2026-11-29"),
        (["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"], "2026-11-24", "maintenance", "2026-12-15"),
        # after the starter doses a late maintenance dose is the label's missed dose, not a partial history
        (
            ["2026-06-02", "2026-06-09", "2026-06-16", "2026-06-30", "2026-08-10"],
            "2026-08-20",
            "maintenance",
            "2026-09-07",
        ),
    ],
    ids=["two-7-days", "two-10-days", "two-4-days", "three-starter", "four-labelled", "late-maintenance"],
)
def test_doses_spaced_as_the_starter_doses_read_as_a_new_start(profile, doses, as_of, phase, next_dose):
    s = schedule(profile, as_of, doses=doses)
    assert (s.phase, s.next_dose, s.partial, s.first_dose) == (phase, d(next_dose), False, d(doses[0]))
    assert "ofatumumab.starter-spacing" in s.rules


@pytest.mark.parametrize(
    "doses",
    [
        ["2026-11-17"],  # one dose: the first of a new start, or the latest of an established therapy?
        ["2026-10-20", "2026-11-17"],  # 28 days apart: cannot be doses 1 and 2
        ["2026-11-06", "2026-11-17"],  # 11 days: beyond the 3-day tolerance
        ["2026-11-14", "2026-11-17"],  # 3 days
        ["2026-09-22", "2026-10-20", "2026-11-17"],  # three monthly doses
        ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-24"],  # week 2 to week 4 is 21 days
        EVERY_28,
    ],
    ids=["one-dose", "two-28-days", "two-11-days", "two-3-days", "three-monthly", "fourth-late", "many-monthly"],
)
def test_doses_that_cannot_be_a_new_start_are_refused_without_start_date(profile, doses):
    found, errors = refused(profile, "2026-11-24", doses=doses)
    assert found == {("treatment.start_date", "partial_history")}
    # the message says how to state a partial history, and how to confirm a new start
    assert "start_date" in errors[0].message and min(doses) in errors[0].message


def test_the_same_doses_with_start_date_equal_to_the_earliest_are_a_complete_history(profile):
    # dose 2 came three weeks late: stated as a complete history, the label's missed-dose rule applies
    s = schedule(profile, "2026-11-18", start_date="2026-10-20", doses=["2026-10-20", "2026-11-17"])
    assert (s.phase, s.next_dose, s.partial) == ("starter", d("2026-11-24"), False)


def test_a_start_date_after_the_earliest_dose_is_refused(profile):
    found, _ = refused(profile, "2026-11-24", start_date="2026-11-18", doses=["2026-11-17"])
    assert found == {("treatment.start_date", "invalid")}


# ---- the vaccine history against the first dose --------------------------------------------------------


@pytest.mark.parametrize(
    "before, warned, earliest",
    [
        (1, True, "2026-12-28"),  # MMR 30 Nov, start 1 Dec: 30 Nov + 28
        (27, True, "2026-12-02"),  # 4 Nov: the start one day short of 4 weeks
        (28, False, "2026-12-01"),  # 3 Nov: exactly 4 weeks, allowed; still after as_of, so stated
        (29, False, None),  # 2 Nov + 28 = 30 Nov = as_of: nothing left to wait for
    ],
    ids=["1-day", "27-days", "28-days", "29-days"],
)
def test_a_live_vaccine_before_a_planned_start(ruleset, before, warned, earliest):
    day = (d("2026-12-01") - days(before)).isoformat()
    p = plan(ruleset, "2026-11-30", {"start_date": "2026-12-01"}, immunizations=[("MMR", day)])
    assert ("live-vaccine-before-start" in codes(p)) is warned
    assert p.earliest_start == (d(earliest) if earliest else None)
    if warned:
        [w] = [w for w in p.warnings if w.code == "live-vaccine-before-start"]
        assert day in w.message and earliest in w.message and w.rules == ("ofatumumab.live-vaccine-before-start",)


@pytest.mark.parametrize(
    "before, warned",
    [(1, True), (27, True), (28, False), (29, False)],
    ids=["1-day", "27-days", "28-days", "29-days"],
)
def test_a_live_vaccine_before_an_actual_first_dose(ruleset, before, warned):
    day = (d("2026-11-01") - days(before)).isoformat()
    p = plan(ruleset, "2026-11-24", {"doses": ["2026-11-01", "2026-11-08", "2026-11-15"]}, [("Varivax", day)])
    assert ("live-vaccine-before-start" in codes(p)) is warned
    assert p.earliest_start is None  # already started
    if warned:
        [w] = [w for w in p.warnings if w.code == "live-vaccine-before-start"]
        assert (d(day) + days(28)).isoformat() in w.message


def test_a_live_dose_in_a_given_list_counts_like_an_immunization(ruleset):
    p = plan(ruleset, "2026-11-30", {"start_date": "2026-12-10"}, vaccines=[("MMR", ["2026-11-25"])])
    assert "live-vaccine-before-start" in codes(p) and p.earliest_start == d("2026-12-23")


def test_the_latest_live_vaccine_sets_the_earliest_start_even_when_the_planned_start_respects_it(ruleset):
    p = plan(ruleset, "2026-11-30", {"start_date": "2027-03-01"}, [("MMR", "2026-10-20"), ("Stamaril", "2026-11-27")])
    assert p.earliest_start == d("2026-12-25") and codes(p) == []


@pytest.mark.parametrize(
    "name, day, expected",
    [
        ("MMR", "2026-11-20", ["live-vaccine-during-therapy"]),  # live between maintenance doses
        ("MMR", "2026-11-01", ["live-vaccine-during-therapy"]),  # live on the first dose day
        ("Shingrix", "2026-11-20", []),  # non-live during therapy: permitted
        ("Shingrix", "2026-10-19", ["non-live-vaccine-near-start"]),  # 13 days before the first dose
        ("Shingrix", "2026-10-31", ["non-live-vaccine-near-start"]),  # 1 day before
        ("Shingrix", "2026-10-18", []),  # 14 days before: the label's 2 weeks
    ],
    ids=[
        "live-mid-cycle",
        "live-on-first-dose",
        "non-live-mid-cycle",
        "non-live-13-days",
        "non-live-1-day",
        "non-live-14",
    ],
)
def test_vaccines_recorded_around_and_during_therapy(ruleset, name, day, expected):
    p = plan(ruleset, "2026-11-24", {"doses": ["2026-11-01", "2026-11-08", "2026-11-15"]}, [(name, day)])
    assert codes(p) == expected
    if expected:
        assert day in p.warnings[0].message


def test_a_live_vaccine_during_therapy_is_flagged_in_a_partial_history_too(ruleset):
    p = plan(ruleset, "2026-11-24", {"start_date": "2024-03-01", "doses": ["2026-11-17"]}, [("Stamaril", "2025-06-01")])
    assert codes(p) == ["history-assumed", "live-vaccine-during-therapy"]


@pytest.mark.parametrize(
    "day, expected",
    [
        ("2026-09-01", ["live-vaccine-during-therapy"]),  # after stopping, before repletion was confirmed
        ("2026-10-15", []),  # after confirmed repletion
    ],
    ids=["before-repletion", "after-repletion"],
)
def test_a_live_vaccine_after_stopping_counts_only_once_replete(ruleset, day, expected):
    treatment = {
        "doses": ["2026-02-02", "2026-02-09", "2026-02-16", "2026-03-02"],
        "stopped_on": "2026-03-02",
        "b_cell_repletion_on": "2026-10-01",
    }
    assert codes(plan(ruleset, "2026-11-24", treatment, [("MMR", day)])) == expected


def test_a_non_live_vaccine_near_a_planned_start_is_an_advisory(ruleset):
    p = plan(ruleset, "2026-11-30", {"start_date": "2026-12-05"}, [("Tdap", "2026-11-28")])
    assert codes(p) == ["non-live-vaccine-near-start"] and p.earliest_start is None
    assert "2026-12-12" in p.warnings[0].message  # 28 Nov + 14


# ---- B-cell repletion ----------------------------------------------------------------------------------

STOPPED_IN_MARCH = {"doses": ["2026-02-02", "2026-02-09", "2026-02-16", "2026-03-02"], "stopped_on": "2026-03-02"}


@pytest.mark.parametrize(
    "after, accepted, warned",
    [
        (0, False, False),  # the day of the last dose
        (27, False, False),
        (28, True, True),  # one dosing interval: accepted, but sooner than the median
        (172, True, True),
        (173, True, False),  # 24.6 weeks, rounded up
        (200, True, False),
    ],
    ids=["same-day", "27-days", "28-days", "172-days", "173-days", "200-days"],
)
def test_a_repletion_date_is_checked_against_the_last_dose(profile, after, accepted, warned):
    repletion = (d("2026-03-02") + days(after)).isoformat()
    # stopped on the last dose day; for the same-day case stopped_on must not follow the repletion
    treatment = {**STOPPED_IN_MARCH, "b_cell_repletion_on": repletion}
    if not accepted:
        found, errors = refused(profile, repletion, **treatment)
        assert found == {("treatment.b_cell_repletion_on", "implausible_repletion")}
        assert "2026-03-30" in errors[0].message  # the earliest date it accepts
        return
    s = schedule(profile, repletion, **treatment)
    assert ("repletion-before-median" in [w.code for w in s.warnings]) is warned
    live = plan_timing(profile, s, True, d(repletion), d(repletion) + days(365))
    non_live = plan_timing(profile, s, False, d(repletion), d(repletion) + days(365))
    assert live.windows[0].start == d(repletion) >= non_live.windows[0].start


def test_a_repletion_date_after_an_assumed_schedule_is_checked_against_its_last_dose(profile):
    # no doses listed: 1, 8, 15 Feb and 1 Mar are assumed; stopped 10 Mar; 20 Mar is 19 days after 1 Mar
    found, _ = refused(
        profile, "2026-11-24", start_date="2026-02-01", stopped_on="2026-03-10", b_cell_repletion_on="2026-03-20"
    )
    assert found == {("treatment.b_cell_repletion_on", "implausible_repletion")}


# ---- a monthly cadence over month ends ----------------------------------------------------------------


@pytest.mark.parametrize(
    "treatment, as_of, projected",
    [
        # complete history, week 4 on 31 Dec: 31 Jan, 29 Feb, then back to the 31st
        (
            {"doses": ["2027-12-03", "2027-12-10", "2027-12-17", "2027-12-31", "2028-01-31", "2028-02-29"]},
            "2028-03-01",
            ["2028-03-31", "2028-04-30", "2028-05-31"],
        ),
        # the same patient a month earlier
        (
            {"doses": ["2027-12-03", "2027-12-10", "2027-12-17", "2027-12-31", "2028-01-31"]},
            "2028-02-01",
            ["2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31"],
        ),
        # partial history listing the month ends
        (
            {"start_date": "2024-03-01", "doses": ["2027-12-31", "2028-01-31", "2028-02-29"]},
            "2028-03-01",
            ["2028-03-31", "2028-04-30", "2028-05-31"],
        ),
        # partial history listing only 29 Feb: the start's calendar (3 Jan 2024, week 4 on the 31st) says 31 Mar
        (
            {"start_date": "2024-01-03", "doses": ["2028-02-29"]},
            "2028-03-01",
            ["2028-03-31", "2028-04-30", "2028-05-31"],
        ),
        # the same dose with a start whose week 4 fell on the 29th: the 29th it is
        (
            {"start_date": "2024-03-01", "doses": ["2028-02-29"]},
            "2028-03-01",
            ["2028-03-29", "2028-04-29", "2028-05-29"],
        ),
        # a dose given off the calendar (2 Feb instead of 31 Jan) restarts it from that day, as the label says
        (
            {"doses": ["2027-12-03", "2027-12-10", "2027-12-17", "2027-12-31", "2028-02-02"]},
            "2028-02-10",
            ["2028-03-02", "2028-04-02", "2028-05-02"],
        ),
    ],
    ids=["after-29-feb", "before-29-feb", "partial-month-ends", "partial-start-31st", "partial-start-29th", "restart"],
)
def test_a_monthly_cadence_keeps_its_day_through_29_february_2028(profile, treatment, as_of, projected):
    s = schedule(profile, as_of, until="2028-05-31", cadence="monthly", **treatment)
    assert iso(s.projected(d("2028-05-31"))) == projected and not s.overdue


# ---- over HTTP -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "treatment, field, code",
    [
        ({"doses": ["2026-11-17"]}, "treatment.start_date", "partial_history"),
        ({"doses": ["2026-10-20", "2026-11-17"]}, "treatment.start_date", "partial_history"),
        (
            {"doses": ["2026-10-20", "2026-10-27"], "start_date": "2026-10-20", "stopped_on": "2026-10-27"}
            | {"b_cell_repletion_on": "2026-11-20"},
            "treatment.b_cell_repletion_on",
            "implausible_repletion",
        ),
    ],
    ids=["one-dose", "two-monthly-doses", "repletion-24-days-after-a-dose"],
)
def test_histories_the_service_will_not_guess_about_are_a_422_naming_the_field(client, treatment, field, code):
    r = client.post(
        "/v1/plans",
        json={"as_of": "2026-11-24", "treatment": {"drug": "Kesimpta", **treatment}, "vaccines": [{"name": "MMR"}]},
    )
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    [error] = r.get_json()["errors"]
    assert (error["field"], error["code"]) == (field, code)


def test_on_kesimpta_since_2024_last_injection_17_november_in_one_request(client):
    r = client.post(
        "/v1/plans",
        json={
            "as_of": "2026-11-24",
            "treatment": {"drug": "Kesimpta", "start_date": "2024-03-01", "doses": ["2026-11-17"]},
            "vaccines": [{"name": "Shingrix"}, {"name": "yellow fever"}],
            "immunizations": [{"name": "MMR", "date": "2025-05-02"}],
        },
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    t = body["treatment"]
    assert (t["phase"], t["start_date"], t["next_dose"], t["overdue"], t["earliest_start"]) == (
        "maintenance",
        "2024-03-01",
        "2026-12-15",
        False,
        None,
    )
    shingrix, yellow_fever = body["vaccines"]
    assert shingrix["windows"][0] == {"kind": "mid_cycle", "start": "2026-12-01", "end": "2026-12-08"}
    assert shingrix["proposed"][0] == {"dose": 1, "date": "2026-12-01"}
    assert yellow_fever["status"] == "avoid" and yellow_fever["proposed"] == []
    assert [w["code"] for w in body["warnings"]] == ["history-assumed", "live-vaccine-during-therapy"]


def test_a_recent_live_vaccine_moves_the_earliest_start_over_http(client):
    r = client.post(
        "/v1/plans",
        json={
            "as_of": "2026-11-24",
            "treatment": {"drug": "ofatumumab", "start_date": "2026-12-04"},
            "vaccines": [{"name": "Shingrix"}],
            "immunizations": [{"cvx": "03", "date": "2026-11-19"}],
        },
    )
    body = r.get_json()
    assert body["treatment"]["earliest_start"] == "2026-12-17"  # MMR 19 Nov + 28
    [warning] = body["warnings"]
    assert warning["code"] == "live-vaccine-before-start" and "2026-12-17" in warning["message"]
    assert warning["rules"] == ["ofatumumab.live-vaccine-before-start"]


# ---- therapy doses that cannot follow the labelled schedule --------------------------------------------

# Labelled dose-to-dose: 7, 7, 14 days, then 28 days (or a month). A dose that cannot be the next labelled one
# is nearer the dose before it than its labelled day (gap < half the labelled gap); a dose a few days early (a
# clinic's calendar) or late (the label's missed dose) is not named.
INCONSISTENT = [
    # a complete history from its first dose: the starter doses 2 days apart (7 labelled)
    (
        {"start_date": "2026-10-20", "doses": ["2026-10-20", "2026-10-22", "2026-11-03", "2026-11-17"]},
        ["2026-10-22 is 2 days after 2026-10-20, where the labelled schedule gives 7"],
    ),
    # deep in maintenance (a partial history from a start in January 2025): two doses 7 days apart
    (
        {"start_date": "2025-01-10", "doses": ["2026-09-01", "2026-09-08", "2026-10-06", "2026-11-03"]},
        ["2026-09-08 is 7 days after 2026-09-01, where the labelled schedule gives 28"],
    ),
    # 13 days (13 * 2 < 28), and after a late dose (10-09) the next 13 days on; 14 days is half: not named
    (
        {"start_date": "2025-01-10", "doses": ["2026-08-04", "2026-08-17", "2026-09-30", "2026-10-13", "2026-10-27"]},
        [
            "2026-08-17 is 13 days after 2026-08-04, where the labelled schedule gives 28",
            "2026-10-13 is 13 days after 2026-09-30, where the labelled schedule gives 28",
        ],
    ),
    # doses a few days early (24, 22 days) or late, the labelled schedule, starters 3 days off: nothing to say
    ({"start_date": "2025-01-10", "doses": ["2026-09-01", "2026-09-25", "2026-10-27", "2026-11-18"]}, []),
    ({"start_date": "2026-10-20", "doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]}, []),
    ({"start_date": "2026-10-20", "doses": ["2026-10-20", "2026-10-24", "2026-10-31", "2026-11-14"]}, []),
    # a monthly cadence: 31 January to 28 February is one labelled month; 31 March to 12 April is not
    ({"start_date": "2025-01-10", "cadence": "monthly", "doses": ["2026-01-31", "2026-02-28", "2026-03-31"]}, []),
    (
        {"start_date": "2025-01-10", "cadence": "monthly", "doses": ["2026-03-31", "2026-04-12"]},
        ["2026-04-12 is 12 days after 2026-03-31, where the labelled schedule gives 30"],
    ),
    # a partial history still in its starter doses: 10-27 is dose 2, 10-29 (9 days from the start) dose 3
    (
        {"start_date": "2026-10-20", "doses": ["2026-10-27", "2026-10-29"]},
        ["2026-10-29 is 2 days after 2026-10-27, where the labelled schedule gives 7"],
    ),
    # no doses listed: the labelled schedule is assumed, so nothing is checked
    ({"start_date": "2026-01-06"}, []),
]


@pytest.mark.parametrize("treatment, named", INCONSISTENT)
def test_doses_that_cannot_follow_the_labelled_schedule_are_named(ruleset, treatment, named):
    p = plan(ruleset, "2026-11-24", treatment)
    found = [w for w in p.warnings if w.code == "history-inconsistent"]
    if not named:
        assert found == []
        return
    (warning,) = found
    for text in named:
        assert text in warning.message
    assert warning.message.count("where the labelled schedule gives") == len(named)
    assert warning.rules == ("ofatumumab.schedule",)


# ---- one basis for the two B-cell timers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "stopped_on, repletion, recheck, warned",
    [
        # last dose 03-02 + 173 days = 08-22, whatever the stop date
        ("2026-03-02", None, "2026-08-22", None),
        ("2026-04-15", None, "2026-08-22", None),
        # repletion 172 days after the last dose: sooner than the median, counted from the same day
        ("2026-04-15", "2026-08-21", None, True),
        ("2026-04-15", "2026-08-22", None, False),
    ],
)
def test_the_recheck_date_and_the_median_warning_count_from_the_last_dose(
    ruleset, stopped_on, repletion, recheck, warned
):
    treatment = {"doses": STOPPED_IN_MARCH["doses"], "stopped_on": stopped_on, "b_cell_repletion_on": repletion}
    p = plan(ruleset, "2026-11-24", treatment, vaccines=(("MMR", ()),))
    (mmr,) = p.vaccines
    if recheck is not None:
        assert mmr.timing.b_cell_recheck_on == d(recheck)
        assert "counted here from the last dose (2026-03-02)" in mmr.timing.reason
    else:
        found = [w for w in p.warnings if w.code == "repletion-before-median"]
        assert bool(found) is warned
        if found:
            assert "after the last dose 2026-03-02" in found[0].message
            assert "counted from the last dose (as b_cell_recheck_on is)" in found[0].message


def test_the_warning_and_the_recheck_basis_through_rest(client):
    body = {
        "as_of": "2026-11-24",
        "treatment": {"drug": "ofatumumab", "start_date": "2025-01-10", "doses": ["2026-09-01", "2026-09-08"]},
        "vaccines": [{"name": "Shingrix"}],
    }
    answer = client.post("/v1/plans", json=body).get_json()
    (warning,) = [w for w in answer["warnings"] if w["code"] == "history-inconsistent"]
    assert "2026-09-08 is 7 days after 2026-09-01, where the labelled schedule gives 28" in warning["message"]
    stopped = {"drug": "ofatumumab", "doses": STOPPED_IN_MARCH["doses"], "stopped_on": "2026-04-15"}
    answer = client.post("/v1/plans", json=body | {"treatment": stopped, "vaccines": [{"name": "MMR"}]}).get_json()
    assert answer["vaccines"][0]["b_cell_recheck_on"] == "2026-08-22"  # 03-02 + 173 days, not 04-15 + 173


# Other profiles, the same rule: ocrelizumab 300 mg on days 1 and 15, then every 24 weeks counted from day 1
# (01-05 + 168 days = 06-22: dose 3 is 154 days after dose 2, each later dose 168 after the one before);
# rituximab in MS is off-label ("infusions as listed"): no labelled schedule, nothing named.
OTHER_PROFILES = [
    ("ocrelizumab", {"start_date": "2026-01-05", "doses": ["2026-01-05", "2026-01-19", "2026-06-08"]}, []),
    (
        "ocrelizumab",
        {"start_date": "2026-01-05", "doses": ["2026-01-05", "2026-01-19", "2026-06-08", "2026-07-06"]},
        ["2026-07-06 is 28 days after 2026-06-08, where the labelled schedule gives 168"],
    ),
    (
        "ocrelizumab",
        {"start_date": "2026-01-05", "doses": ["2026-01-05", "2026-01-19", "2026-03-30"]},
        ["2026-03-30 is 70 days after 2026-01-19, where the labelled schedule gives 154"],
    ),
    ("rituximab", {"start_date": "2025-01-10", "doses": ["2026-01-05", "2026-01-19", "2026-02-02"]}, []),
]


@pytest.mark.parametrize("drug, treatment, named", OTHER_PROFILES)
def test_the_check_follows_each_profiles_own_schedule(client, drug, treatment, named):
    body = {"as_of": "2026-08-01", "treatment": {"drug": drug, **treatment}, "vaccines": [{"name": "Shingrix"}]}
    answer = client.post("/v1/plans", json=body).get_json()
    found = [w["message"] for w in answer["warnings"] if w["code"] == "history-inconsistent"]
    assert len(found) == (1 if named else 0)
    for text in named:
        assert text in found[0]
