"""The dose schedule of a therapy: which doses were given, which come next, and in which phase.

Everything is computed relative to the assessment date `as_of` passed in; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, Final

from .advisories import DOSE_MISSED, HISTORY_ASSUMED, REPLETION_BEFORE_MEDIAN, PlanWarning
from .errors import FieldError, InvalidInput
from .intervals import DAY_NUMBER, shift
from .therapy import Cadence, TherapyProfile
from .values import Value

NOT_STARTED = "not_started"
STARTER = "starter"
MAINTENANCE = "maintenance"
STOPPED = "stopped"

# Error codes of histories the service will not guess about (FieldError.code).
PARTIAL_HISTORY = "partial_history"
IMPLAUSIBLE_REPLETION = "implausible_repletion"


class Treatment(Value):
    """The treatment history as the request states it (dates already parsed)."""

    _fields = (
        "drug",
        "doses",
        "start_date",
        "cadence",
        "stopped_on",
        "b_cell_repletion_on",
        "label",
        "lymphocytes_normal_on",
    )

    def __init__(
        self,
        drug: str,
        doses: tuple[date, ...] = (),
        start_date: date | None = None,
        cadence: str | None = None,
        stopped_on: date | None = None,
        b_cell_repletion_on: date | None = None,
        label: str | None = None,
        lymphocytes_normal_on: date | None = None,
    ) -> None:
        self.drug: Final = drug
        self.doses: Final = doses
        self.start_date: Final = start_date
        self.cadence: Final = cadence
        self.stopped_on: Final = stopped_on
        self.b_cell_repletion_on: Final = b_cell_repletion_on
        # `us` or `eu`: the label whose figures apply where the labels differ; None: the stricter, rule by rule.
        self.label: Final = label
        # A laboratory date of a normal lymphocyte count: the gate of the therapies whose label or guideline
        # names it (service.domain.gates); a dosed anti-CD20 therapy does not use it.
        self.lymphocytes_normal_on: Final = lymphocytes_normal_on


class DoseSchedule(Value):
    """Past and future doses of one person's therapy as seen on `as_of`.

    `upcoming` runs from `next_dose` to one dose past the horizon, so that the slot after the last dose
    inside the horizon can still be bounded by the dose that follows it.
    """

    _fields = (
        "phase",
        "first_dose",
        "given",
        "assumed",
        "next_dose",
        "overdue",
        "upcoming",
        "stopped_on",
        "b_cell_repletion_on",
        "cadence",
        "warnings",
        "rules",
        "partial",
        "lymphocytes_normal_on",
        "gate_opened_on",
    )

    def __init__(
        self,
        phase: str,
        first_dose: date,
        given: tuple[date, ...],
        assumed: bool,
        next_dose: date | None,
        overdue: bool,
        upcoming: tuple[date, ...],
        stopped_on: date | None,
        b_cell_repletion_on: date | None,
        cadence: Cadence,
        warnings: tuple[PlanWarning, ...],
        rules: tuple[str, ...],
        partial: bool = False,
        lymphocytes_normal_on: date | None = None,
        gate_opened_on: date | None = None,
    ) -> None:
        self.phase: Final = phase
        self.first_dose: Final = first_dose
        self.given: Final = given
        self.assumed: Final = assumed
        self.next_dose: Final = next_dose
        self.overdue: Final = overdue
        self.upcoming: Final = upcoming
        self.stopped_on: Final = stopped_on
        self.b_cell_repletion_on: Final = b_cell_repletion_on
        self.cadence: Final = cadence
        self.warnings: Final = warnings
        self.rules: Final = rules
        # True when start_date is earlier than the earliest listed dose: `given` is the recent part of a longer
        # history and `first_dose` is the stated (possibly approximate) start.
        self.partial: Final = partial
        # The laboratory gate of a continuous or course therapy (service.domain.gates), as the request gave it.
        self.lymphocytes_normal_on: Final = lymphocytes_normal_on
        # For a continuous or course therapy: the day its gate opened (the start itself for a therapy without
        # restriction); None while it has not.
        self.gate_opened_on: Final = gate_opened_on
        # Results derived from this schedule alone, computed once per plan however many vaccines ask for them
        # (see windows.schedule_mid_cycle_windows); not part of the value (not in _fields).
        self.derived: Final[dict[Any, Any]] = {}

    @property
    def recovered_on(self) -> date | None:
        """The first day the person counts as no longer immunosuppressed by the therapy (vaccine responses and live
        vaccines as before it): a confirmed B-cell repletion for a dosed therapy, the gate's opening for the other
        kinds. None: not yet."""
        return self.gate_opened_on if self.gate_opened_on is not None else self.b_cell_repletion_on

    @property
    def doses(self) -> tuple[date, ...]:
        """Every dose day known or projected, in order."""
        return self.given + self.upcoming

    def projected(self, until: date) -> tuple[date, ...]:
        """Future dose dates from `next_dose` up to and including `until`."""
        return tuple(d for d in self.upcoming if d <= until)


def read_label(profile: TherapyProfile, treatment: Treatment) -> TherapyProfile:
    """The profile as the requested label reads it (treatment.label), or a 422 naming the field and the values."""
    label = treatment.label
    if label is None or label in profile.labels:
        return profile.for_label(label)
    if not profile.labels:
        message = (
            f"{profile.name}'s rules come from guidelines, not from a label that differs by region: leave "
            "treatment.label out"
        )
    else:
        message = f"must be one of {', '.join(profile.labels)} for {profile.name} (or left out: the stricter rule)"
    raise InvalidInput([FieldError("treatment.label", message)])


def check_treatment(profile: TherapyProfile, treatment: Treatment, as_of: date) -> None:
    """Reject a history that cannot be true or that would force a guess."""
    errors = _dose_errors(treatment, as_of)
    if treatment.cadence is not None and treatment.cadence not in profile.cadences:
        errors.append(
            FieldError(
                "treatment.cadence",
                f"must be one of {', '.join(sorted(profile.cadences))} ({profile.name}'s cadences, GET /v1/therapies)",
            )
        )
    errors += _start_errors(profile, treatment)
    errors += _stop_errors(treatment, as_of)
    errors += _repletion_errors(profile, treatment, as_of)
    if errors:
        raise InvalidInput(errors)


def _dose_errors(treatment: Treatment, as_of: date) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: dict[date, int] = {}
    doses = treatment.doses
    # Each dose is checked one by one only when one of them is after as_of or repeats (to name it).
    checked_doses = doses if doses and (max(doses) > as_of or len(set(doses)) < len(doses)) else ()
    for i, dose in enumerate(checked_doses):
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
    return errors


def _start_errors(profile: TherapyProfile, treatment: Treatment) -> list[FieldError]:
    errors: list[FieldError] = []
    first = min(treatment.doses) if treatment.doses else None
    if first is None and treatment.start_date is None:
        errors.append(
            FieldError(
                "treatment.start_date",
                "required when treatment.doses is empty (the planned or actual first dose date)",
                code="required",
            )
        )
    if first is not None and treatment.start_date is not None and treatment.start_date > first:
        errors.append(
            FieldError(
                "treatment.start_date",
                f"{treatment.start_date} is after the earliest dose {first}: start_date is the day the therapy began, "
                "equal to the earliest dose or, when the listed doses are only the recent ones, earlier",
            )
        )
    if first is not None and treatment.start_date is None:
        problem = _not_a_new_start(profile, tuple(sorted(set(treatment.doses))))
        if problem is not None:
            errors.append(FieldError("treatment.start_date", problem, code=PARTIAL_HISTORY))
    return errors


def _stop_errors(treatment: Treatment, as_of: date) -> list[FieldError]:
    errors: list[FieldError] = []
    stopped = treatment.stopped_on
    if stopped is None:
        return errors
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
    return errors


def _repletion_errors(profile: TherapyProfile, treatment: Treatment, as_of: date) -> list[FieldError]:
    errors: list[FieldError] = []
    repletion, stopped = treatment.b_cell_repletion_on, treatment.stopped_on
    if repletion is None:
        return errors
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
    last = _last_dose(profile, treatment)
    if last is not None and repletion < shift(last, profile.repletion_min_days_after_last_dose):
        plausible = shift(last, profile.repletion_min_days_after_last_dose)
        errors.append(
            FieldError(
                "treatment.b_cell_repletion_on",
                f"{repletion} is {(repletion - last).days} day(s) after the last dose {last}: B-cell repletion "
                "(recovery to the lower limit of normal, 40 cells/µl, or to baseline, after discontinuation) "
                f"cannot be confirmed within {profile.repletion_min_text} ({profile.repletion_min_days_after_last_dose} "
                f"days) of a dose, so it cannot open a live vaccine window. Check the laboratory date; the "
                f"earliest the service accepts is {plausible}.",
                code=IMPLAUSIBLE_REPLETION,
            )
        )
    return errors


def _interval_text(cadence: Cadence) -> str:
    return f"{cadence.months} month(s)" if cadence.months else f"{cadence.days} days"


def _not_a_new_start(profile: TherapyProfile, doses: tuple[date, ...]) -> str | None:
    """Why a dose list without start_date cannot be read as a complete history from its earliest dose, or None.

    Only doses spaced as the labelled starter doses (within the tolerance) are read as a new start; anything
    else could be the recent doses of an established therapy, and the two readings disagree on the next dose.
    """
    first = doses[0]
    how = (
        "Send treatment.start_date: the day the therapy began (approximate is fine, e.g. the month it started) "
        f"when these are the recent doses of an established therapy, or {first} when this is the complete "
        "history of a new start."
    )
    if len(doses) == 1 and profile.starter_gaps:
        # The two readings disagree on the next dose: the first starter gap, or one maintenance interval.
        maintenance = profile.cadences[profile.default_cadence]
        gap = profile.starter_gaps[0]
        readings = (
            f"{gap} or {maintenance.days} days"
            if not maintenance.months
            else f"{gap} days or {_interval_text(maintenance)}"
        )
        return (
            f"one dose ({first}) without treatment.start_date could be the first dose of a new start or the latest "
            f"dose of an established therapy, and the next dose would be {readings} later. " + how
        )
    tolerance = profile.starter_tolerance_days
    for gap, (earlier, later) in zip(profile.starter_gaps, zip(doses, doses[1:], strict=False), strict=False):
        days = (later - earlier).days
        if abs(days - gap) > tolerance:
            return (
                f"the listed doses cannot be the labelled starter doses from {first}: {earlier} to {later} is {days} "
                f"days where the label gives {gap} (within {tolerance} days), so they are not read as a new start. "
                + how
            )
    return None


def _last_dose(profile: TherapyProfile, treatment: Treatment) -> date | None:
    """The last dose of a stopped therapy: the latest listed, or the last of the assumed labelled run."""
    if treatment.doses:
        return max(treatment.doses)
    start, stopped = treatment.start_date, treatment.stopped_on
    if start is None or stopped is None or stopped < start:
        return None
    cadence = profile.cadences.get(treatment.cadence or profile.default_cadence)
    cadence = cadence or profile.cadences[profile.default_cadence]
    return list(_take_until(labelled_doses(profile, cadence, start, 1), stopped))[-1]


def dose_numbers_from_start(
    profile: TherapyProfile, start: date, doses: Sequence[date], cadence: Cadence
) -> tuple[int, ...]:
    """The number (1-based) of each listed dose of a partial history, from its distance to the stated start.

    A listed dose after the start is at least dose 2 (the start was a dose); it is dose k when it falls no
    earlier than dose k's labelled day less the tolerance (so a late dose counts as the one it was late for),
    and always after the dose listed before it. Beyond the first maintenance dose (its day plus the tolerance)
    the number only says "a later maintenance dose".
    """
    offsets = profile.starter_offsets(cadence, start)
    tolerance = profile.starter_tolerance_days
    numbers: list[int] = []
    for day in doses:
        offset = (day - start).days
        number = 1 if offset <= 0 else 2
        for k in range(3, len(offsets) + 1):
            if offset >= offsets[k - 1] - tolerance:
                number = k
        if offset > offsets[-1] + tolerance:
            number = len(offsets) + 1  # past the first maintenance dose: a later one
        numbers.append(max(number, numbers[-1] + 1) if numbers else number)
    return tuple(numbers)


def _intervals_between(cadence: Cadence, anchor: date, day: date) -> int | None:
    """k when `day` is exactly k >= 0 maintenance intervals after `anchor`, else None."""
    if day < anchor:
        return None
    if cadence.months:
        k = ((day.year - anchor.year) * 12 + day.month - anchor.month) // cadence.months
    else:
        k = (day - anchor).days // cadence.days
    return k if cadence.after(anchor, k) == day else None


def maintenance_anchor(cadence: Cadence, maintenance: Sequence[date], planned: date | None) -> tuple[date, int]:
    """(anchor, steps): the last maintenance dose is `steps` intervals after `anchor`.

    A calendar-month cadence keeps the day of the month of its anchor: the first maintenance dose (or, for a
    partial history, the labelled first maintenance dose from the stated start, `planned`, when the listed
    doses fall on its calendar), moved to a dose given off that calendar (a late dose restarts the schedule,
    as the label says). So doses on 31 Dec, 31 Jan and 29 Feb are followed by 31 Mar, not 29 Mar.
    """
    anchor, steps = maintenance[0], 0
    if planned is not None:
        k = _intervals_between(cadence, planned, maintenance[0])
        if k is not None:
            anchor, steps = planned, k
    if cadence.months:
        for day in maintenance[1:]:
            if cadence.after(anchor, steps + 1) == day:
                steps += 1
            else:
                anchor, steps = day, 0
        return anchor, steps
    # A cadence in days: the same test in day numbers (a dose k intervals on is k * days further).
    anchor_number = DAY_NUMBER(anchor)
    for day in maintenance[1:]:
        number = DAY_NUMBER(day)
        if number - anchor_number == cadence.days * (steps + 1):
            steps += 1
        else:
            anchor, anchor_number, steps = day, number, 0
    return anchor, steps


def labelled_doses(
    profile: TherapyProfile,
    cadence: Cadence,
    start: date,
    number: int,
    anchor: date | None = None,
    steps: int = 0,
) -> Iterator[date]:
    """Dose dates from `start` (dose `number`, 1-based) on, at the labelled intervals, without end.

    Maintenance doses are counted from an anchor: `start` is `steps` intervals after `anchor` when one is
    given, else the first maintenance dose of this run is the anchor. So a calendar-month cadence from the
    31st gives 28/29 Feb then 31 Mar, not a schedule that drifts to the 28th. A profile whose first maintenance
    dose is one cadence after dose 1 (ocrelizumab, ublituximab) anchors it on dose 1 of this run: the dose
    `number` less its labelled starter offset.
    """
    day = start
    first = shift(start, -sum(profile.starter_gaps[: number - 1]))
    while number <= len(profile.starter_gaps):
        yield day
        day = shift(day, profile.starter_gaps[number - 1])
        number += 1
    if anchor is None and profile.maintenance_from_first_dose and number <= profile.starter_doses:
        yield day  # the last starter dose; the first maintenance dose is one cadence after dose 1
        anchor, steps = first, 1
    if anchor is None:
        anchor, steps = day, 0
    while True:
        yield cadence.after(anchor, steps)
        steps += 1


def labelled_after(profile: TherapyProfile, cadence: Cadence, day: date, number: int) -> date:
    """The labelled day of the dose after dose `number` (1-based) given on `day`: the second day
    labelled_doses(profile, cadence, day, number) gives, without running its schedule."""
    gaps = profile.starter_gaps
    if number <= len(gaps):
        return shift(day, gaps[number - 1])
    if profile.maintenance_from_first_dose and number <= profile.starter_doses:
        # The first maintenance dose is one cadence after dose 1, the starter gaps before `day`.
        return cadence.after(shift(day, -sum(gaps)), 1)
    return cadence.after(day, 1)


class _History(Value):
    """What the request says was given, read against the label: the first dose, the doses with their numbers."""

    _fields = ("first", "given", "numbers", "assumed", "partial", "rules", "warnings")

    def __init__(
        self,
        first: date,
        given: tuple[date, ...],
        numbers: tuple[int, ...],
        assumed: bool,
        partial: bool,
        rules: list[str],
        warnings: list[PlanWarning],
    ) -> None:
        self.first: Final = first
        self.given: Final = given
        self.numbers: Final = numbers
        self.assumed: Final = assumed
        self.partial: Final = partial
        self.rules: Final = rules
        self.warnings: Final = warnings


def _read_history(profile: TherapyProfile, treatment: Treatment, cadence: Cadence, as_of: date) -> _History:
    """The doses given (listed, or the labelled run assumed from a past start), numbered from the first dose."""
    warnings: list[PlanWarning] = []
    rules = [profile.rule_id("schedule")]
    assumed = partial = False
    if treatment.doses:
        given = tuple(sorted(treatment.doses))
        if treatment.start_date is not None and treatment.start_date < given[0]:
            partial = True
            first = treatment.start_date
            numbers = dose_numbers_from_start(profile, first, given, cadence)
            rules.append(profile.rule_id("partial_history"))
        else:
            first = given[0]
            numbers = tuple(range(1, len(given) + 1))
            if treatment.start_date is None:
                rules.append(profile.rule_id("starter_spacing"))
        return _History(first, given, numbers, assumed, partial, rules, warnings)
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
    return _History(first, given, tuple(range(1, len(given) + 1)), assumed, partial, rules, warnings)


def _labelled_next(profile: TherapyProfile, cadence: Cadence, history: _History) -> tuple[date, date | None, int]:
    """(due, anchor, steps): the labelled next dose after the last one given, and the maintenance anchor the
    doses after it count from (None: the next dose is not a maintenance dose, or anchors itself)."""
    given, numbers, first = history.given, history.numbers, history.first
    last_number = numbers[-1]
    if last_number > profile.starter_doses:
        # One number for each dose given (_History): read by index, without a zip(strict=True) keyword call.
        maintenance = [given[k] for k in range(len(given)) if numbers[k] > profile.starter_doses]
        # The calendar the maintenance doses keep: dose 1's when the label counts them from it (ocrelizumab: 31
        # August, 28 February, 31 August), else the labelled first maintenance dose's for a partial history.
        if profile.maintenance_from_first_dose:
            planned: date | None = first
        else:
            planned = shift(first, profile.starter_offsets(cadence, first)[-1]) if history.partial else None
        anchor, steps = maintenance_anchor(cadence, maintenance, planned)
        return cadence.after(anchor, steps + 1), anchor, steps + 1
    if last_number == profile.starter_doses and profile.maintenance_from_first_dose:
        # The first maintenance dose is one cadence after dose 1 as given (the label counts from infusion 1).
        return cadence.after(first), first, 1
    return profile.gap_after(last_number, cadence).after(given[-1]), None, 0


def build_schedule(profile: TherapyProfile, treatment: Treatment, as_of: date, until: date) -> DoseSchedule:
    """The schedule on `as_of`, projected far enough to bound every slot up to `until`."""
    check_treatment(profile, treatment, as_of)
    cadence = profile.cadences[treatment.cadence or profile.default_cadence]
    history = _read_history(profile, treatment, cadence, as_of)
    first, given, numbers, partial = history.first, history.given, history.numbers, history.partial
    warnings, rules = history.warnings, history.rules
    if treatment.stopped_on is not None:
        rules.append(profile.rule_id("stopped"))
        if partial:
            warnings.append(_partial_warning(profile, cadence, first, given, numbers, None))
        if treatment.b_cell_repletion_on is not None and given:
            warnings += _repletion_warnings(profile, treatment.b_cell_repletion_on, given[-1])
        return DoseSchedule(
            STOPPED,
            first,
            given,
            history.assumed,
            None,
            False,
            (),
            treatment.stopped_on,
            treatment.b_cell_repletion_on,
            cadence,
            tuple(warnings),
            tuple(dict.fromkeys(rules + [r for w in warnings for r in w.rules])),
            partial,
        )

    overdue = False
    anchor: date | None = None
    steps = 0
    if not given:
        phase = NOT_STARTED
        next_dose, number = first, 1
    else:
        number = numbers[-1] + 1
        # Starter until the first maintenance dose is given: the gap after the last starter dose has no slot.
        phase = STARTER if numbers[-1] <= profile.starter_doses else MAINTENANCE
        due, anchor, steps = _labelled_next(profile, cadence, history)
        if partial:
            warnings.append(_partial_warning(profile, cadence, first, given, numbers, due))
        next_dose = due  # for an assumed run, replaced below by the run's own next dose
        if not history.assumed and due < as_of:
            # Label: a missed dose is given as soon as possible and the schedule restarts from it.
            next_dose, overdue, anchor, steps = as_of, True, None, 0
            rules.append(profile.rule_id("missed_dose"))
            warnings.append(_missed_warning(profile, due, as_of, given[-1]))
    if history.assumed:
        # Continue the same assumed run, so a month-end anchor is not lost at the as_of boundary.
        run = _take_one_past(labelled_doses(profile, cadence, first, 1), until)
        upcoming = tuple(day for day in run if day > given[-1])
        next_dose = upcoming[0]
    else:
        upcoming = _through_one_past(labelled_doses(profile, cadence, next_dose, number, anchor, steps), until)
    return DoseSchedule(
        phase,
        first,
        given,
        history.assumed,
        next_dose,
        overdue,
        upcoming,
        None,
        None,
        cadence,
        tuple(warnings),
        tuple(dict.fromkeys(rules)),
        partial,
    )


def _missed_warning(profile: TherapyProfile, due: date, as_of: date, last_given: date) -> PlanWarning:
    return PlanWarning(
        DOSE_MISSED,
        f"The dose due on {due} was missed: it should be given as soon as possible (taken as "
        f"{as_of}), and later doses follow from that date. If doses were given since {last_given} "
        "that are not listed, list them (the recent ones are enough, with treatment.start_date the "
        "day the therapy began): the plan is only as exact as the history it is given.",
        (profile.rule_id("missed_dose"),),
    )


def _describe_dose(profile: TherapyProfile, cadence: Cadence, start: date, number: int) -> str:
    offsets = profile.starter_offsets(cadence, start)
    if number < len(offsets):
        return f"starter dose {number} (week {offsets[number - 1] // 7})"
    if number == len(offsets):
        return f"the first maintenance dose (week {offsets[-1] // 7})"
    return "a maintenance dose"


def _partial_warning(
    profile: TherapyProfile,
    cadence: Cadence,
    start: date,
    given: tuple[date, ...],
    numbers: tuple[int, ...],
    due: date | None,
) -> PlanWarning:
    """What a partial history assumed: the labelled schedule between the stated start and the listed doses."""
    rule = profile.rule_id("partial_history")
    message = (
        f"treatment.start_date {start} is earlier than the earliest listed dose {given[0]}: the listed doses are "
        f"taken as the recent part of a therapy started on {start}, with the labelled schedule assumed in between "
        f"(not checked). The latest listed dose, {given[-1]}, is taken as {_describe_dose(profile, cadence, start, numbers[-1])}"
    )
    message += f", so the next labelled dose falls on {due}." if due is not None else "."
    return PlanWarning(HISTORY_ASSUMED, message, (rule,))


def recovery_basis(schedule: DoseSchedule) -> date:
    """The day B-cell recovery is counted from after stopping: the last dose (recovery follows the last exposure
    to the drug; a later stop decision does not move it), or the stop date when no dose is known. Both the
    b_cell_recheck_on date and the repletion-before-median warning count from it."""
    if schedule.given:
        return schedule.given[-1]
    assert schedule.stopped_on is not None
    return schedule.stopped_on


def _repletion_warnings(profile: TherapyProfile, repletion: date, last_dose: date) -> list[PlanWarning]:
    """A confirmed repletion sooner than the label's median recovery (counted from the last dose, as
    recovery_basis counts it): accepted, but worth a second look."""
    days = (repletion - last_dose).days
    if profile.b_cell_recheck_days is None or days >= profile.b_cell_recheck_days:
        return []
    return [
        PlanWarning(
            REPLETION_BEFORE_MEDIAN,
            f"B-cell repletion was confirmed on {repletion}, {days} days after the last dose {last_dose}: sooner "
            f"than {profile.b_cell_recheck_warning} of {profile.b_cell_recheck_text} after discontinuation, "
            "counted from the last dose (as b_cell_recheck_on is). "
            "Repletion means B cells back to the lower limit of normal (40 cells/µl) or to the patient's baseline; "
            "check that the result says so before giving a live vaccine.",
            (profile.rule_id("repletion_before_median"),),
        )
    ]


def _take_until(days: Iterator[date], end: date) -> Iterator[date]:
    for day in days:
        if day > end:
            return
        yield day


def _through_one_past(days: Iterator[date], end: date) -> tuple[date, ...]:
    """_take_one_past as a tuple, in one loop (the projection of every plan: no generator in between)."""
    taken = []
    for day in days:
        taken.append(day)
        if day > end:
            break
    return tuple(taken)


def _take_one_past(days: Iterator[date], end: date) -> Iterator[date]:
    for day in days:
        yield day
        if day > end:
            return
