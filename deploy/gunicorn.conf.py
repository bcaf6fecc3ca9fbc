"""gunicorn settings for the planner: `gunicorn -c deploy/gunicorn.conf.py 'service.app:create_app()'`."""

import multiprocessing
import os

bind = os.environ.get("PLANNER_BIND", "0.0.0.0:8000")
# CPU-bound planning with no I/O waits: one process per core, plus one so a slow request never idles a core.
workers = int(os.environ.get("PLANNER_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("PLANNER_THREADS", "1"))
timeout = int(os.environ.get("PLANNER_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("PLANNER_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# The service logs its own access lines (JSON, no patient data); gunicorn's would print query strings.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("PLANNER_LOG_LEVEL", "info").lower()
