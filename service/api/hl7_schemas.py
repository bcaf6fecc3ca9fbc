"""The FHIR R4 and CDS Hooks 2.0 shapes the OpenAPI document uses (documentation only; nothing here runs on a
request). Each is as precise as the specifications let a JSON Schema be: the envelopes this service reads
(Parameters and its parts, a CDS Hooks request with its context and prefetch, cards, OperationOutcome) are
spelled out; a FHIR resource inside them (a MedicationAdministration, an Immunization, an order) is named by
its resourceType and defined by FHIR R4, whose rules the service checks with the fhir.resources models."""

from __future__ import annotations

from typing import Any

# FHIR R4 primitive types (http://hl7.org/fhir/R4/datatypes.html), as the specification writes their regexes.
FHIR_DATE = r"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$"
FHIR_CODE = r"^[^\s]+( [^\s]+)*$"
FHIR_STRING = r"^[ \r\n\t\S]+$"
FHIR_URI = r"^\S*$"
FHIR_ID = r"^[A-Za-z0-9\-\.]{1,64}$"
BUNDLE_TYPES = [
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def resource_of(*types: str, description: str) -> dict[str, Any]:
    """A FHIR resource of the given types: its resourceType stated, its other elements defined by FHIR R4."""
    return {
        "type": "object",
        "description": description,
        "properties": {"resourceType": {"type": "string", "enum": list(types)}},
        "required": ["resourceType"],
        "additionalProperties": True,
    }


def bundle() -> dict[str, Any]:
    """A FHIR R4 Bundle, as a fresh dict: a nullable use states it in full with `nullable` (a null cannot pass
    an allOf of a non-nullable component in OpenAPI 3.0)."""
    return {
        "type": "object",
        "description": (
            "A FHIR R4 Bundle (searchset or collection) of the resources a hook needs. Only the elements read "
            "are listed (FHIR's id, meta, total and link are not)."
        ),
        "properties": {
            "resourceType": {"type": "string", "enum": ["Bundle"]},
            "type": {"type": "string", "enum": BUNDLE_TYPES, "example": "searchset"},
            "entry": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "fullUrl": {"type": "string", "description": "The resource's absolute URL (not read)."},
                        "resource": {
                            "description": (
                                "A FHIR R4 resource (an object named by its resourceType). An entry the hook does "
                                "not need (another resource type, or not a resource) is skipped."
                            ),
                        },
                    },
                    "additionalProperties": True,
                },
            },
        },
        "required": ["resourceType", "type"],
        "additionalProperties": False,
    }


def register(api: Any) -> None:
    """Register the shared HL7 components once (both the FHIR and the CDS Hooks routes use them)."""
    schemas = api.spec.components.schemas
    if "FhirCoding" in schemas:
        return
    text = {"type": "string", "pattern": FHIR_STRING}
    coding = {
        "type": "object",
        "description": "A FHIR Coding: a code from a code system.",
        "properties": {
            "system": {"type": "string", "pattern": FHIR_URI, "example": "http://hl7.org/fhir/sid/cvx"},
            "version": text,
            "code": {"type": "string", "pattern": FHIR_CODE, "example": "03"},
            "display": text,
        },
        "additionalProperties": False,
    }
    api.spec.components.schema("FhirCoding", coding)
    api.spec.components.schema(
        "FhirCodeableConcept",
        {
            "type": "object",
            "description": "A FHIR CodeableConcept. A vaccine is named by a CVX coding (http://hl7.org/fhir/sid/cvx).",
            "properties": {"coding": {"type": "array", "items": ref("FhirCoding")}, "text": text},
            "additionalProperties": False,
        },
    )
    api.spec.components.schema(
        "FhirResource",
        {
            "type": "object",
            "description": "A FHIR R4 resource (checked with the fhir.resources R4B models); see resourceType.",
            "properties": {"resourceType": {"type": "string"}},
            "required": ["resourceType"],
            "additionalProperties": True,
        },
    )
    api.spec.components.schema("FhirBundle", bundle())
    api.spec.components.schema(
        "FhirOperationOutcome",
        {
            "type": "object",
            "description": "A FHIR OperationOutcome: every error on the FHIR routes, one issue per problem found.",
            "properties": {
                "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
                "issue": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "severity": {"type": "string", "enum": ["fatal", "error", "warning", "information"]},
                            "code": {"type": "string", "example": "invalid"},
                            "diagnostics": {"type": "string"},
                            "expression": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["severity", "code"],
                        "additionalProperties": True,
                    },
                },
            },
            "required": ["resourceType", "issue"],
            "additionalProperties": True,
        },
    )
