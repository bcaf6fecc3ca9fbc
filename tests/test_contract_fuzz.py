"""Contract fuzzing: schemathesis generates requests from openapi.yaml (the published file, not the served
copy) and sends them to the app in-process. Every check it has must pass: no 5xx, every status, header,
content type and body as the document says, and no request the document forbids accepted.

Bounded and repeatable: a fixed seed, a fixed number of examples per operation and mode, no database of
past failures (so a run depends on nothing but the code and the document).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.app import create_app

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261124
MAX_EXAMPLES = 100
API_KEY = "fuzz-key-0123456789"

app = create_app({"TODAY": date(2026, 11, 24), "LOG_LEVEL": "CRITICAL", "API_KEYS": API_KEY})
schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=SchemathesisConfig(seed=SEED))
schema.app = app
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES, database="none"
)
schema.config.update(headers={"Authorization": f"Bearer {API_KEY}"})
# A request can match the document and still be refused with 422 for what only the catalog and the rules
# know (an unknown vaccine or therapy, a dose after as_of): the contract says so. That 422 must come from
# the planner, though, never from the request schema: see the check below.
schema.config.checks.positive_data_acceptance.expected_statuses = ["2xx", "401", "404", "422"]
SHAPE_REJECTION = "The request does not match the contract"
HL7_ROUTES = ("/fhir/", "/cds-services")


@schemathesis.check
def document_and_request_schema_agree(ctx, response, case):
    """A request generated as valid from the document is never refused for its shape."""
    if case.meta is not None and case.meta.generation.mode.is_positive and response.status_code in (400, 422):
        detail = response.json().get("detail", "")
        assert not detail.startswith(SHAPE_REJECTION), f"document-valid request refused for its shape: {response.text}"


pytestmark = pytest.mark.contract


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_the_service_keeps_the_published_contract(case):
    if case.path.startswith(HL7_ROUTES):
        # FHIR and CDS Hooks bodies are defined by the HL7 specifications, which the document references
        # rather than restates ({"type": "object"} plus examples): an object the document allows may still
        # break those specifications and be refused with 400/422. Every other check applies.
        case.call_and_validate(excluded_checks=[positive_data_acceptance, document_and_request_schema_agree])
    else:
        case.call_and_validate()


def test_the_fuzzed_document_is_the_one_the_code_serves():
    with app.app_context():
        from service.api.ops import spec_yaml

        assert (ROOT / "openapi.yaml").read_text(encoding="utf-8") == spec_yaml(), "run make openapi"


def test_the_documented_date_pattern_is_the_request_schemas_date_range():
    import re

    from service.api.ops import REQUEST_DATE_PATTERN
    from service.api.schemas import MAX_DATE, MIN_DATE

    pattern = re.compile(REQUEST_DATE_PATTERN)
    assert pattern.match(MIN_DATE.isoformat()) and pattern.match(MAX_DATE.isoformat())
    assert not pattern.match(date(MIN_DATE.year - 1, 12, 31).isoformat())
    assert not pattern.match(date(MAX_DATE.year + 1, 1, 1).isoformat())
