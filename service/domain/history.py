"""The vaccine history against the therapy's first dose: the label's timing rules, checked on what was given.

The windows say when a vaccine may still be given; this module says what the vaccines already given (a
request's `immunizations` and each vaccine's `given` list) mean for the therapy: a live vaccine less than the
profile's live lead time before the first dose, a live vaccine during B-cell depletion, a non-live vaccine less
than the non-live lead time before the first dose. Each is a warning with a stable code; none changes a window.

The therapy's own doses are checked against its labelled schedule too (inconsistent_doses): a dose nearer the
one before it than its labelled day (two maintenance doses 7 days apart) is named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from .advisories import (
    HISTORY_INCONSISTENT,
    LIVE_VACCINE_BEFORE_START,
    LIVE_VACCINE_DURING_THERAPY,
    NON_LIVE_VACCINE_NEAR_START,
    PlanWarning,
)
from .catalog import Vaccine
from .intervals import DAY_NUMBER, day_span, iso_day
from .schedule import NOT_STARTED, DoseSchedule, dose_numbers_from_start, labelled_after
from .therapy import TherapyProfile, weeks_or_days
from .values import Value


@dataclass(frozen=True)
class VaccineGiven:
    """A vaccine the request says was given on a day (live or not)."""

    vaccine: Vaccine
    day: date


class HistoryReview(Value):
    """What the vaccine history means for the therapy: warnings, and the earliest start it allows."""

    _fields = ("warnings", "earliest_start")

    def __init__(self, warnings: tuple[PlanWarning, ...], earliest_start: date | None) -> None:
        self.warnings: Final = warnings
        self.earliest_start: Final = earliest_start


def _listed(events: list[VaccineGiven]) -> str:
    return ", ".join(f"{e.vaccine.name} on {e.day}" for e in events)


def review_history(
    profile: TherapyProfile, schedule: DoseSchedule, history: Iterable[VaccineGiven], as_of: date
) -> HistoryReview:
    """Check every vaccine given against the first dose (planned or given) and against B-cell depletion."""
    distinct = set(history)
    events = sorted(distinct, key=lambda e: (e.day, e.vaccine.id)) if distinct else []
    first = schedule.first_dose
    name = profile.name
    live_days = day_span(profile.live_pre_start_days)
    non_live_days = day_span(profile.non_live_pre_start_days)
    planned = schedule.phase == NOT_STARTED
    which = "planned first" if planned else "first"
    # A partial history's start is the stated one, which may be approximate.
    stated = " (the stated start_date: check it if it is approximate)" if schedule.partial else ""
    repletion = schedule.b_cell_repletion_on
    warnings: list[PlanWarning] = []

    live_before = [e for e in events if e.vaccine.live and first - live_days < e.day < first]
    if live_before:
        move_to = live_before[-1].day + live_days
        action = (
            f"The first dose may move to {move_to} or later (treatment.earliest_start)."
            if planned
            else f"The first dose would have been due no sooner than {move_to}: review with the treating clinician."
        )
        warnings.append(
            PlanWarning(
                LIVE_VACCINE_BEFORE_START,
                f"Live vaccine less than {profile.live_pre_start_days} days before the {which} {name} dose on "
                f"{first}{stated}: {_listed(live_before)}. {profile.timing_source} says to give live vaccines at "
                f"least {weeks_or_days(profile.live_pre_start_days)}{profile.label_note('live_pre_start_days')} "
                f"before starting {name}. {action}",
                (profile.rule_id("live_vaccine_before_start"),),
            )
        )

    during = [e for e in events if e.vaccine.live and e.day >= first and (repletion is None or e.day < repletion)]
    if during:
        warnings.append(
            PlanWarning(
                LIVE_VACCINE_DURING_THERAPY,
                f"Live vaccine on or after the first {name} dose ({first}{stated}) while B-cell repletion was not "
                f"confirmed: {_listed(during)}. A live vaccine during B-cell depletion needs clinical review (watch "
                "for infection by the vaccine strain), and the dose may not count: ACIP advises that vaccines given "
                "during immunosuppressive therapy may be considered unimmunized.",
                (profile.rule_id("live_vaccine_during_therapy"),),
            )
        )

    non_live_near = [e for e in events if not e.vaccine.live and first - non_live_days < e.day < first]
    if non_live_near:
        keep = (
            f" To give it the full interval the first dose may move to {non_live_near[-1].day + non_live_days} or "
            "later, where the treatment can wait."
            if planned
            else ""
        )
        warnings.append(
            PlanWarning(
                NON_LIVE_VACCINE_NEAR_START,
                f"Non-live vaccine less than {profile.non_live_pre_start_days} days before the {which} {name} dose "
                f"on {first}{stated}: {_listed(non_live_near)}. {profile.timing_source} advises non-live vaccines at "
                f"least {weeks_or_days(profile.non_live_pre_start_days)}{profile.label_note('non_live_pre_start_days')} "
                "before starting whenever possible; ACIP advises that doses given within 14 days before "
                "immunosuppressive therapy may be considered unimmunized and repeated once immunity is restored, "
                f"so the response may be reduced.{keep}",
                (profile.rule_id("non_live_vaccine_near_start"),),
            )
        )

    inconsistent = inconsistent_doses(profile, schedule)
    if inconsistent is not None:
        warnings.append(inconsistent)

    earliest = None
    if planned:
        latest_live = max((e.day for e in events if e.vaccine.live), default=None)
        if latest_live is not None and latest_live + live_days > as_of:
            earliest = latest_live + live_days
    return HistoryReview(tuple(warnings), earliest)


def inconsistent_doses(profile: TherapyProfile, schedule: DoseSchedule) -> PlanWarning | None:
    """The listed therapy doses after the start that cannot be the next labelled dose: nearer the dose listed
    before them than the day the profile's labelled schedule gives (two maintenance doses 7 days apart). A
    dose a few days early is a clinic's calendar, and a late one the label's missed dose: neither is named.
    Generic over the profile: its starter gaps, then its maintenance cadence, each dose numbered as the
    schedule numbers it (from the stated start for a partial history). None when every dose can follow, and
    for a therapy given off-label (no labelled schedule to follow)."""
    given = schedule.given
    # A therapy without a label for it (rituximab in MS: "infusions as listed") has no schedule a dose could
    # contradict; an assumed history is the labelled schedule itself.
    if not profile.labels or schedule.assumed or len(given) < 2:
        return None
    # Dose numbers up to `starters` are the labelled starter doses (their gaps fixed, or for a profile whose
    # maintenance counts from dose 1, dose 2 at its own gap); every later dose is a maintenance dose, the next
    # one a cadence after it.
    starters = max(len(profile.starter_gaps), profile.starter_doses)
    cadence = schedule.cadence
    # Numbers rise by at least one a dose, so the first starters + 1 listed doses reach maintenance if any do;
    # from the first maintenance dose on, each listed dose is the next (schedule.dose_numbers_from_start).
    head = given[: starters + 1]
    numbers = (
        dose_numbers_from_start(profile, schedule.first_dose, head, cadence)
        if schedule.partial
        else tuple(range(1, len(head) + 1))
    )
    first_maintenance = len(head)  # one number for each dose of `head`
    for k, number in enumerate(numbers):
        if number > starters:
            first_maintenance = k
            break
    pairs = [(k, numbers[k - 1]) for k in range(1, min(first_maintenance + 1, len(given)))]
    # Maintenance pairs: only those closer than half the longest labelled interval can be too near, so a long
    # history costs one subtraction a dose.
    longest = cadence.days + 31 * cadence.months
    tail = [DAY_NUMBER(day) for day in given[first_maintenance:]]
    pairs += [
        (first_maintenance + i + 1, starters + 1) for i in range(len(tail) - 1) if 2 * (tail[i + 1] - tail[i]) < longest
    ]
    early: list[str] = []
    for k, n_before in pairs:
        before, day = given[k - 1], given[k]
        # Read as the very next labelled dose, the most lenient reading: a dose the list skips (or a later
        # maintenance dose numbered as "one past the first") would only put its labelled day further away.
        labelled = labelled_after(profile, cadence, before, n_before)
        if 2 * (day - before).days < (labelled - before).days:
            early.append(
                f"{iso_day(day)} is {(day - before).days} days after {iso_day(before)}, where the labelled "
                f"schedule gives {(labelled - before).days}"
            )
    if not early:
        return None
    label = profile.schedule_text.rstrip(". ") or "its label"
    return PlanWarning(
        HISTORY_INCONSISTENT,
        f"Doses of {profile.name} that cannot follow its labelled schedule ({label}): {'; '.join(early)}, so "
        "each is nearer the dose before it than its labelled day. Check the dates (a dose listed twice, a typing "
        "error): the plan is made from them as given.",
        (profile.rule_id("schedule"),),
    )
