"""Shared fixtures: the real therapy profiles and catalog, and an app whose clock is pinned.

`profile` is ofatumumab (the tables worked by hand for it); `any_profile` is every loaded profile as each of its
labels reads it (and as the stricter reading without a label), for the tests that must hold for every therapy;
`dosed_profile` the same for the dosed profiles only (properties written in doses and starter gaps).
"""

from __future__ import annotations

import io
import json
import logging
from datetime import date

import pytest

from service.app import create_app
from service.data.loader import load_ruleset
from service.observability import json_handler

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="session")
def ruleset():
    return load_ruleset()


@pytest.fixture(scope="session")
def profile(ruleset):
    return ruleset.therapies.find("ofatumumab")


def profile_readings() -> list[tuple[str, str | None]]:
    """(profile id, label or None) for every loaded profile and each of its labels."""
    return [(p.id, label) for p in load_ruleset().therapies.profiles for label in (None, *p.labels)]


@pytest.fixture(
    scope="session",
    params=profile_readings(),
    ids=[f"{pid}-{label or 'strictest'}" for pid, label in profile_readings()],
)
def any_profile(request, ruleset):
    profile_id, label = request.param
    return ruleset.therapies.find(profile_id).for_label(label)


def dosed_readings() -> list[tuple[str, str | None]]:
    """profile_readings of the dosed profiles: the properties written in doses and starter gaps (the continuous
    and course profiles have theirs in tests/test_kind_properties.py)."""
    kinds = {p.id: p.kind for p in load_ruleset().therapies.profiles}
    return [(pid, label) for pid, label in profile_readings() if kinds[pid] == "dosed"]


@pytest.fixture(
    scope="session",
    params=dosed_readings(),
    ids=[f"{pid}-{label or 'strictest'}" for pid, label in dosed_readings()],
)
def dosed_profile(request, ruleset):
    profile_id, label = request.param
    return ruleset.therapies.find(profile_id).for_label(label)


@pytest.fixture(scope="session")
def catalog(ruleset):
    return ruleset.catalog


@pytest.fixture(scope="session")
def app():
    return create_app({"TODAY": TODAY, "LOG_LEVEL": "WARNING"})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def log_lines():
    """Every JSON line the service's loggers write during the test (through the production handler)."""
    stream = io.StringIO()
    handler = json_handler(stream)
    logger = logging.getLogger("service")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
