"""Which proposal a series gets: at its recommended or its minimum intervals (rule plan.interval-basis), and
the series as if no therapy start were in the way (to say which start date would let it come first)."""

from __future__ import annotations

from datetime import date

from .catalog import Vaccine
from .intervals import shift
from .requests import VaccineRequest
from .schedule import DoseSchedule
from .series import MINIMUM, RECOMMENDED, LeadTime, Proposal, Series, propose
from .spacing import LiveSpacing
from .windows import PRE_START, Timing, Window

# How far ahead the planner looks for a start date that would let a live series finish before therapy.
_START_SEARCH_DAYS = 5 * 366


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


def unbounded_proposal(
    vaccine: Vaccine, series: Series, given: tuple[date, ...], as_of: date, spacing: LiveSpacing | None
) -> Proposal:
    """The series as if no therapy start were in the way: to say which start date would let it come first."""
    open_window = (Window(PRE_START, as_of, shift(as_of, _START_SEARCH_DAYS)),)
    return propose(series, given, open_window, as_of, MINIMUM, spacing)


def choose_proposal(
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
    proposal = propose(series, given, timing.windows, as_of, RECOMMENDED, spacing)
    if not shorter_minimum:
        return proposal
    key = _choice_key(proposal, given, lead, series, req, schedule.first_dose)
    if key[:4] == _best_key_at_minimum(series, given, req, schedule.first_dose, as_of):
        # The minimum intervals cannot do better on any count, and the recommended ones win the tie.
        return proposal
    fallback = propose(series, given, timing.windows, as_of, MINIMUM, spacing)
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


def remaining_doses(series: Series, given: tuple[date, ...]) -> tuple[int, ...]:
    """The numbers of the doses not yet given."""
    return tuple(d.number for d in series.doses[len(given) :])
