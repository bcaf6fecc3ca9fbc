"""The per-part profile of one typical POST /v1/plans in-process, and the live-vaccine corner, for
docs/production.md: best of several rounds each, through Flask's test client (no server).

    python -m scripts.profile_request [label]

The "before" column was measured by copying this script (with scripts.workloads.live_request) into the older tree.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from scripts.bench_minimal_app import create_app as minimal_app
from scripts.workloads import live_request, typical_request
from service import planning
from service.app import create_app
from service.domain.planner import make_plan


def best_microseconds(call: Callable[[], Any], calls: int = 200, rounds: int = 15) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1e6


# Between requests under load the other worker and wrk run on the same two CPUs, so a request's code and data
# are rarely still in the CPU's caches. A pass over more than any cache holds, between calls, shows that cost.
_FLUSH = bytearray(8 * 1024 * 1024)


def cold_microseconds(call: Callable[[], Any], calls: int = 200) -> float:
    """The median of `calls` calls, each after writing one byte in every 64 of 8 MB (the caches flushed)."""
    times = []
    for _ in range(calls):
        _FLUSH[::64] = bytes(len(_FLUSH) // 64)
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return sorted(times)[calls // 2] * 1e6


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else ""
    app = create_app()
    logging.getLogger("service").setLevel("WARNING")  # no access lines on the terminal
    planner = app.extensions["planner"]
    raw = typical_request()
    body = json.dumps(raw)
    client, minimal = app.test_client(), minimal_app().test_client()
    rows: dict[str, float] = {}
    with app.test_request_context():
        request = planning.to_request(planner.load(raw), planner.today())
        ruleset = planner.ruleset

        def plan() -> Any:
            return make_plan(request, ruleset.therapies, ruleset.catalog, ruleset.vaccine_rules)

        answer = planning.present(plan())
        rows["load (Planner.load)"] = best_microseconds(lambda: planner.load(raw))
        rows["marshmallow load alone"] = best_microseconds(lambda: planning.REQUEST_SCHEMA.load(raw))
        rows["make_plan"] = best_microseconds(plan)
        rows["make_plan, caches flushed (median)"] = cold_microseconds(plan)
        planned = plan()
        rows["present"] = best_microseconds(lambda: planning.present(planned))
        rows["encode"] = best_microseconds(lambda: planning.encode(answer))
        for count in (5, 10, 25, 50):
            live = live_request(count)
            rows[f"{count} live vaccines (plan_json)"] = best_microseconds(
                lambda live=live: planner.plan_json(live), 5, 25
            )
    post = {"data": body, "content_type": "application/json"}
    rows["whole request (test client)"] = best_microseconds(lambda: client.post("/v1/plans", **post), 100)
    rows["GET /healthz (test client)"] = best_microseconds(lambda: client.get("/healthz"), 100)
    rows["minimal app request (test client)"] = best_microseconds(lambda: minimal.post("/v1/plans", **post), 100)
    for name, micros in rows.items():
        print(f"{label:<8}{name:<36}{micros:10.0f} µs")


if __name__ == "__main__":
    main()
