"""What continuous and course therapies share: their profile's common part, the gates that reopen live
vaccines after them, and the check of a vaccine history against them.

A dosed anti-CD20 therapy reopens live vaccines on a confirmed B-cell repletion. The therapies here name other
gates: a fixed interval after `stopped_on` (fingolimod 2 months), a laboratory date of a normal lymphocyte
count (`lymphocytes_normal_on`: fumarates, cladribine, alemtuzumab), or both; glatiramer and the interferons
name none. A request that sends a gate the therapy does not use is refused naming the field: a date the
rules would silently ignore is a date the clinician believes was taken into account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Self

from .advisories import (
    LIVE_VACCINE_BEFORE_START,
    LIVE_VACCINE_DURING_THERAPY,
    NON_LIVE_VACCINE_NEAR_START,
    PlanWarning,
)
from .errors import FieldError
from .history import HistoryReview, VaccineGiven
from .intervals import Interval, iso_day, shift
from .schedule import NOT_STARTED, DoseSchedule, Treatment
from .therapy import CONTINUOUS, STRICTEST, Cadence, Rule
from .windows import AVOID, PRE_START, Timing, clip

# Phases of the therapies here, beside schedule.NOT_STARTED and schedule.STOPPED.
ON_THERAPY = "on_therapy"
IN_COURSE = "in_course"
BETWEEN_COURSES = "between_courses"
AFTER_COURSES = "after_courses"

# The request fields that can act as a gate after stopping.
LYMPHOCYTES_FIELD = "treatment.lymphocytes_normal_on"
B_CELL_FIELD = "treatment.b_cell_repletion_on"

GATE_NOT_USED = "gate_not_used"


@dataclass(frozen=True)
class KindProfile:
    """The part of a continuous or course therapy profile both kinds read.

    `live_lead` None: the profile sets no live-vaccine restriction at all (glatiramer, the interferons: live
    vaccines allowed before, during and after). `rules` are keyed by the role they play, as in a dosed profile.
    """

    id: str
    version: str
    name: str
    brand_names: tuple[str, ...]
    names: tuple[str, ...]
    cadences: dict[str, Cadence]
    default_cadence: str
    live_lead: Interval | None
    non_live_pre_start_days: int
    lymphocytes_gate: bool
    rules: dict[str, Rule]
    schedule_text: str = ""
    # How the profile words the lymphocyte gate ("lymphocytes back to normal (800/mm3 or more, ...)").
    lymphocytes_text: str = ""
    # The profile's `interop` section as data: how EHR records name the therapy (service/interop/medication.py).
    interop: dict[str, Any] = field(default_factory=dict, compare=False)

    # Read-only properties, not class attributes: the compiled core (mypyc) takes a dataclass's class
    # attribute for a field, and then cannot build the profile (tests/test_native.py builds it).
    @property
    def kind(self) -> str:
        """The therapy's kind (therapy.CONTINUOUS or therapy.COURSE), fixed by the subclass."""
        return ""

    @property
    def labels(self) -> tuple[str, ...]:
        """No regional label reading: treatment.label is refused for these (kinds.profile_for_label), and the
        answer says `strictest`, as for a dosed therapy ruled by guidelines only."""
        return ()

    @property
    def label(self) -> str:
        return STRICTEST

    def rule_id(self, role: str) -> str:
        return self.rules[role].id

    @property
    def suppression(self) -> str:
        """The therapy's effect on vaccine responses, in the reasons' words."""
        return f"immunosuppression by {self.name}"

    def for_label(self, label: str | None) -> Self:
        """The profile as a label reads it: itself, as it encodes no regional label (the answer's `strictest`)."""
        return self

    def gate_fields(self) -> tuple[str, ...]:
        """The request fields that open live vaccines again after this therapy (GET /v1/therapies)."""
        if not self.live_restricted:
            return ()
        fields = ["treatment.stopped_on"] if getattr(self, "after_stop", None) is not None else []
        return tuple(fields + ([LYMPHOCYTES_FIELD] if self.lymphocytes_gate else []))

    def timing_facts(self) -> dict[str, object]:
        """The figures the windows use, as data (GET /v1/therapies): the kind's own ones added by each kind."""
        return {
            "live_pre_start": self.live_lead.text if self.live_lead is not None else None,
            "live_pre_start_days": self.live_pre_start_days,
            "non_live_pre_start_days": self.non_live_pre_start_days,
            "lymphocytes_gate": self.lymphocytes_gate,
            "gate_fields": list(self.gate_fields()),
        }

    @property
    def live_restricted(self) -> bool:
        return self.live_lead is not None

    @property
    def live_pre_start_days(self) -> int:
        """The live lead time in days, months counted as 31 days: only for hints such as "moving the first dose
        to ... would let the series be given first", which must never be too early; windows use live_lead."""
        lead = self.live_lead
        if lead is None:
            return 0
        return lead.days + 31 * (lead.months + 12 * lead.years)

    def live_last_day_before(self, first: date) -> date:
        """The last day a live vaccine may be given before a first dose (or course) on `first`."""
        lead = self.live_lead
        if lead is None:
            return shift(first, -1)
        back = Interval(lead.text, -lead.years, -lead.months, -lead.days)
        return back.after(first)


def gate_errors(profile: KindProfile, treatment: Treatment, as_of: date, after: date | None) -> list[FieldError]:
    """The gate fields of `treatment` the profile does not use, and a used one that cannot be true.

    `after`: the day a laboratory date must not precede (stopped_on, or the last course day), or None when
    nothing that date could follow has happened yet."""
    errors: list[FieldError] = []
    if treatment.b_cell_repletion_on is not None:
        errors.append(
            FieldError(
                B_CELL_FIELD,
                f"{profile.name} does not use a B-cell repletion gate: {_gate_words(profile)}",
                code=GATE_NOT_USED,
            )
        )
    lymph = treatment.lymphocytes_normal_on
    if lymph is None:
        return errors
    if not profile.lymphocytes_gate:
        errors.append(
            FieldError(
                LYMPHOCYTES_FIELD,
                f"{profile.name} does not use a lymphocyte-count gate: {_gate_words(profile)}",
                code=GATE_NOT_USED,
            )
        )
        return errors
    if lymph > as_of:
        errors.append(
            FieldError(
                LYMPHOCYTES_FIELD, f"{lymph} is after as_of {as_of}: only a laboratory result already available counts"
            )
        )
    if after is None:
        errors.append(
            FieldError(
                LYMPHOCYTES_FIELD,
                f"a normal lymphocyte count reopens live vaccines only after {profile.name}: "
                + ("send treatment.stopped_on with it" if profile.kind == CONTINUOUS else "list the course days given"),
            )
        )
    elif lymph < after:
        errors.append(
            FieldError(
                LYMPHOCYTES_FIELD,
                f"{lymph} is before {iso_day(after)}: the count must be taken after the therapy "
                + ("was stopped" if profile.kind == CONTINUOUS else "course's last day"),
            )
        )
    return errors


def _gate_words(profile: KindProfile) -> str:
    """How the profile's own gate reads, for an error naming a gate it does not use."""
    if not profile.live_restricted:
        return "it sets no live-vaccine restriction after stopping"
    used = []
    after_stop = getattr(profile, "after_stop", None)
    if after_stop is not None:
        used.append(f"{after_stop.text} after treatment.stopped_on")
    if profile.lymphocytes_gate:
        used.append(LYMPHOCYTES_FIELD)
    return "its live-vaccine gate after stopping is " + (" and ".join(used) if used else "none this service can take")


def review_gated_history(
    profile: KindProfile,
    schedule: DoseSchedule,
    history: Iterable[VaccineGiven],
    as_of: date,
    live_open: date | None,
    starts: tuple[date, ...] = (),
) -> HistoryReview:
    """The vaccines given, checked against the start and the profile's gate (history.review_history's rules for
    a dosed therapy, worded for this one). `live_open`: the first day live vaccines were allowed again after the
    start, None while they are not. `starts`: the first day of every course of a course therapy (the lead times
    apply before each), else the start alone."""
    events = sorted(set(history), key=lambda e: (e.day, e.vaccine.id))
    first = schedule.first_dose
    planned = schedule.phase == NOT_STARTED
    warnings: list[PlanWarning] = []
    for start in starts or (first,):
        warnings += _near_start(profile, events, start, "planned start" if planned and start == first else "start")
    if profile.live_restricted:
        during = [e for e in events if e.vaccine.live and e.day >= first and (live_open is None or e.day < live_open)]
        if during:
            warnings.append(
                PlanWarning(
                    LIVE_VACCINE_DURING_THERAPY,
                    f"Live vaccine on or after the start of {profile.name} ({iso_day(first)}) before live vaccines "
                    f"were allowed again: {_listed(during)}. It needs clinical review (watch for infection by the "
                    "vaccine strain), and the dose may not count: ACIP advises that vaccines given during "
                    "immunosuppressive therapy may be considered unimmunized.",
                    (profile.rule_id("live_during_therapy"),),
                )
            )
    earliest = None
    if planned and profile.live_lead is not None:
        latest_live = max((e.day for e in events if e.vaccine.live), default=None)
        if latest_live is not None:
            opens = profile.live_lead.after(latest_live)
            earliest = opens if opens > as_of else None
    return HistoryReview(tuple(warnings), earliest)


def _near_start(profile: KindProfile, events: list[VaccineGiven], start: date, which: str) -> list[PlanWarning]:
    """Vaccines given inside the lead times before one start (the therapy's, or a course's)."""
    warnings: list[PlanWarning] = []
    what = f"the {which} of {profile.name} on {iso_day(start)}"
    if profile.live_lead is not None:
        last_live = profile.live_last_day_before(start)
        before = [e for e in events if e.vaccine.live and last_live < e.day < start]
        if before:
            warnings.append(
                PlanWarning(
                    LIVE_VACCINE_BEFORE_START,
                    f"Live vaccine less than {profile.live_lead.text} before {what}: {_listed(before)}. The rules "
                    f"ask for live vaccines at least {profile.live_lead.text} before it; review with the treating "
                    "neurologist.",
                    (profile.rule_id("live_pre_start"),),
                )
            )
    lead = profile.non_live_pre_start_days
    near = [e for e in events if not e.vaccine.live and lead and shift(start, -lead) < e.day < start]
    if near:
        warnings.append(
            PlanWarning(
                NON_LIVE_VACCINE_NEAR_START,
                f"Non-live vaccine less than {lead} days before {what}: {_listed(near)}. Its response may be "
                f"reduced; the rules prefer non-live vaccines at least {lead} days before it.",
                (profile.rule_id("non_live_pre_start"),),
            )
        )
    return warnings


def _listed(events: list[VaccineGiven]) -> str:
    return ", ".join(f"{e.vaccine.name} on {iso_day(e.day)}" for e in events)


def live_before_start(
    profile: KindProfile,
    first: date,
    as_of: date,
    until: date,
    fits: Callable[[date], str],
    too_close: Callable[[date], str],
) -> Timing:
    """A live vaccine before a therapy (or its first course) starts on `first`: its pre-start window up to the
    profile's lead time, with the reason `fits(last day)`; or avoid, with the day the start would have to move
    to and the reason `too_close(that day)`."""
    assert profile.live_lead is not None
    rules = (profile.rule_id("live_pre_start"), profile.rule_id("live_during_therapy"))
    last = profile.live_last_day_before(first)
    window = clip(PRE_START, as_of, last, as_of, until)
    if window is not None:
        return Timing(PRE_START, (window,), fits(last), rules)
    delay_to = profile.live_lead.after(as_of)
    return Timing(AVOID, (), too_close(delay_to), rules, delay_start_to=delay_to)
