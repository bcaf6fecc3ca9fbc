"""One table of scenarios through REST, FHIR and CDS Hooks: the same dates and statuses on every channel.

Each row states the facts once (tests/interop_builders.py turns them into a REST body, a FHIR Parameters and a
CDS Hooks order-sign call) and the statuses REST must give; every other channel must then agree with REST
exactly, window by window.
"""

from __future__ import annotations

from datetime import date

import pytest
from fhir.resources.R4B.immunizationrecommendation import ImmunizationRecommendation
from fhir.resources.R4B.parameters import Parameters

from tests.interop_builders import Facts

EARLIEST, LATEST = "30981-5", "59777-3"
DUE = "30980-7"  # LOINC: date vaccine due (a proposed dose)
MAINTENANCE = ("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17")

# name -> (facts, expected REST phase and status per vaccine, expected CDS indicator per vaccine ordered on as_of)
SCENARIOS = {
    "planned start: MMR and Shingrix before the first dose": (
        # a start far enough away for both MMR doses (4 weeks apart) to come 28 days before it
        Facts(vaccines=("03", "187"), start_date="2027-03-01"),
        ("not_started", ["pre_start", "pre_start"]),
        ["info", "info"],
    ),
    "maintenance: yellow fever avoided, Shingrix mid-cycle": (
        Facts(vaccines=("37", "187"), doses=MAINTENANCE),
        ("maintenance", ["avoid", "mid_cycle"]),
        ["critical", "warning"],
    ),
    "stopped therapy: MMR waits for B cells, pneumococcal after stopping": (
        Facts(
            vaccines=("03", "216"),
            doses=("2026-06-02", "2026-06-09", "2026-06-16", "2026-06-30", "2026-07-28", "2026-08-25"),
            stopped_on="2026-09-01",
        ),
        ("stopped", ["avoid", "post_therapy"]),
        ["critical", "info"],
    ),
    "overdue dose: Shingrix and influenza after the missed dose": (
        Facts(vaccines=("187", "140"), doses=("2026-08-25", "2026-09-01", "2026-09-08", "2026-09-22", "2026-10-20")),
        ("overdue", ["mid_cycle", "mid_cycle"]),
        ["warning", "warning"],
    ),
    # Prior doses on record: Shingrix dose 1 on 2026-09-01 continues the series (dose 2 is proposed, not dose
    # 1 again); the hepatitis B doses on record are another vaccine's and only travel along.
    "maintenance with Shingrix dose 1 on record: dose 2 is what is proposed": (
        Facts(vaccines=("187",), doses=MAINTENANCE, history=(("187", "2026-09-01"), ("43", "2026-06-01"))),
        ("maintenance", ["mid_cycle"]),
        ["warning"],
    ),
    # Planned start on 2027-01-05, MMR dose 1 given on 2026-10-27: dose 2 (at least 28 days later, CDSi) fits
    # before the live pre-start limit of 2026-12-08, so the series is completed before the first dose.
    "planned start with MMR dose 1 on record: dose 2 before the first dose": (
        Facts(vaccines=("03",), start_date="2027-01-05", history=(("03", "2026-10-27"),)),
        ("not_started", ["pre_start"]),
        ["info"],
    ),
    # Both Shingrix doses on record: the series is complete.
    "stopped therapy with the Shingrix series complete": (
        Facts(
            vaccines=("187",),
            doses=("2026-06-02", "2026-06-09", "2026-06-16", "2026-06-30", "2026-07-28", "2026-08-25"),
            stopped_on="2026-09-01",
            history=(("187", "2026-03-02"), ("187", "2026-05-04")),
        ),
        ("stopped", ["post_therapy"]),
        ["warning"],
    ),
}
# Worked by hand for the rows with doses on record. Shingrix: dose 1 on 2026-09-01 + 8 weeks (CDSi recommended
# interval) = 2026-10-27, before the first mid-cycle slot after the 2026-11-17 dose (+14 days = 2026-12-01).
# MMR: dose 1 on 2026-10-27 + 28 days = 2026-11-24 (as_of), inside the pre-start window that ends 28 days
# before the 2027-01-05 start (2026-12-08).
PROPOSED = {
    "maintenance with Shingrix dose 1 on record: dose 2 is what is proposed": [[{"dose": 2, "date": "2026-12-01"}]],
    "planned start with MMR dose 1 on record: dose 2 before the first dose": [[{"dose": 2, "date": "2026-11-24"}]],
    "stopped therapy with the Shingrix series complete": [[]],
}


@pytest.fixture(params=list(SCENARIOS), ids=list(SCENARIOS))
def scenario(request, client):
    facts, statuses, indicators = SCENARIOS[request.param]
    rest = client.post("/v1/plans", json=facts.rest())
    assert rest.status_code == 200, rest.get_json()
    return facts, statuses, indicators, rest.get_json()


@pytest.mark.parametrize("name", list(PROPOSED), ids=list(PROPOSED))
def test_doses_on_record_continue_the_series_on_every_channel(name, client):
    facts, _, _ = SCENARIOS[name]
    plan = client.post("/v1/plans", json=facts.rest()).get_json()
    assert [v["proposed"] for v in plan["vaccines"]] == PROPOSED[name]
    fhir = Parameters.model_validate(client.post("/fhir/$vaccine-timing", json=facts.fhir()).get_json())
    numbers = [e.doseNumberPositiveInt for e in fhir.parameter[0].resource.recommendation]
    assert numbers == [d["dose"] for doses in PROPOSED[name] for d in doses] or (
        numbers == [None] and not PROPOSED[name][0]
    )


def test_rest_gives_the_statuses_the_table_expects(scenario):
    _, (phase, statuses), _, plan = scenario
    treatment = plan["treatment"]
    assert ("overdue" if treatment["overdue"] else treatment["phase"]) == phase
    assert [v["status"] for v in plan["vaccines"]] == statuses


def test_fhir_recommendation_agrees_with_rest_window_by_window(scenario, client, ruleset):
    facts, _, _, plan = scenario
    r = client.post("/fhir/$vaccine-timing", json=facts.fhir())
    assert r.status_code == 200 and r.content_type == "application/fhir+json", r.get_json()
    out = Parameters.model_validate(r.get_json())
    recommendation = out.parameter[0].resource
    assert isinstance(recommendation, ImmunizationRecommendation)
    assert str(recommendation.date) == plan["as_of"]
    entries = list(recommendation.recommendation)
    for item in plan["vaccines"]:
        mine = [e for e in entries if e.vaccineCode[0].coding[0].code == item["vaccine"]["cvx"]]
        assert all(e.description == item["reason"] for e in mine)
        statuses = [e.forecastStatus.coding[0].code for e in mine]
        series = item["series"]
        if series["given"] >= series["doses"]:
            assert statuses == ["complete"] and not mine[0].dateCriterion
            continue
        if item["status"] == "avoid":
            assert statuses == ["contraindicated"]
            assert mine[0].contraindicatedVaccineCode[0].coding[0].code == item["vaccine"]["cvx"]
            assert not mine[0].dateCriterion
            continue
        # One entry per dose to give, numbered from the doses on record on.
        assert [e.doseNumberPositiveInt for e in mine] == list(range(series["given"] + 1, series["doses"] + 1))
        dated = [e for e in mine if e.dateCriterion]
        criteria = [{c.code.coding[0].code: str(c.value) for c in e.dateCriterion} for e in dated]
        assert [
            {"dose": e.doseNumberPositiveInt, "date": c[DUE]} for c, e in zip(criteria, dated, strict=True)
        ] == item["proposed"]
        days = dict(enumerate(sorted(d for cvx, d in facts.history if cvx == item["vaccine"]["cvx"]), 1))
        days.update({p["dose"]: p["date"] for p in item["proposed"]})
        for c, e in zip(criteria, dated, strict=True):
            # Earliest: inside the window that holds the proposed date, not before the assessment date nor the
            # minimum interval after each earlier dose, never after the due date; due now only if it is today.
            window = next(w for w in item["windows"] if w["start"] <= c[DUE] <= w["end"])
            assert max(window["start"], plan["as_of"]) <= c[EARLIEST] <= c[DUE]
            assert e.forecastStatus.coding[0].code == ("due" if c[EARLIEST] <= plan["as_of"] else "notComplete")
            own = ruleset.vaccine_rules.series.get(item["vaccine"]["id"])
            for interval in own.doses[e.doseNumberPositiveInt - 1].intervals if own else ():
                before = date.fromisoformat(days[interval.from_dose])
                assert c[EARLIEST] >= interval.minimum.after(before).isoformat()
            # Latest: only where the window closes before the horizon ends (no needed_by in these scenarios).
            assert c.get(LATEST) == (window["end"] if window["end"] < plan["horizon_end"] else None)
            assert e.forecastReason[0].coding[0].code == window["kind"]
            later = [{x.url: str(x.valueCode or x.valueDate) for x in ext.extension} for ext in e.extension or []]
            assert later == [
                {"kind": w["kind"], "start": w["start"], "end": w["end"]}
                for w in item["windows"]
                if w["start"] > window["end"]
            ]
        # Supporting immunizations: only this vaccine's own doses on record (no live-live spacing here).
        cited = {s.reference for e in mine for s in e.supportingImmunization or []}
        own = {f"Immunization/imm-{i + 1}" for i, (cvx, _) in enumerate(facts.history) if cvx == item["vaccine"]["cvx"]}
        assert cited == own
    supporting = {s.reference for s in entries[0].supportingPatientInformation}
    assert supporting == {f"{r['resourceType']}/{r['id']}" for r in facts.medication_resources()}


def test_cds_cards_agree_with_rest_and_have_the_expected_urgency(scenario, client):
    facts, _, indicators, plan = scenario
    r = client.post("/cds-services/vaccine-timing-order-sign", json=facts.cds())
    assert r.status_code == 200, r.get_json()
    cards = r.get_json()["cards"]
    assert [c["indicator"] for c in cards] == indicators
    for card, item in zip(cards, plan["vaccines"], strict=True):
        data = card["extension"]["vaccine-timing-planner"]
        assert (data["status"], data.get("windows", [])) == (item["status"], item["windows"])
        assert data["vaccine"]["cvx"] == item["vaccine"]["cvx"]
        assert item["reason"] in card["detail"]
        if item["series"]["given"] >= item["series"]["doses"]:
            assert "series is complete" in card["summary"]
        elif card["indicator"] == "warning" and item["windows"]:
            # A vaccine ordered outside its windows: the summary names the next window's dates.
            nxt = next(w for w in item["windows"] if w["start"] > facts.as_of)
            assert nxt["start"] in card["summary"] and nxt["end"] in card["summary"]
        if card["indicator"] == "info":
            first = item["windows"][0]
            assert first["start"] <= facts.as_of <= first["end"]
            assert first["end"] in card["summary"]
