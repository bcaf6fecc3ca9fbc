"""What keeps slow clients and long batches from starving everyone else under gunicorn's gevent workers.

Production runs gevent workers (deploy/gunicorn.conf.py): every connection is a greenlet, so a client that
sends its request slowly waits on its own socket while the worker answers others. Two things complete it:

- `BufferedBody`: the whole request body is read before the application runs, within a deadline
  (PLANNER_BODY_TIMEOUT). A client that trickles its body is answered 408 and closed when the deadline
  passes, instead of holding a connection slot for ever. (gunicorn itself drops a client whose headers
  take longer than its keep-alive timeout, 5 s.) This is what a buffering proxy would do in front.
- One large request (a body over `small_bytes`, the 64 KiB every route but the batch allows) at a time
  per worker: a worker yields between batch items and so keeps accepting connections, and two batches in
  one worker would double its memory and split its time budget. A second one is answered 503 with
  Retry-After while the first runs (it may land on an idle worker when retried).
- `pause()`: planning is CPU work, and a greenlet that never waits keeps the others (a /healthz probe among
  them) waiting. Long loops (the batch) call it between items, so other requests get the CPU in between.

Under the sync worker or the Flask test client neither needs gevent: the body is read without a deadline
and `pause()` does nothing.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from werkzeug.wsgi import ClosingIterator

log = logging.getLogger("service.access")
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _gevent_patched() -> bool:
    """Whether this process runs under gevent's monkey patches (a gunicorn gevent worker)."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a runtime dependency; kept for a bare Flask run
        return False
    return bool(monkey.is_module_patched("socket"))


def pause() -> None:
    """Let other greenlets run (a no-op outside gevent): called between the items of a long computation."""
    if _gevent_patched():
        import gevent

        # Not sleep(0): that may resume this greenlet before the loop polls for I/O, and a probe then
        # waited 2.5-3.5 s behind a batch. idle() resumes it only once the loop has nothing else to do.
        gevent.idle()


class BodyTimeout(Exception):
    """The client did not send its body within the deadline."""


class BufferedBody:
    """WSGI middleware: read the request body in full, within `seconds`, before the application sees it.

    Only bodies within `max_bytes` (the largest any route accepts) are read; a larger declared length goes
    on unread, and the application answers it 413 without reading it. A body sent in chunks is read up to
    `max_bytes` + 1 bytes and then given its length, so that the route's own limit answers 413 when it is
    too large; past `small_bytes` it counts as a large request.
    """

    def __init__(self, app: WsgiApp, *, seconds: float, max_bytes: int, small_bytes: int):
        self.app = app
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.small_bytes = small_bytes
        self.large_in_flight = 0  # greenlets of one worker share this; they switch only where they wait

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length_header = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length_header.isdigit():
            length = int(length_header)
            if self.small_bytes < length <= self.max_bytes:
                return self._large(environ, start_response, length)
            if 0 < length <= self.max_bytes:
                try:
                    body = self._read(environ["wsgi.input"], length)
                except BodyTimeout:
                    return self._timed_out(environ, start_response)
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
        elif chunked:
            # No declared length: read as much as a small body may be; past that it is a large one.
            started = time.monotonic()
            try:
                body = self._read(environ["wsgi.input"], self.small_bytes + 1)
            except BodyTimeout:
                return self._timed_out(environ, start_response)
            # From here it is a body of known length (Werkzeug then applies each route's limit: 413).
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["CONTENT_LENGTH"] = str(len(body))
            if len(body) > self.small_bytes:
                left = self.seconds - (time.monotonic() - started)
                return self._large(environ, start_response, self.max_bytes + 1 - len(body), body, left)
            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)

    def _large(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        length: int,
        head: bytes = b"",
        seconds: float | None = None,
    ) -> Iterable[bytes]:
        """A body over small_bytes (`head`: what was read of it already): read and answered only if no other
        large one is in flight in this worker."""
        if self.large_in_flight and _gevent_patched():
            return self._busy(environ, start_response)
        self.large_in_flight += 1
        try:
            body = head + self._read(environ["wsgi.input"], length, seconds)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            answer = self.app(environ, start_response)
        except BodyTimeout:
            self.large_in_flight -= 1
            return self._timed_out(environ, start_response)
        except BaseException:
            self.large_in_flight -= 1
            raise
        return ClosingIterator(answer, [self._large_done])

    def _large_done(self) -> None:
        self.large_in_flight -= 1

    def _read(self, stream: Any, length: int, seconds: float | None = None) -> bytes:
        """Up to `length` bytes (fewer if the client ends early; the application then sees a short body)."""
        if not _gevent_patched():
            return bytes(stream.read(length))
        import gevent

        chunks: list[bytes] = []
        remaining = length
        with gevent.Timeout(max(seconds if seconds is not None else self.seconds, 0.001), BodyTimeout):
            while remaining > 0:
                chunk = stream.read(min(remaining, 65536))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
        return b"".join(chunks)

    def _timed_out(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # Answered here, before the application: no request id exists yet, and the connection is closed.
        log.warning("request body timeout", extra={"method": environ.get("REQUEST_METHOD"), "status": 408})
        detail = f"The request body did not arrive within {self.seconds:g} s."
        return _answer(start_response, 408, "Request Timeout", detail, [("Connection", "close")])

    def _busy(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        log.warning("large request refused while another runs", extra={"method": environ.get("REQUEST_METHOD")})
        detail = (
            "This worker is answering another large request (a batch); send this one again in a few seconds, "
            "or send batches one after the other."
        )
        return _answer(start_response, 503, "Service Unavailable", detail, [("Retry-After", "5")])


def _answer(
    start_response: StartResponse, status: int, title: str, detail: str, headers: list[tuple[str, str]]
) -> Iterable[bytes]:
    """A problem+json answer given before the application runs."""
    body = orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    start_response(
        f"{status} {title}",
        [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body))), *headers],
    )
    return [body]
