"""FHIR R4 routes: GET /fhir/metadata, GET /fhir/OperationDefinition/vaccine-timing, POST /fhir/$vaccine-timing.

Thin: the request is translated to a REST plan request (service.interop.fhir), answered by the shared planning path (service.planning), and
translated back. Every error on these routes is an OperationOutcome: service.api.problems.problem() renders
any error on a /fhir/ path with `fhir_error` below (401, 404, 405, 413, 415, 500 included), so there is one
error mapping for every route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from service.domain.errors import InvalidInput
from service.interop.coding import InteropError, Issue
from service.interop.fhir import (
    FHIR_JSON,
    INPUTS,
    capability_statement,
    operation_definition,
    operation_outcome,
    parse_parameters,
    recommendation_parameters,
    request_from,
)
from service.interop.medication import therapy_codes

from . import hl7_schemas
from .examples import FHIR_REQUEST_EXAMPLE, FHIR_RESPONSE_EXAMPLE
from .ops import document_route
from .parsing import BodyError, read_json_body
from .problems import API_KEY_SCHEME

if TYPE_CHECKING:
    from .problems import ProblemApi

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
ACCEPTED_MEDIA = (FHIR_JSON, "application/json")


def fhir_response(resource: Any, status: int = 200) -> Response:
    return current_app.response_class(resource.model_dump_json(), status=status, mimetype=FHIR_JSON)


def outcome(status: int, issues: list[Issue], headers: dict[str, str] | None = None) -> Response:
    response = fhir_response(operation_outcome(issues), status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# The FHIR issue type of each HTTP error status (http://hl7.org/fhir/issue-type).
ISSUE_TYPES = {400: "invalid", 401: "login", 404: "not-supported", 405: "not-supported", 413: "too-costly"}


def fhir_error(
    status: int, detail: str, errors: list[dict[str, Any]] | None, headers: dict[str, str] | None
) -> Response:
    """Any error on a FHIR route, as an OperationOutcome (registered for service.api.problems.problem)."""
    issues = [
        Issue(
            ISSUE_TYPES.get(status, "not-supported" if status == 415 else "exception" if status >= 500 else "invalid"),
            detail,
            "Parameters",
        )
    ]
    issues += [Issue("invalid", str(e.get("message", "")), str(e.get("field", "Parameters"))) for e in errors or []]
    return outcome(status, issues, headers)


@bp.get("/metadata")
def metadata() -> Response:
    return fhir_response(capability_statement(current_app.config["API_VERSION"], current_app.extensions["canonical"]))


@bp.get("/OperationDefinition/vaccine-timing")
def definition() -> Response:
    planner = current_app.extensions["planner"]
    return fhir_response(
        operation_definition(current_app.extensions["canonical"], therapy_codes(planner.ruleset.therapies.profiles))
    )


@bp.post("/$vaccine-timing")
def vaccine_timing() -> Response:
    try:
        raw = read_json_body(request, ACCEPTED_MEDIA)
    except BodyError as bad:
        return fhir_error(bad.status, bad.detail, None, None)
    planner = current_app.extensions["planner"]
    try:
        fhir_request = request_from(
            parse_parameters(raw), planner.ruleset.catalog, therapy_codes(planner.ruleset.therapies.profiles)
        )
    except InteropError as bad:
        return outcome(bad.status, bad.issues)
    try:
        plan = planner.plan_json(fhir_request.body)
    except InvalidInput as bad:
        return outcome(422, fhir_request.issues_for(bad.errors))
    return fhir_response(recommendation_parameters(plan, fhir_request, current_app.extensions["canonical"]))


def init_app(app: Flask) -> None:
    """Register the routes, and answer unknown paths and methods under /fhir/ with an OperationOutcome too."""
    app.extensions["fhir_error"] = fhir_error
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
    401: [Issue("login", "This route needs an API key: send 'Authorization: Bearer <key>'.", "Parameters")],
    413: [Issue("too-costly", "The request body is over the 64 KiB limit.", "Parameters")],
    415: [Issue("not-supported", "Send the request body as application/fhir+json or application/json.", "Parameters")],
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
    hl7_schemas.register(api)
    ref = hl7_schemas.ref
    api.spec.components.schema(
        "FhirVaccineTimingParameters",
        {
            "type": "object",
            "description": (
                "The input of $vaccine-timing: a FHIR R4 Parameters resource. Parts by name: assessmentDate "
                "(valueDate, at most once), medication (resource: a MedicationAdministration or MedicationRequest "
                "of a therapy GET /v1/therapies lists; at least one, or the plan has no history), immunization (resource: an Immunization "
                "already given), vaccine (valueCodeableConcept with a CVX coding; at least one), neededBy "
                "(valueDate, at most once), horizonDays (valueInteger or valuePositiveInt, 60 to 1095, at most "
                "once), bCellRepletionDate (valueDate, at most once). Each part carries exactly the value its name "
                "takes. What only the rules can judge (no vaccine, an unknown code system) is a 422. Only the "
                "elements the operation reads are listed (FHIR's id, meta and extension are not)."
            ),
            "properties": {
                "resourceType": {"type": "string", "enum": ["Parameters"]},
                "parameter": {"type": "array", "minItems": 1, "items": ref("FhirVaccineTimingPart")},
            },
            "required": ["resourceType", "parameter"],
            "additionalProperties": False,
        },
    )
    api.spec.components.schema(
        "FhirVaccineTimingPart",
        {
            "type": "object",
            "description": "One input part of $vaccine-timing (see FhirVaccineTimingParameters for which value a name takes).",
            "properties": {
                "name": {"type": "string", "enum": list(INPUTS)},
                "valueDate": {"type": "string", "pattern": hl7_schemas.FHIR_DATE, "example": "2026-11-24"},
                "valueInteger": {"type": "integer", "minimum": -2147483648, "maximum": 2147483647},
                "valuePositiveInt": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                "valueCodeableConcept": ref("FhirCodeableConcept"),
                "resource": hl7_schemas.resource_of(
                    "MedicationAdministration",
                    "MedicationRequest",
                    "Immunization",
                    description="A medication (a therapy GET /v1/therapies lists) or immunization resource, as FHIR R4 defines it.",
                ),
            },
            "required": ["name"],
            # A name and exactly one value (FHIR's inv-1), said in a way generated clients keep typed.
            "minProperties": 2,
            "maxProperties": 2,
            "additionalProperties": False,
        },
    )
    api.spec.components.schema(
        "FhirParametersResult",
        {
            "type": "object",
            "description": (
                "The output of $vaccine-timing: a FHIR R4 Parameters whose 'recommendation' part holds the "
                "ImmunizationRecommendation (see docs/interoperability.md for every part)."
            ),
            "properties": {
                "resourceType": {"type": "string", "enum": ["Parameters"]},
                "parameter": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "resource": ref("FhirResource")},
                        "required": ["name"],
                        "additionalProperties": True,
                    },
                },
            },
            "required": ["resourceType", "parameter"],
            "additionalProperties": True,
        },
    )

    def fhir_content(schema: dict[str, Any], example: Any) -> dict[str, Any]:
        return {"content": {FHIR_JSON: {"schema": schema, "example": example}}}

    def outcome_response(status: int, description: str) -> dict[str, Any]:
        example = operation_outcome(OUTCOME_EXAMPLES[status]).model_dump(mode="json")
        return {"description": f"OperationOutcome: {description}", **fhir_content(ref("FhirOperationOutcome"), example)}

    document_route(
        api,
        app,
        "/fhir/metadata",
        {
            "get": {
                "tags": ["fhir"],
                "operationId": "getFhirCapabilityStatement",
                "summary": "FHIR CapabilityStatement naming the $vaccine-timing operation",
                "description": "What this FHIR endpoint supports; public, as FHIR servers publish it.",
                "security": [],
                "responses": {
                    "200": {
                        "description": "CapabilityStatement",
                        **fhir_content(
                            hl7_schemas.resource_of(
                                "CapabilityStatement", description="A FHIR R4 CapabilityStatement."
                            ),
                            capability_statement(app.config["API_VERSION"], app.extensions["canonical"]).model_dump(
                                mode="json"
                            ),
                        ),
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
                "operationId": "getFhirOperationDefinition",
                "summary": "The OperationDefinition of $vaccine-timing",
                "description": "Its input and output parameters, with their types and cardinalities.",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OperationDefinition",
                        **fhir_content(
                            hl7_schemas.resource_of(
                                "OperationDefinition", description="A FHIR R4 OperationDefinition."
                            ),
                            operation_definition(
                                app.extensions["canonical"],
                                therapy_codes(app.extensions["planner"].ruleset.therapies.profiles),
                            ).model_dump(mode="json"),
                        ),
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
                "operationId": "fhirVaccineTiming",
                "summary": "Plan vaccine timing from FHIR resources (FHIR R4 operation)",
                "description": (
                    "Input: a Parameters with assessmentDate, medication (required: MedicationAdministration / "
                    "MedicationRequest of a therapy GET /v1/therapies lists, or a searchset Bundle of them), immunization, vaccine (CVX) and "
                    "horizonDays parts. Output: a Parameters whose 'recommendation' part is an "
                    "ImmunizationRecommendation with the same dates and statuses POST /v1/plans answers: one "
                    "recommendation per dose to give (doseNumber; LOINC 30981-5 / 59777-3 = first / last day of its "
                    "window, 30980-7 = the proposed date; later windows in the later-window extension), or one "
                    "contraindicated recommendation when there is no window. Immunizations of a requested vaccine "
                    "continue its series. What could not be seen (a Bundle page not sent, a failed search) is an "
                    "'outcome' OperationOutcome part. With PLANNER_API_KEYS set, the API key is required. "
                    "See docs/interoperability.md for the full mapping."
                ),
                "security": [{API_KEY_SCHEME: []}],
                "requestBody": {
                    "required": True,
                    **fhir_content(ref("FhirVaccineTimingParameters"), FHIR_REQUEST_EXAMPLE),
                },
                "responses": {
                    "200": {
                        "description": "Parameters holding the ImmunizationRecommendation",
                        **fhir_content(ref("FhirParametersResult"), FHIR_RESPONSE_EXAMPLE),
                    },
                    "400": outcome_response(400, "the body is not JSON or not a valid FHIR Parameters"),
                    "401": outcome_response(401, "API keys are configured and the key is missing or wrong"),
                    "413": outcome_response(413, "the body is over 64 KiB"),
                    "415": outcome_response(415, "the body is not application/fhir+json or application/json"),
                    "422": outcome_response(
                        422,
                        "the resources cannot be planned from (an unknown code system, no "
                        "vaccine, a medication that is not a therapy this planner covers, or what POST /v1/plans "
                        "would answer with 422)",
                    ),
                },
            }
        },
    )
