"""scripts/bench.py's own arithmetic: reading wrk's output, and the p99 of several turns taken together.
Small fixtures, no server and no clock: these run in `make test-fast`."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from scripts.bench import TAIL_STEP, merged_p99, parse_wrk, verdict


def wrk_percentile(samples: list[int], p: float, *, ordered: bool = False) -> int:
    """wrk's stats_percentile: the smallest value whose running count reaches round(p% of n + 0.5)."""
    rank = round((p / 100.0) * len(samples) + 0.5)
    return (samples if ordered else sorted(samples))[min(max(rank, 1), len(samples)) - 1]


POINTS = [i * TAIL_STEP for i in range(4001)]


def turn(samples: list[int]) -> dict:
    """A turn as parse_wrk gives it, from raw latencies in microseconds (its percentiles printed as the Lua does)."""
    ordered = sorted(samples)
    return {
        "requests": len(samples),
        "p99_ms": wrk_percentile(ordered, 99, ordered=True) / 1000,
        "tail": [(round(p, 3), wrk_percentile(ordered, p, ordered=True) / 1000) for p in POINTS],
    }


LATENCIES = st.lists(st.integers(1, 200_000), min_size=50, max_size=600)


@settings(max_examples=60, deadline=None)
@given(st.lists(LATENCIES, min_size=1, max_size=6))
def test_merged_p99_lies_between_the_pooled_p99_and_a_hair_above_it(turns):
    pooled = [v for samples in turns for v in samples]
    merged = merged_p99([turn(samples) for samples in turns])
    # Never below the p99 of every request together; at most one printed slice (0.025 percentile) above it,
    # with the discreteness of a few thousand samples on top (one rank).
    assert merged >= wrk_percentile(pooled, 99) / 1000 - 1e-9
    assert merged <= wrk_percentile(pooled, 99.025 + 100 / len(pooled)) / 1000 + 1e-9


def test_one_slow_turn_among_fast_ones_weighs_by_its_share_of_the_requests():
    fast = [5_000] * 9_900 + [9_000] * 100  # p99 9 ms
    slow = [40_000] * 1_000  # a turn a tenth as long, all slow
    merged = merged_p99([turn(fast), turn(fast), turn(slow)])
    # 1,000 slow requests of 21,000 are 4.8 % of all: the pooled p99 is slow; the worst turn's p99 says the same
    # here, but the median turn's would not.
    assert merged == 40.0
    assert math.isclose(merged_p99([turn(fast), turn(fast)]), 9.0)


def test_parse_wrk_reads_the_tail_lines():
    out = """Running 4s test @ http://127.0.0.1:1/v1/plans
  Latency Distribution
     50%   11.86ms
     75%   13.00ms
     90%   14.00ms
     99%   19.21ms
  10464 requests in 4.00s, 93.11MB read
Requests/sec:   2616.00
TAIL 90.000 14000
TAIL 99.000 19210
TAIL 100.000 31000
"""
    parsed = parse_wrk(out)
    assert parsed["requests"] == 10464 and parsed["p99_ms"] == 19.21 and parsed["requests_per_second"] == 2616.0
    assert parsed["tail"] == [(90.0, 14.0), (99.0, 19.21), (100.0, 31.0)]


def test_the_bar_is_throughput_at_least_060_and_p99_at_most_25_times_the_minimal_apps():
    minimal = {"requests_per_second": 2500.0, "p99_ms": 20.0}
    assert verdict({"requests_per_second": 1500.0, "p99_ms": 50.0}, minimal) == {
        "ratio": 0.6, "meets_ratio": True, "p99_ratio": 2.5, "meets_p99": True
    }  # fmt: skip
    missed = verdict({"requests_per_second": 1499.0, "p99_ms": 50.1}, minimal)
    assert not missed["meets_ratio"] and not missed["meets_p99"]
