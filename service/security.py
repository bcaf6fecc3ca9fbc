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
- The clinic page (/ and /clinic/...) may load only its own stylesheet and script and post only to itself. It
  plans patient data, so it follows PLANNER_CLINIC: open, keyed (default when API keys are on: an API key
  typed into its sign-in page opens a signed, HttpOnly, SameSite=Strict session cookie for 8 hours) or off.
- Credentials come from the headers before any body is read (`CredentialsFirst`, outside the body reader): a
  request that will be refused is answered 401 at once and its body is never read, so a client without a key
  cannot hold a connection for the body deadline.
- CORS is off unless PLANNER_CORS_ORIGINS names origins; then /v1, /fhir and /cds-services answer those
  origins (browser-based CDS clients such as the public CDS Hooks sandbox call from a page), preflight included.
- Plans are health data: every answer to a POST is marked `Cache-Control: no-store` for every cache on the way.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import io
import mmap
import os
import struct
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Request, Response, redirect, render_template_string
from flask import request as current_request
from werkzeug.http import dump_cookie, parse_cookie

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

    @property
    def digests(self) -> tuple[bytes, ...]:
        return tuple(self._digests)

    def allows(self, token: str) -> bool:
        candidate = _digest(token)
        matched = False
        for key in self._digests:  # no early exit: the time taken does not depend on which key matched
            matched |= hmac.compare_digest(candidate, key)
        return matched


# The clinic page's session: opened by an API key at SIGN_IN_PATH, as long as a clinic shift.
SIGN_IN_PATH = "/clinic/session"
CLINIC_STATIC = "/clinic/static/"
SESSION_COOKIE = "planner_clinic"
SESSION_SECONDS = 8 * 3600
# What CredentialsFirst decided, for the app's before_request: None (let it through) or why it is refused.
VERDICT = "planner.credentials"
MISSING, INVALID, CLINIC_OFF, SIGN_IN = "missing", "invalid", "clinic_off", "sign_in"


class Credentials:
    """Who may call what, decided from the request line and headers alone (never the body)."""

    def __init__(self, keys: ApiKeys, clinic: str, secure_cookie: bool, clock: Callable[[], float] = time.time):
        self.keys, self.clinic, self.secure_cookie, self.clock = keys, clinic, secure_cookie, clock

    def verdict(self, environ: dict[str, Any]) -> str | None:
        path = "/" + environ.get("PATH_INFO", "").lstrip("/")
        if is_clinic_path(path):
            return self._clinic(path, environ)
        if not self.keys.enabled or environ.get("REQUEST_METHOD") == "OPTIONS" or not needs_api_key(path):
            return None
        token = bearer_token(environ.get("HTTP_AUTHORIZATION"))
        if token is None:
            return MISSING
        return None if self.keys.allows(token) else INVALID

    def _clinic(self, path: str, environ: dict[str, Any]) -> str | None:
        if self.clinic == "open":
            return None
        if self.clinic == "off":
            return CLINIC_OFF
        if path == SIGN_IN_PATH or path.startswith(CLINIC_STATIC):
            return None  # the sign-in page and its stylesheet: no patient data
        token = bearer_token(environ.get("HTTP_AUTHORIZATION"))
        if token is not None and self.keys.allows(token):
            return None
        cookie = parse_cookie(environ.get("HTTP_COOKIE", "")).get(SESSION_COOKIE)
        return None if cookie and self.session_valid(cookie) else SIGN_IN

    def _mac(self, key_digest: bytes, expires: int) -> str:
        return hmac.new(key_digest, f"clinic-session:{expires}".encode(), hashlib.sha256).hexdigest()

    def open_session(self, token: str) -> str | None:
        """The cookie value a valid key opens (signed with that key: removing the key ends its sessions)."""
        if not self.keys.allows(token):
            return None
        expires = int(self.clock()) + SESSION_SECONDS
        return f"{expires}.{self._mac(_digest(token), expires)}"

    def session_valid(self, value: str) -> bool:
        expires_text, _, mac = value.partition(".")
        if not expires_text.isdigit() or int(expires_text) < self.clock():
            return False
        expires, matched = int(expires_text), False
        for key in self.keys.digests:  # no early exit, as for keys
            matched |= hmac.compare_digest(self._mac(key, expires), mac)
        return matched

    def session_cookie(self, value: str, max_age: int = SESSION_SECONDS) -> str:
        return dump_cookie(
            SESSION_COOKIE,
            value,
            max_age=max_age,
            path="/",
            secure=self.secure_cookie,
            httponly=True,
            samesite="Strict",
        )


class CredentialsFirst:
    """WSGI middleware, outside the body reader: a request its credentials will not admit is passed on with an
    empty body (the app answers it 401, or 404 for a clinic turned off, with the usual request id, log line and
    headers), so no body of a refused request is ever waited for or read. The client's unread bytes are
    discarded by gunicorn within its keep-alive timeout (5 s), then the connection is closed."""

    def __init__(self, app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]], credentials: Credentials):
        self.app, self.credentials = app, credentials

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        verdict = environ[VERDICT] = self.credentials.verdict(environ)
        if verdict is not None and (environ.get("CONTENT_LENGTH") or environ.get("HTTP_TRANSFER_ENCODING")):
            environ["wsgi.input"] = io.BytesIO(b"")
            environ["CONTENT_LENGTH"] = "0"
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)


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


SIGN_IN_PAGE = """{% extends "clinic/base.html" %}
{% block title %}Sign in — vaccine timing planner{% endblock %}
{% block main %}
<h1>Sign in</h1>
<p>This server plans patient data only for its operators: enter one of its API keys to open the clinic page on this
  browser for {{ hours }} hours.</p>
{% if notice %}<p class="field-error" role="alert">{{ notice }}</p>{% endif %}
<form method="post" action="{{ action }}">
  <label for="key">API key</label>
  <input id="key" name="key" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>
{% endblock %}"""


def _sign_in_page(status: int, notice: str = "") -> Response:
    html = render_template_string(SIGN_IN_PAGE, hours=SESSION_SECONDS // 3600, notice=notice, action=SIGN_IN_PATH)
    headers = {"WWW-Authenticate": 'Bearer realm="vaccine-timing-planner"'} if status == 401 else {}
    return Response(html, status=status, mimetype="text/html", headers=headers)


def credentials_for(settings: dict[str, Any]) -> Credentials:
    secure = str(settings["PUBLIC_BASE_URL"]).strip().lower().startswith("https://")
    return Credentials(ApiKeys(settings["API_KEYS"]), settings["CLINIC"], secure_cookie=secure)


def init_app(app: Flask) -> tuple[Callable[[Request], Any], Callable[[Request, Response], None]]:
    """The credential check's answer (before the view) and the CORS headers (after it), for the app's one
    before_request and one after_request (service/app.py), and the clinic's sign-in route. The decision itself
    is CredentialsFirst's, around the body reader; the security headers are SecurityHeaders', around all."""
    settings = app.config["PLANNER"]
    credentials: Credentials = app.extensions.setdefault("credentials", credentials_for(settings))
    origins = split_list(settings["CORS_ORIGINS"])
    any_origin = "*" in origins

    def require_api_key(request: Request) -> Any:
        environ = request.environ
        verdict = environ[VERDICT] if VERDICT in environ else credentials.verdict(environ)
        if verdict is None:
            return None
        if verdict == CLINIC_OFF:
            return problem(404, "The travel clinic page is turned off on this server (PLANNER_CLINIC=off).")
        if verdict == SIGN_IN:
            notice = "Sign in to plan: the form was not read." if request.method == "POST" else ""
            return _sign_in_page(401, notice)
        challenge = 'Bearer realm="vaccine-timing-planner"'
        if verdict == INVALID:
            challenge += ', error="invalid_token"'
        detail = (
            "The API key is not valid."
            if verdict == INVALID
            else "This route needs an API key: send 'Authorization: Bearer <key>'."
        )
        return problem(401, detail, headers={"WWW-Authenticate": challenge})

    def sign_in() -> Any:
        if credentials.clinic != "keyed":
            return redirect("/", code=303)
        if current_request.method == "GET":
            return _sign_in_page(200)
        value = credentials.open_session(str(current_request.form.get("key", "")).strip())
        if value is None:
            return _sign_in_page(401, "That key is not valid.")
        response = redirect("/", code=303)
        response.headers.add("Set-Cookie", credentials.session_cookie(value))
        return response

    app.add_url_rule(SIGN_IN_PATH, "clinic.session", sign_in, methods=["GET", "POST"])

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


class SharedReplays:
    """CDS Hooks `jti`s seen by any worker of this server, each until its token expires: a table in shared
    memory (a memfd the gunicorn master maps before it forks, so every worker maps the same pages). A token
    replayed to another worker is refused as it is to the same one; per-worker memory gave a replay one more
    chance per worker. Replicas do not share it (a replay to another pod is possible within the token's five
    minutes: docs/production.md).

    Open addressing over `slots` slots of a SHA-256 (32 bytes) and an expiry (a double); a key is looked for in
    up to PROBES slots from its hash, expired slots are reused, and a POSIX record lock (per process, so it
    excludes the other workers; greenlets of one worker do not switch inside) guards each use. With every
    probed slot live (tens of thousands of calls within five minutes), a token is refused: never let through
    unchecked."""

    SLOT = 40
    PROBES = 64
    # A token is accepted until its exp plus the clock-skew leeway (service/api/cds_auth.py, LEEWAY_SECONDS):
    # its jti is kept that long.
    KEEP_AFTER_EXPIRY = 30.0

    def __init__(self, slots: int = 16384):
        self.slots = slots
        self.fd = os.memfd_create("planner-cds-jti")
        os.ftruncate(self.fd, slots * self.SLOT)
        self.pages = mmap.mmap(self.fd, slots * self.SLOT)

    def first_use(self, key: str, expires: float, now: float) -> bool:
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        start = int.from_bytes(digest[:8], "little") % self.slots
        fcntl.lockf(self.fd, fcntl.LOCK_EX)
        try:
            reusable = None
            for step in range(self.PROBES):
                offset = ((start + step) % self.slots) * self.SLOT
                (until,) = struct.unpack_from("d", self.pages, offset + 32)
                if until == 0.0:  # never used: the key is not further on
                    reusable = offset if reusable is None else reusable
                    break
                if until < now:
                    reusable = offset if reusable is None else reusable
                elif self.pages[offset : offset + 32] == digest:
                    return False  # seen, and its token has not expired
            if reusable is None:
                return False
            self.pages[reusable : reusable + 32] = digest
            struct.pack_into("d", self.pages, reusable + 32, expires + self.KEEP_AFTER_EXPIRY)
            return True
        finally:
            fcntl.lockf(self.fd, fcntl.LOCK_UN)


_shared_replays: SharedReplays | None = None


def share_replays() -> None:
    """Called by the gunicorn master before it forks (deploy/gunicorn.conf.py): the workers share one memory of
    CDS Hooks tokens. Without it (a single process, the tests) each app keeps its own."""
    global _shared_replays
    if _shared_replays is None and hasattr(os, "memfd_create"):
        _shared_replays = SharedReplays()


def shared_replays() -> SharedReplays | None:
    return _shared_replays
