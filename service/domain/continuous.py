"""Continuous therapies: taken every day (or week, or fortnight) from `start_date` until `stopped_on`.

No dose date changes a vaccine's timing here, so none is needed: the rules read the start, the stop and the
profile's gate. Live vaccines before the start by the profile's lead time (fingolimod 1 month), never during
therapy unless the profile sets no restriction (glatiramer, the interferons), and after stopping only once
the gate is open (a fixed interval after stopping, a normal lymphocyte count, or both). Non-live vaccines
may be given at any time during therapy (a `during_therapy` window), with the reduced-response note.
A label's advice to pause the therapy around a vaccination (siponimod, ponesimod) is a decision for the
neurologist: it is said in the reason and never opens a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .errors import FieldError, InvalidInput
from .gates import ON_THERAPY, KindProfile, gate_errors, live_before_start
from .intervals import Interval, iso_day, shift
from .schedule import NOT_STARTED, STOPPED, DoseSchedule, Treatment
from .therapy import CONTINUOUS
from .windows import AVOID, DURING_THERAPY, POST_THERAPY, PRE_START, Timing, Window, clip


@dataclass(frozen=True)
class ContinuousProfile(KindProfile):
    """A continuous therapy's profile. `after_stop`: the fixed interval after `stopped_on` before live vaccines
    (None: no such interval). `pause_advice`: the label's advice to pause the therapy around a vaccination,
    for the reason only, and which vaccines it speaks of (`pause_live`, `pause_non_live`)."""

    after_stop: Interval | None = None
    pause_advice: str = ""
    pause_live: bool = False
    pause_non_live: bool = False
    # The note on non-live vaccines during therapy ("the response may be reduced").
    non_live_note: str = ""
    # What the live reason after stopping adds (a shorter route the service cannot take, say).
    after_stop_note: str = ""

    @property
    def kind(self) -> str:
        return CONTINUOUS

    def timing_facts(self) -> dict[str, object]:
        return {
            **super().timing_facts(),
            "after_stop": self.after_stop.text if self.after_stop is not None else None,
            "pause_advice": self.pause_advice or None,
        }


def check_continuous(profile: ContinuousProfile, treatment: Treatment, as_of: date) -> None:
    """Reject a continuous-therapy history that cannot be true, or a gate the therapy does not use."""
    errors: list[FieldError] = []
    start = continuous_start(treatment)
    if start is None:
        errors.append(
            FieldError(
                "treatment.start_date",
                f"required for {profile.name}: the day the therapy began or will begin (no dose dates are needed)",
                code="required",
            )
        )
    for i, day in enumerate(treatment.doses):
        if day > as_of:
            errors.append(FieldError(f"treatment.doses[{i}]", f"dose {day} is after as_of {as_of}"))
    if treatment.doses and treatment.start_date is not None and treatment.start_date > min(treatment.doses):
        errors.append(
            FieldError(
                "treatment.start_date", f"{treatment.start_date} is after the earliest dose {min(treatment.doses)}"
            )
        )
    if treatment.cadence is not None and treatment.cadence not in profile.cadences:
        errors.append(FieldError("treatment.cadence", f"must be one of {', '.join(sorted(profile.cadences))}"))
    stopped = treatment.stopped_on
    if stopped is not None:
        if stopped > as_of:
            errors.append(
                FieldError("treatment.stopped_on", f"{stopped} is after as_of {as_of}: it must already have happened")
            )
        if start is not None and stopped < start:
            errors.append(FieldError("treatment.stopped_on", f"{stopped} is before the start {start}"))
        if treatment.doses and stopped < max(treatment.doses):
            errors.append(
                FieldError("treatment.stopped_on", f"{stopped} is before the last dose {max(treatment.doses)}")
            )
    errors += gate_errors(profile, treatment, as_of, stopped)
    if errors:
        raise InvalidInput(errors)


def continuous_start(treatment: Treatment) -> date | None:
    """The start: start_date, or the earliest dose listed when only doses are given."""
    if treatment.start_date is not None:
        return treatment.start_date
    return min(treatment.doses) if treatment.doses else None


def build_continuous(profile: ContinuousProfile, treatment: Treatment, as_of: date) -> DoseSchedule:
    """The therapy on `as_of`: not started, on therapy, or stopped. Doses are not projected (every day is one)."""
    check_continuous(profile, treatment, as_of)
    start = continuous_start(treatment)
    assert start is not None  # check_continuous guarantees it
    if treatment.stopped_on is not None:
        phase = STOPPED
    elif start > as_of:
        phase = NOT_STARTED
    else:
        phase = ON_THERAPY
    rules = [profile.rule_id("schedule")] + ([profile.rule_id("stopped")] if phase == STOPPED else [])
    lymph = treatment.lymphocytes_normal_on
    recovered = None
    if not profile.live_restricted:
        recovered = start
    elif treatment.stopped_on is not None:
        recovered = live_opens_on(profile, treatment.stopped_on, lymph)
    return DoseSchedule(
        phase,
        start,
        tuple(sorted(treatment.doses)),
        False,
        start if phase == NOT_STARTED else None,
        False,
        (),
        treatment.stopped_on,
        None,
        profile.cadences[treatment.cadence or profile.default_cadence],
        (),
        tuple(rules),
        lymphocytes_normal_on=lymph,
        gate_opened_on=recovered,
    )


def live_opens_on(profile: ContinuousProfile, stopped_on: date, lymphocytes_normal_on: date | None) -> date | None:
    """The first day a live vaccine may be given after stopping: the day after stopping, the end of the fixed
    interval and the normal lymphocyte count, whichever comes last; None while a laboratory gate is unmet."""
    opens = shift(stopped_on, 1)
    if profile.after_stop is not None:
        opens = max(opens, profile.after_stop.after(stopped_on))
    if profile.lymphocytes_gate:
        if lymphocytes_normal_on is None:
            return None
        opens = max(opens, lymphocytes_normal_on)
    return opens


def continuous_timing(
    profile: ContinuousProfile, schedule: DoseSchedule, live: bool, as_of: date, until: date
) -> Timing:
    """Windows for one vaccine over [as_of, until]."""
    if live and profile.live_restricted:
        return _live(profile, schedule, as_of, until, schedule.lymphocytes_normal_on)
    return _open(profile, schedule, live, as_of, until)


def _live(profile: ContinuousProfile, schedule: DoseSchedule, as_of: date, until: date, lymph: date | None) -> Timing:
    name, first = profile.name, schedule.first_dose
    assert profile.live_lead is not None
    pause = f" {profile.pause_advice}" if profile.pause_live and profile.pause_advice else ""
    if schedule.phase == NOT_STARTED:
        lead = profile.live_lead.text
        return live_before_start(
            profile,
            first,
            as_of,
            until,
            lambda last: (
                f"Live vaccine: give it on or before {iso_day(last)}, at least {lead} before "
                f"{name} starts on {iso_day(first)}. Live vaccines are avoided during {name} treatment."
            ),
            lambda delay_to: (
                f"Live vaccine: {name} starts on {iso_day(first)}, less than {lead} away, and live "
                f"vaccines are avoided during treatment. Given today, the start would have to move to {iso_day(delay_to)} "
                "or later."
            ),
        )
    if schedule.phase == STOPPED:
        return _live_after_stop(profile, schedule, as_of, until, lymph)
    return Timing(
        AVOID,
        (),
        f"Live vaccine: avoided during {name} treatment and after it until {_gate_text(profile)} ({_gate_fields(profile)}).{pause}",
        (profile.rule_id("live_during_therapy"),) + ((profile.rule_id("pause"),) if pause else ()),
    )


def _live_after_stop(
    profile: ContinuousProfile, schedule: DoseSchedule, as_of: date, until: date, lymph: date | None
) -> Timing:
    name, stopped = profile.name, schedule.stopped_on
    assert stopped is not None
    rules = (profile.rule_id("live_after_stop"),)
    opens = live_opens_on(profile, stopped, lymph)
    if opens is None:
        interval = ""
        if profile.after_stop is not None:
            interval = f" (and not before {iso_day(profile.after_stop.after(stopped))})"
        return Timing(
            AVOID,
            (),
            f"Live vaccine: {name} was stopped on {iso_day(stopped)}; live vaccines wait for "
            f"{profile.lymphocytes_text or 'a normal lymphocyte count'}{interval}. Send "
            "treatment.lymphocytes_normal_on once a laboratory confirms it.",
            rules,
        )
    reason = (
        f"Live vaccine: {name} was stopped on {iso_day(stopped)}; live vaccines are allowed again from "
        f"{iso_day(opens)} (once {_gate_text(profile)}). {profile.after_stop_note}"
    ).rstrip()
    window = clip(POST_THERAPY, opens, until, as_of, until)
    if window is None:
        return Timing(AVOID, (), reason + " That date is beyond the requested horizon.", rules)
    return Timing(POST_THERAPY, (window,), reason, rules)


def _open(profile: ContinuousProfile, schedule: DoseSchedule, live: bool, as_of: date, until: date) -> Timing:
    """A non-live vaccine, or a live one under a profile without restriction: allowed at any time, with the
    preferred pre-start lead for non-live vaccines before a planned start."""
    name, first, stopped = profile.name, schedule.first_dose, schedule.stopped_on
    what = "Live vaccine" if live else "Non-live vaccine"
    windows: list[Window] = []
    parts: list[str] = []
    rules: list[str] = []
    if schedule.phase == NOT_STARTED:
        lead = 0 if live else profile.non_live_pre_start_days
        last = shift(first, -max(lead, 1))
        window = clip(PRE_START, as_of, last, as_of, until)
        if window is not None:
            windows.append(window)
        rules.append(profile.rule_id("live_pre_start" if live else "non_live_pre_start"))
        if lead:
            parts.append(
                f"Best given on or before {iso_day(last)}, at least {lead} days before {name} starts on {iso_day(first)}."
            )
        else:
            parts.append(f"No lead time is needed before {name} starts on {iso_day(first)}.")
    if stopped is None or stopped >= as_of:
        end = stopped if stopped is not None else until
        window = clip(DURING_THERAPY, first, end, as_of, until)
        if window is not None:
            windows.append(window)
            rules.append(profile.rule_id("live_during_therapy" if live else "non_live_during_therapy"))
            parts.append(_during_text(profile, live))
            if not live and profile.pause_non_live and profile.pause_advice:
                rules.append(profile.rule_id("pause"))
    if stopped is not None:
        window = clip(POST_THERAPY, shift(stopped, 1), until, as_of, until)
        if window is not None:
            windows.append(window)
        rules.append(profile.rule_id("live_after_stop" if live else "non_live_post_therapy"))
        parts.append(f"{name[:1].upper()}{name[1:]} was stopped on {iso_day(stopped)}: allowed after stopping.")
    if not windows:
        return Timing(
            AVOID, (), f"{what}: no permitted day falls inside the requested horizon. " + " ".join(parts), tuple(rules)
        )
    return Timing(windows[0].kind, tuple(windows), f"{what}. " + " ".join(parts), tuple(dict.fromkeys(rules)))


def _during_text(profile: ContinuousProfile, live: bool) -> str:
    if live:
        return f"{profile.name} sets no live-vaccine restriction: allowed during treatment."
    pause = f" {profile.pause_advice}" if profile.pause_non_live and profile.pause_advice else ""
    return f"Allowed at any time during {profile.name} treatment. {profile.non_live_note}{pause}".rstrip()


def _gate_fields(profile: ContinuousProfile) -> str:
    """Which request fields the gate reads."""
    if profile.lymphocytes_gate:
        return "treatment.stopped_on and treatment.lymphocytes_normal_on"
    return "treatment.stopped_on"


def _gate_text(profile: ContinuousProfile) -> str:
    parts = []
    if profile.after_stop is not None:
        parts.append(f"{profile.after_stop.text} have passed since stopping")
    if profile.lymphocytes_gate:
        parts.append(profile.lymphocytes_text or "a normal lymphocyte count")
    return " and ".join(parts) if parts else "stopping"
