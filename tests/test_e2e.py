"""End to end: the real gunicorn server on a loopback port, called with requests as a pharmacy system would."""

from __future__ import annotations

import json

import pytest
import requests

from service.observability import logged_id
from tests.server import gunicorn

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with gunicorn(tmp_path_factory.mktemp("e2e")) as s:
        yield s


def test_pharmacy_system_plans_mmr_and_shingrix_before_a_planned_start(server):
    body = {
        "as_of": "2026-11-24",
        # far enough ahead for both MMR doses (4 weeks apart) to come 28 days before the start
        "treatment": {"drug": "Kesimpta", "start_date": "2027-03-01"},
        "vaccines": [{"name": "M-M-R II"}, {"cvx": "187"}],
    }
    r = requests.post(f"{server.url}/v1/plans", json=body, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    plan = r.json()
    assert plan["ruleset"]["id"] == "ofatumumab" and plan["ruleset"]["version"]
    mmr, shingrix = plan["vaccines"]
    assert (mmr["vaccine"]["live"], mmr["status"]) == (True, "pre_start")
    assert mmr["windows"] == [{"kind": "pre_start", "start": "2026-11-24", "end": "2027-02-01"}]
    assert (shingrix["vaccine"]["id"], shingrix["windows"][0]["end"]) == ("zoster-recombinant", "2027-02-15")
    assert r.headers["X-Request-ID"]


def test_travel_clinic_sees_yellow_fever_avoided_during_maintenance(server):
    body = {
        "as_of": "2026-11-24",
        "vaccines": [{"name": "yellow fever"}],
        "treatment": {"drug": "ofatumumab", "doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]},
    }
    r = requests.post(f"{server.url}/v1/plans", json=body, timeout=10)
    assert r.status_code == 200
    assert r.json()["vaccines"][0]["status"] == "avoid"


def test_unknown_vaccine_is_a_problem_with_candidates_over_the_wire(server):
    body = {"treatment": {"drug": "ofatumumab", "start_date": "2027-01-05"}, "vaccines": [{"name": "Shingrx"}]}
    r = requests.post(f"{server.url}/v1/plans", json=body, timeout=10)
    assert r.status_code == 422 and r.headers["Content-Type"] == "application/problem+json"
    error = r.json()["errors"][0]
    assert error["field"] == "vaccines[0].name"
    assert "zoster-recombinant" in [c["id"] for c in error["candidates"]]


def test_malformed_body_and_wrong_media_type_over_the_wire(server):
    r = requests.post(f"{server.url}/v1/plans", data="{", headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400 and r.json()["status"] == 400
    r = requests.post(f"{server.url}/v1/plans", data="vaccines=MMR", timeout=10)
    assert r.status_code == 415


def test_spec_docs_and_health_are_served(server):
    spec = requests.get(f"{server.url}/openapi.yaml", timeout=10)
    assert spec.status_code == 200 and "openapi: 3.0.3" in spec.text and "/v1/plans:" in spec.text
    docs = requests.get(f"{server.url}/docs", timeout=10)
    assert (
        docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text and "http" not in docs.text.split("<body>")[1]
    )
    assert requests.get(f"{server.url}/docs/swagger-ui/swagger-ui-bundle.js", timeout=10).status_code == 200
    assert requests.get(f"{server.url}/healthz", timeout=10).json() == {"status": "ok"}


def test_access_log_lines_carry_no_patient_data(server):
    marker = "1999-02-03"
    body = {
        "as_of": "2026-11-24",
        "treatment": {"drug": "ofatumumab", "doses": [marker], "start_date": marker},
        "vaccines": [{"name": "Vivotif"}],
    }
    r = requests.post(f"{server.url}/v1/plans", json=body, headers={"X-Request-ID": "e2e-log-check"}, timeout=10)
    assert r.status_code == 200 and r.headers["X-Request-ID"] == "e2e-log-check"
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == logged_id("e2e-log-check")]  # never as sent
    assert mine and mine[0]["route"] == "/v1/plans" and mine[0]["status"] == 200
    assert marker not in server.log() and "Vivotif" not in server.log()
