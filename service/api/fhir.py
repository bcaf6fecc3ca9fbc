"""FHIR R4 routes: GET /fhir/metadata, GET /fhir/OperationDefinition/vaccine-timing, POST /fhir/$vaccine-timing.

Thin: the request is translated to a REST plan request (service.interop.fhir), answered by the shared planning path (service.planning), and
translated back. Every error on these routes is an OperationOutcome with a 4xx status.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from service.domain.errors import InvalidInput
from service.interop.coding import InteropError, Issue
from service.interop.fhir import (
    FHIR_JSON,
    capability_statement,
    operation_definition,
    operation_outcome,
    parse_parameters,
    recommendation_parameters,
    request_from,
)

from .examples import FHIR_REQUEST_EXAMPLE, FHIR_RESPONSE_EXAMPLE
from .ops import document_route

if TYPE_CHECKING:
    from .problems import ProblemApi

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
ACCEPTED_MEDIA = (FHIR_JSON, "application/json")


def fhir_response(resource: Any, status: int = 200) -> Response:
    return current_app.response_class(resource.model_dump_json(), status=status, mimetype=FHIR_JSON)


def outcome(status: int, issues: list[Issue]) -> Response:
    return fhir_response(operation_outcome(issues), status)


@bp.get("/metadata")
def metadata() -> Response:
    return fhir_response(capability_statement(current_app.config["API_VERSION"]))


@bp.get("/OperationDefinition/vaccine-timing")
def definition() -> Response:
    return fhir_response(operation_definition())


@bp.post("/$vaccine-timing")
def vaccine_timing() -> Response:
    if request.mimetype not in ACCEPTED_MEDIA:
        return outcome(415, [Issue("not-supported", "send the Parameters as application/fhir+json", "Parameters")])
    try:
        raw = json.loads(request.get_data())
    except RequestEntityTooLarge:
        return outcome(413, [Issue("too-costly", "the body is over the 64 KiB limit", "Parameters")])
    except ValueError:
        return outcome(400, [Issue("invalid", "the body is not valid JSON", "Parameters")])
    try:
        fhir_request = request_from(parse_parameters(raw))
    except InteropError as bad:
        return outcome(bad.status, bad.issues)
    try:
        plan = current_app.extensions["planner"].plan_json(fhir_request.body)
    except InvalidInput as bad:
        return outcome(422, fhir_request.issues_for(bad.errors))
    return fhir_response(recommendation_parameters(plan, fhir_request))


def init_app(app: Flask) -> None:
    """Register the routes, and answer unknown paths and methods under /fhir/ with an OperationOutcome too."""
    app.register_blueprint(bp)
    for status in (404, 405):
        app.register_error_handler(status, _not_routed)
    document_routes(app.extensions["problem_api"], app)


def _not_routed(error: HTTPException) -> Response:
    if request.path.startswith("/fhir/"):
        response = outcome(
            error.code or 404,
            [
                Issue(
                    "not-supported",
                    f"{request.method} {request.path[:80]} is not supported; see GET /fhir/metadata",
                    "Parameters",
                )
            ],
        )
        allow = getattr(error, "valid_methods", None)
        if allow:
            response.headers["Allow"] = ", ".join(sorted(allow))
        return response
    api: ProblemApi = current_app.extensions["problem_api"]
    return api.handle_http_exception(error)


OUTCOME_EXAMPLES = {
    400: [
        Issue(
            "invalid", "Value error, Date value string does not match spec regex.", "Parameters.parameter[0].valueDate"
        )
    ],
    413: [Issue("too-costly", "the body is over the 64 KiB limit", "Parameters")],
    415: [Issue("not-supported", "send the Parameters as application/fhir+json", "Parameters")],
    422: [
        Issue(
            "not-supported",
            "only CVX codes (http://hl7.org/fhir/sid/cvx) are supported; got http://snomed.info/sct|871765008",
            "Parameters.parameter[5].valueCodeableConcept",
        )
    ],
}


def document_routes(api: Any, app: Flask) -> None:
    """Describe the FHIR routes in openapi.yaml: media types, example bodies, and the OperationOutcome errors."""
    api.spec.tag({"name": "fhir", "description": "FHIR R4 (application/fhir+json): the $vaccine-timing operation."})
    resource = {
        "type": "object",
        "description": "A FHIR R4 resource (validated with the fhir.resources R4B models).",
        "properties": {"resourceType": {"type": "string"}},
        "required": ["resourceType"],
    }
    api.spec.components.schema("FhirResource", resource)
    ref = {"$ref": "#/components/schemas/FhirResource"}

    def fhir_content(example: Any) -> dict[str, Any]:
        return {"content": {FHIR_JSON: {"schema": ref, "example": example}}}

    def outcome_response(status: int, description: str) -> dict[str, Any]:
        example = operation_outcome(OUTCOME_EXAMPLES[status]).model_dump(mode="json")
        return {"description": f"OperationOutcome: {description}", **fhir_content(example)}

    document_route(
        api,
        app,
        "/fhir/metadata",
        {
            "get": {
                "tags": ["fhir"],
                "summary": "FHIR CapabilityStatement naming the $vaccine-timing operation",
                "responses": {
                    "200": {
                        "description": "CapabilityStatement",
                        **fhir_content(capability_statement(app.config["API_VERSION"]).model_dump(mode="json")),
                    }
                },
            }
        },
    )
    document_route(
        api,
        app,
        "/fhir/OperationDefinition/vaccine-timing",
        {
            "get": {
                "tags": ["fhir"],
                "summary": "The OperationDefinition of $vaccine-timing",
                "responses": {
                    "200": {
                        "description": "OperationDefinition",
                        **fhir_content(operation_definition().model_dump(mode="json")),
                    }
                },
            }
        },
    )
    document_route(
        api,
        app,
        "/fhir/$vaccine-timing",
        {
            "post": {
                "tags": ["fhir"],
                "summary": "Plan vaccine timing from FHIR resources (FHIR R4 operation)",
                "description": (
                    "Input: a Parameters with assessmentDate, medication (MedicationAdministration / MedicationRequest of "
                    "ofatumumab), immunization, vaccine (CVX) and horizonDays parts. Output: a Parameters whose "
                    "'recommendation' part is an ImmunizationRecommendation with the same dates and statuses POST /v1/plans "
                    "answers: one recommendation per permitted window (forecastStatus due, LOINC 30981-5 = first day, "
                    "59777-3 = last day), or one contraindicated recommendation when there is none. "
                    "See docs/interoperability.md for the full mapping."
                ),
                "requestBody": {"required": True, **fhir_content(FHIR_REQUEST_EXAMPLE)},
                "responses": {
                    "200": {
                        "description": "Parameters holding the ImmunizationRecommendation",
                        **fhir_content(FHIR_RESPONSE_EXAMPLE),
                    },
                    "400": outcome_response(400, "the body is not JSON or not a valid FHIR Parameters"),
                    "413": outcome_response(413, "the body is over 64 KiB"),
                    "415": outcome_response(415, "the body is not application/fhir+json or application/json"),
                    "422": outcome_response(
                        422,
                        "the resources cannot be planned from (an unknown code system, no "
                        "vaccine, a medication that is not ofatumumab, or what POST /v1/plans "
                        "would answer with 422)",
                    ),
                },
            }
        },
    )
