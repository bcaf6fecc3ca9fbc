"""FHIR R4 routes: GET /fhir/metadata, GET /fhir/OperationDefinition/vaccine-timing, POST /fhir/$vaccine-timing.

Thin: the request is translated to a REST plan request (service.interop.fhir), answered by plan_json, and
translated back. Every error on these routes is an OperationOutcome with a 4xx status.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from service.domain.errors import InvalidInput
from service.interop.coding import Issue
from service.interop.fhir import (
    FHIR_JSON,
    InteropError,
    capability_statement,
    operation_definition,
    operation_outcome,
    parse_parameters,
    recommendation_parameters,
    request_from,
)

from .plans import plan_json

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
        plan = plan_json(fhir_request.body)
    except InvalidInput as bad:
        return outcome(422, fhir_request.issues_for(bad.errors))
    return fhir_response(recommendation_parameters(plan, fhir_request))


def init_app(app: Flask) -> None:
    """Register the routes, and answer unknown paths and methods under /fhir/ with an OperationOutcome too."""
    app.register_blueprint(bp)
    for status in (404, 405):
        app.register_error_handler(status, _not_routed)


def _not_routed(error: HTTPException) -> Response:
    if request.path.startswith("/fhir/"):
        response = outcome(error.code or 404, [Issue("not-supported", f"{request.method} {request.path[:80]} is not "
                                                     "supported; see GET /fhir/metadata", "Parameters")])
        allow = getattr(error, "valid_methods", None)
        if allow:
            response.headers["Allow"] = ", ".join(sorted(allow))
        return response
    return current_app.extensions["problem_api"].handle_http_exception(error)
