"""Examples published in openapi.yaml. They are real: a test posts the request and compares the answer
with the response example, so the documentation cannot show an answer the service would not give."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


def _load(name: str) -> Any:
    return json.loads((EXAMPLES_DIR / name).read_text(encoding="utf-8"))


PLAN_REQUEST_EXAMPLE: dict[str, Any] = _load("plan-request.json")
PLAN_RESPONSE_EXAMPLE: dict[str, Any] = _load("plan-response.json")
# Interoperability (FHIR, CDS Hooks): the responses are recomputed from the requests by `make openapi`.
FHIR_REQUEST_EXAMPLE: dict[str, Any] = _load("fhir-request.json")
FHIR_RESPONSE_EXAMPLE: dict[str, Any] = _load("fhir-response.json")
IMMDS_REQUEST_EXAMPLE: dict[str, Any] = _load("immds-request.json")
IMMDS_RESPONSE_EXAMPLE: dict[str, Any] = _load("immds-response.json")
CDS_REQUEST_EXAMPLE: dict[str, Any] = _load("cds-request.json")
CDS_RESPONSE_EXAMPLE: dict[str, Any] = _load("cds-response.json")
BATCH_REQUEST_EXAMPLE: dict[str, Any] = _load("batch-request.json")
BATCH_RESPONSE_EXAMPLE: dict[str, Any] = _load("batch-response.json")
# The batch example is generated with this request id, so that regenerating it changes nothing.
BATCH_EXAMPLE_REQUEST_ID = "nightly-2026-11-24"
