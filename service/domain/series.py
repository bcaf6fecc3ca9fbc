"""Dose series and protection lead times, and the proposal of dated doses inside permitted windows.

Each remaining dose is placed on the first day that (a) is at least the aimed interval after every earlier
dose it is measured from, (b) lies inside one of the vaccine's permitted windows, and (c) for a live
vaccine, conflicts with no live vaccine given or already proposed. We aim for CDSi's recommended interval
(the licensed schedule) and fall back to its minimum only when that finishes the series where the
recommended one cannot, or meets a `needed_by` date the recommended one misses.

Doses are proposed only on the weekdays the request allows (`AppointmentDays`, the clinic's opening days;
every day by default): inside a window, a dose goes to the first allowed weekday on or after the day it could
have; a window (or what is left of it after that day) holding no allowed weekday is passed over, and the
proposal lists it so that the reason can say so. The windows themselves are unchanged: they say when the
rules permit a dose, the appointment days only where in them a clinic can give one.

An interval may have a maximum (Dukoral: the label restarts the course when dose 2 comes more than 6 weeks
after dose 1). A proposed dose is never placed beyond it: when the next dose cannot fit, the course begins
later; when the maximum has already run out after a dose given, the course starts again (`restarted`) and
the doses given no longer count.

A product may have other schedules (choose_series): the immunocompromised dosage ACIP gives for hepatitis B
while the patient is on or starting the therapy, and accelerated schedules (Ixiaro, Twinrix) used only when
the standard one cannot protect by `needed_by`, the accelerated one can, and the patient's age allows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from .errors import FieldError
from .intervals import Interval, iso_day, shift
from .spacing import LiveSpacing
from .values import Value
from .windows import Window

RECOMMENDED = "recommended"
MINIMUM = "minimum"


# date.weekday() numbers of the lowercase three-letter names the request uses (`appointment_days`).
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class AppointmentDays(Value):
    """The weekdays on which a dose may be proposed (date.weekday() numbers, Monday 0)."""

    _fields = ("weekdays",)

    def __init__(self, weekdays: frozenset[int]) -> None:
        self.weekdays: Final = weekdays

    @classmethod
    def named(cls, names: tuple[str, ...]) -> AppointmentDays:
        """From the request's names ("mon" .. "sun"; the schema has checked them)."""
        return cls(frozenset([WEEKDAYS.index(name) for name in names]))

    @property
    def every_day(self) -> bool:
        return len(self.weekdays) == 7

    def names(self) -> tuple[str, ...]:
        return tuple([name for i, name in enumerate(WEEKDAYS) if i in self.weekdays])

    def first_from(self, day: date, last: date) -> date | None:
        """The first allowed weekday in [day, last], both inclusive; None when there is none."""
        for ahead in range(7):
            candidate = shift(day, ahead)
            if candidate > last:
                return None
            if candidate.weekday() in self.weekdays:
                return candidate
        return None


EVERY_DAY: Final = AppointmentDays(frozenset(range(7)))


# How many times a course may begin later to keep within a maximum interval before giving up (each try
# moves at least one day, and jumps over days outside the windows).
_MAX_SHIFTS = 400


@dataclass(frozen=True)
class SeriesInterval:
    from_dose: int
    minimum: Interval
    recommended: Interval | None
    maximum: Interval | None = None

    def aimed(self, basis: str) -> Interval:
        return self.recommended if basis == RECOMMENDED and self.recommended is not None else self.minimum


@dataclass(frozen=True)
class SeriesDose:
    number: int
    intervals: tuple[SeriesInterval, ...] = ()


@dataclass(frozen=True)
class Series:
    vaccine_id: str
    doses: tuple[SeriesDose, ...]
    rule_id: str
    # Whether a course stopped part-way still protects (MMR: one dose protects most adults) or not (Ty21a: all
    # four capsules): a live series that cannot finish before a therapy start proposes the doses that fit only
    # when it does (rule plan.live-series-whole; series.json `partial_course`).
    partial_protects: bool = True
    # The number of doses, kept rather than counted: the planner reads it many times for every vaccine.
    length: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "length", len(self.doses))


@dataclass(frozen=True)
class LeadTime:
    """When protection counts: `days` after dose `after_dose` (None: the last dose of the series)."""

    days: int
    rule_id: str
    after_dose: int | None = None


class ProposedDose(Value):
    _fields = ("dose", "day")

    def __init__(self, dose: int, day: date) -> None:
        self.dose: Final = dose
        self.day: Final = day


class Proposal(Value):
    _fields = ("doses", "unplaced", "basis", "rules", "restarted", "passed_over")

    def __init__(
        self,
        doses: tuple[ProposedDose, ...],
        unplaced: tuple[int, ...],
        basis: str,
        rules: tuple[str, ...],
        restarted: bool = False,
        passed_over: tuple[Window, ...] = (),
    ) -> None:
        self.doses: Final = doses
        # Remaining doses that found no day inside the windows (beyond the horizon, or no window at all).
        self.unplaced: Final = unplaced
        self.basis: Final = basis
        self.rules: Final = rules
        # The doses given no longer count: a maximum interval ran out after them, so the course starts again.
        self.restarted: Final = restarted
        # Windows a dose could have used but that hold no allowed appointment day from the day it could come.
        self.passed_over: Final = passed_over

    @property
    def complete(self) -> bool:
        return not self.unplaced

    def counted(self, given: tuple[date, ...]) -> tuple[date, ...]:
        """The doses given that still count in the series."""
        return () if self.restarted else given

    def dose_days(self, given: tuple[date, ...]) -> dict[int, date]:
        """Every dose of the series with a day: the counted doses given, then the proposed ones."""
        days: dict[int, date] = {}
        if given and not self.restarted:
            days = dict(enumerate(sorted(given), 1))
        for proposed in self.doses:
            days[proposed.dose] = proposed.day
        return days


def single_dose(vaccine_id: str, rule_id: str) -> Series:
    return Series(vaccine_id, (SeriesDose(1),), rule_id)


def _first_day_in_windows(
    windows: tuple[Window, ...], earliest: date, days: AppointmentDays, passed: list[Window]
) -> date | None:
    """The first permitted day on or after `earliest` that is an appointment day; the windows passed over on
    the way (holding no appointment day from `earliest`) are added to `passed`."""
    for window in windows:
        if window.end >= earliest:
            first = window.start if window.start > earliest else earliest
            if days.every_day:
                return first
            day = days.first_from(first, window.end)
            if day is not None:
                return day
            if window not in passed:
                passed.append(window)
    return None


def _place(
    windows: tuple[Window, ...], earliest: date, spacing: LiveSpacing, days: AppointmentDays, passed: list[Window]
) -> tuple[date | None, set[str]]:
    """The first permitted appointment day on or after `earliest` for a live vaccine, honouring live spacing;
    None if there is none."""
    rules: set[str] = set()
    day = _first_day_in_windows(windows, earliest, days, passed)
    while day is not None:
        free, met = spacing.next_free_day(day)
        rules |= met
        if free == day:
            return day, rules
        day = _first_day_in_windows(windows, free, days, passed)
    return None, rules


def _attempt(
    series: Series,
    given: tuple[date, ...],
    windows: tuple[Window, ...],
    start: date,
    basis: str,
    spacing: LiveSpacing | None,
    days: AppointmentDays,
    passed: list[Window],
) -> tuple[list[ProposedDose], list[int], set[str], int | None]:
    """Doses placed from `start`; the last item is the dose whose maximum interval the next dose would
    overrun (None when every maximum holds)."""
    dates: dict[int, date] = dict(enumerate(given, 1)) if given else {}  # propose() passes them in date order
    placed: list[ProposedDose] = []
    unplaced: list[int] = []
    rules: set[str] = {series.rule_id}
    for dose in series.doses[len(given) :]:
        if unplaced:
            unplaced.append(dose.number)  # a dose cannot come before the one it is measured from
            continue
        earliest = start
        latest: tuple[date, int] | None = None
        for interval in dose.intervals:
            aimed = interval.aimed(basis).after(dates[interval.from_dose])
            if aimed > earliest:
                earliest = aimed
            if interval.maximum is not None:
                limit = interval.maximum.after(dates[interval.from_dose])
                if latest is None or limit < latest[0]:
                    latest = (limit, interval.from_dose)
        if latest is not None and earliest > latest[0]:
            return placed, unplaced, rules, latest[1]
        if spacing is not None:
            day, met = _place(windows, earliest, spacing, days, passed)
            rules |= met
        else:
            day = _first_day_in_windows(windows, earliest, days, passed)  # not live: no spacing to honour
        if day is None:
            unplaced.append(dose.number)
            continue
        if latest is not None and day > latest[0]:
            return placed, unplaced, rules, latest[1]
        dates[dose.number] = day
        placed.append(ProposedDose(dose.number, day))
    return placed, unplaced, rules, None


def propose(
    series: Series,
    given: tuple[date, ...],
    windows: tuple[Window, ...],
    as_of: date,
    basis: str,
    spacing: LiveSpacing | None,
    days: AppointmentDays = EVERY_DAY,
) -> Proposal:
    """Dated doses for the rest of the series, on the given interval basis, within any maximum interval, on
    appointment days only. `spacing`: a live vaccine's spacing from the other live events
    (LiveVirusConflicts.spacing), None for a vaccine that is not live."""
    if len(given) > 1:
        given = tuple(sorted(given))
    start, restarted = as_of, False
    for _ in range(_MAX_SHIFTS):
        passed: list[Window] = []
        placed, unplaced, rules, overrun = _attempt(series, given, windows, start, basis, spacing, days, passed)
        if overrun is None:
            cited = tuple(sorted(rules)) if len(rules) > 1 else tuple(rules)
            return Proposal(tuple(placed), tuple(unplaced), basis, cited, restarted, tuple(passed))
        if overrun <= len(given):
            # The maximum after a dose already given has run out (or no permitted day is left inside it).
            given, start, restarted = (), as_of, True
        else:
            # A proposed dose left no permitted day for the next one inside the maximum: begin later.
            start = shift(placed[0].day, 1)
    remaining = tuple(d.number for d in series.doses[len(given) :])
    return Proposal((), remaining, basis, (series.rule_id,), restarted)


def passed_over_note(proposal: Proposal, days: AppointmentDays) -> str | None:
    """The reason's sentence for the windows a dose passed over for want of an appointment day."""
    if not proposal.passed_over:
        return None
    listed = ", ".join([f"{iso_day(w.start)} to {iso_day(w.end)}" for w in proposal.passed_over])
    several = len(proposal.passed_over) > 1
    return (
        f"Passed over the permitted window{'s' if several else ''} {listed}: no appointment day "
        f"({', '.join(days.names())}) falls in {'them' if several else 'it'} on or after the day the dose could be "
        "given."
    )


def ready_on(proposal: Proposal, given: tuple[date, ...], lead: LeadTime, series: Series) -> date | None:
    """When protection is expected: the protective dose (the last unless the lead time names one) plus the
    lead time; None while that dose has no day."""
    day = proposal.dose_days(given).get(lead.after_dose or series.length)
    return None if day is None else shift(day, lead.days)


# ---- which of a product's schedules applies -------------------------------------------------------------

IMMUNOCOMPROMISED = "immunocompromised"
ACCELERATED = "accelerated"


@dataclass(frozen=True)
class Alternative:
    """Another schedule of a product, used only where `use` says (service/data/series.json, "alternatives"):
    IMMUNOCOMPROMISED while the patient is on or starting the therapy, ACCELERATED when the standard schedule
    cannot meet needed_by and this one can. Ages are whole years on as_of, bounds included."""

    series: Series
    use: str
    schedule: str  # how the reason names it: "the accelerated schedule for ages 18 to 65, doses on days 0 and 7"
    min_age: int | None = None
    max_age: int | None = None
    lead: LeadTime | None = None  # when protection counts differently from the standard schedule's

    def ages(self) -> str:
        if self.max_age is None:
            return f"aged {self.min_age} or over"
        return f"aged {self.min_age} to {self.max_age}"

    def allows(self, age: int) -> bool:
        return (self.min_age is None or age >= self.min_age) and (self.max_age is None or age <= self.max_age)


class SeriesChoice(Value):
    """The schedule a vaccine is planned on, what the reason says about the choice, and the rules behind it."""

    _fields = ("series", "lead", "notes", "rules")

    def __init__(self, series: Series, lead: LeadTime, notes: tuple[str, ...], rules: tuple[str, ...]) -> None:
        self.series: Final = series
        self.lead: Final = lead
        self.notes: Final = notes
        self.rules: Final = rules

    @property
    def shorter(self) -> bool:
        """Whether a minimum interval of the series is shorter than its recommended one."""
        return any(
            i.recommended is not None and i.recommended != i.minimum for d in self.series.doses for i in d.intervals
        )


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on `day` (a 29 February birthday counts from 1 March in other years)."""
    years = day.year - birth_date.year
    return years - 1 if (day.month, day.day) < (birth_date.month, birth_date.day) else years


def birth_date_errors(birth_date: date | None, as_of: date) -> list[FieldError]:
    """What is wrong with patient.birth_date (the date itself is not repeated: it is patient data)."""
    if birth_date is None:
        return []
    if birth_date > as_of:
        return [FieldError("patient.birth_date", "is after as_of: a date of birth is in the past")]
    if age_on(birth_date, as_of) > 130:
        return [FieldError("patient.birth_date", "is more than 130 years before as_of")]
    return []


def _ready_by(
    series: Series,
    lead: LeadTime,
    given: tuple[date, ...],
    windows: tuple[Window, ...],
    as_of: date,
    needed_by: date,
    depleted: Callable[[date], bool],
) -> bool:
    """Whether `series` can protect by needed_by: its protective dose, at the minimum intervals, plus the lead
    time on or before needed_by, with no dose up to it in B-cell depletion (no protection is claimed there)."""
    proposal = propose(series, given, windows, as_of, MINIMUM, None)
    days = proposal.dose_days(given)
    protective = lead.after_dose or series.length
    day = days.get(protective)
    if day is None or shift(day, lead.days) > needed_by:
        return False
    return not any(depleted(d) for n, d in days.items() if n <= protective)


def choose_series(
    standard: Series,
    lead: LeadTime,
    alternatives: tuple[Alternative, ...],
    given: tuple[date, ...],
    windows: tuple[Window, ...],
    as_of: date,
    needed_by: date | None,
    birth_date: date | None,
    immunocompromised: bool,
    depleted: Callable[[date], bool],
) -> SeriesChoice:
    """The schedule a non-live product is planned on: its immunocompromised dosage while the patient is on or
    starting the therapy (a person aged under its minimum age keeps the standard one; without a birth date the
    adult dosage, since the therapies planned here are licensed for adults); else an accelerated schedule when
    the standard one cannot protect by needed_by, the accelerated one can and the patient's age allows it.
    `depleted(day)`: whether a dose on that day falls in B-cell depletion."""
    age = age_on(birth_date, as_of) if birth_date is not None else None
    notes: list[str] = []
    if len(given) > standard.length:
        # More doses than the standard schedule has: they were given on a longer one, which is continued.
        for alt in alternatives:
            if len(given) <= alt.series.length:
                note = f"The {len(given)} doses given follow {alt.schedule}, which is continued."
                return SeriesChoice(alt.series, alt.lead or lead, (note,), (alt.series.rule_id,))
    for alt in alternatives:
        if alt.use != IMMUNOCOMPROMISED or not immunocompromised or len(given) > alt.series.length:
            continue
        if len(given) == standard.length:
            break  # the standard course is complete: nothing to add to it
        dosage = f"ACIP's dosage for immunocompromised patients {alt.ages()}"
        if age is not None and not alt.allows(age):
            notes.append(f"Planned on the standard schedule: {dosage} ({alt.schedule}) does not apply at {age}.")
            break
        why = "" if age is not None else " (no patient.birth_date: taken as an adult, as the therapy is for adults)"
        notes.append(f"Planned on {dosage}: {alt.schedule}{why}.")
        return SeriesChoice(alt.series, alt.lead or lead, tuple(notes), (alt.series.rule_id,))
    accelerated = [a for a in alternatives if a.use == ACCELERATED and len(given) <= a.series.length]
    if needed_by is None or not accelerated:
        return SeriesChoice(standard, lead, tuple(notes), ())
    if _ready_by(standard, lead, given, windows, as_of, needed_by, depleted):
        return SeriesChoice(standard, lead, tuple(notes), ())
    for alt in accelerated:
        alt_lead = alt.lead or lead
        if not _ready_by(alt.series, alt_lead, given, windows, as_of, needed_by, depleted):
            continue
        if age is None:
            notes.append(
                f"The standard schedule cannot protect by {iso_day(needed_by)}; {alt.schedule} could, for a patient "
                f"{alt.ages()}: send patient.birth_date to use it (without it, the schedule that does not depend "
                "on age)."
            )
        elif not alt.allows(age):
            notes.append(
                f"The standard schedule cannot protect by {iso_day(needed_by)}; {alt.schedule} is only for patients "
                f"{alt.ages()} (aged {age})."
            )
        else:
            notes.append(
                f"Planned on {alt.schedule}: the standard schedule cannot protect by {iso_day(needed_by)}, and this "
                f"one can (patient aged {age})."
            )
            return SeriesChoice(alt.series, alt_lead, tuple(notes), (alt.series.rule_id,))
        break
    return SeriesChoice(standard, lead, tuple(notes), ())
