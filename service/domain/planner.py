"""The planner: from a treatment history and a list of vaccines to a dated plan.

This is the one entry point the HTTP shell (and any other front end) calls. It gathers every input
problem into one InvalidInput so that a client can fix a request in one round trip.

Vaccines are planned in request order. A live vaccine proposed earlier in the list is a fixed event for
the ones after it, so two live vaccines end up on the same day or properly spaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import attrgetter
from typing import Final

from .advisories import YELLOW_FEVER_WITH_MMR_VARICELLA, PlanWarning
from .catalog import Catalog, LookupFailed, Match, Vaccine, normalize
from .errors import Candidate, FieldError, InvalidInput
from .history import VaccineGiven, review_history
from .intervals import iso_day, shift
from .schedule import NOT_STARTED, DoseSchedule, Treatment, build_schedule
from .series import (
    EVERY_DAY,
    MINIMUM,
    RECOMMENDED,
    AppointmentDays,
    LeadTime,
    Proposal,
    Series,
    passed_over_note,
    propose,
    ready_on,
    single_dose,
)
from .spacing import Conflict, Constraints, LiveEvent, LiveSpacing, LiveVirusConflicts
from .therapy import Rule, TherapyProfile
from .values import Value
from .windows import AVOID, PRE_START, Timing, Window, plan_timing

# How far ahead the planner looks for a start date that would let a live series finish before therapy.
_START_SEARCH_DAYS = 5 * 366


class VaccineRequest(Value):
    """One requested vaccine: exactly one of `name` or `cvx`, with its series so far, its deadline and the
    weekdays its doses may be proposed on (the request's `appointment_days`, the same for every vaccine: carried
    here because the placement of each vaccine's doses reads them, as it reads needed_by)."""

    _fields = ("name", "cvx", "given", "needed_by", "appointment_days")

    def __init__(
        self,
        name: str | None = None,
        cvx: str | None = None,
        given: tuple[date, ...] = (),
        needed_by: date | None = None,
        appointment_days: AppointmentDays = EVERY_DAY,
    ) -> None:
        self.name: Final = name
        self.cvx: Final = cvx
        self.given: Final = given
        self.needed_by: Final = needed_by
        self.appointment_days: Final = appointment_days


class Immunization(Value):
    """A vaccine already given, by CVX code or name, for live-live spacing."""

    _fields = ("day", "name", "cvx")

    def __init__(self, day: date, name: str | None = None, cvx: str | None = None) -> None:
        self.day: Final = day
        self.name: Final = name
        self.cvx: Final = cvx


class PlanRequest(Value):
    _fields = ("as_of", "treatment", "vaccines", "horizon_days", "immunizations")

    def __init__(
        self,
        as_of: date,
        treatment: Treatment,
        vaccines: tuple[VaccineRequest, ...],
        horizon_days: int,
        immunizations: tuple[Immunization, ...] = (),
    ) -> None:
        self.as_of: Final = as_of
        self.treatment: Final = treatment
        self.vaccines: Final = vaccines
        self.horizon_days: Final = horizon_days
        self.immunizations: Final = immunizations


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
    # Vaccine id -> the rule asking for an antibody check after a series given in B-cell depletion.
    serology: dict[str, str] = field(default_factory=dict)
    live_whole_rule: str = "plan.live-series-whole"
    depletion_rule: str = "plan.protection-in-depletion"
    yellow_fever_rule: str = "cdc.yellow-fever-mmr-spacing"

    # What each vaccine's rules come to, worked out once per ruleset (nothing in it depends on a request):
    # vaccine id -> (series, lead time, whether a minimum interval is shorter than the recommended one).
    _facts: dict[str, tuple[Series, LeadTime, bool]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def facts_for(self, vaccine: Vaccine) -> tuple[Series, LeadTime, bool]:
        """series_for, lead_time_for and has_shorter_minimum in one look-up (the planner needs all three)."""
        return self._facts_for(vaccine)

    def _facts_for(self, vaccine: Vaccine) -> tuple[Series, LeadTime, bool]:
        facts = self._facts.get(vaccine.id)
        if facts is None:
            series = self.series.get(vaccine.id) or single_dose(vaccine.id, self.single_dose_rule)
            lead = self.lead_times.get(vaccine.id, self.default_lead_time)
            facts = self._facts[vaccine.id] = (series, lead, _has_shorter_minimum(series))
        return facts

    def series_for(self, vaccine: Vaccine) -> Series:
        return self._facts_for(vaccine)[0]

    def lead_time_for(self, vaccine: Vaccine) -> LeadTime:
        return self._facts_for(vaccine)[1]

    def has_shorter_minimum(self, vaccine: Vaccine) -> bool:
        """Whether the series has a minimum interval shorter than the recommended one (two proposals to weigh)."""
        return self._facts_for(vaccine)[2]


class VaccinePlan(Value):
    _fields = (
        "request",
        "match",
        "timing",
        "proposal",
        "series",
        "ready_on",
        "meets_needed_by",
        "ready_on_means",
        "serology_advised",
        "lead",
    )

    def __init__(
        self,
        request: VaccineRequest,
        match: Match,
        timing: Timing,
        proposal: Proposal,
        series: Series,
        ready_on: date | None,
        meets_needed_by: bool | None,
        ready_on_means: str | None = None,
        serology_advised: bool = False,
        lead: LeadTime | None = None,
    ) -> None:
        self.request: Final = request
        self.match: Final = match
        self.timing: Final = timing
        self.proposal: Final = proposal
        self.series: Final = series
        self.ready_on: Final = ready_on
        self.meets_needed_by: Final = meets_needed_by
        # "protection" (protective dose plus lead time) or "series_complete" (a dose fell in B-cell depletion).
        self.ready_on_means: Final = ready_on_means
        self.serology_advised: Final = serology_advised
        self.lead: Final = lead

    @property
    def protective_dose(self) -> int:
        """The dose from which protection counts."""
        return (self.lead.after_dose if self.lead else None) or self.series.length

    @property
    def lead_days(self) -> int:
        return self.lead.days if self.lead else 0

    @property
    def given_counted(self) -> int:
        """Doses given that still count (none when a maximum interval restarted the course)."""
        return len(self.proposal.counted(self.request.given))


class Plan(Value):
    _fields = ("as_of", "until", "profile", "ruleset_version", "schedule", "vaccines", "warnings", "earliest_start")

    def __init__(
        self,
        as_of: date,
        until: date,
        profile: TherapyProfile,
        ruleset_version: str,
        schedule: DoseSchedule,
        vaccines: tuple[VaccinePlan, ...],
        warnings: tuple[PlanWarning, ...],
        earliest_start: date | None = None,
    ) -> None:
        self.as_of: Final = as_of
        self.until: Final = until
        self.profile: Final = profile
        self.ruleset_version: Final = ruleset_version
        self.schedule: Final = schedule
        self.vaccines: Final = vaccines
        self.warnings: Final = warnings
        # For a therapy not yet started: the earliest first dose the live vaccines in the history allow.
        self.earliest_start: Final = earliest_start


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


class _Checked:
    """What input checking yields: resolved vaccines and immunizations, or the errors found (filled in by
    _check_input)."""

    def __init__(self) -> None:
        self.matches: list[Match] = []
        self.history: list[LiveEvent] = []
        # Every immunization, live or not, for the checks against the first dose (service.domain.history).
        self.recorded: list[VaccineGiven] = []
        self.errors: list[FieldError] = []


def _lookup(catalog: Catalog, name: str | None, cvx: str | None, prefix: str) -> Match:
    match = catalog.as_written(name, cvx)
    if match is not None:
        return match  # the usual case, without naming the field a failed look-up would report
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
        if as_of is not None and req.given:
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
) -> tuple[Vaccine | None, list[FieldError]]:
    """immunizations[index]: the catalog vaccine it names (None when it names none), and what is wrong with it.
    `imm` None: its date is unknown (itself invalid), so only the name or code is looked up."""
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
    return vaccine, errors


def check_vaccines(request: PlanRequest, catalog: Catalog, rules: VaccineRules) -> _Checked:
    out = _Checked()
    for i, req in enumerate(request.vaccines):
        match, errors = vaccine_errors(i, req, request.as_of, catalog, rules)
        out.errors += errors
        if match is not None:
            out.matches.append(match)
    for i, imm in enumerate(request.immunizations):
        vaccine, errors = immunization_errors(i, imm, imm.name, imm.cvx, request.as_of, catalog)
        out.errors += errors
        if vaccine is not None:
            out.recorded.append(VaccineGiven(vaccine, imm.day))
            if vaccine.live:
                out.history.append(LiveEvent(vaccine, imm.day))
    return out


def _subtract(windows: tuple[Window, ...], start: date, end: date) -> tuple[Window, ...]:
    """Windows without the days [start, end]: the same tuple when none of them has any of those days."""
    for w in windows:
        if not (end < w.start or start > w.end):
            break
    else:
        return windows
    out: list[Window] = []
    for w in windows:
        if end < w.start or start > w.end:
            out.append(w)
            continue
        if w.start < start:
            out.append(Window(w.kind, w.start, shift(start, -1)))
        if end < w.end:
            out.append(Window(w.kind, shift(end, 1), w.end))
    return tuple(out)


_day = attrgetter("day")


def _space_from_history(
    vaccine: Vaccine, timing: Timing, history: list[LiveEvent], conflicts: LiveVirusConflicts
) -> Timing:
    """A live vaccine's windows without the days that conflict with live vaccines already given."""
    if not vaccine.live or not timing.windows:
        return timing
    windows, rules, notes = timing.windows, list(timing.rules), []
    for event in sorted(history, key=_day):
        conflict = conflicts.between(event.vaccine, vaccine)
        if conflict is None:
            continue
        start = shift(event.day, conflict.begin_days)
        end = shift(event.day, conflict.end_days - 1)
        narrowed = _subtract(windows, start, end)
        if narrowed is not windows:  # a new tuple only when the conflict took days away
            windows = narrowed
            if conflict.rule not in rules:
                rules.append(conflict.rule)
            notes.append(
                f"{event.vaccine.name} was given on {event.day}: another live vaccine must wait "
                f"{conflict.end_days} days (or be given the same day), so not before {shift(end, 1)}."
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
        return timing.replaced(status=AVOID, windows=(), reason=reason, rules=tuple(rules))
    return timing.replaced(status=windows[0].kind, windows=windows, reason=reason, rules=tuple(rules))


class _HistorySpacing:
    """_space_from_history for every live vaccine of one plan, worked out once per kind of conflict.

    A live vaccine's windows after spacing from the history depend on the vaccine only through its conflict
    with each vaccine of the history (its windows before spacing are the plan's live windows, the same for
    all). Live vaccines that conflict alike with every one of them, most of the catalog's live vaccines,
    get the same answer: it is worked out once and reused, so a long vaccine history is read once per kind
    of conflict, not once per vaccine requested (200 immunizations and 50 vaccines cost their product)."""

    def __init__(self, history: list[LiveEvent], conflicts: LiveVirusConflicts) -> None:
        self.history = history
        self.conflicts = conflicts
        kinds: dict[str, Vaccine] = {}
        for event in history:
            kinds.setdefault(event.vaccine.id, event.vaccine)
        self.kinds = list(kinds.values())
        self.spaced: dict[tuple[Conflict | None, ...], Timing] = {}
        self.constrained: dict[tuple[Conflict | None, ...], Constraints] = {}

    def space(self, vaccine: Vaccine, timing: Timing) -> Timing:
        """_space_from_history(vaccine, timing, history): `timing` must be the plan's live timing."""
        between = self.conflicts.between
        key = tuple([between(kind, vaccine) for kind in self.kinds])
        spaced = self.spaced.get(key)
        if spaced is None:
            spaced = self.spaced[key] = _space_from_history(vaccine, timing, self.history, self.conflicts)
        return spaced

    def constraints(self, vaccine: Vaccine) -> Constraints:
        """LiveVirusConflicts.constraints(vaccine, history): what the history asks of the vaccine's spacing,
        which depends on the vaccine only through its conflicts with each vaccine of the history, both ways."""
        between = self.conflicts.between
        key = tuple([c for kind in self.kinds for c in (between(kind, vaccine), between(vaccine, kind))])
        found = self.constrained.get(key)
        if found is None:
            found = self.constrained[key] = self.conflicts.constraints(vaccine, self.history)
        return found


PROTECTION = "protection"
SERIES_COMPLETE = "series_complete"


def _depleted_on(schedule: DoseSchedule, day: date) -> bool:
    """Whether a dose on `day` falls in B-cell depletion: on or after the first therapy dose, and before a
    confirmed repletion (therapy active, or stopped without confirmed repletion)."""
    if day < schedule.first_dose:
        return False
    return schedule.b_cell_repletion_on is None or day < schedule.b_cell_repletion_on


def _choice_key(
    proposal: Proposal, given: tuple[date, ...], lead: LeadTime, series: Series, req: VaccineRequest, first_dose: date
) -> tuple[bool, int, int, bool, bool]:
    """How good a proposal is, compared field by field (rule plan.interval-basis): every dose placed; more
    doses before the first therapy dose (they respond better before depletion); more doses placed;
    needed_by met; the recommended interval."""
    days = proposal.dose_days(given)
    before_first = 0
    for day in days.values():
        if day < first_dose:
            before_first += 1
    # ready_on, from the days already worked out: the protective dose plus the lead time.
    protective_day = days.get(lead.after_dose or series.length)
    meets = (
        req.needed_by is not None and protective_day is not None and shift(protective_day, lead.days) <= req.needed_by
    )
    return (proposal.complete, before_first, len(days), meets, proposal.basis == RECOMMENDED)


def _has_shorter_minimum(series: Series) -> bool:
    return any(i.recommended is not None and i.recommended != i.minimum for d in series.doses for i in d.intervals)


def _unbounded_proposal(
    vaccine: Vaccine,
    series: Series,
    given: tuple[date, ...],
    as_of: date,
    spacing: LiveSpacing | None,
    days: AppointmentDays,
) -> Proposal:
    """The series as if no therapy start were in the way: to say which start date would let it come first."""
    open_window = (Window(PRE_START, as_of, shift(as_of, _START_SEARCH_DAYS)),)
    return propose(series, given, open_window, as_of, MINIMUM, spacing, days)


def _choose_proposal(
    vaccine: Vaccine,
    series: Series,
    given: tuple[date, ...],
    timing: Timing,
    req: VaccineRequest,
    schedule: DoseSchedule,
    spacing: LiveSpacing | None,
    as_of: date,
    lead: LeadTime,
    shorter_minimum: bool,
) -> Proposal:
    """The series at its recommended or its minimum intervals, whichever rule plan.interval-basis prefers."""
    proposal = propose(series, given, timing.windows, as_of, RECOMMENDED, spacing, req.appointment_days)
    if not shorter_minimum:
        return proposal
    key = _choice_key(proposal, given, lead, series, req, schedule.first_dose)
    if key[:4] == _best_key_at_minimum(series, given, req, schedule.first_dose, as_of):
        # The minimum intervals cannot do better on any count, and the recommended ones win the tie.
        return proposal
    fallback = propose(series, given, timing.windows, as_of, MINIMUM, spacing, req.appointment_days)
    return fallback if _choice_key(fallback, given, lead, series, req, schedule.first_dose) > key else proposal


def _best_key_at_minimum(
    series: Series, given: tuple[date, ...], req: VaccineRequest, first_dose: date, as_of: date
) -> tuple[bool, int, int, bool]:
    """The most the first four counts of _choice_key can be for any proposal: every dose placed; as many doses
    before the first therapy dose as can be (all of them, but when the therapy has begun, proposed doses come
    on or after as_of and so after the first dose, and only doses given before it count); every dose with a
    day; needed_by met when there is one. A recommended proposal that reaches it needs no fallback."""
    if first_dose <= as_of:
        before_first = 0
        for day in given:
            if day < first_dose:
                before_first += 1
    else:
        before_first = series.length
    return (True, before_first, series.length, req.needed_by is not None)


class _Protection(Value):
    """What the plan can say about protection (rules lead-time.*, plan.protection-in-depletion, serology.*).
    One is made per vaccine and read at once, never shared: a value class, whose __init__ the compiled core
    runs natively (a NamedTuple is made through its interpreted __new__, 2,000 instructions each)."""

    _fields = ("ready_on", "means", "depleted", "serology", "meets")

    def __init__(
        self, ready_on: date | None, means: str | None, depleted: bool, serology: bool, meets: bool | None
    ) -> None:
        self.ready_on: Final = ready_on
        self.means: Final = means
        # A dose that protection rests on falls in B-cell depletion: ready_on is the day the series is complete.
        self.depleted: Final = depleted
        # Guidance asks for an antibody check after this series in an immunocompromised person.
        self.serology: Final = serology
        self.meets: Final = meets


def _protection(
    schedule: DoseSchedule,
    proposal: Proposal,
    given: tuple[date, ...],
    lead: LeadTime,
    series: Series,
    has_serology_rule: bool,
    needed_by: date | None,
) -> _Protection:
    protective = lead.after_dose or series.length
    # Every dose with a day, worked out once: depletion, completion and protection all read it.
    days = proposal.dose_days(given)
    depleted = False
    for number, day in days.items():
        if number <= protective and _depleted_on(schedule, day):
            depleted = True
            break
    # The check is asked for after a series given while immunocompromised: the doses protection rests on (a
    # dose after the protective one, such as Encepur's dose 3, does not change it).
    serology = has_serology_rule and depleted
    if depleted:
        # The day of the last dose, once every dose has one.
        ready = days.get(series.length) if proposal.complete else None
        means = SERIES_COMPLETE if ready is not None else None
    else:
        # series.ready_on: the protective dose plus the lead time.
        protective_day = days.get(protective)
        ready = None if protective_day is None else shift(protective_day, lead.days)
        means = PROTECTION if ready is not None else None
    # With an antibody check advised, the schedule alone cannot show protection: neither true nor false.
    meets = None if needed_by is None or serology else (ready is not None and ready <= needed_by)
    return _Protection(ready, means, depleted, serology, meets)


def _protection_notes(p: _Protection, needed_by: date | None, protective: int, length: int) -> list[str]:
    """The reason's sentences about protection: 'complete by' in depletion, never 'protection expected'."""
    notes: list[str] = []
    if p.depleted and p.ready_on is not None:
        notes.append(
            f"The series is complete by {iso_day(p.ready_on)}; doses given during B-cell depletion may give a weaker or no "
            "response, so no protection date is stated."
        )
    if p.serology:
        notes.append(
            "An antibody check after the series is advised for a person in B-cell depletion, so the schedule "
            "alone does not show protection (meets_needed_by is null)."
        )
        return notes
    if needed_by is None:
        if not p.depleted and p.ready_on is not None and protective < length:
            notes.append(f"Protection counts from dose {protective}: expected by {iso_day(p.ready_on)}.")
        return notes
    what = "Series complete" if p.depleted else "Protection expected"
    by = iso_day(needed_by)
    if p.meets and p.ready_on is not None:
        notes.append(f"{what} by {iso_day(p.ready_on)}, before {by}.")
    elif p.ready_on is not None:
        notes.append(f"{what} only on {iso_day(p.ready_on)}, after {by}.")
    elif p.depleted:
        notes.append(f"This plan cannot complete the series by {by}.")
    else:
        notes.append(f"This plan cannot protect by {by}.")
    return notes


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
    timings: dict[bool, Timing],
    history_spacing: _HistorySpacing | None,
) -> VaccinePlan:
    vaccine = match.vaccine
    live = vaccine.live
    series, lead, shorter_minimum = rules.facts_for(vaccine)
    length = series.length
    given = tuple(sorted(req.given))
    # The windows depend only on the therapy, the schedule, the horizon and whether the vaccine is live: each
    # kind is worked out once per plan (`timings`), and each vaccine starts from it (Timing is immutable).
    base = timings.get(live)
    if base is None:
        base = timings[live] = plan_timing(profile, schedule, live, as_of, until)
    if not live:
        timing = base
    elif history_spacing is not None:  # `history` is the plan's shared one: spaced once per kind of conflict
        timing = history_spacing.space(vaccine, base)
    else:
        timing = _space_from_history(vaccine, base, history, rules.conflicts)
    # Only a live vaccine is spaced from other live events (series._place); a non-live one needs no list.
    fixed = history + proposed_live if live else []
    # Its spacing from them, found once for every proposal below (the events do not change meanwhile); from
    # the plan's shared history, once per kind of conflict (_HistorySpacing).
    spacing: LiveSpacing | None = None
    if live:
        if history_spacing is not None:
            spacing = rules.conflicts.spacing(vaccine, proposed_live, history_spacing.constraints(vaccine))
        else:
            spacing = rules.conflicts.spacing(vaccine, fixed)
    notes: list[str] = []
    extra_rules: list[str] = []
    if timing.status == AVOID:
        proposal = Proposal((), _remaining_doses(series, given), RECOMMENDED, (series.rule_id,))
    else:
        proposal = _choose_proposal(
            vaccine, series, given, timing, req, schedule, spacing, as_of, lead, shorter_minimum
        )
    if live and proposal.doses:
        apart = _apart_from_yellow_fever(vaccine, series, given, timing, proposal, fixed, spacing, rules, req, as_of)
        if apart is not None:
            proposal, partner = apart
            notes.append(
                f"Planned at least {_YF_SPACING_DAYS} days from {partner} rather than on the same day, as CDC "
                "advises where possible."
            )
            extra_rules.append(rules.yellow_fever_rule)
    passed_over = passed_over_note(proposal, req.appointment_days)
    if passed_over is not None:
        notes.append(passed_over)
    if proposal.restarted:
        notes.append(
            "The dose(s) given no longer count: more than the maximum interval has passed (or would pass) "
            "before the next dose, and the label restarts the course, so a new course is proposed."
        )

    delay_start_to = timing.delay_start_to
    series_start: date | None = None
    if live and schedule.phase == NOT_STARTED and not proposal.complete:
        # What moving the first therapy dose would achieve for the whole series.
        trial = _unbounded_proposal(vaccine, series, given, as_of, spacing, req.appointment_days)
        margin = timedelta(days=profile.live_pre_start_days)
        if trial.complete and trial.doses:
            series_start = trial.doses[-1].day + margin
        if timing.status == AVOID and trial.doses:
            # The contract's delay_start_to: the first-dose date that lets the whole series come first.
            delay_start_to = (series_start or trial.doses[0].day + margin) if trial.complete else None
            series_start = None
    live_cut = (
        live
        and timing.status != AVOID
        and (
            not proposal.complete
            or (req.needed_by is not None and proposal.doses and proposal.doses[-1].day > req.needed_by)
        )
    )
    if live_cut:
        # A live series is given whole or not at all (rule plan.live-series-whole).
        if not proposal.complete:
            why = (
                f"Live vaccine: the remaining {length - len(given)} dose(s) of the {length}-dose series "
                "cannot all be given in the permitted window, and a live series is given whole or not at all: "
                "nothing is proposed."
            )
        else:
            why = (
                f"Live vaccine: the series could only be completed on {proposal.doses[-1].day}, after needed_by "
                f"{req.needed_by}, and a live series is given whole before it is needed or not at all: nothing is "
                "proposed."
            )
        if series_start is not None:
            delay_start_to = series_start
            why += (
                f" Moving the first {profile.name} dose to {series_start} or later would let the whole series "
                "be given before treatment."
            )
            series_start = None
        proposal = Proposal((), _remaining_doses(series, given), proposal.basis, proposal.rules, proposal.restarted)
        timing = timing.replaced(status=AVOID, windows=(), reason=why + " Without that: " + timing.reason)
        extra_rules.append(rules.live_whole_rule)
    elif timing.status == AVOID and delay_start_to is not None and delay_start_to != timing.delay_start_to:
        notes.append(
            f"With that, the first {profile.name} dose would have to move to {delay_start_to} "
            "or later for it to be given first."
        )

    serology_rule = rules.serology.get(vaccine.id)
    protection = _protection(schedule, proposal, given, lead, series, serology_rule is not None, req.needed_by)
    ready, depleted, serology = protection.ready_on, protection.depleted, protection.serology

    remaining = length - len(proposal.counted(given))
    if remaining == 0 and not proposal.doses:
        notes.append(f"The {length}-dose series is complete.")
    elif proposal.doses:
        listed = ", ".join([f"dose {p.dose} on {iso_day(p.day)}" for p in proposal.doses])
        basis = "minimum" if proposal.basis == MINIMUM else "recommended"
        notes.append(f"Proposed: {listed}" + (f" (at the {basis} intervals)." if length > 1 else "."))
    if proposal.unplaced and timing.status != AVOID:
        notes.append(f"No permitted day in the horizon for dose(s) {', '.join(map(str, proposal.unplaced))}.")
    if series_start is not None:
        notes.append(
            f"Moving the first {profile.name} dose to {series_start} or later would let the whole series "
            "be given before treatment."
        )
    notes += _protection_notes(protection, req.needed_by, lead.after_dose or length, length)
    if depleted:
        extra_rules.append(rules.depletion_rule)
    if serology and serology_rule is not None:
        extra_rules.append(serology_rule)
    extra_rules = [r for r in proposal.rules if r not in timing.rules] + extra_rules
    if (proposal.doses or remaining == 0) and length > 1:
        extra_rules.append(rules.basis_rule)
    if ready is not None and not depleted:
        extra_rules.append(lead.rule_id)
    timing = Timing(
        timing.status,
        timing.windows,
        " ".join([timing.reason, *notes]),
        tuple(dict.fromkeys([*timing.rules, *extra_rules])),
        delay_start_to,
        timing.b_cell_recheck_on,
        timing.notes,
    )
    return VaccinePlan(req, match, timing, proposal, series, ready, protection.meets, protection.means, serology, lead)


def _remaining_doses(series: Series, given: tuple[date, ...]) -> tuple[int, ...]:
    """The numbers of the doses not yet given."""
    return tuple(d.number for d in series.doses[len(given) :])


# Antigens whose vaccines CDC advises giving at least 30 days from yellow fever vaccine where possible.
_YF_PARTNER_ANTIGENS = frozenset({"Measles", "Mumps", "Rubella", "Varicella"})
_YF_SPACING_DAYS = 30


def _yellow_fever_partners(vaccine: Vaccine, fixed: list[LiveEvent]) -> list[LiveEvent]:
    """The live vaccines in `fixed` that CDC advises keeping 30 days from this one (yellow fever and MMR,
    MMRV or varicella, either way round)."""
    if "Yellow Fever" in vaccine.antigens:
        return [e for e in fixed if not _YF_PARTNER_ANTIGENS.isdisjoint(e.vaccine.antigens)]
    if not _YF_PARTNER_ANTIGENS.isdisjoint(vaccine.antigens):
        return [e for e in fixed if "Yellow Fever" in e.vaccine.antigens]
    return []


def _apart_from_yellow_fever(
    vaccine: Vaccine,
    series: Series,
    given: tuple[date, ...],
    timing: Timing,
    proposal: Proposal,
    fixed: list[LiveEvent],
    spacing: LiveSpacing | None,
    rules: VaccineRules,
    req: VaccineRequest,
    as_of: date,
) -> tuple[Proposal, str] | None:
    """The series moved 30 days from yellow fever (or from MMR/varicella, for yellow fever) when the plan put
    them closer, if it still completes in the windows, as early before the start and by needed_by; else None
    (the plan keeps the same day, and the plan's warnings say so)."""
    partners = _yellow_fever_partners(vaccine, fixed)
    close = [e for e in partners for p in proposal.doses if abs((p.day - e.day).days) < _YF_SPACING_DAYS]
    if not close:
        return None
    windows = timing.windows
    for event in partners:
        margin = timedelta(days=_YF_SPACING_DAYS - 1)
        windows = _subtract(windows, event.day - margin, event.day + margin)
    apart = propose(series, given, windows, as_of, proposal.basis, spacing, req.appointment_days)
    if not apart.complete:
        return None
    if req.needed_by is not None:
        before = ready_on(proposal, given, rules.lead_time_for(vaccine), series)
        after = ready_on(apart, given, rules.lead_time_for(vaccine), series)
        if before is not None and before <= req.needed_by and (after is None or after > req.needed_by):
            return None
    return apart, close[0].vaccine.name


def yellow_fever_warnings(plans: list[VaccinePlan], history: list[LiveEvent], rules: VaccineRules) -> list[PlanWarning]:
    """Yellow fever vaccine and an MMR, MMRV or varicella vaccine on the same day or under 30 days apart,
    given or proposed (rule cdc.yellow-fever-mmr-spacing)."""
    events: list[tuple[Vaccine, date, bool]] = [
        (e.vaccine, e.day, False)
        for e in history
        if "Yellow Fever" in e.vaccine.antigens or not _YF_PARTNER_ANTIGENS.isdisjoint(e.vaccine.antigens)
    ]
    for vp in plans:
        vaccine = vp.match.vaccine
        # Most plans have neither kind: their doses are not listed at all (the lists below would drop them).
        if "Yellow Fever" in vaccine.antigens or not _YF_PARTNER_ANTIGENS.isdisjoint(vaccine.antigens):
            events += [(vaccine, day, False) for day in vp.request.given]
            events += [(vaccine, p.day, True) for p in vp.proposal.doses]
    yellow = [(v, d, prop) for v, d, prop in events if "Yellow Fever" in v.antigens]
    partners = [(v, d, prop) for v, d, prop in events if not _YF_PARTNER_ANTIGENS.isdisjoint(v.antigens)]
    warnings: list[PlanWarning] = []
    seen: set[tuple[str, date, str, date]] = set()
    for yf, yf_day, yf_proposed in yellow:
        for other, day, proposed in partners:
            gap = abs((day - yf_day).days)
            if gap >= _YF_SPACING_DAYS or (yf.id, yf_day, other.id, day) in seen:
                continue
            seen.add((yf.id, yf_day, other.id, day))
            when = f"on the same day ({day})" if gap == 0 else f"{gap} days apart ({yf_day} and {day})"
            how = "proposed" if (yf_proposed or proposed) else "given"
            warnings.append(
                PlanWarning(
                    YELLOW_FEVER_WITH_MMR_VARICELLA,
                    f"{yf.name} and {other.name} {how} {when}: CDC advises giving yellow fever vaccine and MMR at "
                    "least 30 days apart where possible, because same-day co-administration lowered the responses "
                    "to yellow fever, mumps and rubella. If they cannot be separated, consider checking the yellow "
                    "fever antibody response before travel.",
                    (rules.yellow_fever_rule,),
                )
            )
    return warnings


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
    until = shift(request.as_of, request.horizon_days)
    schedule = None
    if profile is not None:
        try:
            schedule = build_schedule(profile, request.treatment, request.as_of, until)
        except InvalidInput as bad:
            errors += bad.errors
    if errors or profile is None or schedule is None:
        raise InvalidInput(sorted(errors, key=lambda e: field_order(e.field)))

    # Doses of a live vaccine already given in its own series count for the spacing of the others.
    # Every vaccine's own given live doses in request order, and where each vaccine's run ends: the others'
    # doses for vaccine i are the run before it and the run after it (two slices, not a rebuilt list).
    all_given: list[LiveEvent] = []
    bounds = [0]
    for req, m in zip(request.vaccines, checked.matches, strict=True):
        if m.vaccine.live and req.given:
            all_given += [LiveEvent(m.vaccine, day) for day in req.given]
        bounds.append(len(all_given))
    plans: list[VaccinePlan] = []
    proposed_live: list[LiveEvent] = []
    # A live vaccine proposed on a day already proposed for it (the same vaccine asked for twice, or a
    # combination and its part) is one event for spacing: a repeat of an event adds no conflict, no rule and
    # no yellow fever partner that the first did not, and kept repeats made each later vaccine scan them all
    # (50 live vaccines before a planned start grew quadratically).
    proposed_seen: set[tuple[str, date]] = set()
    timings: dict[bool, Timing] = {}
    # Without live doses given in the request itself, every live vaccine has the same history to be spaced
    # from (the immunizations): spaced once per kind of conflict (_HistorySpacing).
    shared = _HistorySpacing(checked.history, rules.conflicts) if not all_given and checked.history else None
    for i, (req, match) in enumerate(zip(request.vaccines, checked.matches, strict=True)):
        # Only a live vaccine is spaced from the live vaccines given (_space_from_history, series._place).
        history = checked.history + all_given[: bounds[i]] + all_given[bounds[i + 1] :] if match.vaccine.live else []
        vp = _plan_one(
            profile,
            schedule,
            req,
            match,
            history,
            proposed_live,
            rules,
            request.as_of,
            until,
            timings,
            shared,
        )
        plans.append(vp)
        if match.vaccine.live:
            for p in vp.proposal.doses:
                if (match.vaccine.id, p.day) not in proposed_seen:
                    proposed_seen.add((match.vaccine.id, p.day))
                    proposed_live.append(LiveEvent(match.vaccine, p.day))
    given = checked.recorded + [
        VaccineGiven(m.vaccine, day)
        for req, m in zip(request.vaccines, checked.matches, strict=True)
        for day in req.given
    ]
    review = review_history(profile, schedule, given, request.as_of)
    return Plan(
        request.as_of,
        until,
        profile,
        therapies.versions[profile.id],
        schedule,
        tuple(plans),
        schedule.warnings + review.warnings + tuple(yellow_fever_warnings(plans, checked.history, rules)),
        review.earliest_start,
    )


def field_order(name: str) -> tuple[int, int]:
    """Sort key putting errors in the order of the request's fields, list items by index (vaccines[2] before
    vaccines[10]); a stable sort keeps each item's own order."""
    for rank, prefix in enumerate(("as_of", "treatment", "vaccines", "immunizations", "horizon_days")):
        if name.startswith(prefix):
            index = name[len(prefix) + 1 : name.find("]")] if name[len(prefix) : len(prefix) + 1] == "[" else ""
            return rank, int(index) if index.isdigit() else -1
    return 9, -1
