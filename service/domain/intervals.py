"""CDSi intervals ("4 weeks", "6 months", "5 months - 4 days") and date arithmetic with them.

CDSi adds calendar units (years, months) before days and weeks, as add_months does (like relativedelta): 31 Jan +
1 month = 28/29 Feb.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta

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
            return day + timedelta(days=self.days)  # most intervals are days or weeks: no calendar arithmetic
        return add_months(day, self.years * 12 + self.months) + timedelta(days=self.days)


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months, the day of the month kept or, past the end of the month, its last day:
    31 Jan + 1 month = 28/29 Feb. What `day + relativedelta(months=months)` gives (tests/test_hot_path.py), at
    a sixth of its cost: plans add months to every monthly dose and every interval counted in months."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))
