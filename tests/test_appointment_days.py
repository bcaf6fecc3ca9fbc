"""`appointment_days`: doses proposed only on a clinic's opening days, inside the permitted windows.

Table tests on the placement itself (service/domain/series.propose), hand-worked dates with their weekdays, then
the same through POST /v1/plans: the field's validation, its default, and the reason that says a window was
passed over.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.intervals import Interval
from service.domain.series import (
    EVERY_DAY,
    MINIMUM,
    RECOMMENDED,
    AppointmentDays,
    Series,
    SeriesDose,
    SeriesInterval,
    passed_over_note,
    propose,
)
from service.domain.windows import MID_CYCLE, PRE_START, Window

WEEKDAYS_ONLY = AppointmentDays.named(("mon", "tue", "wed", "thu", "fri"))
MON_WED = AppointmentDays.named(("mon", "wed"))
SUNDAY = AppointmentDays.named(("sun",))

ONE_DOSE = Series("x", (SeriesDose(1),), "x.series")
# Two doses, at least 28 days apart (recommended 8 weeks): a minimum interval the appointment days must not cut.
TWO_DOSES = Series(
    "x",
    (SeriesDose(1), SeriesDose(2, (SeriesInterval(1, Interval.parse("28 days"), Interval.parse("8 weeks")),))),
    "x.series",
)


def d(text: str) -> date:
    return date.fromisoformat(text)


def w(kind: str, start: str, end: str) -> Window:
    return Window(kind, d(start), d(end))


# 2026-11-28 is a Saturday, 2026-11-29 a Sunday, 2026-11-30 a Monday.
CASES = [
    # (id, series, given, windows, as_of, basis, days, proposed days, passed-over windows, unplaced)
    (
        "weekend-window-passed-over-for-the-next-window",
        ONE_DOSE,
        (),
        (w(PRE_START, "2026-11-28", "2026-11-29"), w(MID_CYCLE, "2026-12-09", "2026-12-15")),
        "2026-11-28",
        RECOMMENDED,
        WEEKDAYS_ONLY,
        ["2026-12-09"],
        [("2026-11-28", "2026-11-29")],
        (),
    ),
    (
        "single-day-window-on-a-sunday-passed-over-on-weekdays",
        ONE_DOSE,
        (),
        (w(PRE_START, "2026-11-29", "2026-11-29"), w(MID_CYCLE, "2026-12-14", "2026-12-20")),
        "2026-11-24",
        RECOMMENDED,
        WEEKDAYS_ONLY,
        ["2026-12-14"],
        [("2026-11-29", "2026-11-29")],
        (),
    ),
    (
        "single-day-window-on-a-sunday-used-by-a-clinic-open-on-sunday",
        ONE_DOSE,
        (),
        (w(PRE_START, "2026-11-29", "2026-11-29"), w(MID_CYCLE, "2026-12-14", "2026-12-20")),
        "2026-11-24",
        RECOMMENDED,
        SUNDAY,
        ["2026-11-29"],
        [],
        (),
    ),
    (
        "a-saturday-start-moves-to-monday-inside-the-same-window",
        ONE_DOSE,
        (),
        (w(PRE_START, "2026-11-28", "2026-12-04"),),
        "2026-11-28",
        RECOMMENDED,
        WEEKDAYS_ONLY,
        ["2026-11-30"],
        [],
        (),
    ),
    (
        "no-window-holds-an-allowed-day-so-the-dose-is-unplaced",
        ONE_DOSE,
        (),
        (w(PRE_START, "2026-11-28", "2026-11-29"), w(MID_CYCLE, "2026-12-05", "2026-12-06")),
        "2026-11-24",
        RECOMMENDED,
        WEEKDAYS_ONLY,
        [],
        [("2026-11-28", "2026-11-29"), ("2026-12-05", "2026-12-06")],
        (1,),
    ),
    (
        # Dose 1 Wed 2 Dec 2026; 28 days later is Wed 30 Dec, an allowed day: the minimum itself.
        "the-minimum-interval-kept-when-it-lands-on-an-allowed-day",
        TWO_DOSES,
        (),
        (w(PRE_START, "2026-12-01", "2027-03-01"),),
        "2026-12-01",
        MINIMUM,
        MON_WED,
        ["2026-12-02", "2026-12-30"],
        [],
        (),
    ),
    (
        # Dose 1 given Fri 4 Dec 2026; 28 days later is Fri 1 Jan 2027: the next Monday or Wednesday after it, never
        # the Wednesday before (30 Dec, 26 days).
        "the-minimum-interval-still-respected-after-a-dose-given",
        TWO_DOSES,
        ("2026-12-04",),
        (w(PRE_START, "2026-12-05", "2027-03-01"),),
        "2026-12-05",
        MINIMUM,
        MON_WED,
        ["2027-01-04"],
        [],
        (),
    ),
    (
        # Dose 1 given Sat 31 Oct: 28 days later is Sat 28 Nov, and the window (Wed 25 to Sun 29 Nov) holds only its
        # weekend from then: dose 2 goes to the next window.
        "the-rest-of-a-window-after-the-interval-holds-no-allowed-day",
        TWO_DOSES,
        ("2026-10-31",),
        (w(MID_CYCLE, "2026-11-25", "2026-11-29"), w(MID_CYCLE, "2026-12-21", "2026-12-27")),
        "2026-11-24",
        MINIMUM,
        WEEKDAYS_ONLY,
        ["2026-12-21"],
        [("2026-11-25", "2026-11-29")],
        (),
    ),
]


@pytest.mark.parametrize(
    ("series", "given", "windows", "as_of", "basis", "days", "expected", "passed", "unplaced"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_doses_are_placed_on_appointment_days_inside_the_windows(
    series, given, windows, as_of, basis, days, expected, passed, unplaced
):
    proposal = propose(series, tuple(d(g) for g in given), windows, d(as_of), basis, None, days)
    placed = [p.day for p in proposal.doses]
    assert [p.isoformat() for p in placed] == expected
    assert [(x.start.isoformat(), x.end.isoformat()) for x in proposal.passed_over] == passed
    assert proposal.unplaced == unplaced
    for day in placed:
        assert day.weekday() in days.weekdays and any(x.contains(day) for x in windows)
    every = [d(g) for g in given] + placed
    for before, after in zip(every, every[1:], strict=False):
        assert after - before >= timedelta(days=28)


def test_every_day_is_the_placement_without_appointment_days():
    windows = (w(PRE_START, "2026-11-28", "2026-11-29"), w(MID_CYCLE, "2026-12-09", "2026-12-15"))
    with_default = propose(TWO_DOSES, (), windows, d("2026-11-28"), MINIMUM, None)
    assert with_default == propose(TWO_DOSES, (), windows, d("2026-11-28"), MINIMUM, None, EVERY_DAY)
    assert [p.day for p in with_default.doses] == [d("2026-11-28")] and with_default.passed_over == ()


def test_the_passed_over_note_names_the_window_and_the_days():
    proposal = propose(
        ONE_DOSE, (), (w(PRE_START, "2026-11-29", "2026-11-29"),), d("2026-11-24"), RECOMMENDED, None, WEEKDAYS_ONLY
    )
    assert passed_over_note(proposal, WEEKDAYS_ONLY) == (
        "Passed over the permitted window 2026-11-29 to 2026-11-29: no appointment day (mon, tue, wed, thu, fri) "
        "falls in it on or after the day the dose could be given."
    )
    assert passed_over_note(propose(ONE_DOSE, (), (), d("2026-11-24"), RECOMMENDED, None), EVERY_DAY) is None


# ---- through POST /v1/plans ---------------------------------------------------------------------------------

# Maintenance, injections every 4 weeks from Tue 20 Oct 2026: mid-cycle slots for non-live vaccines.
MAINTENANCE = {
    "as_of": "2026-11-24",
    "treatment": {"drug": "ofatumumab", "doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]},
    "vaccines": [{"name": "Shingrix"}, {"name": "hepatitis A"}, {"name": "rabies"}, {"cvx": "03"}],
    "horizon_days": 365,
}


@pytest.mark.parametrize(
    "days", [["mon", "tue", "wed", "thu", "fri"], ["sat"], ["sun"], ["tue", "thu"], ["fri", "mon"]]
)
def test_every_proposed_date_falls_on_an_appointment_day_inside_a_window(client, days):
    plain = client.post("/v1/plans", json=MAINTENANCE).get_json()
    answer = client.post("/v1/plans", json={**MAINTENANCE, "appointment_days": days}).get_json()
    allowed = {["mon", "tue", "wed", "thu", "fri", "sat", "sun"].index(name) for name in days}
    proposed = 0
    for item, before in zip(answer["vaccines"], plain["vaccines"], strict=True):
        assert item["windows"] == before["windows"]  # the rules' windows are not the clinic's days
        for dose in item["proposed"]:
            day = d(dose["date"])
            proposed += 1
            assert day.weekday() in allowed
            assert any(d(x["start"]) <= day <= d(x["end"]) for x in item["windows"])
    assert proposed


def test_omitted_and_all_seven_days_give_the_same_answer(client):
    every = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    plain = client.post("/v1/plans", json=MAINTENANCE).get_json()
    seven = client.post("/v1/plans", json={**MAINTENANCE, "appointment_days": every}).get_json()
    assert [v["proposed"] for v in seven["vaccines"]] == [v["proposed"] for v in plain["vaccines"]]
    assert [v["reason"] for v in seven["vaccines"]] == [v["reason"] for v in plain["vaccines"]]


def test_a_window_with_no_appointment_day_is_passed_over_and_the_reason_says_so(client):
    """Ofatumumab starting Wed 9 Dec 2026, Shingrix asked on Tue 24 Nov: the non-live pre-start window ends 14 days
    before the start, so it is Tue 24 and Wed 25 Nov. A clinic open on Mondays passes it over; the first dose
    goes to a Monday in a later window, and the reason says which window was passed over and why."""
    body = {
        "as_of": "2026-11-24",
        "treatment": {"drug": "ofatumumab", "start_date": "2026-12-09"},
        "vaccines": [{"name": "Shingrix"}],
    }
    plain = client.post("/v1/plans", json=body).get_json()["vaccines"][0]
    item = client.post("/v1/plans", json={**body, "appointment_days": ["mon"]}).get_json()["vaccines"][0]
    assert item["windows"][0] == {"kind": "pre_start", "start": "2026-11-24", "end": "2026-11-25"}
    assert plain["proposed"][0]["date"] == "2026-11-24" and "Passed over" not in plain["reason"]
    assert "Passed over the permitted window 2026-11-24 to 2026-11-25: no appointment day (mon)" in item["reason"]
    assert item["proposed"] and all(d(p["date"]).weekday() == 0 for p in item["proposed"])
    assert d(item["proposed"][0]["date"]) > d("2026-12-09")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (["Mon"], "appointment_days[0]"),
        (["monday"], "appointment_days[0]"),
        (["mon", 3], "appointment_days[1]"),
        ([], "appointment_days"),
        ("mon", "appointment_days"),
    ],
)
def test_bad_appointment_days_are_a_422_naming_the_field(client, value, field):
    r = client.post("/v1/plans", json={**MAINTENANCE, "appointment_days": value})
    assert r.status_code == 422 and r.content_type == "application/problem+json"
    assert field in [e["field"] for e in r.get_json()["errors"]]


NAMES = ("Shingrix", "hepatitis A", "rabies", "Typhim Vi", "MMR", "yellow fever", "Ixiaro", "varicella", "HPV")


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    days=st.sets(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1),
    start_in=st.integers(-900, 200),
    vaccines=st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True),
)
def test_for_any_request_every_proposed_date_is_an_appointment_day_inside_a_window(client, days, start_in, vaccines):
    as_of = d("2026-11-24")
    start = as_of + timedelta(days=start_in)
    treatment = {"drug": "ofatumumab", "start_date": start.isoformat()}
    body = {
        "as_of": as_of.isoformat(),
        "treatment": treatment,
        "vaccines": [{"name": name} for name in vaccines],
        "appointment_days": sorted(days),
    }
    r = client.post("/v1/plans", json=body)
    assert r.status_code == 200, r.get_json()
    allowed = {["mon", "tue", "wed", "thu", "fri", "sat", "sun"].index(name) for name in days}
    for item in r.get_json()["vaccines"]:
        placed = [d(p["date"]) for p in item["proposed"]]
        assert placed == sorted(placed)
        for day in placed:
            assert day.weekday() in allowed and day >= as_of
            assert any(d(w["start"]) <= day <= d(w["end"]) for w in item["windows"])


@pytest.mark.parametrize(("days", "start_to"), [(None, "2027-01-19"), (["mon"], "2027-01-25")])
def test_the_start_that_lets_a_live_series_come_first_counts_on_the_clinic_days(client, days, start_to):
    """MMR asked on Tue 24 Nov 2026, ofatumumab starting 5 Jan 2027: the two doses 28 days apart cannot both come
    28 days before the start. Every day: 24 Nov and 22 Dec, so the start may move to 19 Jan. Mondays only:
    30 Nov and 28 Dec, so to 25 Jan."""
    body = {
        "as_of": "2026-11-24",
        "treatment": {"drug": "ofatumumab", "start_date": "2027-01-05"},
        "vaccines": [{"name": "MMR"}],
        **({"appointment_days": days} if days else {}),
    }
    item = client.post("/v1/plans", json=body).get_json()["vaccines"][0]
    assert item["delay_start_to"] == start_to
    assert f"Moving the first ofatumumab dose to {start_to} or later" in item["reason"]
