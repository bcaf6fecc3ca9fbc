"""Settings: defaults, then PLANNER_* environment variables, then overrides passed to create_app.

Read only inside create_app, never at import time, so tests and several apps in one process do not
share state by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

# Name -> (default, parser, description). The README's environment table mirrors this.
SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "LOG_LEVEL": ("INFO", str, "Python log level of the service's JSON logs."),
    "API_KEYS": ("", str, "Comma-separated API keys; when set, every /v1 route needs 'Authorization: Bearer <key>'."),
    "CORS_ORIGINS": ("", str, "Comma-separated origins allowed to call the API from a browser; empty = CORS off."),
}

# The contract's body limit (413 above it); not configurable, clients rely on it.
MAX_BODY_BYTES = 64 * 1024


def _env_value(name: str, default: Any, parse: Any, environ: Mapping[str, str]) -> Any:
    raw = environ.get(f"PLANNER_{name}")
    return default if raw is None else parse(raw)


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The effective settings for one app instance."""
    environ = os.environ if environ is None else environ
    values = {name: _env_value(name, default, parse, environ) for name, (default, parse, _) in SETTINGS.items()}
    values.update(overrides or {})
    return values
