"""The planner: from a treatment history and a list of vaccines to a dated plan.

This is the one entry point the HTTP shell (and any other front end) calls. It gathers every input
problem into one InvalidInput so that a client can fix a request in one round trip.

Every vaccine's answer is independent of the order of the request's vaccines (answers still come back in
request order). A non-live vaccine meets no other vaccine. Live vaccines meet each other in one place,
live.settle_live: placed in an order-free priority, each on the earliest days that conflict with no live
vaccine given or settled before it. Each vaccine is planned in named steps (_plan_one): its timing, its
proposal, the start date that would let a live series come first, the cut of a live course that gives no
protection when partial, what can be said about protection, and the reason and rule ids. The rules those steps
apply live beside this module: checks (input), live (live-live spacing, yellow fever and MMR, the settling of
live vaccines), choice (which proposal), protection (ready_on and needed_by).
"""

from __future__ import annotations

from datetime import date
from typing import Final

from .advisories import DOSE_NOT_COUNTED, PlanWarning
from .catalog import Catalog, Match, Vaccine, normalize
from .checks import Checked, check_vaccines, field_order, immunization_errors, vaccine_errors
from .choice import choose_proposal, remaining_doses, unbounded_proposal
from .errors import Candidate, FieldError, InvalidInput
from .gates import KindProfile
from .history import VaccineGiven
from .intervals import day_span, iso_day, shift
from .kinds import AnyProfile, profile_for_label, review_for, schedule_for, timing_for
from .live import YF_SPACING_DAYS, HistorySpacing, apart_from_yellow_fever, settle_live, yellow_fever_warnings
from .protection import PROTECTION, SERIES_COMPLETE, Protection, assess_protection, depleted_on, protection_notes
from .requests import Immunization, PlanRequest, VaccineRequest
from .schedule import NOT_STARTED, STOPPED, DoseSchedule
from .series import (
    MINIMUM,
    RECOMMENDED,
    AppointmentDays,
    LeadTime,
    Proposal,
    Series,
    SeriesChoice,
    birth_date_errors,
    choose_series,
    passed_over_note,
)
from .spacing import ACIP_RULE, CDSI_RULE, LiveEvent, LiveSpacing
from .vaccine_plan import VaccinePlan
from .vaccine_rules import VaccineRules
from .values import Value
from .windows import AVOID, Timing

# The planner's public names, those of the request and answer classes and input checks among them: front ends
# import them from here.
__all__ = [
    "PROTECTION",
    "SERIES_COMPLETE",
    "Immunization",
    "Plan",
    "PlanRequest",
    "Therapies",
    "VaccinePlan",
    "VaccineRequest",
    "VaccineRules",
    "check_vaccines",
    "field_order",
    "immunization_errors",
    "make_plan",
    "vaccine_errors",
    "yellow_fever_warnings",
]


class Plan(Value):
    _fields = ("as_of", "until", "profile", "ruleset_version", "schedule", "vaccines", "warnings", "earliest_start")

    def __init__(
        self,
        as_of: date,
        until: date,
        profile: AnyProfile,
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

    def __init__(self, profiles: list[AnyProfile], ruleset_versions: dict[str, str]):
        self.profiles = tuple(profiles)
        self.versions = dict(ruleset_versions)
        self._by_name = {normalize(n): p for p in profiles for n in (p.id, p.name, *p.names, *p.brand_names)}

    def find(self, drug: str, field: str = "treatment.drug") -> AnyProfile:
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


def _timing_for(
    vaccine: Vaccine,
    profile: AnyProfile,
    schedule: DoseSchedule,
    as_of: date,
    until: date,
    timings: dict[bool, Timing],
    history: HistorySpacing,
) -> Timing:
    """The vaccine's windows: the therapy's, and for a live vaccine without the days the live vaccines already
    given take away."""
    live = vaccine.live
    # The windows depend only on the therapy, the schedule, the horizon and whether the vaccine is live: each
    # kind is worked out once per plan (`timings`), and each vaccine starts from it (Timing is immutable).
    base = timings.get(live)
    if base is None:
        base = timings[live] = timing_for(profile, schedule, live, as_of, until)
    if not live:
        return base
    return history.space(vaccine, base)  # the plan's live history, spaced once per kind of conflict


def _spacing_for(
    vaccine: Vaccine, settled: list[LiveEvent], rules: VaccineRules, history: HistorySpacing
) -> tuple[LiveSpacing | None, bool]:
    """A live vaccine's spacing from the live events given (the plan's history, once per kind of conflict) and
    settled before it, found once for every proposal of it (the events do not change meanwhile); and whether a
    settled one constrains it. (None, False) for a vaccine that is not live."""
    if not vaccine.live:
        return None, False
    from_settled = rules.conflicts.constraints(vaccine, settled)
    known = history.constraints(vaccine)
    return LiveSpacing(list({**known, **from_settled}.values())), bool(from_settled)


def _proposal_for(
    vaccine: Vaccine,
    given: tuple[date, ...],
    timing: Timing,
    req: VaccineRequest,
    schedule: DoseSchedule,
    spacing: LiveSpacing | None,
    fixed: list[LiveEvent],
    rules: VaccineRules,
    as_of: date,
    notes: list[str],
    extra_rules: list[str],
    facts: tuple[Series, LeadTime, bool],
) -> Proposal:
    """The doses proposed in the windows (none when the vaccine is to be avoided), moved 30 days from yellow
    fever or MMR where that still works; what that changed is added to `notes` and `extra_rules`. `facts`:
    the series planned, its lead time and whether a minimum interval is shorter than the recommended one."""
    series, lead, shorter_minimum = facts
    if timing.status == AVOID:
        return Proposal((), remaining_doses(series, given), RECOMMENDED, (series.rule_id,))
    proposal = choose_proposal(vaccine, series, given, timing, req, schedule, spacing, as_of, lead, shorter_minimum)
    if vaccine.live and proposal.doses:
        apart = apart_from_yellow_fever(vaccine, series, given, timing, proposal, fixed, spacing, rules, req, as_of)
        if apart is not None:
            proposal, partner = apart
            notes.append(
                f"Planned at least {YF_SPACING_DAYS} days from {partner} rather than on the same day, as CDC "
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
    return proposal


def _start_to_move(
    vaccine: Vaccine,
    series: Series,
    given: tuple[date, ...],
    timing: Timing,
    proposal: Proposal,
    profile: AnyProfile,
    schedule: DoseSchedule,
    spacing: LiveSpacing | None,
    as_of: date,
    days: AppointmentDays,
) -> tuple[date | None, date | None]:
    """(delay_start_to, series_start): for a live series that cannot come whole before a therapy not yet
    started, the first-dose date that would let it: the contract's delay_start_to when the vaccine is to be
    avoided; else series_start, which the reason mentions and _plan_one makes delay_start_to too when the doses
    that fit are proposed and the rest waits."""
    delay_start_to = timing.delay_start_to
    series_start: date | None = None
    if vaccine.live and schedule.phase == NOT_STARTED and not proposal.complete:
        # What moving the first therapy dose would achieve for the whole series.
        trial = unbounded_proposal(vaccine, series, given, as_of, spacing, days)
        margin = day_span(profile.live_pre_start_days)
        if trial.complete and trial.doses:
            series_start = trial.doses[-1].day + margin
        if timing.status == AVOID and trial.doses:
            # The contract's delay_start_to: the first-dose date that lets the whole series come first.
            delay_start_to = (series_start or trial.doses[0].day + margin) if trial.complete else None
            series_start = None
    return delay_start_to, series_start


def _live_series_cut(vaccine: Vaccine, series: Series, timing: Timing, proposal: Proposal) -> bool:
    """Whether a live course must be dropped (rule plan.live-series-whole): it cannot be completed in its
    windows, and the product's partial course gives no protection (Ty21a)."""
    return vaccine.live and timing.status != AVOID and not proposal.complete and not series.partial_protects


def _cut_live_series(
    series: Series,
    given: tuple[date, ...],
    timing: Timing,
    proposal: Proposal,
    profile: AnyProfile,
    delay_start_to: date | None,
    series_start: date | None,
) -> tuple[Proposal, Timing, date | None]:
    """A live course that protects only whole, cut (rule plan.live-series-whole): nothing proposed, the vaccine
    avoided, and why; with the start date that would let the whole course come first as delay_start_to."""
    why = (
        f"Live vaccine: the remaining {series.length - len(given)} dose(s) of the {series.length}-dose course "
        "cannot all be given in the permitted window, and a partial course of this product gives no protection "
        "(the rest cannot follow during B-cell depletion): it is given whole or not at all, so nothing is proposed."
    )
    if series_start is not None:
        delay_start_to = series_start
        why += (
            f" Moving the first {profile.name} dose to {series_start} or later would let the whole course "
            "be given before treatment."
        )
    proposal = Proposal((), remaining_doses(series, given), proposal.basis, proposal.rules, proposal.restarted)
    timing = timing.replaced(status=AVOID, windows=(), reason=why + " Without that: " + timing.reason)
    return proposal, timing, delay_start_to


def _what_waits(proposal: Proposal, series: Series, profile: AnyProfile, schedule: DoseSchedule) -> str:
    """The reason's sentence for a live series that starts before therapy and cannot finish before it."""
    doses = ", ".join(map(str, proposal.unplaced))
    waits = (
        f"Dose(s) {doses} of the {series.length}-dose series cannot be given before the first {profile.name} dose on "
        f"{iso_day(schedule.first_dose)}: they wait until after treatment, once B-cell repletion is confirmed (live "
        "vaccines are not given during B-cell depletion)."
    )
    if isinstance(profile, KindProfile):
        waits = (
            f"Dose(s) {doses} of the {series.length}-dose series cannot be given before {profile.name} starts on "
            f"{iso_day(schedule.first_dose)}: they wait until live vaccines are allowed again after it (not during "
            f"{profile.suppression})."
        )
    if proposal.doses:
        waits += " The dose(s) proposed come now: this may be the last chance for a live vaccine for a long time."
    return waits


def _series_notes(
    series: Series,
    remaining: int,
    timing: Timing,
    proposal: Proposal,
    profile: AnyProfile,
    series_start: date | None,
    waits: str | None,
) -> list[str]:
    """The reason's sentences about the series: complete, the doses proposed, doses without a day (or what
    waits for repletion, `waits`), and the start date that would let a live series come first."""
    length = series.length
    notes: list[str] = []
    if remaining == 0 and not proposal.doses:
        notes.append(f"The {length}-dose series is complete.")
    elif proposal.doses:
        listed = ", ".join([f"dose {p.dose} on {iso_day(p.day)}" for p in proposal.doses])
        basis = "minimum" if proposal.basis == MINIMUM else "recommended"
        notes.append(f"Proposed: {listed}" + (f" (at the {basis} intervals)." if length > 1 else "."))
    if waits is not None:
        notes.append(waits)
    elif proposal.unplaced and timing.status != AVOID:
        notes.append(f"No permitted day in the horizon for dose(s) {', '.join(map(str, proposal.unplaced))}.")
    if series_start is not None:
        notes.append(
            f"Moving the first {profile.name} dose to {series_start} or later would let the whole series "
            "be given before treatment."
        )
    return notes


def _rule_ids(
    timing: Timing,
    proposal: Proposal,
    series: Series,
    remaining: int,
    lead: LeadTime,
    protection: Protection,
    serology_rule: str | None,
    extra_rules: list[str],
    rules: VaccineRules,
) -> tuple[str, ...]:
    """Every rule the vaccine's answer rests on, each once: the timing's, then the proposal's, then the ones the
    steps added (`extra_rules`), depletion, serology, the interval basis and the lead time."""
    if protection.depleted:
        extra_rules.append(rules.depletion_rule)
    if protection.serology and serology_rule is not None:
        extra_rules.append(serology_rule)
    if (proposal.doses or remaining == 0) and series.length > 1:
        extra_rules.append(rules.basis_rule)
    if protection.ready_on is not None:
        extra_rules.append(lead.rule_id)
    # Each rule once, in the order first cited: a handful of ids, where a list beats building a dict.
    unique: list[str] = []
    for rule in [*timing.rules, *proposal.rules, *extra_rules]:
        if rule not in unique:
            unique.append(rule)
    return tuple(unique)


def _plan_one(
    profile: AnyProfile,
    schedule: DoseSchedule,
    req: VaccineRequest,
    match: Match,
    given: tuple[date, ...],
    settled: list[LiveEvent],
    rules: VaccineRules,
    as_of: date,
    until: date,
    timings: dict[bool, Timing],
    history: HistorySpacing,
    birth_date: date | None = None,
) -> VaccinePlan:
    """One vaccine's plan, in steps: its windows, its spacing from the live events given and settled before it,
    the proposal, the start date that would let a live series come first, the cut of a live course that protects
    only whole (or what waits of a live series the start cuts), then the answer. `given`: the doses given that
    the series counts, in date order."""
    vaccine = match.vaccine
    timing = _timing_for(vaccine, profile, schedule, as_of, until, timings, history)
    # Only a live vaccine is spaced from other live events (series._place); a non-live one needs no list.
    fixed = history.history + settled if vaccine.live else []
    spacing, constrained = _spacing_for(vaccine, settled, rules, history)
    notes: list[str] = []
    extra_rules: list[str] = []
    facts = rules.facts_for(vaccine)
    choice = _product_schedule(rules, vaccine, facts, given, timing, schedule, req, as_of, birth_date)
    if choice is not None:  # the product's schedule for this patient (series.choose_series)
        facts = (choice.series, choice.lead, choice.shorter)
        notes += choice.notes
        extra_rules += choice.rules
    series = facts[0]
    proposal = _proposal_for(
        vaccine, given, timing, req, schedule, spacing, fixed, rules, as_of, notes, extra_rules, facts
    )
    if constrained and (rules.yellow_fever_rule in extra_rules or {CDSI_RULE, ACIP_RULE} & set(proposal.rules)):
        extra_rules.append(rules.live_priority_rule)  # another live vaccine came first: say which rule chose
    delay_start_to, series_start = _start_to_move(
        vaccine, series, given, timing, proposal, profile, schedule, spacing, as_of, req.appointment_days
    )
    waits = None
    if _live_series_cut(vaccine, series, timing, proposal):
        proposal, timing, delay_start_to = _cut_live_series(
            series, given, timing, proposal, profile, delay_start_to, series_start
        )
        series_start = None
        extra_rules.append(rules.live_whole_rule)
    elif vaccine.live and schedule.phase == NOT_STARTED and timing.status != AVOID and not proposal.complete:
        # The doses that fit before the start are proposed; the rest wait for repletion, and delay_start_to
        # names the first-dose date that would let the whole series come first.
        waits = _what_waits(proposal, series, profile, schedule)
        delay_start_to = series_start
        extra_rules.append(rules.live_whole_rule)
    elif timing.status == AVOID and delay_start_to is not None and delay_start_to != timing.delay_start_to:
        notes.append(
            f"With that, the first {profile.name} dose would have to move to {delay_start_to} "
            "or later for it to be given first."
        )
    answer = _Answer(
        req, match, given, timing, proposal, notes, extra_rules, delay_start_to, series_start, waits, facts
    )
    return _answered(answer, profile, schedule, rules)


def _product_schedule(
    rules: VaccineRules,
    vaccine: Vaccine,
    facts: tuple[Series, LeadTime, bool],
    given: tuple[date, ...],
    timing: Timing,
    schedule: DoseSchedule,
    req: VaccineRequest,
    as_of: date,
    birth_date: date | None,
) -> SeriesChoice | None:
    """series.choose_series for a non-live vaccine with other schedules (None for the rest): the patient is
    immunocompromised on or starting the therapy, until a confirmed B-cell repletion."""
    alternatives = rules.alternatives.get(vaccine.id)
    if not alternatives or vaccine.live:
        return None
    replete = schedule.phase == STOPPED and schedule.recovered_on is not None
    series, lead, _ = facts
    return choose_series(
        series,
        lead,
        alternatives,
        given,
        timing.windows,
        as_of,
        req.needed_by,
        birth_date,
        not replete,
        lambda day: depleted_on(schedule, day),
    )


class _Answer:
    """What the steps of _plan_one found for one vaccine, for _answered to turn into its VaccinePlan."""

    def __init__(
        self,
        req: VaccineRequest,
        match: Match,
        given: tuple[date, ...],
        timing: Timing,
        proposal: Proposal,
        notes: list[str],
        extra_rules: list[str],
        delay_start_to: date | None,
        series_start: date | None,
        waits: str | None,
        facts: tuple[Series, LeadTime, bool],
    ) -> None:
        self.facts = facts
        self.req = req
        self.match = match
        self.given = given
        self.timing = timing
        self.proposal = proposal
        self.notes = notes
        self.extra_rules = extra_rules
        self.delay_start_to = delay_start_to
        self.series_start = series_start
        self.waits = waits


def _answered(a: _Answer, profile: AnyProfile, schedule: DoseSchedule, rules: VaccineRules) -> VaccinePlan:
    """The vaccine's plan: what can be said about protection, the reason (the timing's, then the steps' notes,
    then the series' and protection's sentences) and the rule ids."""
    series, lead, _ = a.facts
    length = series.length
    timing, proposal, given = a.timing, a.proposal, a.given
    serology_rule = rules.serology.get(a.match.vaccine.id)
    protection = assess_protection(schedule, proposal, given, lead, series, serology_rule is not None, a.req.needed_by)
    remaining = length - len(proposal.counted(given))
    notes = a.notes + _series_notes(series, remaining, timing, proposal, profile, a.series_start, a.waits)
    suppression = profile.suppression if isinstance(profile, KindProfile) else "B-cell depletion"
    notes += protection_notes(protection, a.req.needed_by, lead.after_dose or length, length, suppression)
    rule_ids = _rule_ids(timing, proposal, series, remaining, lead, protection, serology_rule, a.extra_rules, rules)
    timing = Timing(
        timing.status,
        timing.windows,
        " ".join([timing.reason, *notes]),
        rule_ids,
        a.delay_start_to,
        timing.b_cell_recheck_on,
        timing.notes,
    )
    p = protection
    return VaccinePlan(
        a.req, a.match, timing, proposal, series, p.ready_on, p.meets, p.means, p.serology, lead, a.given
    )


def _checked_request(
    request: PlanRequest, therapies: Therapies, catalog: Catalog, rules: VaccineRules, until: date
) -> tuple[AnyProfile, DoseSchedule, Checked]:
    """The therapy, its dose schedule and the checked vaccines, or InvalidInput listing every problem in the
    order of the request's fields."""
    errors: list[FieldError] = []
    profile: AnyProfile | None = None
    try:
        profile = profile_for_label(therapies.find(request.treatment.drug), request.treatment)
    except InvalidInput as bad:
        errors += bad.errors
    checked = check_vaccines(request, catalog, rules)
    errors += checked.errors + birth_date_errors(request.birth_date, request.as_of)
    schedule = None
    if profile is not None:
        try:
            schedule = schedule_for(profile, request.treatment, request.as_of, until)
        except InvalidInput as bad:
            errors += bad.errors
    if errors or profile is None or schedule is None:
        raise InvalidInput(sorted(errors, key=lambda e: field_order(e.field)))
    return profile, schedule, checked


def _counted_given(
    requested: list[tuple[VaccineRequest, Match]], schedule: DoseSchedule, rules: VaccineRules
) -> tuple[list[tuple[date, ...]], list[PlanWarning]]:
    """Per vaccine, the doses given that its series counts, in date order: all but a live dose given on or after
    the first therapy dose while not replete (rule plan.live-dose-not-counted); and a dose-not-counted warning
    for each vaccine that had one, in vaccine id order."""
    counted: list[tuple[date, ...]] = []
    dropped: list[tuple[str, Vaccine, list[date]]] = []
    for req, m in requested:
        days = tuple(sorted(req.given)) if req.given else ()
        if m.vaccine.live and days:
            during = [d for d in days if depleted_on(schedule, d)]
            if during:
                days = tuple(d for d in days if not depleted_on(schedule, d))
                dropped.append((m.vaccine.id, m.vaccine, during))
        counted.append(days)
    if not dropped:
        return counted, []  # the usual plan: no live dose given in depletion
    warnings = [
        PlanWarning(
            DOSE_NOT_COUNTED,
            f"{vaccine.name} given on {', '.join(map(iso_day, during))}, during B-cell depletion (on or after the "
            "first therapy dose, repletion not confirmed): not counted toward its series. ACIP advises that a "
            "person vaccinated during immunosuppressive therapy be considered unimmunized and revaccinated once "
            "immune competence is restored; the dose still spaces the live vaccines after it.",
            (rules.not_counted_rule,),
        )
        for _, vaccine, during in sorted(dropped, key=lambda x: (x[0], x[2]))
    ]
    return counted, warnings


def make_plan(request: PlanRequest, therapies: Therapies, catalog: Catalog, rules: VaccineRules) -> Plan:
    """Plan every requested vaccine around the therapy, or raise InvalidInput listing all problems."""
    until = shift(request.as_of, request.horizon_days)
    profile, schedule, checked = _checked_request(request, therapies, catalog, rules, until)
    # Each requested vaccine with its catalog match (the checks found one for each), paired once for every
    # step below.
    requested = list(zip(request.vaccines, checked.matches, strict=True))
    counted, not_counted = _counted_given(requested, schedule, rules)
    # Every live dose given (immunizations, and each vaccine's given list, its own included: a live dose given
    # moves its own next dose as it moves the other live vaccines) is the same history for every live vaccine:
    # spaced once per kind of conflict (HistorySpacing).
    history = HistorySpacing(
        checked.history + [LiveEvent(m.vaccine, day) for req, m in requested if m.vaccine.live for day in req.given],
        rules.conflicts,
    )
    timings: dict[bool, Timing] = {}

    def place(i: int, settled: list[LiveEvent]) -> VaccinePlan:
        req, match = request.vaccines[i], checked.matches[i]
        return _plan_one(
            profile,
            schedule,
            req,
            match,
            counted[i],
            settled,
            rules,
            request.as_of,
            until,
            timings,
            history,
            request.birth_date,
        )

    # A non-live vaccine meets no other vaccine: planned alone. The live ones are settled together.
    plans: list[VaccinePlan | None] = [None if m.vaccine.live else place(i, []) for i, m in enumerate(checked.matches)]
    live = [(i, r, m.vaccine) for i, (r, m) in enumerate(requested) if m.vaccine.live]
    for i, vp in settle_live(live, place).items():
        plans[i] = vp
    answers = tuple(vp for vp in plans if vp is not None)
    given = checked.recorded + [VaccineGiven(m.vaccine, day) for req, m in requested for day in req.given]
    review = review_for(profile, schedule, given, request.as_of)
    return Plan(
        request.as_of,
        until,
        profile,
        therapies.versions[profile.id],
        schedule,
        answers,
        schedule.warnings
        + review.warnings
        + tuple(not_counted)
        + tuple(yellow_fever_warnings(list(answers), checked.history, rules)),
        review.earliest_start,
    )
