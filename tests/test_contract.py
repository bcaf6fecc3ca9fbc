"""The published contract and the code cannot drift apart."""

from __future__ import annotations

import json
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
