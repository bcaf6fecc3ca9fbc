"""The WSGI application factory: `gunicorn 'service.app:create_app()'`.

Nothing is built at import time; every app reads its settings and data when it is created.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, Response, g, request

from service.data.loader import DataError, load_ruleset
from service.flask_app import PlannerFlask
from service.interop.coding import UNCONFIGURED_BASE, Canonical
from service.planning import Planner
from service.settings import BATCH_MAX_BODY_BYTES, MAX_BODY_BYTES, load_settings

from . import clinic, observability, security, serving
from .api import batch, catalog, cds_hooks, fhir, ics, ops, plans
from .api.problems import (
    API_KEY_SCHEME,
    API_KEY_SCHEME_DOC,
    CDS_HOOKS_JWT_SCHEME,
    CDS_HOOKS_JWT_SCHEME_DOC,
    ProblemApi,
    problem,
    register_error_handlers,
)

API_VERSION = "1.0.0"
log = logging.getLogger("service.startup")


def utc_today() -> date:
    return datetime.now(UTC).date()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the service. `config` overrides settings (tests pass TODAY to pin the clock)."""
    settings = load_settings(config)
    app = PlannerFlask(__name__)
    app.config.update(
        PLANNER=settings,
        # Never debug mode, whatever FLASK_DEBUG says: no debugger, no tracebacks in responses.
        DEBUG=False,
        PROPAGATE_EXCEPTIONS=False,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE="Vaccine timing planner",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        API_SPEC_OPTIONS=_spec_options(),
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    today = settings.get("TODAY")
    observability.configure_logging(settings["LOG_LEVEL"])
    try:
        ruleset = load_ruleset(settings["DATA_DIR"])  # checked: wrong data stops the start (DataError)
    except DataError as error:
        log.critical("data check failed, not starting", extra={"data_error": str(error)})
        raise
    app.extensions["planner"] = Planner(
        ruleset=ruleset, today=(lambda: today) if isinstance(today, date) else utc_today
    )

    # The service's public URL: FHIR canonical URLs and the audience of CDS Hooks JWTs.
    app.extensions["canonical"] = Canonical(str(settings["PUBLIC_BASE_URL"]).strip().rstrip("/") or UNCONFIGURED_BASE)
    _install_shell_hooks(app)
    _register_routes(app)
    # The WSGI layers (service/serving.py): security headers, admission, credentials, then the body read.
    app.wsgi_app = serving.wrap(  # type: ignore[method-assign, assignment]
        app.wsgi_app, settings, app.extensions["credentials"], app.extensions["metrics"]
    )

    return app


def _install_shell_hooks(app: Flask) -> None:
    """One before_request and one after_request for the whole shell (each hook Flask calls costs a lookup of
    the proxied request and its own call): request id and timer first, so every response (even an early 401
    or 415) carries a request id; then the key, the batch's body limit and the JSON media type."""
    start, finish = observability.init_app(app)
    require_api_key, cors_headers = security.init_app(app)

    @app.before_request
    def shell_before() -> Any:
        req, ctx = request._get_current_object(), g._get_current_object()  # type: ignore[attr-defined]
        start(req, ctx)
        refused = require_api_key(req)
        if refused is not None:
            return refused
        path = req.path
        # Only the batch route may carry more than the contract's 64 KiB; set before anything reads the body.
        if path == batch.BATCH_PATH:
            req.max_content_length = BATCH_MAX_BODY_BYTES
        # Checked before the body is read, so a form post is a 415, not a "missing field" 422. Only on a
        # route that exists and takes the method: a PUT to a GET route is a 405 (found by contract fuzzing).
        if (
            req.routing_exception is None
            and req.method in ("POST", "PUT", "PATCH")
            and path.startswith("/v1/")
            and req.mimetype != "application/json"
        ):
            return problem(415, "Send the request body as application/json.")
        return None

    @app.after_request
    def shell_after(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]
        cors_headers(req, response)
        return finish(req, g._get_current_object(), response)


def _register_routes(app: Flask) -> None:
    """Every front end's routes, the API document's extra parts and the problem+json error handlers."""
    api = ProblemApi(app)
    app.extensions["problem_api"] = api
    api.spec.components.security_scheme(API_KEY_SCHEME, API_KEY_SCHEME_DOC)
    api.spec.components.security_scheme(CDS_HOOKS_JWT_SCHEME, CDS_HOOKS_JWT_SCHEME_DOC)
    for blp in (plans.blp, batch.blp, catalog.blp, ops.blp):
        api.register_blueprint(blp)
    app.register_blueprint(ops.docs)
    app.register_blueprint(clinic.blp)  # the travel clinic page: GET / and form posts to /clinic/
    api.register_blueprint(ics.blp)  # interoperability: iCalendar, FHIR, CDS Hooks
    fhir.init_app(app)
    cds_hooks.init_app(app)
    ops.document_plain_routes(api, app)
    profiles = app.extensions["planner"].ruleset.therapies.profiles
    ops.refine_schemas(api, {p.name: list(p.cadences) for p in profiles})
    register_error_handlers(app)


def _spec_options() -> dict[str, Any]:
    return {
        "info": {
            "description": (
                "Tells when a person on an immunosuppressive therapy (each therapy a profile of cited rules: GET "
                "/v1/therapies lists them) may get each "
                "vaccine. Given dose dates or a planned start and a list of vaccines, it classifies each vaccine "
                "as live or non-live and returns its permitted windows: pre_start, mid_cycle, post_therapy, or "
                "avoid. Every response carries the ruleset version and the ids of the rules applied. Errors are "
                "RFC 9457 problem+json. When the operator configures API keys, every /v1 route needs "
                "`Authorization: Bearer <key>`. This is decision support for clinicians and pharmacists, not a "
                "substitute for clinical judgement."
            ),
            # The operator of a deployment answers for it; the project's own pages say who that is and the terms.
            "contact": {"name": "Vaccine timing planner team", "url": "/docs"},
            "license": {"name": "Proprietary", "url": "/docs"},
        },
        "servers": [{"url": "/", "description": "This server"}],
    }
