"""Request ids, access logs that carry no patient data, and request metrics.

Dose dates and vaccine lists are health data: a log line holds the request id, method, route template,
status and duration, and nothing from the body or the query string. Every line logged while a request
is handled carries its request id; gunicorn's own lines go through the same JSON formatter
(service/gunicorn_logging.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring_ascii as _json_string  # how json.dumps writes a str (ensure_ascii)
from typing import Any

from flask import Flask, Request, Response, g, has_request_context

from .metrics import METHODS, UNMATCHED, create_metrics

log = logging.getLogger("service.access")
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"  # where the WSGI environ holds that header
# A client's id is echoed only if it looks like an id, so a header cannot smuggle text into the logs.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Set in the WSGI environ once the application has logged a request, so that the server logs only the
# requests that never reached it (malformed ones its HTTP parser refused).
ACCESS_LOGGED = "planner.access_logged"


_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@functools.lru_cache(maxsize=256)
def route_label(rule: str) -> str:
    """A URL rule without its converters, as the API document writes it: /v1/vaccines/<vaccine_id>."""
    return _CONVERTER.sub(r"<\1>", rule)


def new_request_id() -> str:
    """32 random hexadecimal digits (128 bits from the OS). Opaque: nothing reads a version or a time in it.
    os.urandom(16).hex() rather than uuid.uuid4().hex, which builds a UUID object through its Python
    __init__ (10k instructions, on every request that brings no id of its own)."""
    return os.urandom(16).hex()


def request_id_from(header_value: str | None) -> str:
    """The client's X-Request-ID when it looks like an id, else a new one."""
    return header_value if header_value and _SAFE_ID.match(header_value) else new_request_id()


_OPAQUE_ID = re.compile(r"^(?:[0-9a-f]{32}|c-[0-9a-f]{24})$")


@functools.lru_cache(maxsize=1024)
def logged_id(request_id: str) -> str:
    """The form of a request id the logs hold. An id a client chose is echoed to it unchanged (headers,
    problem documents), but written to the logs as `c-` and 24 hex digits of its SHA-256: a well-formed id
    can still spell a name or a birth date, and logs carry no patient data. Ids this service makes (32
    random hex digits) and digests are logged as they are. To find a client's id in the logs:
    `python -c "from service.observability import logged_id; print(logged_id('order-12345'))"`."""
    if _OPAQUE_ID.match(request_id):
        return request_id
    return "c-" + hashlib.sha256(request_id.encode("utf-8")).hexdigest()[:24]


def _event(record: logging.LogRecord, safe_templates: frozenset[str] = frozenset()) -> str:
    """The message without anything a caller interpolated into it, except numbers (pids, exit codes) and
    the arguments of `safe_templates`, messages known to interpolate only server facts (a signal's name).

    Libraries (gunicorn) sometimes log a message already formatted with request text in it
    ("Invalid request from ip=...: Invalid Request Line '...'"); only the part before the first ': ' is kept.
    """
    if not isinstance(record.msg, str):
        return "event"
    if record.args:
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        if record.msg in safe_templates or all(isinstance(a, int | float) and not isinstance(a, bool) for a in args):
            return record.getMessage()
        return record.msg
    return record.msg.split(": ", 1)[0]


# The last whole second timestamp() wrote, and its text: every line of the same second shares it, and strftime
# cost a quarter of the access line. One tuple, replaced whole, so a reader never pairs a second with
# another second's text.
_last_second: tuple[int, str] = (-1, "")


def timestamp(created: float) -> str:
    """A record's time as the JSON lines write it (UTC, milliseconds), from its `created` seconds alone: the
    access line written directly (write_access_line) and the formatter then write the same instant alike."""
    global _last_second
    second = int(created)
    last = _last_second
    if last[0] != second:
        last = _last_second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{last[1]}.{int((created - second) * 1000):03d}Z"


def json_object(pairs: Iterable[tuple[str, Any]]) -> str:
    """`json.dumps(dict(pairs))` for distinct keys that need no escaping (ASCII names), as json.dumps writes
    it by default (", " and ": ", ensure_ascii): strings through json's own C string encoder, ints and finite
    floats by their repr as json does, anything else by json.dumps itself. The one writer of the JSON log lines
    (JsonFormatter's and the access line written directly), at a fraction of json.dumps's cost; property tests
    hold it equal to json.dumps (tests/test_access_line.py). One loop and no function of ours per value: it
    runs once a request."""
    parts = []
    for key, value in pairs:
        kind = type(value)
        if kind is str:
            text = _json_string(value)
        elif kind is int or (kind is float and math.isfinite(value)):
            text = repr(value)
        else:
            text = json.dumps(value)  # bool, None, NaN, containers...: json's own answer
        parts.append(f'"{key}": {text}')
    return "{" + ", ".join(parts) + "}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line; only whitelisted attributes, never the message arguments' objects."""

    # data_error: which data file and field failed the start-up checks (no patient data: it names files).
    FIELDS = (
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "items",
        "item",
        "error_type",
        "frames",
        "data_error",
        "reason",
        "refused",
    )

    def __init__(self, safe_templates: frozenset[str] = frozenset()):
        super().__init__()
        self.safe_templates = safe_templates

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "event": _event(record, self.safe_templates),
            "pid": record.process,
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
        return json_object(out.items())  # the one writer of the JSON lines (json.dumps's text)


class RequestIdFilter(logging.Filter):
    """Stamps the current request's id on every record logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            request_id = getattr(record, "request_id", None) or getattr(g, "request_id", None)
            record.request_id = logged_id(request_id) if isinstance(request_id, str) else request_id
        return True


def json_handler(stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(level: str) -> None:
    root = logging.getLogger("service")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.addHandler(json_handler())
    root.setLevel(level.upper())
    root.propagate = False


def _default_json_logging() -> bool:
    """Whether the access log goes only to the service's own JSON handlers (configure_logging): then a record
    can be handed to them directly, without the logging module's caller lookup (a walk up the stack for a
    file name and line number the JSON line never shows)."""
    if log.handlers or not log.propagate or log.disabled or log.filters:
        return False
    parent = log.parent
    return (
        parent is not None
        and parent.name == "service"
        and not parent.propagate
        and bool(parent.handlers)
        and all(isinstance(h.formatter, JsonFormatter) for h in parent.handlers)
    )


def _plain_json_streams() -> list[logging.StreamHandler[Any]] | None:
    """The handlers the access line goes to, when each is the service's own JSON handler (json_handler: a plain
    StreamHandler, the JSON formatter, no filter but the request id's, INFO let through); else None."""
    if not _default_json_logging() or log.parent is None:
        return None
    handlers = log.parent.handlers
    for handler in handlers:
        if (
            type(handler) is not logging.StreamHandler
            or handler.level > logging.INFO
            or not all(isinstance(f, RequestIdFilter) for f in handler.filters)
        ):
            return None
    return handlers  # type: ignore[return-value]  # each checked to be a StreamHandler just above


_LOGGER_JSON = _json_string(log.name)


def _usual_access_line(fields: dict[str, Any]) -> str | None:
    """json_object's line for the fields every request logs (finish() in init_app: three strings, an int status, a
    finite float duration, no batch items), written in one format; None for any other fields or types. The
    timestamp's text needs no escaping (digits, '-', ':', '.', 'T', 'Z')."""
    request_id, method, route = fields.get("request_id"), fields.get("method"), fields.get("route")
    status, duration = fields.get("status"), fields.get("duration_ms")
    if (
        len(fields) != 6
        or "items" not in fields
        or fields["items"] is not None
        or type(request_id) is not str
        or type(method) is not str
        or type(route) is not str
        or type(status) is not int
        or type(duration) is not float
        or not math.isfinite(duration)
    ):
        return None
    return (
        f'{{"ts": "{timestamp(time.time())}", "level": "INFO", "logger": {_LOGGER_JSON}, "event": "request", '
        f'"pid": {os.getpid()}, "request_id": {_json_string(request_id)}, "method": {_json_string(method)}, '
        f'"route": {_json_string(route)}, "status": {status!r}, "duration_ms": {duration!r}}}'
    )


def write_access_line(fields: dict[str, Any]) -> None:
    """The access line: `log.info("request", extra=fields)`, the same JSON line (tests/test_access_line.py
    holds the two equal). With the default JSON logging in place it is written straight to the handlers'
    streams, as their emit() would, without a LogRecord or the logging module's caller lookup."""
    if not log.isEnabledFor(logging.INFO):
        return
    streams = _plain_json_streams() if fields.get("request_id") is not None else None
    if streams is None:
        log.info("request", extra=fields)
        return
    line = _usual_access_line(fields)
    if line is None:
        pairs: list[tuple[str, Any]] = [
            ("ts", timestamp(time.time())),
            ("level", "INFO"),
            ("logger", log.name),
            ("event", "request"),
            ("pid", os.getpid()),
        ]
        for name in JsonFormatter.FIELDS:
            value = fields.get(name)
            if value is not None:
                pairs.append((name, value))
        line = json_object(pairs)
    for handler in streams:
        handler.acquire()
        try:
            handler.stream.write(line + handler.terminator)
            handler.flush()
        except (OSError, ValueError):  # a closed or broken stream: logging's own handling, as emit() does
            handler.handleError(log.makeRecord(log.name, logging.INFO, "(unknown file)", 0, "request", (), None))
        finally:
            handler.release()


def init_app(app: Flask) -> tuple[Callable[[Request, Any], None], Callable[[Request, Any, Response], Response]]:
    """Logging and metrics set up; returns the two request hooks (start, finish) for the app's one
    before_request and one after_request (service/app.py), which read Flask's proxied objects once."""
    configure_logging(app.config["PLANNER"]["LOG_LEVEL"])
    metrics = app.extensions["metrics"] = create_metrics()

    def start(req: Request, ctx: Any) -> None:
        ctx.request_id = request_id_from(req.environ.get(_REQUEST_ID_ENVIRON))  # req.headers.get(REQUEST_ID_HEADER)
        ctx.started = time.perf_counter()

    def finish(req: Request, ctx: Any, response: Response) -> Response:
        request_id = getattr(ctx, "request_id", None) or new_request_id()
        response.headers[REQUEST_ID_HEADER] = request_id
        started = getattr(ctx, "started", None)
        seconds = time.perf_counter() - started if started else 0.0
        rule = req.url_rule
        route = route_label(rule.rule) if rule is not None else UNMATCHED
        method = req.method
        status = response.status_code
        write_access_line(
            {
                "request_id": logged_id(request_id),
                "method": method if method in METHODS else "other",
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "items": getattr(ctx, "batch_items", None),
            }
        )
        metrics.observe(method, route, status, seconds)
        req.environ[ACCESS_LOGGED] = True
        return response

    return start, finish
