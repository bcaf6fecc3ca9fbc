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

import contextlib
import errno
import fcntl
import logging
import mmap
import os
import struct
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


# Counters every process of one gunicorn shares without the metrics directory: an anonymous shared mapping
# made in the master before it forks (imported from gunicorn.conf.py's on_starting), so that a loss of counts
# is itself counted even when the directory is gone or full. Slot 0: workers that switched to in-memory
# counting (what they count after the switch is theirs alone and dies with them); slot 1: exited workers whose
# samples the master could not fold into the archive (left as files, or lost if unreadable).
_SHARED_FD = os.memfd_create("planner-metrics-state") if hasattr(os, "memfd_create") else -1
if _SHARED_FD >= 0:
    os.ftruncate(_SHARED_FD, 16)
_SHARED = mmap.mmap(_SHARED_FD, 16)
DEGRADED_WORKERS, UNARCHIVED_WORKERS = 0, 1


def _bump(slot: int) -> None:
    """Add one to a shared counter, under a POSIX record lock (per process: two workers degrading at the same
    instant each count)."""
    offset = slot * 8
    if _SHARED_FD >= 0:
        fcntl.lockf(_SHARED_FD, fcntl.LOCK_EX)
    try:
        (value,) = struct.unpack_from("q", _SHARED, offset)
        struct.pack_into("q", _SHARED, offset, value + 1)
    finally:
        if _SHARED_FD >= 0:
            fcntl.lockf(_SHARED_FD, fcntl.LOCK_UN)


def shared_count(slot: int) -> int:
    return int(struct.unpack_from("q", _SHARED, slot * 8)[0])


def directory_state(directory: str | Path | None = None) -> str:
    """The metrics directory as an operator needs to know it: ok, missing, read_only or full (under one
    sample file's worth of space), or "none" outside multiprocess mode."""
    raw = directory if directory is not None else os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not raw:
        return "none"
    path = Path(raw)
    try:
        if not path.is_dir():
            return "missing"
        if not os.access(path, os.W_OK):
            return "read_only"
        stats = os.statvfs(path)
        if stats.f_bavail * stats.f_frsize < mmap_dict._INITIAL_MMAP_SIZE:
            return "full"
    except OSError:
        return "missing"
    return "ok"


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
    _reported: str = field(default="ok", repr=False)  # the directory state last logged by state()

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
        _bump(DEGRADED_WORKERS)
        self.degraded = True
        values.ValueClass = values.MutexValue  # every metric made from now on in this process is in memory
        self.family = _build(CollectorRegistry())
        self._children.clear()

    def state(self) -> dict[str, str]:
        """For GET /readyz: the directory's state and how this worker counts; a directory that is not usable is
        logged (once per change of state in this worker)."""
        state = directory_state()
        if state not in ("ok", "none") and state != self._reported:
            log.warning("metrics directory not usable", extra={"reason": state})
        self._reported = state
        how = "in_memory" if self.degraded else "files" if self.family.registry is None else "in_process"
        return {"directory": state, "this_worker": how}

    def exposition(self) -> tuple[bytes, str]:
        """The text format of every metric, summed over all workers in multiprocess mode, then the state of the
        metrics themselves. Never empty and never an error because of the directory: a missing, read-only or
        full directory, or a sample file that cannot be read, is reported in the answer (and logged), with
        whatever could be read."""
        family = self.family
        if family.registry is not None and not self.degraded:
            return generate_latest(family.registry), CONTENT_TYPE_LATEST
        state = directory_state()
        try:
            shared, unreadable = _read_shared(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""))
        except Exception as error:  # noqa: BLE001  (whatever the files hold, the scrape is answered)
            log.error("metrics directory unreadable", extra={"error_type": type(error).__name__})
            shared, unreadable = b"", -1
        own = generate_latest(family.registry) if family.registry is not None else b""
        if state != "ok" or unreadable:
            log.warning("metrics directory not usable", extra={"reason": state, "refused": max(unreadable, 0)})
        return shared + own + _state_lines(state, unreadable, self.degraded), CONTENT_TYPE_LATEST


def _read_shared(directory: str) -> tuple[bytes, int]:
    """Every readable sample file in `directory`, merged (the workers' and the archive's counts), and how many
    files could not be read (a zero-length file left by a full volume made every scrape a 500)."""
    readable, unreadable = [], 0
    for path in sorted(Path(directory).glob("*.db")) if directory else ():
        try:
            mmap_dict.MmapedDict.read_all_values_from_file(str(path))
        except Exception:  # noqa: BLE001  (a truncated, empty or vanished file: skipped and counted)
            unreadable += 1
            continue
        readable.append(str(path))
    registry = CollectorRegistry()
    registry.register(_Merged(readable))
    return generate_latest(registry), unreadable


class _Merged:
    """A collector of the given sample files, as prometheus_client's multiprocess collector merges them."""

    def __init__(self, files: list[str]):
        self.files = files

    def collect(self) -> Any:
        return prometheus_multiprocess.MultiProcessCollector.merge(self.files, accumulate=True)


def _state_lines(state: str, unreadable: int, degraded: bool) -> bytes:
    lines = [
        "# HELP planner_metrics_directory_usable 1 when the metrics directory can be written; 0 when it is "
        "missing, read-only or full (the counts shown are then partial).",
        "# TYPE planner_metrics_directory_usable gauge",
        f'planner_metrics_directory_usable{{state="{state}"}} {1 if state in ("ok", "none") else 0}',
        "# HELP planner_metrics_unreadable_files Sample files in the directory that could not be read (-1: the "
        "directory itself could not be read).",
        "# TYPE planner_metrics_unreadable_files gauge",
        f"planner_metrics_unreadable_files {unreadable}",
        "# HELP planner_metrics_worker_in_memory 1 when the worker answering this scrape counts in memory (its "
        "counts since then are in this answer only).",
        "# TYPE planner_metrics_worker_in_memory gauge",
        f"planner_metrics_worker_in_memory {1 if degraded else 0}",
        "# HELP planner_metrics_degraded_workers_total Workers that switched to in-memory counting since the "
        "server started: what each counted after the switch is lost when it exits.",
        "# TYPE planner_metrics_degraded_workers_total counter",
        f"planner_metrics_degraded_workers_total {shared_count(DEGRADED_WORKERS)}",
        "# HELP planner_metrics_unarchived_workers_total Exited workers whose samples could not be folded into "
        "the archive (left as files, counted while readable).",
        "# TYPE planner_metrics_unarchived_workers_total counter",
        f"planner_metrics_unarchived_workers_total {shared_count(UNARCHIVED_WORKERS)}",
    ]
    return ("\n".join(lines) + "\n").encode()


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
                _bump(DEGRADED_WORKERS)
        return _shared
    if _shared is not None and _shared.degraded:
        return _shared
    return Metrics(_build(CollectorRegistry()))


def archive_dead(pid: int, directory: str | Path) -> None:
    """Fold an exited worker's counter and histogram samples into the archive files, then remove its files
    (called in the gunicorn master by child_exit). The totals /metrics reports stay the same, and worker
    churn (max_requests recycling, crashes) no longer adds files without end. A file that cannot be folded
    (a full volume) is left, and still read by every scrape; one that cannot even be read (left empty by a
    full volume) holds no counts and is removed. Either way it is counted (planner_metrics_unarchived_
    workers_total) and logged."""
    directory = Path(directory)
    if not directory.is_dir():  # the directory went, and the dead worker's samples with it
        _bump(UNARCHIVED_WORKERS)
        _log_unarchived(FileNotFoundError(errno.ENOENT, "no directory"), "an exited worker's metrics are lost")
        return
    with contextlib.suppress(OSError, ValueError, RuntimeError):  # live gauges (none today): nothing to lose
        prometheus_multiprocess.mark_process_dead(pid, str(directory))
    troubles = [trouble for kind in ("counter", "histogram") if (trouble := _archive_file(directory, kind, pid))]
    if troubles:
        _bump(UNARCHIVED_WORKERS)  # once per worker, whatever went wrong with its files
        for error, event in troubles:
            _log_unarchived(error, event)


def _archive_file(directory: Path, kind: str, pid: int) -> tuple[BaseException, str] | None:
    """Fold one sample file of an exited worker into the archive; what went wrong, if anything."""
    dead = directory / f"{kind}_{pid}.db"
    if not dead.exists():
        return None
    try:
        samples = mmap_dict.MmapedDict.read_all_values_from_file(str(dead))
    except (OSError, ValueError, RuntimeError, struct.error) as error:
        with contextlib.suppress(OSError):  # a read-only directory keeps it; scrapes skip and count it
            dead.unlink(missing_ok=True)
        return error, "an exited worker's metrics file is unreadable; removed"
    try:
        _fold(samples, directory / f"{kind}_{ARCHIVE_PID}.db")
        dead.unlink()
    except (OSError, ValueError, RuntimeError, struct.error) as error:
        return error, "could not archive an exited worker's metrics; its file is kept"
    return None


def _fold(samples: Any, archive_path: Path) -> None:
    archive = AllocatedMmapedDict(str(archive_path))
    try:
        for key, value, timestamp, _ in samples:
            current, _ = archive.read_value(key)
            archive.write_value(key, current + value, timestamp)
    finally:
        archive.close()


def _log_unarchived(error: BaseException, event: str) -> None:
    level = logging.WARNING if getattr(error, "errno", None) in (errno.ENOSPC, errno.EACCES) else logging.ERROR
    log.log(level, event, extra={"error_type": type(error).__name__})
