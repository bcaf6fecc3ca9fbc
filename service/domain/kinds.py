"""The one place the planner asks a therapy's kind what to do: `dosed` (injections or infusions on dates:
service.domain.schedule and windows), `continuous` (taken every day from a start until a stop:
service.domain.continuous) or `course` (treatment courses: service.domain.courses).

Each kind answers the same four questions — is the history possible, what is the schedule on the assessment
date, what are one vaccine's windows, what does the vaccine history mean — so the planner and every front end
stay the same whatever the therapy.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from .continuous import ContinuousProfile, build_continuous, check_continuous, continuous_timing
from .courses import CourseProfile, build_courses, check_course, course_timing, courses_of, gate_opens_on
from .errors import FieldError, InvalidInput
from .gates import GATE_NOT_USED, LYMPHOCYTES_FIELD, KindProfile, review_gated_history
from .history import HistoryReview, VaccineGiven, review_history
from .schedule import DoseSchedule, Treatment, build_schedule, check_treatment, read_label
from .therapy import TherapyProfile, weeks_or_days
from .windows import Timing, plan_timing

AnyProfile = TherapyProfile | ContinuousProfile | CourseProfile


def profile_for_label(profile: AnyProfile, treatment: Treatment) -> AnyProfile:
    """The profile as treatment.label reads it (dosed therapies whose labels differ by region); the continuous
    and course profiles encode no regional label, so a label sent for them is refused naming the field."""
    if isinstance(profile, TherapyProfile):
        return read_label(profile, treatment)
    if treatment.label is not None:
        raise InvalidInput(
            [
                FieldError(
                    "treatment.label",
                    f"{profile.name}'s rules are not encoded per regional label: leave treatment.label out",
                )
            ]
        )
    return profile


def check_history(profile: AnyProfile, treatment: Treatment, as_of: date) -> None:
    """Raise InvalidInput naming every field of `treatment` that cannot be true for this therapy."""
    if isinstance(profile, ContinuousProfile):
        check_continuous(profile, treatment, as_of)
    elif isinstance(profile, CourseProfile):
        check_course(profile, treatment, as_of)
    else:
        errors = _dosed_gate_errors(profile, treatment)
        try:
            check_treatment(profile, treatment, as_of)
        except InvalidInput as bad:
            errors = bad.errors + errors
        if errors:
            raise InvalidInput(errors)


def schedule_for(profile: AnyProfile, treatment: Treatment, as_of: date, until: date) -> DoseSchedule:
    """The therapy on `as_of` (raises InvalidInput as check_history does)."""
    if isinstance(profile, ContinuousProfile):
        return build_continuous(profile, treatment, as_of)
    if isinstance(profile, CourseProfile):
        return build_courses(profile, treatment, as_of)
    errors = _dosed_gate_errors(profile, treatment)
    if errors:
        try:
            check_treatment(profile, treatment, as_of)
        except InvalidInput as bad:
            errors = bad.errors + errors
        raise InvalidInput(errors)
    return build_schedule(profile, treatment, as_of, until)


def timing_for(profile: AnyProfile, schedule: DoseSchedule, live: bool, as_of: date, until: date) -> Timing:
    """One vaccine's windows over [as_of, until]."""
    if isinstance(profile, ContinuousProfile):
        return continuous_timing(profile, schedule, live, as_of, until)
    if isinstance(profile, CourseProfile):
        return course_timing(profile, schedule, live, as_of, until)
    return plan_timing(profile, schedule, live, as_of, until)


def review_for(
    profile: AnyProfile, schedule: DoseSchedule, given: Iterable[VaccineGiven], as_of: date
) -> HistoryReview:
    """What the vaccines given mean for the therapy (warnings, and the earliest start they allow)."""
    if isinstance(profile, CourseProfile):
        starts = tuple(course.start for course in courses_of(profile, schedule))
        return review_gated_history(profile, schedule, given, as_of, gate_opens_on(profile, schedule), starts)
    if isinstance(profile, ContinuousProfile):
        return review_gated_history(profile, schedule, given, as_of, schedule.recovered_on)
    return review_history(profile, schedule, given, as_of)


def live_lead_words(profile: TherapyProfile | KindProfile) -> str:
    """The live-vaccine lead time before the start as the sources write it ("4 weeks", "1 month")."""
    if isinstance(profile, TherapyProfile):
        return weeks_or_days(profile.live_pre_start_days)
    return profile.live_lead.text if profile.live_lead is not None else "no lead time"


def effect_words(profile: TherapyProfile | KindProfile) -> str:
    """What the therapy does to vaccine responses, for a card's few words ("B cells depleted")."""
    return "B cells depleted" if isinstance(profile, TherapyProfile) else "immunosuppressed"


def _dosed_gate_errors(profile: TherapyProfile, treatment: Treatment) -> list[FieldError]:
    if treatment.lymphocytes_normal_on is None:
        return []
    return [
        FieldError(
            LYMPHOCYTES_FIELD,
            f"{profile.name} does not use a lymphocyte-count gate: live vaccines reopen on a confirmed B-cell "
            "repletion (treatment.b_cell_repletion_on)",
            code=GATE_NOT_USED,
        )
    ]
