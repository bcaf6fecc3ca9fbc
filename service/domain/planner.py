"""The planner: from a treatment history and a list of vaccines to a dated plan.

This is the one entry point the HTTP shell (and any other front end) calls. It gathers every input
problem into one InvalidInput so that a client can fix a request in one round trip.

Vaccines are planned in request order. A live vaccine proposed earlier in the list is a fixed event for
the ones after it, so two live vaccines end up on the same day or properly spaced. Each vaccine is planned in
named steps (_plan_one): its timing, its proposal, the start date that would let a live series come first,
the whole-or-nothing cut of a live series, what can be said about protection, and the reason and rule ids.
The rules those steps apply live beside this module: checks (input), live (live-live spacing, yellow fever
and MMR), choice (which proposal), protection (ready_on and needed_by).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from .advisories import PlanWarning
from .catalog import Catalog, Match, Vaccine, normalize
from .checks import Checked, check_vaccines, field_order, immunization_errors, vaccine_errors
from .choice import choose_proposal, remaining_doses, unbounded_proposal
from .errors import Candidate, FieldError, InvalidInput
from .history import VaccineGiven, review_history
from .intervals import iso_day, shift
from .live import YF_SPACING_DAYS, HistorySpacing, apart_from_yellow_fever, space_from_history, yellow_fever_warnings
from .protection import PROTECTION, SERIES_COMPLETE, Protection, _depleted_on, assess_protection, protection_notes
from .requests import Immunization, PlanRequest, VaccineRequest
from .schedule import NOT_STARTED, STOPPED, DoseSchedule, build_schedule, read_label
from .series import MINIMUM, RECOMMENDED, LeadTime, Proposal, Series, SeriesChoice, birth_date_errors, choose_series
from .spacing import LiveEvent, LiveSpacing
from .therapy import TherapyProfile
from .vaccine_plan import VaccinePlan
from .vaccine_rules import VaccineRules
from .values import Value
from .windows import AVOID, Timing, plan_timing

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


def _timing_for(
    vaccine: Vaccine,
    profile: TherapyProfile,
    schedule: DoseSchedule,
    history: list[LiveEvent],
    rules: VaccineRules,
    as_of: date,
    until: date,
    timings: dict[bool, Timing],
    history_spacing: HistorySpacing | None,
) -> Timing:
    """The vaccine's windows: the therapy's, and for a live vaccine without the days the live vaccines already
    given take away."""
    live = vaccine.live
    # The windows depend only on the therapy, the schedule, the horizon and whether the vaccine is live: each
    # kind is worked out once per plan (`timings`), and each vaccine starts from it (Timing is immutable).
    base = timings.get(live)
    if base is None:
        base = timings[live] = plan_timing(profile, schedule, live, as_of, until)
    if not live:
        return base
    if history_spacing is not None:  # `history` is the plan's shared one: spaced once per kind of conflict
        return history_spacing.space(vaccine, base)
    return space_from_history(vaccine, base, history, rules.conflicts)


def _spacing_for(
    vaccine: Vaccine,
    fixed: list[LiveEvent],
    proposed_live: list[LiveEvent],
    rules: VaccineRules,
    history_spacing: HistorySpacing | None,
) -> LiveSpacing | None:
    """A live vaccine's spacing from the live events fixed before it, found once for every proposal of it (the
    events do not change meanwhile); from the plan's shared history, once per kind of conflict (HistorySpacing).
    None for a vaccine that is not live."""
    if not vaccine.live:
        return None
    if history_spacing is not None:
        return rules.conflicts.spacing(vaccine, proposed_live, history_spacing.constraints(vaccine))
    return rules.conflicts.spacing(vaccine, fixed)


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
    profile: TherapyProfile,
    schedule: DoseSchedule,
    spacing: LiveSpacing | None,
    as_of: date,
) -> tuple[date | None, date | None]:
    """(delay_start_to, series_start): for a live series that cannot come whole before a therapy not yet
    started, the first-dose date that would let it (the contract's delay_start_to when the vaccine is to be
    avoided; else series_start, the date the reason mentions)."""
    delay_start_to = timing.delay_start_to
    series_start: date | None = None
    if vaccine.live and schedule.phase == NOT_STARTED and not proposal.complete:
        # What moving the first therapy dose would achieve for the whole series.
        trial = unbounded_proposal(vaccine, series, given, as_of, spacing)
        margin = timedelta(days=profile.live_pre_start_days)
        if trial.complete and trial.doses:
            series_start = trial.doses[-1].day + margin
        if timing.status == AVOID and trial.doses:
            # The contract's delay_start_to: the first-dose date that lets the whole series come first.
            delay_start_to = (series_start or trial.doses[0].day + margin) if trial.complete else None
            series_start = None
    return delay_start_to, series_start


def _live_series_cut(vaccine: Vaccine, timing: Timing, proposal: Proposal, req: VaccineRequest) -> bool:
    """Whether a live series must be dropped (rule plan.live-series-whole): it is given whole or not at all,
    and whole before needed_by."""
    if not vaccine.live or timing.status == AVOID:
        return False
    if not proposal.complete:
        return True
    return bool(req.needed_by is not None and proposal.doses and proposal.doses[-1].day > req.needed_by)


def _cut_live_series(
    series: Series,
    given: tuple[date, ...],
    timing: Timing,
    proposal: Proposal,
    req: VaccineRequest,
    profile: TherapyProfile,
    delay_start_to: date | None,
    series_start: date | None,
) -> tuple[Proposal, Timing, date | None]:
    """The live series given whole or not at all (rule plan.live-series-whole): nothing proposed, the vaccine
    avoided, and why; with the start date that would let the whole series come first as delay_start_to."""
    length = series.length
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
    proposal = Proposal((), remaining_doses(series, given), proposal.basis, proposal.rules, proposal.restarted)
    timing = timing.replaced(status=AVOID, windows=(), reason=why + " Without that: " + timing.reason)
    return proposal, timing, delay_start_to


def _series_notes(
    series: Series,
    remaining: int,
    timing: Timing,
    proposal: Proposal,
    profile: TherapyProfile,
    series_start: date | None,
) -> list[str]:
    """The reason's sentences about the series: complete, the doses proposed, doses without a day, and the
    start date that would let a live series come first."""
    length = series.length
    notes: list[str] = []
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
    ids = [r for r in proposal.rules if r not in timing.rules] + extra_rules
    if (proposal.doses or remaining == 0) and series.length > 1:
        ids.append(rules.basis_rule)
    if protection.ready_on is not None and not protection.depleted:
        ids.append(lead.rule_id)
    return tuple(dict.fromkeys([*timing.rules, *ids]))


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
    history_spacing: HistorySpacing | None,
    birth_date: date | None = None,
) -> VaccinePlan:
    """One vaccine's plan, in steps: its windows, its spacing from the live events fixed before it, the proposal,
    the start date that would let a live series come first, the whole-or-nothing cut, then the answer."""
    vaccine = match.vaccine
    given = tuple(sorted(req.given))
    timing = _timing_for(vaccine, profile, schedule, history, rules, as_of, until, timings, history_spacing)
    # Only a live vaccine is spaced from other live events (series._place); a non-live one needs no list.
    fixed = history + proposed_live if vaccine.live else []
    spacing = _spacing_for(vaccine, fixed, proposed_live, rules, history_spacing)
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
    delay_start_to, series_start = _start_to_move(
        vaccine, series, given, timing, proposal, profile, schedule, spacing, as_of
    )
    if _live_series_cut(vaccine, timing, proposal, req):
        proposal, timing, delay_start_to = _cut_live_series(
            series, given, timing, proposal, req, profile, delay_start_to, series_start
        )
        series_start = None
        extra_rules.append(rules.live_whole_rule)
    elif timing.status == AVOID and delay_start_to is not None and delay_start_to != timing.delay_start_to:
        notes.append(
            f"With that, the first {profile.name} dose would have to move to {delay_start_to} "
            "or later for it to be given first."
        )
    answer = _Answer(req, match, given, timing, proposal, notes, extra_rules, delay_start_to, series_start, facts)
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
    replete = schedule.phase == STOPPED and schedule.b_cell_repletion_on is not None
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
        lambda day: _depleted_on(schedule, day),
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


def _answered(a: _Answer, profile: TherapyProfile, schedule: DoseSchedule, rules: VaccineRules) -> VaccinePlan:
    """The vaccine's plan: what can be said about protection, the reason (the timing's, then the steps' notes,
    then the series' and protection's sentences) and the rule ids."""
    series, lead, _ = a.facts
    length = series.length
    timing, proposal, given = a.timing, a.proposal, a.given
    serology_rule = rules.serology.get(a.match.vaccine.id)
    protection = assess_protection(schedule, proposal, given, lead, series, serology_rule is not None, a.req.needed_by)
    remaining = length - len(proposal.counted(given))
    notes = a.notes + _series_notes(series, remaining, timing, proposal, profile, a.series_start)
    notes += protection_notes(protection, a.req.needed_by, lead.after_dose or length, length)
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
    return VaccinePlan(a.req, a.match, timing, proposal, series, p.ready_on, p.meets, p.means, p.serology, lead)


def _checked_request(
    request: PlanRequest, therapies: Therapies, catalog: Catalog, rules: VaccineRules, until: date
) -> tuple[TherapyProfile, DoseSchedule, Checked]:
    """The therapy, its dose schedule and the checked vaccines, or InvalidInput listing every problem in the
    order of the request's fields."""
    errors: list[FieldError] = []
    profile: TherapyProfile | None = None
    try:
        profile = read_label(therapies.find(request.treatment.drug), request.treatment)
    except InvalidInput as bad:
        errors += bad.errors
    checked = check_vaccines(request, catalog, rules)
    errors += checked.errors + birth_date_errors(request.birth_date, request.as_of)
    schedule = None
    if profile is not None:
        try:
            schedule = build_schedule(profile, request.treatment, request.as_of, until)
        except InvalidInput as bad:
            errors += bad.errors
    if errors or profile is None or schedule is None:
        raise InvalidInput(sorted(errors, key=lambda e: field_order(e.field)))
    return profile, schedule, checked


def _given_live_runs(request: PlanRequest, matches: list[Match]) -> tuple[list[LiveEvent], list[int]]:
    """Doses of a live vaccine already given in its own series count for the spacing of the others. Every
    vaccine's own given live doses in request order, and where each vaccine's run ends: the others' doses for
    vaccine i are the run before it and the run after it (two slices, not a rebuilt list)."""
    all_given: list[LiveEvent] = []
    bounds = [0]
    for req, m in zip(request.vaccines, matches, strict=True):
        if m.vaccine.live and req.given:
            all_given += [LiveEvent(m.vaccine, day) for day in req.given]
        bounds.append(len(all_given))
    return all_given, bounds


def make_plan(request: PlanRequest, therapies: Therapies, catalog: Catalog, rules: VaccineRules) -> Plan:
    """Plan every requested vaccine around the therapy, or raise InvalidInput listing all problems."""
    until = shift(request.as_of, request.horizon_days)
    profile, schedule, checked = _checked_request(request, therapies, catalog, rules, until)
    all_given, bounds = _given_live_runs(request, checked.matches)
    plans: list[VaccinePlan] = []
    proposed_live: list[LiveEvent] = []
    # A live vaccine proposed on a day already proposed for it (the same vaccine asked for twice, or a
    # combination and its part) is one event for spacing: a repeat of an event adds no conflict, no rule and
    # no yellow fever partner that the first did not, and kept repeats made each later vaccine scan them all
    # (50 live vaccines before a planned start grew quadratically).
    proposed_seen: set[tuple[str, date]] = set()
    timings: dict[bool, Timing] = {}
    # Without live doses given in the request itself, every live vaccine has the same history to be spaced
    # from (the immunizations): spaced once per kind of conflict (HistorySpacing).
    shared = HistorySpacing(checked.history, rules.conflicts) if not all_given and checked.history else None
    for i, (req, match) in enumerate(zip(request.vaccines, checked.matches, strict=True)):
        # Only a live vaccine is spaced from the live vaccines given (space_from_history, series._place).
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
            request.birth_date,
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
