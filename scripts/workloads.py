"""Plan requests of known size, shared by `make bench`, the pytest benchmarks and the fault tests.

- typical: what a pharmacy sends most: 15 doses of history, 5 vaccines, a one-year horizon;
- largest: the most the contract allows: 400 doses, 50 vaccines, a three-year horizon;
- plan_request(doses, vaccines, horizon_days): anything in between, to see how cost grows;
- live_request(count): live vaccines before a planned start, each spaced from the ones before it.
"""

from __future__ import annotations

import functools
import json
from datetime import date, timedelta
from typing import Any

from service.data.loader import load_ruleset

AS_OF = date(2026, 10, 16)
# Five vaccines a pharmacy plans around a therapy: live and non-live, by brand, generic name and CVX code.
TYPICAL_VACCINES: list[dict[str, str]] = [
    {"name": "Shingrix"},
    {"cvx": "03"},
    {"name": "Prevnar 20"},
    {"name": "Heplisav-B"},
    {"name": "Fluzone"},
]


@functools.cache
def _more_vaccines() -> tuple[str, ...]:
    """Primary CVX codes of non-live catalog entries other than the typical five, in id order."""
    catalog = load_ruleset().catalog
    typical_ids = {
        (catalog.by_name(v["name"], "-") if "name" in v else catalog.by_cvx(v["cvx"], "-")).vaccine.id
        for v in TYPICAL_VACCINES
    }
    return tuple(
        v.cvx[0]
        for v in sorted(catalog.vaccines, key=lambda v: v.id)
        if v.live is False and v.cvx and v.id not in typical_ids
    )


def labelled_doses(count: int, last: date) -> list[str]:
    """`count` doses on the labelled ofatumumab schedule (weeks 0, 1, 2, 4, then every 4 weeks), the last on
    `last`, oldest first."""
    if count == 0:
        return []
    offsets = [0, 7, 14] + [28 * k for k in range(1, max(count - 2, 1))]
    offsets = offsets[:count]
    first = last - timedelta(days=offsets[-1])
    return [(first + timedelta(days=o)).isoformat() for o in offsets]


def vaccine_list(count: int) -> list[dict[str, str]]:
    """The typical five, then distinct non-live catalog entries by CVX code."""
    out = TYPICAL_VACCINES + [{"cvx": code} for code in _more_vaccines()]
    if count > len(out):
        raise ValueError(f"only {len(out)} distinct vaccines available")
    return out[:count]


def plan_request(doses: int = 15, vaccines: int = 5, horizon_days: int = 365) -> dict[str, Any]:
    treatment: dict[str, Any] = {"drug": "ofatumumab"}
    if doses:
        treatment["doses"] = labelled_doses(doses, AS_OF - timedelta(days=10))
        # The complete history of a start (a single dose without start_date would be ambiguous: partial_history).
        treatment["start_date"] = treatment["doses"][0]
    else:
        treatment["start_date"] = (AS_OF + timedelta(days=60)).isoformat()
    return {
        "as_of": AS_OF.isoformat(),
        "treatment": treatment,
        "vaccines": vaccine_list(vaccines),
        "horizon_days": horizon_days,
    }


def typical_request() -> dict[str, Any]:
    return plan_request(15, 5, 365)


def largest_request() -> dict[str, Any]:
    return plan_request(400, 50, 1095)


def heaviest_request() -> dict[str, Any]:
    """The costliest request found by probing, valid: a planned start, 200 recent live immunizations and 50
    vaccines (every live one first), over three years. Live-virus spacing makes it about 6 times the cost
    of largest_request() in-process."""
    catalog = load_ruleset().catalog
    live = [v for v in catalog.vaccines if v.live and v.cvx]
    non_live = [v for v in catalog.vaccines if not v.live and v.cvx]
    immunizations = [
        {"cvx": live[i % len(live)].cvx[0], "date": (AS_OF - timedelta(days=i % 35)).isoformat()} for i in range(200)
    ]
    return {
        "as_of": AS_OF.isoformat(),
        "treatment": {"drug": "ofatumumab", "start_date": (AS_OF + timedelta(days=200)).isoformat()},
        "immunizations": immunizations,
        "vaccines": [{"cvx": v.cvx[0]} for v in (live + non_live)[:50]],
        "horizon_days": 1095,
    }


def history_request(immunizations: int) -> dict[str, Any]:
    """heaviest_request() scaled down: its first `immunizations` live immunizations and a quarter as many
    vaccines, the live ones first. Each live vaccine is spaced from the whole history, so the two sizes
    together would cost their product if the history were read once per vaccine."""
    body = heaviest_request()
    body["immunizations"] = body["immunizations"][:immunizations]
    body["vaccines"] = body["vaccines"][: max(1, immunizations // 4)]
    return body


def live_request(count: int) -> dict[str, Any]:
    """`count` live vaccines (the catalog's live entries by CVX code, in catalog order, over again past the
    last) before a start planned 200 days ahead, over three years: each is placed around the ones before it
    (live-live spacing). 50 of them once cost 8.4 ms, growing faster than linearly."""
    live = [v for v in load_ruleset().catalog.vaccines if v.live and v.cvx]
    return {
        "as_of": AS_OF.isoformat(),
        "treatment": {"drug": "ofatumumab", "start_date": (AS_OF + timedelta(days=200)).isoformat()},
        "vaccines": [{"cvx": live[i % len(live)].cvx[0]} for i in range(count)],
        "horizon_days": 1095,
    }


def invalid_request(target_bytes: int = 60 * 1024) -> dict[str, Any]:
    """A request that is nothing but mistakes, close to `target_bytes` of compact JSON: every dose date and
    every vaccine wrong, and the rest unknown fields (an error each). It used to answer about 50 times its
    size in errors."""
    body: dict[str, Any] = {
        "treatment": {"drug": 12, "doses": ["2026-13-45"] * 400},
        "vaccines": [{"name": 7}] * 50,
        "horizon_days": "x",
    }
    size = len(json.dumps(body, separators=(",", ":")))
    index = 0
    while size < target_bytes - 16:
        key = f"u{index}"
        body[key] = 0
        size += len(key) + 5  # "key":0,
        index += 1
    return body
