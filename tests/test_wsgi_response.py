"""PlannerResponse answers each response as werkzeug's own Response does: same status, header list and body."""

from __future__ import annotations

import pytest
from flask import Response
from werkzeug.test import EnvironBuilder

from service.flask_app import PlannerResponse


def _answer(cls: type[Response], method: str, make: dict[str, object], extra: list[tuple[str, str]]):
    if make.get("response") == "(streamed)":  # a fresh iterator for each answer: it can be read once
        make = {**make, "response": iter([b"streamed"])}
    response = cls(**make)
    for name, value in extra:
        response.headers.add(name, value)
    environ = EnvironBuilder(path="/v1/plans", method=method, base_url="http://example.org/").get_environ()
    seen: list[object] = []
    body = response(environ, lambda status, headers, exc_info=None: seen.extend([status, headers]))
    try:
        return seen, b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()


@pytest.mark.parametrize("method", ["POST", "GET", "HEAD"])
@pytest.mark.parametrize(
    "make",
    [
        {"response": b'{"a": 1}', "mimetype": "application/json"},
        {"response": "text é", "mimetype": "text/plain"},
        {"response": [b"a", "b"], "mimetype": "text/plain"},
        {"response": "(streamed)", "mimetype": "text/plain"},
        {"response": b"", "status": 204},
        {"response": b"x", "status": 304},
        {"response": b"x", "status": 101},
        {"response": b'{"a": 1}', "status": 422, "mimetype": "application/problem+json"},
        {"response": b"moved", "status": 303},
        {"response": b"d", "direct_passthrough": True},
    ],
)
@pytest.mark.parametrize(
    "extra",
    [[], [("X-Request-ID", "r")], [("Location", "/v1/é")], [("content-location", "x y")], [("Content-Length", "1")]],
)
def test_the_usual_answer_is_werkzeugs_answer(method, make, extra):
    assert _answer(PlannerResponse, method, make, extra) == _answer(Response, method, make, extra)


def test_closing_iterates_the_answer_and_closes_it_then_calls_done_as_closing_iterator_does():
    from werkzeug.wsgi import ClosingIterator

    from service.serving import Closing

    def calls(wrap):
        seen: list[str] = []

        def answer():
            try:
                yield b"a"
                yield b"b"
            finally:
                seen.append("answer closed")

        wrapped = wrap(answer(), lambda: seen.append("done"))
        body = b"".join(wrapped)
        wrapped.close()
        return body, seen

    assert (
        calls(Closing)
        == calls(lambda answer, done: ClosingIterator(answer, [done]))
        == (
            b"ab",
            ["answer closed", "done"],
        )
    )
    assert calls(lambda answer, done: Closing([b"ab"], done)) == (b"ab", ["done"])
