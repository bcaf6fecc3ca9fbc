"""How request bodies are read: webargs' Flask parser, with orjson in place of the standard library.

The standard library's json.loads accepts NaN and Infinity (not JSON), recurses once per nesting level
(a body of 1,000 '[' raised RecursionError) and refuses integers over 4,300 digits with a ValueError:
the last two came out as 500s. orjson is strict RFC 8259, stops at 1,024 levels and 64-bit integers, and
raises one error type for all of it, so each of these is a 400 malformed-json problem.

A key given twice in one object is a 400 naming the key: orjson (like the standard library) keeps the last
one silently, and a repeated `as_of` was planned as of its second value. RFC 8259 says names SHOULD be
unique and leaves the rest to the reader; here a body that says two things is refused, not guessed at.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import flask
import orjson
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

from service.serving import BODY


class DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(f"the key {key!r} appears twice in one object; send it once")
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


# Past this nesting the standard library's check runs as it always did (its recursion limit decides what it can
# check); below it, no Python stack is deep enough for that limit to matter.
_COUNTED_DEPTH = 100


def _strings_in(value: Any) -> int:
    """How many strings (keys and values) a parsed value holds, or -1 past _COUNTED_DEPTH levels."""
    count = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if type(node) is dict:
            count += len(node)
            node = node.values()
        for item in node:
            kind = type(item)
            if kind is str:
                count += 1
            elif kind is dict or kind is list:
                if depth >= _COUNTED_DEPTH:
                    return -1
                stack.append((item, depth + 1))
    return count


def loads(data: bytes) -> Any:
    """orjson's strict reading, then the same bytes checked for a key repeated in an object.

    A repeated key is a pair orjson dropped, and with it at least one string (its key): so a body without a
    backslash (every '"' in it opens or closes a string) whose strings all survived has no repeated key. Any
    other body, or one that lost a string, is read again by the standard library's scanner with a pairs hook,
    run only on what orjson accepted (so within its nesting limit), which names the repeated key."""
    value = orjson.loads(data)
    if b'"' in data and (isinstance(value, dict | list)):
        if b"\\" not in data and _strings_in(value) * 2 == data.count(b'"'):
            return value
        try:
            json.loads(data, object_pairs_hook=_unique_pairs)
        except RecursionError:  # nesting orjson allows (1,024) but the standard library's recursion does not
            raise DuplicateKey("(nesting too deep to check)") from None
    return value


def request_body(req: flask.Request) -> bytes:
    """`req.get_data(cache=True)`: the bytes BufferedBody read (service/serving.py) when nothing has read the
    request's stream yet and they are within the route's limit; otherwise werkzeug's reading, which answers 413
    for a body over the limit."""
    body = req.environ.get(BODY)
    if body is not None and "stream" not in req.__dict__ and getattr(req, "_cached_data", None) is None:
        limit = req.max_content_length
        if limit is None or len(body) <= limit:
            req._cached_data = body  # as get_data caches it, for any later reader
            return body  # type: ignore[no-any-return]
    return req.get_data(cache=True)


class StrictJsonParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        data = request_body(req)
        if not data:
            raise json.JSONDecodeError("empty body", "", 0)  # webargs: an empty body is a missing one
        try:
            return loads(data)
        except orjson.JSONDecodeError as error:
            # Never an empty `doc`, which webargs would take for a missing body.
            raise json.JSONDecodeError(error.msg, "(body)", error.pos) from None
        except DuplicateKey as error:
            from .problems import problem  # here: problems renders through this package's error handlers

            flask.abort(problem(400, f"The request body is not valid JSON: {error}.", type_slug="malformed-json"))


class BodyError(Exception):
    """A request body that cannot be read: the status and the detail the error answer carries."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def read_json_body(req: flask.Request, media_types: Collection[str] = ("application/json",)) -> Any:
    """The body of a route that reads JSON itself (FHIR, CDS Hooks), by the same rules as every /v1 route.

    The same strict parser (orjson: no NaN or Infinity, at most 1,024 levels, 64-bit integers) and the same
    size limit (MAX_CONTENT_LENGTH), so a body refused on /v1 is refused here with the same status: 415, 413
    or 400, never a 500. The caller renders BodyError in its route's error format.
    """
    if req.mimetype not in media_types:
        raise BodyError(415, f"Send the request body as {' or '.join(media_types)}.")
    try:
        data = request_body(req)
    except RequestEntityTooLarge:
        raise BodyError(413, "The request body is over the 64 KiB limit.") from None
    if not data:
        raise BodyError(400, "The request body is empty.")
    try:
        return loads(data)
    except orjson.JSONDecodeError as error:
        raise BodyError(400, f"The request body is not valid JSON: {error.msg[:120]}.") from None
    except DuplicateKey as error:
        raise BodyError(400, f"The request body is not valid JSON: {str(error)[:160]}.") from None
