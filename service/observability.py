"""Request ids and access logs that carry no patient data.

Dose dates and vaccine lists are health data: a log line holds the request id, method, route template,
status and duration, and nothing from the body or the query string.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request

log = logging.getLogger("service.access")
REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is echoed only if it looks like an id, so a header cannot smuggle text into the logs.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; only whitelisted attributes, never the message arguments' objects."""

    FIELDS = ("request_id", "method", "route", "status", "duration_ms", "error_type", "frames")

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.msg if isinstance(record.msg, str) else "event",
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type and where it happened, never its message: messages can quote input.
            out["error_type"] = record.exc_info[0].__name__
            tb = record.exc_info[2]
            frames = []
            while tb is not None:
                frames.append(f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}")
                tb = tb.tb_next
            out["frames"] = frames[-8:]
        return json.dumps(out)


def configure_logging(level: str) -> None:
    root = logging.getLogger("service")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False


def init_app(app: Flask) -> None:
    configure_logging(app.config["PLANNER"]["LOG_LEVEL"])

    @app.before_request
    def start_timer() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        request_id = getattr(g, "request_id", None) or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        started = getattr(g, "started", None)
        duration_ms = round((time.perf_counter() - started) * 1000, 3) if started else None
        route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        log.info("request", extra={"request_id": request_id, "method": request.method, "route": route,
                                   "status": response.status_code, "duration_ms": duration_ms})
        return response
