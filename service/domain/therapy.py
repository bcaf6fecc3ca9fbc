"""Therapy profiles: a drug's dose schedule and vaccine-timing rules, as plain data.

A profile is built from a versioned data file (service/data/therapies/*.json) by the loader; nothing
here knows about files. Adding another anti-CD20 therapy means adding a profile, not a code branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .intervals import add_months, shift


@dataclass(frozen=True)
class Rule:
    """One rule the planner can apply, with where it comes from.

    `evidence` is one of label, guideline, CDSi, practice, decision (see REFERENCES in the README).
    """

    id: str
    summary: str
    evidence: str
    source: str
    citation: str


@dataclass(frozen=True)
class Cadence:
    """A maintenance interval: either a fixed number of days or calendar months.

    Calendar months keep the day of the month or clip it to the month's end (intervals.add_months), so that
    31 January + 1 month is 28/29 February, never 3 March.
    """

    name: str
    days: int = 0
    months: int = 0
    description: str = ""

    def after(self, day: date, steps: int = 1) -> date:
        """The date `steps` intervals after `day` (anchored on `day`, so month ends do not drift)."""
        if self.months:
            return add_months(day, self.months * steps)
        return shift(day, self.days * steps)


@dataclass(frozen=True)
class MidCycleSlot:
    """Bounds of the non-live slot between consecutive doses D and N (all inclusive).

    slot = [max(D + after_min, N - before_max), min(D + after_max, N - before_min)], empty when the
    start is after the end.
    """

    after_min: int
    after_max: int
    before_min: int
    before_max: int


@dataclass(frozen=True)
class TherapyProfile:
    """Everything the planner needs to know about one therapy."""

    id: str
    version: str
    name: str
    brand_names: tuple[str, ...]
    names: tuple[str, ...]
    # Gaps in days from dose k to dose k+1 during the starter phase (k = 1, 2, ...); after the last
    # starter gap the maintenance cadence applies.
    starter_gaps: tuple[int, ...]
    # Doses of the starter phase: a person with this many doses or fewer is in the starter phase.
    starter_doses: int
    cadences: dict[str, Cadence]
    default_cadence: str
    live_pre_start_days: int
    non_live_pre_start_days: int
    mid_cycle: MidCycleSlot
    # Days from discontinuation after which re-checking B cells is worth it (label median recovery).
    b_cell_recheck_days: int
    # The consensus figure cited beside the median, for the explanation only.
    b_cell_consensus_days: int
    # Days after the last dose before a non-live post-therapy window opens.
    post_therapy_after_last_dose_days: int
    # Rules keyed by the role they play in the planner (schedule, missed_dose, live_pre_start, ...).
    rules: dict[str, Rule]
    schedule_text: str = ""
    b_cell_recheck_text: str = ""
    b_cell_consensus_text: str = ""
    # Days a starter dose may come early or late and still read as the labelled starter dose (weeks 0, 1, 2, 4).
    starter_tolerance_days: int = 3
    # A B-cell repletion date earlier than this many days after the last dose cannot be a recovery after
    # discontinuation (one dosing interval): it is refused.
    repletion_min_days_after_last_dose: int = 28

    def rule_id(self, role: str) -> str:
        """The id of the profile's rule that plays `role` (e.g. "mid_cycle") in the planner."""
        return self.rules[role].id

    def starter_offsets(self) -> tuple[int, ...]:
        """Days from the first dose to each labelled dose of the starter run, through the first maintenance dose
        (0, 7, 14, 28 for ofatumumab)."""
        offsets = [0]
        for gap in self.starter_gaps:
            offsets.append(offsets[-1] + gap)
        return tuple(offsets)

    def gap_after(self, dose_number: int, cadence: Cadence) -> Cadence:
        """The interval from dose `dose_number` (1-based) to the next one."""
        if dose_number <= len(self.starter_gaps):
            days = self.starter_gaps[dose_number - 1]
            return Cadence(name=f"starter-{dose_number}", days=days)
        return cadence
