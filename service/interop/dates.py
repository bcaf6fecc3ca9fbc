"""The dates an ImmunizationRecommendation gives for a proposed dose, with the meanings LOINC gives them.

- 30981-5 "Earliest date to give": the first day the dose is both valid and permitted, inside the window the
  dose is proposed in: not before that window opens, not before the assessment date, at least the series'
  minimum interval after every earlier dose it is measured from (given or proposed), and for a live vaccine
  clear of every other live vaccine given or proposed (CDSi live-virus spacing). It is never later than the
  proposed date (the planner's own date is valid by construction).
- 59777-3 "Latest date to give immunization": only where a real deadline exists: the window closes before the
  horizon ends (the therapy's next dose or its start closes it), or the vaccine is needed by a date. A window
  that only ends because the horizon does is no deadline, and then no latest date is given.

The REST plan gives the windows and proposed dates; the series' minimum intervals and the live spacing come
from the same ruleset the planner used, so these dates and the planner's cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from service.domain.catalog import LookupFailed
from service.domain.spacing import LiveEvent

ISO = date.fromisoformat


@dataclass(frozen=True)
class DoseDates:
    earliest: str
    latest: str | None


def plan_dose_dates(plan: dict[str, Any], body: dict[str, Any], ruleset: Any) -> list[dict[int, DoseDates]]:
    """For each vaccine of a REST plan (in order), its proposed doses' earliest and latest dates."""
    catalog, rules = ruleset.catalog, ruleset.vaccine_rules
    as_of, horizon_end = ISO(plan["as_of"]), ISO(plan["horizon_end"])
    history = [_event(catalog, i.get("cvx"), i["date"]) for i in body.get("immunizations") or []]
    proposed_live = [
        (n, LiveEvent(catalog.get(item["vaccine"]["id"]), ISO(p["date"])))
        for n, item in enumerate(plan["vaccines"])
        if item["vaccine"]["live"] and catalog.get(item["vaccine"]["id"]) is not None
        for p in item.get("proposed") or []
    ]
    out = []
    for n, item in enumerate(plan["vaccines"]):
        request = body["vaccines"][n] if n < len(body.get("vaccines") or []) else {}
        vaccine = catalog.get(item["vaccine"]["id"])
        spacing = None
        if vaccine is not None and item["vaccine"]["live"]:
            fixed = [e for e in history if e is not None] + [e for m, e in proposed_live if m != n]
            spacing = rules.conflicts.spacing(vaccine, fixed)
        series = rules.series.get(item["vaccine"]["id"])
        needed_by = ISO(request["needed_by"]) if request.get("needed_by") else None
        out.append(_vaccine_dates(item, request, series, spacing, as_of, horizon_end, needed_by))
    return out


def _event(catalog: Any, cvx: str | None, day: str) -> LiveEvent | None:
    try:
        vaccine = catalog.by_cvx(cvx, "cvx").vaccine if cvx else None
    except LookupFailed:  # an immunization the catalog cannot place: the planner named it already
        return None
    return LiveEvent(vaccine, ISO(day)) if vaccine is not None and vaccine.live else None


def _vaccine_dates(
    item: dict[str, Any],
    request: dict[str, Any],
    series: Any,
    spacing: Any,
    as_of: date,
    horizon_end: date,
    needed_by: date | None,
) -> dict[int, DoseDates]:
    given = sorted(ISO(d) for d in request.get("given") or [])
    counted = (item.get("series") or {}).get("given", len(given))
    days: dict[int, date] = dict(enumerate(given, 1)) if counted == len(given) else {}  # restarted: none count
    for p in item.get("proposed") or []:
        days[p["dose"]] = ISO(p["date"])
    out = {}
    for p in item.get("proposed") or []:
        day = ISO(p["date"])
        window = next(w for w in item["windows"] if w["start"] <= p["date"] <= w["end"])
        earliest = _earliest(p["dose"], day, window, days, series, spacing, as_of)
        latest = [d for d in (ISO(window["end"]) if ISO(window["end"]) < horizon_end else None, needed_by) if d]
        deadline = min((d for d in latest if d >= earliest), default=None)
        out[p["dose"]] = DoseDates(earliest.isoformat(), deadline.isoformat() if deadline else None)
    return out


def _earliest(
    number: int,
    proposed: date,
    window: dict[str, str],
    days: dict[int, date],
    series: Any,
    spacing: Any,
    as_of: date,
) -> date:
    bound = max(ISO(window["start"]), as_of)
    dose = series.doses[number - 1] if series is not None and number <= len(series.doses) else None
    for interval in dose.intervals if dose is not None else ():
        before = days.get(interval.from_dose)
        if before is not None:
            bound = max(bound, interval.minimum.after(before))
    if spacing is not None:
        while bound < proposed:
            free, _ = spacing.next_free_day(bound)
            if free == bound:
                break
            bound = free
    return min(bound, proposed)
