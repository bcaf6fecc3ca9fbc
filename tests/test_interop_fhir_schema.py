"""Every FHIR document the service writes, checked against HL7's FHIR R4 JSON schema with `jsonschema`.

An independent check beside the fhir.resources models the service itself writes with: a field the models
allow but R4 does not (an R4B-only element, a wrong type, an empty array) fails here. The schema's
provenance is in tests/data/PROVENANCE.md.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path

import jsonschema
import pytest

from tests.interop_builders import Facts, immunization
from tests.test_interop_scenarios import SCENARIOS

SCHEMA = Path(__file__).parent / "data" / "fhir.schema.json"


def _add_4_0_1(node: object) -> int:
    """The copy is R4 4.0.0's schema; the 4.0.1 technical correction added "4.0.1" to the FHIRVersion code list,
    which this service declares (CapabilityStatement.fhirVersion). Add that one value, change nothing else."""
    count = 0
    if isinstance(node, dict):
        enum = node.get("enum")
        if isinstance(enum, list) and "4.0.0" in enum and "3.0.1" in enum and "4.0.1" not in enum:
            enum.append("4.0.1")
            count += 1
        count += sum(_add_4_0_1(v) for v in node.values())
    elif isinstance(node, list):
        count += sum(_add_4_0_1(v) for v in node)
    return count


@lru_cache(maxsize=1)
def schema() -> dict:
    doc = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft6Validator.check_schema(doc)
    assert _add_4_0_1(doc) > 0
    return doc


@cache
def validator(resource_type: str) -> jsonschema.Draft6Validator:
    # The resource's own definition (the root schema's oneOf over every type gives unreadable errors).
    return jsonschema.Draft6Validator(
        {"definitions": schema()["definitions"], "$ref": f"#/definitions/{resource_type}"}
    )


def errors(document: dict) -> list[str]:
    assert document.get("resourceType") in schema()["discriminator"]["mapping"], document.get("resourceType")
    found = sorted(validator(document["resourceType"]).iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in found]


def test_the_schema_is_hl7s_r4_schema_and_refuses_what_r4_does_not_allow():
    assert schema()["id"] == "http://hl7.org/fhir/json-schema/4.0"
    assert errors({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}) == []
    assert errors({"resourceType": "OperationOutcome", "issue": [{"severity": "loud", "code": "invalid"}]})
    assert errors({"resourceType": "Parameters", "parameter": [{"name": "x", "valueStrin": "y"}]})


@pytest.mark.parametrize("path", ["/fhir/metadata", "/fhir/OperationDefinition/vaccine-timing"])
def test_conformance_resources_are_valid_r4(client, path):
    assert errors(client.get(path).get_json()) == []


@pytest.mark.parametrize("name", list(SCENARIOS), ids=list(SCENARIOS))
def test_every_scenario_answer_is_valid_r4(client, name):
    facts = SCENARIOS[name][0]
    r = client.post("/fhir/$vaccine-timing", json=facts.fhir())
    assert r.status_code == 200
    assert errors(r.get_json()) == []


def test_an_answer_with_an_outcome_part_and_later_window_extensions_is_valid_r4(client):
    facts = Facts(vaccines=("187", "37"), doses=("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"))
    body = facts.fhir()
    body["parameter"].append({"name": "immunization", "resource": immunization("i1", "187", "2026-09-01")})
    body["parameter"][1] = {
        "name": "medication",
        "resource": {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": [{"relation": "next", "url": "https://ehr.example/p2"}],
            "entry": [{"resource": body["parameter"][1]["resource"]}],
        },
    }
    out = client.post("/fhir/$vaccine-timing", json=body).get_json()
    assert {p["name"] for p in out["parameter"]} >= {"recommendation", "outcome"}
    assert any("extension" in rec for rec in out["parameter"][0]["resource"]["recommendation"])
    assert errors(out) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[" * 3000, 400),
        (b'{"resourceType": "Parameters", "parameter": [{"name": "vaccine"}]}', 422),
        (b'{"resourceType": "Patient"}', 400),
    ],
    ids=["malformed", "unplannable", "not-parameters"],
)
def test_error_outcomes_are_valid_r4(client, body, status):
    r = client.post("/fhir/$vaccine-timing", data=body, content_type="application/fhir+json")
    assert r.status_code == status
    assert errors(r.get_json()) == []


def test_a_not_routed_fhir_path_is_a_valid_r4_outcome(client):
    r = client.get("/fhir/Patient/1")
    assert r.status_code == 404 and errors(r.get_json()) == []
