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


# What every FHIR element may carry besides its own content (R4 Element and Resource): an id, extensions,
# and on a resource its meta. The service reads none of them, and accepts them all.
ELEMENT_BASE: dict[str, Any] = {
    "id": {"type": "string"},
    "extension": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
}
RESOURCE_BASE: dict[str, Any] = {
    "id": {"type": "string", "pattern": FHIR_ID},
    "meta": {"type": "object", "additionalProperties": True},
    "implicitRules": {"type": "string", "pattern": FHIR_URI},
    "language": {"type": "string", "pattern": FHIR_CODE},
}
# The elements FHIR R4 requires of each resource a request may carry (1..1 in the resource's definition); a
# choice element [x] is required as one of its forms. The service checks these with the fhir.resources models
# and answers 400 naming the element, so a request the document allows is one the service reads.
REQUIRED_ELEMENTS: dict[str, tuple[list[str], list[str]]] = {
    "MedicationAdministration": (["status", "subject"], ["medicationCodeableConcept", "medicationReference"]),
    "MedicationRequest": (["status", "intent", "subject"], ["medicationCodeableConcept", "medicationReference"]),
    "MedicationStatement": (["status", "subject"], ["medicationCodeableConcept", "medicationReference"]),
    "Medication": ([], []),
    "Immunization": (["status", "vaccineCode", "patient"], ["occurrenceDateTime", "occurrenceString"]),
    "ImmunizationRecommendation": (["patient", "date", "recommendation"], []),
    "Patient": ([], []),
    "Bundle": (["type"], []),
}


REFERENCE = {"type": "object", "description": "A FHIR Reference.", "additionalProperties": True}
# The shape of each required element (its full definition is FHIR R4's).
ELEMENT_SHAPES: dict[str, dict[str, Any]] = {
    "status": {"type": "string", "pattern": FHIR_CODE},
    "intent": {"type": "string", "pattern": FHIR_CODE},
    "type": {"type": "string", "enum": BUNDLE_TYPES},
    "subject": REFERENCE,
    "patient": REFERENCE,
    "medicationReference": REFERENCE,
    "medicationCodeableConcept": ref("FhirCodeableConcept"),
    "vaccineCode": ref("FhirCodeableConcept"),
    "occurrenceDateTime": {"type": "string", "description": "A FHIR dateTime (a partial date is a date too)."},
    "occurrenceString": {"type": "string", "description": "The date in words."},
    "date": {"type": "string", "description": "A FHIR dateTime."},
    "recommendation": {"type": "array", "minItems": 1, "items": {"type": "object", "additionalProperties": True}},
}


def fhir_resource(kind: str) -> dict[str, Any]:
    """One FHIR R4 resource type as a request may carry it: its resourceType and the elements R4 requires."""
    required, choice = REQUIRED_ELEMENTS[kind]
    schema: dict[str, Any] = {
        "type": "object",
        "description": f"A FHIR R4 {kind}; the elements FHIR requires of it are required, the others are FHIR's.",
        "properties": {
            "resourceType": {"type": "string", "enum": [kind]},
            **{name: ELEMENT_SHAPES[name] for name in [*required, *choice]},
        },
        "required": ["resourceType", *required],
        "additionalProperties": True,
    }
    if choice:
        schema["oneOf"] = [{"properties": {c: ELEMENT_SHAPES[c]}, "required": [c]} for c in choice]
    return schema


def resources(*kinds: str, description: str) -> dict[str, Any]:
    """One resource of the given types, told apart by resourceType (each a component, see register)."""
    return {
        "description": description,
        "oneOf": [ref(f"Fhir{kind}") for kind in kinds],
        "discriminator": {
            "propertyName": "resourceType",
            "mapping": {kind: f"#/components/schemas/Fhir{kind}" for kind in kinds},
        },
    }


def bundle() -> dict[str, Any]:
    """A FHIR R4 Bundle, as a fresh dict: a nullable use states it in full with `nullable` (a null cannot pass
    an allOf of a non-nullable component in OpenAPI 3.0)."""
    return {
        "type": "object",
        "description": (
            "A FHIR R4 Bundle (searchset or collection) of the resources a hook needs. `total` and a `next` "
            "link are read: they say what was not sent."
        ),
        "properties": {
            **RESOURCE_BASE,
            "resourceType": {"type": "string", "enum": ["Bundle"]},
            "type": {"type": "string", "enum": BUNDLE_TYPES, "example": "searchset"},
            "total": {"type": "integer", "minimum": 0},
            "link": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"relation": {"type": "string"}, "url": {"type": "string"}},
                    "required": ["relation", "url"],
                    "additionalProperties": True,
                },
            },
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
        "additionalProperties": True,
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
            "userSelected": {"type": "boolean"},
            **ELEMENT_BASE,
        },
        "additionalProperties": False,
    }
    api.spec.components.schema("FhirCoding", coding)
    api.spec.components.schema(
        "FhirCodeableConcept",
        {
            "type": "object",
            "description": "A FHIR CodeableConcept. A vaccine is named by a CVX coding (http://hl7.org/fhir/sid/cvx).",
            "properties": {"coding": {"type": "array", "items": ref("FhirCoding")}, "text": text, **ELEMENT_BASE},
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
    for kind in REQUIRED_ELEMENTS:
        if kind != "Bundle":
            api.spec.components.schema(f"Fhir{kind}", fhir_resource(kind))
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
