"""Write what the code serves to the files that publish it: `make openapi`.

- `--examples`: the response examples of POST /v1/plans, POST /v1/plans/batch, POST /fhir/$vaccine-timing
  and the CDS Hooks order-sign service, recomputed from their request examples, so that the documentation
  shows real answers (run first: the spec embeds them);
- `openapi.yaml`: the served document (a test fails when the file and the code differ).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from service.api.examples import (
    BATCH_EXAMPLE_REQUEST_ID,
    BATCH_REQUEST_EXAMPLE,
    CDS_REQUEST_EXAMPLE,
    EXAMPLES_DIR,
    FHIR_REQUEST_EXAMPLE,
    IMMDS_REQUEST_EXAMPLE,
    PLAN_REQUEST_EXAMPLE,
)
from service.api.ops import spec_yaml
from service.app import create_app


def write_examples() -> None:
    app = create_app({"LOG_LEVEL": "WARNING", "TODAY": date.fromisoformat(PLAN_REQUEST_EXAMPLE["as_of"])})
    client = app.test_client()
    for path, request, name, headers in (
        ("/v1/plans", PLAN_REQUEST_EXAMPLE, "plan-response.json", {}),
        ("/v1/plans/batch", BATCH_REQUEST_EXAMPLE, "batch-response.json", {"X-Request-ID": BATCH_EXAMPLE_REQUEST_ID}),
        ("/fhir/$vaccine-timing", FHIR_REQUEST_EXAMPLE, "fhir-response.json", {}),
        ("/fhir/$immds-forecast", IMMDS_REQUEST_EXAMPLE, "immds-response.json", {}),
        ("/cds-services/vaccine-timing-order-sign", CDS_REQUEST_EXAMPLE, "cds-response.json", {}),
    ):
        response = client.post(path, json=request, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"the request example of {path} does not plan: {response.get_json()}")
        (EXAMPLES_DIR / name).write_text(json.dumps(response.get_json(), indent=2) + "\n", encoding="utf-8")


def write_spec(path: str) -> None:
    app = create_app({"LOG_LEVEL": "WARNING"})
    with app.app_context():
        Path(path).write_text(spec_yaml(), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--examples"]:
        write_examples()
    else:
        write_spec(sys.argv[1] if len(sys.argv) > 1 else "openapi.yaml")
