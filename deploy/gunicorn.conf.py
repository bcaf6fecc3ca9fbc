"""gunicorn settings for the planner: `gunicorn -c deploy/gunicorn.conf.py 'service.app:create_app()'`.

Every knob is a PLANNER_* environment variable (service/settings.py lists them with their defaults).
The service is stateless and CPU-bound: it scales by adding processes here and replicas in the cluster.
"""

import math
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

# Prometheus multiprocess mode: every worker writes its samples under this directory and /metrics adds
# them up. It must be in the environment before anything imports prometheus_client, that is before the
# workers load the application, so it is settled here, in the master, first.
_owned_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _owned_metrics_dir = tempfile.mkdtemp(prefix="planner-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _owned_metrics_dir
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
METRICS_DIR.mkdir(parents=True, exist_ok=True)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project root, wherever gunicorn is started
from service.settings import load_settings  # noqa: E402  (after the environment above is settled)

_settings = load_settings()

# Requests gunicorn's HTTP parser refuses itself (malformed request line or headers, 414, 431) are answered in
# the service's problem+json shape with its security headers, not gunicorn's HTML page (service/serving.py).
import gunicorn.util  # noqa: E402

from service.serving import server_refusal  # noqa: E402

gunicorn.util.write_error = server_refusal


def usable_cpus() -> int:
    """CPUs this process may really use: its affinity mask, capped by a cgroup v2 CPU quota (a container's
    limit), so that a pod limited to 2 CPUs on a 64-core node does not start 65 workers."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


bind = _settings["BIND"]
# Planning is CPU work: one process per usable CPU, plus one so that a core never idles while a worker
# waits. Each worker is a gevent worker: every connection is a greenlet, so a client that sends its
# request slowly waits on its own socket while the worker answers the others (a sync worker is held by
# it until the timeout; three slow clients took the whole service down). The body is read in full within
# PLANNER_BODY_TIMEOUT before the application runs (service/serving.py), and headers must arrive within
# `keepalive` seconds, so slow clients are bounded in time as well as in number (slow-body slots).
# worker_connections (1,000) is large on purpose: a connection the worker has accepted can be answered, if
# need be with a fast 503 (service.serving.Admission); one it has not accepted waits in the kernel's backlog
# (2,048) with no answer at all, which is how 700 of 1,000 kept-alive clients waited 30 s at 100.
# docs/production.md ("Slow clients") has the measurements and why not a proxy.
workers = _settings["WORKERS"] or usable_cpus() + 1
worker_class = "gevent"
worker_connections = _settings["WORKER_CONNECTIONS"]
timeout = _settings["TIMEOUT"]
graceful_timeout = _settings["GRACEFUL_TIMEOUT"]
keepalive = 5
# Recycle workers: whatever a long-lived process accumulates (fragmented heap after a large batch) is
# given back. The jitter keeps the workers from restarting all at once.
max_requests = _settings["MAX_REQUESTS"]
max_requests_jitter = max(1, max_requests // 10) if max_requests else 0
# The heartbeat file on tmpfs: a read-only root filesystem leaves /dev/shm (or the /tmp volume) writable.
worker_tmp_dir = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
# No control socket: nothing to write under $HOME, nothing to reach the master by but signals.
control_socket_disable = True

# Logs: JSON lines on stderr. The application writes the access log (request id, method, route template,
# status, duration: never a body, a date or a vaccine); the logger class turns gunicorn's own lines into
# the same JSON and logs, in the same shape, the requests gunicorn refused before the application saw them.
accesslog = None
errorlog = "-"
loglevel = _settings["LOG_LEVEL"].lower()
logger_class = "service.gunicorn_logging.JsonLogger"


def on_starting(server):
    # The master's own lines from the service (metrics archiving) in the same JSON as everything else.
    from service.observability import configure_logging

    configure_logging(_settings["LOG_LEVEL"])
    # The metrics' shared counters (a loss of counts is counted even without the directory) are made here, in
    # the master, so that every worker forked from it shares them.
    import service.metrics  # noqa: F401

    # CDS Hooks tokens seen by any worker, in memory they all share (a replay to another worker is refused too).
    from service.security import share_replays

    share_replays()
    # Samples left by a previous run would be added to this one's.
    for stale in METRICS_DIR.glob("*.db"):
        stale.unlink()
    # The data is checked once here, before any worker starts: wrong data stops gunicorn with one line
    # naming the file and the field, and exit status 4 (each worker's create_app checks again, from the
    # copy this process forks to it).
    from service.data.loader import DataError, load_ruleset

    try:
        load_ruleset(_settings["DATA_DIR"])
    except DataError as error:
        server.log.error("Data check failed, not starting: %s", str(error))
        sys.exit(4)


# The signals with which the master stops a worker (gunicorn's own worker handlers for them: handle_exit and
# handle_quit).
_STOPPING = ("SIGTERM", "SIGINT", "SIGQUIT")


def post_fork(server, worker):
    # From fork until gunicorn installs the worker's signal handlers (init_signals, after gevent's patching) the
    # child still runs the master's handler, which only puts the signal on the master's queue: in the child
    # that is a copy nobody reads. A stop that began while a worker was being born was lost: the worker
    # booted and served on, and the master waited the whole graceful timeout (30 s) before killing it (seen in
    # CI, a stop just after a worker was recycled). Here the worker's own handlers take over, and a stop the
    # master's handler already queued in this copy is obeyed: the worker leaves before loading anything.
    import signal

    stopping = [getattr(signal, name) for name in _STOPPING]

    def stop(sig, frame):
        worker.alive = False  # init_process goes on to load the app, then run() sees this and returns at once

    for sig in stopping:  # first, so that nothing arriving from here on goes to the master's queue
        signal.signal(sig, stop)
    pending = []
    while not server.SIG_QUEUE.empty():
        pending.append(server.SIG_QUEUE.get_nowait())
    if any(sig in pending for sig in stopping):
        sys.exit(0)


def post_worker_init(worker):
    # The application is loaded by now (ruleset, catalog, schemas, the API document: about 90,000 objects that
    # live as long as the worker). A full collection walked all of them: 110-120 ms during which every
    # connection of the worker waited (measured with gc.callbacks under wrk -c32: once per worker per ten
    # seconds, the whole p99). Frozen, the collector leaves them alone and walks only what requests allocate.
    import gc

    gc.freeze()
    # On SIGTERM a worker finishes its requests in flight, then would still hold each kept-alive connection
    # open for up to `keepalive` seconds before exiting (a batch client's connection added 5 s to a stop).
    # Keep-alive is turned off from the signal on, so each connection closes after its last answer.
    import signal

    def stop(sig, frame):
        worker.cfg.set("keepalive", 0)
        worker.handle_exit(sig, frame)

    signal.signal(signal.SIGTERM, stop)


def worker_exit(server, worker):
    # Back to the collector before the interpreter shuts down: frozen objects are skipped by its last
    # collection and torn down after the modules they need (each exit printed two "Exception ignored"
    # tracebacks from logging's handler clean-up, outside the JSON log).
    import gc

    gc.unfreeze()


# How long a greenlet steps aside after each answer (see post_request). Any positive value works the same: the
# point is a timer, which is due only after the event loop has polled the sockets.
TAKE_TURNS_SECONDS = 1e-6
# How post_request steps aside in this worker (gevent.sleep, or nothing outside gevent), decided at its first
# answer: the worker's class does not change, so gunicorn's config is not asked again after every answer.
_step_aside: Any = None


def _no_step(seconds: float) -> None:
    pass


def post_request(worker, req, environ, resp):
    # Fairness between kept-alive connections in one gevent worker. A greenlet that has just answered goes
    # straight on to read its connection's next request; when that request is already in the socket buffer
    # (a busy client sends it the moment the answer arrives), the read does not wait and the greenlet never
    # gives the worker up: one connection is served again and again while the others' requests sit unread.
    # Measured with wrk -t2 -c32: p99 over a second and wrk timeouts, for the service and a bare Flask app
    # alike. A timer puts this greenlet back behind every connection that has a request waiting (gevent's
    # sleep(0) would not: it resumes before the loop polls for I/O; idle() waits for a loop with nothing
    # else to do, which under load cost a third of the throughput). docs/production.md ("Taking turns").
    global _step_aside
    if _step_aside is None:
        if worker.cfg.worker_class_str == "gevent":
            import gevent

            _step_aside = gevent.sleep
        else:
            _step_aside = _no_step
    _step_aside(TAKE_TURNS_SECONDS)


def child_exit(server, worker):
    # The exited worker's samples go into the archive files and its own files are removed: /metrics keeps
    # its counts, and worker churn (max_requests) does not fill the metrics volume.
    from service.metrics import archive_dead

    archive_dead(worker.pid, METRICS_DIR)


def on_exit(server):
    if _owned_metrics_dir:
        shutil.rmtree(_owned_metrics_dir, ignore_errors=True)
