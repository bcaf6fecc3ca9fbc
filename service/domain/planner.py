"""The planner: from a treatment history and a list of vaccines to a dated plan.

This is the one entry point the HTTP shell (and any other front end) calls. It gathers every input
problem into one InvalidInput so that a client can fix a request in one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .catalog import Catalog, LookupFailed, Match, normalize
from .errors import Candidate, FieldError, InvalidInput
from .schedule import DoseSchedule, Treatment, build_schedule
from .therapy import TherapyProfile
from .windows import Timing, plan_timing


@dataclass(frozen=True)
class VaccineRequest:
    """One requested vaccine: exactly one of `name` or `cvx`."""

    name: str | None = None
    cvx: str | None = None


@dataclass(frozen=True)
class PlanRequest:
    as_of: date
    treatment: Treatment
    vaccines: tuple[VaccineRequest, ...]
    horizon_days: int


@dataclass(frozen=True)
class VaccinePlan:
    request: VaccineRequest
    match: Match
    timing: Timing


@dataclass(frozen=True)
class Plan:
    as_of: date
    until: date
    profile: TherapyProfile
    ruleset_version: str
    schedule: DoseSchedule
    vaccines: tuple[VaccinePlan, ...]
    warnings: tuple[str, ...]


class Therapies:
    """The supported therapy profiles, found by generic or brand name."""

    def __init__(self, profiles: list[TherapyProfile], ruleset_versions: dict[str, str]):
        self.profiles = tuple(profiles)
        self.versions = dict(ruleset_versions)
        self._by_name = {normalize(n): p for p in profiles for n in (p.id, p.name, *p.names, *p.brand_names)}

    def find(self, drug: str, field: str = "treatment.drug") -> TherapyProfile:
        profile = self._by_name.get(normalize(drug))
        if profile is None:
            supported = ", ".join(sorted({p.name for p in self.profiles}))
            raise InvalidInput([FieldError(field, f"{drug!r} is not a supported therapy; supported: {supported}",
                                           candidates=tuple(Candidate(p.id, p.name, (), None) for p in self.profiles),
                                           code="unknown_therapy")])
        return profile


def resolve_vaccines(catalog: Catalog, requests: tuple[VaccineRequest, ...]) -> tuple[list[Match], list[FieldError]]:
    matches: list[Match] = []
    errors: list[FieldError] = []
    for i, req in enumerate(requests):
        try:
            if req.cvx is not None:
                matches.append(catalog.by_cvx(req.cvx, f"vaccines[{i}].cvx"))
            else:
                assert req.name is not None  # the HTTP schema guarantees exactly one of the two
                matches.append(catalog.by_name(req.name, f"vaccines[{i}].name"))
        except LookupFailed as failed:
            errors.append(failed.error)
    return matches, errors


def make_plan(request: PlanRequest, therapies: Therapies, catalog: Catalog) -> Plan:
    """Plan every requested vaccine around the therapy, or raise InvalidInput listing all problems."""
    errors: list[FieldError] = []
    profile: TherapyProfile | None = None
    try:
        profile = therapies.find(request.treatment.drug)
    except InvalidInput as bad:
        errors += bad.errors
    matches, vaccine_errors = resolve_vaccines(catalog, request.vaccines)
    errors += vaccine_errors
    until = request.as_of + timedelta(days=request.horizon_days)
    schedule = None
    if profile is not None:
        try:
            schedule = build_schedule(profile, request.treatment, request.as_of, until)
        except InvalidInput as bad:
            errors += bad.errors
    if errors or profile is None or schedule is None:
        raise InvalidInput(errors)

    plans = tuple(
        VaccinePlan(req, match, plan_timing(profile, schedule, match.vaccine.live, request.as_of, until))
        for req, match in zip(request.vaccines, matches, strict=True)
    )
    return Plan(request.as_of, until, profile, therapies.versions[profile.id], schedule, plans, schedule.warnings)
