"""The access line written without the logging module's caller lookup is the line `log.info` wrote."""

from __future__ import annotations

import io
import json
import logging
import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service import observability
from service.observability import json_handler, write_access_line

FIELDS = {
    "request_id": "req-7",
    "method": "POST",
    "route": "/v1/plans",
    "status": 200,
    "duration_ms": 1.234,
    "items": None,
}


@pytest.fixture()
def service_logger_with_only_json(monkeypatch):
    """The service logger as configure_logging leaves it: its JSON handler alone (captured), INFO. (pytest's
    own capture handlers are set aside by only_json_handler(), inside the test: pytest adds them after the
    fixtures ran.)"""
    stream = io.StringIO()
    logger = logging.getLogger("service")
    monkeypatch.setattr(logger, "handlers", logger.handlers)
    monkeypatch.setattr(logger, "level", logging.INFO)
    monkeypatch.setattr(logger, "propagate", False)
    logger.manager._clear_cache()
    # Both ways stamp the same instant, so whole lines can be compared.
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.25)
    monkeypatch.setattr(time, "time_ns", lambda: 1_790_000_000_250_000_000)

    def only_json_handler() -> io.StringIO:
        monkeypatch.setattr(logger, "handlers", [json_handler(stream)])
        return stream

    yield only_json_handler
    logger.manager._clear_cache()


def test_the_direct_access_line_is_the_line_log_info_writes(service_logger_with_only_json):
    stream = service_logger_with_only_json()
    assert observability._default_json_logging()
    write_access_line(dict(FIELDS))
    observability.log.info("request", extra=dict(FIELDS))
    direct, through_logging = stream.getvalue().splitlines()
    assert direct == through_logging
    assert json.loads(direct)["event"] == "request" and json.loads(direct)["request_id"] == "req-7"


def test_another_handler_on_the_way_gets_the_line_through_the_logging_module(service_logger_with_only_json):
    """With a handler that is not the service's JSON one (a developer's, a test's), nothing is bypassed."""
    stream = service_logger_with_only_json()
    other = io.StringIO()
    handler = logging.StreamHandler(other)
    handler.setFormatter(logging.Formatter("%(filename)s %(message)s"))
    logging.getLogger("service").addHandler(handler)
    try:
        assert not observability._default_json_logging()
        write_access_line(dict(FIELDS))
    finally:
        logging.getLogger("service").removeHandler(handler)
    assert other.getvalue().strip() == "observability.py request"  # the caller lookup ran
    assert json.loads(stream.getvalue())["request_id"] == "req-7"


# The access line's own JSON writer and the timestamp's cache against what they replaced, on generated values.
KEYS = st.sampled_from(["ts", "level", "logger", "event", "pid", *observability.JsonFormatter.FIELDS])
VALUES = st.one_of(
    st.text(),  # quotes, backslashes, control characters, any Unicode: json's escaping must apply
    st.text(alphabet=st.characters(categories=["Cc", "Cs", "Co", "Zl", "Zp"])),  # lone surrogates too
    st.integers(),
    st.floats(),  # NaN and the infinities included: json writes them its own way
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None)
@given(st.lists(st.tuples(KEYS, VALUES), max_size=12, unique_by=lambda pair: pair[0]))
def test_json_object_writes_what_json_dumps_writes(pairs):
    assert observability.json_object(pairs) == json.dumps(dict(pairs))


def _timestamp_by_strftime(created: float) -> str:
    """How timestamp() wrote a time before it kept the last second's text."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int((created - int(created)) * 1000):03d}Z"


@pytest.mark.slow
@settings(max_examples=2000, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False), min_size=1, max_size=20))
def test_timestamp_keeps_the_last_second_without_changing_any_time(times):
    # Times in any order, repeats and neighbours in the same second among them, so the cache is hit and missed.
    for created in [*times, *(t + 0.0005 for t in times), *times[::-1]]:
        assert observability.timestamp(created) == _timestamp_by_strftime(created)


@pytest.mark.parametrize("created", [0.0, 0.9995, 1.0, 1_790_000_000.25, 1_790_000_000.999, 1_709_251_199.5])
def test_timestamp_at_second_edges(created):
    assert observability.timestamp(created) == _timestamp_by_strftime(created)
    assert observability.timestamp(created) == _timestamp_by_strftime(created)  # the second time from the cache


@settings(max_examples=500, deadline=None)
@given(
    st.text(),
    st.sampled_from(["POST", "GET", "other", 'q"uote']),
    st.text(),
    st.one_of(st.integers(100, 599), st.booleans()),
    st.one_of(st.floats(), st.integers(0, 10**6)),
    st.one_of(st.none(), st.integers(0, 500)),
)
def test_the_usual_access_line_is_the_line_json_object_writes(request_id, method, route, status, duration, items):
    fields = {
        "request_id": request_id,
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": duration,
        "items": items,
    }
    line = observability._usual_access_line(fields)
    if line is None:
        return
    record = json.loads(line)
    pairs = [("ts", record["ts"]), ("level", "INFO"), ("logger", "service.access"), ("event", "request")]
    pairs += [("pid", os.getpid()), *((k, v) for k, v in fields.items() if v is not None)]
    assert line == observability.json_object(pairs)
