"""Permitted vaccination windows around a therapy's doses, for one live or non-live vaccine.

Every window is inclusive at both ends and clipped to the requested range [as_of, until]. The safety
rules that matter most are structural here: a live vaccine only ever gets a pre-start window that ends the
profile's live lead time (28 days for ofatumumab) before the first dose, or a post-therapy window after
confirmed B-cell repletion.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import date
from typing import Final

from .intervals import DAY_NUMBER, iso_day, shift
from .schedule import NOT_STARTED, STOPPED, DoseSchedule, recovery_basis
from .therapy import MidCycleSlot, TherapyProfile
from .values import Value

PRE_START = "pre_start"
MID_CYCLE = "mid_cycle"
POST_THERAPY = "post_therapy"
# Non-live vaccines at any time during a continuous therapy (service.domain.continuous).
DURING_THERAPY = "during_therapy"
AVOID = "avoid"


class Window(Value):
    """A run of days, both ends inclusive, on which a vaccine may be given."""

    _fields = ("kind", "start", "end")

    def __init__(self, kind: str, start: date, end: date) -> None:
        self.kind: Final = kind
        self.start: Final = start
        self.end: Final = end

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


class Timing(Value):
    """The answer for one vaccine: its windows and why."""

    _fields = ("status", "windows", "reason", "rules", "delay_start_to", "b_cell_recheck_on", "notes")

    def __init__(
        self,
        status: str,
        windows: tuple[Window, ...],
        reason: str,
        rules: tuple[str, ...],
        delay_start_to: date | None = None,
        b_cell_recheck_on: date | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.status: Final = status
        self.windows: Final = windows
        self.reason: Final = reason
        self.rules: Final = rules
        self.delay_start_to: Final = delay_start_to
        self.b_cell_recheck_on: Final = b_cell_recheck_on
        self.notes: Final = notes

    def replaced(
        self, *, status: str, windows: tuple[Window, ...], reason: str, rules: tuple[str, ...] | None = None
    ) -> Timing:
        """This timing with another status, windows and reason (and rules): what dataclasses.replace gave."""
        return Timing(
            status,
            windows,
            reason,
            self.rules if rules is None else rules,
            self.delay_start_to,
            self.b_cell_recheck_on,
            self.notes,
        )


def clip(kind: str, start: date, end: date, lo: date, hi: date) -> Window | None:
    """The part of [start, end] inside [lo, hi], or None when they do not overlap."""
    start, end = max(start, lo), min(end, hi)
    return Window(kind, start, end) if start <= end else None


def mid_cycle_slot(slot: MidCycleSlot, dose: date, next_dose: date) -> tuple[date, date] | None:
    """The non-live slot between two consecutive doses, or None when the gap is too short for one."""
    start = shift(dose, slot.after_min)
    if slot.before_max is not None:
        start = max(start, shift(next_dose, -slot.before_max))
    end = shift(next_dose, -slot.before_min)
    if slot.after_max is not None:
        end = min(end, shift(dose, slot.after_max))
    return (start, end) if start <= end else None


def mid_cycle_windows(profile: TherapyProfile, doses: tuple[date, ...], lo: date, hi: date) -> list[Window]:
    """The non-live slots between consecutive doses (in date order), clipped to [lo, hi]: mid_cycle_slot and
    clip, the rule and its tests, for each pair of doses that can reach [lo, hi]."""
    slot = profile.mid_cycle
    # A slot ends `before_min` days before the next dose at the latest, so a pair whose next dose comes
    # before lo + before_min cannot reach lo: the doses are in order, so those pairs are the leading ones, and
    # a long dose history is skipped by bisection (flat in the number of doses).
    first = max(bisect_left(doses, shift(lo, slot.before_min)) - 1, 0)
    # mid_cycle_slot then clip, counted in day numbers (date.toordinal): each dose becomes a number once and
    # only a window's two ends become dates again (days from lo), where the dates took four day shifts and
    # five comparisons a slot (tests/test_hot_path.py holds the two equal).
    after_min, after_max, before_min, before_max = slot.after_min, slot.after_max, slot.before_min, slot.before_max
    day_number = DAY_NUMBER  # a local: the loop reads it without a look-up in the module's names
    lo_number, hi_number = day_number(lo), day_number(hi)
    windows: list[Window] = []
    if first >= len(doses) - 1:
        return windows
    next_number = day_number(doses[first])
    for i in range(first, len(doses) - 1):
        dose_number = next_number
        if dose_number > hi_number:
            break
        next_number = day_number(doses[i + 1])
        start = max(dose_number + after_min, lo_number)
        if before_max is not None:
            start = max(start, next_number - before_max)
        end = min(next_number - before_min, hi_number)
        if after_max is not None:
            end = min(end, dose_number + after_max)
        if start <= end:
            windows.append(Window(MID_CYCLE, shift(lo, start - lo_number), shift(lo, end - lo_number)))
    return windows


def schedule_mid_cycle_windows(profile: TherapyProfile, schedule: DoseSchedule, lo: date, hi: date) -> list[Window]:
    """mid_cycle_windows of the schedule's doses, computed once per schedule: every non-live vaccine of a
    plan asks for the same slots, and they were most of a plan's cost (linear in the number of vaccines)."""
    slot = profile.mid_cycle
    # The slot by its bounds: a tuple of numbers hashes at a fraction of the cost of the dataclass's own hash.
    key = ("mid_cycle", slot.after_min, slot.after_max, slot.before_min, slot.before_max, lo, hi)
    windows = schedule.derived.get(key)
    if windows is None:
        windows = schedule.derived[key] = tuple(mid_cycle_windows(profile, schedule.doses, lo, hi))
    return list(windows)


def _post_therapy_start(profile: TherapyProfile, schedule: DoseSchedule) -> date:
    """First day of the non-live post-therapy window: the day after stopping, and 14 days after the last dose."""
    assert schedule.stopped_on is not None
    last_dose = schedule.given[-1] if schedule.given else schedule.stopped_on
    return max(
        shift(schedule.stopped_on, 1),
        shift(last_dose, profile.post_therapy_after_last_dose_days),
    )


def plan_live(profile: TherapyProfile, schedule: DoseSchedule, as_of: date, until: date) -> Timing:
    """Windows for a live or live-attenuated vaccine."""
    name = profile.name
    if schedule.phase == NOT_STARTED:
        first = schedule.first_dose
        last_day = shift(first, -profile.live_pre_start_days)
        rules = (profile.rule_id("live_pre_start"), profile.rule_id("live_during_therapy"))
        window = clip(PRE_START, as_of, last_day, as_of, until)
        if window is not None:
            return Timing(
                PRE_START,
                (window,),
                (
                    f"Live vaccine: give it on or before {iso_day(last_day)}, at least {profile.live_pre_start_days} days "
                    f"before the first {name} dose on {iso_day(first)}{profile.label_note('live_pre_start_days')}. "
                    "Live vaccines are not recommended during "
                    f"{name} treatment, nor after it until B-cell repletion."
                ),
                rules,
            )
        delay_to = shift(as_of, profile.live_pre_start_days)
        return Timing(
            AVOID,
            (),
            (
                f"Live vaccine: the first {name} dose on {iso_day(first)} is fewer than {profile.live_pre_start_days} days "
                f"away{profile.label_note('live_pre_start_days')}, and live vaccines are not recommended during treatment. Given today, it would need the "
                f"first dose moved to {iso_day(delay_to)} or later."
            ),
            rules,
            delay_start_to=delay_to,
        )

    if schedule.phase == STOPPED:
        assert schedule.stopped_on is not None
        repletion = schedule.b_cell_repletion_on
        if repletion is not None:
            # Never before the non-live post-therapy window: a repletion date typed in error must not open a live
            # window sooner than an inactivated vaccine's (the 422 for a date within a dosing interval of a dose aside).
            start = max(repletion, _post_therapy_start(profile, schedule))
            window = clip(POST_THERAPY, start, until, as_of, until)
            rules = (profile.rule_id("live_after_stop"), profile.rule_id("live_after_repletion"))
            reason = (
                f"Live vaccine: {name} was stopped on {iso_day(schedule.stopped_on)} and B-cell repletion was "
                f"confirmed on {iso_day(repletion)}, so live vaccines may be given from {iso_day(start)}."
            )
            if window is None:
                return Timing(AVOID, (), reason + " That date is beyond the requested horizon.", rules)
            return Timing(POST_THERAPY, (window,), reason, rules)
        return _live_before_repletion(profile, schedule, as_of)

    return Timing(
        AVOID,
        (),
        (
            f"Live vaccine: not recommended during {name} treatment (B-cell depletion), nor after stopping "
            "until B-cell repletion is confirmed."
        ),
        (profile.rule_id("live_during_therapy"),),
    )


def _live_before_repletion(profile: TherapyProfile, schedule: DoseSchedule, as_of: date) -> Timing:
    """A stopped therapy without a confirmed repletion: no live window, and when a B-cell count is worth taking."""
    assert schedule.stopped_on is not None
    name = profile.name
    gate = f"Live vaccine: not recommended after stopping {name} until a laboratory confirms B-cell repletion. "
    ask = " Send treatment.b_cell_repletion_on once repletion is confirmed."
    if profile.b_cell_recheck_days is None:
        return Timing(
            AVOID,
            (),
            gate + f"No time to B-cell recovery after {name} is published in a source this service cites, so it "
            "gives no re-check date: check B cells when the treating team advises." + ask,
            (profile.rule_id("live_after_stop"),),
        )
    # Counted from the last dose, as the repletion-before-median warning is (schedule._repletion_warnings):
    # B-cell recovery follows the last exposure to the drug, which a later stop decision does not move.
    basis = recovery_basis(schedule)
    recheck = shift(basis, profile.b_cell_recheck_days)
    when = f"from {iso_day(recheck)}" if recheck > as_of else f"now (that point, {iso_day(recheck)}, has passed)"
    consensus = ""
    if profile.b_cell_consensus_days is not None:
        consensus_day = shift(basis, profile.b_cell_consensus_days)
        consensus = f"; the ECTRIMS/EAN consensus uses {profile.b_cell_consensus_text} ({iso_day(consensus_day)})"
    return Timing(
        AVOID,
        (),
        gate
        + f"{profile.b_cell_recheck_source} is {profile.b_cell_recheck_text}, counted here from the last dose "
        + f"({iso_day(basis)}), so a B-cell count is worth re-checking {when}{consensus}."
        + ask,
        (profile.rule_id("live_after_stop"),),
        b_cell_recheck_on=recheck,
    )


def plan_non_live(profile: TherapyProfile, schedule: DoseSchedule, as_of: date, until: date) -> Timing:
    """Windows for a non-live (inactivated, subunit, recombinant, mRNA...) vaccine."""
    name = profile.name
    windows: list[Window] = []
    rules: list[str] = []
    parts: list[str] = []
    if schedule.phase == STOPPED:
        assert schedule.stopped_on is not None
        start = _post_therapy_start(profile, schedule)
        window = clip(POST_THERAPY, start, until, as_of, until)
        rules.append(profile.rule_id("non_live_post_therapy"))
        if window is None:
            return Timing(
                AVOID,
                (),
                f"Non-live vaccine: after {name} was stopped, the window opens on "
                f"{iso_day(start)}, beyond the requested horizon.",
                tuple(rules),
            )
        return Timing(
            POST_THERAPY,
            (window,),
            (
                f"Non-live vaccine: {name} was stopped on {iso_day(schedule.stopped_on)}; give it from {iso_day(window.start)} "
                f"(at least {profile.post_therapy_after_last_dose_days} days after the last dose). The response may "
                "be weaker until B cells recover."
            ),
            tuple(rules),
        )

    if schedule.phase == NOT_STARTED:
        first = schedule.first_dose
        last_day = shift(first, -profile.non_live_pre_start_days)
        window = clip(PRE_START, as_of, last_day, as_of, until)
        rules.append(profile.rule_id("non_live_pre_start"))
        if window is not None:
            windows.append(window)
            parts.append(
                f"Best given on or before {iso_day(last_day)}, at least {profile.non_live_pre_start_days} "
                f"days before the first {name} dose on {iso_day(first)}{profile.label_note('non_live_pre_start_days')}."
            )
        else:
            parts.append(
                f"The first {name} dose on {iso_day(first)} is fewer than {profile.non_live_pre_start_days} "
                f"days away{profile.label_note('non_live_pre_start_days')}, too late for the preferred pre-start timing."
            )

    slots = schedule_mid_cycle_windows(profile, schedule, as_of, until)
    if slots:
        windows.extend(slots)
        rules += [profile.rule_id("non_live_during_therapy"), profile.rule_id("mid_cycle")]
        parts.append(
            f"During treatment, give it mid-cycle: {profile.mid_cycle.describe()} "
            f"(first slot {iso_day(slots[0].start)} to {iso_day(slots[0].end)}). The response to non-live vaccines may "
            f"be weaker during {name} treatment."
        )
    if not windows:
        rules.append(profile.rule_id("mid_cycle"))
        return Timing(
            AVOID,
            (),
            "Non-live vaccine: no permitted window falls inside the requested horizon. " + " ".join(parts),
            tuple(rules),
        )
    return Timing(windows[0].kind, tuple(windows), "Non-live vaccine. " + " ".join(parts), tuple(rules))


def plan_timing(profile: TherapyProfile, schedule: DoseSchedule, live: bool, as_of: date, until: date) -> Timing:
    """Windows for one vaccine, live or not, over [as_of, until]."""
    if live:
        return plan_live(profile, schedule, as_of, until)
    return plan_non_live(profile, schedule, as_of, until)
