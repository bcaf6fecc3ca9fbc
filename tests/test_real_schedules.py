"""Real schedules: vaccine history, live-virus spacing, multi-dose series, travel deadlines, after stopping.

Every date below was worked out by hand from the rules (comments show the arithmetic). as_of is
2026-11-24 unless a case says otherwise.
"""

from __future__ import annotations

from datetime import date

import pytest

from service.domain.intervals import Interval

START = {"drug": "ofatumumab", "start_date": "2027-01-05"}
MAINTENANCE = {"drug": "ofatumumab", "doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]}


def plan(client, vaccines, treatment=START, as_of="2026-11-24", **extra):
    r = client.post("/v1/plans", json={"as_of": as_of, "treatment": treatment, "vaccines": vaccines, **extra})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["vaccines"]


def proposed(result):
    return [(p["dose"], p["date"]) for p in result["proposed"]]


def windows(result):
    return [(w["kind"], w["start"], w["end"]) for w in result["windows"]]


# ---- live-live spacing ----------------------------------------------------------------------------------


def test_mmr_given_10_days_ago_closes_the_yellow_fever_pre_start_window(client):
    # MMR 11-14; CDSi 03 -> 37 conflict ends at 30 days: not before 12-14; the window ends 12-08 (01-05 - 28)
    (yf,) = plan(client, [{"name": "yellow fever"}], immunizations=[{"cvx": "03", "date": "2026-11-14"}])
    assert (yf["status"], yf["windows"], yf["proposed"]) == ("avoid", [], [])
    assert yf["delay_start_to"] == "2027-01-11"  # 12-14 + 28
    assert "cdsi.live-virus-conflict" in yf["rules"] and "2026-12-14" in yf["reason"]


def test_mmr_given_10_days_ago_pushes_yellow_fever_to_day_30(client):
    (yf,) = plan(
        client,
        [{"name": "Stamaril"}],
        treatment={"drug": "ofatumumab", "start_date": "2027-02-01"},
        immunizations=[{"name": "M-M-R II", "date": "2026-11-14"}],
    )
    assert windows(yf) == [("pre_start", "2026-12-14", "2027-01-04")]
    assert proposed(yf) == [(1, "2026-12-14")]


def test_mmr_and_varicella_requested_pre_start_are_proposed_the_same_day(client):
    # both 2-dose series (4 weeks) fit before 03-01 - 28 = 02-01: 11-24 and 12-22, shared days
    mmr, varicella = plan(
        client, [{"name": "MMR"}, {"name": "Varivax"}], treatment={"drug": "ofatumumab", "start_date": "2027-03-01"}
    )
    assert proposed(mmr) == proposed(varicella) == [(1, "2026-11-24"), (2, "2026-12-22")]


def test_two_live_vaccines_that_cannot_share_a_day_are_spaced(client):
    # varicella 11-14: live zoster may come from 12-12 (28 days), yellow fever from 12-14 (30 days);
    # zoster is proposed 12-12, so yellow fever waits 30 days after it: 01-11 (window ends 03-01 - 28 = 02-01)
    zoster, yf = plan(
        client,
        [{"name": "Zostavax"}, {"name": "YF-Vax"}],
        treatment={"drug": "ofatumumab", "start_date": "2027-03-01"},
        immunizations=[{"cvx": "21", "date": "2026-11-14"}],
    )
    assert proposed(zoster) == [(1, "2026-12-12")]
    assert proposed(yf) == [(1, "2027-01-11")]


def test_request_order_sets_priority_between_live_series(client):
    # MMR (2 doses, 4 weeks) first: 12-12 and 01-09. Yellow fever needs 30 days after each MMR dose and
    # cannot share a day with dose 2 (28 days after dose 1): 02-08 is past the window (ends 02-01).
    mmr, yf = plan(
        client,
        [{"name": "MMR"}, {"name": "YF-Vax"}],
        treatment={"drug": "ofatumumab", "start_date": "2027-03-01"},
        immunizations=[{"cvx": "21", "date": "2026-11-14"}],
    )
    assert proposed(mmr) == [(1, "2026-12-12"), (2, "2027-01-09")]
    # yellow fever with no day left is avoid (a live vaccine is proposed whole or not at all); without the
    # start it would come 30 days after MMR dose 2 (02-08), so the start would move to 02-08 + 28 = 03-08
    assert (yf["status"], yf["proposed"], yf["ready_on"]) == ("avoid", [], None)
    assert yf["delay_start_to"] == "2027-03-08" and "plan.live-series-whole" in yf["rules"]
    # Asked first, yellow fever gets its day (12-14); MMR dose 1 shares it, dose 2 waits 30 days for yellow fever.
    yf, mmr = plan(
        client,
        [{"name": "YF-Vax"}, {"name": "MMR"}],
        treatment={"drug": "ofatumumab", "start_date": "2027-03-01"},
        immunizations=[{"cvx": "21", "date": "2026-11-14"}],
    )
    assert proposed(yf) == [(1, "2026-12-14")]
    assert proposed(mmr) == [(1, "2026-12-14"), (2, "2027-01-13")]


def test_oral_typhoid_has_no_spacing_constraint_against_mmr(client):
    (ty21a,) = plan(client, [{"name": "Vivotif"}], immunizations=[{"cvx": "03", "date": "2026-11-20"}])
    # four capsules on alternate days from as_of; protected 7 days after the last (ACIP)
    assert proposed(ty21a) == [(1, "2026-11-24"), (2, "2026-11-26"), (3, "2026-11-28"), (4, "2026-11-30")]
    assert ty21a["ready_on"] == "2026-12-07"
    assert not any(r.startswith(("cdsi.", "acip.")) for r in ty21a["rules"])


def test_non_live_vaccines_ignore_live_spacing(client):
    (shingrix,) = plan(client, [{"name": "Shingrix"}], immunizations=[{"cvx": "03", "date": "2026-11-20"}])
    assert proposed(shingrix)[0] == (1, "2026-11-24")


def test_live_vaccine_given_today_allows_another_today_or_after_the_conflict(client):
    (varicella,) = plan(
        client,
        [{"name": "varicella"}],
        treatment={"drug": "ofatumumab", "start_date": "2027-03-01"},
        immunizations=[{"cvx": "03", "date": "2026-11-24"}],
    )
    # same day allowed; 11-25 .. 12-21 blocked (03 -> 21: 28 days); window ends 02-01
    assert windows(varicella) == [("pre_start", "2026-11-24", "2026-11-24"), ("pre_start", "2026-12-22", "2027-02-01")]


# ---- series -------------------------------------------------------------------------------------------


def test_shingrix_dose_1_before_the_start_and_dose_2_in_the_first_mid_cycle_slot(client):
    # dose 1 on 11-20; recommended 8 weeks -> 01-15; doses 12-15, 12-22, 12-29, 01-12, 02-09:
    # the first slot on or after 01-15 is 01-26 .. 02-02 (12-29 -> 01-12 is a 14-day starter gap: no slot)
    (shingrix,) = plan(
        client,
        [{"name": "Shingrix", "given": ["2026-11-20"]}],
        as_of="2026-12-01",
        treatment={"drug": "ofatumumab", "start_date": "2026-12-15"},
    )
    # the 4-week minimum (12-18) is after the start too, so it gives no more doses before it: recommended
    assert proposed(shingrix) == [(2, "2027-01-26")]
    assert shingrix["series"] == {
        "doses": 2,
        "given": 1,
        "interval_basis": "recommended",
        "protective_dose": 2,
        "lead_days": 14,
    }
    # dose 2 falls in B-cell depletion: ready_on is the day the series is complete, not a protection date
    assert (shingrix["ready_on"], shingrix["ready_on_means"]) == ("2027-01-26", "series_complete")
    assert "complete by 2027-01-26" in shingrix["reason"] and "Protection expected" not in shingrix["reason"]
    assert {"series.zoster-recombinant", "plan.interval-basis", "plan.protection-in-depletion"} <= set(
        shingrix["rules"]
    )


def test_hepatitis_b_entirely_during_maintenance(client):
    # next doses 12-15, 01-12, ..., 05-04, 06-01, 06-29; slots 12-01..12-08, 12-29..01-05, ..., 06-15..06-22
    (hepb,) = plan(client, [{"name": "Engerix-B"}], treatment=MAINTENANCE)
    # During therapy Engerix-B is the immunocompromised dosage (ACIP 2018), 4 doses at 0, 1, 2 and 6 months:
    # 12-01, 12-29 (+4 weeks), 01-26 (+4 weeks), dose 4 max(01-26 + 8 weeks, 12-01 + 6 months = 06-01) -> 06-15
    assert proposed(hepb) == [(1, "2026-12-01"), (2, "2026-12-29"), (3, "2027-01-26"), (4, "2027-06-15")]
    assert all(any(w["start"] <= p["date"] <= w["end"] for w in hepb["windows"]) for p in hepb["proposed"])


def test_series_falls_back_to_minimum_intervals_to_meet_a_deadline(client):
    # recommended: dose 2 at 11-24 + 8 weeks = 01-19, protected 02-02 > 01-10;
    # minimum: dose 2 at 11-24 + 4 weeks = 12-22, protected 01-05 <= 01-10
    (shingrix,) = plan(
        client,
        [{"name": "Shingrix", "needed_by": "2027-01-10"}],
        treatment={"drug": "ofatumumab", "start_date": "2027-06-01"},
    )
    assert proposed(shingrix) == [(1, "2026-11-24"), (2, "2026-12-22")]
    assert shingrix["series"]["interval_basis"] == "minimum"
    assert (shingrix["ready_on"], shingrix["meets_needed_by"]) == ("2027-01-05", True)


def test_a_completed_series_proposes_nothing_and_reports_protection(client):
    (ixiaro,) = plan(
        client,
        [{"name": "Ixiaro", "given": ["2026-10-01", "2026-10-29"], "needed_by": "2026-12-01"}],
        treatment=MAINTENANCE,
    )
    # both doses were given during therapy: ready_on is the day the series was complete (10-29), not
    # 10-29 + 7 days of protection lead time
    assert ixiaro["proposed"] == [] and ixiaro["ready_on"] == "2026-10-29"
    assert ixiaro["ready_on_means"] == "series_complete" and ixiaro["meets_needed_by"] is True


def test_live_series_that_cannot_finish_before_the_start_names_a_start_that_would_do(client):
    # Qdenga: 2 doses 3 months apart; dose 2 on 02-24 at the earliest -> first dose on or after 03-24
    # only dose 1 fits before 12-08: a live series is not half proposed (rule plan.live-series-whole)
    (qdenga,) = plan(client, [{"name": "Qdenga"}])
    assert (qdenga["status"], qdenga["proposed"], qdenga["ready_on"]) == ("avoid", [], None)
    assert qdenga["delay_start_to"] == "2027-03-24" and "2027-03-24" in qdenga["reason"]


# ---- travel deadlines ---------------------------------------------------------------------------------------


def test_yellow_fever_needed_by_a_date_the_therapy_start_makes_impossible(client):
    (yf,) = plan(
        client,
        [{"name": "yellow fever", "needed_by": "2027-03-01"}],
        treatment={"drug": "ofatumumab", "start_date": "2026-12-10"},
    )
    assert (yf["status"], yf["proposed"], yf["ready_on"], yf["meets_needed_by"]) == ("avoid", [], None, False)
    assert yf["delay_start_to"] == "2026-12-22" and "2026-12-22" in yf["reason"]


def test_yellow_fever_certificate_is_valid_10_days_after_the_dose(client):
    (yf,) = plan(client, [{"name": "yellow fever", "needed_by": "2026-12-04"}])
    assert (yf["ready_on"], yf["meets_needed_by"]) == ("2026-12-04", True)
    assert "lead-time.yellow-fever" in yf["rules"]
    (late,) = plan(client, [{"name": "yellow fever", "needed_by": "2026-12-03"}])
    assert late["meets_needed_by"] is False


@pytest.mark.parametrize("name, ready", [("Typhim Vi", "2026-12-08"), ("Vaxchora", "2026-12-04")], ids=str)
def test_typhoid_and_cholera_lead_times(client, name, ready):
    (result,) = plan(client, [{"name": name, "needed_by": "2027-01-01"}])
    assert result["ready_on"] == ready and result["meets_needed_by"] is True


def test_meets_needed_by_is_null_without_a_deadline(client):
    (result,) = plan(client, [{"name": "Tdap"}])
    assert result["meets_needed_by"] is None and result["ready_on"] == "2026-12-08"


# ---- after stopping ------------------------------------------------------------------------------------


def test_after_stopping_live_vaccines_wait_for_repletion_and_name_a_recheck_date(client):
    mmr, shingrix = plan(
        client,
        [{"name": "MMR"}, {"name": "Shingrix"}],
        treatment={
            "drug": "ofatumumab",
            "doses": ["2026-08-04"],
            "start_date": "2026-08-04",
            "stopped_on": "2026-08-31",
        },
    )
    # counted from the last dose 08-04 (not the stop decision of 08-31), as repletion-before-median is
    assert mmr["status"] == "avoid" and mmr["b_cell_recheck_on"] == "2027-01-24"  # 08-04 + 173 days
    assert "24.6 weeks" in mmr["reason"] and "40 weeks" in mmr["reason"]
    assert "counted here from the last dose (2026-08-04)" in mmr["reason"]
    assert shingrix["status"] == "post_therapy" and proposed(shingrix)[0] == (1, "2026-11-24")


def test_after_confirmed_repletion_live_vaccines_get_a_post_therapy_window(client):
    (mmr,) = plan(
        client,
        [{"name": "MMR"}],
        treatment={
            "drug": "ofatumumab",
            "doses": ["2026-01-06"],
            "start_date": "2026-01-06",
            "stopped_on": "2026-02-01",
            "b_cell_repletion_on": "2026-11-02",
        },
    )
    assert windows(mmr) == [("post_therapy", "2026-11-24", "2027-11-24")]
    assert proposed(mmr) == [(1, "2026-11-24"), (2, "2026-12-22")]  # 2 doses, 4 weeks apart


# ---- bad input stays a clear 422 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"vaccines": [{"name": "Shingrix", "given": ["2026-11-25"]}]}, "vaccines[0].given[0]"),
        ({"vaccines": [{"name": "Shingrix", "given": ["2026-10-01", "2026-10-01"]}]}, "vaccines[0].given[1]"),
        (
            {"vaccines": [{"name": "Shingrix", "given": ["2026-09-01", "2026-10-01", "2026-11-01"]}]},
            "vaccines[0].given",
        ),
        ({"vaccines": [{"name": "MMR", "given": ["2026-08-01", "2026-09-01", "2026-10-01"]}]}, "vaccines[0].given"),
        ({"vaccines": [{"name": "Prevnar 20", "given": ["2026-09-01", "2026-10-01"]}]}, "vaccines[0].given"),
        ({"vaccines": [{"name": "MMR", "needed_by": "2026-11-23"}]}, "vaccines[0].needed_by"),
        ({"immunizations": [{"cvx": "9999", "date": "2026-11-01"}]}, "immunizations[0].cvx"),
        ({"immunizations": [{"name": "not a vaccine", "date": "2026-11-01"}]}, "immunizations[0].name"),
        ({"immunizations": [{"cvx": "88", "date": "2026-11-01"}]}, "immunizations[0].cvx"),
        ({"immunizations": [{"cvx": "03", "date": "2026-11-25"}]}, "immunizations[0].date"),
        ({"immunizations": [{"cvx": "03"}]}, "immunizations[0].date"),
        ({"immunizations": [{"cvx": "03", "name": "MMR", "date": "2026-11-01"}]}, "immunizations[0]"),
        ({"treatment": {**START, "b_cell_repletion_on": "2026-11-01"}}, "treatment.b_cell_repletion_on"),
        (
            {
                "treatment": {
                    "drug": "ofatumumab",
                    "doses": ["2026-06-01"],
                    "stopped_on": "2026-07-01",
                    "b_cell_repletion_on": "2026-06-30",
                }
            },
            "treatment.b_cell_repletion_on",
        ),
    ],
    ids=[
        "given after as_of",
        "given twice on one day",
        "more doses than the Shingrix series",
        "more doses than MMR's",
        "more doses than Prevnar 20's",
        "needed_by before as_of",
        "immunization unknown cvx",
        "immunization unknown name",
        "immunization unspecified cvx",
        "immunization after as_of",
        "immunization without date",
        "immunization with name and cvx",
        "repletion without stop",
        "repletion before stop",
    ],
)
def test_bad_schedule_input_is_a_422_naming_the_field(client, extra, field):
    body = {"as_of": "2026-11-24", "treatment": START, "vaccines": [{"name": "MMR"}], **extra}
    r = client.post("/v1/plans", json=body)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert field in [e["field"] for e in r.get_json()["errors"]], r.get_json()


# ---- the pieces ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, start, expected",
    [
        ("4 weeks", "2026-01-31", "2026-02-28"),
        ("6 months", "2026-08-31", "2027-02-28"),
        ("6 months", "2027-08-31", "2028-02-29"),
        ("5 months - 4 days", "2026-01-31", "2026-06-26"),
        ("1 year", "2028-02-29", "2029-02-28"),
        ("2 days", "2026-12-31", "2027-01-02"),
    ],
    ids=[
        "4 weeks from 31 Jan",
        "6 months from 31 Aug",
        "6 months into a leap February",
        "5 months minus 4 days",
        "1 year from 29 Feb",
        "2 days over new year",
    ],
)
def test_cdsi_intervals_add_calendar_units_before_days(text, start, expected):
    assert Interval.parse(text).after(date.fromisoformat(start)) == date.fromisoformat(expected)


@pytest.mark.parametrize("bad", ["", "4", "weeks", "4 fortnights", "4 weeks 2 days", "- 4 days x"], ids=repr)
def test_malformed_intervals_are_rejected(bad):
    with pytest.raises(ValueError):
        Interval.parse(bad)


@pytest.mark.parametrize(
    "earlier, later, end",
    [("03", "21", 28), ("03", "37", 30), ("19", "03", 30), ("111", "03", 28)],
    ids=["MMR then varicella", "MMR then yellow fever", "BCG then MMR", "LAIV then MMR"],
)
def test_cdsi_conflict_end_intervals(ruleset, catalog, earlier, later, end):
    a = catalog.by_cvx(earlier, "f").vaccine
    b = catalog.by_cvx(later, "f").vaccine
    conflict = ruleset.vaccine_rules.conflicts.between(a, b)
    assert (conflict.begin_days, conflict.end_days, conflict.rule) == (1, end, "cdsi.live-virus-conflict")


def test_live_vaccines_missing_from_the_cdsi_table_use_acip_four_weeks(ruleset, catalog):
    qdenga = catalog.by_name("Qdenga", "f").vaccine
    mmr = catalog.by_name("MMR", "f").vaccine
    conflict = ruleset.vaccine_rules.conflicts.between(mmr, qdenga)
    assert (conflict.end_days, conflict.rule) == (28, "acip.live-live-spacing")
    oral = catalog.by_name("Vivotif", "f").vaccine
    assert ruleset.vaccine_rules.conflicts.between(mmr, oral) is None
