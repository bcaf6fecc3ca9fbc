"""One table of scenarios through REST, FHIR and CDS Hooks: the same dates and statuses on every channel.

Each row states the facts once (tests/interop_builders.py turns them into a REST body, a FHIR Parameters and a
CDS Hooks order-sign call) and the statuses REST must give; every other channel must then agree with REST
exactly, window by window.
"""

from __future__ import annotations

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
}


@pytest.fixture(params=list(SCENARIOS), ids=list(SCENARIOS))
def scenario(request, client):
    facts, statuses, indicators = SCENARIOS[request.param]
    rest = client.post("/v1/plans", json=facts.rest())
    assert rest.status_code == 200, rest.get_json()
    return facts, statuses, indicators, rest.get_json()


def test_rest_gives_the_statuses_the_table_expects(scenario):
    _, (phase, statuses), _, plan = scenario
    treatment = plan["treatment"]
    assert ("overdue" if treatment["overdue"] else treatment["phase"]) == phase
    assert [v["status"] for v in plan["vaccines"]] == statuses


def test_fhir_recommendation_agrees_with_rest_window_by_window(scenario, client):
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
        if item["status"] == "avoid":
            assert [e.forecastStatus.coding[0].code for e in mine] == ["contraindicated"]
            assert mine[0].contraindicatedVaccineCode[0].coding[0].code == item["vaccine"]["cvx"]
            assert not mine[0].dateCriterion
            continue
        assert {e.forecastStatus.coding[0].code for e in mine} == {"due"}
        # One entry per window, or one per proposed dose inside it (with its date as LOINC 30980-7).
        criteria = [{c.code.coding[0].code: str(c.value) for c in e.dateCriterion} for e in mine]
        spans = list(dict.fromkeys((c[EARLIEST], c[LATEST]) for c in criteria))
        assert spans == [(w["start"], w["end"]) for w in item["windows"]]
        kinds = {
            (c[EARLIEST], c[LATEST]): e.forecastReason[0].coding[0].code for c, e in zip(criteria, mine, strict=True)
        }
        assert kinds == {(w["start"], w["end"]): w["kind"] for w in item["windows"]}
        due = [
            {"dose": e.doseNumberPositiveInt, "date": c[DUE]} for c, e in zip(criteria, mine, strict=True) if DUE in c
        ]
        assert due == item["proposed"]
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
        if card["indicator"] == "warning" and item["windows"]:
            # A vaccine ordered outside its windows: the summary names the next window's dates.
            nxt = next(w for w in item["windows"] if w["start"] > facts.as_of)
            assert nxt["start"] in card["summary"] and nxt["end"] in card["summary"]
        if card["indicator"] == "info":
            first = item["windows"][0]
            assert first["start"] <= facts.as_of <= first["end"]
            assert first["end"] in card["summary"]
