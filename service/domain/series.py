"""Dose series and protection lead times, and the proposal of dated doses inside permitted windows.

Each remaining dose is placed on the first day that (a) is at least the aimed interval after every earlier
dose it is measured from, (b) lies inside one of the vaccine's permitted windows, and (c) for a live
vaccine, conflicts with no live vaccine given or already proposed. We aim for CDSi's recommended interval
(the licensed schedule) and fall back to its minimum only when that finishes the series where the
recommended one cannot, or meets a `needed_by` date the recommended one misses.

An interval may have a maximum (Dukoral: the label restarts the course when dose 2 comes more than 6 weeks
after dose 1). A proposed dose is never placed beyond it: when the next dose cannot fit, the course begins
later; when the maximum has already run out after a dose given, the course starts again (`restarted`) and
the doses given no longer count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

from .intervals import Interval, shift
from .spacing import LiveSpacing
from .values import Value
from .windows import Window

RECOMMENDED = "recommended"
MINIMUM = "minimum"


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
    _fields = ("doses", "unplaced", "basis", "rules", "restarted")

    def __init__(
        self,
        doses: tuple[ProposedDose, ...],
        unplaced: tuple[int, ...],
        basis: str,
        rules: tuple[str, ...],
        restarted: bool = False,
    ) -> None:
        self.doses: Final = doses
        # Remaining doses that found no day inside the windows (beyond the horizon, or no window at all).
        self.unplaced: Final = unplaced
        self.basis: Final = basis
        self.rules: Final = rules
        # The doses given no longer count: a maximum interval ran out after them, so the course starts again.
        self.restarted: Final = restarted

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


def _first_day_in_windows(windows: tuple[Window, ...], earliest: date) -> date | None:
    for window in windows:
        if window.end >= earliest:
            return window.start if window.start > earliest else earliest
    return None


def _place(windows: tuple[Window, ...], earliest: date, spacing: LiveSpacing) -> tuple[date | None, set[str]]:
    """The first permitted day on or after `earliest` for a live vaccine, honouring live spacing; None if there
    is none."""
    rules: set[str] = set()
    day = _first_day_in_windows(windows, earliest)
    while day is not None:
        free, met = spacing.next_free_day(day)
        rules |= met
        if free == day:
            return day, rules
        day = _first_day_in_windows(windows, free)
    return None, rules


def _attempt(
    series: Series,
    given: tuple[date, ...],
    windows: tuple[Window, ...],
    start: date,
    basis: str,
    spacing: LiveSpacing | None,
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
            day, met = _place(windows, earliest, spacing)
            rules |= met
        else:
            day = _first_day_in_windows(windows, earliest)  # not live: no spacing to honour
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
) -> Proposal:
    """Dated doses for the rest of the series, on the given interval basis, within any maximum interval.
    `spacing`: a live vaccine's spacing from the other live events (LiveVirusConflicts.spacing), None for a
    vaccine that is not live."""
    given = tuple(sorted(given))
    start, restarted = as_of, False
    for _ in range(_MAX_SHIFTS):
        placed, unplaced, rules, overrun = _attempt(series, given, windows, start, basis, spacing)
        if overrun is None:
            return Proposal(tuple(placed), tuple(unplaced), basis, tuple(sorted(rules)), restarted)
        if overrun <= len(given):
            # The maximum after a dose already given has run out (or no permitted day is left inside it).
            given, start, restarted = (), as_of, True
        else:
            # A proposed dose left no permitted day for the next one inside the maximum: begin later.
            start = shift(placed[0].day, 1)
    remaining = tuple(d.number for d in series.doses[len(given) :])
    return Proposal((), remaining, basis, (series.rule_id,), restarted)


def ready_on(proposal: Proposal, given: tuple[date, ...], lead: LeadTime, series: Series) -> date | None:
    """When protection is expected: the protective dose (the last unless the lead time names one) plus the
    lead time; None while that dose has no day."""
    day = proposal.dose_days(given).get(lead.after_dose or series.length)
    return None if day is None else shift(day, lead.days)
