"""CDSi intervals ("4 weeks", "6 months", "5 months - 4 days") and date arithmetic with them.

CDSi adds calendar units (years, months) before days and weeks, as add_months does (like relativedelta): 31 Jan +
1 month = 28/29 Feb.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

# The day offsets the rules add (lead times, mid-cycle slots, pre-start margins, live spacing, the horizon) run from
# a few days to a few years. `timedelta(days=n)` parses its keyword arguments on each call: building them took a
# quarter of make_plan's instructions (callgrind, the typical request: 88 a plan at about 3,000 instructions
# each). These are built once, with whole multiples of them for `shift` to go further.
_SHIFT_REACH: Final = 4000
_SHIFTS: Final = tuple(timedelta(days=n) for n in range(-_SHIFT_REACH, _SHIFT_REACH + 1))
_REACHES: Final = date.max.toordinal() // _SHIFT_REACH + 1  # whole reaches that span the calendar
_REACH_SHIFTS: Final = tuple(timedelta(days=n * _SHIFT_REACH) for n in range(-_REACHES, _REACHES + 1))

# Years, months and days as iso_day writes them: the years requests can carry (1900-2199), and a margin.
_FIRST_YEAR: Final = 1800
_YEARS: Final = tuple(str(year) for year in range(_FIRST_YEAR, 2400))
# "-MM-DD" for every month and day of the month, at month * 32 + day: one look-up and one join a date.
_MONTH_DAYS: Final = tuple(f"-{month:02d}-{day:02d}" for month in range(13) for day in range(32))

_TERM = re.compile(r"^\s*([+-]?)\s*(\d+)\s*(day|week|month|year)s?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Interval:
    """A CDSi interval, kept with its original text for citations."""

    text: str
    years: int = 0
    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Interval:
        rest, sign_next, totals = text.strip(), "+", {"year": 0, "month": 0, "day": 0}
        if not rest:
            raise ValueError("empty interval")
        first = True
        while rest:
            match = _TERM.match(rest)
            if match is None:
                raise ValueError(f"not a CDSi interval: {text!r}")
            sign = match.group(1) or sign_next
            if not first and not match.group(1):
                raise ValueError(f"terms after the first need a sign: {text!r}")
            amount = int(match.group(2)) * (-1 if sign == "-" else 1)
            unit = match.group(3).lower()
            if unit == "week":
                unit, amount = "day", amount * 7
            totals[unit] += amount
            rest, first = rest[match.end() :], False
        return cls(text=text, years=totals["year"], months=totals["month"], days=totals["day"])

    def after(self, day: date) -> date:
        if not (self.years or self.months):
            return shift(day, self.days)  # most intervals are days or weeks: no calendar arithmetic
        return shift(add_months(day, self.years * 12 + self.months), self.days)


# date.toordinal, the day's number (1 January of year 1 is 1), looked up once: the compiled core calls a method
# of a date through a look-up by name on every call, several times the cost of the call itself. Runs of days
# are compared in these numbers where a date subtraction would build a timedelta for each pair.
DAY_NUMBER: Final = date.toordinal


def shift(day: date, days: int) -> date:
    """`day` moved by `days` days (earlier when negative): `day + timedelta(days=days)`, the same dates and the
    same OverflowError past year 9999."""
    if -_SHIFT_REACH <= days <= _SHIFT_REACH:
        return day + _SHIFTS[days + _SHIFT_REACH]
    # Further (a maintenance anchor 400 doses back is 11,200 days away): whole reaches, then the rest.
    reaches, rest = divmod(days, _SHIFT_REACH)
    if -_REACHES <= reaches <= _REACHES:
        try:
            return day + _REACH_SHIFTS[reaches + _REACHES] + _SHIFTS[rest + _SHIFT_REACH]
        except OverflowError:
            pass  # the first step left the calendar: timedelta says whether the whole shift does
    return day + timedelta(days=days)


def day_span(days: int) -> timedelta:
    """`timedelta(days=days)`, one of those built once when it is in their reach."""
    if -_SHIFT_REACH <= days <= _SHIFT_REACH:
        return _SHIFTS[days + _SHIFT_REACH]
    return timedelta(days=days)


def iso_day(day: date) -> str:
    """`day.isoformat()`, YYYY-MM-DD: the dates written into reasons and notes. date.isoformat formats through
    printf, whose code and the string formatting around it took a tenth of make_plan's instructions for the
    ten or so dates of a typical plan; this joins a ready-made year and month-and-day."""
    number = day.year
    if _FIRST_YEAR <= number < _FIRST_YEAR + len(_YEARS):
        year = _YEARS[number - _FIRST_YEAR]
    else:
        year = str(number).rjust(4, "0")
    return year + _MONTH_DAYS[day.month * 32 + day.day]


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months, the day of the month kept or, past the end of the month, its last day:
    31 Jan + 1 month = 28/29 Feb. What `day + relativedelta(months=months)` gives (tests/test_hot_path.py), at
    a sixth of its cost: plans add months to every monthly dose and every interval counted in months."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))
