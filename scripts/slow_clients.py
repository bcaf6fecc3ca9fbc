"""Slow clients against the production server setup: how many requests still get through.

    python -m scripts.slow_clients [--worker-class gevent|sync] [--workers 2] [--slow 20] [--seconds 8]

Starts gunicorn with deploy/gunicorn.conf.py on a loopback port (the worker class can be overridden to
compare), opens `--slow` connections that each send a request body one byte every 0.5 s, then for
`--seconds` sends normal requests (POST /v1/plans and GET /healthz in turn, 5 s timeout each) and prints
how many were answered and how fast. Loopback only, bounded in connections and time. docs/production.md
("Slow clients") has the figures it printed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from scripts.workloads import typical_request

ROOT = Path(__file__).resolve().parents[1]


def trickle(address: tuple[str, int], stop: threading.Event) -> None:
    with socket.create_connection(address, timeout=60) as sock:
        sock.sendall(
            b"POST /v1/plans HTTP/1.1\r\nHost: planner\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
        while not stop.wait(0.5):
            try:
                sock.sendall(b" ")
            except OSError:
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker-class", default="gevent")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PLANNER_WORKERS": str(args.workers), "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp()}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "-c", "deploy/gunicorn.conf.py", "--worker-class", args.worker_class]
    command += ["--bind", f"127.0.0.1:{port}", "service.app:create_app()"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/readyz", timeout=15).status_code == 200:
                    break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        for _ in range(args.slow):
            threading.Thread(target=trickle, args=(("127.0.0.1", port), stop), daemon=True).start()
        time.sleep(1.0)  # every slow connection open and trickling
        body = json.dumps(typical_request()).encode()
        latencies, failed = [], 0
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                if len(latencies) % 2:
                    r = requests.get(f"{url}/healthz", timeout=5)
                else:
                    r = requests.post(
                        f"{url}/v1/plans", data=body, headers={"Content-Type": "application/json"}, timeout=5
                    )
                failed += r.status_code != 200
            except requests.RequestException:
                failed += 1
            latencies.append(time.monotonic() - started)
        latencies.sort()
        print(
            f"{args.worker_class} x{args.workers}, {args.slow} slow connections: {len(latencies)} requests in "
            f"{args.seconds:g} s, {failed} failed, p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
            f"max {latencies[-1] * 1000:.1f} ms"
        )
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
