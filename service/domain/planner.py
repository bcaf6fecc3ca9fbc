"""The planner: from a treatment history and a list of vaccines to a dated plan.

This is the one entry point the HTTP shell (and any other front end) calls. It gathers every input
problem into one InvalidInput so that a client can fix a request in one round trip.

Vaccines are planned in request order. A live vaccine proposed earlier in the list is a fixed event for
the ones after it, so two live vaccines end up on the same day or properly spaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from .advisories import PlanWarning
from .catalog import Catalog, LookupFailed, Match, Vaccine, normalize
from .errors import Candidate, FieldError, InvalidInput
from .schedule import NOT_STARTED, DoseSchedule, Treatment, build_schedule
from .series import MINIMUM, RECOMMENDED, LeadTime, Proposal, Series, propose, ready_on, single_dose
from .spacing import LiveEvent, LiveVirusConflicts
from .therapy import Rule, TherapyProfile
from .windows import AVOID, PRE_START, Timing, Window, plan_timing

# How far ahead the planner looks for a start date that would let a live series finish before therapy.
_START_SEARCH_DAYS = 5 * 366


@dataclass(frozen=True)
class VaccineRequest:
    """One requested vaccine: exactly one of `name` or `cvx`, with its series so far and its deadline."""

    name: str | None = None
    cvx: str | None = None
    given: tuple[date, ...] = ()
    needed_by: date | None = None


@dataclass(frozen=True)
class Immunization:
    """A vaccine already given, by CVX code or name, for live-live spacing."""

    day: date
    name: str | None = None
    cvx: str | None = None


@dataclass(frozen=True)
class PlanRequest:
    as_of: date
    treatment: Treatment
    vaccines: tuple[VaccineRequest, ...]
    horizon_days: int
    immunizations: tuple[Immunization, ...] = ()


@dataclass(frozen=True)
class VaccineRules:
    """Rules that apply to vaccines whatever the therapy: series, lead times, live-live spacing."""

    series: dict[str, Series]
    lead_times: dict[str, LeadTime]
    default_lead_time: LeadTime
    conflicts: LiveVirusConflicts
    rules: dict[str, Rule]
    single_dose_rule: str = "plan.single-dose"
    basis_rule: str = "plan.interval-basis"

    def series_for(self, vaccine: Vaccine) -> Series:
        return self.series.get(vaccine.id) or single_dose(vaccine.id, self.single_dose_rule)

    def lead_time_for(self, vaccine: Vaccine) -> LeadTime:
        return self.lead_times.get(vaccine.id, self.default_lead_time)


@dataclass(frozen=True)
class VaccinePlan:
    request: VaccineRequest
    match: Match
    timing: Timing
    proposal: Proposal
    series: Series
    ready_on: date | None
    meets_needed_by: bool | None


@dataclass(frozen=True)
class Plan:
    as_of: date
    until: date
    profile: TherapyProfile
    ruleset_version: str
    schedule: DoseSchedule
    vaccines: tuple[VaccinePlan, ...]
    warnings: tuple[PlanWarning, ...]


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
            raise InvalidInput(
                [
                    FieldError(
                        field,
                        f"{drug!r} is not a supported therapy; supported: {supported}",
                        candidates=tuple(Candidate(p.id, p.name, (), None) for p in self.profiles),
                        code="unknown_therapy",
                    )
                ]
            )
        return profile


@dataclass
class _Checked:
    """What input checking yields: resolved vaccines and immunizations, or the errors found."""

    matches: list[Match] = field(default_factory=list)
    history: list[LiveEvent] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


def _lookup(catalog: Catalog, name: str | None, cvx: str | None, prefix: str) -> Match:
    if cvx is not None:
        return catalog.by_cvx(cvx, f"{prefix}.cvx")
    assert name is not None  # the HTTP schema guarantees exactly one of the two
    return catalog.by_name(name, f"{prefix}.name")


def _check_dates(days: tuple[date, ...], as_of: date, prefix: str) -> list[FieldError]:
    errors = []
    seen: dict[date, int] = {}
    for j, day in enumerate(days):
        if day > as_of:
            errors.append(
                FieldError(f"{prefix}[{j}]", f"{day} is after as_of {as_of}: only doses already given belong here")
            )
        if day in seen:
            errors.append(FieldError(f"{prefix}[{j}]", f"{day} repeats {prefix}[{seen[day]}]"))
        seen.setdefault(day, j)
    return errors


def vaccine_errors(
    index: int, req: VaccineRequest, as_of: date | None, catalog: Catalog, rules: VaccineRules, given_known: bool = True
) -> tuple[Match | None, list[FieldError]]:
    """The catalog match of vaccines[index] and what is wrong with it. `as_of` None: unknown (itself invalid),
    so no date is compared with it; `given_known` False: the given list was invalid, so it is not checked."""
    prefix = f"vaccines[{index}]"
    try:
        match = _lookup(catalog, req.name, req.cvx, prefix)
    except LookupFailed as failed:
        return None, [failed.error]
    errors: list[FieldError] = []
    if given_known:
        if as_of is not None:
            errors += _check_dates(req.given, as_of, f"{prefix}.given")
        length = rules.series_for(match.vaccine).length
        if len(req.given) > length:
            errors.append(
                FieldError(
                    f"{prefix}.given",
                    f"{len(req.given)} doses given, but the {match.vaccine.name} series planned here has {length}",
                    code="too_many_doses",
                )
            )
    if req.needed_by is not None and as_of is not None and req.needed_by < as_of:
        errors.append(FieldError(f"{prefix}.needed_by", f"{req.needed_by} is before as_of {as_of}"))
    return match, errors


def immunization_errors(
    index: int, imm: Immunization | None, name: str | None, cvx: str | None, as_of: date | None, catalog: Catalog
) -> tuple[LiveEvent | None, list[FieldError]]:
    """immunizations[index]: the live event it is for spacing (if live), and what is wrong with it. `imm` None:
    its date is unknown (itself invalid), so only the name or code is looked up."""
    prefix = f"immunizations[{index}]"
    errors: list[FieldError] = []
    if imm is not None and as_of is not None and imm.day > as_of:
        errors.append(
            FieldError(f"{prefix}.date", f"{imm.day} is after as_of {as_of}: only vaccines already given belong here")
        )
    try:
        vaccine = _lookup(catalog, name, cvx, prefix).vaccine
    except LookupFailed as failed:
        return None, [*errors, failed.error]
    return (LiveEvent(vaccine, imm.day) if imm is not None and vaccine.live else None), errors


def check_vaccines(request: PlanRequest, catalog: Catalog, rules: VaccineRules) -> _Checked:
    out = _Checked()
    for i, req in enumerate(request.vaccines):
        match, errors = vaccine_errors(i, req, request.as_of, catalog, rules)
        out.errors += errors
        if match is not None:
            out.matches.append(match)
    for i, imm in enumerate(request.immunizations):
        event, errors = immunization_errors(i, imm, imm.name, imm.cvx, request.as_of, catalog)
        out.errors += errors
        if event is not None:
            out.history.append(event)
    return out


def _subtract(windows: tuple[Window, ...], start: date, end: date) -> tuple[Window, ...]:
    """Windows without the days [start, end]."""
    out: list[Window] = []
    for w in windows:
        if end < w.start or start > w.end:
            out.append(w)
            continue
        if w.start < start:
            out.append(Window(w.kind, w.start, start - timedelta(days=1)))
        if end < w.end:
            out.append(Window(w.kind, end + timedelta(days=1), w.end))
    return tuple(out)


def _space_from_history(
    vaccine: Vaccine, timing: Timing, history: list[LiveEvent], conflicts: LiveVirusConflicts
) -> Timing:
    """A live vaccine's windows without the days that conflict with live vaccines already given."""
    if not vaccine.live or not timing.windows:
        return timing
    windows, rules, notes = timing.windows, list(timing.rules), []
    for event in sorted(history, key=lambda e: e.day):
        conflict = conflicts.between(event.vaccine, vaccine)
        if conflict is None:
            continue
        start = event.day + timedelta(days=conflict.begin_days)
        end = event.day + timedelta(days=conflict.end_days - 1)
        narrowed = _subtract(windows, start, end)
        if narrowed != windows:
            windows = narrowed
            if conflict.rule not in rules:
                rules.append(conflict.rule)
            notes.append(
                f"{event.vaccine.name} was given on {event.day}: another live vaccine must wait "
                f"{conflict.end_days} days (or be given the same day), so not before {end + timedelta(days=1)}."
            )
    if windows == timing.windows:
        return timing
    reason = timing.reason + " " + " ".join(notes)
    if not windows:
        reason = (
            "Live vaccine: no permitted day is left in the horizon. "
            + " ".join(notes)
            + " Without that conflict: "
            + timing.reason
        )
        return replace(timing, status=AVOID, windows=(), reason=reason, rules=tuple(rules))
    return replace(timing, status=windows[0].kind, windows=windows, reason=reason, rules=tuple(rules))


def _better(
    first: Proposal, second: Proposal, first_ready: date | None, second_ready: date | None, needed_by: date | None
) -> bool:
    """Whether the minimum-interval proposal is worth taking over the recommended one."""
    if second.complete and not first.complete:
        return True
    if needed_by is not None and second_ready is not None and second_ready <= needed_by:
        return first_ready is None or first_ready > needed_by
    return False


def _unbounded_proposal(
    vaccine: Vaccine, series: Series, given: tuple[date, ...], as_of: date, rules: VaccineRules, fixed: list[LiveEvent]
) -> Proposal:
    """The series as if no therapy start were in the way: to say which start date would let it come first."""
    open_window = (Window(PRE_START, as_of, as_of + timedelta(days=_START_SEARCH_DAYS)),)
    return propose(vaccine, series, given, open_window, as_of, MINIMUM, rules.conflicts, fixed)


def _plan_one(
    profile: TherapyProfile,
    schedule: DoseSchedule,
    req: VaccineRequest,
    match: Match,
    history: list[LiveEvent],
    proposed_live: list[LiveEvent],
    rules: VaccineRules,
    as_of: date,
    until: date,
) -> VaccinePlan:
    vaccine = match.vaccine
    series = rules.series_for(vaccine)
    lead = rules.lead_time_for(vaccine)
    given = tuple(sorted(req.given))
    timing = _space_from_history(
        vaccine, plan_timing(profile, schedule, vaccine.live, as_of, until), history, rules.conflicts
    )
    fixed = history + proposed_live
    if timing.status == AVOID:
        proposal = Proposal((), tuple(d.number for d in series.doses[len(given) :]), RECOMMENDED, (series.rule_id,))
    else:
        proposal = propose(vaccine, series, given, timing.windows, as_of, RECOMMENDED, rules.conflicts, fixed)
        ready = ready_on(proposal, given, lead)
        if not proposal.complete or (req.needed_by is not None and (ready is None or ready > req.needed_by)):
            fallback = propose(vaccine, series, given, timing.windows, as_of, MINIMUM, rules.conflicts, fixed)
            if _better(proposal, fallback, ready, ready_on(fallback, given, lead), req.needed_by):
                proposal = fallback
    ready = ready_on(proposal, given, lead)
    meets = None if req.needed_by is None else (ready is not None and ready <= req.needed_by)

    notes: list[str] = []
    delay_start_to = timing.delay_start_to
    series_start: date | None = None
    if vaccine.live and schedule.phase == NOT_STARTED and not proposal.complete:
        # What moving the first therapy dose would achieve. The contract's delay_start_to is about the next
        # dose only (null while it has a window); the whole series is named in the reason.
        trial = _unbounded_proposal(vaccine, series, given, as_of, rules, fixed)
        margin = timedelta(days=profile.live_pre_start_days)
        if trial.doses and timing.status == AVOID:
            delay_start_to = trial.doses[0].day + margin
            if delay_start_to != timing.delay_start_to:
                notes.append(
                    f"With that, the first {profile.name} dose would have to move to {delay_start_to} "
                    "or later for it to be given first."
                )
        if trial.complete and len(trial.doses) > 1:
            series_start = trial.doses[-1].day + margin
    remaining = series.length - len(given)
    if remaining == 0:
        notes.append(f"The {series.length}-dose series is complete.")
    elif proposal.doses:
        listed = ", ".join(f"dose {p.dose} on {p.day}" for p in proposal.doses)
        basis = "minimum" if proposal.basis == MINIMUM else "recommended"
        notes.append(f"Proposed: {listed}" + (f" (at the {basis} intervals)." if series.length > 1 else "."))
    if proposal.unplaced and timing.status != AVOID:
        notes.append(f"No permitted day in the horizon for dose(s) {', '.join(map(str, proposal.unplaced))}.")
    if series_start is not None:
        notes.append(
            f"Moving the first {profile.name} dose to {series_start} or later would let the whole series "
            "be given before treatment."
        )
    if req.needed_by is not None:
        if meets:
            notes.append(f"Protection expected by {ready}, before {req.needed_by}.")
        elif ready is not None:
            notes.append(f"Protection is expected only on {ready}, after {req.needed_by}.")
        else:
            notes.append(f"This plan cannot protect by {req.needed_by}.")
    extra_rules = [r for r in proposal.rules if r not in timing.rules]
    if (proposal.doses or remaining == 0) and series.length > 1:
        extra_rules.append(rules.basis_rule)
    if ready is not None:
        extra_rules.append(lead.rule_id)
    timing = replace(
        timing,
        reason=" ".join([timing.reason, *notes]),
        delay_start_to=delay_start_to,
        rules=tuple(dict.fromkeys([*timing.rules, *extra_rules])),
    )
    return VaccinePlan(req, match, timing, proposal, series, ready, meets)


def make_plan(request: PlanRequest, therapies: Therapies, catalog: Catalog, rules: VaccineRules) -> Plan:
    """Plan every requested vaccine around the therapy, or raise InvalidInput listing all problems."""
    errors: list[FieldError] = []
    profile: TherapyProfile | None = None
    try:
        profile = therapies.find(request.treatment.drug)
    except InvalidInput as bad:
        errors += bad.errors
    checked = check_vaccines(request, catalog, rules)
    errors += checked.errors
    until = request.as_of + timedelta(days=request.horizon_days)
    schedule = None
    if profile is not None:
        try:
            schedule = build_schedule(profile, request.treatment, request.as_of, until)
        except InvalidInput as bad:
            errors += bad.errors
    if errors or profile is None or schedule is None:
        raise InvalidInput(sorted(errors, key=lambda e: field_order(e.field)))

    # Doses of a live vaccine already given in its own series count for the spacing of the others.
    own_given = [
        [LiveEvent(m.vaccine, day) for day in req.given] if m.vaccine.live else []
        for req, m in zip(request.vaccines, checked.matches, strict=True)
    ]
    plans: list[VaccinePlan] = []
    proposed_live: list[LiveEvent] = []
    for i, (req, match) in enumerate(zip(request.vaccines, checked.matches, strict=True)):
        others_given = [e for j, events in enumerate(own_given) if j != i for e in events]
        vp = _plan_one(
            profile, schedule, req, match, checked.history + others_given, proposed_live, rules, request.as_of, until
        )
        plans.append(vp)
        if match.vaccine.live:
            proposed_live += [LiveEvent(match.vaccine, p.day) for p in vp.proposal.doses]
    return Plan(
        request.as_of, until, profile, therapies.versions[profile.id], schedule, tuple(plans), schedule.warnings
    )


def field_order(name: str) -> tuple[int, int]:
    """Sort key putting errors in the order of the request's fields, list items by index (vaccines[2] before
    vaccines[10]); a stable sort keeps each item's own order."""
    for rank, prefix in enumerate(("as_of", "treatment", "vaccines", "immunizations", "horizon_days")):
        if name.startswith(prefix):
            index = name[len(prefix) + 1 : name.find("]")] if name[len(prefix) : len(prefix) + 1] == "[" else ""
            return rank, int(index) if index.isdigit() else -1
    return 9, -1
