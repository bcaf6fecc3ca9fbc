"""CDS Hooks 2.0: discovery and card shapes against the specification's required fields, 412, feedback."""

from __future__ import annotations

import logging
import uuid

import pytest

from service.api.examples import CDS_REQUEST_EXAMPLE, CDS_RESPONSE_EXAMPLE
from tests.interop_builders import Facts, bundle, service_request

SIGN = "/cds-services/vaccine-timing-order-sign"
SELECT = "/cds-services/vaccine-timing-order-select"
MAINTENANCE = Facts(vaccines=("37", "187"), doses=("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"))
INDICATORS = {"info", "warning", "critical"}


def cards_of(response):
    assert response.status_code == 200, response.get_json()
    assert response.content_type == "application/json"
    return response.get_json()["cards"]


def check_card(card):
    """The specification's card attributes: required ones present, optional ones well-formed, none empty."""
    assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
    assert card["indicator"] in INDICATORS
    assert card["source"]["label"]
    uuid.UUID(card["uuid"])
    assert card["detail"]
    for reason in card.get("overrideReasons", []):
        assert reason["display"] and reason["code"] and reason["system"]
    assert all(value not in (None, "", [], {}) for value in card.values())


def test_discovery_lists_services_with_the_required_fields(client):
    r = client.get("/cds-services")
    assert r.status_code == 200
    services = r.get_json()["services"]
    assert {s["hook"] for s in services} == {"order-sign", "order-select"}
    for service in services:
        assert service["id"] and service["description"] and service["title"]
        assert set(service["prefetch"]) == {
            "medicationAdministrations",
            "medicationRequests",
            "medicationStatements",
            "immunizations",
        }
        assert all("{{context.patientId}}" in query for query in service["prefetch"].values())
        # The Medication a medicationReference names comes with the search (_include on each medication search).
        for kind in ("MedicationAdministration", "MedicationRequest", "MedicationStatement"):
            assert f"_include={kind}:medication" in service["prefetch"][f"{kind[0].lower()}{kind[1:]}s"]


def test_the_published_example_is_what_the_service_answers(client):
    assert client.post(SIGN, json=CDS_REQUEST_EXAMPLE).get_json() == CDS_RESPONSE_EXAMPLE


def test_a_live_vaccine_during_therapy_gets_a_critical_card_citing_the_rule_and_its_source(client, profile):
    card = cards_of(client.post(SIGN, json=MAINTENANCE.cds()))[0]
    check_card(card)
    rule = profile.rules["live_during_therapy"]
    assert card["indicator"] == "critical"
    # The rule in plain words in the detail; its source and citation one link away, on the rules page.
    assert rule.id in card["detail"] and rule.source not in card["detail"]
    link = next(link for link in card["links"] if link["url"].endswith(f"#rule-{rule.id}"))
    assert link["type"] == "absolute" and link["url"].startswith("https://")
    page = client.get(link["url"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]).split("#")[0])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'id="rule-{rule.id}"' in text and rule.source.split(" (")[0] in text
    assert card["source"]["topic"]["code"] == rule.id
    assert {r["code"] for r in card["overrideReasons"]} >= {"therapy-stopped", "b-cell-repletion-confirmed"}


def test_a_non_live_vaccine_outside_its_window_gets_a_warning_with_the_next_window(client):
    card = cards_of(client.post(SIGN, json=MAINTENANCE.cds()))[1]
    check_card(card)
    first = card["extension"]["vaccine-timing-planner"]["windows"][0]
    assert card["indicator"] == "warning" and f"{first['start']} to {first['end']}" in card["summary"]
    assert card["overrideReasons"]


def test_an_order_dated_inside_a_window_gets_an_info_card(client):
    body = MAINTENANCE.cds()
    body["context"]["draftOrders"] = bundle([service_request("later", "187", "2026-12-03")], "collection")
    card = cards_of(client.post(SIGN, json=body))[0]
    check_card(card)
    assert card["indicator"] == "info" and "overrideReasons" not in card
    assert card["extension"]["vaccine-timing-planner"]["orderDate"] == "2026-12-03"


def test_every_card_summary_stays_under_140_characters(client):
    body = MAINTENANCE.cds()
    # Long catalog names: Japanese encephalitis, rabies, tick-borne encephalitis, hepatitis A+B.
    body["context"]["draftOrders"] = bundle(
        [service_request(f"o{c}", c, None) for c in ("134", "175", "223", "104")], "collection"
    )
    for card in cards_of(client.post(SIGN, json=body)):
        check_card(card)


def test_order_select_checks_only_the_selected_orders(client):
    body = MAINTENANCE.cds()
    body["hook"] = "order-select"
    body["context"]["selections"] = ["ServiceRequest/order-1"]
    cards = cards_of(client.post(SELECT, json=body))
    assert [c["extension"]["vaccine-timing-planner"]["order"] for c in cards] == [
        "https://ehr.example/fhir/ServiceRequest/order-1"
    ]


def test_no_cards_without_a_vaccine_order_or_without_ofatumumab_on_record(client):
    body = MAINTENANCE.cds()
    body["context"]["draftOrders"] = bundle([], "collection")
    assert cards_of(client.post(SIGN, json=body)) == []
    body = MAINTENANCE.cds()
    body["prefetch"]["medicationAdministrations"] = None
    assert cards_of(client.post(SIGN, json=body)) == []


def test_an_order_the_planner_cannot_read_gets_its_own_warning_and_the_others_are_still_checked(client):
    body = MAINTENANCE.cds()
    body["context"]["draftOrders"]["entry"].append({"resource": service_request("flu", "88", None)})
    cards = cards_of(client.post(SIGN, json=body))
    assert [c["indicator"] for c in cards] == ["warning", "critical", "warning"]
    assert "CVX 88" in cards[0]["summary"] and "could mean" in cards[0]["detail"]
    for card in cards:
        check_card(card)


# A record that cannot be planned from: a warning, critical when a live vaccine (yellow fever) is ordered.
UNREADABLE_ORDERS = [(("37", "187"), "critical"), (("187",), "warning")]


@pytest.mark.parametrize(("vaccines", "indicator"), UNREADABLE_ORDERS, ids=["live-ordered", "non-live-only"])
def test_a_therapy_record_the_planner_refuses_is_one_card_naming_the_resource(client, vaccines, indicator):
    body = Facts(vaccines=vaccines, doses=MAINTENANCE.doses).cds()
    entries = body["prefetch"]["medicationAdministrations"]["entry"]
    entries.append({"resource": {**entries[0]["resource"], "id": "again", "effectiveDateTime": "2026-11-17"}})
    cards = cards_of(client.post(SIGN, json=body))
    assert len(cards) == 1 and cards[0]["indicator"] == indicator
    assert "prefetch.medicationAdministrations.entry[" in cards[0]["detail"]


@pytest.mark.parametrize(("vaccines", "indicator"), UNREADABLE_ORDERS, ids=["live-ordered", "non-live-only"])
def test_an_ofatumumab_administration_that_cannot_be_read_is_a_card_not_a_failed_hook(client, vaccines, indicator):
    body = Facts(vaccines=vaccines, doses=MAINTENANCE.doses).cds()
    body["prefetch"]["medicationAdministrations"]["entry"][0]["resource"]["status"] = "unknown"
    cards = cards_of(client.post(SIGN, json=body))
    assert [c["indicator"] for c in cards] == [indicator]
    assert "prefetch.medicationAdministrations.entry[0].resource.status" in cards[0]["detail"]


@pytest.mark.parametrize("fhir_server", [None, "https://ehr.example/fhir"], ids=["no fhirServer", "with a fhirServer"])
def test_missing_prefetch_is_412(client, fhir_server):
    body = MAINTENANCE.cds()
    del body["prefetch"]["immunizations"]
    if fhir_server:
        body["fhirServer"] = fhir_server
    r = client.post(SIGN, json=body)
    assert r.status_code == 412 and "immunizations" in r.get_json()["detail"]
    del body["prefetch"]
    assert client.post(SIGN, json=body).status_code == 412


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b.update(hook="patient-view"),
        lambda b: b.pop("hookInstance"),
        lambda b: b.pop("context"),
        lambda b: b["context"].pop("draftOrders"),
        lambda b: b["prefetch"].update(immunizations={"resourceType": "Nope"}),
    ],
    ids=["wrong-hook", "no-hookInstance", "no-context", "no-draftOrders", "bad-prefetch-resource"],
)
def test_a_malformed_hook_request_is_400(client, change):
    body = MAINTENANCE.cds()
    change(body)
    r = client.post(SIGN, json=body)
    assert r.status_code == 400 and r.content_type == "application/problem+json"


def test_unknown_service_and_wrong_media_type(client):
    assert client.post("/cds-services/nope", json={}).status_code == 404
    assert client.post(SIGN, data="x", content_type="text/plain").status_code == 415


def test_feedback_is_accepted_and_only_counts_are_logged(client):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("service.cds_hooks")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # the test app logs at WARNING
    try:
        card = "4e0a3a1e-3283-4575-ab82-028d55fe2719"
        body = {
            "feedback": [
                {
                    "card": card,
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": "s1"}],
                    "outcomeTimestamp": "2026-11-24T10:00:00Z",
                },
                {
                    "card": card,
                    "outcome": "overridden",
                    "outcomeTimestamp": "2026-11-24T10:01:00Z",
                    "overrideReason": {
                        "reason": {"code": "therapy-stopped", "display": "x"},
                        "userComment": "Jane Doe",
                    },
                },
            ]
        }
        r = client.post(f"{SIGN}/feedback", json=body)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert r.status_code == 200 and r.get_json() == {"accepted": 1, "overridden": 1}
    logged = " ".join(rec.getMessage() for rec in records)
    assert "1 accepted, 1 overridden" in logged and card not in logged and "Jane" not in logged


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"feedback": []},
        {"feedback": [{"card": "x", "outcome": "maybe", "outcomeTimestamp": "t"}]},
        {"feedback": [{"card": "x", "outcome": "accepted", "outcomeTimestamp": "t"}]},
        {"feedback": [{"card": "0", "outcome": {}, "outcomeTimestamp": "", "acceptedSuggestions": []}]},
    ],
    ids=[
        "no feedback key",
        "empty feedback",
        "unknown outcome",
        "accepted without accepted suggestions",
        "outcome an object (was a 500, found by the contract fuzzing)",
    ],
)
def test_malformed_feedback_is_400(client, body):
    assert client.post(f"{SIGN}/feedback", json=body).status_code == 400


@pytest.mark.parametrize(
    "when",
    ["yesterday", "2026-11-24", "2026-11-24T10:15:00", "2026-11-24T11:15:00+01:00", "2026-13-40T10:15:00Z", 1764000000],
)
def test_an_outcome_timestamp_that_is_not_an_iso_date_time_in_utc_is_400_naming_it(client, when):
    body = {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": when}]}
    r = client.post(f"{SIGN}/feedback", json=body)
    assert r.status_code == 400
    assert [e["field"] for e in r.get_json()["errors"]] == ["feedback[0].outcomeTimestamp"]
    body["feedback"][0]["outcomeTimestamp"] = "2026-11-24T10:15:00+00:00"
    assert client.post(f"{SIGN}/feedback", json=body).status_code == 200


def test_a_summary_that_would_be_too_long_is_shortened_below_140_characters():
    from service.interop.cards import _fit

    text = _fit("x" * 200)
    assert len(text) < 140 and text.endswith("…")
    assert _fit("short") == "short"


def test_a_live_order_that_must_be_avoided_suggests_removing_the_draft_order(client):
    card = cards_of(client.post(SIGN, json=MAINTENANCE.cds()))[0]
    assert card["indicator"] == "critical" and card["selectionBehavior"] == "at-most-one"
    (remove,) = card["suggestions"]
    (action,) = remove["actions"]
    assert action == {
        "type": "delete",
        "description": "Remove the draft Yellow fever vaccine order",
        "resourceId": "ServiceRequest/order-0",
    }
    uuid.UUID(remove["uuid"])


def test_an_order_outside_its_window_suggests_moving_it_into_the_window(client):
    from fhir.resources.R4B.servicerequest import ServiceRequest

    from tests.test_interop_fhir_schema import errors

    card = cards_of(client.post(SIGN, json=MAINTENANCE.cds()))[1]
    assert card["indicator"] == "warning"
    move, remove = card["suggestions"]
    assert move["isRecommended"] is True and "isRecommended" not in remove
    (update,) = move["actions"]
    moved = update["resource"]
    assert update["type"] == "update" and errors(moved) == [] and ServiceRequest.model_validate(moved)
    day = moved["occurrenceDateTime"]
    windows = card["extension"]["vaccine-timing-planner"]["windows"]
    assert any(w["start"] <= day <= w["end"] for w in windows) and day in move["label"]
    draft = MAINTENANCE.cds()["context"]["draftOrders"]["entry"][1]["resource"]
    assert {k: v for k, v in moved.items() if k != "occurrenceDateTime"} == {
        k: v for k, v in draft.items() if k != "occurrenceDateTime"
    }


def test_a_card_inside_its_window_suggests_nothing_and_details_stay_short(client):
    body = MAINTENANCE.cds()
    body["context"]["draftOrders"] = bundle([service_request("later", "187", "2026-12-03")], "collection")
    card = cards_of(client.post(SIGN, json=body))[0]
    assert card["indicator"] == "info" and "suggestions" not in card and "selectionBehavior" not in card
    for card in cards_of(client.post(SIGN, json=MAINTENANCE.cds())):
        assert len(card["detail"]) < 1500, card["detail"]
        for link in card.get("links", []):
            assert set(link) == {"label", "url", "type"} and link["type"] == "absolute"
