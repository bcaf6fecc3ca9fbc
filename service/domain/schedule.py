"""The dose schedule of a therapy: which doses were given, which come next, and in which phase.

Everything is computed relative to the assessment date `as_of` passed in; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from .advisories import DOSE_MISSED, HISTORY_ASSUMED, PlanWarning
from .errors import FieldError, InvalidInput
from .therapy import Cadence, TherapyProfile

NOT_STARTED = "not_started"
STARTER = "starter"
MAINTENANCE = "maintenance"
STOPPED = "stopped"


@dataclass(frozen=True)
class Treatment:
    """The treatment history as the request states it (dates already parsed)."""

    drug: str
    doses: tuple[date, ...] = ()
    start_date: date | None = None
    cadence: str | None = None
    stopped_on: date | None = None
    b_cell_repletion_on: date | None = None


@dataclass(frozen=True)
class DoseSchedule:
    """Past and future doses of one person's therapy as seen on `as_of`.

    `upcoming` runs from `next_dose` to one dose past the horizon, so that the slot after the last dose
    inside the horizon can still be bounded by the dose that follows it.
    """

    phase: str
    first_dose: date
    given: tuple[date, ...]
    assumed: bool
    next_dose: date | None
    overdue: bool
    upcoming: tuple[date, ...]
    stopped_on: date | None
    b_cell_repletion_on: date | None
    cadence: Cadence
    warnings: tuple[PlanWarning, ...]
    rules: tuple[str, ...]
    # Results derived from this schedule alone, computed once per plan however many vaccines ask for them
    # (see windows.schedule_mid_cycle_windows); not part of the value.
    derived: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def doses(self) -> tuple[date, ...]:
        """Every dose day known or projected, in order."""
        return self.given + self.upcoming

    def projected(self, until: date) -> tuple[date, ...]:
        """Future dose dates from `next_dose` up to and including `until`."""
        return tuple(d for d in self.upcoming if d <= until)


def check_treatment(profile: TherapyProfile, treatment: Treatment, as_of: date) -> None:
    """Reject a history that cannot be true or that would force a guess."""
    errors: list[FieldError] = []
    seen: dict[date, int] = {}
    for i, dose in enumerate(treatment.doses):
        if dose > as_of:
            errors.append(
                FieldError(
                    f"treatment.doses[{i}]",
                    f"dose {dose} is after as_of {as_of}: only doses already given belong here; use start_date for a planned start",
                )
            )
        if dose in seen:
            errors.append(FieldError(f"treatment.doses[{i}]", f"dose {dose} repeats treatment.doses[{seen[dose]}]"))
        seen.setdefault(dose, i)
    if treatment.cadence is not None and treatment.cadence not in profile.cadences:
        errors.append(FieldError("treatment.cadence", f"must be one of {', '.join(sorted(profile.cadences))}"))
    first = min(treatment.doses) if treatment.doses else None
    if first is None and treatment.start_date is None:
        errors.append(
            FieldError(
                "treatment.start_date",
                "required when treatment.doses is empty (the planned or actual first dose date)",
                code="required",
            )
        )
    if first is not None and treatment.start_date is not None and treatment.start_date != first:
        errors.append(
            FieldError("treatment.start_date", f"must equal the earliest dose ({first}) when doses are given")
        )
    stopped = treatment.stopped_on
    if stopped is not None:
        last = max(treatment.doses) if treatment.doses else None
        if stopped > as_of:
            errors.append(
                FieldError(
                    "treatment.stopped_on",
                    f"{stopped} is after as_of {as_of}: a discontinuation date must already have happened",
                )
            )
        if last is not None and stopped < last:
            errors.append(FieldError("treatment.stopped_on", f"{stopped} is before the last dose {last}"))
        if last is None and treatment.start_date is not None and stopped < treatment.start_date:
            errors.append(
                FieldError(
                    "treatment.stopped_on",
                    f"{stopped} is before the start date {treatment.start_date}: a therapy cannot stop before it starts",
                )
            )
    repletion = treatment.b_cell_repletion_on
    if repletion is not None:
        if stopped is None:
            errors.append(
                FieldError(
                    "treatment.b_cell_repletion_on",
                    "only valid with treatment.stopped_on: B-cell repletion is confirmed after the therapy is stopped",
                )
            )
        elif repletion < stopped:
            errors.append(FieldError("treatment.b_cell_repletion_on", f"{repletion} is before stopped_on {stopped}"))
        if repletion > as_of:
            errors.append(
                FieldError(
                    "treatment.b_cell_repletion_on",
                    f"{repletion} is after as_of {as_of}: only a laboratory result already available counts",
                )
            )
    if errors:
        raise InvalidInput(errors)


def labelled_doses(
    profile: TherapyProfile, cadence: Cadence, start: date, number: int, anchor: date | None = None
) -> Iterator[date]:
    """Dose dates from `start` (dose `number`, 1-based) on, at the labelled intervals, without end.

    Maintenance doses are counted from an anchor (the previous maintenance dose when `start` follows it
    on schedule, else the first maintenance dose of this run), so that a calendar-month cadence from the
    31st gives 28/29 Feb then 31 Mar, not a schedule that drifts to the 28th.
    """
    day = start
    while number <= len(profile.starter_gaps):
        yield day
        day = day + timedelta(days=profile.starter_gaps[number - 1])
        number += 1
    steps = 0
    if anchor is None:
        anchor = day
    else:
        steps = 1  # `start` is one interval after the anchor
    while True:
        yield cadence.after(anchor, steps)
        steps += 1


def build_schedule(profile: TherapyProfile, treatment: Treatment, as_of: date, until: date) -> DoseSchedule:
    """The schedule on `as_of`, projected far enough to bound every slot up to `until`."""
    check_treatment(profile, treatment, as_of)
    cadence = profile.cadences[treatment.cadence or profile.default_cadence]
    warnings: list[PlanWarning] = []
    rules = [profile.rule_id("schedule")]
    assumed = False
    if treatment.doses:
        given = tuple(sorted(treatment.doses))
        first = given[0]
    else:
        assert treatment.start_date is not None  # check_treatment guarantees it
        first = treatment.start_date
        given = ()
        if first <= as_of:
            # No doses listed but the start is past: the contract says to assume the labelled schedule.
            end = min(as_of, treatment.stopped_on or as_of)
            given = tuple(_take_until(labelled_doses(profile, cadence, first, 1), end))
            assumed = True
            rules.append(profile.rule_id("assumed_schedule"))
            warnings.append(
                PlanWarning(
                    HISTORY_ASSUMED,
                    f"No doses were listed and the start date {first} is on or before as_of {as_of}: the "
                    f"labelled schedule is assumed to have been followed ({len(given)} dose(s) up to {end}). "
                    "List the doses actually given for an exact plan.",
                    (profile.rule_id("assumed_schedule"),),
                )
            )

    if treatment.stopped_on is not None:
        rules.append(profile.rule_id("stopped"))
        return DoseSchedule(
            STOPPED,
            first,
            given,
            assumed,
            None,
            False,
            (),
            treatment.stopped_on,
            treatment.b_cell_repletion_on,
            cadence,
            tuple(warnings),
            tuple(rules),
        )

    overdue = False
    anchor: date | None = None
    if not given:
        phase = NOT_STARTED
        next_dose, number = first, 1
    else:
        number = len(given) + 1
        # Starter until the first maintenance dose is given: the gap after the last starter dose has no slot.
        phase = STARTER if len(given) <= profile.starter_doses else MAINTENANCE
        due = profile.gap_after(len(given), cadence).after(given[-1])
        if assumed:
            next_dose = due  # replaced below by the assumed run's own next dose
        elif due < as_of:
            # Label: a missed dose is given as soon as possible and the schedule restarts from it.
            next_dose, overdue = as_of, True
            rules.append(profile.rule_id("missed_dose"))
            warnings.append(
                PlanWarning(
                    DOSE_MISSED,
                    f"The dose due on {due} was missed: it should be given as soon as possible (taken as "
                    f"{as_of}), and later doses follow from that date.",
                    (profile.rule_id("missed_dose"),),
                )
            )
        else:
            next_dose = due
            if len(given) > len(profile.starter_gaps):
                anchor = given[-1]
    if assumed:
        # Continue the same assumed run, so a month-end anchor is not lost at the as_of boundary.
        run = _take_one_past(labelled_doses(profile, cadence, first, 1), until)
        upcoming = tuple(day for day in run if day > given[-1])
        next_dose = upcoming[0]
    else:
        upcoming = tuple(_take_one_past(labelled_doses(profile, cadence, next_dose, number, anchor), until))
    return DoseSchedule(
        phase, first, given, assumed, next_dose, overdue, upcoming, None, None, cadence, tuple(warnings), tuple(rules)
    )


def _take_until(days: Iterator[date], end: date) -> Iterator[date]:
    for day in days:
        if day > end:
            return
        yield day


def _take_one_past(days: Iterator[date], end: date) -> Iterator[date]:
    for day in days:
        yield day
        if day > end:
            return
