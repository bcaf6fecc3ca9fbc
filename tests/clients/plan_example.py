"""An integrator's program, written against the Python client openapi-python-client generates from openapi.yaml
(package `planner_client`): it plans the README's example, reads every field of the answer, and handles a 422.

tests/test_clients.py generates the client into a temporary folder, type-checks this file with mypy --strict
(no cast, no ignore, nothing untyped) and runs it against the app. It is not imported by the service.
"""

from __future__ import annotations

import datetime

from planner_client import AuthenticatedClient
from planner_client.api.plans import create_plan
from planner_client.models import (
    PlanRequest,
    PlanResponse,
    Problem,
    Treatment,
    VaccineByCvx,
    VaccineByName,
)
from planner_client.types import Unset


def readme_request() -> PlanRequest:
    """The README's example, as typed objects (fields with defaults left out, as the README leaves them)."""
    return PlanRequest(
        as_of=datetime.date(2026, 11, 24),
        treatment=Treatment(
            drug="Kesimpta",
            doses=[
                datetime.date(2026, 10, 20),
                datetime.date(2026, 10, 27),
                datetime.date(2026, 11, 3),
                datetime.date(2026, 11, 17),
            ],
        ),
        vaccines=[VaccineByName(name="Shingrix"), VaccineByName(name="yellow fever")],
        horizon_days=60,
    )


def describe(plan: PlanResponse) -> list[str]:
    """Every field of the answer, one line per vaccine, window, proposed dose and warning."""
    lines = [f"{plan.as_of} to {plan.horizon_end}, ruleset {plan.ruleset.id} {plan.ruleset.version}"]
    t = plan.treatment
    lines.append(
        f"{t.drug} {t.phase.value} since {t.start_date}, {t.cadence}, {len(t.doses_given)} doses given, "
        f"next {t.next_dose}, overdue {t.overdue}, {len(t.projected_doses)} projected, stopped {t.stopped_on}, "
        f"earliest start {t.earliest_start}, label {t.label}"
    )
    for v in plan.vaccines:
        asked = v.request.name if not isinstance(v.request.name, Unset) else v.request.cvx
        lines.append(
            f"{asked}: {v.vaccine.id} {v.vaccine.name} ({v.vaccine.product}) cvx {v.vaccine.cvx} live {v.vaccine.live} "
            f"{v.vaccine.route} "
            f"{v.status.value}; delay start to {v.delay_start_to}; recheck B cells {v.b_cell_recheck_on}; "
            f"series {v.series.given}/{v.series.doses} {v.series.interval_basis.value}, protective dose "
            f"{v.series.protective_dose} + {v.series.lead_days} days; ready {v.ready_on} ({v.ready_on_means}) "
            f"(meets needed_by: {v.meets_needed_by}; serology advised: {v.serology_advised}); rules {', '.join(v.rules)}; {v.reason}"
        )
        lines += [f"  {w.kind.value} {w.start}..{w.end}" for w in v.windows]
        lines += [f"  dose {p.dose} on {p.date}" for p in v.proposed]
    lines += [f"warning {w.code}: {w.message} ({', '.join(w.rules)})" for w in plan.warnings]
    return lines


def problems(problem: Problem) -> list[str]:
    """A 422 as a client shows it: each field, its code, and what an unknown name could mean."""
    lines = [
        f"{problem.status} {problem.title}: {problem.detail} ({problem.type_}, {problem.instance}, {problem.request_id})"
    ]
    for e in problem.errors if not isinstance(problem.errors, Unset) else []:
        lines.append(f"{e.field} [{e.code}] {e.message}")
        candidates = e.candidates if not isinstance(e.candidates, Unset) else []
        lines += [f"  maybe {c.id} {c.name} cvx {', '.join(c.cvx)} live {c.live}" for c in candidates]
    if not isinstance(problem.errors_omitted, Unset):
        lines.append(f"and {problem.errors_omitted} more errors not listed")
    return lines


def plan_or_problems(client: AuthenticatedClient, request: PlanRequest) -> list[str]:
    answer = create_plan.sync(client=client, body=request)
    if isinstance(answer, PlanResponse):
        return describe(answer)
    if isinstance(answer, Problem):
        return problems(answer)
    return ["no answer"]


def main(client: AuthenticatedClient) -> list[str]:
    """The README's example, then the same with a code the catalog does not know (a 422)."""
    request = readme_request()
    wrong = readme_request()
    wrong.vaccines = [VaccineByCvx(cvx="9999")]
    return plan_or_problems(client, request) + plan_or_problems(client, wrong)


if __name__ == "__main__":
    # The key a deployment issued (PLANNER_API_KEYS), sent as Authorization: Bearer <key>.
    print("\n".join(main(AuthenticatedClient(base_url="http://localhost:8000", token="your-key"))))
