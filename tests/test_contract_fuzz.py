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
from schemathesis.checks import negative_data_rejection
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.meta import negated_parameters
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, missing_required_header, positive_data_acceptance

from service.api.batch import BATCH_PATH
from service.app import create_app
from service.contract.schemas import BatchRequestSchema
from service.interop.cards import SERVICES

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


@schema.auth(refresh_interval=None, retry_on=[])
class ApiKey:
    """The production posture: keys configured, and the key sent on every call (an explicit credential, so
    schemathesis also checks that a call without it, or with a wrong one, is refused)."""

    def get(self, case, ctx):
        return API_KEY

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# A request can match the document and still be refused with 422 for what only the catalog and the rules
# know (an unknown vaccine or therapy, a dose after as_of, no ofatumumab record in a FHIR Parameters): the
# contract says so, and such a 422 counts as a valid answer to valid data. It must come from the rules,
# though, never from the request schema: see the check below.
schema.config.checks.positive_data_acceptance.expected_statuses = ["2xx", "401", "404", "422"]
# A CDS Hooks call without its prefetch is refused with 412 Precondition Failed, as CDS Hooks 2.0 asks of a
# service that cannot fetch the data itself: a refusal like 400 or 422.
schema.config.checks.negative_data_rejection.expected_statuses = [
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "412",
    "415",
    "422",
    "428",
    "429",
    "5xx",
]
SHAPE_REJECTION = "The request does not match the contract"
HL7_ROUTES = ("/fhir/", "/cds-services")
CDS_SERVICE_CALLS = {f"/cds-services/{service_id}" for service_id in SERVICES}
# CDS Hooks calls need a JWT signed by a trusted EHR key (service/api/cds_auth.py; tested with generated keys in
# tests/test_interop_security.py): the fuzzer sends the API key, which is refused there with 401 like any other
# wrong credential, so its own credential checks are not meaningful on these paths. FHIR takes the API key.
AUTH_PENDING = ("/cds-services/",)


@schemathesis.check
def document_and_request_schema_agree(ctx, response, case):
    """A request generated as valid from the document is never refused for its shape."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return
    body = response.json()
    if case.path.startswith(HL7_ROUTES):
        if response.status_code == 422:
            return  # the rules refused what the resources say (no ofatumumab record, an unknown code system)
        # FHIR R4 defines the resources inside the envelopes (a MedicationAdministration, an order in a
        # Bundle) beyond what a JSON Schema can say; the document describes the envelopes exactly. So a
        # generated resource may be refused, but only for something inside a resource, never the envelope.
        where = [e.get("field", "") for e in body.get("errors", [])] + [
            x for issue in body.get("issue", []) for x in issue.get("expression", [])
        ]
        # A FHIR date's pattern is syntactic (FHIR R4 datatypes): 9000-02-30 matches it yet names no day, and
        # the service refuses it naming the part, as it must. Only such a date may be refused in the envelope.
        not_a_day = [
            x
            for issue in body.get("issue", [])
            if "date" in issue.get("diagnostics", "")
            for x in issue.get("expression", [])
            if x.endswith((".valueDate", ".valueDateTime"))
        ]
        assert where and all(".resource" in w or ".entry[" in w or w in not_a_day for w in where), (
            f"document-valid envelope refused: {response.text}"
        )
    else:
        detail = body.get("detail", "")
        assert not detail.startswith(SHAPE_REJECTION), f"document-valid request refused for its shape: {response.text}"


@schemathesis.check
def batch_envelope_refused_or_every_item_answered(ctx, response, case):
    """POST /v1/plans/batch: a 200 only for a valid envelope, with one result per request in request order."""
    if case.path != BATCH_PATH or response.status_code != 200 or response.request.method != "POST":
        return  # (schemathesis also probes other methods)
    assert BatchRequestSchema().validate(case.body) == {}, f"invalid envelope accepted: {case.body!r}"
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(case.body["requests"])))


pytestmark = pytest.mark.contract


# The two FHIR operations' bodies (a Parameters whose parts may hold any of eight resource types, a Bundle of
# them among them) take hypothesis-jsonschema about nine minutes to turn into a strategy, at collection, for
# every run of the suite: they are held to the document by tests/test_interop_openapi.py (every request an EHR
# sends validated against openapi.yaml) and their answers by tests/test_interop_fhir_schema.py (HL7's R4 schema).
FUZZED = schema.exclude(method="POST", path_regex=r"^/fhir/\$")


@FUZZED.parametrize()
@settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_the_service_keeps_the_published_contract(case):
    excluded = []
    if case.path.startswith(HL7_ROUTES):
        # A 400 for a FHIR resource the specification forbids is judged by the check above instead.
        excluded.append(positive_data_acceptance)
    if case.path == BATCH_PATH:
        # An item that is not a valid plan request is answered in its own result (422), as documented; the
        # check below holds the envelope to the document instead.
        excluded.append(negative_data_rejection)
    if case.path in CDS_SERVICE_CALLS:
        # The bundles in prefetch and draftOrders are read as FHIR's JSON parser reads them: leniently (a
        # number where a string belongs is taken as its text; an entry the hook does not need is skipped), so
        # a FHIR-invalid resource inside them is not always refused. The document states FHIR's rules; every
        # envelope error (hook, hookInstance, context, a missing prefetch key) is refused, as the unit tests show.
        excluded.append(negative_data_rejection)
    if case.path.startswith(AUTH_PENDING):
        excluded += [ignored_auth, missing_required_header]
        if {name for name, _ in negated_parameters(case.meta)} == {"Authorization"}:
            excluded.append(negative_data_rejection)
    case.call_and_validate(excluded_checks=excluded)


def test_the_fuzzed_document_is_the_one_the_code_serves():
    with app.app_context():
        from service.api.ops import spec_yaml

        assert (ROOT / "openapi.yaml").read_text(encoding="utf-8") == spec_yaml(), "run make openapi"


def test_the_documented_date_pattern_is_the_request_schemas_date_range():
    import re

    from service.api.ops import REQUEST_DATE_PATTERN
    from service.contract.schemas import MAX_DATE, MIN_DATE

    pattern = re.compile(REQUEST_DATE_PATTERN)
    assert pattern.match(MIN_DATE.isoformat()) and pattern.match(MAX_DATE.isoformat())
    assert not pattern.match(date(MIN_DATE.year - 1, 12, 31).isoformat())
    assert not pattern.match(date(MAX_DATE.year + 1, 1, 1).isoformat())
