"""FHIR R4 routes: conformance resources, the operation's mapping, and OperationOutcome errors."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationdefinition import OperationDefinition
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters

from service.api.examples import FHIR_REQUEST_EXAMPLE, FHIR_RESPONSE_EXAMPLE
from service.interop.coding import OPERATION_PATH, UNCONFIGURED_BASE, Canonical, ndc_product
from service.interop.fhir import recommendations_for
from service.interop.medication import UNIDENTIFIED, identify
from tests.interop_builders import ATC, CVX, PATIENT, Facts, administration, vaccine_part

OP = "/fhir/$vaccine-timing"
MAINTENANCE = Facts(vaccines=("37", "187"), doses=("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"))
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
OPERATION_URL = UNCONFIGURED_BASE + OPERATION_PATH


def post(client, body, **kwargs):
    return client.post(OP, data=json.dumps(body), content_type="application/fhir+json", **kwargs)


def outcome(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/fhir+json"
    return OperationOutcome.model_validate(response.get_json())


def with_parts(facts: Facts, *parts, drop=()):
    body = facts.fhir()
    body["parameter"] = [p for p in body["parameter"] if p["name"] not in drop] + list(parts)
    return body


def recommendation(response):
    assert response.status_code == 200, response.get_json()
    return Parameters.model_validate(response.get_json()).parameter[0].resource


# ---- conformance -----------------------------------------------------------------------------------------


def test_metadata_is_a_capability_statement_naming_the_operation(client):
    r = client.get("/fhir/metadata")
    assert r.status_code == 200 and r.content_type == "application/fhir+json"
    statement = CapabilityStatement.model_validate(r.get_json())
    assert statement.fhirVersion == "4.0.1" and statement.kind == "instance"
    assert [(op.name, op.definition) for op in statement.rest[0].operation] == [
        ("vaccine-timing", OPERATION_URL),
        ("immds-forecast", UNCONFIGURED_BASE + "/fhir/OperationDefinition/immds-forecast"),
    ]


def test_operation_definition_lists_every_parameter_the_operation_reads(client):
    r = client.get("/fhir/OperationDefinition/vaccine-timing")
    definition = OperationDefinition.model_validate(r.get_json())
    assert definition.url == OPERATION_URL and definition.code == "vaccine-timing" and definition.system
    names = {(p.name, p.use) for p in definition.parameter}
    assert {
        ("assessmentDate", "in"),
        ("medication", "in"),
        ("immunization", "in"),
        ("vaccine", "in"),
        ("neededBy", "in"),
        ("horizonDays", "in"),
        ("recommendation", "out"),
    } <= names


def test_the_published_example_is_what_the_operation_answers(client):
    r = post(client, FHIR_REQUEST_EXAMPLE)
    assert r.status_code == 200 and r.get_json() == FHIR_RESPONSE_EXAMPLE
    Parameters.model_validate(FHIR_RESPONSE_EXAMPLE)


# ---- mapping ---------------------------------------------------------------------------------------------


def test_a_live_vaccine_during_therapy_is_contraindicated_with_its_code(client):
    rec = recommendation(post(client, MAINTENANCE.fhir()))
    yellow_fever = rec.recommendation[0]
    assert yellow_fever.forecastStatus.coding[0].code == "contraindicated"
    assert yellow_fever.contraindicatedVaccineCode[0].coding[0].code == "37"
    assert rec.patient.reference == "Patient/p1"


def test_further_windows_are_further_recommendations_in_date_order(client):
    rec = recommendation(post(client, MAINTENANCE.fhir()))
    starts = [
        str(c.value) for e in rec.recommendation[1:] for c in e.dateCriterion if c.code.coding[0].code == "30981-5"
    ]
    assert len(starts) > 1 and starts == sorted(starts)


def test_a_datetime_counts_as_the_calendar_date_written_whatever_its_time_zone(client):
    facts = Facts(vaccines=("187",), doses=("2026-10-20", "2026-10-27", "2026-11-03"))
    body = facts.fhir()
    body["parameter"][3]["resource"]["effectiveDateTime"] = "2026-11-03T23:30:00-05:00"
    same_day = recommendation(post(client, body))
    assert same_day.model_dump() == recommendation(post(client, facts.fhir())).model_dump()


@pytest.mark.parametrize(
    "concept",
    [
        {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0078-1007-68"}]},
        {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "00078100798"}]},
        {"coding": [{"system": RXNORM, "code": "0000000", "display": "ofatumumab 20 MG in 0.4 ML Auto-Injector"}]},
        {"text": "KESIMPTA Sensoready pen"},
    ],
    ids=["ndc-10", "ndc-11", "rxnorm-by-display", "text"],
)
def test_kesimpta_is_recognised_by_ndc_or_by_name(client, concept):
    # two administrations a week apart: the labelled starter spacing (one alone would be ambiguous, 422)
    body = Facts(vaccines=("187",), doses=("2026-10-20", "2026-10-27")).fhir()
    body["parameter"][1]["resource"]["medicationCodeableConcept"] = concept
    assert post(client, body).status_code == 200


def test_recogniser_edges():
    assert ndc_product("0078-1007") == ("00078", "1007") and ndc_product("0078100768") is None
    assert identify(None, ()).kind == UNIDENTIFIED


def test_a_monthly_repeat_in_the_request_is_the_monthly_cadence(client):
    facts = Facts(vaccines=("187",), doses=("2026-08-31", "2026-09-07", "2026-09-14", "2026-09-28", "2026-10-28"))
    body = facts.fhir()
    body["parameter"].append(
        {
            "name": "medication",
            "resource": {
                "resourceType": "MedicationRequest",
                "id": "rx",
                "status": "active",
                "intent": "order",
                "subject": PATIENT,
                "medicationCodeableConcept": {"text": "ofatumumab"},
                "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "mo"}}}],
            },
        }
    )
    rest = client.post(
        "/v1/plans", json={**facts.rest(), "treatment": {**facts.rest()["treatment"], "cadence": "monthly"}}
    ).get_json()
    rec = recommendation(post(client, body))
    starts = [str(c.value) for e in rec.recommendation for c in e.dateCriterion if c.code.coding[0].code == "30981-5"]
    windows = rest["vaccines"][0]["windows"]
    holding = [next(w for w in windows if w["start"] <= p["date"] <= w["end"]) for p in rest["vaccines"][0]["proposed"]]
    assert starts == [w["start"] for w in holding] and starts[0] == "2026-12-14"


def test_proposed_doses_become_recommendations_with_a_due_date_and_dose_number():
    item = {
        "vaccine": {"id": "zoster-recombinant", "name": "Shingrix", "cvx": "187", "live": False},
        "status": "post_therapy",
        "reason": "r",
        "rules": [],
        "windows": [{"kind": "post_therapy", "start": "2026-11-24", "end": "2027-11-24"}],
        "proposed": [{"dose": 1, "date": "2026-11-24"}, {"dose": 2, "date": "2027-01-19"}],
    }
    entries = recommendations_for(item, [], [], Canonical())
    assert [e.doseNumberPositiveInt for e in entries] == [1, 2]
    assert [[str(c.value) for c in e.dateCriterion if c.code.coding[0].code == "30980-7"] for e in entries] == [
        ["2026-11-24"],
        ["2027-01-19"],
    ]


def test_immunization_history_is_read_and_used_only_when_the_planner_takes_it(client):
    immunization = {
        "name": "immunization",
        "resource": {
            "resourceType": "Immunization",
            "id": "imm1",
            "status": "completed",
            "patient": PATIENT,
            "vaccineCode": {"coding": [{"system": CVX, "code": "03"}]},
            "occurrenceDateTime": "2026-11-10",
        },
    }
    r = post(client, with_parts(MAINTENANCE, immunization))
    out = Parameters.model_validate(r.get_json())
    warnings = [p.valueString for p in out.parameter if p.name == "warning"]
    used = out.parameter[0].resource.recommendation[0].supportingImmunization
    assert [u.reference for u in used] == ["Immunization/imm1"]
    assert not any("immunization history" in w for w in warnings)


def test_needed_by_reaches_the_planner(client):
    r = post(client, with_parts(MAINTENANCE, {"name": "neededBy", "valueDate": "2027-03-01"}))
    assert r.status_code == 200
    rest = client.post(
        "/v1/plans",
        json={
            "as_of": "2026-11-24",
            "vaccines": [{"cvx": "37", "needed_by": "2027-03-01"}],
            "treatment": {"drug": "ofatumumab", "doses": list(MAINTENANCE.doses)},
        },
    )
    descriptions = {e.description for e in Parameters.model_validate(r.get_json()).parameter[0].resource.recommendation}
    assert rest.get_json()["vaccines"][0]["reason"] in descriptions


# ---- errors ----------------------------------------------------------------------------------------------


def test_malformed_json_is_a_400_outcome(client):
    r = client.post(OP, data="{", content_type="application/fhir+json")
    assert outcome(r, 400).issue[0].code == "invalid"


def test_a_resource_that_is_not_parameters_is_a_400_outcome(client):
    assert outcome(post(client, {"resourceType": "Patient"}), 400).issue[0].expression == ["Parameters"]


def test_a_malformed_part_is_a_400_outcome_naming_it(client):
    body = MAINTENANCE.fhir()
    body["parameter"][0]["valueDate"] = "2026-13-45"
    issue = outcome(post(client, body), 400).issue[0]
    assert issue.severity == "error" and issue.expression == ["Parameters.parameter[0].valueDate"]


def test_an_unknown_resource_type_in_a_part_is_a_400_outcome(client):
    body = with_parts(MAINTENANCE, {"name": "medication", "resource": {"resourceType": "NoSuchThing"}})
    assert outcome(post(client, body), 400).issue[0].code == "invalid"


def test_an_unknown_code_system_for_a_vaccine_is_a_422_not_supported(client):
    snomed = {
        "name": "vaccine",
        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "871765008"}]},
    }
    issue = outcome(post(client, with_parts(MAINTENANCE, snomed, drop=("vaccine",))), 422).issue[0]
    assert issue.code == "not-supported" and issue.expression == ["Parameters.parameter[5].valueCodeableConcept"]


def test_no_vaccine_is_a_422_required(client):
    issue = outcome(post(client, with_parts(MAINTENANCE, drop=("vaccine",))), 422).issue[0]
    assert issue.code == "required"


def test_no_medication_is_a_422_required(client):
    issue = outcome(post(client, with_parts(MAINTENANCE, drop=("medication",))), 422).issue[0]
    assert issue.code == "required" and "ofatumumab" in issue.diagnostics


@pytest.mark.parametrize(
    "concept,expected",
    [
        ({"coding": [{"system": ATC, "code": "L04AG03", "display": "natalizumab"}]}, "not recognised"),
        ({"coding": [{"system": ATC, "code": "L01FA02"}], "text": "ofatumumab"}, "Arzerra"),
        ({"coding": [{"system": RXNORM, "code": "0000000"}]}, "not recognised"),
    ],
    ids=["other-drug", "oncology-ofatumumab", "bare-rxnorm"],
)
def test_a_medication_that_is_not_kesimpta_is_a_422_not_a_silent_skip(client, concept, expected):
    body = with_parts(MAINTENANCE, {"name": "medication", "resource": administration("other", "2026-11-10", concept)})
    issue = outcome(post(client, body), 422).issue[0]
    assert issue.code == "not-supported" and expected in issue.diagnostics
    assert issue.expression == ["Parameters.parameter[7].resource.medicationCodeableConcept"]


def test_an_unknown_cvx_code_is_the_planners_422_addressed_to_the_part(client):
    body = with_parts(MAINTENANCE, vaccine_part("9999"))
    issue = outcome(post(client, body), 422).issue[0]
    assert issue.code == "invalid" and issue.expression == ["Parameters.parameter[7].valueCodeableConcept"]


def test_the_planners_dose_errors_name_the_administration_they_came_from(client):
    body = with_parts(MAINTENANCE, {"name": "medication", "resource": administration("again", "2026-11-17")})
    issues = outcome(post(client, body), 422).issue
    assert any(
        i.expression[0].startswith("Parameters.parameter[")
        and i.expression[0].endswith(".effectiveDateTime")
        and "repeats" in i.diagnostics
        for i in issues
    )


def test_a_partial_date_cannot_place_a_dose(client):
    body = MAINTENANCE.fhir()
    body["parameter"][1]["resource"]["effectiveDateTime"] = "2026-10"
    issue = outcome(post(client, body), 422).issue[0]
    assert issue.expression == ["Parameters.parameter[1].resource.effectiveDateTime"]


def test_an_unknown_parameter_is_refused(client):
    issue = outcome(post(client, with_parts(MAINTENANCE, {"name": "patient", "valueString": "x"})), 422).issue[0]
    assert issue.code == "not-supported" and issue.expression == ["Parameters.parameter[7].name"]


def test_wrong_media_type_and_method_and_path_are_outcomes_too(client):
    assert outcome(client.post(OP, data="x", content_type="text/plain"), 415).issue[0].code == "not-supported"
    r = client.get(OP)
    assert outcome(r, 405) and "POST" in r.headers["Allow"]
    outcome(client.get("/fhir/Patient/1"), 404)
    assert client.get("/v1/nothing").content_type == "application/problem+json"


def test_supporting_information_cites_only_the_medication_resources_the_plan_was_read_from(client):
    """Four administrations fix the first dose; a request whose start they overrule (and that gives no
    cadence) produced nothing in the plan, so it is not cited. Add a cadence to it and it is."""
    facts = Facts(vaccines=("187",), doses=MAINTENANCE.doses)
    request = {
        "resourceType": "MedicationRequest",
        "id": "rx",
        "status": "active",
        "intent": "order",
        "subject": PATIENT,
        "medicationCodeableConcept": {"text": "Kesimpta"},
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": "2026-10-20"}}}}],
    }
    body = with_parts(facts, {"name": "medication", "resource": request})
    cited = {s.reference for s in recommendation(post(client, body)).recommendation[0].supportingPatientInformation}
    assert cited == {f"MedicationAdministration/dose-{i}" for i in range(1, 5)}
    request["dosageInstruction"][0]["timing"]["repeat"] |= {"period": 1, "periodUnit": "mo"}
    cited = {s.reference for s in recommendation(post(client, body)).recommendation[0].supportingPatientInformation}
    assert cited == {f"MedicationAdministration/dose-{i}" for i in range(1, 5)} | {"MedicationRequest/rx"}


def test_a_null_element_is_a_400_outcome_naming_it(client):
    """FHIR JSON has no null values (R4 JSON format): a null is refused, not read as absent."""
    body = MAINTENANCE.fhir()
    body["language"] = None
    issue = outcome(post(client, body), 400).issue[0]
    assert issue.expression == ["Parameters.language"]
    body = MAINTENANCE.fhir()
    body["parameter"][0]["valueDate"] = None
    issue = outcome(post(client, body), 400).issue[0]
    assert issue.expression == ["Parameters.parameter[0].valueDate"]
