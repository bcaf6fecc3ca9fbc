"""docs/adding-a-therapy.md followed with a throwaway profile, in a temporary PLANNER_DATA_DIR: the new therapy
is served on every route (REST, iCalendar, FHIR, CDS Hooks, the clinic page) with no code change, and its own
hand-worked cases pass.

The throwaway is an infusion every 12 weeks (84 days) from dose 1, after two starter infusions 7 days apart,
with live vaccines 35 days and non-live 21 days before the first dose: figures none of the packaged profiles
use, so an answer that came from another profile (or from code) could not pass.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app
from service.data.loader import DATA_DIR, DataError
from tests.test_profiles import cds_body, fhir_body, rest_body, windows

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "adding-a-therapy.md"
PROFILE_ID = "exampleumab"
AS_OF = "2026-11-24"


def throwaway_profile() -> dict[str, Any]:
    """Step 1 of the page: a copy of the closest packaged profile (ocrelizumab.json), every field reworked."""
    doc = json.loads((DATA_DIR / "therapies" / "ocrelizumab.json").read_text(encoding="utf-8"))
    doc.update(id=PROFILE_ID, version="0.1.0", name="exampleumab", brand_names=["Examplia"])
    doc.update(names=["exampleumab", "EXM-1"], kind="dosed", labels=[])
    doc["schedule"] = {
        "text": "Day 1 and day 8, then every 12 weeks from day 1.",
        "starter_gaps_days": [7],
        "starter_doses": 2,
        "maintenance_from_first_dose": True,
        "starter_tolerance_days": 2,
        "default_cadence": "every_12_weeks",
        "cadences": {"every_12_weeks": {"days": 84, "description": "every 12 weeks"}},
    }
    timing = doc["vaccine_timing"]
    timing.update(live_pre_start_days=35, non_live_pre_start_days=21, repletion_min_days_after_last_dose=84)
    timing.update(mid_cycle={"after_min": 42, "after_max": None, "before_min": 14, "before_max": None})
    timing.update(post_therapy_after_last_dose_days=42, b_cell_recheck_days=200, b_cell_recheck_text="200 days")
    for rule in doc["rules"].values():
        rule["id"] = rule["id"].replace("ocrelizumab", PROFILE_ID)
        rule.update(evidence="decision", source="A throwaway profile for a test", citation="Test figures.")
    doc["interop"]["codes"] = {
        "atc": [],
        "ndc_products": [],
        "rxnorm": [],
        "snomed": [],
        "names": ["exampleumab", "examplia"],
    }
    doc["interop"]["fhir_cadences"] = [{"period": 12, "unit": "wk", "cadence": "every_12_weeks"}]
    doc["interop"]["fhir_starter_repeats"] = [{"period": 1, "unit": "wk"}]
    return doc


def throwaway_cases() -> dict[str, Any]:
    """Step 2: its cases, worked by hand. Start 2027-02-01: live until - 35 = 2026-12-28, non-live until - 21 =
    2027-01-11; doses 02-01, 02-08, 02-01 + 84 = 04-26, + 168 = 07-19, + 252 = 10-11 (+ 336 = 2028-01-03, past
    the horizon); slots [D + 42, N - 14]: 02-08..04-26 -> [03-22, 04-12], 04-26..07-19 -> [06-07, 07-05],
    07-19..10-11 -> [08-30, 09-27], 10-11..2028-01-03 -> [11-22, 12-20] clipped to 2027-11-24."""
    new_start = {
        "name": "new start",
        "tags": ["new_start"],
        "channels": ["rest", "fhir", "cds"],
        "treatment": {"drug": "Examplia", "start_date": "2027-02-01"},
        "note": "see throwaway_cases",
        "expect": {
            "treatment": {
                "phase": "not_started",
                "next_dose": "2027-02-01",
                "cadence": "every_12_weeks",
                "label": "strictest",
                "projected_doses": ["2027-02-01", "2027-02-08", "2027-04-26", "2027-07-19", "2027-10-11"],
            },
            "vaccines": [
                {"status": "pre_start", "windows": [["pre_start", "2026-11-24", "2026-12-28"]]},
                {
                    "status": "pre_start",
                    "windows": [
                        ["pre_start", "2026-11-24", "2027-01-11"],
                        ["mid_cycle", "2027-03-22", "2027-04-12"],
                        ["mid_cycle", "2027-06-07", "2027-07-05"],
                        ["mid_cycle", "2027-08-30", "2027-09-27"],
                        ["mid_cycle", "2027-11-22", "2027-11-24"],
                    ],
                },
            ],
            "warnings": [],
        },
    }
    return {
        "profile": PROFILE_ID,
        "as_of": AS_OF,
        "horizon_days": 365,
        "vaccines": [{"cvx": "37"}, {"cvx": "101"}],
        "fhir_medication": {"text": "Examplia 100 mg infusion"},
        "cases": [new_start],
    }


def throwaway_sentinels() -> dict[str, Any]:
    """Step 3: its sentinel file (service/data/sentinels/<id>.json), the hand-worked cases as plans the loader
    answers before serving. The throwaway's rules cite "Test figures.", so it lists no label values."""
    doc = throwaway_cases()
    cases = []
    for case in doc["cases"]:
        expect: dict[str, Any] = {f"treatment.{k}": v for k, v in case["expect"]["treatment"].items()}
        for i, item in enumerate(case["expect"]["vaccines"]):
            expect[f"vaccines[{i}].status"] = item["status"]
            expect[f"vaccines[{i}].windows"] = [{"kind": k, "start": a, "end": b} for k, a, b in item["windows"]]
        expect["warnings[*].code"] = {"sorted": case["expect"]["warnings"]}
        cases.append({"name": case["name"], "worked": case["note"], "request": rest_body(doc, case), "expect": expect})
    return {"profile": PROFILE_ID, "description": "The throwaway profile's hand-worked plans.", "cases": cases}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("planner") / "data"
    shutil.copytree(DATA_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    (target / "therapies" / f"{PROFILE_ID}.json").write_text(json.dumps(throwaway_profile(), indent=1))
    (target / "sentinels" / f"{PROFILE_ID}.json").write_text(json.dumps(throwaway_sentinels(), indent=1))
    return target


@pytest.fixture(scope="module")
def served(data_dir: Path) -> Any:
    app = create_app({"TODAY": date.fromisoformat(AS_OF), "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"})
    return app


@pytest.fixture()
def client(served: Any) -> Any:
    return served.test_client()


def case_and_profile(served: Any) -> tuple[dict[str, Any], dict[str, Any], Any]:
    doc = throwaway_cases()
    return doc, doc["cases"][0], served.extensions["planner"].ruleset.therapies.find(PROFILE_ID)


def test_the_listing_and_the_rules_show_it(client):
    listed = {t["id"]: t for t in client.get("/v1/therapies").get_json()["therapies"]}
    assert listed[PROFILE_ID]["schedule"]["cadences"] == {
        "every_12_weeks": {"days": 84, "months": 0, "description": "every 12 weeks"}
    }
    rules = {r["id"] for r in client.get("/v1/rules").get_json()["rules"]}
    assert f"{PROFILE_ID}.mid-cycle-slot" in rules
    assert PROFILE_ID in client.get("/readyz").get_json()["ruleset"]


def test_rest_and_icalendar_answer_its_hand_worked_dates(client, served):
    doc, case, _ = case_and_profile(served)
    body = client.post("/v1/plans", json=rest_body(doc, case)).get_json()
    assert body["ruleset"]["id"] == PROFILE_ID
    expect = case["expect"]
    assert {k: body["treatment"][k] for k in expect["treatment"]} == expect["treatment"]
    assert [(v["status"], windows(v)) for v in body["vaccines"]] == [
        (v["status"], v["windows"]) for v in expect["vaccines"]
    ]
    assert "exampleumab" in body["vaccines"][0]["reason"]
    calendar = client.post("/v1/plans.ics", json=rest_body(doc, case)).get_data(as_text=True)
    assert "20270426" in calendar and "exampleumab" in calendar.lower()


def test_its_cadence_is_taken_and_another_therapys_refused(client):
    body = {"as_of": AS_OF, "treatment": {"drug": "EXM-1", "start_date": "2027-02-01", "cadence": "every_4_weeks"}}
    r = client.post("/v1/plans", json={**body, "vaccines": [{"cvx": "37"}]})
    assert r.status_code == 422
    (error,) = r.get_json()["errors"]
    assert error["field"] == "treatment.cadence" and "every_12_weeks" in error["message"]


def test_fhir_recognises_it_from_the_loaded_data(client, served):
    doc, case, profile = case_and_profile(served)
    r = client.post("/fhir/$vaccine-timing", json=fhir_body(profile, doc, case))
    assert r.status_code == 200, r.get_json()
    version = next(p for p in r.get_json()["parameter"] if p["name"] == "rulesetVersion")["valueString"]
    assert version == served.extensions["planner"].ruleset.therapies.versions[PROFILE_ID]
    definition = client.get("/fhir/OperationDefinition/vaccine-timing").get_json()
    assert "exampleumab" in json.dumps(definition)


def test_cds_hooks_cards_name_it(client, served):
    doc, case, profile = case_and_profile(served)
    cards = client.post("/cds-services/vaccine-timing-order-sign", json=cds_body(profile, doc, case)).get_json()[
        "cards"
    ]
    assert cards and all(c["source"]["label"] == "Vaccine timing planner (exampleumab rules)" for c in cards)
    assert "exampleumab" in json.dumps(client.get("/cds-services").get_json())


def test_the_clinic_page_offers_it_with_its_cadence(client):
    page = client.get("/").get_data(as_text=True)
    assert 'value="exampleumab"' in page and 'value="every_12_weeks"' in page
    # The clinic's therapy (PLANNER_CLINIC_THERAPY) stays the one selected first.
    assert page.index('value="ofatumumab"') < page.index('value="exampleumab"')


def test_a_typo_in_its_interop_codes_stops_start_up_naming_file_and_field(data_dir, tmp_path):
    broken = tmp_path / "data"
    shutil.copytree(data_dir, broken)
    path = broken / "therapies" / f"{PROFILE_ID}.json"
    doc = json.loads(path.read_text())
    doc["interop"]["codes"]["ndc_products"] = ["0078_1007"]
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError) as raised:
        create_app({"TODAY": date.fromisoformat(AS_OF), "DATA_DIR": str(broken), "LOG_LEVEL": "CRITICAL"})
    assert raised.value.field == "interop.codes.ndc_products[0]" and raised.value.path.endswith(f"{PROFILE_ID}.json")


def test_a_second_profile_in_the_data_is_planned_listed_and_cited_by_its_own_rule_ids(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    profile = json.loads((data / "therapies" / "ofatumumab.json").read_text())
    profile.update(id="examplimab", name="examplimab", brand_names=["Examplo"], names=["examplimab"])
    for rule in profile["rules"].values():
        rule["id"] = rule["id"].replace("ofatumumab.", "examplimab.")
    (data / "therapies" / "examplimab.json").write_text(json.dumps(profile))
    # Its label values and hand-worked plans (required for every profile): here ofatumumab's, as the copy has
    # the same label figures.
    sentinels = json.loads((data / "sentinels" / "ofatumumab.json").read_text())
    sentinels["profile"] = "examplimab"
    for case in sentinels["cases"]:
        case["request"]["treatment"]["drug"] = "examplimab"
    (data / "sentinels" / "examplimab.json").write_text(json.dumps(sentinels))
    client = create_app({"TODAY": date(2026, 11, 24), "LOG_LEVEL": "WARNING", "DATA_DIR": str(data)}).test_client()

    doses = ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]
    body = {"as_of": "2026-11-24", "treatment": {"drug": "Examplo", "doses": doses}, "vaccines": [{"name": "Shingrix"}]}
    answer = client.post("/v1/plans", json=body).get_json()
    assert answer["ruleset"]["id"] == "examplimab" and answer["treatment"]["drug"] == "examplimab"
    cited = answer["vaccines"][0]["rules"]
    assert "examplimab.mid-cycle-slot" in cited and not any(r.startswith("ofatumumab.") for r in cited)
    therapies = client.get("/v1/therapies").get_json()["therapies"]
    assert {"examplimab", "ofatumumab"} <= {t["id"] for t in therapies}


def test_the_doc_lists_every_code_file_that_names_ofatumumab_and_no_other():
    """Text under service/ outside the data and the generated examples: when a file stops naming the drug (or
    starts), the doc's table says so too."""
    naming = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "service").rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".html", ".js", ".css"}
        and re.search(r"ofatumumab|kesimpta", path.read_text(encoding="utf-8"), re.I)
    }
    table = DOC.read_text(encoding="utf-8").split("| file | what names ofatumumab |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"`(service/[^`]+)`", table))
    assert naming == listed, (
        f"docs/adding-a-therapy.md: not listed {sorted(naming - listed)}, listed but clean {sorted(listed - naming)}"
    )
