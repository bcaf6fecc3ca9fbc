"""A REST plan as an RFC 5545 calendar: one all-day event per permitted window, and one per projected dose.

Identical requests give byte-identical calendars, so a calendar app that re-imports a plan updates its events
instead of duplicating them:
- UID = a digest of the ruleset version, the vaccine id, the window kind and its dates (a projected dose: the
  ruleset version and the dose date), at a fixed domain. A changed window is a new event; an unchanged one
  keeps its UID.
- DTSTAMP (required in every VEVENT) is the plan's `as_of` at 00:00 UTC: the day the plan describes, not the
  server's clock, which would make every download differ.
- DTEND is exclusive for all-day events (RFC 5545 3.6.1), so it is the window's last day + 1.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from icalendar import Calendar, Event

UID_DOMAIN = "vaccine-timing-planner"
PRODID = "-//Vaccine timing planner//Plan calendar//EN"
KIND_LABELS = {
    "pre_start": "pre-start window (before the first dose)",
    "mid_cycle": "mid-cycle window (between two doses)",
    "post_therapy": "post-therapy window (after stopping)",
}
WINDOW_CATEGORY = "VACCINE-WINDOW"
DOSE_CATEGORY = "THERAPY-DOSE"


def _uid(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:32] + "@" + UID_DOMAIN


def _day(text: str) -> date:
    return date.fromisoformat(text)


def plan_calendar(plan: dict[str, Any]) -> bytes:
    """The calendar for a REST plan answer (the JSON POST /v1/plans returns)."""
    version = plan["ruleset"]["version"]
    stamp = datetime.combine(_day(plan["as_of"]), time(0, 0), tzinfo=UTC)
    drug = plan["treatment"]["drug"]
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Vaccine timing around {drug}")
    seen: set[str] = set()
    # The plan's warnings (a live vaccine too close to the start, an assumed history...) travel with every window:
    # a calendar is often all a patient or a front desk sees of the plan.
    warnings = "".join(f"\nWarning {w['code']}: {w['message']}" for w in plan["warnings"])
    for item in plan["vaccines"]:
        vaccine = item["vaccine"]
        for window in item["windows"]:
            uid = _uid(version, vaccine["id"], window["kind"], window["start"], window["end"])
            if uid in seen:  # the same vaccine requested twice: one event is enough
                continue
            seen.add(uid)
            event = Event()
            event.add("uid", uid)
            event.add("dtstamp", stamp)
            event.add("dtstart", _day(window["start"]))
            event.add("dtend", _day(window["end"]) + timedelta(days=1))
            event.add("summary", f"{vaccine['name']}: {KIND_LABELS.get(window['kind'], window['kind'])}")
            event.add(
                "description",
                f"Permitted from {window['start']} to {window['end']} (both days "
                f"included).\n{item['reason']}\nRules: {', '.join(item['rules'])} (ruleset {version}).{warnings}",
            )
            event.add("categories", [WINDOW_CATEGORY])
            event.add("transp", "TRANSPARENT")
            cal.add_component(event)
    for dose in plan["treatment"]["projected_doses"]:
        event = Event()
        event.add("uid", _uid(version, "dose", dose))
        event.add("dtstamp", stamp)
        event.add("dtstart", _day(dose))
        event.add("dtend", _day(dose) + timedelta(days=1))
        event.add("summary", f"{drug} dose (projected)")
        event.add("description", "A projected dose of the therapy's schedule; vaccine windows are planned around it.")
        event.add("categories", [DOSE_CATEGORY])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return bytes(cal.to_ical())
