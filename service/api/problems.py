"""RFC 9457 problem details: the one error shape every route answers with.

flask-smorest's Api is subclassed so that its own validation errors, werkzeug's HTTP errors and the
domain's InvalidInput all come out as `application/problem+json`, each input error naming its field.
"""

from __future__ import annotations

import http
import logging
from typing import Any

from flask import Flask, Response, current_app, g, json, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException, InternalServerError

from service.contract.schemas import ProblemSchema
from service.domain.errors import FieldError, InvalidInput
from service.planning import ShapeInvalid, flatten_messages

# The response builders below the routes, named here too: the routes take all their error handling from here.
from service.problem_json import PROBLEM_JSON as PROBLEM_JSON
from service.problem_json import PROBLEM_TYPES as PROBLEM_TYPES
from service.problem_json import problem as problem
from service.problem_json import problem_body as problem_body

SHAPE_DETAIL = "The request does not match the contract; see errors."
log = logging.getLogger("service.errors")
_LOCATIONS = ("json", "query", "path", "headers", "form", "querystring", "")


def invalid_input_body(error: InvalidInput, instance: str | None = None) -> dict[str, Any]:
    """The 422 document for input the planner cannot accept, naming each field (and candidates)."""
    unknown = any(e.code in ("unknown_vaccine", "ambiguous_vaccine") for e in error.errors)
    return problem_body(
        422,
        SHAPE_DETAIL if isinstance(error, ShapeInvalid) else "The request cannot be planned as it stands; see errors.",
        type_slug="unknown-vaccine" if unknown else "invalid-input",
        errors=field_errors_to_json(error.errors),
        instance=instance,
    )


def size_text(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit // 1024} KiB"


def requires_api_key(blp: Any) -> Any:
    """Document an operation as a /v1 one: it needs the API key when keys are configured, and can answer 401."""

    def decorate(func: Any) -> Any:
        func = blp.alt_response(401, response="UNAUTHORIZED")(func)
        return blp.doc(security=[{API_KEY_SCHEME: []}])(func)

    return decorate


API_KEY_SCHEME = "apiKey"
API_KEY_SCHEME_DOC = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "An API key issued by the operator, sent as `Authorization: Bearer <key>`. Required on every "
        "/v1 route and on POST /fhir/$vaccine-timing when the deployment sets PLANNER_API_KEYS (production "
        "deployments should); a missing or wrong key is a 401 problem (an OperationOutcome on FHIR). Health, "
        "readiness, metrics, the documentation and the FHIR conformance resources need no key; CDS Hooks "
        "calls carry the EHR's JWT instead (cdsHooksJwt)."
    ),
}


CDS_HOOKS_JWT_SCHEME = "cdsHooksJwt"
CDS_HOOKS_JWT_SCHEME_DOC = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": (
        "The JWT the CDS Hooks 2.0 specification describes, signed by the EHR and sent as `Authorization: Bearer "
        "<jwt>` on every service and feedback call: verified against the keys in PLANNER_CDS_JWKS (never fetched), "
        "`iss` on the PLANNER_CDS_ISSUERS allow-list, `aud` = PLANNER_PUBLIC_BASE_URL + /cds-services/<id>, `exp` "
        "at most 5 minutes ahead, `jti` never seen before. Required when PLANNER_API_KEYS or PLANNER_CDS_ISSUERS "
        "is set; otherwise not checked. Discovery needs none."
    ),
}


def field_errors_to_json(errors: list[FieldError]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        item: dict[str, Any] = {"field": e.field, "message": e.message, "code": e.code}
        if e.candidates:
            item["candidates"] = [
                {"id": c.id, "name": c.name, "cvx": list(c.cvx), "live": c.live} for c in e.candidates
            ]
        out.append(item)
    return out


class ProblemApi(Api):
    """flask-smorest's Api, answering and documenting every error as problem+json."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # each route documents the errors it can really answer

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON if status >= 400 else "application/json")
            self.spec.components.response(status.name, response, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Response:
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        messages = data.get("messages")
        if status == 400:
            return problem(400, "The request body is not valid JSON.")
        if status == 422 and messages is not None:
            # webargs wraps errors under the location name ("json", "query"); field paths start below it.
            errors: list[dict[str, Any]] = []
            for location, location_errors in messages.items() if isinstance(messages, dict) else [("", messages)]:
                errors += flatten_messages(location_errors if location in _LOCATIONS else {location: location_errors})
            return problem(422, SHAPE_DETAIL, errors=errors)
        if status == 413:
            limit = request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"]
            return problem(413, f"The request body is over the {size_text(limit)} limit for this route.")
        if status >= 500:
            return problem(status, "The service could not answer this request. Quote the request id when reporting it.")
        return problem(
            status,
            data.get("message") or error.description or http.HTTPStatus(status).phrase,
            headers=dict(data.get("headers", {})) or _allow_header(error),
        )


def _allow_header(error: HTTPException) -> dict[str, str]:
    allow = getattr(error, "valid_methods", None)
    return {"Allow": ", ".join(sorted(allow))} if allow else {}


def register_error_handlers(app: Flask) -> None:
    """Domain errors and anything unexpected; HTTP errors are the ProblemApi's."""

    @app.errorhandler(InvalidInput)
    def invalid_input(error: InvalidInput) -> Response:
        return current_app.response_class(json.dumps(invalid_input_body(error)), status=422, mimetype=PROBLEM_JSON)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        api: ProblemApi = current_app.extensions["problem_api"]
        if isinstance(error, HTTPException):
            return api.handle_http_exception(error)
        # The traceback goes to the log with the request id; the client gets nothing internal.
        log.exception("unhandled error", extra={"request_id": getattr(g, "request_id", None)})
        return api.handle_http_exception(InternalServerError())
