"""POST /v1/plans/batch: up to 500 plan requests in one call, for a pharmacy's nightly run.

Each request is answered on its own through Planner.plan_json (service.planning), the path POST /v1/plans takes, so an item's
result is exactly what the single call would have answered: a plan, or the same problem document. One
bad request (or, should it happen, a fault while planning one) never fails the others.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, current_app, g
from flask.views import MethodView

from service.domain.errors import InvalidInput
from service.planning import encode
from service.settings import BATCH_MAX_BODY_BYTES, BATCH_MAX_ITEMS

from .blueprint import Blueprint
from .examples import BATCH_REQUEST_EXAMPLE, BATCH_RESPONSE_EXAMPLE
from .problems import invalid_input_body, problem_body, requires_api_key, size_text
from .schemas import BatchRequestSchema, BatchResponseSchema

BATCH_PATH = "/v1/plans/batch"
blp = Blueprint("batch", __name__, url_prefix="/v1", description="Plan many requests in one call.")
log = logging.getLogger("service.errors")


def answer_item(index: int, raw: Any) -> dict[str, Any]:
    """One batch result: {"index", "status": 200, "plan"} or {"index", "status": 422|500, "problem"}."""
    instance = f"{BATCH_PATH}#/requests/{index}"
    try:
        return {"index": index, "status": 200, "plan": current_app.extensions["planner"].plan_json(raw)}
    except InvalidInput as error:
        return {"index": index, "status": 422, "problem": invalid_input_body(error, instance)}
    except Exception:
        # A fault in one item is logged (type and frames, never the input) and answered as that item's 500.
        log.exception("batch item failed", extra={"item": index})
        return {
            "index": index,
            "status": 500,
            "problem": problem_body(
                500,
                "The service could not answer this request. Quote the request id when reporting it.",
                instance=instance,
            ),
        }


@blp.route("/plans/batch")
class PlansBatch(MethodView):
    @blp.doc(
        operationId="createPlanBatch",
        summary="Plan many requests in one call",
        description=(
            f"For nightly runs: 1 to {BATCH_MAX_ITEMS} plan requests, each exactly the body of POST /v1/plans. "
            "The answer is 200 whenever the envelope is valid, with one result per request in request order: "
            "`status` 200 and the `plan`, or the status and the `problem` document POST /v1/plans would have "
            "answered for that request alone. Requests are validated and planned independently; one bad request "
            f"never fails the others. The body limit of this route is {size_text(BATCH_MAX_BODY_BYTES)} "
            "(64 KiB elsewhere)."
        ),
    )
    @blp.arguments(BatchRequestSchema(), example=BATCH_REQUEST_EXAMPLE)
    @blp.response(200, BatchResponseSchema, example=BATCH_RESPONSE_EXAMPLE)
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @requires_api_key(blp)
    def post(self, body: dict[str, Any]) -> Response:
        chunks: list[bytes] = [b'{"results":[']
        counts = {200: 0, 422: 0, 500: 0}
        metrics = current_app.extensions["metrics"]
        for index, raw in enumerate(body["requests"]):
            result = answer_item(index, raw)
            counts[result["status"]] += 1
            metrics.batch_items.labels(str(result["status"])).inc()
            # Encoded item by item, so a large batch never holds every plan as Python objects at once.
            if index:
                chunks.append(b",")
            chunks.append(encode(result))
        total = len(body["requests"])
        g.batch_items = total
        summary = {"total": total, "planned": counts[200], "failed": counts[422] + counts[500]}
        chunks += [b'],"summary":', encode(summary), b"}"]
        # The pieces are the response body as they are: no joined copy of a body that can reach tens of MiB
        # (Werkzeug sets Content-Length from them). A Response, so that flask-smorest does not serialize
        # the plans again; the schema above still documents the shape, and the contract tests check it.
        return current_app.response_class(chunks, mimetype="application/json")
