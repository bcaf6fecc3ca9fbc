"""POST /v1/plans: translate the request to the planner's terms and its plan back to JSON."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError

from service.domain.errors import FieldError, InvalidInput
from service.domain.planner import Immunization, Plan, PlanRequest, VaccineRequest, make_plan
from service.domain.schedule import Treatment

from .examples import PLAN_REQUEST_EXAMPLE, PLAN_RESPONSE_EXAMPLE
from .ics import CALENDAR_CONTENT, calendar_response, wants_calendar
from .problems import flatten_messages, requires_api_key
from .schemas import PlanRequestSchema, PlanResponseSchema

blp = Blueprint("plans", __name__, url_prefix="/v1", description="Plan vaccine timing around a therapy.")


def to_request(body: dict[str, Any], today: date) -> PlanRequest:
    t = body["treatment"]
    treatment = Treatment(drug=t["drug"], doses=tuple(t["doses"]), start_date=t["start_date"], cadence=t["cadence"],
                          stopped_on=t["stopped_on"], b_cell_repletion_on=t["b_cell_repletion_on"])
    vaccines = tuple(VaccineRequest(name=v.get("name"), cvx=v.get("cvx"), given=tuple(v["given"]),
                                    needed_by=v["needed_by"]) for v in body["vaccines"])
    immunizations = tuple(Immunization(day=i["date"], name=i.get("name"), cvx=i.get("cvx"))
                          for i in body["immunizations"])
    return PlanRequest(as_of=body["as_of"] or today, treatment=treatment, vaccines=vaccines,
                       horizon_days=body["horizon_days"], immunizations=immunizations)


def present(plan: Plan) -> dict[str, Any]:
    s = plan.schedule
    return {
        "as_of": plan.as_of,
        "horizon_end": plan.until,
        "ruleset": {"id": plan.profile.id, "version": plan.ruleset_version},
        "treatment": {
            "drug": plan.profile.name, "phase": s.phase, "start_date": s.first_dose, "cadence": s.cadence.name,
            "doses_given": list(s.given), "next_dose": s.next_dose, "overdue": s.overdue,
            "projected_doses": list(s.projected(plan.until)), "stopped_on": s.stopped_on,
        },
        "vaccines": [
            {
                "request": {"name": vp.request.name} if vp.request.name is not None else {"cvx": vp.request.cvx},
                "vaccine": {"id": vp.match.vaccine.id, "name": vp.match.vaccine.name, "cvx": vp.match.cvx,
                            "live": vp.match.vaccine.live, "route": vp.match.vaccine.route},
                "status": vp.timing.status,
                "windows": [{"kind": w.kind, "start": w.start, "end": w.end} for w in vp.timing.windows],
                "delay_start_to": vp.timing.delay_start_to,
                "b_cell_recheck_on": vp.timing.b_cell_recheck_on,
                "reason": vp.timing.reason,
                "rules": list(vp.timing.rules),
                "proposed": [{"dose": p.dose, "date": p.day} for p in vp.proposal.doses],
                "series": {"doses": vp.series.length, "given": len(vp.request.given),
                           "interval_basis": vp.proposal.basis},
                "ready_on": vp.ready_on,
                "meets_needed_by": vp.meets_needed_by,
            }
            for vp in plan.vaccines
        ],
        "warnings": list(plan.warnings),
    }


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """Plan a request already loaded by PlanRequestSchema; the result is ready for PlanResponseSchema."""
    planner = current_app.extensions["planner"]
    ruleset = planner.ruleset
    return present(make_plan(to_request(body, planner.today()), ruleset.therapies, ruleset.catalog,
                             ruleset.vaccine_rules))


# Schema instances are reused: building one deep-copies its fields and nested schemas, which cost more than
# loading a typical request. Loading and dumping keep no state on the instance.
REQUEST_SCHEMA = PlanRequestSchema()


def json_ready(value: Any) -> Any:
    """present()'s output as plain JSON data (dates written YYYY-MM-DD): what PlanResponseSchema().dump gives
    (a test holds them equal), through orjson's C encoder and decoder, many times faster than either."""
    return orjson.loads(orjson.dumps(value))


def encode(value: Any) -> bytes:
    """JSON of present()'s output, dates as YYYY-MM-DD: orjson writes dates natively, many times faster than
    the standard library's encoder with a fallback for each date (a test holds the two equal)."""
    return orjson.dumps(value)


def plan_json(raw: Any) -> dict[str, Any]:
    """Validate a raw JSON value as a plan request and answer it as JSON-ready data.

    The one path every front end shares (REST batch, FHIR, CDS Hooks, iCalendar): a bad request raises
    InvalidInput naming each field, exactly as POST /v1/plans would answer it.
    """
    try:
        body = REQUEST_SCHEMA.load(raw)
    except ValidationError as err:
        raise InvalidInput([FieldError(e["field"], e["message"], code=e["code"])
                            for e in flatten_messages(err.messages)]) from None
    return json_ready(answer(body))  # type: ignore[no-any-return]  # orjson.loads is typed Any


@blp.route("/plans")
class Plans(MethodView):
    @blp.doc(summary="Plan vaccine timing", description=(
        "Classifies each vaccine as live or non-live and returns its permitted windows around the therapy's "
        "doses: pre_start, mid_cycle, post_therapy, or avoid. Everything is relative to as_of."))
    @blp.arguments(REQUEST_SCHEMA, example=PLAN_REQUEST_EXAMPLE)
    @blp.response(200, PlanResponseSchema, example=PLAN_RESPONSE_EXAMPLE)
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.doc(responses={200: {"content": CALENDAR_CONTENT}})  # with Accept: text/calendar
    @requires_api_key(blp)
    def post(self, body: dict[str, Any]) -> Response:
        if wants_calendar():
            return calendar_response(answer(body))
        # Encoded here rather than dumped by PlanResponseSchema (which still documents the shape): the dump
        # cost three times the planning. A test holds the two equal; the contract tests check every answer.
        return current_app.response_class(encode(answer(body)), mimetype="application/json")
