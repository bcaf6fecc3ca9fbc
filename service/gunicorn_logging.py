"""gunicorn's logger, speaking the service's JSON: `logger_class` in deploy/gunicorn.conf.py.

- gunicorn's own lines (worker boots, exits, timeouts, refused requests) become JSON objects through the
  same formatter as the application's, so nothing a client sent (a request line, a header) reaches the log;
- requests gunicorn's HTTP parser refuses (a malformed request line or headers) never reach the
  application: each gives one "Invalid request" line, without its content, and counts in
  planner_http_rejected_requests_total;
- the access log is the application's (service.observability); should gunicorn answer a request the
  application did not log, this logger writes the access line for it, in the same shape.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from .metrics import METHODS, SERVER, create_metrics, multiprocess_mode
from .observability import ACCESS_LOGGED, JsonFormatter, logged_id, request_id_from

access_log = logging.getLogger("service.access")
# gunicorn messages whose arguments are facts about the server (version, address, worker class, signal
# names), never anything a client sent: logged in full. Any other message keeps only its template.
SAFE_TEMPLATES = frozenset(
    {
        "Starting gunicorn %s",
        "Listening at: %s (%s)",
        "Listening at: %s",
        "Using worker: %s",
        "Handling signal: %s",
        "Worker (pid:%s) was sent %s!",
        "Worker (pid:%s) was sent %s! Perhaps out of memory?",
        "Shutting down: %s",
        "Unhandled signal: %s",
        "Ignoring unknown signal: %s",
        "Data check failed, not starting: %s",
    }
)
INVALID_REQUEST = "Invalid request from ip="


class JsonLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter(SAFE_TEMPLATES))

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(msg, str) and msg.startswith(INVALID_REQUEST) and multiprocess_mode():
            create_metrics().count_rejected()
        super().warning(msg, *args, **kwargs)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if environ.get(ACCESS_LOGGED):
            return
        status = getattr(resp, "status_code", None)
        if status is None:
            status = int(str(getattr(resp, "status", "0")).split(" ", 1)[0] or 0)
        method = getattr(req, "method", None)
        method = method if method in METHODS else "other"
        headers = dict(getattr(req, "headers", None) or [])
        seconds = request_time.total_seconds()
        access_log.info(
            "request",
            extra={
                "request_id": logged_id(request_id_from(headers.get("X-REQUEST-ID"))),
                "method": method,
                "route": SERVER,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
            },
        )
        if multiprocess_mode():
            create_metrics().observe(method, SERVER, status, seconds)
