"""CPU instructions per typical request, by part, counted by valgrind's callgrind: figures a busy machine does
not move (docs/production.md, "Issue 14, third pass").

    python -m scripts.count_instructions            # every part, about two minutes
    python -m scripts.count_instructions make_plan  # one part

Timings on this 2-core machine moved by a third from one minute to the next; an instruction count of the
same code is the same on every run, so a change to one part can be judged alone. Each part runs 50 times to
warm up, then 100 times counted (callgrind_control switches counting on and off around them), in a child
process under valgrind. Instructions are not time: a part that misses the CPU's caches costs more per
instruction, so `make bench` stays the measure of speed.

Parts: the whole POST /v1/plans and GET /healthz through the WSGI app (no server; "logged": the POST with its
access line written, as production logs every request, the other parts without it), the minimal app's POST
(the bench's yardstick), and the planning path's own steps in the order a request takes them.
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
        totals = [line for line in out.read_text().splitlines() if line.startswith(("totals:", "summary:"))]
        return max(int(line.split()[1]) for line in totals) // COUNTED


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--counted":
        run_counted(sys.argv[2])
        return
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed: it counts the instructions (apt-get install valgrind)")
    names = sys.argv[1:] or list(PARTS)
    unknown = set(names) - set(PARTS)
    if unknown:
        sys.exit(f"unknown part(s) {sorted(unknown)}; parts: {', '.join(PARTS)}")
    import service

    print(f"instructions per call, {COUNTED} calls counted after {WARM_UP}; rules core compiled: {service.NATIVE}")
    for name in names:
        print(f"  {name:<12} {count(name):>12,}", flush=True)


if __name__ == "__main__":
    main()
