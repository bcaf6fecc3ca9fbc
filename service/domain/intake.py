"""A loaded request body (the JSON of POST /v1/plans after PlanRequestSchema, dates as date objects) in the
planner's terms: the counterpart of answer.present, which turns the plan back into the contract's shape.

It is here, beside the rules, so that it is compiled with them (`make native`). Built from interpreted code,
each value object was a keyword call into a compiled class, parsed at run time: 63k instructions for the
typical request, more than the objects themselves (docs/production.md, "Compiled rules core"). It trusts
its input to be shape-valid (the schema, or its fast path, has loaded it); whether the dates make sense is
checked by make_plan, as before.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .requests import Immunization, PlanRequest, VaccineRequest
from .schedule import Treatment
from .series import EVERY_DAY, AppointmentDays


def to_treatment(t: dict[str, Any]) -> Treatment:
    """A loaded `treatment` object in the planner's terms."""
    return Treatment(
        t["drug"],
        tuple(t["doses"]),
        t["start_date"],
        t["cadence"],
        t["stopped_on"],
        t["b_cell_repletion_on"],
        t.get("label"),
        t.get("lymphocytes_normal_on"),
    )


def to_request(body: dict[str, Any], today: date) -> PlanRequest:
    """A loaded request body in the planner's terms; `today` stands in for a missing as_of."""
    named = body.get("appointment_days")
    days = EVERY_DAY if not named else AppointmentDays.named(tuple(named))
    # Each item is a loaded object (a dict): typed so, the compiled core reads it with dict operations rather
    # than a method look-up by name for every field. Arguments by position, in the classes' own order.
    vaccines: list[VaccineRequest] = []
    item: dict[str, Any]
    for item in body["vaccines"]:
        vaccines.append(
            VaccineRequest(item.get("name"), item.get("cvx"), tuple(item["given"]), item["needed_by"], days)
        )
    immunizations: list[Immunization] = []
    for item in body["immunizations"]:
        immunizations.append(Immunization(item["date"], item.get("name"), item.get("cvx")))
    return PlanRequest(
        body["as_of"] or today,
        to_treatment(body["treatment"]),
        tuple(vaccines),
        body["horizon_days"],
        tuple(immunizations),
        (body.get("patient") or {}).get("birth_date"),
    )
