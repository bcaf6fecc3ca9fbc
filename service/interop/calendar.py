"""A REST plan as an RFC 5545 calendar: an event per permitted window, per proposed vaccine dose and per
projected therapy dose.

Re-importing a changed plan updates the events in place instead of leaving the old ones standing:
- UIDs name what an event is, not its dates: a proposed dose is "<vaccine id> dose <n>", a window is
  "<vaccine id> <kind> window <k>" (the k-th window of that kind, in date order), a therapy dose is
  "<drug> dose <n>" (its number in the whole schedule). When a new plan moves dose 2 of Shingrix, the event
  "Shingrix dose 2" moves. The UID is a digest of that name at a fixed domain.
- DTSTAMP is the plan's `as_of` at 00:00 UTC, and SEQUENCE the number of days from 2000-01-01 to `as_of`: a plan
  made later carries a higher SEQUENCE, so a calendar takes it as the newer revision of each event (RFC 5545
  3.8.7.4), and identical requests still give byte-identical files.
- No METHOD: the file is a plain iCalendar object to import or subscribe to, not an iTIP (RFC 5546) message.
  PUBLISH would require an ORGANIZER, and a plan has no organizer address to give.
- DTEND is exclusive for all-day events (RFC 5545 3.6.1), so it is the last day + 1.
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
    "during_therapy": "window during therapy (any time while taking it)",
    "post_therapy": "post-therapy window (after stopping)",
}
WINDOW_CATEGORY = "VACCINE-WINDOW"
APPOINTMENT_CATEGORY = "VACCINE-DOSE"
DOSE_CATEGORY = "THERAPY-DOSE"
SEQUENCE_EPOCH = date(2000, 1, 1)


def event_uid(*parts: str) -> str:
    """The UID of the event named by `parts` (e.g. "zoster-recombinant", "dose", "2")."""
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:32] + "@" + UID_DOMAIN


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _event(uid: str, stamp: datetime, sequence: int, first: str, last: str, summary: str, description: str) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("dtstart", _day(first))
    event.add("dtend", _day(last) + timedelta(days=1))
    event.add("summary", summary)
    event.add("description", description)
    return event


def plan_calendar(plan: dict[str, Any]) -> bytes:
    """The calendar for a REST plan answer (the JSON POST /v1/plans returns)."""
    version = plan["ruleset"]["version"]
    as_of = _day(plan["as_of"])
    stamp = datetime.combine(as_of, time(0, 0), tzinfo=UTC)
    sequence = (as_of - SEQUENCE_EPOCH).days
    drug = plan["treatment"]["drug"]
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Vaccine timing around {drug}")
    seen: set[str] = set()
    # The plan's warnings (a live vaccine too close to the start, an assumed history...) travel with every window
    # and every proposed appointment:
    # a calendar is often all a patient or a front desk sees of the plan.
    warnings = "".join(f"\nWarning {w['code']}: {w['message']}" for w in plan["warnings"])
    for item in plan["vaccines"]:
        vaccine = item["vaccine"]
        if vaccine["id"] in seen:  # the same vaccine requested twice: its events once
            continue
        seen.add(vaccine["id"])
        rules = f"Rules: {', '.join(item['rules'])} (ruleset {version})."
        for dose in item.get("proposed") or []:
            event = _event(
                event_uid(vaccine["id"], "dose", str(dose["dose"])),
                stamp,
                sequence,
                dose["date"],
                dose["date"],
                f"{vaccine['name']}: dose {dose['dose']} (proposed)",
                f"Proposed date for dose {dose['dose']}, inside a permitted window.\n{item['reason']}\n{rules}{warnings}",
            )
            event.add("categories", [APPOINTMENT_CATEGORY])
            event.add("transp", "OPAQUE")
            cal.add_component(event)
        count: dict[str, int] = {}
        for window in item["windows"]:
            count[window["kind"]] = count.get(window["kind"], 0) + 1
            event = _event(
                event_uid(vaccine["id"], window["kind"], "window", str(count[window["kind"]])),
                stamp,
                sequence,
                window["start"],
                window["end"],
                f"{vaccine['name']}: {KIND_LABELS.get(window['kind'], window['kind'])}",
                f"Permitted from {window['start']} to {window['end']} (both days included).\n{item['reason']}\n{rules}{warnings}",
            )
            event.add("categories", [WINDOW_CATEGORY])
            event.add("transp", "TRANSPARENT")
            cal.add_component(event)
    given = len(plan["treatment"]["doses_given"])
    for i, dose in enumerate(plan["treatment"]["projected_doses"]):
        number = given + i + 1
        event = _event(
            event_uid(drug, "dose", str(number)),
            stamp,
            sequence,
            dose,
            dose,
            f"{drug} dose {number} (projected)",
            "A projected dose of the therapy's schedule; vaccine windows are planned around it.",
        )
        event.add("categories", [DOSE_CATEGORY])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return bytes(cal.to_ical())
