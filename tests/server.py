"""Start the real service under gunicorn on a free loopback port, for end-to-end and fault tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
# A worker boots in about a second here, and in 2-4 s on a loaded 2-core machine (CI is one): the listening
# socket exists from the start, so a readiness request waits in the accept queue until a worker takes it.
# The poll therefore waits long per request and in total, and never fails on a slow boot, only on no boot.
READY_DEADLINE_SECONDS = 120.0
READY_READ_TIMEOUT_SECONDS = 15.0


def wait_until_ready(server: Server, deadline_seconds: float = READY_DEADLINE_SECONDS) -> float:
    """Poll GET /readyz until it answers 200; the seconds it took. Raises with the log if gunicorn exits
    or the deadline passes. Polls back off from 50 ms to 1 s: no fixed sleep decides the outcome."""
    started = time.monotonic()
    deadline = started + deadline_seconds
    pause = 0.05
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{server.log()}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"gunicorn did not become ready in {deadline_seconds:.0f} s:\n{server.log()}")
        try:
            timeout = min(READY_READ_TIMEOUT_SECONDS, max(remaining, 0.5))
            if requests.get(f"{server.url}/readyz", timeout=(timeout, timeout)).status_code == 200:
                return time.monotonic() - started
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def gunicorn_command(port: int, app: str, extra_args: tuple[str, ...] = ()) -> list[str]:
    """gunicorn serving `app` with the project's config file, bound to 127.0.0.1 only (also run under valgrind by
    scripts/count_instructions.py)."""
    return [
        str(GUNICORN),
        "--config",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        *extra_args,
        app,
    ]


@contextlib.contextmanager
def gunicorn(
    tmp_path: Path,
    *,
    workers: int = 2,
    env: Mapping[str, str] | None = None,
    app: str = "service.app:create_app()",
    extra_args: tuple[str, ...] = (),
) -> Iterator[Server]:
    """gunicorn with the project's config file, bound to 127.0.0.1 only; stopped (and reaped) on exit."""
    port = free_port()
    log_path = tmp_path / f"gunicorn-{port}.log"
    full_env = {**os.environ, "PLANNER_WORKERS": str(workers), "PLANNER_LOG_LEVEL": "INFO", **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            gunicorn_command(port, app, extra_args),
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_until_ready(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
