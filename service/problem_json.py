"""RFC 9457 problem+json responses: the document and the response every error in this service is written as.

Below the HTTP routes and the security hooks alike (service.api.problems renders the routes' own errors with
it; service.security answers an unauthorized request with it), so neither has to import the other.
"""

from __future__ import annotations

import http
from typing import Any

from flask import Response, current_app, g, json, request

from service.settings import MAX_ERRORS_LISTED

PROBLEM_JSON = "application/problem+json"

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
