"""How the planner's work grows with the request: flat in the dose history, at most linear in vaccines, the
horizon and the live history. Counted, not timed: the Python lines the rules execute plus the C functions
they call (sys.settrace and sys.setprofile), the same on every run however busy the machine is. Timings are
`make bench`'s business (tests/test_bench_planner.py).

The interpreter's hooks see nothing inside compiled code, so when the rules core runs compiled (`make
native`) the count is taken in a pure-Python copy of the service, in a child process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import service
from scripts.workloads import history_request, live_request, plan_request

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 24)


def work_of(make: Callable[[], Any]) -> int:
    """Lines of Python executed plus C functions called while `make()` runs (its first call, a warm-up that
    fills the per-ruleset caches, is not counted)."""
    make()
    count = 0

    def on_line(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return on_line

    def on_call(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "c_call":
            count += 1

    sys.settrace(lambda frame, event, arg: on_line)
    sys.setprofile(on_call)
    try:
        make()
    finally:
        sys.settrace(None)
        sys.setprofile(None)
    return count


def planning_work(bodies: list[dict[str, Any]]) -> list[int]:
    """The work make_plan does for each body, already validated and converted (what the growth claims are about)."""
    from service.app import create_app
    from service.domain.intake import to_request
    from service.domain.planner import make_plan

    planner = create_app({"TODAY": AS_OF, "LOG_LEVEL": "WARNING"}).extensions["planner"]
    ruleset = planner.ruleset
    counts = []
    for body in bodies:
        request = to_request(planner.load(body), AS_OF)
        counts.append(
            work_of(lambda r=request: make_plan(r, ruleset.therapies, ruleset.catalog, ruleset.vaccine_rules))
        )
    return counts


COUNT_IN_PURE_COPY = """
import json, sys
import service
assert service.NATIVE is False, "the copy must run the pure Python"
from tests.test_growth import planning_work
print(json.dumps(planning_work(json.loads(sys.stdin.read()))))
"""


def counted(bodies: list[dict[str, Any]], tmp_path: Path) -> list[int]:
    if not service.NATIVE:
        return planning_work(bodies)
    copy = tmp_path / "pure"
    shutil.copytree(ROOT / "service", copy / "service", ignore=shutil.ignore_patterns("*.so", "_native.json"))
    out = subprocess.run(
        [sys.executable, "-c", COUNT_IN_PURE_COPY],
        input=json.dumps(bodies),
        capture_output=True,
        text=True,
        # From the copy: `python -c` puts its working directory first on sys.path, before PYTHONPATH, so run
        # from the project it would import the compiled service there (the tests package comes from ROOT).
        cwd=copy,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{copy}:{ROOT}", "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=300,
        check=True,
    )
    return list(json.loads(out.stdout))


# Each dimension from the typical request: the sizes compared, and the most the larger may cost relative to
# the smaller. Counted (pure Python): 400 doses do 2.8 times the work of 15 (each dose of the history is read
# once to find the maintenance calendar; pairs that end before as_of are skipped); 50 vaccines 6.5 times 5;
# 1,095 days 1.8 times 60; 50 live vaccines 10.8 times 5 (each is spaced from the live ones proposed before it,
# repeats of an event kept once, so the cost follows the vaccines, not their pairs); 200 live immunizations
# with 50 vaccines 5.8 times 40 with 10 (the history is read once per kind of conflict; their product would be
# 25 times). The bounds leave room for new rules yet sit far below quadratic growth (711x for the doses, 100x
# for ten times the vaccines, 333x for the horizon, 25x for the history with the vaccines).
GROWTH = [
    ("doses of history", lambda n: plan_request(n, 5, 365), 15, 400, 5.0),
    ("vaccines", lambda n: plan_request(15, n, 365), 5, 50, 2 * 50 / 5),
    ("horizon days", lambda n: plan_request(15, 5, n), 60, 1095, 2 * 1095 / 60),
    ("live vaccines before a planned start", live_request, 5, 50, 2 * 50 / 5),
    ("immunizations and live vaccines together", history_request, 40, 200, 2 * 200 / 40),
]


@pytest.mark.parametrize(("dimension", "request_of", "small", "large", "bound"), GROWTH, ids=[g[0] for g in GROWTH])
def test_planning_work_grows_no_faster_than_claimed(tmp_path, dimension, request_of, small, large, bound):
    small_work, large_work = counted([request_of(small), request_of(large)], tmp_path)
    assert small_work > 1000, f"{dimension}: only {small_work} steps counted: is the planner being traced?"
    ratio = large_work / small_work
    assert ratio < bound, f"{dimension}: {large} cost {ratio:.1f}x {small} in work (bound {bound:.0f}x)"


def test_the_count_sees_a_quadratic_loop_as_quadratic():
    """The measure itself: work that is quadratic in n counts about 100 times more for 10 times n."""

    def pairs(n: int) -> int:
        return sum(1 for a in range(n) for b in range(n) if a < b)

    assert work_of(lambda: pairs(100)) / work_of(lambda: pairs(10)) > 50
