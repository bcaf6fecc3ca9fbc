"""Shared fixtures: the real therapy profile and catalog, and an app whose clock is pinned."""

from __future__ import annotations

from datetime import date

import pytest

from service.app import create_app
from service.data.loader import load_ruleset

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="session")
def ruleset():
    return load_ruleset()


@pytest.fixture(scope="session")
def profile(ruleset):
    return ruleset.therapies.find("ofatumumab")


@pytest.fixture(scope="session")
def catalog(ruleset):
    return ruleset.catalog


@pytest.fixture(scope="session")
def app():
    return create_app({"TODAY": TODAY, "LOG_LEVEL": "WARNING"})


@pytest.fixture()
def client(app):
    return app.test_client()
