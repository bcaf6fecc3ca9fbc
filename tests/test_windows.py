"""Vaccine windows around ofatumumab doses: every rule and every date edge, with hand-checked dates.

as_of is 2026-11-24 unless a case says otherwise.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.domain.schedule import Treatment, build_schedule
from service.domain.windows import mid_cycle_slot, plan_timing
from tests.helpers import d, days

AS_OF = d("2026-11-24")


def timing(profile, live, as_of=AS_OF, horizon=365, **treatment):
    doses = tuple(d(x) for x in treatment.pop("doses", ()))
    for key in ("start_date", "stopped_on", "b_cell_repletion_on"):
        if treatment.get(key) is not None:
            treatment[key] = d(treatment[key])
    until = as_of + timedelta(days=horizon)
    s = build_schedule(profile, Treatment("ofatumumab", doses=doses, **treatment), as_of, until)
    return plan_timing(profile, s, live, as_of, until)


def spans(t):
    return [(w.kind, w.start.isoformat(), w.end.isoformat()) for w in t.windows]


# ---- pre-start: live at least 28 days before the first dose ------------------------------------------


@pytest.mark.parametrize(
    "days_to_start, status, window_end, delay_to",
    [
        (27, "avoid", None, "2026-12-22"),  # one day short: avoid, move the start to as_of + 28
        (28, "pre_start", "2026-11-24", None),  # exactly 28 days: as_of is the only day
        (29, "pre_start", "2026-11-25", None),
    ],
    ids=["27 days avoid", "28 days as_of only", "29 days two days"],
)
def test_live_vaccine_pre_start_edge_at_27_28_29_days(profile, days_to_start, status, window_end, delay_to):
    start = (AS_OF + days(days_to_start)).isoformat()
    t = timing(profile, True, start_date=start)
    assert t.status == status
    if window_end:
        assert spans(t) == [("pre_start", "2026-11-24", window_end)]
    else:
        assert spans(t) == []
    assert (t.delay_start_to.isoformat() if t.delay_start_to else None) == delay_to


def test_live_vaccine_gets_only_the_pre_start_window_never_one_during_therapy(profile):
    t = timing(profile, True, start_date="2027-01-05")
    assert spans(t) == [("pre_start", "2026-11-24", "2026-12-08")]
    assert t.rules == ("ofatumumab.live-pre-start", "ofatumumab.live-avoid-during-therapy")


# ---- pre-start: non-live at least 14 days before the first dose --------------------------------------


@pytest.mark.parametrize(
    "days_to_start, first_window",
    [
        (13, ("mid_cycle", "2027-01-18", "2027-01-25")),  # too late: doses 12-07, 12-14, 12-21, 01-04, 02-01
        (14, ("pre_start", "2026-11-24", "2026-11-24")),
        (15, ("pre_start", "2026-11-24", "2026-11-25")),
    ],
    ids=["13 days too late", "14 days as_of only", "15 days two days"],
)
def test_non_live_vaccine_pre_start_edge_at_13_14_15_days(profile, days_to_start, first_window):
    start = AS_OF + days(days_to_start)
    t = timing(profile, False, start_date=start.isoformat())
    assert spans(t)[0] == first_window
    assert t.status == first_window[0]


def test_non_live_vaccine_before_start_then_mid_cycle_slots(profile):
    # doses 01-05, 01-12, 01-19, 02-02, 03-02, 03-30: slots from the first 28-day gap on
    t = timing(profile, False, horizon=120, start_date="2027-01-05")
    assert spans(t) == [
        ("pre_start", "2026-11-24", "2026-12-22"),
        ("mid_cycle", "2027-02-16", "2027-02-23"),
        ("mid_cycle", "2027-03-16", "2027-03-23"),
    ]
    assert t.delay_start_to is None


# ---- mid-cycle slot formula ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gap, slot",
    [
        (7, None),  # starter gap
        (14, None),  # week 2 -> week 4
        (20, None),
        (21, (14, 14)),
        (27, (14, 20)),
        (28, (14, 21)),  # every 4 weeks: D+14 .. D+21
        (29, (15, 21)),
        (30, (16, 21)),
        (31, (17, 21)),  # a 31-day month
        (35, (21, 21)),
    ],
    ids=lambda value: f"gap {value}" if isinstance(value, int) else None,
)
def test_mid_cycle_slot_is_max_d14_n14_to_min_d21_n7(profile, gap, slot):
    dose = d("2027-03-02")
    got = mid_cycle_slot(profile.mid_cycle, dose, dose + days(gap))
    assert got == (None if slot is None else (dose + days(slot[0]), dose + days(slot[1])))


def test_starter_phase_has_no_slot_until_after_the_first_maintenance_dose(profile):
    # doses 11-10, 11-17, 11-24 given; next 12-08 (week 4), then 01-05: first slot 12-22..12-29
    t = timing(profile, False, doses=["2026-11-10", "2026-11-17", "2026-11-24"])
    assert spans(t)[0] == ("mid_cycle", "2026-12-22", "2026-12-29")


@pytest.mark.parametrize(
    "as_of, first",
    [
        ("2026-11-30", ("mid_cycle", "2026-12-01", "2026-12-08")),  # before the slot: whole slot
        ("2026-12-03", ("mid_cycle", "2026-12-03", "2026-12-08")),  # inside the slot: clipped to as_of
        ("2026-12-08", ("mid_cycle", "2026-12-08", "2026-12-08")),  # last day of the slot
        ("2026-12-09", ("mid_cycle", "2026-12-29", "2027-01-05")),  # after it: the next cycle's slot
    ],
    ids=["before the slot", "inside the slot", "last day of the slot", "after the slot"],
)
def test_as_of_inside_a_slot_clips_its_start(profile, as_of, first):
    # maintenance: last dose 11-17, next 12-15 -> slot 12-01..12-08; next 01-12 -> slot 12-29..01-05
    doses = ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]
    t = timing(profile, False, as_of=d(as_of), doses=doses)
    assert spans(t)[0] == first


def test_overdue_dose_moves_every_slot(profile):
    # due 10-27, missed; next dose taken as 11-24, then 12-22: slot 12-08..12-15
    t = timing(profile, False, doses=["2026-09-01", "2026-09-08", "2026-09-15", "2026-09-29"])
    assert spans(t)[0] == ("mid_cycle", "2026-12-08", "2026-12-15")


def test_monthly_cadence_slots_follow_the_calendar(profile):
    # doses 01-31, 02-28, 03-31: slots 02-14..02-21 (28-day gap) and 03-17..03-21 (31-day gap)
    t = timing(
        profile,
        False,
        as_of=d("2027-02-01"),
        horizon=60,
        cadence="monthly",
        doses=["2027-01-03", "2027-01-10", "2027-01-17", "2027-01-31"],
    )
    assert spans(t) == [("mid_cycle", "2027-02-14", "2027-02-21"), ("mid_cycle", "2027-03-17", "2027-03-21")]


def test_slots_over_29_february(profile):
    # every 4 weeks: 02-01, 02-29, 03-28: slots 02-15..02-22 and 03-14..03-21
    t = timing(
        profile,
        False,
        as_of=d("2028-02-02"),
        horizon=60,
        doses=["2028-01-04", "2028-01-11", "2028-01-18", "2028-02-01"],
    )
    assert spans(t)[:2] == [("mid_cycle", "2028-02-15", "2028-02-22"), ("mid_cycle", "2028-03-14", "2028-03-21")]


def test_windows_are_clipped_to_the_horizon(profile):
    t = timing(profile, False, horizon=60, doses=["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"])
    assert all(w.end <= AS_OF + days(60) for w in t.windows)
    # slots 12-01..12-08 and 12-29..01-05; 01-23 (as_of + 60) cuts off 01-26..02-02
    assert spans(t) == [("mid_cycle", "2026-12-01", "2026-12-08"), ("mid_cycle", "2026-12-29", "2027-01-05")]


# ---- during therapy: live avoided --------------------------------------------------------------------


@pytest.mark.parametrize(
    "doses",
    [
        ["2026-11-24"],  # starter, dose today
        ["2026-11-10", "2026-11-17"],  # starter
        ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"],  # maintenance
        ["2026-09-01", "2026-09-08", "2026-09-15", "2026-09-29"],  # overdue
    ],
    ids=["starter dose today", "starter", "maintenance", "overdue"],
)
def test_live_vaccine_is_avoided_during_treatment(profile, doses):
    t = timing(profile, True, doses=doses, start_date=doses[0])
    assert t.status == "avoid" and t.windows == () and t.delay_start_to is None
    assert t.rules == ("ofatumumab.live-avoid-during-therapy",)


# ---- after stopping ------------------------------------------------------------------------------------


def test_non_live_after_stopping_opens_14_days_after_the_last_dose(profile):
    t = timing(profile, False, doses=["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"], stopped_on="2026-11-20")
    assert spans(t) == [("post_therapy", "2026-12-01", "2027-11-24")]


def test_non_live_after_a_long_stop_opens_on_as_of(profile):
    t = timing(profile, False, doses=["2026-01-06"], start_date="2026-01-06", stopped_on="2026-02-01")
    assert spans(t) == [("post_therapy", "2026-11-24", "2027-11-24")]


def test_live_after_stopping_without_repletion_is_avoided_with_a_recheck_date(profile):
    t = timing(profile, True, doses=["2026-08-04"], start_date="2026-08-04", stopped_on="2026-08-31")
    assert t.status == "avoid" and t.windows == ()
    assert t.b_cell_recheck_on == d("2026-08-04") + days(173)  # 24.6 weeks rounded up, from the last dose
    assert "ofatumumab.live-after-stop" in t.rules


def test_live_after_confirmed_repletion_gets_a_post_therapy_window(profile):
    t = timing(
        profile,
        True,
        doses=["2026-01-06"],
        start_date="2026-01-06",
        stopped_on="2026-02-01",
        b_cell_repletion_on="2026-10-01",
    )
    assert spans(t) == [("post_therapy", "2026-11-24", "2027-11-24")]
    assert "ofatumumab.live-after-repletion" in t.rules


def test_live_after_repletion_never_starts_on_the_stop_day(profile):
    t = timing(
        profile,
        True,
        as_of=d("2026-11-01"),
        doses=["2026-10-01"],
        start_date="2026-10-01",
        stopped_on="2026-11-01",  # a month after the last dose, and repletion confirmed that day
        b_cell_repletion_on="2026-11-01",
    )
    assert spans(t)[0][1] == "2026-11-02"


@pytest.mark.parametrize(
    "start, live_end, non_live_end",
    [
        ("2028-03-28", "2028-02-29", "2028-03-14"),  # 28 days before 28 March in a leap year is 29 February
        ("2028-03-14", "2028-02-15", "2028-02-29"),  # 14 days before 14 March is 29 February
        ("2027-03-28", "2027-02-28", "2027-03-14"),  # the same start a year earlier: 28 February
    ],
    ids=["leap year 28 days", "leap year 14 days", "common year"],
)
def test_pre_start_ends_over_29_february(profile, start, live_end, non_live_end):
    as_of = d(start.replace("-03-", "-01-"))
    assert timing(profile, True, as_of=as_of, start_date=start).windows[0].end == d(live_end)
    assert timing(profile, False, as_of=as_of, start_date=start).windows[0].end == d(non_live_end)
