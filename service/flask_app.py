"""The Flask classes the service runs on: Flask's own, with two per-request costs taken out of the hot path.

Both answer exactly as Flask and werkzeug do (tests/test_wsgi_response.py compares every kind of answer with
werkzeug's own Response); they only skip general work that changes nothing for the usual request.
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import CO_COROUTINE
from types import FunctionType, MethodType
from typing import Any

from flask import Flask, Response
from werkzeug.datastructures import Headers

from service import serving

# Statuses whose answer werkzeug sends with its body and headers as they are (no body or length rules apply).
_PLAIN_STATUS = range(200, 600)
_REWRITTEN_HEADERS = ("location", "content-location")


class PlannerResponse(Response):
    """Flask's Response, answering the usual case without werkzeug's general one: a buffered body of bytes, a
    Content-Length already set, no Location or Content-Location to rewrite, a status that has a body, not HEAD.
    Then werkzeug's get_wsgi_response would copy the headers into a new Headers, find nothing to change and
    list them, and wrap the body in a generator that yields each bytes item as it is: this gives the same
    status, header list and body (closed the same way), without the copy, the generator and a Python call for
    each chunk (serving.Closing)."""

    def get_wsgi_response(self, environ: dict[str, Any]) -> tuple[Any, str, list[tuple[str, str]]]:
        body, status = self.response, self.status_code
        if (
            type(self.headers) is Headers
            and type(body) is list
            and status in _PLAIN_STATUS
            and status != 204
            and status != 304
            and not self.direct_passthrough
            and environ["REQUEST_METHOD"] != "HEAD"
            and all(type(item) is bytes for item in body)
        ):
            headers = list(self.headers)
            names = [key.lower() for key, _ in headers]
            if "content-length" in names and not any(name in names for name in _REWRITTEN_HEADERS):
                return serving.Closing(body, self.close), self.status, headers
        return super().get_wsgi_response(environ)


class PlannerFlask(Flask):
    """Flask, answering with PlannerResponse, and with `ensure_sync` answering a plain `def` function or method
    without inspect's unwrapping: Flask asks it for every hook and view of every request (seven times a request)."""

    response_class = PlannerResponse

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        target = func.__func__ if type(func) is MethodType else func
        # What inspect.iscoroutinefunction reads for a plain function: its code's flags (and, since Python 3.12,
        # a marker set by inspect.markcoroutinefunction). Anything else is left to Flask.
        if (
            type(target) is FunctionType
            and not target.__code__.co_flags & CO_COROUTINE
            and "_is_coroutine_marker" not in target.__dict__  # where markcoroutinefunction sets it
        ):
            return func
        return super().ensure_sync(func)
