"""API keys, security headers and CORS: what an operations team checks before putting the service in front
of its integration engine.

- API keys are optional. With PLANNER_API_KEYS set, every /v1 route and every FHIR route that takes patient
  data (POST /fhir/$vaccine-timing) needs `Authorization: Bearer <key>`; the token is compared with every
  configured key in constant time. CDS Hooks calls are authorized by the EHR's JWT instead
  (service/api/cds_auth.py). Health, readiness, metrics, the API document, /docs, the problem-type pages and
  the conformance resources (GET /fhir/metadata, the OperationDefinition, CDS Hooks discovery) stay open:
  they hold no patient data, and probes, scrapers and EHR configuration tools carry no keys.
- Every response says nosniff, may not be framed, and carries a Content-Security-Policy: the JSON routes
  allow nothing at all; /docs allows only its own scripts, its own styles (Swagger UI sets inline styles)
  and its own or data: images, so the page works with no internet and loads nothing from elsewhere.
- The clinic page (/ and /clinic/...) may load only its own stylesheet and script and post only to itself.
- CORS is off unless PLANNER_CORS_ORIGINS names origins; then /v1, /fhir and /cds-services answer those
  origins (browser-based CDS clients such as the public CDS Hooks sandbox call from a page), preflight included.
- Plans are health data: every answer to a POST is marked `Cache-Control: no-store` for every cache on the way.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response

from service.settings import api_keys

from .problem_json import problem

DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The clinic page (/ and /clinic/...): its own stylesheet and script only (no inline script or style), and its
# forms post back to itself.
CLINIC_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
CORS_ALLOW_HEADERS = "Authorization, Content-Type, X-Request-ID"
CORS_MAX_AGE = "600"


def split_list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _digest(value: str) -> bytes:
    # Hashing first makes every comparison the same length, so timing reveals nothing about a key's length.
    return hashlib.sha256(value.encode("utf-8")).digest()


def is_clinic_path(path: str) -> bool:
    return path == "/" or path.startswith("/clinic/")


def is_api_path(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


# FHIR conformance resources: public by design (an EHR reads them to configure itself), no patient data.
PUBLIC_FHIR = ("/fhir/metadata", "/fhir/OperationDefinition/")


def needs_api_key(path: str) -> bool:
    """The routes that take patient data and are authorized by API key (CDS Hooks uses its JWT)."""
    if is_api_path(path):
        return True
    return path.startswith("/fhir/") and not any(
        path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC_FHIR
    )


def is_cors_path(path: str) -> bool:
    return is_api_path(path) or any(path == p or path.startswith(p + "/") for p in ("/fhir", "/cds-services"))


class ApiKeys:
    """The configured keys, kept as digests; `allows` compares against all of them, always."""

    def __init__(self, raw: str | None):
        self._digests = [_digest(key) for key in api_keys(raw)]

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def allows(self, token: str) -> bool:
        candidate = _digest(token)
        matched = False
        for key in self._digests:  # no early exit: the time taken does not depend on which key matched
            matched |= hmac.compare_digest(candidate, key)
        return matched


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


# The headers every response carries, by kind of page; an answer to a POST also says no-store.
_COMMON = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"))
_DOCS_HEADERS = (*_COMMON, ("Content-Security-Policy", DOCS_CSP))
_CLINIC_HEADERS = (*_COMMON, ("Content-Security-Policy", CLINIC_CSP))
_API_HEADERS = (*_COMMON, ("Content-Security-Policy", API_CSP))
_NO_STORE = ("Cache-Control", "no-store")


def security_headers(path: str, method: str) -> tuple[tuple[str, str], ...]:
    """The security headers of an answer to `method path` (the path as Flask's request.path reads it)."""
    if path == "/docs" or path.startswith("/docs/"):
        headers = _DOCS_HEADERS
    elif is_clinic_path(path):
        headers = _CLINIC_HEADERS
    else:
        headers = _API_HEADERS
    return (*headers, _NO_STORE) if method == "POST" else headers


class SecurityHeaders:
    """WSGI middleware, outermost: every answer the application gives (a view's, an error handler's, the body
    reader's 408 and 503) leaves with its security headers, added to the header list in one step.

    Added after the view through werkzeug's Headers, each header was checked and copied twice on its way out:
    about 55,000 instructions a request (callgrind, docs/production.md). A view sets none of these headers,
    except that an answer to a POST is no-store whatever the view said (plans are health data): its own
    Cache-Control is dropped. CORS headers depend on the request's Origin and stay in the app's
    after_request (init_app)."""

    def __init__(self, app: Callable[[dict[str, Any], Callable[..., Any]], Any]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD", "GET")
        # request.path's reading of PATH_INFO: one leading slash, whatever the client sent.
        extra = security_headers("/" + environ.get("PATH_INFO", "").lstrip("/"), method)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if method == "POST":
                headers = [h for h in headers if h[0].lower() != "cache-control"]
            return start_response(status, [*headers, *extra], exc_info)

        return self.app(environ, start)


def init_app(app: Flask) -> tuple[Callable[[Request], Any], Callable[[Request, Response], None]]:
    """The API-key check (before the view) and the CORS headers (after it), for the app's one before_request
    and one after_request (service/app.py). The security headers are SecurityHeaders', around the app."""
    settings = app.config["PLANNER"]
    keys = ApiKeys(settings["API_KEYS"])
    origins = split_list(settings["CORS_ORIGINS"])
    any_origin = "*" in origins

    def require_api_key(request: Request) -> Any:
        if not keys.enabled or request.method == "OPTIONS" or not needs_api_key(request.path):
            return None
        token = bearer_token(request.headers.get("Authorization"))
        if token is not None and keys.allows(token):
            return None
        challenge = 'Bearer realm="vaccine-timing-planner"'
        if token is not None:
            challenge += ', error="invalid_token"'
        detail = (
            "The API key is not valid."
            if token is not None
            else "This route needs an API key: send 'Authorization: Bearer <key>'."
        )
        return problem(401, detail, headers={"WWW-Authenticate": challenge})

    def cors_headers(request: Request, response: Response) -> None:
        if not origins:
            return
        headers = response.headers
        path = request.path
        method = request.method
        origin = request.headers.get("Origin")
        if origin and is_cors_path(path) and (any_origin or origin in origins):
            headers["Access-Control-Allow-Origin"] = "*" if any_origin else origin
            headers["Access-Control-Expose-Headers"] = "X-Request-ID"
            if not any_origin:
                headers.add("Vary", "Origin")
            if method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
                headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
                headers["Access-Control-Max-Age"] = CORS_MAX_AGE

    return require_api_key, cors_headers
