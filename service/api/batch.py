"""POST /v1/plans/batch: up to 500 plan requests in one call, for a pharmacy's nightly run.

Each request is answered on its own through the Planner (service.planning), the path POST /v1/plans takes, so an item's
result is exactly what the single call would have answered: a plan, or the same problem document. One
bad request (or, should it happen, a fault while planning one) never fails the others.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from flask import Response, current_app, g
from flask.views import MethodView

from service.contract.schemas import BatchRequestSchema, BatchResponseSchema
from service.domain.errors import InvalidInput
from service.planning import encode
from service.serving import pause
from service.settings import (
    BATCH_MAX_ANSWER_BYTES,
    BATCH_MAX_BODY_BYTES,
    BATCH_MAX_ITEMS,
    BATCH_TIME_BUDGET_SECONDS,
    MAX_BODY_BYTES,
)

from .blueprint import Blueprint
from .examples import BATCH_REQUEST_EXAMPLE, BATCH_RESPONSE_EXAMPLE
from .problems import invalid_input_body, problem_body, requires_api_key, size_text

BATCH_PATH = "/v1/plans/batch"
blp = Blueprint("batch", __name__, url_prefix="/v1", description="Plan many requests in one call.")
log = logging.getLogger("service.errors")


def answer_item(index: int, raw: Any) -> dict[str, Any]:
    """One batch result: {"index", "status": 200, "plan"} or {"index", "status": 413|422|500, "problem"}."""
    instance = f"{BATCH_PATH}#/requests/{index}"
    if len(orjson.dumps(raw)) > MAX_BODY_BYTES:
        # Over what POST /v1/plans accepts, so answered as it would be, before validation can expand it.
        return {
            "index": index,
            "status": 413,
            "problem": problem_body(
                413, f"This request is over the {size_text(MAX_BODY_BYTES)} limit of POST /v1/plans.", instance=instance
            ),
        }
    try:
        # The answer with its dates as date objects: encode() writes them as plan_json would, in one pass.
        return {"index": index, "status": 200, "plan": current_app.extensions["planner"].answer_raw(raw)}
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


def not_planned_item(index: int, why: str) -> dict[str, Any]:
    """The result of an item the batch had no room left for: a 503 problem, never a guess or a silence."""
    return {
        "index": index,
        "status": 503,
        "problem": problem_body(
            503,
            f"Not planned: {why} before this request. Send it again (the requests from this index on), in a "
            "later batch.",
            instance=f"{BATCH_PATH}#/requests/{index}",
        ),
    }


TIME_SPENT = f"the batch used up its {BATCH_TIME_BUDGET_SECONDS} s time budget"
ANSWER_FULL = f"the batch's answer reached its {BATCH_MAX_ANSWER_BYTES // (1024 * 1024)} MiB limit"


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
            f"(64 KiB elsewhere, and for each request in it). A batch plans for at most {BATCH_TIME_BUDGET_SECONDS} s "
            f"and until its answer holds {BATCH_MAX_ANSWER_BYTES // (1024 * 1024)} MiB: requests it had no room "
            "left for are answered 503, counted in `summary.not_planned`, to be sent again."
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
        counts = {200: 0, 413: 0, 422: 0, 500: 0, 503: 0}
        metrics = current_app.extensions["metrics"]
        deadline = time.monotonic() + BATCH_TIME_BUDGET_SECONDS
        answer_bytes = 0
        for index, raw in enumerate(body["requests"]):
            if answer_bytes >= BATCH_MAX_ANSWER_BYTES:
                result = not_planned_item(index, ANSWER_FULL)
            elif time.monotonic() >= deadline:
                result = not_planned_item(index, TIME_SPENT)
            else:
                result = answer_item(index, raw)
            counts[result["status"]] += 1
            metrics.count_batch_item(result["status"])
            # Encoded item by item, so a large batch never holds every plan as Python objects at once.
            if index:
                chunks.append(b",")
            chunks.append(encoded := encode(result))
            answer_bytes += len(encoded)
            pause()  # planning is CPU work: let this worker's other requests (a /healthz probe) run in between
        total = len(body["requests"])
        g.batch_items = total
        if counts[503]:
            log.warning("batch budget used up, items not planned", extra={"items": counts[503]})
        summary = {"total": total, "planned": counts[200], "failed": total - counts[200], "not_planned": counts[503]}
        chunks += [b'],"summary":', encode(summary), b"}"]
        # The pieces are the response body as they are: no joined copy of a body that can reach tens of MiB
        # (Werkzeug sets Content-Length from them). A Response, so that flask-smorest does not serialize
        # the plans again; the schema above still documents the shape, and the contract tests check it.
        return current_app.response_class(chunks, mimetype="application/json")
