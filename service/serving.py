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

- `Admission`: overload degrades into fast refusals, never into a queue. gunicorn accepts every connection
  up to PLANNER_WORKER_CONNECTIONS (1,000 per worker, so that connections are accepted and can be refused
  rather than left in the kernel's queue, where no client ever hears back); a request then gets a 503
  problem+json with `Retry-After` at once, before anything else runs and without its body being read, when
  the worker's event loop is more than PLANNER_MAX_QUEUE_MS behind (`LoopLag`: the requests it is about to
  run have waited that long) or PLANNER_MAX_IN_FLIGHT requests are already in progress in it. /healthz,
  /readyz and /metrics are never refused, so probes see a busy pod as alive and ready and the scraper sees it
  busy.
- Slow bodies are bounded per worker and per client: while SLOW_BODIES bodies (or CLIENT_SLOW_BODIES from
  one address) are still arriving, a new request's body must arrive within SLOW_BODY_GRACE_SECONDS or it is
  answered 503; a normal client's body arrives with its headers and never notices.

Under the sync worker or the Flask test client none of this needs gevent: the body is read without a
deadline, nothing is refused for lag, and `pause()` does nothing.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

log = logging.getLogger("service.access")
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


# Set once gevent's patches are seen: they are never taken back, and the body reader asks on every request.
_patched_seen = False


def _gevent_patched() -> bool:
    """Whether this process runs under gevent's monkey patches (a gunicorn gevent worker)."""
    global _patched_seen
    if _patched_seen:
        return True
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a runtime dependency; kept for a bare Flask run
        return False
    _patched_seen = bool(monkey.is_module_patched("socket"))
    return _patched_seen


def pause() -> None:
    """Let other greenlets run (a no-op outside gevent): called between the items of a long computation."""
    if _gevent_patched():
        import gevent

        # Not sleep(0): that may resume this greenlet before the loop polls for I/O, and a probe then
        # waited 2.5-3.5 s behind a batch. idle() resumes it only once the loop has nothing else to do.
        gevent.idle()


class Closing:
    """werkzeug's ClosingIterator for one callback: the server closes it as it would close the answer (the
    answer's own close first, then `done`, as ClosingIterator calls them), but iterates the answer's own iterator,
    without a Python call for each chunk on the way out."""

    __slots__ = ("_answer", "_done")

    def __init__(self, answer: Iterable[bytes], done: Callable[[], Any]):
        self._answer, self._done = answer, done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._answer)

    def close(self) -> None:
        close = getattr(self._answer, "close", None)
        if close is not None:
            close()
        self._done()


class BodyTimeout(Exception):
    """The client did not send its body within the deadline."""


class SlowBodiesFull(Exception):
    """Every slow-body slot was taken and this body did not arrive within the grace period."""


# While the slow-body slots are taken, a body gets this long (one sent with its headers takes microseconds).
SLOW_BODY_GRACE_SECONDS = 0.5
# The probes, never refused for load (a busy pod is alive and ready; restarting it would lose capacity), and
# the scrape (an overloaded pod is when its metrics matter; once every 15 s or so, a few milliseconds).
ALWAYS_ANSWERED = frozenset({"/healthz", "/readyz", "/metrics"})
RETRY_AFTER_SECONDS = 1
# The environ key under which BufferedBody leaves the bytes it read (wsgi.input then holds the same bytes), so
# that the JSON reader takes them as they are rather than through werkzeug's stream (service/api/parsing.py).
BODY = "planner.body"


class LoopLag:
    """How far behind this worker's event loop is: a greenlet that wakes every `interval` seconds; when its
    wake-up is overdue, every greenlet the loop is running through (the connections whose requests were
    ready) has waited at least that long. This is the worker's queue, measured where it forms: planning is
    CPU work, so requests wait for the loop, not for a counter. 0 outside gevent."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.due: float | None = None

    def behind(self) -> float:
        due = self.due
        if due is None:
            self._start()
            return 0.0
        return max(0.0, time.monotonic() - due)

    def _start(self) -> None:
        if not _gevent_patched():
            return
        import gevent

        self.due = time.monotonic() + self.interval
        gevent.spawn(self._tick)

    def _tick(self) -> None:
        import gevent

        while True:
            self.due = time.monotonic() + self.interval
            gevent.sleep(self.interval)


def _not_counted(reason: str) -> None:
    """No metrics to count a refusal in (a test's bare middleware)."""


class Admission:
    """WSGI middleware, outside everything but the security headers: refuse a request at once (503, Retry-After,
    body unread) when this worker is more than `max_queue_seconds` behind or already has `max_in_flight`
    requests in progress past their body (batches, large answers being written: a typical plan is done before
    the worker looks at another connection). The probes are always let through."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        max_in_flight: int,
        max_queue_seconds: float,
        on_shed: Callable[[str], None] | None = None,
        lag: LoopLag | None = None,
        body_reader: BufferedBody | None = None,
        count_in_flight: bool | None = None,
    ):
        self.app = app
        # Counted under gevent only (None: decided at the first request), where many requests share a worker
        # and the server closes every answer; a test client may never close one.
        self.count_in_flight = count_in_flight
        # Requests still waiting for their body are not work in progress: the slow-body slots bound them, and
        # counting them here let 300 slow uploads crowd normal requests out (66 of 100 refused, in a drill).
        self.body_reader = body_reader
        self.max_in_flight, self.max_queue_seconds = max_in_flight, max_queue_seconds
        self.lag = lag or LoopLag()
        self.in_flight = 0
        self.refused_since_log = 0
        self.logged_at = 0.0
        self.on_shed = on_shed or _not_counted

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in ALWAYS_ANSWERED:
            return self.app(environ, start_response)
        behind = self.lag.behind()
        if behind > self.max_queue_seconds:
            return self._refuse(start_response, "queue", f"it is {behind:.1f} s behind")
        if self.count_in_flight is None:
            self.count_in_flight = _gevent_patched()
        if not self.count_in_flight:
            return self.app(environ, start_response)
        working = self.in_flight - (self.body_reader.reading if self.body_reader is not None else 0)
        if working >= self.max_in_flight:
            return self._refuse(start_response, "in_flight", f"{working} requests are in progress in it")
        self.in_flight += 1
        try:
            answer = self.app(environ, start_response)
        except BaseException:
            self.in_flight -= 1
            raise
        return Closing(answer, self._done)

    def _done(self) -> None:
        self.in_flight -= 1

    def _refuse(self, start_response: StartResponse, reason: str, why: str) -> Iterable[bytes]:
        self.on_shed(reason)
        self.refused_since_log += 1
        now = time.monotonic()
        if now - self.logged_at >= 1.0:  # one line a second while shedding, not one per refusal
            log.warning("shedding load", extra={"reason": reason, "refused": self.refused_since_log, "status": 503})
            self.logged_at, self.refused_since_log = now, 0
        detail = f"This server is at capacity ({why}); send the request again after {RETRY_AFTER_SECONDS} s."
        return _answer(start_response, 503, "Service Unavailable", detail, [("Retry-After", str(RETRY_AFTER_SECONDS))])


class BufferedBody:
    """WSGI middleware: read the request body in full, within `seconds`, before the application sees it.

    Only bodies within `max_bytes` (the largest any route accepts) are read; a larger declared length goes
    on unread, and the application answers it 413 without reading it. A body sent in chunks is read up to
    `max_bytes` + 1 bytes and then given its length, so that the route's own limit answers 413 when it is
    too large; past `small_bytes` it counts as a large request.
    """

    def __init__(
        self,
        app: WsgiApp,
        *,
        seconds: float,
        max_bytes: int,
        small_bytes: int,
        slow_bodies: int = 32,
        client_slow_bodies: int = 8,
        on_shed: Callable[[str], None] | None = None,
    ):
        self.app = app
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.small_bytes = small_bytes
        self.large_in_flight = 0  # greenlets of one worker share this; they switch only where they wait
        self.slow_bodies, self.client_slow_bodies = slow_bodies, client_slow_bodies
        self.reading = 0  # bodies being waited for in this worker, and by client address
        self.reading_by_client: dict[str, int] = {}
        self.on_shed = on_shed or _not_counted

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length_header = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length_header.isdigit():
            length = int(length_header)
            if self.small_bytes < length <= self.max_bytes:
                return self._large(environ, start_response, length)
            if 0 < length <= self.max_bytes:
                try:
                    body = self._read_slot(environ, length)
                except BodyTimeout:
                    return self._timed_out(environ, start_response)
                except SlowBodiesFull:
                    return self._slow_bodies_full(environ, start_response)
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
                environ[BODY] = body
        elif chunked:
            # No declared length: read as much as a small body may be; past that it is a large one.
            started = time.monotonic()
            try:
                body = self._read_slot(environ, self.small_bytes + 1)
            except BodyTimeout:
                return self._timed_out(environ, start_response)
            except SlowBodiesFull:
                return self._slow_bodies_full(environ, start_response)
            # From here it is a body of known length (Werkzeug then applies each route's limit: 413).
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["CONTENT_LENGTH"] = str(len(body))
            if len(body) > self.small_bytes:
                left = self.seconds - (time.monotonic() - started)
                return self._large(environ, start_response, self.max_bytes + 1 - len(body), body, left)
            environ["wsgi.input"] = io.BytesIO(body)
            environ[BODY] = body
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
            environ[BODY] = body
            answer = self.app(environ, start_response)
        except BodyTimeout:
            self.large_in_flight -= 1
            return self._timed_out(environ, start_response)
        except BaseException:
            self.large_in_flight -= 1
            raise
        return Closing(answer, self._large_done)

    def _large_done(self) -> None:
        self.large_in_flight -= 1

    def _read_slot(self, environ: dict[str, Any], length: int) -> bytes:
        """_read, holding one of the worker's (and the client's) slow-body slots. With the slots taken, the body
        gets SLOW_BODY_GRACE_SECONDS (a normal client's is there already) and then SlowBodiesFull."""
        client = environ.get("REMOTE_ADDR") or ""
        by_client = self.reading_by_client
        reading = by_client.get(client, 0)
        full = self.reading >= self.slow_bodies or reading >= self.client_slow_bodies
        self.reading += 1
        by_client[client] = reading + 1
        try:
            if full and _gevent_patched():
                try:
                    return self._read(environ["wsgi.input"], length, SLOW_BODY_GRACE_SECONDS)
                except BodyTimeout:
                    raise SlowBodiesFull from None
            return self._read(environ["wsgi.input"], length)
        finally:
            self.reading -= 1
            left = by_client[client] - 1
            if left:
                by_client[client] = left
            else:
                del by_client[client]

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

    def _slow_bodies_full(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.on_shed("slow_bodies")
        log.warning("slow body refused: slots taken", extra={"method": environ.get("REQUEST_METHOD"), "status": 503})
        detail = (
            "Too many request bodies are arriving slowly on this server (or from this client) right now, and this "
            f"one did not arrive within {SLOW_BODY_GRACE_SECONDS:g} s; send it again, at full speed."
        )
        return _answer(start_response, 503, "Service Unavailable", detail, [("Retry-After", "1")])

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


def wrap(app: WsgiApp, settings: dict[str, Any], credentials: Any, metrics: Any) -> WsgiApp:
    """The WSGI layers around the Flask app, outermost first: the security headers on every answer; admission
    (503 at once when the worker is at capacity); credentials from the headers (a refused request's body is
    never read); the body read in full within its deadline, with bounded slow-body slots."""
    from service.security import CredentialsFirst, SecurityHeaders
    from service.settings import BATCH_MAX_BODY_BYTES, MAX_BODY_BYTES

    body_first = BufferedBody(
        app,
        seconds=settings["BODY_TIMEOUT"],
        max_bytes=BATCH_MAX_BODY_BYTES,
        small_bytes=MAX_BODY_BYTES,
        slow_bodies=settings["SLOW_BODIES"],
        client_slow_bodies=settings["CLIENT_SLOW_BODIES"],
        on_shed=metrics.count_shed,
    )
    admitted = Admission(
        CredentialsFirst(body_first, credentials),
        max_in_flight=settings["MAX_IN_FLIGHT"],
        max_queue_seconds=settings["MAX_QUEUE_MS"] / 1000,
        on_shed=metrics.count_shed,
        body_reader=body_first,
    )
    return SecurityHeaders(admitted)


# What gunicorn's own refusals say (requests its HTTP parser could not read: the application never saw them).
_SERVER_REFUSALS = {
    400: "The server could not read this request: its request line or headers are malformed.",
    414: "The request line is longer than the server reads (4,094 bytes).",
    431: "The request's headers are larger than the server reads (8,190 bytes, 100 fields).",
}


def server_refusal(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's write_error, in the service's shape: problem+json with the security headers every answer
    carries and a fresh request id, instead of gunicorn's HTML page. `mesg` (gunicorn's description, which can
    quote the request) is never sent back. Installed by deploy/gunicorn.conf.py."""
    from gunicorn import util

    from service.observability import new_request_id
    from service.security import security_headers

    detail = _SERVER_REFUSALS.get(status_int, "The server could not read this request.")
    body = orjson.dumps({"type": "about:blank", "title": reason, "status": status_int, "detail": detail})
    headers = [
        ("Content-Type", "application/problem+json"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        ("X-Request-ID", new_request_id()),
        *security_headers("/", "GET"),
    ]
    head = f"HTTP/1.1 {status_int} {reason}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
    util.write_nonblock(sock, head.encode("latin-1") + b"\r\n" + body)
