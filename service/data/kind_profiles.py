"""Continuous and course therapy profiles from their data files (service/data/therapies/<id>.json with a
`kind`), checked against service/data/schemas/therapy-kinds.schema.json before they are built here.

A profile the domain cannot use is refused here, naming the field: a course whose treatment week is longer at
its shortest than at its longest, a pause advice without the vaccines it speaks of, a default cadence the
profile does not list.
"""

from __future__ import annotations

from typing import Any

from service.domain.continuous import ContinuousProfile
from service.domain.courses import CourseProfile, CourseShape, Week
from service.domain.intervals import Interval
from service.domain.kinds import AnyProfile
from service.domain.therapy import Cadence, Rule


class ProfileError(ValueError):
    """A profile value the domain cannot use: `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def kind_of(doc: Any) -> str:
    """The profile's kind: `dosed` when the file does not say (the anti-CD20 profiles)."""
    kind = doc.get("kind", "dosed") if isinstance(doc, dict) else "dosed"
    return kind if isinstance(kind, str) else "dosed"


def _span(text: str | None, field: str) -> Interval | None:
    if text is None:
        return None
    try:
        return Interval.parse(text)
    except ValueError as error:
        raise ProfileError(field, str(error)) from None


def _common(doc: dict[str, Any]) -> dict[str, Any]:
    schedule, timing = doc["schedule"], doc["vaccine_timing"]
    cadences = {
        name: Cadence(name=name, days=c.get("days", 0), months=c.get("months", 0), description=c.get("description", ""))
        for name, c in schedule["cadences"].items()
    }
    if schedule["default_cadence"] not in cadences:
        raise ProfileError("schedule.default_cadence", f"{schedule['default_cadence']!r} is not one of the cadences")
    for i, row in enumerate(doc["interop"]["fhir_cadences"]):
        if row["cadence"] not in cadences:
            raise ProfileError(
                f"interop.fhir_cadences[{i}].cadence", f"{row['cadence']!r} is not one of schedule.cadences"
            )
    rules = {
        role: Rule(id=r["id"], summary=r["summary"], evidence=r["evidence"], source=r["source"], citation=r["citation"])
        for role, r in doc["rules"].items()
    }
    return {
        "id": doc["id"],
        "version": doc["version"],
        "name": doc["name"],
        "brand_names": tuple(doc["brand_names"]),
        "names": tuple(doc["names"]),
        "cadences": cadences,
        "default_cadence": schedule["default_cadence"],
        "live_lead": _span(timing["live_pre_start"], "vaccine_timing.live_pre_start"),
        "non_live_pre_start_days": timing["non_live_pre_start_days"],
        "lymphocytes_gate": timing["lymphocytes_gate"],
        "rules": rules,
        "schedule_text": schedule["text"],
        "lymphocytes_text": timing.get("lymphocytes_text", ""),
        "interop": doc["interop"],
    }


def continuous_from_dict(doc: dict[str, Any]) -> ContinuousProfile:
    timing = doc["vaccine_timing"]
    applies = set(timing.get("pause_applies_to", ()))
    if timing["live_pre_start"] is None and (timing["after_stop"] is not None or timing["lymphocytes_gate"]):
        raise ProfileError(
            "vaccine_timing.live_pre_start", "null (no live restriction) cannot go with a gate after stopping"
        )
    return ContinuousProfile(
        **_common(doc),
        after_stop=_span(timing["after_stop"], "vaccine_timing.after_stop"),
        pause_advice=timing.get("pause_advice", ""),
        pause_live="live" in applies,
        pause_non_live="non_live" in applies,
        non_live_note=timing["non_live_note"],
        after_stop_note=timing.get("after_stop_note", ""),
    )


def _course(doc: dict[str, Any], field: str) -> CourseShape:
    weeks = []
    for i, week in enumerate(doc["weeks"]):
        if week["min_days"] > week["max_days"]:
            raise ProfileError(f"{field}.weeks[{i}].min_days", "is more than max_days")
        week_offset = _span(week["offset"], f"{field}.weeks[{i}].offset")
        assert week_offset is not None  # the schema requires it
        weeks.append(Week(week_offset, week["min_days"], week["max_days"]))
    offset = _span(doc["offset"], f"{field}.offset")
    assert offset is not None
    return CourseShape(offset, tuple(weeks))


def course_from_dict(doc: dict[str, Any]) -> CourseProfile:
    schedule, timing = doc["schedule"], doc["vaccine_timing"]
    courses = tuple(_course(c, f"schedule.courses[{i}]") for i, c in enumerate(schedule["courses"]))
    extra = schedule["extra_course"]
    return CourseProfile(
        **_common(doc),
        courses=courses,
        extra_course=_course(extra, "schedule.extra_course") if extra is not None else None,
        course_gap_days=schedule["course_gap_days"],
        week_gap_days=schedule["week_gap_days"],
        non_live_lead_days=timing["non_live_lead_days"],
        non_live_after_course=_span(timing["non_live_after_course"], "vaccine_timing.non_live_after_course"),
        live_after_course=_span(timing["live_after_course"], "vaccine_timing.live_after_course"),
        recheck_after=_span(timing["recheck_after"], "vaccine_timing.recheck_after"),
    )


def kind_profile_from_dict(doc: dict[str, Any]) -> AnyProfile:
    """The profile a continuous or course data file describes (raises ProfileError naming the field)."""
    return continuous_from_dict(doc) if doc["kind"] == "continuous" else course_from_dict(doc)
