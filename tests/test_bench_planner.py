"""In-process benchmarks of the planner (pytest-benchmark): the typical and the largest allowed request,
and how the cost grows with doses of history, vaccines and the horizon, one at a time from the typical.

`make test` runs each once, as a smoke test (--benchmark-disable in pyproject.toml), so they cannot rot;
`make bench` times them (--benchmark-enable) and writes bench-results/planner.json.
"""

from __future__ import annotations

import pytest

from scripts.workloads import largest_request, plan_request, typical_request
from service.domain.planner import make_plan
from service.planning import REQUEST_SCHEMA, to_request

pytestmark = pytest.mark.bench


@pytest.fixture()
def planner(app):
    with app.test_request_context():
        planner = app.extensions["planner"]

        def domain(raw):
            request = to_request(REQUEST_SCHEMA.load(raw), planner.today())
            return lambda: make_plan(
                request, planner.ruleset.therapies, planner.ruleset.catalog, planner.ruleset.vaccine_rules
            )

        yield domain


@pytest.mark.parametrize("size", ["typical", "largest"])
def test_make_plan(benchmark, planner, size):
    """The rules alone (service.domain.planner.make_plan), input already validated."""
    benchmark.group = "make_plan"
    raw = typical_request() if size == "typical" else largest_request()
    plan = benchmark(planner(raw))
    assert len(plan.vaccines) == len(raw["vaccines"])


@pytest.mark.parametrize("size", ["typical", "largest"])
def test_plan_json(benchmark, app, size):
    """What an HTTP request costs minus HTTP: validation, rules and the JSON-ready answer (Planner.plan_json)."""
    benchmark.group = "plan_json"
    raw = typical_request() if size == "typical" else largest_request()
    answer = benchmark(app.extensions["planner"].plan_json, raw)
    assert len(answer["vaccines"]) == len(raw["vaccines"])


@pytest.mark.parametrize("doses", [0, 15, 100, 400])
def test_cost_grows_with_doses(benchmark, planner, doses):
    benchmark.group = "growth: doses (5 vaccines, 365 days)"
    benchmark(planner(plan_request(doses, 5, 365)))


@pytest.mark.parametrize("vaccines", [1, 5, 20, 50])
def test_cost_grows_with_vaccines(benchmark, planner, vaccines):
    benchmark.group = "growth: vaccines (15 doses, 365 days)"
    benchmark(planner(plan_request(15, vaccines, 365)))


@pytest.mark.parametrize("horizon", [60, 365, 1095])
def test_cost_grows_with_horizon(benchmark, planner, horizon):
    benchmark.group = "growth: horizon days (15 doses, 5 vaccines)"
    benchmark(planner(plan_request(15, 5, horizon)))
