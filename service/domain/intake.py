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


def to_treatment(t: dict[str, Any]) -> Treatment:
    """A loaded `treatment` object in the planner's terms."""
    return Treatment(
        drug=t["drug"],
        doses=tuple(t["doses"]),
        start_date=t["start_date"],
        cadence=t["cadence"],
        stopped_on=t["stopped_on"],
        b_cell_repletion_on=t["b_cell_repletion_on"],
        label=t.get("label"),
    )


def to_request(body: dict[str, Any], today: date) -> PlanRequest:
    """A loaded request body in the planner's terms; `today` stands in for a missing as_of."""
    vaccines = tuple(
        [
            VaccineRequest(name=v.get("name"), cvx=v.get("cvx"), given=tuple(v["given"]), needed_by=v["needed_by"])
            for v in body["vaccines"]
        ]
    )
    immunizations = tuple(
        [Immunization(day=i["date"], name=i.get("name"), cvx=i.get("cvx")) for i in body["immunizations"]]
    )
    return PlanRequest(
        as_of=body["as_of"] or today,
        treatment=to_treatment(body["treatment"]),
        vaccines=vaccines,
        horizon_days=body["horizon_days"],
        immunizations=immunizations,
        birth_date=(body.get("patient") or {}).get("birth_date"),
    )
