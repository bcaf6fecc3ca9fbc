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

from service.domain.errors import FieldError, InvalidInput
from service.planning import ShapeInvalid, flatten_messages
from service.settings import MAX_ERRORS_LISTED

from .schemas import ProblemSchema

PROBLEM_JSON = "application/problem+json"
SHAPE_DETAIL = "The request does not match the contract; see errors."
log = logging.getLogger("service.errors")

# Problem types this service defines; each is documented at GET /problems/<slug>.
PROBLEM_TYPES = {
    "invalid-input": (
        "Invalid input",
        "The request is well-formed JSON but a field is missing, unknown, out "
        "of range or contradicts another (for example a dose after as_of). `errors` names each field.",
    ),
    "unknown-vaccine": (
        "Unknown or ambiguous vaccine",
        "A requested vaccine does not name exactly one catalog "
        "entry. `errors[].candidates` lists what it could mean; the service never guesses.",
    ),
    "malformed-json": ("Malformed JSON", "The body is not valid JSON."),
    "unsupported-media-type": ("Unsupported media type", "Send the body as application/json."),
    "body-too-large": ("Request body too large", "The body is over 64 KiB (4 MiB for POST /v1/plans/batch)."),
    "not-found": ("Not found", "No resource at this path."),
    "method-not-allowed": ("Method not allowed", "The path exists but does not answer this method."),
    "unauthorized": ("Unauthorized", "This route needs an API key: 'Authorization: Bearer <key>'."),
    "internal-error": (
        "Internal server error",
        "The service failed; the request id in the response and the "
        "logs identifies the failure. No internals are returned.",
    ),
}
_LOCATIONS = ("json", "query", "path", "headers", "form", "querystring", "")
_STATUS_TYPES = {
    400: "malformed-json",
    401: "unauthorized",
    404: "not-found",
    405: "method-not-allowed",
    413: "body-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    500: "internal-error",
}


def problem_body(
    status: int,
    detail: str,
    *,
    type_slug: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    instance: str | None = None,
) -> dict[str, Any]:
    """The problem document itself (also embedded, one per failed item, in a batch response)."""
    slug = type_slug or _STATUS_TYPES.get(status)
    body: dict[str, Any] = {
        "type": f"/problems/{slug}" if slug else "about:blank",
        "title": PROBLEM_TYPES[slug][0] if slug else http.HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance if instance is not None else (request.path if request else None),
    }
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    if errors is not None:
        body["errors"] = errors[:MAX_ERRORS_LISTED]
        if len(errors) > MAX_ERRORS_LISTED:
            body["errors_omitted"] = len(errors) - MAX_ERRORS_LISTED
    return body


def problem(
    status: int,
    detail: str,
    *,
    type_slug: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem+json response. `type` is a relative URI documented at GET /problems/<slug>.

    On a FHIR route the same error is an OperationOutcome (the renderer service.api.fhir registers), so every
    route maps its errors in this one place, whichever code raised them.
    """
    fhir_error = current_app.extensions.get("fhir_error")
    if fhir_error is not None and request and request.path.startswith("/fhir/"):
        return fhir_error(status, detail, errors, headers)  # type: ignore[no-any-return]
    body = problem_body(status, detail, type_slug=type_slug, errors=errors)
    resp = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


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
