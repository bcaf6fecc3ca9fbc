"""A continuous therapy (fingolimod, Gilenya) and a course therapy (alemtuzumab) through every front end: the
REST answer and the FHIR operation come from the same profile and say the same."""

from __future__ import annotations

import json

from tests.interop_builders import PATIENT, bundle, service_request

CVX_YELLOW_FEVER = "37"
CVX_INFLUENZA = "150"
AS_OF = "2027-03-01"
GILENYA = {"text": "Gilenya 0.5 mg capsule", "coding": [{"display": "fingolimod 0.5 mg"}]}


def gilenya_order(start: str, stopped: str | None = None) -> dict:
    bounds = {"start": start, **({"end": stopped} if stopped else {})}
    return {
        "resourceType": "MedicationRequest",
        "id": "gilenya-order",
        "status": "stopped" if stopped else "active",
        "intent": "order",
        "subject": PATIENT,
        "medicationCodeableConcept": GILENYA,
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": bounds}}}],
    }


def rest(client, treatment, cvx):
    body = {"as_of": AS_OF, "treatment": treatment, "vaccines": [{"cvx": c} for c in cvx]}
    response = client.post("/v1/plans", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_fingolimod_over_rest_names_its_own_gate_and_cites_its_rules(client):
    answer = rest(
        client, {"drug": "Gilenya", "start_date": "2026-01-01", "stopped_on": "2027-02-15"}, [CVX_YELLOW_FEVER]
    )
    (yf,) = answer["vaccines"]
    assert answer["ruleset"]["id"] == "fingolimod" and answer["treatment"]["phase"] == "stopped"
    assert yf["windows"] == [{"kind": "post_therapy", "start": "2027-04-15", "end": yf["windows"][0]["end"]}]
    assert "fingolimod.live-after-stop" in yf["rules"] and "fingolimod" in yf["reason"]
    assert "ofatumumab" not in json.dumps(answer).lower()


def test_fingolimod_over_fhir_is_recognised_from_its_text_and_answers_as_rest(client):
    parts = [
        {"name": "assessmentDate", "valueDate": AS_OF},
        {"name": "medication", "resource": gilenya_order("2026-01-01")},
        {
            "name": "vaccine",
            "valueCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": CVX_INFLUENZA}]},
        },
        {
            "name": "vaccine",
            "valueCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": CVX_YELLOW_FEVER}]},
        },
    ]
    response = client.post(
        "/fhir/$vaccine-timing",
        data=json.dumps({"resourceType": "Parameters", "parameter": parts}),
        content_type="application/fhir+json",
    )
    assert response.status_code == 200, response.get_json()
    text = json.dumps(response.get_json())
    assert "fingolimod" in text and "ofatumumab" not in text.lower()
    answer = rest(client, {"drug": "fingolimod", "start_date": "2026-01-01"}, [CVX_INFLUENZA, CVX_YELLOW_FEVER])
    assert [v["status"] for v in answer["vaccines"]] == ["during_therapy", "avoid"]


def order_sign(client, cvx):
    """CDS Hooks order-sign for one vaccine order, the patient on fingolimod since 2026-01-01 (as_of: the test
    app's today, 2026-11-24)."""
    body = {
        "hook": "order-sign",
        "hookInstance": "3e0a3a1e-0000-4575-ab82-028d55fe2719",
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "draftOrders": bundle([service_request("order-0", cvx, "2026-11-24")], "collection"),
        },
        "prefetch": {
            "medicationAdministrations": None,
            "medicationRequests": bundle([gilenya_order("2026-01-01")]),
            "medicationStatements": None,
            "immunizations": None,
        },
    }
    response = client.post("/cds-services/vaccine-timing-order-sign", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"]


def test_an_influenza_order_for_a_patient_on_fingolimod_is_inside_its_during_therapy_window(client):
    (card,) = order_sign(client, CVX_INFLUENZA)
    assert card["indicator"] == "info" and "during-therapy" in card["summary"] + card.get("detail", "")


def test_a_yellow_fever_order_for_a_patient_on_fingolimod_gets_a_critical_card_naming_fingolimod(client):
    (card,) = order_sign(client, CVX_YELLOW_FEVER)
    assert card["indicator"] == "critical"
    text = json.dumps(card).lower()
    assert "fingolimod" in text and "ofatumumab" not in text and "fingolimod.live-during-therapy" in text


def test_therapies_list_each_kind_with_its_gate_fields(client):
    listed = {t["id"]: t for t in client.get("/v1/therapies").get_json()["therapies"]}
    assert listed["fingolimod"]["kind"] == "continuous"
    assert listed["fingolimod"]["vaccine_timing"]["gate_fields"] == ["treatment.stopped_on"]
    assert listed["fingolimod"]["vaccine_timing"]["after_stop"] == "2 months"
    assert listed["dimethyl-fumarate"]["vaccine_timing"]["gate_fields"] == ["treatment.lymphocytes_normal_on"]
    assert listed["glatiramer-acetate"]["vaccine_timing"]["gate_fields"] == []
    assert listed["alemtuzumab"]["kind"] == "course"
    assert listed["alemtuzumab"]["vaccine_timing"]["live_after_course"] == "12 months"
    assert listed["siponimod"]["vaccine_timing"]["pause_advice"]


def test_the_lymphocyte_date_reaches_the_plan_through_fhir(client):
    tecfidera = {
        "resourceType": "MedicationRequest",
        "id": "tecfidera-order",
        "status": "stopped",
        "intent": "order",
        "subject": PATIENT,
        "medicationCodeableConcept": {"text": "Tecfidera 240 mg gastro-resistant capsules"},
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": "2025-01-01", "end": "2027-02-01"}}}}],
    }
    yellow_fever = {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": CVX_YELLOW_FEVER}]}

    def parts(*extra):
        return [
            {"name": "assessmentDate", "valueDate": AS_OF},
            {"name": "medication", "resource": tecfidera},
            {"name": "vaccine", "valueCodeableConcept": yellow_fever},
            *extra,
        ]

    def statuses(body):
        response = client.post("/fhir/$vaccine-timing", data=json.dumps(body), content_type="application/fhir+json")
        assert response.status_code == 200, response.get_json()
        recommendation = response.get_json()["parameter"][0]["resource"]["recommendation"]
        return [r["forecastStatus"]["coding"][0]["code"] for r in recommendation]

    without = {"resourceType": "Parameters", "parameter": parts()}
    lab = {"name": "lymphocytesNormalDate", "valueDate": "2027-02-20"}
    assert statuses(without) == ["contraindicated"]
    assert "contraindicated" not in statuses({"resourceType": "Parameters", "parameter": parts(lab)})


def test_words_follow_the_profile_not_the_anti_cd20_family(client):
    # The protection note names the therapy's own effect, not B-cell depletion.
    answer = rest(client, {"drug": "fingolimod", "start_date": "2026-01-01"}, [CVX_INFLUENZA])
    (flu,) = answer["vaccines"]
    assert "immunosuppression by fingolimod" in flu["reason"] and "B-cell" not in flu["reason"]
    # A CDS card for a live vaccine given before a planned start says the lead time as the label writes it.
    body = {
        "hook": "order-sign",
        "hookInstance": "3e0a3a1e-0000-4575-ab82-028d55fe2719",
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "draftOrders": bundle([service_request("order-0", CVX_INFLUENZA, "2026-11-24")], "collection"),
        },
        "prefetch": {
            "medicationAdministrations": None,
            "medicationRequests": bundle([gilenya_order("2026-12-10")]),
            "medicationStatements": None,
            "immunizations": bundle(
                [
                    {
                        "resourceType": "Immunization",
                        "id": "mmr",
                        "status": "completed",
                        "patient": PATIENT,
                        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03"}]},
                        "occurrenceDateTime": "2026-11-20",
                    }
                ]
            ),
        },
    }
    response = client.post("/cds-services/vaccine-timing-order-sign", json=body)
    assert response.status_code == 200, response.get_json()
    summaries = [c["summary"] for c in response.get_json()["cards"]]
    assert any("less than 1 month before the first fingolimod dose" in s for s in summaries), summaries
