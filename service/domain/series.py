"""Dose series and protection lead times, and the proposal of dated doses inside permitted windows.

Each remaining dose is placed on the first day that (a) is at least the aimed interval after every earlier
dose it is measured from, (b) lies inside one of the vaccine's permitted windows, and (c) for a live
vaccine, conflicts with no live vaccine given or already proposed. We aim for CDSi's recommended interval
(the licensed schedule) and fall back to its minimum only when that finishes the series where the
recommended one cannot, or meets a `needed_by` date the recommended one misses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .catalog import Vaccine
from .intervals import Interval
from .spacing import LiveEvent, LiveVirusConflicts
from .windows import Window

RECOMMENDED = "recommended"
MINIMUM = "minimum"


@dataclass(frozen=True)
class SeriesInterval:
    from_dose: int
    minimum: Interval
    recommended: Interval | None

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

    @property
    def length(self) -> int:
        return len(self.doses)


@dataclass(frozen=True)
class LeadTime:
    days: int
    rule_id: str


@dataclass(frozen=True)
class ProposedDose:
    dose: int
    day: date


@dataclass(frozen=True)
class Proposal:
    doses: tuple[ProposedDose, ...]
    # Remaining doses that found no day inside the windows (beyond the horizon, or no window at all).
    unplaced: tuple[int, ...]
    basis: str
    rules: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.unplaced


def single_dose(vaccine_id: str, rule_id: str) -> Series:
    return Series(vaccine_id, (SeriesDose(1),), rule_id)


def _first_day_in_windows(windows: tuple[Window, ...], earliest: date) -> date | None:
    for window in windows:
        if window.end >= earliest:
            return max(window.start, earliest)
    return None


def _place(
    vaccine: Vaccine, windows: tuple[Window, ...], earliest: date, conflicts: LiveVirusConflicts, fixed: list[LiveEvent]
) -> tuple[date | None, set[str]]:
    """The first permitted day on or after `earliest`, honouring live spacing; None if there is none."""
    rules: set[str] = set()
    day = _first_day_in_windows(windows, earliest)
    while day is not None:
        if not vaccine.live:
            return day, rules
        free, met = conflicts.next_free_day(vaccine, day, fixed)
        rules |= met
        if free == day:
            return day, rules
        day = _first_day_in_windows(windows, free)
    return None, rules


def propose(
    vaccine: Vaccine,
    series: Series,
    given: tuple[date, ...],
    windows: tuple[Window, ...],
    as_of: date,
    basis: str,
    conflicts: LiveVirusConflicts,
    fixed: list[LiveEvent],
) -> Proposal:
    """Dated doses for the rest of the series, on the given interval basis."""
    dates: dict[int, date] = {i + 1: day for i, day in enumerate(sorted(given))}
    placed: list[ProposedDose] = []
    unplaced: list[int] = []
    rules: set[str] = {series.rule_id}
    for dose in series.doses[len(given) :]:
        if unplaced:
            unplaced.append(dose.number)  # a dose cannot come before the one it is measured from
            continue
        earliest = as_of
        for interval in dose.intervals:
            earliest = max(earliest, interval.aimed(basis).after(dates[interval.from_dose]))
        day, met = _place(vaccine, windows, earliest, conflicts, fixed)
        rules |= met
        if day is None:
            unplaced.append(dose.number)
            continue
        dates[dose.number] = day
        placed.append(ProposedDose(dose.number, day))
    return Proposal(tuple(placed), tuple(unplaced), basis, tuple(sorted(rules)))


def ready_on(proposal: Proposal, given: tuple[date, ...], lead: LeadTime) -> date | None:
    """When protection is expected: the last dose plus the lead time; None while doses are unplaced."""
    if not proposal.complete:
        return None
    last = proposal.doses[-1].day if proposal.doses else (max(given) if given else None)
    return None if last is None else last + timedelta(days=lead.days)
