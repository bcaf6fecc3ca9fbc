"""In-process benchmarks of the planner (pytest-benchmark): the typical and the largest allowed request.

`make test` runs each benchmark once, as a smoke test (--benchmark-disable in pyproject.toml), so they cannot rot;
`make bench` times them (--benchmark-enable) and writes bench-results/planner.json, then runs the instruction
counter's check under valgrind (marker `valgrind`, left out of `make test`: it takes minutes). How the work grows
with the request is counted, not timed, in tests/test_growth.py.
"""

from __future__ import annotations

import shutil

import pytest

from scripts.workloads import largest_request, typical_request
from service.domain.intake import to_request
from service.domain.planner import make_plan


@pytest.fixture()
def planner(app):
    with app.test_request_context():
        planner = app.extensions["planner"]

        def domain(raw):
            request = to_request(planner.load(raw), planner.today())
            return lambda: make_plan(
                request, planner.ruleset.therapies, planner.ruleset.catalog, planner.ruleset.vaccine_rules
            )

        yield domain


@pytest.mark.bench
@pytest.mark.parametrize("size", ["typical", "largest"], ids=str)
def test_make_plan(benchmark, planner, size):
    """The rules alone (service.domain.planner.make_plan), input already validated."""
    benchmark.group = "make_plan"
    raw = typical_request() if size == "typical" else largest_request()
    plan = benchmark(planner(raw))
    assert len(plan.vaccines) == len(raw["vaccines"])


@pytest.mark.bench
@pytest.mark.parametrize("size", ["typical", "largest"], ids=str)
def test_plan_json(benchmark, app, size):
    """What an HTTP request costs minus HTTP: validation, rules and the JSON-ready answer (Planner.plan_json)."""
    benchmark.group = "plan_json"
    raw = typical_request() if size == "typical" else largest_request()
    answer = benchmark(app.extensions["planner"].plan_json, raw)
    assert len(answer["vaccines"]) == len(raw["vaccines"])


@pytest.mark.valgrind
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind counts the instructions; not installed")
def test_the_instruction_counter_counts_a_part():
    """scripts/count_instructions.py (the instruction counts of docs/production.md) still runs: one part,
    under valgrind, a count in the range a JSON encoding of the typical answer takes (tens of thousands)."""
    from scripts.count_instructions import count

    encoded = count("encode")
    assert 10_000 < encoded < 10_000_000, encoded
