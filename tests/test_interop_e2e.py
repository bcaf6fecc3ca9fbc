"""The interoperability routes over the wire: the real gunicorn server on a loopback port."""

from __future__ import annotations

import pytest
import requests
from fhir.resources.R4B.parameters import Parameters
from icalendar import Calendar

from service.api.examples import CDS_REQUEST_EXAMPLE, FHIR_REQUEST_EXAMPLE
from tests.server import gunicorn

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with gunicorn(tmp_path_factory.mktemp("e2e-interop"), workers=1) as s:
        yield s


def test_fhir_cds_and_calendar_answer_over_the_wire(server):
    r = requests.post(
        f"{server.url}/fhir/$vaccine-timing",
        json=FHIR_REQUEST_EXAMPLE,
        headers={"Content-Type": "application/fhir+json"},
        timeout=10,
    )
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/fhir+json"
    Parameters.model_validate(r.json())

    # The server's clock gives as_of here, so only the shape is checked, not the dates.
    r = requests.post(f"{server.url}/cds-services/vaccine-timing-order-sign", json=CDS_REQUEST_EXAMPLE, timeout=10)
    assert r.status_code == 200 and [c["indicator"] for c in r.json()["cards"]][0] == "critical"

    body = {
        "as_of": "2026-11-24",
        "treatment": {"drug": "Kesimpta", "start_date": "2027-03-01"},
        "vaccines": [{"name": "MMR"}],
    }
    r = requests.post(f"{server.url}/v1/plans", json=body, headers={"Accept": "text/calendar"}, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/calendar")
    assert len(Calendar.from_ical(r.content).walk("VEVENT")) >= 1
