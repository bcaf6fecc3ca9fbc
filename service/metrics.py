"""Prometheus metrics: request counts and latency by route template and status, correct across workers.

Under gunicorn, deploy/gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before anything imports
prometheus_client, so every worker writes its samples to files there and GET /metrics adds them up
(prometheus_client's multiprocess mode): whichever worker answers the scrape, it reports all of them.
Without it (the Flask test client, `flask run`) each app counts in a registry of its own.

The metrics never cost an answer. A metrics directory that is full or unwritable (a tmpfs volume filled
by worker churn, a permission change) degrades this worker's metrics to an in-process registry, logged
once; requests are answered as before. The sample files are grown with posix_fallocate before they are
mapped, so a full volume is an error to catch, not a SIGBUS that kills the worker (it crash-looped the
workers before). A dead worker's samples are folded into an archive file by the master (`archive_dead`,
from gunicorn's child_exit) and its files removed, so churn does not fill the volume.

Labels are bounded by construction: the route is the URL rule template (`/v1/vaccines/<vaccine_id>`),
never the raw path, and an unusual method is counted as `other`.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    mmap_dict,
    values,
)
from prometheus_client import multiprocess as prometheus_multiprocess

log = logging.getLogger("service.metrics")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Planning takes milliseconds; a large batch takes seconds. Buckets cover both ends.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED = "(unmatched)"  # 404/405: no URL rule matched, so no template to name
SERVER = "(server)"  # answered by gunicorn itself: the application did not log it
ARCHIVE_PID = "archive"  # counter_archive.db, histogram_archive.db: the samples of workers that have exited


class AllocatedMmapedDict(mmap_dict.MmapedDict):
    """prometheus_client's sample file, with its pages allocated (posix_fallocate) before they are mapped.

    The library extends the file with truncate(), which on a full tmpfs succeeds and leaves a hole; the
    first write into the hole through the mapping is a SIGBUS that kills the process. Allocating first
    turns a full volume into an OSError (ENOSPC) here, which the caller can handle.
    """

    def __init__(self, filename: str, read_mode: bool = False):
        if not read_mode:
            fd = os.open(filename, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if os.fstat(fd).st_size == 0:
                    os.posix_fallocate(fd, 0, mmap_dict._INITIAL_MMAP_SIZE)
            finally:
                os.close(fd)
        super().__init__(filename, read_mode)

    def _init_value(self, key: str) -> None:
        needed = self._used + len(key.encode("utf-8")) + 32  # an entry: length, key, padding, two doubles
        capacity = self._capacity
        while needed > capacity:
            capacity *= 2
        if capacity != self._capacity:
            os.posix_fallocate(self._f.fileno(), 0, capacity)
        super()._init_value(key)


# Every sample file the multiprocess value class opens from now on is allocated before it is mapped.
values.MmapedDict = AllocatedMmapedDict  # type: ignore[attr-defined]


def multiprocess_mode() -> bool:
    """Whether prometheus_client chose multiprocess mode (decided when it was first imported)."""
    return values.ValueClass is not values.MutexValue and bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


@dataclass(frozen=True)
class _Family:
    requests: Counter
    latency: Histogram
    batch_items: Counter
    rejected: Counter
    shed: Counter
    registry: CollectorRegistry | None  # None in multiprocess mode: the scrape reads the workers' files


def _build(registry: CollectorRegistry | None) -> _Family:
    labels = ("method", "route", "status")
    return _Family(
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
        shed=Counter(
            "planner_http_shed_requests",
            "Requests refused 503 before any work because the worker was at capacity, by reason: queue (its "
            "event loop behind), in_flight (too many requests in progress), slow_bodies (slow-body slots taken).",
            ("reason",),
            registry=registry,
        ),
        registry=registry,
    )


@dataclass
class Metrics:
    """The metrics one app records to. Every update goes through a method that cannot fail a request."""

    family: _Family
    degraded: bool = False
    # The labelled children by (method, route, status): labels() validates and locks on every call.
    _children: dict[tuple[str, str, int], tuple[Any, Any]] = field(default_factory=dict, repr=False)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method if method in METHODS else "other", route, status)
        try:
            children = self._children.get(key)
            if children is None:
                labels = (key[0], route, str(status))
                family = self.family
                children = self._children.setdefault(
                    key, (family.requests.labels(*labels), family.latency.labels(*labels))
                )
            children[0].inc()
            children[1].observe(seconds)
        except (OSError, ValueError, RuntimeError) as error:
            self.degrade(error)

    def count_batch_item(self, status: int) -> None:
        try:
            self.family.batch_items.labels(str(status)).inc()
        except (OSError, ValueError, RuntimeError) as error:
            self.degrade(error)

    def count_shed(self, reason: str) -> None:
        try:
            self.family.shed.labels(reason).inc()
        except (OSError, ValueError, RuntimeError) as error:
            self.degrade(error)

    def count_rejected(self) -> None:
        try:
            self.family.rejected.inc()
        except (OSError, ValueError, RuntimeError) as error:
            self.degrade(error)

    def degrade(self, error: BaseException) -> None:
        """Stop writing sample files in this process: count in memory from here on (this worker's /metrics
        then reports the shared files it can read plus nothing of its own). Logged once, never raised."""
        if self.degraded:
            return
        _log_degraded(error)
        self.degraded = True
        values.ValueClass = values.MutexValue  # every metric made from now on in this process is in memory
        self.family = _build(CollectorRegistry())
        self._children.clear()

    def exposition(self) -> tuple[bytes, str]:
        """The text format of every metric, summed over all workers in multiprocess mode."""
        family = self.family
        if family.registry is not None and not self.degraded:
            return generate_latest(family.registry), CONTENT_TYPE_LATEST
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            try:
                registry = CollectorRegistry()
                prometheus_multiprocess.MultiProcessCollector(registry)
                shared = generate_latest(registry)
            except (OSError, ValueError, RuntimeError) as error:
                log.error("metrics directory unreadable", extra={"error_type": type(error).__name__})
                shared = b""
            if family.registry is None:
                return shared, CONTENT_TYPE_LATEST
            # Degraded: the other workers' samples, and a note that this worker's own are not among them.
            return shared + b"# planner: this worker's metrics are degraded (metrics directory unusable)\n", (
                CONTENT_TYPE_LATEST
            )
        return generate_latest(family.registry), CONTENT_TYPE_LATEST  # type: ignore[arg-type]


_shared: Metrics | None = None


def _log_degraded(error: BaseException) -> None:
    log.error(
        "metrics directory unusable; this worker counts in memory from now on",
        extra={"error_type": type(error).__name__},
    )


def create_metrics() -> Metrics:
    """The metrics an app records to. In multiprocess mode one set per process (samples live in files, and
    two objects with one name would overwrite each other's); otherwise a fresh registry per app. A metrics
    directory that cannot be written gives a degraded set (in memory), never an error."""
    global _shared
    disable_created_metrics()  # *_created series: noise for counters that live as long as the process
    if multiprocess_mode():
        if _shared is None:
            try:
                _shared = Metrics(_build(None))
            except (OSError, ValueError, RuntimeError) as error:
                values.ValueClass = values.MutexValue  # before building anything else: in memory only
                _shared = Metrics(_build(CollectorRegistry()))
                _shared.degraded = True
                _log_degraded(error)
        return _shared
    if _shared is not None and _shared.degraded:
        return _shared
    return Metrics(_build(CollectorRegistry()))


def archive_dead(pid: int, directory: str | Path) -> None:
    """Fold an exited worker's counter and histogram samples into the archive files, then remove its files
    (called in the gunicorn master by child_exit). The totals /metrics reports stay the same, and worker
    churn (max_requests recycling, crashes) no longer adds files without end. Failures are logged; the
    files are then left for the next start to clear."""
    directory = Path(directory)
    try:
        prometheus_multiprocess.mark_process_dead(pid, str(directory))  # live gauges (none today)
        for kind in ("counter", "histogram"):
            dead = directory / f"{kind}_{pid}.db"
            if not dead.exists():
                continue
            archive = AllocatedMmapedDict(str(directory / f"{kind}_{ARCHIVE_PID}.db"))
            try:
                for key, value, timestamp, _ in mmap_dict.MmapedDict.read_all_values_from_file(str(dead)):
                    current, _ = archive.read_value(key)
                    archive.write_value(key, current + value, timestamp)
            finally:
                archive.close()
            dead.unlink()
    except (OSError, ValueError, RuntimeError) as error:
        level = logging.WARNING if getattr(error, "errno", None) in (errno.ENOSPC, errno.EACCES) else logging.ERROR
        log.log(level, "could not archive an exited worker's metrics", extra={"error_type": type(error).__name__})
