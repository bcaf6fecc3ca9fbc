"""Every therapy profile against its own hand-worked cases, through REST, FHIR and CDS Hooks.

The page and the iCalendar export are checked with the same cases (statuses, next dose, projected doses).

A profile's cases live beside its tests, in tests/data/therapies/<id>.json (docs/adding-a-therapy.md): dates
worked by hand from the profile's figures (each case's `note` shows the arithmetic), for a new start, the
starter doses, maintenance, a missed dose, a stop with and without a laboratory repletion date, and each label
the profile encodes. A packaged profile without its cases, or without one of those situations, fails here: a
new therapy is tested the day it is added.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.parameters import Parameters
from werkzeug.datastructures import MultiDict

from service.data.loader import load_ruleset
from tests.interop_builders import PATIENT, administration, bundle, service_request, vaccine_part

CASES_DIR = Path(__file__).resolve().parent / "data" / "therapies"
EARLIEST, LATEST = "30981-5", "59777-3"
SIGN = "/cds-services/vaccine-timing-order-sign"


def load_cases(profile_id: str, directory: Path = CASES_DIR) -> dict[str, Any]:
    return json.loads((directory / f"{profile_id}.json").read_text(encoding="utf-8"))


def required_tags(profile: Any) -> set[str]:
    """The situations a profile's cases must cover."""
    tags = {"new_start", "maintenance", "missed", "stopped", "stopped_repleted", "refused"}
    if profile.starter_doses:
        tags.add("starter")
    return tags | set(profile.labels)


PROFILES = [p.id for p in load_ruleset().therapies.profiles]
CASES = [
    (pid, case["name"]) for pid in PROFILES if (CASES_DIR / f"{pid}.json").exists() for case in load_cases(pid)["cases"]
]


def find_case(profile_id: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = load_cases(profile_id)
    return doc, next(c for c in doc["cases"] if c["name"] == name)


def rest_body(doc: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    return {
        "as_of": doc["as_of"],
        "treatment": case["treatment"],
        "vaccines": doc["vaccines"],
        "horizon_days": doc["horizon_days"],
    }


def medication_resources(profile: Any, doc: dict[str, Any], treatment: dict[str, Any]) -> list[dict[str, Any]]:
    """The treatment as an EHR records it: completed administrations, and a request for the start, stop and
    cadence (coded as the case file's `fhir_medication`, a coding the profile lists)."""
    concept = doc["fhir_medication"]
    out = [administration(f"dose-{i + 1}", day, concept) for i, day in enumerate(treatment.get("doses", []))]
    bounds = {k: treatment[f] for k, f in (("start", "start_date"), ("end", "stopped_on")) if treatment.get(f)}
    repeat: dict[str, Any] = {"boundsPeriod": bounds} if bounds else {}
    if treatment.get("cadence"):
        row = next(r for r in profile.interop["fhir_cadences"] if r["cadence"] == treatment["cadence"])
        repeat.update(period=row["period"], periodUnit=row["unit"])
    if repeat:
        out.append(
            {
                "resourceType": "MedicationRequest",
                "id": "therapy-order",
                "status": "stopped" if treatment.get("stopped_on") else "active",
                "intent": "order",
                "subject": PATIENT,
                "medicationCodeableConcept": concept,
                "dosageInstruction": [{"timing": {"repeat": repeat}}],
            }
        )
    return out


def fhir_body(profile: Any, doc: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    treatment = case["treatment"]
    parts: list[dict[str, Any]] = [{"name": "assessmentDate", "valueDate": doc["as_of"]}]
    parts += [{"name": "medication", "resource": r} for r in medication_resources(profile, doc, treatment)]
    parts += [vaccine_part(v["cvx"]) for v in doc["vaccines"]]
    parts.append({"name": "horizonDays", "valueInteger": doc["horizon_days"]})
    if treatment.get("b_cell_repletion_on"):
        parts.append({"name": "bCellRepletionDate", "valueDate": treatment["b_cell_repletion_on"]})
    return {"resourceType": "Parameters", "parameter": parts}


def cds_body(profile: Any, doc: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    meds = medication_resources(profile, doc, case["treatment"])
    admins = [r for r in meds if r["resourceType"] == "MedicationAdministration"]
    requests = [r for r in meds if r["resourceType"] == "MedicationRequest"]
    orders = [service_request(f"order-{i}", v["cvx"], doc["as_of"]) for i, v in enumerate(doc["vaccines"])]
    return {
        "hook": "order-sign",
        "hookInstance": "0d6f3c42-6a9b-4b7e-9d3c-2b2f1f0c2222",
        "context": {"userId": "Practitioner/1", "patientId": "p1", "draftOrders": bundle(orders, "collection")},
        "prefetch": {
            "medicationAdministrations": bundle(admins) if admins else None,
            "medicationRequests": bundle(requests) if requests else None,
            "medicationStatements": None,
            "immunizations": None,
        },
    }


def windows(item: dict[str, Any]) -> list[list[str]]:
    return [[w["kind"], w["start"], w["end"]] for w in item["windows"]]


# ---- every profile has its cases -------------------------------------------------------------------------


@pytest.mark.parametrize("profile_id", PROFILES)
def test_every_profile_has_hand_worked_cases_for_every_situation(ruleset, profile_id):
    profile = ruleset.therapies.find(profile_id)
    assert (CASES_DIR / f"{profile_id}.json").exists(), f"tests/data/therapies/{profile_id}.json is missing"
    doc = load_cases(profile_id)
    assert doc["profile"] == profile_id and doc["as_of"] == "2026-11-24"  # the test app's today (CDS Hooks)
    covered = {tag for case in doc["cases"] for tag in case["tags"]}
    assert required_tags(profile) <= covered, required_tags(profile) - covered
    channels = {c for case in doc["cases"] for c in case["channels"]}
    assert {"rest", "fhir", "cds"} <= channels


# ---- REST -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("profile_id", "name"), CASES, ids=[f"{p}: {n}" for p, n in CASES])
def test_rest_answers_the_hand_worked_dates(client, ruleset, profile_id, name):
    doc, case = find_case(profile_id, name)
    expect = case["expect"]
    r = client.post("/v1/plans", json=rest_body(doc, case))
    body = r.get_json()
    if expect.get("status") == 422:
        assert r.status_code == 422, body
        assert {e["field"] for e in body["errors"]} == set(expect["errors"]), body["errors"]
        return
    assert r.status_code == 200, body
    assert body["ruleset"] == {"id": profile_id, "version": ruleset.therapies.versions[profile_id]}
    assert {k: body["treatment"][k] for k in expect["treatment"]} == expect["treatment"], case["note"]
    for item, want in zip(body["vaccines"], expect["vaccines"], strict=True):
        assert item["status"] == want["status"] and windows(item) == want["windows"], (case["note"], item["reason"])
        if "b_cell_recheck_on" in want:
            assert item["b_cell_recheck_on"] == want["b_cell_recheck_on"]
    assert sorted(w["code"] for w in body["warnings"]) == expect["warnings"]
    # Every therapy rule the answer cites is this profile's own (its label's or guideline's, never another's).
    own = {rule.id for rule in ruleset.therapies.find(profile_id).rules.values()}
    others = {rule.id for p in ruleset.therapies.profiles if p.id != profile_id for rule in p.rules.values()}
    cited = {rule for item in body["vaccines"] for rule in item["rules"]} | {
        rule for w in body["warnings"] for rule in w["rules"]
    }
    assert cited & own and not cited & others


# ---- FHIR and CDS Hooks agree with REST -------------------------------------------------------------------

FHIR_CASES = [(p, n) for p, n in CASES if "fhir" in find_case(p, n)[1]["channels"]]
CDS_CASES = [(p, n) for p, n in CASES if "cds" in find_case(p, n)[1]["channels"]]


@pytest.mark.parametrize(("profile_id", "name"), FHIR_CASES, ids=[f"{p}: {n}" for p, n in FHIR_CASES])
def test_fhir_recognises_the_profile_and_agrees_with_rest(client, ruleset, profile_id, name):
    doc, case = find_case(profile_id, name)
    profile = ruleset.therapies.find(profile_id)
    plan = client.post("/v1/plans", json=rest_body(doc, case)).get_json()
    r = client.post("/fhir/$vaccine-timing", json=fhir_body(profile, doc, case))
    assert r.status_code == 200, r.get_json()
    out = Parameters.model_validate(r.get_json())
    version = next(p.valueString for p in out.parameter if p.name == "rulesetVersion")
    assert version == plan["ruleset"]["version"]
    entries = list(out.parameter[0].resource.recommendation)
    for item, want in zip(plan["vaccines"], case["expect"]["vaccines"], strict=True):
        mine = [e for e in entries if e.vaccineCode[0].coding[0].code == item["vaccine"]["cvx"]]
        assert all(e.description == item["reason"] for e in mine)
        if want["status"] == "avoid":
            assert [e.forecastStatus.coding[0].code for e in mine] == ["contraindicated"]
            continue
        for e in (e for e in mine if e.dateCriterion):
            dates = {c.code.coding[0].code: str(c.value) for c in e.dateCriterion}
            # The window that holds the proposed dose is one of the hand-worked windows.
            assert any(start <= dates[EARLIEST] <= end for _, start, end in want["windows"])
            if LATEST in dates:
                assert any(dates[LATEST] == end for _, _, end in want["windows"])


@pytest.mark.parametrize(("profile_id", "name"), CDS_CASES, ids=[f"{p}: {n}" for p, n in CDS_CASES])
def test_cds_cards_name_the_therapy_and_agree_with_rest(client, ruleset, profile_id, name):
    doc, case = find_case(profile_id, name)
    profile = ruleset.therapies.find(profile_id)
    plan = client.post("/v1/plans", json=rest_body(doc, case)).get_json()
    r = client.post(SIGN, json=cds_body(profile, doc, case))
    assert r.status_code == 200, r.get_json()
    cards = r.get_json()["cards"]
    planned = [c for c in cards if "order" in c["extension"]["vaccine-timing-planner"]]
    assert len(planned) == len(plan["vaccines"])
    for card, item in zip(planned, plan["vaccines"], strict=True):
        data = card["extension"]["vaccine-timing-planner"]
        assert (data["status"], data.get("windows", [])) == (item["status"], item["windows"])
        assert data["rulesetVersion"] == plan["ruleset"]["version"]
        assert card["source"]["label"] == f"Vaccine timing planner ({profile.name} rules)"
    other_names = {p.name for p in ruleset.therapies.profiles if p.name not in profile.name}
    for card in cards:
        text = " ".join(
            [card["summary"], card["source"]["label"]] + [o["display"] for o in card.get("overrideReasons", [])]
        ).lower()
        assert not any(other.lower() in text for other in other_names), text
        stopped = [o["display"] for o in card.get("overrideReasons", []) if o["code"] == "therapy-stopped"]
        assert all(profile.name.lower() in d.lower() for d in stopped)


# ---- the clinic page and iCalendar -------------------------------------------------------------------------

PAGE_CASES = [(p, n) for p, n in CASES if find_case(p, n)[1]["expect"].get("status") != 422]


def page_fields(doc: dict[str, Any], case: dict[str, Any]) -> MultiDict[str, str]:
    """The clinic form a nurse would fill in for the case (field names are the API's)."""
    treatment = case["treatment"]
    fields = [("as_of", doc["as_of"]), ("drug", treatment["drug"])]
    fields += [
        (k, treatment[k])
        for k in ("start_date", "stopped_on", "b_cell_repletion_on", "cadence", "label")
        if k in treatment
    ]
    fields += [("doses", d) for d in treatment.get("doses", [])]
    fields += [("vaccines", {"37": "YF-Vax", "101": "Typhim Vi"}[v["cvx"]]) for v in doc["vaccines"]]
    return MultiDict(fields)


@pytest.mark.parametrize(("profile_id", "name"), PAGE_CASES, ids=[f"{p}: {n}" for p, n in PAGE_CASES])
def test_the_clinic_page_and_the_calendar_give_the_hand_worked_dates(client, profile_id, name):
    doc, case = find_case(profile_id, name)
    expect = case["expect"]
    page = client.post("/clinic/plan", data=page_fields(doc, case))
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:2000]
    shown = re.findall(r'data-vaccine-id="[^"]+" data-status="([^"]+)"', html)
    assert shown == [v["status"] for v in expect["vaccines"]]
    next_dose = expect["treatment"]["next_dose"]
    if next_dose:
        assert f'<time datetime="{next_dose}" data-next-dose>' in html
    calendar = client.post("/v1/plans.ics", json=rest_body(doc, case)).get_data(as_text=True)
    for day in expect["treatment"]["projected_doses"][:2]:
        assert day.replace("-", "") in calendar


# ---- recognition: forms of one molecule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        ({"text": "Ocrevus 300 mg/10 mL"}, "ocrelizumab"),
        ({"text": "OCREVUS ZUNOVO 920 mg"}, "ocrelizumab-sc"),
        ({"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "50242055401"}]}, "ocrelizumab-sc"),
        ({"coding": [{"system": "http://www.whocc.no/atc", "code": "L04AG08"}], "text": "Ocrevus"}, "ocrelizumab"),
        ({"coding": [{"system": "http://www.whocc.no/atc", "code": "L01FA01"}]}, "rituximab"),
        ({"text": "Ruxience (rituximab-pvvr) 500 mg"}, "rituximab"),
        ({"text": "BRIUMVI 150 mg"}, "ublituximab"),
        ({"text": "Kesimpta Sensoready pen"}, "ofatumumab"),
        # The ATC code alone is shared by the intravenous and subcutaneous forms: unidentified, not guessed.
        ({"coding": [{"system": "http://www.whocc.no/atc", "code": "L04AG08"}]}, None),
    ],
)
def test_the_most_specific_code_or_name_decides_between_forms_of_one_molecule(ruleset, concept, expected):
    from fhir.resources.R4B.codeableconcept import CodeableConcept

    from service.interop.medication import THERAPY, UNIDENTIFIED, identify, therapy_codes

    found = identify(CodeableConcept.model_validate(concept), therapy_codes(ruleset.therapies.profiles))
    if expected is None:
        assert found.kind == UNIDENTIFIED and "ocrelizumab" in found.why and "(subcutaneous)" in found.why
    else:
        assert found.kind == THERAPY and found.therapy is not None and found.therapy.profile_id == expected


def test_rituximab_for_subcutaneous_oncology_use_is_not_covered(ruleset):
    from fhir.resources.R4B.codeableconcept import CodeableConcept

    from service.interop.medication import NOT_COVERED, identify, therapy_codes

    found = identify(CodeableConcept(text="Rituxan Hycela 1400 mg"), therapy_codes(ruleset.therapies.profiles))
    assert found.kind == NOT_COVERED and "subcutaneous" in found.why
