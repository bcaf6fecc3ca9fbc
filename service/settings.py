"""Settings: defaults, then PLANNER_* environment variables, then overrides passed to create_app.

Read only inside create_app, never at import time, so tests and several apps in one process do not
share state by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


def _optional_int(raw: str) -> int | None:
    return int(raw) if raw.strip() else None


# Name -> (default, parser, description). The README's environment table mirrors this. Each is read from
# PLANNER_<NAME>; the server settings (BIND to GRACEFUL_TIMEOUT) are read by deploy/gunicorn.conf.py.
SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "LOG_LEVEL": ("INFO", str, "Python log level of the service's JSON logs (and of gunicorn's own lines)."),
    "API_KEYS": ("", str, "Comma-separated API keys; when set, every /v1 route needs 'Authorization: Bearer <key>'."),
    "CORS_ORIGINS": (
        "",
        str,
        "Comma-separated origins allowed to call the API from a browser (or *); empty = CORS off.",
    ),
    "PUBLIC_BASE_URL": (
        "",
        str,
        "The URL clients reach this service at (https://host[:port], no trailing slash): the FHIR canonical URLs "
        "and the audience (aud) a CDS Hooks JWT must name. Unset: https://vaccine-timing-planner.invalid.",
    ),
    "CDS_ISSUERS": (
        "",
        str,
        "Comma-separated CDS Hooks JWT issuers (iss) to trust; setting it (or API_KEYS) makes every CDS Hooks "
        "call need a valid JWT.",
    ),
    "CDS_JWKS": (
        "",
        str,
        "The EHRs' public keys for CDS Hooks JWTs, as a JWKS or {issuer: JWKS}, inline JSON or a file path; "
        "never fetched.",
    ),
    "BIND": ("0.0.0.0:8000", str, "Address gunicorn listens on."),
    "WORKERS": (None, _optional_int, "gunicorn worker processes; default: usable CPUs (cgroup quota aware) + 1."),
    "THREADS": (1, int, "Threads per worker; 1 = sync workers, more = gthread workers with keep-alive."),
    "TIMEOUT": (
        60,
        int,
        "Seconds a worker may spend on one request before gunicorn restarts it (a 500-item "
        "batch of the largest requests takes well under this; see docs/production.md).",
    ),
    "GRACEFUL_TIMEOUT": (30, int, "Seconds a stopping worker gets to finish its in-flight request after SIGTERM."),
}

# The contract's body limit (413 above it); not configurable, clients rely on it.
MAX_BODY_BYTES = 64 * 1024
# POST /v1/plans/batch carries up to 500 plan requests: its own limit, stated in the API document.
BATCH_MAX_BODY_BYTES = 4 * 1024 * 1024
BATCH_MAX_ITEMS = 500


def _env_value(name: str, default: Any, parse: Any, environ: Mapping[str, str]) -> Any:
    raw = environ.get(f"PLANNER_{name}")
    return default if raw is None else parse(raw)


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The effective settings for one app instance."""
    environ = os.environ if environ is None else environ
    values = {name: _env_value(name, default, parse, environ) for name, (default, parse, _) in SETTINGS.items()}
    values.update(overrides or {})
    return values
