"""The history warnings reach every front end: CDS Hooks cards, the iCalendar export and FHIR Parameters."""

from __future__ import annotations

from icalendar import Calendar

from tests.interop_builders import PATIENT, Facts, bundle
from tests.test_interop_cds_hooks import check_card

SIGN = "/cds-services/vaccine-timing-order-sign"
# Labelled starter and first maintenance dose; the first dose on 20 October 2026.
MAINTENANCE = Facts(vaccines=("187",), doses=("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"))


def immunization(id_, cvx, day):
    return {
        "resourceType": "Immunization",
        "id": id_,
        "status": "completed",
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]},
        "patient": PATIENT,
        "occurrenceDateTime": day,
    }


def test_a_live_vaccine_recorded_during_therapy_gets_its_own_warning_card(client):
    body = MAINTENANCE.cds()
    body["prefetch"]["immunizations"] = bundle([immunization("mmr", "03", "2026-11-10")])
    cards = client.post(SIGN, json=body).get_json()["cards"]
    [card] = [c for c in cards if c["extension"]["vaccine-timing-planner"].get("warning")]
    check_card(card)
    assert card["indicator"] == "warning" and "during ofatumumab therapy" in card["summary"]
    assert "2026-11-10" in card["detail"] and "ofatumumab.live-vaccine-during-therapy" in card["detail"]
    assert card["source"]["topic"]["code"] == "ofatumumab.live-vaccine-during-therapy"
    # the order's own card is still there
    assert any(c["extension"]["vaccine-timing-planner"].get("order") for c in cards)


def test_a_live_vaccine_just_before_the_first_dose_names_the_start_date_on_its_card(client):
    body = MAINTENANCE.cds()
    body["prefetch"]["immunizations"] = bundle([immunization("var", "21", "2026-10-10")])
    cards = client.post(SIGN, json=body).get_json()["cards"]
    [card] = [c for c in cards if c["extension"]["vaccine-timing-planner"].get("warning")]
    check_card(card)
    assert card["extension"]["vaccine-timing-planner"]["warning"] == "live-vaccine-before-start"
    # already started: no earliest start to offer, the detail says when the first dose would have been due
    assert card["summary"].endswith("clinical review") and "2026-11-07" in card["detail"]


def test_no_warning_card_without_a_history_warning(client):
    body = MAINTENANCE.cds()
    body["prefetch"]["immunizations"] = bundle([immunization("flu", "150", "2026-11-10")])
    cards = client.post(SIGN, json=body).get_json()["cards"]
    assert not [c for c in cards if c["extension"]["vaccine-timing-planner"].get("warning")]


def test_the_calendar_carries_the_plan_warnings_in_each_window(client):
    body = {
        "as_of": "2026-11-24",
        "treatment": {"drug": "ofatumumab", "start_date": "2027-01-05"},
        "vaccines": [{"name": "Shingrix"}],
        "immunizations": [{"cvx": "03", "date": "2026-12-20"}],
    }
    assert client.post("/v1/plans", json=body).status_code == 422  # a vaccine after as_of is refused
    body["immunizations"] = [{"cvx": "03", "date": "2026-11-20"}]
    cal = Calendar.from_ical(client.post("/v1/plans.ics", json=body).data)
    windows = [e for e in cal.walk("VEVENT") if "VACCINE-WINDOW" in str(e.get("categories").to_ical())]
    assert windows
    for event in windows:
        description = str(event.get("description"))
        assert "Warning live-vaccine-before-start:" not in description  # 20 Nov + 28 = 18 Dec, before 5 Jan
    body["treatment"]["start_date"] = "2026-12-10"
    cal = Calendar.from_ical(client.post("/v1/plans.ics", json=body).data)
    events = [e for e in cal.walk("VEVENT") if {"VACCINE-WINDOW", "VACCINE-DOSE"} & set(e.get("categories").cats)]
    kinds = {str(c) for e in events for c in e.get("categories").cats}
    assert kinds == {"VACCINE-WINDOW", "VACCINE-DOSE"}, kinds  # windows and the proposed appointments alike
    assert all(
        "Warning live-vaccine-before-start:" in str(e.get("description")) and "2026-12-18" in str(e.get("description"))
        for e in events
    )


def test_fhir_parameters_carry_the_warning_code(client):
    body = MAINTENANCE.fhir()
    body["parameter"].append({"name": "immunization", "resource": immunization("mmr", "03", "2026-11-10")})
    out = client.post("/fhir/$vaccine-timing", json=body).get_json()
    notes = [p["valueString"] for p in out["parameter"] if p["name"] == "warning"]
    assert any(n.startswith("live-vaccine-during-therapy: ") for n in notes)


def test_fhir_states_a_partial_history_with_therapy_start_date(client):
    facts = Facts(vaccines=("187",), doses=("2026-11-17",))
    alone = client.post("/fhir/$vaccine-timing", json=facts.fhir())
    assert alone.status_code == 422 and alone.get_json()["resourceType"] == "OperationOutcome"
    assert "Send the therapyStartDate parameter" in alone.get_json()["issue"][0]["diagnostics"]
    body = facts.fhir()
    body["parameter"].append({"name": "therapyStartDate", "valueDate": "2024-03-01"})
    out = client.post("/fhir/$vaccine-timing", json=body)
    assert out.status_code == 200, out.get_json()
    [rec] = [p["resource"] for p in out.get_json()["parameter"] if p["name"] == "recommendation"]
    first = rec["recommendation"][0]
    dates = {c["code"]["coding"][0]["code"]: c["value"] for c in first["dateCriterion"]}
    # Due later (its earliest date is after the assessment date): notComplete, dated (ImmDS ForecastStatus).
    assert (first["forecastStatus"]["coding"][0]["code"], dates["30981-5"], dates["59777-3"]) == (
        "notComplete",
        "2026-12-01",
        "2026-12-08",
    )
    notes = [p["valueString"] for p in out.get_json()["parameter"] if p["name"] == "warning"]
    assert any(n.startswith("history-assumed: ") for n in notes)


def test_a_planned_start_too_soon_after_a_live_vaccine_gets_a_card_with_the_date_it_may_move_to(client):
    body = Facts(vaccines=("187",), start_date="2026-12-04").cds()  # the service's today: 2026-11-24
    body["prefetch"]["immunizations"] = bundle([immunization("mmr", "03", "2026-11-19")])
    cards = client.post(SIGN, json=body).get_json()["cards"]
    [card] = [c for c in cards if c["extension"]["vaccine-timing-planner"].get("warning")]
    check_card(card)
    assert (
        card["summary"]
        == "Live vaccine less than 4 weeks before the first ofatumumab dose: start on or after 2026-12-17"
    )


def test_a_single_recorded_administration_still_gets_the_critical_card_for_a_live_order(client):
    # One administration: a new start or the latest dose of an established therapy? The record cannot say, so
    # the non-live order is not checked; a live vaccine is avoided under either reading, so its card stands.
    body = Facts(vaccines=("37", "187"), doses=("2026-11-17",)).cds()
    cards = client.post(SIGN, json=body).get_json()["cards"]
    for card in cards:
        check_card(card)
    record, live = cards
    assert record["indicator"] == "warning" and "does not say when the therapy started" in record["summary"]
    assert "non-live orders are not" in record["detail"]
    assert live["indicator"] == "critical" and live["extension"]["vaccine-timing-planner"]["vaccine"]["cvx"] == "37"


def test_a_single_recorded_administration_with_only_non_live_orders_gets_one_not_checked_card(client):
    body = Facts(vaccines=("187",), doses=("2026-11-17",)).cds()
    [card] = client.post(SIGN, json=body).get_json()["cards"]
    assert card["indicator"] == "warning" and "treatment.start_date" in card["detail"]


def test_a_single_recorded_administration_keeps_the_card_of_an_order_it_cannot_read(client):
    body = Facts(vaccines=("03", "88"), doses=("2026-11-17",)).cds()  # 88: influenza, unspecified formulation
    cards = client.post(SIGN, json=body).get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["warning", "warning", "critical"]
    assert "CVX 88" in cards[1]["summary"] and cards[2]["extension"]["vaccine-timing-planner"]["vaccine"]["cvx"] == "03"
