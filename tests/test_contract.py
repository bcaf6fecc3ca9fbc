"""The published contract and the code cannot drift apart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from openapi_spec_validator import validate

from service.api.examples import PLAN_REQUEST_EXAMPLE, PLAN_RESPONSE_EXAMPLE

ROOT = Path(__file__).resolve().parents[1]


def test_openapi_file_equals_the_document_the_code_serves(client):
    served = yaml.safe_load(client.get("/openapi.yaml").get_data(as_text=True))
    on_disk = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    assert on_disk == served, "openapi.yaml is stale: run `make openapi` and commit the result"


def test_openapi_json_and_yaml_are_the_same_document(client):
    as_json = client.get("/openapi.json").get_json()
    as_yaml = yaml.safe_load(client.get("/openapi.yaml").get_data(as_text=True))
    assert as_json == as_yaml


def test_openapi_document_is_valid_openapi_3():
    validate(yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8")))


def test_every_served_route_is_in_the_document(app):
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    documented = set(spec["paths"])
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "docs.static") or rule.rule.startswith("/docs/"):
            continue  # static assets of the documentation page
        if rule.endpoint.startswith("clinic."):
            continue  # the travel clinic page (HTML forms for people, docs/clinic.md) is not part of the JSON API
        path = rule.rule.replace("<string:", "{").replace("<path:", "{").replace("<", "{").replace(">", "}")
        if path.startswith("/cds-services/{service_id}"):
            # Each CDS service is documented as its own path, so that its request names its own hook.
            from service.interop.cards import SERVICES

            for service_id in SERVICES:
                concrete = path.replace("{service_id}", service_id)
                assert concrete in documented, f"{rule.rule} for {service_id} is served but not documented"
            continue
        assert path in documented, f"{rule.rule} is served but not documented"


def test_the_documented_response_example_is_what_the_service_answers(app):
    from datetime import date

    from service.app import create_app

    pinned = create_app({"TODAY": date.fromisoformat(PLAN_REQUEST_EXAMPLE["as_of"]), "LOG_LEVEL": "WARNING"})
    answer = pinned.test_client().post("/v1/plans", json=PLAN_REQUEST_EXAMPLE).get_json()
    # The ruleset version carries a digest of the data files; everything else must match to the letter.
    expected = json.loads(json.dumps(PLAN_RESPONSE_EXAMPLE))
    assert answer["ruleset"]["id"] == expected["ruleset"]["id"]
    answer["ruleset"]["version"] = expected["ruleset"]["version"]
    assert answer == expected, "the response example is stale: run `make openapi`"


def test_every_operation_has_an_operation_id_a_generator_can_name_a_method_after():
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values() if "responses" in op]
    assert (
        len(ids)
        == len(set(ids))
        == sum(1 for item in spec["paths"].values() for op in item.values() if "responses" in op)
    )
    assert all(re.fullmatch(r"[a-z][A-Za-z]+", i) for i in ids), ids
    assert {
        "createPlan",
        "createPlanBatch",
        "createPlanCalendar",
        "listVaccines",
        "getVaccine",
        "listTherapies",
        "listRules",
    } <= set(ids)


def test_every_error_code_the_code_writes_is_documented():
    from service.domain.errors import ERROR_CODES

    written = set()
    for path in (ROOT / "service").rglob("*.py"):
        written |= set(re.findall(r'code="([a-z_]+)"', path.read_text(encoding="utf-8")))
    written |= {
        "invalid",
        "required",
        "unknown_field",
    }  # FieldError's default and the schema's (planning.flatten_messages)
    assert written <= set(ERROR_CODES), written - set(ERROR_CODES)
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    documented = spec["components"]["schemas"]["FieldError"]["properties"]["code"]["description"]
    assert all(f"{code}:" in documented for code in ERROR_CODES)


def test_x_request_id_is_documented_on_every_operation_and_response():
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if "responses" not in op:
                continue
            assert {"$ref": "#/components/parameters/RequestId"} in op["parameters"], (method, path)
            for status, response in op["responses"].items():
                response = (
                    spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                    if "$ref" in response
                    else response
                )
                assert "X-Request-ID" in response["headers"], (method, path, status)


def test_the_yaml_document_is_written_once_per_app():
    from datetime import date

    from service.app import create_app

    fresh = create_app({"TODAY": date(2026, 11, 24), "LOG_LEVEL": "WARNING"})
    assert "openapi_yaml" not in fresh.extensions
    first = fresh.test_client().get("/openapi.yaml")
    cached = fresh.extensions["openapi_yaml"]
    second = fresh.test_client().get("/openapi.yaml")
    assert first.get_data(as_text=True) == second.get_data(as_text=True) == cached
    assert fresh.extensions["openapi_yaml"] is cached


# The only answer fields that may be absent (see schemas.response): everything else is always present.
OPTIONAL_ANSWER_FIELDS = {
    "VaccineRef": {"name", "cvx"},  # the one the request used
    "BatchResult": {"plan", "problem"},  # by status
    "Problem": {"errors", "errors_omitted"},  # errors_omitted only when a list was capped
    "FieldError": {"candidates"},
    "Rule": {"role", "group"},  # role in a therapy profile, group in GET /v1/rules
    # A dosed therapy's starter phase and label-dependent default cadence (continuous and course have none).
    "TherapySchedule": {
        "starter_gaps_days",
        "starter_doses",
        "starter_tolerance_days",
        "maintenance_from_first_dose",
        "default_cadence_by_label",
    },
    # Each kind's own figures: dosed (mid-cycle slot, B-cell figures), continuous, course.
    "VaccineTiming": {
        "mid_cycle",
        "by_label",
        "post_therapy_after_last_dose_days",
        "b_cell_recheck_days",
        "b_cell_recheck_text",
        "b_cell_consensus_days",
        "repletion_min_days_after_last_dose",
        "live_pre_start",
        "lymphocytes_gate",
        "after_stop",
        "pause_advice",
        "non_live_lead_days",
        "non_live_after_course",
        "live_after_course",
        "recheck_after",
    },
}


def test_every_answer_field_is_required_unless_it_may_really_be_absent():
    """A new response schema must be decorated with schemas.response(), naming any field it may leave out."""
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    seen: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] not in seen:
                seen.add(ref.rsplit("/", 1)[1])
                walk(schemas[ref.rsplit("/", 1)[1]])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path, item in spec["paths"].items():
        if path.startswith("/v1/") or path in ("/healthz", "/readyz"):
            for operation in item.values():
                if "responses" in operation:
                    walk(operation["responses"])
    walk({"$ref": "#/components/responses/NOT_FOUND"})
    assert {"PlanResponse", "TreatmentOut", "VaccinePlan", "Problem", "Therapy", "Catalog"} <= seen
    for name in sorted(seen):
        properties = set(schemas[name].get("properties", {}))
        missing = properties - set(schemas[name].get("required", [])) - OPTIONAL_ANSWER_FIELDS.get(name, set())
        assert not missing, f"{name}: {sorted(missing)} not required (decorate with schemas.response())"
