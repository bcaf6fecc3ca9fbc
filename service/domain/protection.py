"""What a plan can say about protection: ready_on (the protective dose plus its lead time), whether it meets
needed_by, and why not when a dose falls in B-cell depletion or an antibody check is advised."""

from __future__ import annotations

from datetime import date
from typing import Final

from .intervals import iso_day, shift
from .schedule import DoseSchedule
from .series import LeadTime, Proposal, Series
from .values import Value

PROTECTION = "protection"
SERIES_COMPLETE = "series_complete"


def _depleted_on(schedule: DoseSchedule, day: date) -> bool:
    """Whether a dose on `day` falls in B-cell depletion: on or after the first therapy dose, and before a
    confirmed repletion (therapy active, or stopped without confirmed repletion)."""
    if day < schedule.first_dose:
        return False
    return schedule.b_cell_repletion_on is None or day < schedule.b_cell_repletion_on


class Protection(Value):
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


def assess_protection(
    schedule: DoseSchedule,
    proposal: Proposal,
    given: tuple[date, ...],
    lead: LeadTime,
    series: Series,
    has_serology_rule: bool,
    needed_by: date | None,
) -> Protection:
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
    return Protection(ready, means, depleted, serology, meets)


def protection_notes(p: Protection, needed_by: date | None, protective: int, length: int) -> list[str]:
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
