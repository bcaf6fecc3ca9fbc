"""FHIR dates with LOINC's meanings: 30981-5 the earliest day a dose is valid and permitted (minimum intervals
included), 59777-3 only where a real deadline exists (never the horizon's end), LOINC's own displays, and a
forecastStatus that tells a dose due now from one due later."""

from __future__ import annotations

from typing import Any

from tests.interop_builders import Facts
from tests.test_interop_fhir_schema import errors

EARLIEST, LATEST, DUE = "30981-5", "59777-3", "30980-7"
DISPLAYS = {
    EARLIEST: "Earliest date to give",
    LATEST: "Latest date to give immunization",
    DUE: "Date vaccine due",
}


def entries(client, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.post("/fhir/$vaccine-timing", json=body)
    assert r.status_code == 200, r.get_json()
    assert errors(r.get_json()) == []  # HL7's R4 JSON schema, beside the models the service writes with
    recommendation = next(p["resource"] for p in r.get_json()["parameter"] if p["name"] == "recommendation")
    return recommendation["recommendation"]


def dates(entry: dict[str, Any]) -> dict[str, str]:
    return {c["code"]["coding"][0]["code"]: c["value"] for c in entry.get("dateCriterion", [])}


def status(entry: dict[str, Any]) -> tuple[str, str]:
    coding = entry["forecastStatus"]["coding"][0]
    return coding["system"].rsplit("/", 1)[-1], coding["code"]


def with_parts(facts: Facts, *parts: dict[str, Any]) -> dict[str, Any]:
    body = facts.fhir()
    body["parameter"] += list(parts)
    return body


PLANNED_START = Facts(vaccines=("03",), start_date="2027-03-01")


def test_mmr_dose_2_is_not_earlier_than_the_minimum_interval_after_dose_1(client):
    first, second = entries(client, PLANNED_START.fhir())
    assert dates(first)[DUE] == "2026-11-24" and dates(first)[EARLIEST] == "2026-11-24"
    # The pre-start window opens today, but dose 2 is valid only 4 weeks (CDSi minimum) after dose 1.
    assert dates(second)[EARLIEST] == "2026-12-22"
    assert status(first) == ("immunization-recommendation-status", "due")
    assert status(second) == ("ForecastStatus", "notComplete")


def test_the_pre_start_window_is_a_real_deadline_and_loinc_names_the_dates(client):
    for entry in entries(client, PLANNED_START.fhir()):
        assert dates(entry)[LATEST] == "2027-02-01"  # the last day a live dose fits before the first dose
        for criterion in entry["dateCriterion"]:
            coding = criterion["code"]["coding"][0]
            assert coding["system"] == "http://loinc.org" and coding["display"] == DISPLAYS[coding["code"]]


STOPPED = Facts(
    vaccines=("187",), doses=("2025-01-06", "2025-01-13", "2025-01-20", "2025-02-03"), stopped_on="2025-02-03"
)
REPLETED = {"name": "bCellRepletionDate", "valueDate": "2026-06-01"}


def test_a_window_that_ends_only_with_the_horizon_gives_no_latest_date(client):
    answers = [
        entries(client, with_parts(STOPPED, REPLETED, {"name": "horizonDays", "valueInteger": horizon}))
        for horizon in (365, 730, 1095)
    ]
    assert all(found and all(LATEST not in dates(e) for e in found) for found in answers)
    # The same dates whatever the horizon: nothing in the answer moves with it.
    assert answers[0] == answers[1] == answers[2]


def test_needed_by_is_a_deadline(client):
    body = with_parts(STOPPED, REPLETED, {"name": "neededBy", "valueDate": "2027-06-01"})
    assert [dates(e).get(LATEST) for e in entries(client, body)] == ["2027-06-01", "2027-06-01"]
