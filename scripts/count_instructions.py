"""CPU instructions per typical request, by part, counted by valgrind's callgrind: figures a busy machine does
not move (docs/production.md, "Measured figures").

    python -m scripts.count_instructions            # every in-process part, about two minutes
    python -m scripts.count_instructions make_plan  # one part
    python -m scripts.count_instructions served served-minimal  # under gunicorn, about five minutes

Timings on this 2-core machine moved by a third from one minute to the next; an instruction count of the
same code is the same on every run, so a change to one part can be judged alone. Each part runs 50 times to
warm up, then 100 times counted (callgrind_control switches counting on and off around them), in a child
process under valgrind. Instructions are not time: a part that misses the CPU's caches costs more per
instruction, so `make bench` stays the measure of speed.

Parts: the whole POST /v1/plans and GET /healthz through the WSGI app (no server; "logged": the POST with its
access line written, as production logs every request, the other parts without it), the minimal app's POST
(the bench's yardstick), and the planning path's own steps in the order a request takes them.

The served parts ("served", "served-minimal", named on the command line only) count the whole POST in a
gunicorn gevent worker started by deploy/gunicorn.conf.py: its HTTP parser, gevent's loop, the JSON access
line, the metrics files, as the bench runs them. User space only (valgrind does not see the kernel): the
count a busy machine cannot move, beside `make bench`'s timings. The worker counts from its fork, so two
runs that differ only in their number of requests give the per-request count as the difference.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parents[1]
WARM_UP, COUNTED = 50, 100
PARTS = ("request", "logged", "healthz", "minimal", "load", "to_request", "make_plan", "present", "encode")
SERVED = {"served": "service.app:create_app()", "served-minimal": "scripts.bench_minimal_app:create_app()"}
# Requests over the warm-up in the two served runs, over this many keep-alive connections (as wrk's are).
SERVED_FEW, SERVED_MANY, SERVED_CONNECTIONS = 100, 500, 4
SERVED_READY_SECONDS = 600  # gunicorn and the app start some fifty times slower under valgrind


def wsgi_call(app: Any, method: str, path: str, body: bytes) -> Callable[[], None]:
    # The environ is built once by werkzeug; each call gets a fresh copy and a fresh body stream, so the count
    # is the application's alone.
    base = EnvironBuilder(path=path, method=method, data=body, content_type="application/json").get_environ()

    def call() -> None:
        answer = app({**base, "wsgi.input": io.BytesIO(body)}, lambda status, headers, exc_info=None: None)
        for _ in answer:
            pass
        answer.close()

    return call


def part(name: str) -> Callable[[], Any]:
    """The call whose instructions are counted (built outside the counted runs)."""
    from scripts.bench_minimal_app import create_app as minimal_app
    from scripts.workloads import typical_request
    from service import planning
    from service.app import create_app
    from service.domain.planner import make_plan

    raw = typical_request()
    body = json.dumps(raw).encode()
    if name == "minimal":
        return wsgi_call(minimal_app(), "POST", "/v1/plans", body)
    app = create_app()
    if name in ("request", "logged"):
        return wsgi_call(app, "POST", "/v1/plans", body)
    if name == "healthz":
        return wsgi_call(app, "GET", "/healthz", b"")
    planner = app.extensions["planner"]
    loaded = planner.load(raw)
    request = planning.to_request(loaded, planner.today())
    ruleset = planner.ruleset
    plan = make_plan(request, ruleset.therapies, ruleset.catalog, ruleset.vaccine_rules)
    answer = planning.present(plan)
    return {
        "load": lambda: planner.load(raw),
        "to_request": lambda: planning.to_request(loaded, planner.today()),
        "make_plan": lambda: make_plan(request, ruleset.therapies, ruleset.catalog, ruleset.vaccine_rules),
        "present": lambda: planning.present(plan),
        "encode": lambda: planning.encode(answer),
    }[name]


def run_counted(name: str) -> None:
    """In the child, under valgrind: warm up, then count COUNTED calls."""
    import logging

    call = part(name)
    service_log = logging.getLogger("service")
    if name == "logged":
        # As in production: every request writes its access line (here to /dev/null, not the terminal).
        service_log.setLevel("INFO")
        for handler in service_log.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(open(os.devnull, "w"))  # noqa: SIM115  (open for the child's whole life)
    else:
        service_log.setLevel("WARNING")  # the other parts: no access lines in the count or on the terminal
    for _ in range(WARM_UP):
        call()
    control = shutil.which("callgrind_control") or "callgrind_control"
    subprocess.run([control, "--instr=on", str(os.getpid())], check=True, capture_output=True)
    for _ in range(COUNTED):
        call()
    subprocess.run([control, "--instr=off", str(os.getpid())], check=True, capture_output=True)


def count(name: str) -> int:
    """Instructions per call of one part."""
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "scripts.count_instructions",
                "--counted",
                name,
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        return _total(out) // COUNTED


def served_total(app: str, requests: int) -> int:
    """Instructions the gunicorn worker ran, from its fork to its exit, answering a warm-up and `requests`
    typical POSTs."""
    import http.client
    import signal
    import threading
    import time

    from scripts.workloads import typical_request
    from tests.server import free_port, gunicorn_command

    body = json.dumps(typical_request()).encode()
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "PLANNER_WORKERS": "1", "PLANNER_LOG_LEVEL": "INFO", "PYTHONHASHSEED": "0"}
        env["PLANNER_TIMEOUT"] = str(SERVED_READY_SECONDS)  # a worker this slow is not a stuck one
        process = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={work}/callgrind.%p",
                *gunicorn_command(port, app),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # the access lines: not counted differently, not wanted on the terminal
        )
        try:
            deadline = time.monotonic() + SERVED_READY_SECONDS
            while True:
                try:
                    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    probe.request("GET", "/readyz")
                    if probe.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"{app} did not start under valgrind")
                time.sleep(0.5)

            def client(count: int) -> None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=SERVED_READY_SECONDS)
                for _ in range(count):
                    connection.request("POST", "/v1/plans", body=body, headers={"Content-Type": "application/json"})
                    answer = connection.getresponse()
                    answer.read()
                    if answer.status != 200:
                        raise SystemExit(f"{app} answered {answer.status}")

            for count in (WARM_UP * 2, requests):
                threads = [
                    threading.Thread(target=client, args=(count // SERVED_CONNECTIONS,))
                    for _ in range(SERVED_CONNECTIONS)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=SERVED_READY_SECONDS)
        # callgrind.<pid> for the master and the worker; the worker's is the one that is not the master's.
        worker = [f for f in Path(work).glob("callgrind.*") if f.name != f"callgrind.{process.pid}"]
        if len(worker) != 1:
            raise SystemExit(f"expected one worker's count, found {len(worker)}")
        return _total(worker[0])


def count_served(name: str) -> int:
    """Instructions per typical POST in a gunicorn worker: the difference of two runs over their requests."""
    few, many = (served_total(SERVED[name], n) for n in (SERVED_FEW, SERVED_MANY))
    return (many - few) // (SERVED_MANY - SERVED_FEW)


def _total(out: Path) -> int:
    totals = [line for line in out.read_text().splitlines() if line.startswith(("totals:", "summary:"))]
    return max(int(line.split()[1]) for line in totals)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--counted":
        run_counted(sys.argv[2])
        return
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed: it counts the instructions (apt-get install valgrind)")
    names = sys.argv[1:] or list(PARTS)
    unknown = set(names) - set(PARTS) - set(SERVED)
    if unknown:
        sys.exit(f"unknown part(s) {sorted(unknown)}; parts: {', '.join([*PARTS, *SERVED])}")
    import service

    print(f"instructions per call, {COUNTED} calls counted after {WARM_UP}; rules core compiled: {service.NATIVE}")
    for name in names:
        figure = count_served(name) if name in SERVED else count(name)
        print(f"  {name:<14} {figure:>12,}", flush=True)


if __name__ == "__main__":
    main()
