"""CDS Hooks with a short or missing prefetch: the service reads the EHR's FHIR server (fhirServer +
fhirAuthorization). The server is a real HTTP process on loopback (tests/fhir_server.py) serving recorded
searchset Bundles shaped as US Core shapes them (tests/data/fhir_server/us-core-kesimpta.json): paginated,
failing and stalling servers included."""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from service.app import create_app
from service.interop.fhir_client import MAX_PAGES
from tests.conftest import TODAY
from tests.interop_builders import Facts, bundle

SIGN = "/cds-services/vaccine-timing-order-sign"
RECORDED = Path(__file__).parent / "data" / "fhir_server" / "us-core-kesimpta.json"
TOKEN = "eyJ-recorded-access-token-7f3a"  # what the EHR would hand over; must reach only the FHIR server
READY_SECONDS = 60  # generous: the machine is shared; the server is usually up in well under a second


class FhirServerProcess:
    def __init__(self, routes: Path):
        root = Path(__file__).parent.parent
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fhir_server", str(routes)],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.base = self._wait_ready()

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + READY_SECONDS
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], deadline - time.monotonic())
            if ready:
                line = self.process.stdout.readline()
                if line.startswith("listening "):
                    return line.split()[1]
                if not line:
                    break
        self.stop()
        raise AssertionError("the FHIR server process did not start")

    def requests(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = requests.get(self.base.removesuffix("/fhir") + "/__requests", timeout=30).json()
        return answer

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def routes_file(tmp_path_factory: Any, name: str, change: Any) -> Path:
    routes = json.loads(RECORDED.read_text())
    change(routes)
    path: Path = tmp_path_factory.mktemp(name) / "routes.json"
    path.write_text(json.dumps(routes))
    return path


@pytest.fixture(scope="module")
def recorded() -> Iterator[FhirServerProcess]:
    server = FhirServerProcess(RECORDED)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def endless(tmp_path_factory) -> Iterator[FhirServerProcess]:
    """A medication search of more pages than the service follows (MAX_PAGES): the first with two doses, the
    others with only the included Medication (a server that pages by entries of every kind)."""

    def paginate(routes: dict[str, Any]) -> None:
        key = "/fhir/MedicationAdministration?patient=p1&_include=MedicationAdministration:medication"
        first = routes[key]["pages"][0]
        rest = {**first, "entry": [e for e in first["entry"] if e["search"]["mode"] == "include"]}
        routes[key] = {"pages": [first] + [rest] * (MAX_PAGES + 4)}

    server = FhirServerProcess(routes_file(tmp_path_factory, "endless", paginate))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def failing(tmp_path_factory) -> Iterator[FhirServerProcess]:
    def fail(routes: dict[str, Any]) -> None:
        for route in routes.values():
            route.clear()
            route["status"] = 500

    server = FhirServerProcess(routes_file(tmp_path_factory, "failing", fail))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stalling(tmp_path_factory) -> Iterator[FhirServerProcess]:
    def stall(routes: dict[str, Any]) -> None:
        for route in routes.values():
            route.clear()
            route["stall"] = True

    server = FhirServerProcess(routes_file(tmp_path_factory, "stalling", stall))
    yield server
    server.stop()


def call(base: str | None, prefetch: dict[str, Any] | None = None, token: str | None = TOKEN) -> dict[str, Any]:
    body = Facts(vaccines=("03",)).cds()
    body["prefetch"] = prefetch or {}
    if base is not None:
        body["fhirServer"] = base
    if token is not None:
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/MedicationRequest.read patient/Immunization.read",
            "subject": "vaccine-timing-planner",
        }
    return body


def post(client, body: dict[str, Any]):
    return client.post(SIGN, json=body)


def test_no_prefetch_at_all_the_service_reads_the_fhir_server_and_the_live_order_gets_a_critical_card(
    client, recorded, caplog
):
    caplog.set_level(logging.DEBUG)
    r = post(client, call(recorded.base))
    assert r.status_code == 200, r.get_json()
    (card,) = r.get_json()["cards"]
    assert card["indicator"] == "critical" and not card["summary"].startswith("Record incomplete")
    data = card["extension"]["vaccine-timing-planner"]
    assert data["status"] == "avoid"
    seen = recorded.requests()
    paths = [s["path"] for s in seen]
    # every template, the second page of the paginated administrations, and the token on every request
    assert {p.split("?")[0] for p in paths} >= {
        "/fhir/MedicationRequest",
        "/fhir/MedicationAdministration",
        "/fhir/MedicationStatement",
        "/fhir/Immunization",
    }
    assert any(p.endswith("&_page=1") for p in paths)
    assert all(s["authorization"] == f"Bearer {TOKEN}" for s in seen)
    # never logged: not the token, not the patient's id in a URL
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert TOKEN not in logged and "patient=p1" not in logged


def test_a_short_prefetch_is_completed_from_the_server_and_a_full_one_is_not_read_again(client, recorded):
    facts = Facts(vaccines=("03",), doses=("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"))
    full = facts.cds()["prefetch"]
    first_page = {**full["medicationAdministrations"], "link": [{"relation": "next", "url": f"{recorded.base}/x"}]}
    before = len(recorded.requests())
    r = post(client, call(recorded.base, {**full, "medicationAdministrations": first_page}))
    card = r.get_json()["cards"][0]
    assert card["indicator"] == "critical" and "notSeen" not in card["extension"]["vaccine-timing-planner"]
    read = [s["path"] for s in recorded.requests()[before:]]
    assert read and all(p.startswith("/fhir/MedicationAdministration?") for p in read)


def test_a_medication_reference_missing_from_the_prefetch_is_read_from_the_server(client, recorded):
    routes = json.loads(RECORDED.read_text())
    key = "/fhir/MedicationRequest?patient=p1&_include=MedicationRequest:medication"
    order = routes[key]["bundle"]["entry"][0]["resource"]
    prefetch = {
        "medicationAdministrations": None,
        "medicationRequests": bundle([order]),
        "medicationStatements": None,
        "immunizations": None,
    }
    before = len(recorded.requests())
    r = post(client, call(recorded.base, prefetch))
    assert [c["indicator"] for c in r.get_json()["cards"]] == ["critical"]
    assert [s["path"] for s in recorded.requests()[before:]] == ["/fhir/Medication/kesimpta"]


def test_a_search_longer_than_the_service_follows_is_named_as_not_fully_read(client, endless):
    card = post(client, call(endless.base)).get_json()["cards"][0]
    assert card["indicator"] == "critical" and card["summary"].startswith("Record incomplete")
    assert any("later pages were not sent" in s for s in card["extension"]["vaccine-timing-planner"]["notSeen"])
    pages = [s["path"] for s in endless.requests() if s["path"].startswith("/fhir/MedicationAdministration")]
    assert len(pages) == MAX_PAGES


def test_a_failing_server_with_no_prefetch_is_a_412_naming_why(client, failing):
    r = post(client, call(failing.base))
    assert r.status_code == 412
    assert "HTTP 500" in r.get_json()["detail"]


def test_a_failing_server_behind_a_short_prefetch_leaves_the_gap_on_the_card(client, failing):
    facts = Facts(vaccines=("03",), doses=("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"))
    full = facts.cds()["prefetch"]
    short = {**full, "medicationAdministrations": {**full["medicationAdministrations"], "total": 9}}
    card = post(client, call(failing.base, short)).get_json()["cards"][0]
    assert card["indicator"] == "critical" and card["summary"].startswith("Record incomplete")
    assert any(
        "could not be completed from the FHIR server (the FHIR server answered HTTP 500)" in s
        for s in (card["extension"]["vaccine-timing-planner"]["notSeen"])
    )


def test_a_server_that_does_not_answer_in_time_is_given_up_on(stalling):
    app = create_app({"TODAY": TODAY, "LOG_LEVEL": "WARNING", "CDS_FHIR_SECONDS": 0.5})
    r = post(app.test_client(), call(stalling.base))
    assert r.status_code == 412
    assert "took longer than this service waits" in r.get_json()["detail"]


@pytest.mark.parametrize(
    ("base", "token", "why"),
    [
        ("BASE", None, "fhirServer was given without fhirAuthorization"),
        ("https://", TOKEN, "not an http(s) URL"),
        ("http://ehr.example/fhir", TOKEN, "not https"),
        ("https://ehr.example/fhir", TOKEN, "read only for CDS clients this service authenticates"),
        (None, None, "no fhirServer was given"),
    ],
    ids=[
        "no-authorization",
        "not-a-url",
        "plain-http-off-loopback",
        "unauthenticated-caller-remote-server",
        "no-server",
    ],
)
def test_a_server_that_cannot_be_used_is_not_contacted_and_the_412_says_why(client, recorded, base, token, why):
    before = len(recorded.requests())
    r = post(client, call(recorded.base if base == "BASE" else base, token=token))
    assert r.status_code == 412 and why in r.get_json()["detail"]
    assert len(recorded.requests()) == before


def test_fhir_authorization_without_a_fhir_server_is_a_400_naming_it(client):
    body = call(None)
    r = post(client, body)
    assert r.status_code == 400 and [e["field"] for e in r.get_json()["errors"]] == ["fhirServer"]
