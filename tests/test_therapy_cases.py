"""Every continuous and course therapy's hand-worked cases (service/data/therapies/cases/<id>.json), run
through POST /v1/plans: the phase, each vaccine's status and windows, the warnings, or the 422 naming the field.

A profile of these kinds without a case table fails here, so a new therapy is tested the day it is added."""

import json

import pytest

from service.data.loader import DATA_DIR
from service.domain.gates import CONTINUOUS, COURSE

CASES_DIR = DATA_DIR / "therapies" / "cases"


def _tables() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(CASES_DIR.glob("*.json"))}


TABLES = _tables()
CASES = [(pid, c) for pid, table in TABLES.items() for c in table["cases"]]


def test_every_continuous_and_course_profile_has_its_table_and_every_table_its_profile(ruleset):
    kinds = {p.id for p in ruleset.therapies.profiles if getattr(p, "kind", "") in (CONTINUOUS, COURSE)}
    assert kinds == set(TABLES)
    for pid, table in TABLES.items():
        assert table["therapy"] == pid
        assert ruleset.therapies.find(table["cases"][0]["treatment"]["drug"]).id == pid


def test_each_table_covers_on_therapy_planned_start_and_stopped_with_and_without_a_gate_date():
    for pid, table in TABLES.items():
        phases = {c.get("phase") for c in table["cases"]}
        assert "not_started" in phases, pid
        assert phases & {"on_therapy", "in_course", "between_courses"}, pid
        assert phases & {"stopped", "after_courses"}, pid
        assert any(c.get("error", {}).get("code") == "gate_not_used" for c in table["cases"]), pid


@pytest.mark.parametrize(("therapy", "case"), CASES, ids=[f"{pid}: {c['name']}" for pid, c in CASES])
def test_hand_worked_case(client, therapy, case):
    body = {
        "as_of": case["as_of"],
        "horizon_days": case["horizon_days"],
        "treatment": case["treatment"],
        "vaccines": [{"name": "yellow fever"}, {"name": "influenza inactivated"}],
    }
    response = client.post("/v1/plans", json=body)
    if "error" in case:
        assert response.status_code == 422, response.get_json()
        errors = response.get_json()["errors"]
        assert {"field": case["error"]["field"], "code": case["error"]["code"]} in [
            {"field": e["field"], "code": e["code"]} for e in errors
        ], errors
        return
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["ruleset"]["id"] == therapy
    assert answer["treatment"]["phase"] == case["phase"]
    for (name, expected), got in zip(case["vaccines"].items(), answer["vaccines"], strict=True):
        assert got["request"]["name"] == name
        windows = [[w["kind"], w["start"], w["end"]] for w in got["windows"]]
        assert (got["status"], windows) == (expected["status"], expected["windows"]), got["reason"]
        if "reason_contains" in expected:
            assert expected["reason_contains"] in got["reason"]
        assert got["rules"] and all(
            r.startswith((therapy + ".", "plan.", "lead-time.", "series.")) for r in got["rules"]
        )
    assert [w["code"] for w in answer["warnings"]] == case["warnings"]
