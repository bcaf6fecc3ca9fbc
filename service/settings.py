"""Settings: defaults, then PLANNER_* environment variables, then overrides passed to create_app.

Read only inside create_app, never at import time, so tests and several apps in one process do not
share state by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.domain.series import WEEKDAYS


def _optional_int(raw: str) -> int | None:
    return int(raw) if raw.strip() else None


# Name -> (default, parser, description). The README's environment table mirrors this. Each is read from
# PLANNER_<NAME>; the server settings (BIND to GRACEFUL_TIMEOUT) are read by deploy/gunicorn.conf.py.
SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "LOG_LEVEL": ("INFO", str, "Python log level of the service's JSON logs (and of gunicorn's own lines)."),
    "API_KEYS": (
        None,
        str,
        "Comma-separated API keys, each at least 16 characters; when set, every /v1 route needs "
        "'Authorization: Bearer <key>'. Unset = no keys; set but empty, blank or with a short key = no start.",
    ),
    "CLINIC": (
        None,
        str,
        "The travel clinic page (/ and /clinic/...): 'open' (no key), 'keyed' (an API key opens a signed session "
        "cookie for the page; a form post without it is 401 and its body is never read) or 'off' (404). "
        "Default: keyed when API_KEYS is set, open when it is not.",
    ),
    "CLINIC_THERAPY": (
        "ofatumumab",
        str,
        "The therapy (a profile id or name, GET /v1/therapies) the travel clinic page selects first; when no loaded "
        "profile answers to it, the first one.",
    ),
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
    "CDS_FHIR_SECONDS": (
        8.0,
        float,
        "Seconds a CDS Hooks call may spend reading the EHR's FHIR server (fhirServer) when its prefetch is missing "
        "or short; what is not read by then is reported, never guessed.",
    ),
    "MEDICATION_CODES": (
        None,
        str,
        "A JSON file of the site's own medication codes for the therapies, [{system, code, therapy}] (RxNorm, NDC, "
        "ATC or SNOMED CT), added to those the therapy profiles list; checked at start-up like the data.",
    ),
    "DATA_DIR": (
        None,
        str,
        "A data directory laid out like service/data (default: the packaged data). It is checked like the "
        "packaged data before anything is served: a wrong file stops the start.",
    ),
    "TIMEZONE": (
        "UTC",
        str,
        "The clinic's IANA time zone (Europe/Paris, say): the clinic page's 'Plan as of' defaults to today's date "
        "there. The API's default as_of stays today in UTC, as the contract says. An unknown zone = no start.",
    ),
    "APPOINTMENT_DAYS": (
        "mon,tue,wed,thu,fri",
        str,
        "The clinic page's default opening days (comma-separated mon..sun), sent as appointment_days: doses are "
        "proposed on these days only. The nurse can change them on the page. A wrong name = no start.",
    ),
    "BIND": ("0.0.0.0:8000", str, "Address gunicorn listens on."),
    "WORKERS": (
        None,
        _optional_int,
        "gunicorn (gevent) worker processes; default: usable CPUs (cgroup quota aware) + 1.",
    ),
    "TIMEOUT": (
        60,
        int,
        "Seconds a worker may spend on one request before gunicorn restarts it (a 500-item "
        "batch of the largest requests takes well under this; see docs/production.md).",
    ),
    "GRACEFUL_TIMEOUT": (30, int, "Seconds a stopping worker gets to finish its in-flight request after SIGTERM."),
    "MAX_REQUESTS": (
        # A new worker costs about a second of CPU (imports and data checks): at 2,000 a worker under full
        # load (500-2,000 requests/s) was replaced every 1-4 s, spending a third or more of its CPU on
        # restarts. 100,000 is a restart every minute or two at full load, about 1% (docs/production.md).
        100000,
        int,
        "Requests a worker answers before gunicorn replaces it (plus a random jitter of up to a tenth); 0 = never.",
    ),
    "BODY_TIMEOUT": (
        30,
        int,
        "Seconds a client has to send its whole request body; slower is answered 408 (a trickled body cannot "
        "hold a connection for ever).",
    ),
    "WORKER_CONNECTIONS": (
        # Accepted connections can be answered, even if only with a 503; connections past this wait unaccepted
        # in the kernel's queue where no client hears back (700 of 1,000 kept-alive clients did, at 100).
        1000,
        int,
        "Connections one gevent worker accepts and holds at once (idle and slow ones cost a few KiB each); the "
        "work they may cause is bounded by MAX_IN_FLIGHT and MAX_QUEUE_MS.",
    ),
    "MAX_IN_FLIGHT": (
        100,
        int,
        "Requests one worker has in progress at once (slow bodies, batches); past it a request is answered 503 "
        "with Retry-After at once.",
    ),
    "MAX_QUEUE_MS": (
        500,
        int,
        "How far (ms) a worker's event loop may fall behind before it answers new requests 503 with Retry-After "
        "(they would have waited at least that long); /healthz and /readyz are always answered.",
    ),
    "SLOW_BODIES": (
        32,
        int,
        "Request bodies one worker waits for at once; with them taken, a body must arrive within 0.5 s or the "
        "request is answered 503.",
    ),
    "CLIENT_SLOW_BODIES": (8, int, "The same per client address, within one worker."),
}

# The contract's body limit (413 above it); not configurable, clients rely on it.
MAX_BODY_BYTES = 64 * 1024
# POST /v1/plans/batch carries up to 500 plan requests: its own limit, stated in the API document.
BATCH_MAX_BODY_BYTES = 4 * 1024 * 1024
BATCH_MAX_ITEMS = 500
# A batch plans items until this much time has passed, then answers the rest 503 (send again): a batch's
# worst case stays below the 30 s graceful timeout and the 60 s worker timeout, on a loaded machine too.
BATCH_TIME_BUDGET_SECONDS = 20
# ... and until its answer holds this many bytes: the answer is what a batch keeps in memory (500 of the
# costliest requests would answer 83 MiB), so this bounds a worker's peak whatever the machine's speed.
BATCH_MAX_ANSWER_BYTES = 48 * 1024 * 1024
# A problem document lists at most this many field errors, then says how many it left out: a 64 KiB
# request of nothing but mistakes answered 3.1 MB of errors, and a batch of them 172 MiB.
MAX_ERRORS_LISTED = 20
# An API key shorter than this is refused at start-up: a 16-character random key is 95+ bits.
API_KEY_MIN_LENGTH = 16


class SettingsError(ValueError):
    """A setting that would make the service run other than the operator meant: it refuses to start."""


def api_keys(raw: str | None) -> tuple[str, ...]:
    """The configured API keys; () when the setting is absent (keys off). Fails closed: a setting that is
    present but empty, blank, only commas, with an empty entry or with a key under API_KEY_MIN_LENGTH
    characters is an error, never "no keys" (a Secret mounted empty must not open the API)."""
    if raw is None:
        return ()
    entries = [entry.strip() for entry in raw.split(",")]
    if not any(entries):
        raise SettingsError("PLANNER_API_KEYS is set but holds no key; unset it to run without keys, or set keys.")
    if "" in entries:
        raise SettingsError("PLANNER_API_KEYS has an empty entry (a doubled, leading or trailing comma).")
    short = [index for index, key in enumerate(entries) if len(key) < API_KEY_MIN_LENGTH]
    if short:
        raise SettingsError(
            f"PLANNER_API_KEYS: key number(s) {', '.join(str(i + 1) for i in short)} are shorter than "
            f"{API_KEY_MIN_LENGTH} characters."
        )
    return tuple(entries)


CLINIC_MODES = ("open", "keyed", "off")


def clinic_mode(raw: str | None, keys: tuple[str, ...]) -> str:
    """The clinic page's mode: the setting, or keyed when API keys are on and open when they are off. Fails
    closed: an unknown mode, or keyed without a key to open it, refuses to start."""
    if raw is None:
        return "keyed" if keys else "open"
    mode = raw.strip().lower()
    if mode not in CLINIC_MODES:
        raise SettingsError(f"PLANNER_CLINIC must be one of {', '.join(CLINIC_MODES)} (got {raw!r}).")
    if mode == "keyed" and not keys:
        raise SettingsError("PLANNER_CLINIC=keyed needs PLANNER_API_KEYS: there is no key to open the page with.")
    return mode


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
    keys = api_keys(values["API_KEYS"])  # refuse to start on a key setting that would silently turn keys off
    values["CLINIC"] = clinic_mode(values["CLINIC"], keys)
    clinic_zone(values["TIMEZONE"])
    clinic_days(values["APPOINTMENT_DAYS"])
    return values


def clinic_zone(name: str) -> ZoneInfo:
    """The clinic's time zone, or SettingsError naming the setting."""
    try:
        return ZoneInfo(str(name).strip())
    except (ValueError, ZoneInfoNotFoundError):
        raise SettingsError(f"PLANNER_TIMEZONE: {name!r} is not an IANA time zone (Europe/Paris, UTC, ...).") from None


def clinic_days(raw: str) -> tuple[str, ...]:
    """The clinic page's default appointment days, in week order, or SettingsError naming the setting."""
    names = [part.strip().lower() for part in str(raw).split(",") if part.strip()]
    wrong = [n for n in names if n not in WEEKDAYS]
    if not names or wrong:
        raise SettingsError(
            f"PLANNER_APPOINTMENT_DAYS: give one or more of {', '.join(WEEKDAYS)}, comma-separated"
            + (f" (not {', '.join(wrong)})." if wrong else ".")
        )
    return tuple([day for day in WEEKDAYS if day in names])
