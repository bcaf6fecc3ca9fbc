"""The plan as plain data in the contract's shape (PlanResponseSchema's), dates still as date objects: the
answer every front end reads (REST and batch encode it, FHIR, CDS Hooks, iCalendar and the clinic page
translate it; service.planning).

It is here, beside the rules, so that it is compiled with them (`make native`): building this data from the
plan cost about as much as validating the request (230k instructions for the typical answer, 115k compiled;
callgrind). It reads the plan and knows nothing of HTTP or JSON.
"""

from __future__ import annotations

from typing import Any

from .planner import Plan
from .windows import Window


def present(plan: Plan) -> dict[str, Any]:
    """The plan as the contract's response (PlanResponseSchema's shape), dates still as date objects."""
    s = plan.schedule
    shown: dict[int, list[dict[str, Any]]] = {}
    return {
        "as_of": plan.as_of,
        "horizon_end": plan.until,
        "ruleset": {"id": plan.profile.id, "version": plan.ruleset_version},
        "treatment": {
            "drug": plan.profile.name,
            "phase": s.phase,
            "start_date": s.first_dose,
            "cadence": s.cadence.name,
            "label": plan.profile.label,
            "doses_given": list(s.given),
            "next_dose": s.next_dose,
            "overdue": s.overdue,
            "projected_doses": list(s.projected(plan.until)),
            "stopped_on": s.stopped_on,
            "earliest_start": plan.earliest_start,
        },
        "vaccines": [
            {
                "request": {"name": vp.request.name} if vp.request.name is not None else {"cvx": vp.request.cvx},
                "vaccine": {
                    "id": vp.match.vaccine.id,
                    "name": vp.match.vaccine.name,
                    "cvx": vp.match.cvx,
                    "product": vp.match.product,
                    "live": vp.match.vaccine.live,
                    "route": vp.match.vaccine.route,
                },
                "status": vp.timing.status,
                "windows": _windows(vp.timing.windows, shown),
                "delay_start_to": vp.timing.delay_start_to,
                "b_cell_recheck_on": vp.timing.b_cell_recheck_on,
                "reason": vp.timing.reason,
                "rules": list(vp.timing.rules),
                "proposed": [{"dose": p.dose, "date": p.day} for p in vp.proposal.doses],
                "series": {
                    "doses": vp.series.length,
                    "given": vp.given_counted,
                    "interval_basis": vp.proposal.basis,
                    "protective_dose": vp.protective_dose,
                    "lead_days": vp.lead_days,
                },
                "ready_on": vp.ready_on,
                "ready_on_means": vp.ready_on_means,
                "serology_advised": vp.serology_advised,
                "meets_needed_by": vp.meets_needed_by,
            }
            for vp in plan.vaccines
        ],
        "warnings": [{"code": w.code, "message": w.message, "rules": list(w.rules)} for w in plan.warnings],
    }


def _windows(windows: tuple[Window, ...], shown: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """A vaccine's windows as data. The non-live vaccines of a plan share one timing's windows (the same
    tuple): written out for the first, copied for the others (a copy of a small dict costs less than building
    it; each vaccine still gets dicts of its own). `shown`: the windows written so far in this answer."""
    earlier = shown.get(id(windows))
    if earlier is not None:
        return [window.copy() for window in earlier]
    data = [{"kind": w.kind, "start": w.start, "end": w.end} for w in windows]
    shown[id(windows)] = data
    return data
