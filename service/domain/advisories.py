"""Warnings a plan carries: things a clinician should know that do not stop the plan being made.

Each has a stable code (clients may branch on it), a message for people, and the ids of the rules behind
it (listed at GET /v1/rules), so that a warning is as traceable as a window.
"""

from __future__ import annotations

from dataclasses import dataclass

# Stable warning codes (the contract, "Additions for real histories and safety").
HISTORY_ASSUMED = "history-assumed"
DOSE_MISSED = "dose-missed"
LIVE_VACCINE_BEFORE_START = "live-vaccine-before-start"
LIVE_VACCINE_DURING_THERAPY = "live-vaccine-during-therapy"
NON_LIVE_VACCINE_NEAR_START = "non-live-vaccine-near-start"
# A confirmed B-cell repletion earlier than the label's median recovery time: accepted, but worth checking.
REPLETION_BEFORE_MEDIAN = "repletion-before-median"
# Yellow fever vaccine with MMR, MMRV or varicella vaccine on the same day or less than 30 days apart.
YELLOW_FEVER_WITH_MMR_VARICELLA = "yellow-fever-with-mmr-varicella"
# Therapy doses after the start that come sooner than the labelled schedule allows (a dose entered twice, a
# wrong date): the plan is made from them as given, but they need checking.
HISTORY_INCONSISTENT = "history-inconsistent"
# A live vaccine dose given during B-cell depletion, not counted toward its series (ACIP altered immunocompetence).
DOSE_NOT_COUNTED = "dose-not-counted"

# Every warning code a plan may carry: the contract's enum (PlanWarningSchema.code).
WARNING_CODES = (
    HISTORY_ASSUMED,
    DOSE_MISSED,
    LIVE_VACCINE_BEFORE_START,
    LIVE_VACCINE_DURING_THERAPY,
    NON_LIVE_VACCINE_NEAR_START,
    REPLETION_BEFORE_MEDIAN,
    YELLOW_FEVER_WITH_MMR_VARICELLA,
    HISTORY_INCONSISTENT,
    DOSE_NOT_COUNTED,
)


@dataclass(frozen=True)
class PlanWarning:
    """One warning on a plan: `code` is stable, `message` is for people, `rules` cite its sources."""

    code: str
    message: str
    rules: tuple[str, ...] = ()
