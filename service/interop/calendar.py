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
- A re-plan cancels what it no longer holds: every event a plan of the same request could have held before and
  this one does not (a dose of the series now given or no longer placed, a window rank beyond those it has, a
  projected therapy dose since given) comes with its UID, a higher SEQUENCE and STATUS:CANCELLED, so a calendar
  re-importing the file marks the old event cancelled instead of keeping it (see cancelled_events for the
  bounds). A vaccine no longer asked about is not known to the new plan, so its events are not cancelled.
- No METHOD: the file is a plain iCalendar object to import, not an iTIP (RFC 5546) message. PUBLISH would
  require an ORGANIZER, and a plan has no organizer address to give.
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
    "post_therapy": "post-therapy window (after stopping)",
}
WINDOW_CATEGORY = "VACCINE-WINDOW"
APPOINTMENT_CATEGORY = "VACCINE-DOSE"
DOSE_CATEGORY = "THERAPY-DOSE"
CANCELLED_CATEGORY = "CANCELLED"
SEQUENCE_EPOCH = date(2000, 1, 1)
# The shortest cycle between two mid-cycle windows (a 4-weekly therapy's slots): a plan's horizon holds at most
# horizon / SHORTEST_CYCLE + 1 of them, so ranks up to that could have been held before. A therapy has one
# pre-start and one post-therapy window (a live vaccine's may be cut in two by live-live spacing).
SHORTEST_CYCLE_DAYS = 28
ONCE_KINDS_MOST = 2
# The window kinds an earlier plan of the same request could have held, by the therapy's phase now: the phases
# only move forward (not started, starter, maintenance, stopped).
EARLIER_KINDS = {
    "not_started": ("pre_start",),
    "starter": ("pre_start", "mid_cycle"),
    "maintenance": ("pre_start", "mid_cycle"),
    "stopped": ("pre_start", "mid_cycle", "post_therapy"),
}


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


def _cancelled(uid: str, stamp: datetime, sequence: int, day: date, summary: str) -> Event:
    """An event this plan no longer holds: the same UID, a newer SEQUENCE, STATUS:CANCELLED, and the category
    CANCELLED (a reader filtering on windows or appointments does not take it for one)."""
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", f"{summary} (cancelled: no longer in the plan)")
    event.add("status", "CANCELLED")
    event.add("categories", [CANCELLED_CATEGORY])
    event.add("transp", "TRANSPARENT")
    return event


def cancelled_events(plan: dict[str, Any], stamp: datetime, sequence: int) -> list[Event]:
    """The events an earlier plan of the same request could have held and this one does not, cancelled.

    Bounded by what such a plan could hold: the doses of each vaccine's series; the window ranks of the kinds
    the therapy's phases so far could have had, as many as a horizon holds (horizon / SHORTEST_CYCLE_DAYS + 1
    mid-cycle windows, ONCE_KINDS_MOST of the others); and the therapy doses given within the last horizon
    (projected before, given since). Each is dated the plan's as_of: its old date is not known.
    """
    as_of = _day(plan["as_of"])
    horizon = (_day(plan["horizon_end"]) - as_of).days
    out = []
    for item in _distinct(plan["vaccines"]):
        vaccine = item["vaccine"]
        proposed = {d["dose"] for d in item.get("proposed") or []}
        for number in range(1, ((item.get("series") or {}).get("doses") or 1) + 1):
            if number not in proposed:
                uid = event_uid(vaccine["id"], "dose", str(number))
                out.append(_cancelled(uid, stamp, sequence, as_of, f"{vaccine['name']}: dose {number}"))
        held: dict[str, int] = {}
        for window in item["windows"]:
            held[window["kind"]] = held.get(window["kind"], 0) + 1
        for kind in EARLIER_KINDS.get(plan["treatment"].get("phase", ""), tuple(KIND_LABELS)):
            most = horizon // SHORTEST_CYCLE_DAYS + 1 if kind == "mid_cycle" else ONCE_KINDS_MOST
            label = KIND_LABELS[kind]
            for rank in range(held.get(kind, 0) + 1, most + 1):
                uid = event_uid(vaccine["id"], kind, "window", str(rank))
                out.append(_cancelled(uid, stamp, sequence, as_of, f"{vaccine['name']}: {label}"))
    drug = plan["treatment"]["drug"]
    for number, day in enumerate(plan["treatment"]["doses_given"], 1):
        if (as_of - _day(day)).days <= horizon:
            uid = event_uid(drug, "dose", str(number))
            out.append(_cancelled(uid, stamp, sequence, as_of, f"{drug} dose {number} (given {day})"))
    return out


def _distinct(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plan's vaccines, each once (the same vaccine requested twice has its events once)."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item["vaccine"]["id"] not in seen:
            seen.add(item["vaccine"]["id"])
            out.append(item)
    return out


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
    # The plan's warnings (a live vaccine too close to the start, an assumed history...) travel with every window
    # and every proposed appointment:
    # a calendar is often all a patient or a front desk sees of the plan.
    warnings = "".join(f"\nWarning {w['code']}: {w['message']}" for w in plan["warnings"])
    for item in _distinct(plan["vaccines"]):
        vaccine = item["vaccine"]
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
    for event in cancelled_events(plan, stamp, sequence):
        cal.add_component(event)
    return bytes(cal.to_ical())
