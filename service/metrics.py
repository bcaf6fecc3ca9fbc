"""Prometheus metrics: request counts and latency by route template and status, correct across workers.

Under gunicorn, deploy/gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before anything imports
prometheus_client, so every worker writes its samples to files there and GET /metrics adds them up
(prometheus_client's multiprocess mode): whichever worker answers the scrape, it reports all of them.
Without it (the Flask test client, `flask run`) each app counts in a registry of its own.

Labels are bounded by construction: the route is the URL rule template (`/v1/vaccines/<vaccine_id>`),
never the raw path, and an unusual method is counted as `other`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client import multiprocess as prometheus_multiprocess

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Planning takes milliseconds; a large batch takes seconds. Buckets cover both ends.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED = "(unmatched)"  # 404/405: no URL rule matched, so no template to name
SERVER = "(server)"  # answered by gunicorn itself: the application did not log it


def multiprocess_mode() -> bool:
    """Whether prometheus_client chose multiprocess mode (decided when it was first imported)."""
    return values.ValueClass is not values.MutexValue and bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


@dataclass(frozen=True)
class Metrics:
    requests: Counter
    latency: Histogram
    batch_items: Counter
    rejected: Counter
    registry: CollectorRegistry | None  # None in multiprocess mode: the scrape reads the workers' files
    # The labelled children by (method, route, status): labels() validates and locks on every call.
    _children: dict[tuple[str, str, int], tuple[Any, Any]] = field(default_factory=dict, repr=False)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method if method in METHODS else "other", route, status)
        children = self._children.get(key)
        if children is None:
            labels = (key[0], route, str(status))
            children = self._children.setdefault(key, (self.requests.labels(*labels), self.latency.labels(*labels)))
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        """The text format of every metric, summed over all workers in multiprocess mode."""
        if self.registry is None:
            registry = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _build(registry: CollectorRegistry | None) -> Metrics:
    labels = ("method", "route", "status")
    return Metrics(
        requests=Counter(
            "planner_http_requests",
            "HTTP requests answered, by method, route template and status.",
            labels,
            registry=registry,
        ),
        latency=Histogram(
            "planner_http_request_duration_seconds",
            "Time from the request reaching the application to its response, by method, route and status.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        batch_items=Counter(
            "planner_batch_items",
            "Plan requests inside POST /v1/plans/batch, by item status.",
            ("status",),
            registry=registry,
        ),
        rejected=Counter(
            "planner_http_rejected_requests",
            "Requests gunicorn's HTTP parser refused before the "
            "application saw them (malformed request line or headers, oversized headers).",
            registry=registry,
        ),
        registry=registry,
    )


_shared: Metrics | None = None


def create_metrics() -> Metrics:
    """The metrics an app records to. In multiprocess mode one set per process (samples live in files, and
    two objects with one name would overwrite each other's); otherwise a fresh registry per app."""
    global _shared
    disable_created_metrics()  # *_created series: noise for counters that live as long as the process
    if multiprocess_mode():
        if _shared is None:
            _shared = _build(None)
        return _shared
    return _build(CollectorRegistry())
