"""Write what the code serves to the files that publish it: `make openapi`.

- `--examples`: the POST /v1/plans and POST /v1/plans/batch response examples, recomputed from the request
  examples, so that the documentation shows real answers (run first: the spec embeds them);
- `openapi.yaml`: the served document (a test fails when the file and the code differ).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from service.api.examples import BATCH_EXAMPLE_REQUEST_ID, BATCH_REQUEST_EXAMPLE, EXAMPLES_DIR, PLAN_REQUEST_EXAMPLE
from service.api.ops import spec_yaml
from service.app import create_app


def write_examples() -> None:
    app = create_app({"LOG_LEVEL": "WARNING", "TODAY": date.fromisoformat(PLAN_REQUEST_EXAMPLE["as_of"])})
    response = app.test_client().post("/v1/plans", json=PLAN_REQUEST_EXAMPLE)
    if response.status_code != 200:
        raise SystemExit(f"the request example does not plan: {response.get_json()}")
    (EXAMPLES_DIR / "plan-response.json").write_text(json.dumps(response.get_json(), indent=2) + "\n",
                                                     encoding="utf-8")
    response = app.test_client().post("/v1/plans/batch", json=BATCH_REQUEST_EXAMPLE,
                                      headers={"X-Request-ID": BATCH_EXAMPLE_REQUEST_ID})
    if response.status_code != 200:
        raise SystemExit(f"the batch example does not plan: {response.get_json()}")
    (EXAMPLES_DIR / "batch-response.json").write_text(json.dumps(response.get_json(), indent=2) + "\n",
                                                      encoding="utf-8")


def write_spec(path: str) -> None:
    app = create_app({"LOG_LEVEL": "WARNING"})
    with app.app_context():
        Path(path).write_text(spec_yaml(), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--examples"]:
        write_examples()
    else:
        write_spec(sys.argv[1] if len(sys.argv) > 1 else "openapi.yaml")
