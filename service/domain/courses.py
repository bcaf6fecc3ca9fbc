"""Course therapies: a few days of treatment, then months without (alemtuzumab, cladribine tablets).

The request lists the days a dose was given; they are grouped here into courses (a new course begins when a
day comes more than the profile's `course_gap_days` after the one before) and, inside a course, into treatment
weeks. The rest of the current course and the next labelled course are projected from the label: alemtuzumab
5 days, then 3 days one year later; cladribine a treatment week at the start of month 1 and month 2, the second
yearly course 12 months after the first. A treatment day not taken when due is taken on the assessment date
and the week extended (the cladribine label's missed-day rule; for alemtuzumab a stated decision).

Vaccines are timed around the courses: before each course by the profile's lead times (alemtuzumab: any
vaccine 6 weeks before each course), non-live between courses, live only once a laboratory has confirmed a
normal lymphocyte count after the last course day given (and, for alemtuzumab, 12 months after the course).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .advisories import DOSE_MISSED, PlanWarning
from .errors import FieldError, InvalidInput
from .gates import AFTER_COURSES, BETWEEN_COURSES, IN_COURSE, KindProfile, gate_errors, live_before_start
from .intervals import Interval, iso_day, shift
from .schedule import NOT_STARTED, STOPPED, DoseSchedule, Treatment
from .therapy import COURSE
from .windows import AVOID, MID_CYCLE, POST_THERAPY, PRE_START, Timing, Window, clip


@dataclass(frozen=True)
class Week:
    """A treatment week of a course: it begins `offset` after the course's first day and has `min_days` to
    `max_days` consecutive treatment days (cladribine: 4 or 5 by body weight)."""

    offset: Interval
    min_days: int
    max_days: int


@dataclass(frozen=True)
class CourseShape:
    """One labelled course: it begins `offset` after the previous course's first day (course 1: zero)."""

    offset: Interval
    weeks: tuple[Week, ...]


@dataclass(frozen=True)
class CourseProfile(KindProfile):
    """A course therapy's profile. `courses`: the labelled courses, in order (no more are projected);
    `extra_course`: the shape of a further course a clinician may give (how its listed days are read), or None.
    `non_live_lead_days`: days before each course a non-live vaccine should be given. `non_live_after_course`:
    from how long after a course's last day non-live vaccines are timed (None: the day after).
    `live_after_course`: how long after a course's last day live vaccines wait at least, beside the lymphocyte
    gate. `recheck_after`: when a lymphocyte count is worth re-checking after the last course day."""

    courses: tuple[CourseShape, ...] = ()
    extra_course: CourseShape | None = None
    course_gap_days: int = 90
    week_gap_days: int = 7
    non_live_lead_days: int = 0
    non_live_after_course: Interval | None = None
    live_after_course: Interval | None = None
    recheck_after: Interval | None = None

    @property
    def kind(self) -> str:
        return COURSE

    def timing_facts(self) -> dict[str, object]:
        def text(span: Interval | None) -> str | None:
            return span.text if span is not None else None

        return {
            **super().timing_facts(),
            "non_live_lead_days": self.non_live_lead_days,
            "non_live_after_course": text(self.non_live_after_course),
            "live_after_course": text(self.live_after_course),
            "recheck_after": text(self.recheck_after),
        }

    def shape(self, index: int) -> CourseShape | None:
        """The shape of course `index` (0-based): a labelled one, else the extra course's, else None."""
        return self.courses[index] if index < len(self.courses) else self.extra_course


class Course:
    """One course: its days (given, then projected), the last day a dose of it could come (`end`), and whether
    none of its days has been given yet (`projected`)."""

    def __init__(self, days: tuple[date, ...], end: date, projected: bool) -> None:
        self.days = days
        self.start = days[0]
        self.end = end
        self.projected = projected


def group(days: tuple[date, ...], gap: int) -> list[tuple[date, ...]]:
    """Sorted days in runs: a new run begins when a day is more than `gap` days after the one before."""
    runs: list[list[date]] = []
    for day in days:
        if runs and (day - runs[-1][-1]).days <= gap:
            runs[-1].append(day)
        else:
            runs.append([day])
    return [tuple(run) for run in runs]


def check_course(profile: CourseProfile, treatment: Treatment, as_of: date) -> None:
    """Reject a course history that cannot be true, or a gate the therapy does not use."""
    errors: list[FieldError] = []
    seen: dict[date, int] = {}
    for i, day in enumerate(treatment.doses):
        if day > as_of:
            errors.append(
                FieldError(
                    f"treatment.doses[{i}]", f"{day} is after as_of {as_of}: only days already given belong here"
                )
            )
        if day in seen:
            errors.append(FieldError(f"treatment.doses[{i}]", f"{day} repeats treatment.doses[{seen[day]}]"))
        seen.setdefault(day, i)
    if not treatment.doses:
        if treatment.start_date is None:
            errors.append(
                FieldError(
                    "treatment.start_date",
                    "required when treatment.doses is empty (the planned first day)",
                    code="required",
                )
            )
        elif treatment.start_date < as_of:
            errors.append(
                FieldError(
                    "treatment.doses",
                    f"required for {profile.name} started on {treatment.start_date}: list the days a dose was given, so "
                    "that the courses are read from them (the service does not assume which days were taken)",
                    code="required",
                )
            )
    elif treatment.start_date is not None and treatment.start_date > min(treatment.doses):
        errors.append(
            FieldError(
                "treatment.start_date", f"{treatment.start_date} is after the earliest day given {min(treatment.doses)}"
            )
        )
    if treatment.cadence is not None and treatment.cadence not in profile.cadences:
        errors.append(FieldError("treatment.cadence", f"must be one of {', '.join(sorted(profile.cadences))}"))
    last = max(treatment.doses) if treatment.doses else None
    if treatment.stopped_on is not None:
        if treatment.stopped_on > as_of:
            errors.append(FieldError("treatment.stopped_on", f"{treatment.stopped_on} is after as_of {as_of}"))
        if last is not None and treatment.stopped_on < last:
            errors.append(
                FieldError("treatment.stopped_on", f"{treatment.stopped_on} is before the last day given {last}")
            )
    errors += gate_errors(profile, treatment, as_of, last)
    if errors:
        raise InvalidInput(errors)


def build_courses(profile: CourseProfile, treatment: Treatment, as_of: date) -> DoseSchedule:
    """The courses on `as_of`: given, the rest of the current one and the labelled ones still to come."""
    check_course(profile, treatment, as_of)
    cadence = profile.cadences[treatment.cadence or profile.default_cadence]
    rules = [profile.rule_id("schedule")]
    given = tuple(sorted(set(treatment.doses)))
    if not given:
        assert treatment.start_date is not None
        upcoming = _course_days(profile, 0, treatment.start_date) + _later_courses(profile, 0, treatment.start_date)
        return DoseSchedule(
            NOT_STARTED, upcoming[0], (), False, upcoming[0], False, upcoming, None, None, cadence, (), tuple(rules)
        )
    if treatment.stopped_on is not None:
        rules.append(profile.rule_id("stopped"))
        return DoseSchedule(
            STOPPED,
            given[0],
            given,
            False,
            None,
            False,
            (),
            treatment.stopped_on,
            None,
            cadence,
            (),
            tuple(rules),
            lymphocytes_normal_on=treatment.lymphocytes_normal_on,
            gate_opened_on=_recovered_on(profile, given, treatment.lymphocytes_normal_on),
        )
    runs = group(given, profile.course_gap_days)
    current = len(runs) - 1
    warnings: list[PlanWarning] = []
    rest, missed = _rest_of_course(profile, current, runs[-1], as_of)
    if missed is not None:
        warnings.append(_missed(profile, missed, as_of, "treatment day"))
    later: tuple[date, ...] = ()
    if current + 1 < len(profile.courses):
        due = profile.courses[current + 1].offset.after(runs[-1][0])
        if rest and due <= rest[-1]:
            due = shift(rest[-1], 1 + profile.course_gap_days)
        if due < as_of:
            warnings.append(_missed(profile, due, as_of, "course"))
            missed, due = missed or due, as_of
        later = _course_days(profile, current + 1, due) + _later_courses(profile, current + 1, due)
    phase = IN_COURSE if rest else (BETWEEN_COURSES if later else AFTER_COURSES)
    upcoming = rest + later
    if warnings:
        rules.append(profile.rule_id("missed_day"))
    return DoseSchedule(
        phase,
        given[0],
        given,
        False,
        upcoming[0] if upcoming else None,
        missed is not None,
        upcoming,
        None,
        None,
        cadence,
        tuple(warnings),
        tuple(rules),
        lymphocytes_normal_on=treatment.lymphocytes_normal_on,
        # Only once no course is coming: a dose after the next course's first day would fall in suppression again.
        gate_opened_on=_recovered_on(profile, given, treatment.lymphocytes_normal_on)
        if phase == AFTER_COURSES
        else None,
    )


def gate_opens_on(profile: CourseProfile, schedule: DoseSchedule) -> date | None:
    """The day the lymphocyte gate opened after the last day given (None while it has not, or nothing was given):
    the first day a live vaccine was allowed again, whether or not a course comes later."""
    if not schedule.given or schedule.phase == IN_COURSE:
        return None
    return _recovered_on(profile, schedule.given, schedule.lymphocytes_normal_on)


def _recovered_on(profile: CourseProfile, given: tuple[date, ...], lymph: date | None) -> date | None:
    """The day the lymphocyte gate opened after the last day given, or None while it has not."""
    if lymph is None:
        return None
    last = given[-1]
    floor = profile.live_after_course.after(last) if profile.live_after_course is not None else shift(last, 1)
    return max(lymph, floor)


def _later_courses(profile: CourseProfile, index: int, start: date) -> tuple[date, ...]:
    """The days of the labelled courses after course `index`, which begins on `start`."""
    days: list[date] = []
    for shape in profile.courses[index + 1 :]:
        start = shape.offset.after(start)
        days += _course_days_of(shape, start)
    return tuple(days)


def _course_days(profile: CourseProfile, index: int, start: date) -> tuple[date, ...]:
    """Every day of course `index` beginning on `start`, each week at its longest (the windows must leave room for
    every day a dose could come)."""
    shape = profile.shape(index)
    assert shape is not None
    return _course_days_of(shape, start)


def _course_days_of(shape: CourseShape, start: date) -> tuple[date, ...]:
    days: list[date] = []
    for week in shape.weeks:
        begin = week.offset.after(start)
        days += [shift(begin, k) for k in range(week.max_days)]
    return tuple(days)


def _rest_of_course(
    profile: CourseProfile, index: int, days: tuple[date, ...], as_of: date
) -> tuple[tuple[date, ...], date | None]:
    """The days still to come of the course whose days given are `days`, and the first day missed (None when
    none): a day not taken when due is taken on `as_of` and the week extended."""
    shape = profile.shape(index)
    if shape is None or (as_of - days[-1]).days > profile.course_gap_days:
        return (), None  # a course whose last day is that far back has ended, however many days it had
    weeks = group(days, profile.week_gap_days)
    out: list[date] = []
    missed: date | None = None
    current = weeks[-1]
    week = shape.weeks[min(len(weeks), len(shape.weeks)) - 1]
    if len(current) < week.min_days:
        due = shift(current[-1], 1)
        if due < as_of:
            missed, due = due, as_of
        out += [shift(due, k) for k in range(week.max_days - len(current))]
    for later in shape.weeks[len(weeks) :]:
        due = later.offset.after(days[0])
        if out and due <= out[-1]:
            due = shift(out[-1], 1 + profile.week_gap_days)
        if due < as_of:
            missed, due = missed or due, as_of
        out += [shift(due, k) for k in range(later.max_days)]
    return tuple(out), missed


def _missed(profile: CourseProfile, due: date, as_of: date, what: str) -> PlanWarning:
    return PlanWarning(
        DOSE_MISSED,
        f"The {profile.name} {what} due on {iso_day(due)} is not listed: it is taken as due on {iso_day(as_of)}. "
        f"{profile.rules['missed_day'].summary} If it was given, list its days: the plan is only as exact as the "
        "history it is given.",
        (profile.rule_id("missed_day"),),
    )


def courses_of(profile: CourseProfile, schedule: DoseSchedule) -> list[Course]:
    """The schedule's days as courses (given, then projected), each ending on the last day a dose of it could
    come: a treatment week with fewer days given than its longest may still have one more."""
    key = ("courses", profile.id)
    if key in schedule.derived:
        return list(schedule.derived[key])
    out: list[Course] = []
    runs = group(schedule.given, profile.course_gap_days) if schedule.given else []
    for i, run in enumerate(runs):
        end = run[-1]
        shape = profile.shape(i)
        if shape is not None and i == len(runs) - 1 and schedule.phase != STOPPED:
            weeks = group(run, profile.week_gap_days)
            if len(weeks) <= len(shape.weeks):
                end = max(end, shift(weeks[-1][0], shape.weeks[len(weeks) - 1].max_days - 1))
        out.append(Course(run, end, False))
    for run in group(schedule.upcoming, profile.course_gap_days) if schedule.upcoming else []:
        if out and not out[-1].projected and (run[0] - out[-1].end).days <= profile.course_gap_days:
            last = out.pop()
            out.append(Course(last.days + run, run[-1], False))  # the rest of the course in progress
        else:
            out.append(Course(run, run[-1], True))
    schedule.derived[key] = tuple(out)
    return out


def course_timing(profile: CourseProfile, schedule: DoseSchedule, live: bool, as_of: date, until: date) -> Timing:
    """Windows for one vaccine over [as_of, until]."""
    courses = courses_of(profile, schedule)
    if live:
        return _live(profile, schedule, courses, as_of, until, schedule.lymphocytes_normal_on)
    return _non_live(profile, schedule, courses, as_of, until)


def _non_live(
    profile: CourseProfile, schedule: DoseSchedule, courses: list[Course], as_of: date, until: date
) -> Timing:
    name, lead = profile.name, profile.non_live_lead_days
    windows: list[Window] = []
    parts: list[str] = []
    rules: list[str] = []
    if schedule.phase == NOT_STARTED:
        last = shift(courses[0].start, -max(lead, 1))
        window = clip(PRE_START, as_of, last, as_of, until)
        rules.append(profile.rule_id("non_live_pre_start"))
        if window is not None:
            windows.append(window)
        parts.append(
            f"Before {name}: on or before {iso_day(last)}, at least {lead} days before the first course on {iso_day(courses[0].start)}."
        )
    for i, course in enumerate(courses):
        after = profile.non_live_after_course
        opens = after.after(course.end) if after is not None else shift(course.end, 1)
        following = courses[i + 1] if i + 1 < len(courses) else None
        closes = shift(following.start, -max(lead, 1)) if following is not None else until
        window = clip(MID_CYCLE if following is not None else POST_THERAPY, opens, closes, as_of, until)
        if window is not None:
            windows.append(window)
    if len(courses) > 1 or schedule.phase != NOT_STARTED:
        rules.append(profile.rule_id("non_live_between_courses"))
        gap = (
            f"{profile.non_live_after_course.text} after a course's last day"
            if profile.non_live_after_course
            else "after a course's last day"
        )
        parts.append(
            f"Between courses: from {gap} until {lead} days before the next course; the response may be reduced while "
            "lymphocytes are low."
        )
        if schedule.phase in (AFTER_COURSES, STOPPED) and lead:
            parts.append(f"If a further course is planned, give vaccines at least {lead} days before it.")
    if not windows:
        return Timing(
            AVOID,
            (),
            "Non-live vaccine: no permitted day falls inside the requested horizon. " + " ".join(parts),
            tuple(rules),
        )
    return Timing(windows[0].kind, tuple(windows), "Non-live vaccine. " + " ".join(parts), tuple(dict.fromkeys(rules)))


def _live(
    profile: CourseProfile, schedule: DoseSchedule, courses: list[Course], as_of: date, until: date, lymph: date | None
) -> Timing:
    name = profile.name
    assert profile.live_lead is not None
    if schedule.phase == NOT_STARTED:
        first, lead = courses[0].start, profile.live_lead.text
        return live_before_start(
            profile,
            first,
            as_of,
            until,
            lambda last: (
                f"Live vaccine: give it on or before {iso_day(last)}, at least {lead} before the first "
                f"{name} course on {iso_day(first)}. Afterwards live vaccines wait for {profile.lymphocytes_text}."
            ),
            lambda delay_to: (
                f"Live vaccine: the first {name} course on {iso_day(first)} is less than {lead} away. "
                f"Given today, the course would have to move to {iso_day(delay_to)} or later."
            ),
        )
    given = [c for c in courses if not c.projected]
    latest = given[-1] if given else courses[0]
    following = next((c for c in courses if c.projected), None)
    gate_rules = (profile.rule_id("live_after_course"),)
    floor = profile.live_after_course.after(latest.end) if profile.live_after_course else shift(latest.end, 1)
    recheck = profile.recheck_after.after(schedule.given[-1]) if profile.recheck_after and schedule.given else None
    need = profile.lymphocytes_text
    if profile.live_after_course is not None:
        need += f", and {profile.live_after_course.text} after the course's last day ({iso_day(floor)})"
    if lymph is None or schedule.phase == IN_COURSE:
        when = (
            f" A count is worth re-checking from {iso_day(recheck)}." if recheck is not None and recheck > as_of else ""
        )
        return Timing(
            AVOID,
            (),
            f"Live vaccine: avoided after a course of {name} until {need}.{when} Send treatment.lymphocytes_normal_on once "
            "a laboratory confirms it.",
            gate_rules,
        )
    opens = max(lymph, floor)
    closes = profile.live_last_day_before(following.start) if following is not None else until
    reason = f"Live vaccine: the gate after a course of {name} ({need}) is met on {iso_day(lymph)}; allowed from {iso_day(opens)}"
    if following is not None:
        reason += (
            f" until {iso_day(closes)}, {profile.live_lead.text} before the next course on {iso_day(following.start)}"
        )
    window = clip(MID_CYCLE if following is not None else POST_THERAPY, opens, closes, as_of, until)
    if window is None:
        return Timing(AVOID, (), reason + ": no such day falls inside the requested horizon.", gate_rules)
    return Timing(window.kind, (window,), reason + ".", gate_rules)
