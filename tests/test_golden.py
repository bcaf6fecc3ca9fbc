"""The golden answers: 6,089 kept requests (tests/golden/requests.jsonl.gz; the bench's workloads and 6,000
generated from a fixed seed by scripts/golden.py) answered byte for byte as recorded, status and body. A
change that alters any answer fails here with a summary of what changed; when the change is meant, record
again with `make golden` and commit the new answers file with it.
"""

from __future__ import annotations

import json

import pytest

from scripts.golden import COUNT, answer_lines, differences, generated, stored_answers, stored_requests


@pytest.mark.slow
def test_every_golden_request_gets_the_recorded_answer_byte_for_byte():
    requests = stored_requests()
    recorded = stored_answers()
    assert len(recorded) == len(requests) > COUNT, "tests/golden is incomplete: run `make golden`"
    now = answer_lines(requests)
    assert now == recorded, "answers changed (`make golden` records them, if meant):\n" + differences(
        recorded, now, requests
    )


def test_the_golden_set_plans_most_requests_and_refuses_some():
    """A set of nothing but errors, or nothing but plans, would check little."""
    statuses = [line.split(b" ", 1)[0] for line in stored_answers()]
    planned, refused = statuses.count(b"200"), statuses.count(b"422")
    assert planned + refused == len(statuses)
    assert planned > 0.6 * len(statuses) and refused > 0.1 * len(statuses)


def test_the_kept_requests_are_the_ones_the_seed_generates():
    """The generated part of the set is the generator's with its seed: the set can be made again."""
    kept = stored_requests()[-COUNT:]
    assert kept[:50] == [json.dumps(b, separators=(",", ":")).encode() for b in generated()[:50]]
