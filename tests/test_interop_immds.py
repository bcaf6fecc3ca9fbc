"""POST /fhir/$immds-forecast: the HL7 Immunization Decision Support Forecast operation, as this service answers
it (the vaccines another forecaster recommends, timed around the therapy), its OperationDefinition and its
place in the CapabilityStatement. The IG's own example request is answered as far as the service can."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B.operationdefinition import OperationDefinition
from fhir.resources.R4B.parameters import Parameters

from service.api.examples import IMMDS_REQUEST_EXAMPLE, IMMDS_RESPONSE_EXAMPLE
from service.app import create_app
from tests.test_interop_fhir_schema import errors

IG_EXAMPLE = json.loads((Path(__file__).parent / "data" / "immds" / "parameters-in-example.json").read_text())
FORECAST = "/fhir/$immds-forecast"


def test_the_igs_example_request_is_answered_saying_the_service_times_vaccines_and_does_not_choose_them(client):
    r = client.post(FORECAST, json=IG_EXAMPLE)
    assert r.status_code == 422 and r.content_type == "application/fhir+json"
    outcome = r.get_json()
    assert errors(outcome) == []
    messages = [i["diagnostics"] for i in outcome["issue"]]
    assert any("does not decide which vaccines are due" in m for m in messages)
    assert any("therapy" in m for m in messages)  # nor does the example name a therapy to time them around


def test_another_forecasters_recommended_vaccines_are_timed_around_the_therapy(client):
    r = client.post(FORECAST, json=IMMDS_REQUEST_EXAMPLE)
    assert r.status_code == 200, r.get_json()
    assert errors(r.get_json()) == []
    out = Parameters.model_validate(r.get_json())
    recommendation = next(p.resource for p in out.parameter if p.name == "recommendation")
    assert recommendation.patient.reference == "Patient/example"
    timed = {e.vaccineCode[0].coding[0].code: e.forecastStatus.coding[0].code for e in recommendation.recommendation}
    # Shingrix dose 2 (dose 1 on record) before the planned start; MMR's first dose fits before it and the
    # second waits for repletion (a live series proposes the doses that fit), so it is due later, not refused;
    # Tdap, complete at the other forecaster, is not timed.
    assert timed == {"187": "due", "03": "notComplete"}


def test_the_published_example_is_what_the_service_answers(client):
    assert client.post(FORECAST, json=IMMDS_REQUEST_EXAMPLE).get_json() == IMMDS_RESPONSE_EXAMPLE


def test_a_recommendation_that_recommends_nothing_is_the_same_outcome(client):
    body = json.loads(json.dumps(IMMDS_REQUEST_EXAMPLE))
    forecast = next(p for p in body["parameter"] if p["name"] == "recommendation")["resource"]
    for entry in forecast["recommendation"]:
        entry["forecastStatus"]["coding"][0]["code"] = "complete"
    r = client.post(FORECAST, json=body)
    assert r.status_code == 422
    assert [i["diagnostics"][:40] for i in r.get_json()["issue"]] == ["no vaccine to time: this service times v"]


def test_the_operation_is_in_the_capability_statement_with_its_definition(client):
    statement = client.get("/fhir/metadata").get_json()
    (immds,) = [op for op in statement["rest"][0]["operation"] if op["name"] == "immds-forecast"]
    path = immds["definition"].split("/fhir/", 1)[1]
    r = client.get(f"/fhir/{path}")
    assert r.status_code == 200 and errors(r.get_json()) == []
    definition = OperationDefinition.model_validate(r.get_json())
    assert definition.code == "immds-forecast" and definition.url == immds["definition"]
    inputs = {p.name for p in definition.parameter if p.use == "in"}
    assert inputs == {"assessmentDate", "patient", "immunization", "medication", "recommendation"}


def test_an_xml_only_client_gets_406(client):
    for path in ("/fhir/metadata", "/fhir/OperationDefinition/immds-forecast"):
        r = client.get(path, headers={"Accept": "application/fhir+xml"})
        assert r.status_code == 406 and r.get_json()["resourceType"] == "OperationOutcome"
    r = client.post(FORECAST, json=IMMDS_REQUEST_EXAMPLE, headers={"Accept": "application/fhir+xml"})
    assert r.status_code == 406
    assert client.get("/fhir/metadata", headers={"Accept": "application/fhir+xml, */*;q=0.1"}).status_code == 200


# ---- Patient.birthDate -> patient.birth_date --------------------------------------------------------------


def engerix_forecast(birth_date: str | None) -> dict:
    """The published example, recommending Engerix-B before the planned start (ACIP's immunocompromised
    hepatitis B dosage, 4 doses, applies from age 20), with the Patient's birthDate set or left out."""
    body = json.loads(json.dumps(IMMDS_REQUEST_EXAMPLE))
    forecast = next(p for p in body["parameter"] if p["name"] == "recommendation")["resource"]
    forecast["recommendation"] = [
        {
            "vaccineCode": [{"text": "Engerix-B"}],
            "forecastStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status",
                        "code": "due",
                    }
                ]
            },
        }
    ]
    patient = next(p for p in body["parameter"] if p["name"] == "patient")["resource"]
    patient.pop("birthDate", None)
    if birth_date is not None:
        patient["birthDate"] = birth_date
    return body


def doses_and_description(client, birth_date: str | None) -> tuple[list[int], str]:
    r = client.post(FORECAST, json=engerix_forecast(birth_date))
    assert r.status_code == 200, r.get_json()
    entries = r.get_json()["parameter"][0]["resource"]["recommendation"]
    return [e["doseNumberPositiveInt"] for e in entries], entries[0]["description"]


def test_the_patients_birth_date_decides_a_dosage_with_an_age_limit(client):
    # Aged 19 on 2026-11-24: the immunocompromised dosage (from 20) does not apply, the standard 3 doses do.
    doses, description = doses_and_description(client, "2007-06-01")
    assert doses == [1, 2, 3] and "does not apply at 19" in description
    # Aged 38: the immunocompromised dosage, 4 doses.
    doses, description = doses_and_description(client, "1988-05-02")
    assert doses == [1, 2, 3, 4] and "taken as an adult" not in description
    # No birthDate: taken as an adult, and the answer says so.
    doses, description = doses_and_description(client, None)
    assert doses == [1, 2, 3, 4] and "taken as an adult" in description


@pytest.mark.parametrize("partial", ["2006", "2006-11"])
def test_a_partial_birth_date_is_refused_naming_the_element_without_repeating_it(client, partial):
    # Born in 2006 is 19 or 20 on 2026-11-24: on either side of the dosage's age limit, so no plan is made.
    r = client.post(FORECAST, json=engerix_forecast(partial))
    assert r.status_code == 422 and r.content_type == "application/fhir+json"
    assert errors(r.get_json()) == []
    [issue] = r.get_json()["issue"]
    assert issue["expression"] == ["Parameters.parameter[1].resource.birthDate"]
    assert "partial date" in issue["diagnostics"] and partial not in issue["diagnostics"]


def test_a_birth_date_after_the_assessment_date_is_refused_at_the_patients_birth_date(client):
    r = client.post(FORECAST, json=engerix_forecast("2026-12-01"))
    assert r.status_code == 422
    [issue] = r.get_json()["issue"]
    assert issue["expression"] == ["Parameters.parameter[1].resource.birthDate"]
    assert "2026-12-01" not in issue["diagnostics"]


def test_the_birth_date_is_never_logged(caplog, capfd, log_lines):
    client = create_app({"TODAY": date(2026, 11, 24), "LOG_LEVEL": "DEBUG"}).test_client()
    caplog.set_level("DEBUG")
    for birth_date in ("1961-07-13", "1961-07", "2061-01-01"):
        client.post(FORECAST, json=engerix_forecast(birth_date))
    route = "/fhir/$immds-forecast"
    out, err = capfd.readouterr()
    # The production handler's lines (the log_lines fixture), whatever else is configured: the access lines are
    # there, and neither they nor anything that reached caplog, stdout or stderr holds the date.
    assert [line["route"] for line in log_lines() if line.get("event") == "request"] == [route] * 3
    logged = json.dumps(log_lines()) + out + err + caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    assert "1961" not in logged and "2061" not in logged
