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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

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
        days = {} if self.restarted else dict(enumerate(sorted(given), 1))
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
    dates: dict[int, date] = dict(enumerate(given, 1))  # propose() passes them in date order
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
    given = tuple(sorted(given))
    start, restarted = as_of, False
    for _ in range(_MAX_SHIFTS):
        passed: list[Window] = []
        placed, unplaced, rules, overrun = _attempt(series, given, windows, start, basis, spacing, days, passed)
        if overrun is None:
            return Proposal(tuple(placed), tuple(unplaced), basis, tuple(sorted(rules)), restarted, tuple(passed))
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
