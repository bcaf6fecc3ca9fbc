"""FHIR R4 routes: GET /fhir/metadata, GET /fhir/OperationDefinition/vaccine-timing, POST /fhir/$vaccine-timing.

Thin: the request is translated to a REST plan request (service.interop.fhir), answered by the shared planning path (service.planning), and
translated back. Every error on these routes is an OperationOutcome: service.api.problems.problem() renders
any error on a /fhir/ path with `fhir_error` below (401, 404, 405, 413, 415, 500 included), so there is one
error mapping for every route.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from service.data.loader import DataError
from service.domain.errors import InvalidInput
from service.interop.coding import InteropError, Issue
from service.interop.fhir import (
    FHIR_JSON,
    IMMDS_INPUTS,
    INPUTS,
    capability_statement,
    operation_definition,
    operation_outcome,
    parse_parameters,
    recommendation_parameters,
    request_from,
)
from service.interop.medication import TherapyCodes, load_site_codes, therapy_codes, with_site_codes

from . import hl7_schemas
from .examples import FHIR_REQUEST_EXAMPLE, FHIR_RESPONSE_EXAMPLE, IMMDS_REQUEST_EXAMPLE, IMMDS_RESPONSE_EXAMPLE
from .ops import document_route
from .parsing import BodyError, read_json_body
from .problems import API_KEY_SCHEME

if TYPE_CHECKING:
    from .problems import ProblemApi

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
ACCEPTED_MEDIA = (FHIR_JSON, "application/json")
log = logging.getLogger("service.fhir")


def fhir_response(resource: Any, status: int = 200) -> Response:
    return current_app.response_class(resource.model_dump_json(), status=status, mimetype=FHIR_JSON)


def outcome(status: int, issues: list[Issue], headers: dict[str, str] | None = None) -> Response:
    response = fhir_response(operation_outcome(issues), status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# The FHIR issue type of each HTTP error status (http://hl7.org/fhir/issue-type).
ISSUE_TYPES = {
    400: "invalid",
    401: "login",
    404: "not-supported",
    405: "not-supported",
    406: "not-supported",
    413: "too-costly",
}


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


NOT_ACCEPTABLE = "This FHIR endpoint answers application/fhir+json (or application/json) only; XML is not supported."


@bp.before_request
def acceptable() -> Response | None:
    """406 for a client that accepts none of the JSON forms (Accept: application/fhir+xml, say): never JSON
    it said it cannot read. No Accept header, or */*, accepts JSON."""
    if request.headers.get("Accept") and request.accept_mimetypes.best_match(ACCEPTED_MEDIA) is None:
        return outcome(406, [Issue("not-supported", NOT_ACCEPTABLE, "Parameters")])
    return None


@bp.get("/metadata")
def metadata() -> Response:
    return fhir_response(capability_statement(current_app.config["API_VERSION"], current_app.extensions["canonical"]))


@bp.get("/OperationDefinition/vaccine-timing")
def definition() -> Response:
    known = current_app.extensions["medication_codes"]
    return fhir_response(operation_definition(current_app.extensions["canonical"], known))


@bp.get("/OperationDefinition/immds-forecast")
def immds_definition() -> Response:
    known = current_app.extensions["medication_codes"]
    return fhir_response(operation_definition(current_app.extensions["canonical"], known, immds=True))


@bp.post("/$vaccine-timing")
def vaccine_timing() -> Response:
    return _operation(immds=False)


@bp.post("/$immds-forecast")
def immds_forecast() -> Response:
    """The ImmDS Forecast operation: another forecaster's recommended vaccines, timed around the therapy."""
    return _operation(immds=True)


def _operation(immds: bool) -> Response:
    try:
        raw = read_json_body(request, ACCEPTED_MEDIA)
    except BodyError as bad:
        return fhir_error(bad.status, bad.detail, None, None)
    planner = current_app.extensions["planner"]
    try:
        fhir_request = request_from(
            parse_parameters(raw),
            planner.ruleset.catalog,
            current_app.extensions["medication_codes"],
            planner.today(),
            immds=immds,
        )
    except InteropError as bad:
        return outcome(bad.status, bad.issues)
    try:
        plan = planner.plan_json(fhir_request.body)
    except InvalidInput as bad:
        return outcome(422, fhir_request.issues_for(bad.errors))
    return fhir_response(
        recommendation_parameters(plan, fhir_request, current_app.extensions["canonical"], planner.ruleset)
    )


def medication_codes(app: Flask) -> tuple[TherapyCodes, ...]:
    """The loaded therapy profiles' medication codes plus the site's own list (PLANNER_MEDICATION_CODES), checked
    now: a wrong file stops the start (DataError naming the file and the field), like the data."""
    profiles = therapy_codes(app.extensions["planner"].ruleset.therapies.profiles)
    path = app.config["PLANNER"].get("MEDICATION_CODES")
    if not path:
        return profiles
    try:
        return with_site_codes(profiles, load_site_codes(path, profiles))
    except DataError as error:
        log.critical("medication code list check failed, not starting", extra={"data_error": str(error)})
        raise


def init_app(app: Flask) -> None:
    """Register the routes, and answer unknown paths and methods under /fhir/ with an OperationOutcome too."""
    app.extensions["medication_codes"] = medication_codes(app)
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
    406: [Issue("not-supported", NOT_ACCEPTABLE, "Parameters")],
    415: [Issue("not-supported", "Send the request body as application/fhir+json or application/json.", "Parameters")],
    422: [
        Issue(
            "not-supported",
            "only CVX codes (http://hl7.org/fhir/sid/cvx) are supported; got http://snomed.info/sct|871765008",
            "Parameters.parameter[5].valueCodeableConcept",
        )
    ],
}


MEDICATION_KINDS = ("MedicationAdministration", "MedicationRequest", "MedicationStatement", "Medication")


def _parameters_schema(operation: str, part: str, description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {
            **hl7_schemas.RESOURCE_BASE,
            "resourceType": {"type": "string", "enum": ["Parameters"]},
            "parameter": {"type": "array", "minItems": 1, "items": hl7_schemas.ref(part)},
        },
        "required": ["resourceType", "parameter"],
        "additionalProperties": False,
    }


def _part_schema(names: list[str], values: dict[str, Any], kinds: tuple[str, ...], what: str) -> dict[str, Any]:
    """One input part: a name and exactly one value (FHIR's inv-1, said as a oneOf of the value elements so
    that generated clients keep them typed), with FHIR's id and extensions allowed."""
    values = {
        **values,
        "resource": hl7_schemas.resources(
            *kinds, description=f"{what}: a resource, or a searchset Bundle of them, as FHIR R4 defines it."
        ),
    }
    return {
        "type": "object",
        "description": f"One input part of {what} (see its Parameters for which value a name takes).",
        "properties": {
            "name": {"type": "string", "enum": names},
            **values,
            **hl7_schemas.ELEMENT_BASE,
            "modifierExtension": hl7_schemas.ELEMENT_BASE["extension"],
        },
        "required": ["name"],
        "oneOf": [{"required": [v]} for v in values],
        "additionalProperties": False,
    }


def _document_schemas(api: Any) -> None:
    ref = hl7_schemas.ref
    date = {"type": "string", "pattern": hl7_schemas.FHIR_DATE, "example": "2026-11-24"}
    api.spec.components.schema(
        "FhirVaccineTimingParameters",
        _parameters_schema(
            "vaccine-timing",
            "FhirVaccineTimingPart",
            "The input of $vaccine-timing: a FHIR R4 Parameters resource. Parts by name: assessmentDate "
            "(valueDate, at most once), medication (resource: a MedicationAdministration, MedicationRequest or "
            "MedicationStatement of the therapy, a Medication one of them references, or a searchset Bundle of "
            "them; at least one), immunization (resource: an Immunization already given, or a searchset Bundle), "
            "vaccine (valueCodeableConcept with a CVX coding; at least one), neededBy (valueDate, at most once), "
            "horizonDays (valueInteger or valuePositiveInt, 60 to 1095, at most once), bCellRepletionDate and "
            "therapyStartDate (valueDate, at most once). What only the rules can judge (no vaccine, an unknown "
            "code system) is a 422.",
        ),
    )
    api.spec.components.schema(
        "FhirVaccineTimingPart",
        _part_schema(
            list(INPUTS),
            {
                "valueDate": date,
                "valueInteger": {"type": "integer", "minimum": -2147483648, "maximum": 2147483647},
                "valuePositiveInt": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                "valueCodeableConcept": ref("FhirCodeableConcept"),
            },
            (*MEDICATION_KINDS, "Immunization", "Bundle"),
            "$vaccine-timing",
        ),
    )
    api.spec.components.schema(
        "FhirImmdsForecastParameters",
        _parameters_schema(
            "immds-forecast",
            "FhirImmdsForecastPart",
            "The input of $immds-forecast: the ImmDS Forecast IG's parts (assessmentDate, patient, immunization) "
            "and this service's: medication (the therapy, as for $vaccine-timing) and recommendation (the "
            "ImmunizationRecommendation another forecaster produced; its recommended vaccines are timed).",
        ),
    )
    api.spec.components.schema(
        "FhirImmdsForecastPart",
        _part_schema(
            list(IMMDS_INPUTS),
            {"valueDate": date},
            (*MEDICATION_KINDS, "Immunization", "Patient", "ImmunizationRecommendation", "Bundle"),
            "$immds-forecast",
        ),
    )
    api.spec.components.schema(
        "FhirParametersResult",
        {
            "type": "object",
            "description": (
                "The output of $vaccine-timing and $immds-forecast: a FHIR R4 Parameters whose 'recommendation' "
                "part holds the ImmunizationRecommendation (see docs/interoperability.md for every part)."
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


def _fhir_content(schema: dict[str, Any], example: Any) -> dict[str, Any]:
    return {"content": {FHIR_JSON: {"schema": schema, "example": example}}}


def _get_route(api: Any, app: Flask, path: str, operation_id: str, summary: str, kind: str, example: Any) -> None:
    document_route(
        api,
        app,
        path,
        {
            "get": {
                "tags": ["fhir"],
                "operationId": operation_id,
                "summary": summary,
                "description": "Public, as FHIR servers publish their conformance resources.",
                "security": [],
                "responses": {
                    "200": {
                        "description": kind,
                        **_fhir_content(
                            hl7_schemas.resource_of(kind, description=f"A FHIR R4 {kind}."),
                            example.model_dump(mode="json"),
                        ),
                    },
                    "406": _outcome_response(406, "the client accepts neither application/fhir+json nor JSON"),
                },
            }
        },
    )


def _outcome_response(status: int, description: str) -> dict[str, Any]:
    example = operation_outcome(OUTCOME_EXAMPLES[status]).model_dump(mode="json")
    return {
        "description": f"OperationOutcome: {description}",
        **_fhir_content(hl7_schemas.ref("FhirOperationOutcome"), example),
    }


def _post_route(api: Any, app: Flask, path: str, operation_id: str, summary: str, description: str, body: Any) -> None:
    schema, example, answer = body
    document_route(
        api,
        app,
        path,
        {
            "post": {
                "tags": ["fhir"],
                "operationId": operation_id,
                "summary": summary,
                "description": description + " With PLANNER_API_KEYS set, the API key is required. See "
                "docs/interoperability.md for the full mapping.",
                "security": [{API_KEY_SCHEME: []}],
                "requestBody": {"required": True, **_fhir_content(hl7_schemas.ref(schema), example)},
                "responses": {
                    "200": {
                        "description": "Parameters holding the ImmunizationRecommendation",
                        **_fhir_content(hl7_schemas.ref("FhirParametersResult"), answer),
                    },
                    "400": _outcome_response(400, "the body is not JSON or not a valid FHIR Parameters"),
                    "401": _outcome_response(401, "API keys are configured and the key is missing or wrong"),
                    "406": _outcome_response(406, "the client accepts neither application/fhir+json nor JSON"),
                    "413": _outcome_response(413, "the body is over 64 KiB"),
                    "415": _outcome_response(415, "the body is not application/fhir+json or application/json"),
                    "422": _outcome_response(
                        422,
                        "the resources cannot be planned from (an unknown code system, no vaccine, a medication "
                        "that is not a therapy this service covers, or what POST /v1/plans would answer with 422)",
                    ),
                },
            }
        },
    )


def document_routes(api: Any, app: Flask) -> None:
    """Describe the FHIR routes in openapi.yaml: media types, example bodies, and the OperationOutcome errors."""
    api.spec.tag(
        {"name": "fhir", "description": "FHIR R4 (application/fhir+json): $vaccine-timing and $immds-forecast."}
    )
    hl7_schemas.register(api)
    _document_schemas(api)
    canonical = app.extensions["canonical"]
    _get_route(
        api,
        app,
        "/fhir/metadata",
        "getFhirCapabilityStatement",
        "FHIR CapabilityStatement naming the $vaccine-timing and $immds-forecast operations",
        "CapabilityStatement",
        capability_statement(app.config["API_VERSION"], canonical),
    )
    _get_route(
        api,
        app,
        "/fhir/OperationDefinition/vaccine-timing",
        "getFhirOperationDefinition",
        "The OperationDefinition of $vaccine-timing",
        "OperationDefinition",
        operation_definition(canonical, app.extensions["medication_codes"]),
    )
    _get_route(
        api,
        app,
        "/fhir/OperationDefinition/immds-forecast",
        "getFhirImmdsOperationDefinition",
        "The OperationDefinition of $immds-forecast",
        "OperationDefinition",
        operation_definition(canonical, app.extensions["medication_codes"], immds=True),
    )
    _post_route(
        api,
        app,
        "/fhir/$vaccine-timing",
        "fhirVaccineTiming",
        "Plan vaccine timing from FHIR resources (FHIR R4 operation)",
        "Input: a Parameters with assessmentDate, medication (required: the therapy's MedicationAdministration, "
        "MedicationRequest or MedicationStatement, or a searchset Bundle of them), immunization, vaccine (CVX) and "
        "horizonDays parts. Output: a Parameters whose 'recommendation' part is an ImmunizationRecommendation with "
        "the same dates and statuses POST /v1/plans answers: one recommendation per dose to give (doseNumber; "
        "LOINC 30981-5 = the earliest valid and permitted date, 59777-3 = a real deadline when there is one, "
        "30980-7 = the proposed date; later windows in the later-window extension), or one contraindicated "
        "recommendation when there is no window. What could not be seen (a Bundle page not sent, a failed search) "
        "or was left out is an 'outcome' OperationOutcome part.",
        ("FhirVaccineTimingParameters", FHIR_REQUEST_EXAMPLE, FHIR_RESPONSE_EXAMPLE),
    )
    _post_route(
        api,
        app,
        "/fhir/$immds-forecast",
        "fhirImmdsForecast",
        "Time another forecaster's recommended vaccines around the therapy (ImmDS Forecast operation)",
        "The HL7 Immunization Decision Support Forecast operation's inputs (assessmentDate, patient, immunization) "
        "plus medication (the therapy) and recommendation (the ImmunizationRecommendation another forecaster "
        "produced): the vaccines it recommends are timed around the therapy, answered as for $vaccine-timing. "
        "This service does not decide which vaccines are due: without a recommended vaccine the answer is a 422 "
        "OperationOutcome saying so.",
        ("FhirImmdsForecastParameters", IMMDS_REQUEST_EXAMPLE, IMMDS_RESPONSE_EXAMPLE),
    )
