"""The plan as an iCalendar file: POST /v1/plans.ics, or POST /v1/plans with `Accept: text/calendar`.

The request body and its validation are those of POST /v1/plans (errors stay problem+json); only the
answer's format differs (service.interop.calendar).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView

from service.contract.schemas import PlanResponseSchema
from service.interop.calendar import plan_calendar
from service.planning import REQUEST_SCHEMA

from .blueprint import Blueprint, load_plan_request
from .examples import PLAN_REQUEST_EXAMPLE, PLAN_RESPONSE_EXAMPLE
from .problems import requires_api_key

TEXT_CALENDAR = "text/calendar"
CALENDAR_EXAMPLE = plan_calendar(PLAN_RESPONSE_EXAMPLE).decode("utf-8")
# How the calendar answer is documented wherever it is served.
CALENDAR_CONTENT = {TEXT_CALENDAR: {"schema": {"type": "string"}, "example": CALENDAR_EXAMPLE}}

blp = Blueprint("calendar", __name__, url_prefix="/v1", description="The plan as an iCalendar (RFC 5545) file.")


# Accept headers that plainly ask for JSON, or for anything: most API clients send one of these (or none),
# and parsing one into an Accept object took longer than the answer's own encoding.
_PLAINLY_NOT_CALENDAR = frozenset({"", "*/*", "application/json"})


def wants_calendar() -> bool:
    """Whether the client prefers text/calendar to JSON (`Accept: text/calendar`, or `text/*`)."""
    accept = request.environ.get("HTTP_ACCEPT", "")  # request.headers.get("Accept", ""), without the lookup
    if accept in _PLAINLY_NOT_CALENDAR:
        return False  # what the full parse below gives for them (tests/test_interop_ics.py)
    return request.accept_mimetypes.best_match(["application/json", TEXT_CALENDAR]) == TEXT_CALENDAR


def calendar_response(plan: dict[str, Any]) -> Response:
    """A REST plan (as answer() returns it, before JSON) as a text/calendar download."""
    response = current_app.response_class(plan_calendar(PlanResponseSchema().dump(plan)), mimetype=TEXT_CALENDAR)
    response.headers["Content-Disposition"] = 'attachment; filename="vaccine-timing-plan.ics"'
    return response


@blp.route("/plans.ics")
class PlanCalendar(MethodView):
    @blp.doc(
        operationId="createPlanCalendar",
        summary="Plan vaccine timing, as an iCalendar file",
        description=(
            "The same request as POST /v1/plans. The answer is a VCALENDAR (RFC 5545, no METHOD: a file to import) "
            "for the patient's calendar: one all-day VEVENT per proposed vaccine dose, with a VALARM at 09:00 the day "
            "before (TRIGGER -PT15H); one per vaccine for its next permitted window, its description summing up the "
            "later ones; and one per projected therapy dose, numbered only when the doses given are the "
            "whole history. Descriptions are plain words: no rule ids and no warnings (those stay in the plan). "
            "DTSTART = first day, DTEND = last day + 1 (exclusive). UIDs name the vaccine and dose number (or the "
            "window kind and its rank), so a changed plan re-imported moves the same events; DTSTAMP is as_of at "
            "00:00 UTC and SEQUENCE the days from 2000-01-01 to as_of, so a later plan is the newer revision. "
            "Events an earlier plan of the same request could have held and this one does not (a dose given since, "
            "a window no longer there) come with their UID and STATUS:CANCELLED, so a re-import cancels them."
        ),
    )
    @blp.json_body(REQUEST_SCHEMA, load_plan_request, example=PLAN_REQUEST_EXAMPLE)
    @blp.response(200, {"type": "string"}, content_type=TEXT_CALENDAR, example=CALENDAR_EXAMPLE)
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @requires_api_key(blp)
    def post(self, body: dict[str, Any]) -> Response:
        return calendar_response(current_app.extensions["planner"].answer(body))
