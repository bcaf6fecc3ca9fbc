"""gunicorn's logger, speaking the service's JSON: `logger_class` in deploy/gunicorn.conf.py.

- gunicorn's own lines (worker boots, exits, timeouts) become JSON objects through the same formatter
  as the application's, so nothing a client sent (a request line, a header) reaches the log;
- the access log: the application writes one line per request it handles (service.observability);
  this logger adds a line, in the same shape, for each request gunicorn refused before the application
  saw it (a malformed request line, oversized headers), and counts it in the metrics.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from .metrics import METHODS, REJECTED, create_metrics, multiprocess_mode
from .observability import ACCESS_LOGGED, JsonFormatter, request_id_from

access_log = logging.getLogger("service.access")


class JsonLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

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
        access_log.info("request", extra={
            "request_id": request_id_from(headers.get("X-REQUEST-ID")), "method": method, "route": REJECTED,
            "status": status, "duration_ms": round(seconds * 1000, 3)})
        if multiprocess_mode():
            create_metrics().observe(method, REJECTED, status, seconds)
