"""The therapy recognised however an EHR records it: MedicationRequest, MedicationAdministration or
MedicationStatement, coded inline or through medicationReference (contained, in the same Bundle), by the
profile's codes or a site's own list (PLANNER_MEDICATION_CODES). Resources are shaped as US Core shapes them
(a MedicationRequest names its Medication by reference; the Medication carries the codes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.app import create_app
from service.data.loader import DataError
from tests.conftest import TODAY
from tests.interop_builders import ATC, PATIENT, Facts, administration, bundle, immunization
from tests.test_interop_fhir_schema import errors

SIGN = "/cds-services/vaccine-timing-order-sign"
DOSES = ("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17")  # the starter doses and the first monthly one
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
# A Medication as US Core writes one: the code carries the codings, no text needed. ATC L04AG12 and NDC product
# 0078-1007 (package 0078-1007-68) are the codes the ofatumumab profile lists and cites.
MEDICATION = {
    "resourceType": "Medication",
    "id": "kesimpta",
    "code": {"coding": [{"system": ATC, "code": "L04AG12"}]},
}
NDC_MEDICATION = {**MEDICATION, "code": {"coding": [{"system": NDC, "code": "0078-1007-68"}]}}
# An RxNorm coding with no display: the profile lists no RxCUI (none could be verified), so only a site's list
# can name it. The code stands for whatever RxCUI a site's formulary uses; the test checks the mechanism.
SITE_RXCUI = "2467297"
RXNORM_ONLY = {"coding": [{"system": RXNORM, "code": SITE_RXCUI}]}


def us_core_request(id_: str = "kesimpta-order", reference: str = "Medication/kesimpta", **extra: Any) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": id_,
        "status": "active",
        "intent": "order",
        "subject": PATIENT,
        "authoredOn": "2026-09-01",
        "requester": {"reference": "Practitioner/neuro"},
        "medicationReference": {"reference": reference},
        "dosageInstruction": [
            {
                "text": "20 mg subcutaneously every 4 weeks",
                "timing": {"repeat": {"boundsPeriod": {"start": "2026-09-15"}, "period": 4, "periodUnit": "wk"}},
            }
        ],
        **extra,
    }


def statement(id_: str = "kesimpta-statement", **extra: Any) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "id": id_,
        "status": "active",
        "subject": PATIENT,
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": "L04AG12", "display": "ofatumumab"}]},
        "effectivePeriod": {"start": "2026-09-15"},
        **extra,
    }


def mmr_call(**prefetch: Any) -> dict:
    body = Facts(vaccines=("03",)).cds()
    body["prefetch"] = {
        "medicationAdministrations": None,
        "medicationRequests": None,
        "medicationStatements": None,
        "immunizations": None,
        **prefetch,
    }
    return body


def cards(client, body: dict) -> list[dict]:
    r = client.post(SIGN, json=body)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["cards"]


def assert_critical_for_the_therapy(found: list[dict]) -> None:
    assert found, "a live vaccine ordered during therapy passed without a card"
    first = found[0]
    assert first["indicator"] == "critical", [(c["indicator"], c["summary"]) for c in found]
    assert first["extension"]["vaccine-timing-planner"]["status"] == "avoid"


def include(resource: dict) -> dict:
    return {
        "fullUrl": f"https://ehr.example/fhir/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": "include"},
    }


@pytest.mark.parametrize(
    "requests",
    [
        # contained, as an EHR that keeps no Medication resources writes it
        bundle([us_core_request(reference="#med", contained=[{**MEDICATION, "id": "med"}])]),
        # in the same searchset, brought by _include=MedicationRequest:medication
        {**bundle([us_core_request()]), "entry": bundle([us_core_request()])["entry"] + [include(MEDICATION)]},
        # the same, referenced by its full URL, and coded by NDC package
        {
            **bundle([us_core_request(reference="https://ehr.example/fhir/Medication/kesimpta")]),
            "entry": bundle([us_core_request()])["entry"] + [include(NDC_MEDICATION)],
        },
    ],
    ids=["contained", "bundled-by-type-and-id", "bundled-by-full-url-ndc"],
)
def test_a_medication_reference_names_the_therapy_and_a_live_order_gets_a_critical_card(client, requests):
    assert_critical_for_the_therapy(cards(client, mmr_call(medicationRequests=requests)))


def test_an_administration_referencing_a_bundled_medication_is_a_dose(client):
    doses = []
    for i, day in enumerate(DOSES):
        dose = {**administration(f"dose-{i}", day), "medicationReference": {"reference": "Medication/kesimpta"}}
        del dose["medicationCodeableConcept"]
        doses.append(dose)
    admins = {**bundle(doses), "entry": bundle(doses)["entry"] + [include(MEDICATION)]}
    found = cards(client, mmr_call(medicationAdministrations=admins))
    assert_critical_for_the_therapy(found)


def test_a_medication_statement_alone_is_the_therapy(client):
    found = cards(client, mmr_call(medicationStatements=bundle([statement()])))
    assert_critical_for_the_therapy(found)


def test_a_statement_without_a_start_still_stops_a_live_vaccine(client):
    undated = statement(effectivePeriod=None, effectiveDateTime="2026-11-01")
    del undated["effectivePeriod"]
    found = cards(client, mmr_call(medicationStatements=bundle([undated])))
    assert [c["indicator"] for c in found] == ["critical"]
    assert "effectivePeriod.start" in found[0]["detail"]


@pytest.mark.parametrize("status", ["entered-in-error", "not-taken"])
def test_a_voided_or_not_taken_statement_is_no_therapy(client, status):
    assert cards(client, mmr_call(medicationStatements=bundle([statement(status=status)]))) == []


def test_a_reference_to_a_medication_nowhere_in_the_request_is_named_on_a_card(client):
    found = cards(client, mmr_call(medicationRequests=bundle([us_core_request()])))
    assert [c["indicator"] for c in found] == ["warning"]
    assert "medicationReference" in found[0]["detail"]


# ---- a site's own codes ---------------------------------------------------------------------------------------


def site_app(tmp_path, entries: Any):
    path = tmp_path / "medication-codes.json"
    path.write_text(json.dumps(entries))
    return create_app({"TODAY": TODAY, "LOG_LEVEL": "WARNING", "MEDICATION_CODES": str(path)}), path


def test_a_code_the_site_lists_names_the_therapy(tmp_path, client):
    admins = bundle([administration(f"dose-{i}", day, RXNORM_ONLY) for i, day in enumerate(DOSES)])
    before = cards(client, mmr_call(medicationAdministrations=admins))
    assert "not identified" in before[0]["detail"]  # the profile alone cannot tell
    app, _ = site_app(tmp_path, [{"system": RXNORM, "code": SITE_RXCUI, "therapy": "ofatumumab"}])
    assert_critical_for_the_therapy(cards(app.test_client(), mmr_call(medicationAdministrations=admins)))


def test_a_site_code_works_on_the_fhir_operation_too(tmp_path):
    app, _ = site_app(tmp_path, [{"system": NDC, "code": "00078100768", "therapy": "ofatumumab"}])
    body = Facts(vaccines=("03",), doses=DOSES).fhir()
    for part in body["parameter"][1:5]:
        part["resource"]["medicationCodeableConcept"] = RXNORM_ONLY
    r = app.test_client().post("/fhir/$vaccine-timing", json=body)
    assert r.status_code == 422 and SITE_RXCUI in r.get_data(as_text=True)  # not listed: refused, named
    app, _ = site_app(tmp_path, [{"system": RXNORM, "code": SITE_RXCUI, "therapy": "ofatumumab"}])
    assert app.test_client().post("/fhir/$vaccine-timing", json=body).status_code == 200


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        ({"system": RXNORM}, ""),
        ([{"system": RXNORM, "code": SITE_RXCUI}], "[0]"),
        ([{"system": "http://example.org/codes", "code": "1", "therapy": "ofatumumab"}], "[0].system"),
        ([{"system": RXNORM, "code": "<your RxCUI>", "therapy": "ofatumumab"}], "[0].code"),
        ([{"system": NDC, "code": "0078100768", "therapy": "ofatumumab"}], "[0].code"),  # 10 digits: ambiguous
        ([{"system": RXNORM, "code": SITE_RXCUI, "therapy": "kesimpta"}], "[0].therapy"),
        ([{"system": ATC, "code": "L01FA02", "therapy": "ofatumumab"}], "[0].code"),  # Arzerra: not covered
        (
            [
                {"system": RXNORM, "code": SITE_RXCUI, "therapy": "ofatumumab"},
                {"system": RXNORM, "code": SITE_RXCUI, "therapy": "ofatumumab", "note": "x"},
            ],
            "[1]",
        ),
    ],
    ids=[
        "not-a-list",
        "no-therapy",
        "unknown-system",
        "placeholder-code",
        "bare-10-digit-ndc",
        "unknown-therapy",
        "excluded-form",
        "extra-key",
    ],
)
def test_a_wrong_site_code_list_stops_the_start_naming_file_and_field(tmp_path, entries, field):
    with pytest.raises(DataError) as stopped:
        site_app(tmp_path, entries)
    assert stopped.value.path.endswith("medication-codes.json") and stopped.value.field == field


def test_a_missing_site_code_file_stops_the_start(tmp_path):
    with pytest.raises(DataError, match="cannot be read"):
        create_app({"TODAY": TODAY, "MEDICATION_CODES": str(tmp_path / "absent.json")})


def test_a_medication_part_may_reference_a_medication_sent_in_another_part(client):
    body = Facts(vaccines=("03",), doses=DOSES).fhir()
    for part in body["parameter"][1:5]:
        del part["resource"]["medicationCodeableConcept"]
        part["resource"]["medicationReference"] = {"reference": "Medication/kesimpta"}
    body["parameter"].append({"name": "medication", "resource": MEDICATION})
    r = client.post("/fhir/$vaccine-timing", json=body)
    assert r.status_code == 200, r.get_json()
    recommendation = next(p["resource"] for p in r.get_json()["parameter"] if p["name"] == "recommendation")
    (mmr,) = recommendation["recommendation"]
    assert mmr["forecastStatus"]["coding"][0]["code"] == "contraindicated"  # live, during the therapy


# ---- old records as EHRs hold them ------------------------------------------------------------------------------

SHINGRIX_PLAN = Facts(vaccines=("187",), doses=DOSES)


def fhir_with_history(client, *immunizations: dict) -> Any:
    body = SHINGRIX_PLAN.fhir()
    body["parameter"] += [{"name": "immunization", "resource": r} for r in immunizations]
    return client.post("/fhir/$vaccine-timing", json=body)


def outcome_of(response) -> list[tuple[str, str, str]]:
    assert errors(response.get_json()) == []  # HL7's R4 JSON schema
    parts = [p["resource"] for p in response.get_json()["parameter"] if p["name"] == "outcome"]
    return [(i["severity"], i["expression"][0], i["diagnostics"]) for o in parts for i in o["issue"]]


def old(id_: str, cvx: str, when: str | None = None, text: str | None = None, **extra: Any) -> dict:
    resource = immunization(id_, cvx, when or "2000-01-01", **extra)
    if when is None:
        del resource["occurrenceDateTime"]
        resource["occurrenceString"] = text
    return resource


@pytest.mark.parametrize(
    "record",
    [old("mmr-child", "03", "1990"), old("tdap", "115", "2025-03"), old("tdap", "115", text="as a teenager")],
    ids=["live-vaccine-decades-ago", "non-live-month-only", "non-live-in-words"],
)
def test_an_imprecise_date_that_cannot_change_the_plan_is_accepted_and_reported(client, record):
    r = fhir_with_history(client, record)
    assert r.status_code == 200, r.get_json()
    ((severity, where, message),) = outcome_of(r)
    assert (
        severity == "information" and where.startswith("Parameters.parameter[") and "cannot change this plan" in message
    )
    assert where.endswith("occurrenceDateTime" if "occurrenceDateTime" in record else "occurrenceString")


@pytest.mark.parametrize(
    "record",
    [
        old("shingrix-1", "187", "2026-09"),  # a dose of the planned vaccine: its day places dose 2
        old("mmr", "03", "2026-10"),  # a live vaccine the month the therapy started
        old("mmr", "03", text="recently"),  # a live vaccine in words: cannot be placed at all
    ],
    ids=["dose-of-the-planned-series", "live-vaccine-near-the-first-dose", "live-vaccine-in-words"],
)
def test_an_imprecise_date_that_could_change_the_plan_is_refused_naming_it(client, record):
    r = fhir_with_history(client, record)
    assert r.status_code == 422
    (issue,) = [i for i in r.get_json()["issue"] if i["severity"] == "error"]
    assert issue["expression"][0].endswith(("occurrenceDateTime", "occurrenceString"))
    assert "not a full date" in issue["diagnostics"]


def test_records_that_record_nothing_given_are_left_out_and_said_so(client):
    body = SHINGRIX_PLAN.fhir()
    body["parameter"] += [
        {"name": "immunization", "resource": immunization("refused", "03", "2026-11-01", status="not-done")},
        {"name": "medication", "resource": administration("mistake", "2026-11-10", status="entered-in-error")},
    ]
    r = client.post("/fhir/$vaccine-timing", json=body)
    assert r.status_code == 200, r.get_json()
    said = outcome_of(r)
    assert [(s, m.split(":")[0]) for s, _, m in said] == [
        ("information", "status not-done"),
        ("information", "status entered-in-error"),
    ]


def test_the_same_patient_written_as_a_full_url_and_as_a_reference_is_one_patient(client):
    body = SHINGRIX_PLAN.fhir()
    body["parameter"].append(
        {
            "name": "immunization",
            "resource": immunization(
                "tdap", "115", "2024-05-02", patient={"reference": "https://ehr.example/fhir/Patient/p1"}
            ),
        }
    )
    r = client.post("/fhir/$vaccine-timing", json=body)
    assert r.status_code == 200, r.get_json()
    body["parameter"][-1]["resource"]["patient"] = {"reference": "https://ehr.example/fhir/Patient/p2"}
    assert client.post("/fhir/$vaccine-timing", json=body).status_code == 422


def test_cds_an_old_imprecise_record_that_cannot_change_the_plan_leaves_the_card_complete(client):
    body = SHINGRIX_PLAN.cds()
    body["prefetch"]["immunizations"] = bundle([old("mmr-child", "03", "1990")])
    (card,) = cards(client, body)
    assert not card["summary"].startswith("Record incomplete")
    body["prefetch"]["immunizations"] = bundle([old("mmr", "03", "2026-10")])
    (card,) = cards(client, body)
    assert card["summary"].startswith("Record incomplete") and "2026-10" in card["detail"]


def test_cds_records_of_nothing_given_are_left_out_and_said_so_without_a_blind_spot(client):
    plain = cards(client, SHINGRIX_PLAN.cds())
    body = SHINGRIX_PLAN.cds()
    body["prefetch"]["immunizations"] = bundle([immunization("refused", "187", "2026-11-01", status="not-done")])
    admins = body["prefetch"]["medicationAdministrations"]
    admins["entry"] += bundle([administration("mistake", "2026-11-10", status="entered-in-error")])["entry"]
    (card,) = cards(client, body)
    assert (card["indicator"], card["summary"]) == (plain[0]["indicator"], plain[0]["summary"])
    left_out = card["extension"]["vaccine-timing-planner"]["leftOut"]
    assert left_out == [
        "prefetch.immunizations.entry[0].resource: status not-done",
        "prefetch.medicationAdministrations.entry[4].resource: status entered-in-error",
    ]
    assert "**Left out**" in card["detail"] and "notSeen" not in card["extension"]["vaccine-timing-planner"]


def test_a_draft_vaccine_order_naming_its_medication_by_reference_is_read(client):
    mmr = {
        "resourceType": "Medication",
        "id": "mmr",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03"}]},
    }
    order = {
        "resourceType": "MedicationRequest",
        "id": "mmr-order",
        "status": "draft",
        "intent": "order",
        "subject": PATIENT,
        "medicationReference": {"reference": "Medication/mmr"},
    }
    body = mmr_call(medicationStatements=bundle([statement()]))
    body["context"]["draftOrders"] = bundle([order, mmr], "collection")
    assert_critical_for_the_therapy(cards(client, body))
