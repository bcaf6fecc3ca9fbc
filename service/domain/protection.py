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


def depleted_on(schedule: DoseSchedule, day: date) -> bool:
    """Whether a dose on `day` falls in B-cell depletion: on or after the first therapy dose, and before a
    confirmed repletion (therapy active, or stopped without confirmed repletion)."""
    if day < schedule.first_dose:
        return False
    return schedule.recovered_on is None or day < schedule.recovered_on


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
        if number <= protective and depleted_on(schedule, day):
            depleted = True
            break
    # The check is asked for after a series given while immunocompromised: the doses protection rests on (a
    # dose after the protective one, such as Encepur's dose 3, does not change it).
    serology = has_serology_rule and depleted
    if depleted:
        # No protection date in depletion: the last dose of the series (once every dose has a day) plus the lead
        # time, the earliest day protection could count from if the response comes at all.
        last = days.get(series.length) if proposal.complete else None
        ready = None if last is None else shift(last, lead.days)
        means = SERIES_COMPLETE if ready is not None else None
    else:
        # series.ready_on: the protective dose plus the lead time.
        protective_day = days.get(protective)
        ready = None if protective_day is None else shift(protective_day, lead.days)
        means = PROTECTION if ready is not None else None
    # In depletion (the response may be weak or absent) or with an antibody check advised, the schedule alone
    # cannot show protection by needed_by: neither true nor false.
    meets = None if needed_by is None or depleted else (ready is not None and ready <= needed_by)
    return Protection(ready, means, depleted, serology, meets)


def protection_notes(
    p: Protection, needed_by: date | None, protective: int, length: int, suppression: str = "B-cell depletion"
) -> list[str]:
    """The reason's sentences about protection: in depletion when the series and its lead time are through and
    that protection by needed_by cannot be stated; never 'protection expected' for a dose in depletion.
    `suppression` names the therapy's effect as its profile words it ("B-cell depletion" for anti-CD20)."""
    notes: list[str] = []
    if p.depleted and p.ready_on is not None:
        notes.append(
            f"The series and its lead time are through by {iso_day(p.ready_on)}; doses given during {suppression} "
            "may give a weaker or no response, so no protection date is stated."
        )
    if p.serology:
        notes.append(
            f"An antibody check after the series is advised for a person in {suppression}, so the schedule "
            "alone does not show protection (meets_needed_by is null)."
        )
        return notes
    if needed_by is None:
        if not p.depleted and p.ready_on is not None and protective < length:
            notes.append(f"Protection counts from dose {protective}: expected by {iso_day(p.ready_on)}.")
        return notes
    by = iso_day(needed_by)
    ready = p.ready_on
    if p.depleted and ready is None:
        notes.append(f"This plan cannot complete the series by {by}.")
    elif p.depleted and ready is not None and ready <= needed_by:
        notes.append(
            f"Whether it will have worked by {by} cannot be said: a dose falls in B-cell depletion "
            "(meets_needed_by is null)."
        )
    elif p.depleted:
        notes.append(
            f"The series cannot be through by {by} (meets_needed_by is null: a dose falls in B-cell depletion)."
        )
    elif p.meets and p.ready_on is not None:
        notes.append(f"Protection expected by {iso_day(p.ready_on)}, before {by}.")
    elif p.ready_on is not None:
        notes.append(f"Protection expected only on {iso_day(p.ready_on)}, after {by}.")
    else:
        notes.append(f"This plan cannot protect by {by}.")
    return notes
