"""The issue's bar, as a property: no EHR configuration makes a live-vaccine order during therapy pass
without a card, whatever the therapy.

A patient on maintenance of any loaded therapy (ofatumumab: doses 2026-10-20, 10-27, 11-03, 11-17; every other
profile: the doses of its own hand-worked maintenance case, coded as its case file codes it) has MMR ordered on
2026-11-24.
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

from service.data.loader import load_ruleset
from tests.interop_builders import ATC, CVX, PATIENT, administration, bundle, immunization
from tests.test_profiles import load_cases

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
PROFILES = {p.id: p for p in load_ruleset().therapies.profiles}


def therapy_record(profile_id: str) -> tuple[tuple[str, ...], dict[str, tuple[dict[str, Any], bool]], dict[str, Any]]:
    """(doses, codings, a repeat for a MedicationRequest) of a patient on maintenance of the profile's therapy."""
    if profile_id == "ofatumumab":
        return DOSES, CODINGS, {"period": 4, "periodUnit": "wk"}
    doc = load_cases(profile_id)
    case = next(c for c in doc["cases"] if "maintenance" in c["tags"])
    profile = PROFILES[profile_id]
    codings = {
        "case-coding": (doc["fhir_medication"], True),
        "name": ({"text": f"{profile.interop['codes']['names'][0]} (as the site names it)"}, True),
        "rxnorm-code-only": ({"coding": [{"system": RXNORM, "code": "2467297"}]}, False),
    }
    cadence = next(r for r in profile.interop["fhir_cadences"] if r["cadence"] == profile.default_cadence)
    return tuple(case["treatment"]["doses"]), codings, {"period": cadence["period"], "periodUnit": cadence["unit"]}


def search(resources: list[dict[str, Any]], state: str) -> Any:
    if state == "failed":
        return OUTCOME
    out = bundle(resources)
    if state == "paginated":
        out["link"] = [{"relation": "next", "url": "https://ehr.example/page2"}]
    return out


@settings(max_examples=250, deadline=None)
@given(
    profile_id=st.sampled_from(sorted(PROFILES)),
    coding_pick=st.integers(0, len(CODINGS) - 1),
    holder=st.sampled_from(["administrations", "both"]),
    admin_state=st.sampled_from(["ok", "ok", "failed", "paginated"]),
    request_state=st.sampled_from(["ok", "ok", "failed", "null"]),
    order=st.sampled_from(sorted(ORDERS)),
    order_kind=st.sampled_from(["ServiceRequest", "MedicationRequest"]),
    immunizations=st.sampled_from(["null", "failed", "varicella-given", "other-patient"]),
    stranger=st.booleans(),
)
def test_a_live_order_during_therapy_never_passes_without_a_card(
    app, profile_id, coding_pick, holder, admin_state, request_state, order, order_kind, immunizations, stranger
):
    doses, codings, repeat = therapy_record(profile_id)
    concept, recognised = codings[sorted(codings)[coding_pick % len(codings)]]
    order_concept, order_known = ORDERS[order]
    admins = [administration(f"d{i}", day, concept) for i, day in enumerate(doses)]
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
                "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": doses[0]}, **repeat}}}],
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
        # The MMR card is critical; beside it, only a warning card about the varicella dose on record (given
        # during therapy, or too close before the first dose, depending on the therapy's dates).
        assert [c["indicator"] for c in cards if "order" in c["extension"]["vaccine-timing-planner"]] == ["critical"]
        warned = [c["extension"]["vaccine-timing-planner"].get("warning") for c in cards[1:]]
        assert all(c["indicator"] == "warning" for c in cards[1:])
        assert set(warned) <= (
            {"live-vaccine-during-therapy", "live-vaccine-before-start"}
            if immunizations == "varicella-given"
            else set()
        )
