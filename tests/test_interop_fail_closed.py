"""Fail closed on the EHR routes: whatever the service could not see is named on a card (CDS Hooks) or in an
OperationOutcome issue (FHIR), never passed over; and no alert for a record that, fully seen, shows no therapy.

Every request here has the shape of the CDS Hooks 2.0 specification (hook, hookInstance, fhirServer, context
with userId, patientId and draftOrders, prefetch keyed as discovery asks). The day of the call is 2026-11-24.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters

from tests.interop_builders import (
    ATC,
    CVX,
    KESIMPTA,
    PATIENT,
    Facts,
    administration,
    bundle,
    immunization,
    service_request,
)

# The RxNorm and NDC codes below are stand-ins, not claims about what they name: the service cannot verify
# RxNorm codes here, so it reads an RxNorm or NDC coding by its display and reports a code-only one.
SIGN = "/cds-services/vaccine-timing-order-sign"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
MAINTENANCE = ("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17")
# A patient on maintenance; on 2026-11-24 (7 days after a dose) a non-live vaccine is outside its mid-cycle slot
# (2026-12-01 to 2026-12-08), so the plain answer for Shingrix is a warning and for MMR (live) a critical card.
ON_THERAPY = Facts(vaccines=("187",), doses=MAINTENANCE)
# A planned start on 2027-01-05: yellow fever (one dose) on 2026-11-24 is inside its pre-start window (ends
# 2026-12-08), an info card. (MMR is two doses 28 days apart, which no longer both fit: a live series is whole.)
PLANNED = Facts(vaccines=("37",), start_date="2027-01-05")
OUTCOME = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "timeout", "diagnostics": "search timed out"}],
}
METFORMIN = {"coding": [{"system": RXNORM, "code": "860975", "display": "metformin 500 MG Oral Tablet"}]}


def call(client, body: dict[str, Any]) -> list[dict[str, Any]]:
    body.setdefault("fhirServer", "https://ehr.example/fhir")
    r = client.post(SIGN, json=body)
    assert r.status_code == 200, r.get_json()
    cards = r.get_json()["cards"]
    for card in cards:
        assert 0 < len(card["summary"]) < 140 and card["indicator"] in {"info", "warning", "critical"}
        assert card["source"]["label"] and card["detail"]
        assert all(v not in (None, "", [], {}) for v in card.values())
        assert all(v not in (None, "", [], {}) for v in card["extension"]["vaccine-timing-planner"].values())
    return cards


def summary(cards: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(c["indicator"], c["summary"]) for c in cards]


def order_only(body: dict[str, Any], cvx: str) -> dict[str, Any]:
    body["context"]["draftOrders"] = bundle([service_request("order-0", cvx, "2026-11-24")], "collection")
    return body


def not_on_record(cvx: str, medications: Any = None) -> dict[str, Any]:
    """An order for a patient whose prefetch is given explicitly (no therapy unless `medications` says so)."""
    body = Facts(vaccines=(cvx,)).cds()
    body["prefetch"] = {
        "medicationAdministrations": medications,
        "medicationRequests": None,
        "medicationStatements": None,
        "immunizations": None,
    }
    return body


# ---- the record does not show the therapy, but the service could not see all of it ---------------------------


@pytest.mark.parametrize(
    ("medications", "cvx", "expected", "names"),
    [
        (None, "03", [], None),
        (bundle([administration("m1", "2026-11-01", METFORMIN)]), "03", [], None),
        (OUTCOME, "03", ["warning"], "OperationOutcome"),
        (OUTCOME, "187", ["warning"], "OperationOutcome"),
        (
            {**bundle([administration("m1", "2026-11-01", METFORMIN)]), "link": [{"relation": "next", "url": "p2"}]},
            "03",
            ["warning"],
            "paginated",
        ),
        ({**bundle([]), "total": 3}, "03", ["warning"], "found 3 records but only 0"),
        (
            bundle([administration("m1", "2026-11-01", {"coding": [{"system": RXNORM, "code": "2467297"}]})]),
            "03",
            ["warning"],
            "rxnorm|2467297",
        ),
        (
            bundle([administration("m1", "2026-11-01", {"coding": [{"system": RXNORM, "code": "2467297"}]})]),
            "187",
            [],
            None,
        ),
        (
            bundle([administration("k1", "2026-11-17", KESIMPTA, subject={"reference": "Patient/other"})]),
            "03",
            ["warning"],
            "another patient",
        ),
    ],
    ids=[
        "nothing-on-record-no-alert",
        "other-drugs-only-no-alert",
        "prefetch-is-an-operation-outcome-live-order",
        "prefetch-is-an-operation-outcome-non-live-order",
        "paginated-bundle",
        "bundle-total-above-entries",
        "rxnorm-code-without-name-live-order",
        "rxnorm-code-without-name-non-live-order-no-alert",
        "therapy-only-in-another-patients-record",
    ],
)
def test_what_the_medication_prefetch_did_not_show_is_a_card_and_a_fully_seen_record_without_therapy_is_silent(
    client, medications, cvx, expected, names
):
    cards = call(client, not_on_record(cvx, medications))
    assert [c["indicator"] for c in cards] == expected
    if names:
        assert names in cards[0]["detail"] and cards[0]["summary"].startswith("Vaccine timing not checked")


def test_an_information_note_in_a_searchset_is_not_a_gap(client):
    body = ON_THERAPY.cds()
    plain = call(client, copy.deepcopy(body))
    note = {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]}
    body["prefetch"]["medicationAdministrations"]["entry"].append({"resource": note, "search": {"mode": "outcome"}})
    assert summary(call(client, body)) == summary(plain)


def test_an_order_for_a_patient_on_arzerra_is_critical_when_live_since_the_planner_does_not_cover_it(client):
    arzerra = {"coding": [{"system": ATC, "code": "L01FA02", "display": "ofatumumab"}], "text": "Arzerra 1000 mg"}
    cards = call(client, not_on_record("03", bundle([administration("a1", "2026-11-10", arzerra)])))
    assert summary(cards) == [
        ("critical", "Vaccine timing not checked: the record shows a form of ofatumumab this planner does not cover")
    ]
    assert "Arzerra" in cards[0]["detail"]


# ---- the record shows the therapy, but not all of it -------------------------------------------------------


def _paginate(body: dict[str, Any]) -> None:
    body["prefetch"]["medicationAdministrations"]["link"] = [{"relation": "next", "url": "https://ehr.example/p2"}]


def _total(body: dict[str, Any]) -> None:
    body["prefetch"]["medicationAdministrations"]["total"] = 12


def _outcome_entry(body: dict[str, Any]) -> None:
    body["prefetch"]["medicationAdministrations"]["entry"].append(
        {"resource": {**OUTCOME, "issue": [{"severity": "error", "code": "too-costly"}]}, "search": {"mode": "outcome"}}
    )


def _requests_failed(body: dict[str, Any]) -> None:
    body["prefetch"]["medicationRequests"] = OUTCOME


def _immunizations_failed(body: dict[str, Any]) -> None:
    body["prefetch"]["immunizations"] = OUTCOME


def _unidentified_medication(body: dict[str, Any]) -> None:
    body["prefetch"]["medicationAdministrations"]["entry"].append(
        {"resource": administration("x1", "2026-11-20", {"coding": [{"system": RXNORM, "code": "2467297"}]})}
    )


def _another_patient(body: dict[str, Any]) -> None:
    body["prefetch"]["medicationAdministrations"]["entry"].append(
        {"resource": administration("o1", "2026-11-20", subject={"reference": "Patient/someone-else"})}
    )


def _unreadable_immunization(body: dict[str, Any]) -> None:
    body["prefetch"]["immunizations"] = bundle(
        [
            {
                **immunization("i1", "03", "2026-10-01"),
                "vaccineCode": {"coding": [{"system": NDC, "code": "0006-4681-00"}]},
            }
        ]
    )


INCOMPLETE = [
    (_paginate, "paginated"),
    (_total, "the search found 12 records"),
    (_outcome_entry, "OperationOutcome"),
    (_requests_failed, "prefetch.medicationRequests: the EHR answered with an OperationOutcome"),
    (_immunizations_failed, "prefetch.immunizations: the EHR answered with an OperationOutcome"),
    (_unidentified_medication, "medication not identified"),
    (_another_patient, "another patient"),
    (_unreadable_immunization, "immunization not read"),
]
INCOMPLETE_IDS = [
    "paginated",
    "total-above-entries",
    "outcome-entry",
    "requests-failed",
    "immunizations-failed",
    "unidentified-medication",
    "another-patient",
    "unreadable-immunization",
]


@pytest.mark.parametrize(("damage", "names"), INCOMPLETE, ids=INCOMPLETE_IDS)
def test_a_live_order_inside_its_window_on_an_incomplete_record_is_critical_and_says_what_was_not_seen(
    client, damage, names
):
    body = PLANNED.cds()
    body["prefetch"]["medicationAdministrations"] = bundle([])
    body["prefetch"]["medicationRequests"] = bundle(PLANNED.medication_resources())
    if damage in (_requests_failed,):
        # The planned start lives in the MedicationRequest: keep it visible as an administration-free request.
        body["prefetch"]["medicationAdministrations"] = bundle([])
    plain = call(client, copy.deepcopy(body))
    assert [c["indicator"] for c in plain] == ["info"]
    damage(body)
    cards = call(client, body)
    if damage is _requests_failed:
        # The only therapy record was in the failed search: nothing shows the therapy, so nothing is planned.
        assert [c["indicator"] for c in cards] == ["warning"] and names in cards[0]["detail"]
        return
    assert [c["indicator"] for c in cards] == ["critical"]
    assert cards[0]["summary"].startswith("Record incomplete: Yellow fever vaccine")
    assert names in cards[0]["detail"] and "The record is incomplete" in cards[0]["detail"]
    assert any(names in seen for seen in cards[0]["extension"]["vaccine-timing-planner"]["notSeen"])


@pytest.mark.parametrize(("damage", "names"), INCOMPLETE, ids=INCOMPLETE_IDS)
def test_a_non_live_order_on_an_incomplete_record_is_at_least_a_warning_naming_what_was_not_seen(client, damage, names):
    body = ON_THERAPY.cds()
    body["prefetch"]["medicationRequests"] = bundle([])
    damage(body)
    cards = call(client, body)
    assert [c["indicator"] for c in cards] == ["warning"]
    assert names in cards[0]["detail"]


# ---- orders the service cannot identify --------------------------------------------------------------------


def _order(concept: dict[str, Any], kind: str = "MedicationRequest") -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": kind, "id": "rx-1", "status": "draft", "intent": "order", "subject": PATIENT}
    if kind == "MedicationRequest":
        out["medicationCodeableConcept"] = concept
        out["dosageInstruction"] = [{"timing": {"event": ["2026-11-24"]}}]
    else:
        out["code"] = concept
        out["occurrenceDateTime"] = "2026-11-24"
    return out


ORDERS = [
    (
        {"coding": [{"system": NDC, "code": "0006-4681-00"}]},
        "warning",
        "Vaccine timing not checked: MedicationRequest/rx-1: vaccine not identified",
    ),
    (
        {"coding": [{"system": RXNORM, "code": "1658222"}]},
        "warning",
        "Vaccine timing not checked: MedicationRequest/rx-1: vaccine not identified",
    ),
    (
        {"coding": [{"system": NDC, "code": "0006-4681-00", "display": "M-M-R II"}]},
        "critical",
        "Measles, mumps and rubella vaccine (MMR): live vaccine, not recommended on 2026-11-24 with ofatumumab",
    ),
    (
        {"text": "Zoster vaccine, unbranded, not in any catalog"},
        "warning",
        "Vaccine timing not checked: MedicationRequest/rx-1: vaccine not identified",
    ),
    (
        {"coding": [{"system": CVX, "code": "03"}, {"system": CVX, "code": "94"}]},
        "warning",
        "Vaccine timing not checked: MedicationRequest/rx-1: vaccine not identified",
    ),
    ({"coding": [{"system": RXNORM, "code": "197361", "display": "amlodipine 5 MG Oral Tablet"}]}, None, None),
    (KESIMPTA, None, None),
]


@pytest.mark.parametrize(
    ("concept", "indicator", "expected"),
    ORDERS,
    ids=[
        "ndc-only",
        "rxnorm-only",
        "ndc-with-a-catalog-name",
        "vaccine-name-not-in-catalog",
        "two-cvx-codes",
        "another-drug",
        "the-therapy-itself",
    ],
)
def test_an_order_the_service_cannot_identify_gets_a_card_naming_its_code_when_the_therapy_is_on_record(
    client, concept, indicator, expected
):
    body = ON_THERAPY.cds()
    body["context"]["draftOrders"] = bundle([_order(concept)], "collection")
    cards = call(client, body)
    assert summary(cards) == ([(indicator, expected)] if indicator else [])
    if indicator == "warning":
        assert "no CVX code" in cards[0]["detail"] or "several CVX codes" in cards[0]["detail"]


def test_an_unidentified_order_for_a_patient_without_the_therapy_gets_no_card(client):
    body = not_on_record("03", bundle([administration("m1", "2026-11-01", METFORMIN)]))
    body["context"]["draftOrders"] = bundle(
        [_order({"coding": [{"system": NDC, "code": "0006-4681-00"}]})], "collection"
    )
    assert call(client, body) == []


@pytest.mark.parametrize("facts", [ON_THERAPY, Facts(vaccines=("187",))], ids=["on-therapy", "no-therapy"])
def test_a_draft_order_for_another_patient_is_left_out_and_said_on_its_own_card(client, facts):
    body = facts.cds()
    other = {**service_request("order-x", "03", "2026-11-24"), "subject": {"reference": "Patient/other"}}
    body["context"]["draftOrders"]["entry"].append({"resource": other})
    cards = call(client, body)
    assert cards[0]["summary"] == "Vaccine timing not checked: draft orders of another patient were left out"
    assert cards[0]["indicator"] == "warning" and "Patient/other" in cards[0]["detail"]
    # The patient's own Shingrix order is checked as if the other order had not been sent.
    plain = call(client, facts.cds())
    assert [c["summary"] for c in cards[1:]] == [c["summary"] for c in plain]


KESIMPTA_ORDER = {
    "resourceType": "MedicationRequest",
    "id": "kesimpta-start",
    "status": "draft",
    "intent": "order",
    "subject": PATIENT,
    "medicationCodeableConcept": KESIMPTA,
}


@pytest.mark.parametrize(
    ("cvx", "expected"),
    [
        (
            "03",
            (
                "critical",
                "Measles, mumps and rubella vaccine (MMR): live vaccine ordered with ofatumumab; give it 28+ days "
                "before dose 1",
            ),
        ),
        (
            "187",
            (
                "warning",
                "Zoster vaccine, recombinant adjuvanted (Shingrix): non-live vaccine ordered with ofatumumab; give it "
                "14+ days before dose 1",
            ),
        ),
    ],
    ids=["live", "non-live"],
)
def test_a_vaccine_ordered_together_with_the_therapy_itself_gets_the_lead_time_card(client, cvx, expected, profile):
    body = not_on_record(cvx)
    body["context"]["draftOrders"]["entry"].append({"resource": KESIMPTA_ORDER})
    cards = call(client, body)
    assert summary(cards) == [expected]
    role = "live_pre_start" if cvx == "03" else "non_live_pre_start"
    rule = profile.rules[role]
    assert rule.id in cards[0]["detail"]  # named; what it says and its citation behind the rule's link
    assert [link["url"].rsplit("#", 1)[1] for link in cards[0]["links"]] == [f"rule-{rule.id}"]
    # Without the therapy order, the same call is silent: nothing shows the therapy.
    assert call(client, not_on_record(cvx)) == []


# ---- the FHIR operation says the same in an OperationOutcome ----------------------------------------------


def fhir(client, body: dict[str, Any]):
    return client.post("/fhir/$vaccine-timing", data=json.dumps(body), content_type="application/fhir+json")


def test_a_paginated_medication_bundle_is_planned_with_an_outcome_naming_the_missing_pages(client):
    facts = Facts(vaccines=("187",), doses=MAINTENANCE)
    page = {**bundle(facts.medication_resources()), "link": [{"relation": "next", "url": "https://ehr.example/p2"}]}
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "assessmentDate", "valueDate": "2026-11-24"},
            {"name": "medication", "resource": page},
            {"name": "vaccine", "valueCodeableConcept": {"coding": [{"system": CVX, "code": "187"}]}},
        ],
    }
    r = fhir(client, body)
    assert r.status_code == 200, r.get_json()
    out = Parameters.model_validate(r.get_json())
    outcome = next(p.resource for p in out.parameter if p.name == "outcome")
    assert [(i.severity, i.code) for i in outcome.issue] == [("warning", "incomplete")]
    assert "paginated" in outcome.issue[0].diagnostics
    assert outcome.issue[0].expression == ["Parameters.parameter[1].resource"]
    # Without the `next` link the same request has no outcome part.
    body["parameter"][1]["resource"].pop("link")
    assert "outcome" not in {p.name for p in Parameters.model_validate(fhir(client, body).get_json()).parameter}


def test_a_medication_part_that_is_an_operation_outcome_is_a_422_saying_the_therapy_could_not_be_seen(client):
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "medication", "resource": OUTCOME},
            {"name": "vaccine", "valueCodeableConcept": {"coding": [{"system": CVX, "code": "03"}]}},
        ],
    }
    r = fhir(client, body)
    assert r.status_code == 422 and r.content_type == "application/fhir+json"
    issues = OperationOutcome.model_validate(r.get_json()).issue
    assert {i.code for i in issues} == {"required", "incomplete"}
    assert any("OperationOutcome" in i.diagnostics for i in issues)


def test_a_vaccine_coded_only_by_ndc_is_a_422_naming_it(client):
    body = Facts(vaccines=("187",), doses=MAINTENANCE).fhir()
    body["parameter"].append(
        {"name": "vaccine", "valueCodeableConcept": {"coding": [{"system": NDC, "code": "0006-4681-00"}]}}
    )
    r = fhir(client, body)
    assert r.status_code == 422
    issue = OperationOutcome.model_validate(r.get_json()).issue[0]
    assert issue.code == "not-supported" and "0006-4681-00" in issue.diagnostics


def test_a_medication_search_bundle_skips_other_drugs_and_names_what_it_cannot_identify(client):
    facts = Facts(vaccines=("187",), doses=MAINTENANCE)
    entries = [*facts.medication_resources(), administration("m1", "2026-11-01", METFORMIN)]
    entries.append(administration("x1", "2026-11-20", {"coding": [{"system": RXNORM, "code": "2467297"}]}))
    bad_imm = {
        **immunization("i1", "03", "2026-10-01"),
        "vaccineCode": {"coding": [{"system": NDC, "code": "0006-4681-00"}]},
    }
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "assessmentDate", "valueDate": "2026-11-24"},
            {"name": "medication", "resource": bundle(entries)},
            {"name": "immunization", "resource": bundle([bad_imm])},
            {"name": "vaccine", "valueCodeableConcept": {"coding": [{"system": CVX, "code": "187"}]}},
        ],
    }
    r = fhir(client, body)
    assert r.status_code == 200, r.get_json()
    out = Parameters.model_validate(r.get_json())
    outcome = next(p.resource for p in out.parameter if p.name == "outcome")
    assert [(i.code, i.expression[0]) for i in outcome.issue] == [
        ("incomplete", "Parameters.parameter[1].resource.entry[5].resource"),
        ("incomplete", "Parameters.parameter[2].resource.entry[0].resource"),
    ]
    assert "rxnorm|2467297" in outcome.issue[0].diagnostics and "0006-4681-00" in outcome.issue[1].diagnostics
    # Metformin is another drug, not a gap: it is neither cited nor reported.
    cited = {s.reference for s in out.parameter[0].resource.recommendation[0].supportingPatientInformation}
    assert cited == {f"https://ehr.example/fhir/MedicationAdministration/dose-{i}" for i in range(1, 5)}


def test_more_doses_on_record_than_the_series_has_is_a_card_naming_them_not_a_guess(client):
    """Three Shingrix doses on record for a two-dose series: the planner refuses the history, and the card says
    so instead of choosing which two to believe."""
    facts = Facts(
        vaccines=("187",),
        doses=MAINTENANCE,
        history=(("187", "2026-03-02"), ("187", "2026-05-04"), ("187", "2026-07-06")),
    )
    cards = call(client, facts.cds())
    assert [c["indicator"] for c in cards] == ["warning"]
    assert cards[0]["summary"].startswith("Vaccine timing not checked: Zoster vaccine, recombinant adjuvanted")
    assert "3 doses given, but the" in cards[0]["detail"]


@pytest.mark.parametrize(
    ("concept", "expected", "drug"),
    [
        (
            {"text": "Ocrevus 300 mg/10 mL"},
            "Measles, mumps and rubella vaccine (MMR): live vaccine ordered with ocrelizumab; give it 42+ days before dose 1",
            "Ocrelizumab",
        ),
        (
            {"text": "Briumvi 150 mg"},
            "Measles, mumps and rubella vaccine (MMR): live vaccine ordered with ublituximab; give it 28+ days before dose 1",
            "Ublituximab",
        ),
        (
            KESIMPTA,
            "Measles, mumps and rubella vaccine (MMR): live vaccine ordered with ofatumumab; give it 28+ days before dose 1",
            "Ofatumumab",
        ),
    ],
    ids=["ocrevus", "briumvi", "kesimpta"],
)
def test_the_lead_time_card_names_the_therapy_ordered_and_its_own_figure(client, concept, expected, drug):
    # With nothing on record, the therapy ordered (never the first profile loaded) words the card; ocrelizumab's
    # lead time without a label is the stricter, the EU label's 6 weeks.
    body = not_on_record("03")
    body["context"]["draftOrders"]["entry"].append(
        {"resource": {**KESIMPTA_ORDER, "medicationCodeableConcept": concept}}
    )
    (card,) = call(client, body)
    assert (card["indicator"], card["summary"]) == ("critical", expected)
    stopped = next(o["display"] for o in card["overrideReasons"] if o["code"] == "therapy-stopped")
    assert stopped.startswith(f"{drug} has been stopped")
