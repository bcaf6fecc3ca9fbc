"""openapi.yaml describes what the FHIR and CDS Hooks routes really accept: every request these tests send as
an EHR would (a Bundle as a part, Parameters.id and meta, a part's extension, a Medication a reference names,
the ImmDS IG's own example, a CDS call with fhirServer and no prefetch) passes the document's request schema,
as a validating gateway would check it; what FHIR itself forbids (a MedicationRequest without subject) does
not. The service's answers to the same requests are checked elsewhere (test_interop_*)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from service.api.examples import (
    BATCH_REQUEST_EXAMPLE,
    CDS_REQUEST_EXAMPLE,
    FHIR_REQUEST_EXAMPLE,
    IMMDS_REQUEST_EXAMPLE,
)
from tests.interop_builders import Facts, bundle
from tests.test_interop_immds import IG_EXAMPLE

SPEC = yaml.safe_load((Path(__file__).parent.parent / "openapi.yaml").read_text(encoding="utf-8"))


def request_schema(path: str) -> dict[str, Any]:
    content = SPEC["paths"][path]["post"]["requestBody"]["content"]
    media = next(iter(content.values()))
    return {**media["schema"], "components": SPEC["components"]}


def problems(path: str, body: Any) -> list[str]:
    validator = OAS30Validator(request_schema(path))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in validator.iter_errors(body)]


def searched_fhir() -> dict[str, Any]:
    """$vaccine-timing as an EHR sends its searches: the medications as one searchset Bundle part (a US Core
    MedicationRequest naming its Medication, brought by _include), Parameters.id and meta, a part extension."""
    facts = Facts(vaccines=("03",), start_date="2027-03-01")
    body = facts.fhir()
    request = body["parameter"][1]["resource"]
    del request["medicationCodeableConcept"]
    request["medicationReference"] = {"reference": "Medication/kesimpta"}
    medication = {"resourceType": "Medication", "id": "kesimpta", "code": {"text": "Kesimpta 20 mg pen"}}
    searched = bundle([request, medication])
    searched["total"] = 1
    searched["link"] = [{"relation": "self", "url": "https://ehr.example/fhir/MedicationRequest?patient=p1"}]
    body["parameter"][1] = {"name": "medication", "resource": searched}
    body["id"] = "request-1"
    body["meta"] = {"lastUpdated": "2026-11-24T09:00:00Z"}
    body["parameter"][0]["extension"] = [{"url": "https://ehr.example/fhir/ext/source", "valueString": "chart"}]
    body["parameter"].append(
        {
            "name": "medication",
            "resource": {
                "resourceType": "MedicationStatement",
                "id": "taking",
                "status": "active",
                "subject": {"reference": "Patient/p1"},
                "medicationCodeableConcept": {"text": "Kesimpta"},
                "effectivePeriod": {"start": "2027-03-01"},
            },
        }
    )
    return body


def test_every_request_an_ehr_sends_to_the_fhir_operations_passes_the_documented_schema(client):
    for path, body in (
        ("/fhir/$vaccine-timing", FHIR_REQUEST_EXAMPLE),
        ("/fhir/$vaccine-timing", searched_fhir()),
        ("/fhir/$immds-forecast", IMMDS_REQUEST_EXAMPLE),
        ("/fhir/$immds-forecast", IG_EXAMPLE),
    ):
        assert problems(path, body) == [], path
        assert client.post(path, json=body).status_code in (200, 422)  # read, not refused as malformed


def test_what_fhir_forbids_the_document_forbids_too(client):
    body = Facts(vaccines=("03",), start_date="2027-03-01").fhir()
    assert problems("/fhir/$vaccine-timing", body) == []
    del body["parameter"][1]["resource"]["subject"]  # MedicationRequest.subject is 1..1 in FHIR R4
    assert problems("/fhir/$vaccine-timing", body)
    assert client.post("/fhir/$vaccine-timing", json=body).status_code == 400
    two_values = copy.deepcopy(FHIR_REQUEST_EXAMPLE)
    two_values["parameter"][0]["valueInteger"] = 3
    assert problems("/fhir/$vaccine-timing", two_values)


@pytest.mark.parametrize("service", ["vaccine-timing-order-sign"])
def test_a_cds_call_that_leaves_the_reading_to_the_service_passes_the_documented_schema(service):
    body = copy.deepcopy(CDS_REQUEST_EXAMPLE)
    del body["prefetch"]
    body["fhirServer"] = "https://ehr.example/fhir"
    body["fhirAuthorization"] = {
        "access_token": "opaque",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/MedicationRequest.read",
        "subject": "vaccine-timing-planner",
        "patient": "example",
    }
    assert problems(f"/cds-services/{service}", body) == []
    paged = copy.deepcopy(CDS_REQUEST_EXAMPLE)
    paged["prefetch"]["medicationAdministrations"]["total"] = 9
    paged["prefetch"]["medicationAdministrations"]["link"] = [{"relation": "next", "url": "https://ehr.example/p2"}]
    assert problems(f"/cds-services/{service}", paged) == []


def test_a_batch_item_is_checked_by_the_plan_request_schema():
    assert problems("/v1/plans/batch", BATCH_REQUEST_EXAMPLE) == []
    odd = copy.deepcopy(BATCH_REQUEST_EXAMPLE)
    odd["requests"][0]["colour"] = "blue"  # unknown to POST /v1/plans, so to every batch item
    assert any("colour" in p for p in problems("/v1/plans/batch", odd))
