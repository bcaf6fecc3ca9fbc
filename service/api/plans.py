"""POST /v1/plans: the contract's main route, a thin shell over the shared planning path (service.planning)."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView

from service.contract.schemas import PlanResponseSchema
from service.planning import REQUEST_SCHEMA, encode

from .blueprint import Blueprint, load_plan_request
from .examples import PLAN_REQUEST_EXAMPLE, PLAN_RESPONSE_EXAMPLE
from .ics import CALENDAR_CONTENT, calendar_response, wants_calendar
from .problems import requires_api_key

blp = Blueprint("plans", __name__, url_prefix="/v1", description="Plan vaccine timing around a therapy.")


@blp.route("/plans")
class Plans(MethodView):
    init_every_request = False  # the view keeps no state: one instance serves every request

    # Documentation only: the view reads its own body and returns a Response, so no decorator wraps it per
    # request (the hot route; each flask-smorest wrapper is a call and an inspect of the view).
    @blp.documented(
        blp.doc(
            operationId="createPlan",
            summary="Plan vaccine timing",
            description=(
                "Classifies each vaccine as live or non-live and returns its permitted windows around the therapy's "
                "doses: pre_start, mid_cycle, post_therapy, or avoid. Everything is relative to as_of."
            ),
        ),
        blp.json_body(REQUEST_SCHEMA, load_plan_request, example=PLAN_REQUEST_EXAMPLE),
        blp.response(200, PlanResponseSchema, example=PLAN_RESPONSE_EXAMPLE),
        blp.alt_response(400, response="BAD_REQUEST"),
        blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE"),
        blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE"),
        blp.doc(responses={200: {"content": CALENDAR_CONTENT}}),  # with Accept: text/calendar
        requires_api_key(blp),
    )
    def post(self) -> Response:
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy looked up once
        planner = app.extensions["planner"]
        body = blp.read_json(REQUEST_SCHEMA, planner.load)  # load_plan_request's loading, planner in hand
        answer = planner.answer(body)
        if wants_calendar():
            return calendar_response(answer)
        # Encoded here rather than dumped by PlanResponseSchema (which still documents the shape): the dump
        # cost three times the planning. A test holds the two equal; the contract tests check every answer.
        # content_type: the header mimetype="application/json" gives (werkzeug adds no charset to JSON).
        return app.response_class(encode(answer), content_type="application/json")  # type: ignore[no-any-return]
