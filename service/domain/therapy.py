"""Therapy profiles: a drug's dose schedule and vaccine-timing rules, as plain data.

A profile is built from a versioned data file (service/data/therapies/*.json) by the loader; nothing
here knows about files. Adding a therapy means adding a profile and its cases, not a code branch
(docs/adding-a-therapy.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from .intervals import add_months, shift

# How a therapy is given (API contract, revision 3, "More therapies"). Only `dosed` therapies (injections or
# infusions on dates) are planned; the loader refuses a profile of another kind until the planner has its
# rules, so the kind is part of the profile's shape from the start.
DOSED, CONTINUOUS, COURSE = "dosed", "continuous", "course"
KINDS = (DOSED, CONTINUOUS, COURSE)
PLANNED_KINDS = (DOSED,)
# The labels a profile may encode separately where they differ; without treatment.label the planner applies,
# rule by rule, the stricter of them (STRICTEST).
LABELS = ("us", "eu")
STRICTEST = "strictest"
# Figures that may differ between labels (vaccine_timing fields written {"us": n, "eu": m} in a profile).
# For each, a longer lead time is the stricter.
LABELLED_FIGURES = ("live_pre_start_days", "non_live_pre_start_days")
LABEL_NAMES = {"us": "the US label", "eu": "the EU label"}


def weeks_or_days(days: int) -> str:
    """28 -> "4 weeks", 10 -> "10 days": a figure as the labels write it."""
    return f"{days // 7} weeks" if days % 7 == 0 and days >= 14 else f"{days} days"


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
    start is after the end. A bound given as None does not limit the slot: the anti-CD20 infusion slot is
    [D + 84, N - 28] (after_max and before_max None).
    """

    after_min: int
    after_max: int | None
    before_min: int
    before_max: int | None

    def describe(self) -> str:
        """The slot in words, for a reason: "14-21 days after a dose and at least 7 days before the next"."""
        after = (
            f"{self.after_min}-{self.after_max} days"
            if self.after_max is not None
            else f"at least {self.after_min} days"
        )
        return f"{after} after a dose and at least {self.before_min} days before the next"


@dataclass(frozen=True)
class TherapyProfile:
    """Everything the planner needs to know about one therapy, as one label reads it (`label`)."""

    id: str
    version: str
    name: str
    brand_names: tuple[str, ...]
    names: tuple[str, ...]
    # Gaps in days from dose k to dose k+1 (k = 1, 2, ...) through the starter doses; with
    # `maintenance_from_first_dose` false the last gap leads to the first maintenance dose (ofatumumab: 7, 7,
    # 14, so weeks 0, 1, 2, 4), with it true the first maintenance dose is one cadence after dose 1
    # (ocrelizumab: 14, then 24 weeks or 6 months after dose 1).
    starter_gaps: tuple[int, ...]
    # Doses of the starter phase: a person with this many doses or fewer is in the starter phase.
    starter_doses: int
    cadences: dict[str, Cadence]
    default_cadence: str
    live_pre_start_days: int
    non_live_pre_start_days: int
    mid_cycle: MidCycleSlot
    # Days from discontinuation after which re-checking B cells is worth it (a median recovery, or a
    # consensus figure); None when no source gives one (then no re-check date is given).
    b_cell_recheck_days: int | None
    # The consensus figure cited beside the median, for the explanation only (None: not cited).
    b_cell_consensus_days: int | None
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
    # What that figure is, in the 422's words ("one dosing interval").
    repletion_min_text: str = "one dosing interval"
    kind: str = DOSED
    maintenance_from_first_dose: bool = False
    # The labels whose rules the profile encodes (`us`, `eu`; none for a therapy ruled by guidelines only).
    labels: tuple[str, ...] = ()
    # The label this reading of the profile applies: one of `labels`, or STRICTEST (each figure the stricter).
    label: str = STRICTEST
    # LABELLED_FIGURES by label, where the labels differ: {"eu": {"live_pre_start_days": 42}, ...}.
    by_label: dict[str, dict[str, int]] = field(default_factory=dict)
    # The default cadence by label where it differs from `default_cadence` (the stricter reading).
    default_cadence_by_label: dict[str, str] = field(default_factory=dict)
    # Who states the vaccination lead times, in the warnings' words ("The label", "ECTRIMS/EAN guidance").
    timing_source: str = "The label"
    # What the re-check figure is, in the reasons' words: "The label's median time to B-cell recovery" (the
    # live reason), "the label's median recovery time" (the repletion-before-median warning).
    b_cell_recheck_source: str = "The label's median time to B-cell recovery"
    b_cell_recheck_warning: str = "the label's median recovery time"
    # The profile's `interop` section as data: how EHR records name the therapy and how loud its CDS Hooks
    # cards are. The FHIR and CDS Hooks front ends read it (service/interop/medication.py).
    interop: dict[str, Any] = field(default_factory=dict)
    # The same profile as each label reads it (for_label); empty on the variants themselves.
    variants: dict[str, TherapyProfile] = field(default_factory=dict)

    def rule_id(self, role: str) -> str:
        """The id of the profile's rule that plays `role` (e.g. "mid_cycle") in the planner."""
        return self.rules[role].id

    def for_label(self, label: str | None) -> TherapyProfile:
        """This profile as `label` reads it (None: the stricter figure of the labels, rule by rule)."""
        if label is None or label == self.label:
            return self
        return self.variants[label]

    def label_note(self, figure: str) -> str:
        """Which label a figure comes from, for a reason: "" when the labels agree on it."""
        if not any(figure in values for values in self.by_label.values()):
            return ""
        if self.label == STRICTEST:
            return " (the stricter of " + " and ".join(LABEL_NAMES[k] for k in self.labels) + ")"
        return f" ({LABEL_NAMES[self.label]})"

    def starter_offsets(self, cadence: Cadence, start: date) -> tuple[int, ...]:
        """Days from the first dose (`start`) to each labelled dose of the starter run, through the first
        maintenance dose (0, 7, 14, 28 for ofatumumab; 0, 14, 168 for ocrelizumab every 24 weeks; with calendar
        months the last offset depends on the start: 6 months from 1 March is 184 days)."""
        offsets = [0]
        for gap in self.starter_gaps:
            offsets.append(offsets[-1] + gap)
        if self.maintenance_from_first_dose:
            offsets.append((cadence.after(start) - start).days)
        return tuple(offsets)

    def gap_after(self, dose_number: int, cadence: Cadence) -> Cadence:
        """The interval from dose `dose_number` (1-based) to the next one, when it is a fixed gap or the cadence
        (dose 2 of a profile whose maintenance counts from dose 1 has neither: see schedule.labelled_doses)."""
        if dose_number <= len(self.starter_gaps):
            days = self.starter_gaps[dose_number - 1]
            return Cadence(name=f"starter-{dose_number}", days=days)
        return cadence


def with_label_variants(profile: TherapyProfile) -> TherapyProfile:
    """The profile (its figures the stricter of its labels', label STRICTEST) holding its reading by each label."""
    variants: dict[str, TherapyProfile] = {}
    for label in profile.labels:
        figures = profile.by_label.get(label, {})
        variants[label] = replace(
            profile,
            label=label,
            live_pre_start_days=figures.get("live_pre_start_days", profile.live_pre_start_days),
            non_live_pre_start_days=figures.get("non_live_pre_start_days", profile.non_live_pre_start_days),
            default_cadence=profile.default_cadence_by_label.get(label, profile.default_cadence),
        )
    return replace(profile, variants=variants)
