"""The issue's bar, as a property: no EHR configuration makes a live-vaccine order during therapy pass
without a card.

A patient on ofatumumab maintenance (doses 2026-10-20, 10-27, 11-03, 11-17) has MMR ordered on 2026-11-24.
Hypothesis varies how the EHR codes and sends everything: the drug's coding, which search holds the doses,
whether a search failed, came paginated, or mixes in another patient's records, how the order is coded, the
immunization search. Whatever it draws, the answer is never silent and never an all-clear: at least one card,
none of them `info`; and when the record was fully seen and coded in a way the service recognises, the MMR
card is `critical`.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.interop_builders import ATC, CVX, PATIENT, administration, bundle, immunization

SIGN = "/cds-services/vaccine-timing-order-sign"
DOSES = ("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17")
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
# How a site may code Kesimpta, and whether this service can recognise it. The RxNorm code is a stand-in.
CODINGS = {
    "atc": ({"coding": [{"system": ATC, "code": "L04AG12"}]}, True),
    "ndc": ({"coding": [{"system": NDC, "code": "00078100768"}]}, True),
    "text": ({"text": "KESIMPTA 20 mg/0.4 mL"}, True),
    "rxnorm-display": ({"coding": [{"system": RXNORM, "code": "0", "display": "ofatumumab 20 MG [Kesimpta]"}]}, True),
    "rxnorm-code-only": ({"coding": [{"system": RXNORM, "code": "2467297"}]}, False),
}
# How the order may be coded: (concept, recognised as MMR).
ORDERS = {
    "cvx": ({"coding": [{"system": CVX, "code": "03"}]}, True),
    "ndc-with-name": ({"coding": [{"system": NDC, "code": "0006-4681-00", "display": "M-M-R II"}]}, True),
    "ndc-only": ({"coding": [{"system": NDC, "code": "0006-4681-00"}]}, False),
    "text-vaccine": ({"text": "measles vaccine live, brand unknown"}, False),
}
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}


def search(resources: list[dict[str, Any]], state: str) -> Any:
    if state == "failed":
        return OUTCOME
    out = bundle(resources)
    if state == "paginated":
        out["link"] = [{"relation": "next", "url": "https://ehr.example/page2"}]
    return out


@settings(max_examples=150, deadline=None)
@given(
    coding=st.sampled_from(sorted(CODINGS)),
    holder=st.sampled_from(["administrations", "both"]),
    admin_state=st.sampled_from(["ok", "ok", "failed", "paginated"]),
    request_state=st.sampled_from(["ok", "ok", "failed", "null"]),
    order=st.sampled_from(sorted(ORDERS)),
    order_kind=st.sampled_from(["ServiceRequest", "MedicationRequest"]),
    immunizations=st.sampled_from(["null", "failed", "varicella-given", "other-patient"]),
    stranger=st.booleans(),
)
def test_a_live_order_during_therapy_never_passes_without_a_card(
    app, coding, holder, admin_state, request_state, order, order_kind, immunizations, stranger
):
    concept, recognised = CODINGS[coding]
    order_concept, order_known = ORDERS[order]
    admins = [administration(f"d{i}", day, concept) for i, day in enumerate(DOSES)]
    if stranger:
        admins.append(administration("x", "2026-11-20", concept, subject={"reference": "Patient/someone-else"}))
    requests: list[dict[str, Any]] = []
    if holder == "both":
        requests.append(
            {
                "resourceType": "MedicationRequest",
                "id": "rx",
                "status": "active",
                "intent": "order",
                "subject": PATIENT,
                "medicationCodeableConcept": concept,
                "dosageInstruction": [
                    {"timing": {"repeat": {"boundsPeriod": {"start": DOSES[0]}, "period": 4, "periodUnit": "wk"}}}
                ],
            }
        )
    draft: dict[str, Any] = {
        "resourceType": order_kind,
        "id": "o1",
        "status": "draft",
        "intent": "order",
        "subject": PATIENT,
    }
    if order_kind == "ServiceRequest":
        draft |= {"code": order_concept, "occurrenceDateTime": "2026-11-24"}
    else:
        draft |= {
            "medicationCodeableConcept": order_concept,
            "dosageInstruction": [{"timing": {"event": ["2026-11-24"]}}],
        }
    imm = {
        "null": None,
        "failed": OUTCOME,
        "varicella-given": bundle([immunization("i1", "21", "2026-06-01")]),
        "other-patient": bundle([immunization("i1", "21", "2026-06-01", patient={"reference": "Patient/q"})]),
    }[immunizations]
    body = {
        "hook": "order-sign",
        "hookInstance": "0b1e7a6c-52f3-4f0e-9d4c-6f2b8a1c3d4e",
        "fhirServer": "https://ehr.example/fhir",
        "context": {"userId": "Practitioner/1", "patientId": "p1", "draftOrders": bundle([draft], "collection")},
        "prefetch": {
            "medicationAdministrations": search(admins, admin_state),
            "medicationRequests": None if request_state == "null" else search(requests, request_state),
            "medicationStatements": None,
            "immunizations": imm,
        },
    }
    r = app.test_client().post(SIGN, json=body)
    assert r.status_code == 200, r.get_json()
    cards = r.get_json()["cards"]
    assert cards, "a live vaccine ordered during therapy passed without a card"
    assert all(c["indicator"] in {"warning", "critical"} for c in cards), [c["summary"] for c in cards]
    fully_seen = (
        recognised
        and order_known
        and admin_state == "ok"
        and request_state != "failed"
        and immunizations in {"null", "varicella-given"}
        and not stranger
    )
    if fully_seen:
        assert [c["indicator"] for c in cards] == ["critical"]
