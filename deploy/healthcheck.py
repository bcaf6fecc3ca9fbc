"""The container's HEALTHCHECK: exit 0 when GET /healthz on this container answers 200 within 2 seconds.

Reads the port from PLANNER_BIND as gunicorn does, so changing the port does not break the check. Uses
only the standard library (the slim image has no curl).
"""

import os
import sys
import urllib.request

port = os.environ.get("PLANNER_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
