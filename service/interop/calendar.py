"""A REST plan as an RFC 5545 calendar for the patient's phone: an event per proposed vaccine appointment (with a
reminder the day before), per vaccine's next permitted window, and per projected therapy dose.

What goes in, and what stays out:
- One event per proposed dose, with a VALARM at 09:00 the day before (an all-day event starts at 00:00, so the
  trigger is 15 hours before its start): the reminder a patient needs.
- One event per vaccine for its next permitted window only, its description summing up the later ones ("4 more
  periods until ..."): one event per window of every vaccine would put over a hundred events of a three-year
  plan in a patient's calendar. The full list stays in the plan.
- The therapy's projected doses (the patient's own appointments), labelled by what the history says: numbered
  ("dose 5") only when the doses given are the whole history from the first dose; an established patient whose
  recent doses alone were listed gets "<drug> dose" with no number, never a "dose 2" that the history does not
  support.
- Descriptions in plain words: no rule ids, no clinician warnings (a warning such as history-assumed asks the
  clinician for more doses; it would only alarm a patient). The clinician's detail stays in the plan.

Re-importing a changed plan updates the events in place instead of leaving the old ones standing:
- UIDs name what an event is, not its dates: a proposed dose is "<vaccine id> dose <n>", a window is
  "<vaccine id> <kind> window <k>" (the k-th window of that kind, in date order), a therapy dose is
  "<drug> dose <n>" (its number among the doses listed and projected). When a new plan moves dose 2 of
  Shingrix, the event "Shingrix dose 2" moves. The UID is a digest of that name at a fixed domain.
- DTSTAMP is the plan's `as_of` at 00:00 UTC, and SEQUENCE the number of days from 2000-01-01 to `as_of`: a plan
  made later carries a higher SEQUENCE, so a calendar takes it as the newer revision of each event (RFC 5545
  3.8.7.4), and identical requests still give byte-identical files.
- A re-plan cancels what it no longer holds: every event a plan of the same request could have held before and
  this one does not (a dose of the series now given or no longer placed, a window other than each vaccine's
  next one, a projected therapy dose since given) comes with its UID, a higher SEQUENCE and STATUS:CANCELLED,
  so a calendar re-importing the file marks the old event cancelled instead of keeping it (see
  cancelled_events for the bounds). A vaccine no longer asked about is not known to the new plan, so its events
  are not cancelled.
- No METHOD: the file is a plain iCalendar object to import, not an iTIP (RFC 5546) message. PUBLISH would
  require an ORGANIZER, and a plan has no organizer address to give.
- DTEND is exclusive for all-day events (RFC 5545 3.6.1), so it is the last day + 1.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from icalendar import Alarm, Calendar, Event

from service.domain.advisories import HISTORY_ASSUMED

UID_DOMAIN = "vaccine-timing-planner"
PRODID = "-//Vaccine timing planner//Plan calendar//EN"
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
# only move forward (not started, starter, maintenance, stopped; a continuous therapy's on_therapy; a course
# therapy's in_course, between_courses and after_courses, whose windows come back between courses). A
# continuous therapy's during_therapy window is cancelled once on therapy; after stopping, a feed that held it
# keeps it (it was a non-live window, or a live one of a therapy without restriction: never unsafe).
EARLIER_KINDS = {
    "not_started": ("pre_start",),
    "starter": ("pre_start", "mid_cycle"),
    "maintenance": ("pre_start", "mid_cycle"),
    "on_therapy": ("pre_start", "during_therapy"),
    "in_course": ("pre_start", "mid_cycle", "post_therapy"),
    "between_courses": ("pre_start", "mid_cycle", "post_therapy"),
    "after_courses": ("pre_start", "mid_cycle", "post_therapy"),
    "stopped": ("pre_start", "mid_cycle", "post_therapy"),
}
ALL_KINDS = ("pre_start", "mid_cycle", "post_therapy")
# The reminder: 09:00 the day before an all-day event (which starts at 00:00 that day).
REMINDER_BEFORE = timedelta(hours=15)
# Longer bracketed text in a catalog name is a clinician's description, not a brand name a patient knows.
_BRACKETS_KEPT = 24


def event_uid(*parts: str) -> str:
    """The UID of the event named by `parts` (e.g. "zoster-recombinant", "dose", "2")."""
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:32] + "@" + UID_DOMAIN


def patient_name(item: dict[str, Any]) -> str:
    """The vaccine as a patient reads it: the product when one was named, else the catalog name without the
    clinician's qualifier, keeping the brand names in its brackets ('Zoster vaccine, recombinant adjuvanted
    (Shingrix)' -> 'Zoster vaccine (Shingrix)'; 'Measles vaccine, monovalent' -> 'Measles vaccine')."""
    vaccine = item["vaccine"]
    if vaccine.get("product"):
        return str(vaccine["product"])
    name, brackets = str(vaccine["name"]), ""
    if name.endswith(")") and " (" in name:
        name, _, brackets = name[:-1].rpartition(" (")
    head, _, qualifier = name.rpartition(", ")
    if head.endswith("vaccine") and qualifier:
        name = head
    return f"{name} ({brackets})" if brackets and len(brackets) <= _BRACKETS_KEPT else name


def dose_words(number: int, length: int) -> str:
    return "single dose" if length == 1 else f"dose {number} of {length}"


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _words(text: str) -> str:
    """2026-11-24 -> 'Tue 24 Nov 2026'."""
    return _day(text).strftime("%a %d %b %Y").replace(" 0", " ")


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


def _reminder(text: str) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", -REMINDER_BEFORE)
    alarm.add("description", text)
    return alarm


def _appointments(item: dict[str, Any], drug: str, stamp: datetime, sequence: int) -> list[Event]:
    name = patient_name(item)
    length = item["series"]["doses"]
    events = []
    for dose in item.get("proposed") or []:
        what = dose_words(dose["dose"], length)
        event = _event(
            event_uid(item["vaccine"]["id"], "dose", str(dose["dose"])),
            stamp,
            sequence,
            dose["date"],
            dose["date"],
            f"Vaccination: {name}, {what}",
            f"Your appointment for {name}, {what}. The date is chosen around your {drug} treatment: keep to it, "
            "or ask the clinic to plan again.",
        )
        event.add("categories", [APPOINTMENT_CATEGORY])
        event.add("transp", "OPAQUE")
        event.add_component(_reminder(f"Tomorrow: {name}, {what}."))
        events.append(event)
    return events


def _next_window(item: dict[str, Any], stamp: datetime, sequence: int) -> Event | None:
    """The vaccine's next permitted window, the later ones summed up in its description."""
    windows = item["windows"]
    if not windows:
        return None
    first, later = windows[0], windows[1:]
    name = patient_name(item)
    rest = (
        f" After it, {len(later)} more period{'s' if len(later) > 1 else ''} until {_words(later[-1]['end'])}: "
        "see your plan."
        if later
        else ""
    )
    event = _event(
        event_uid(item["vaccine"]["id"], first["kind"], "window", "1"),
        stamp,
        sequence,
        first["start"],
        first["end"],
        f"{name}: may be given",
        f"{name} may be given from {_words(first['start'])} to {_words(first['end'])} (both days included).{rest}",
    )
    event.add("categories", [WINDOW_CATEGORY])
    event.add("transp", "TRANSPARENT")
    return event


def numbered_history(plan: dict[str, Any]) -> bool:
    """Whether the doses listed are the whole history from the first dose, so that projected doses can be
    numbered: not when a partial history was read (warning history-assumed) or the listed doses begin after
    the start."""
    treatment = plan["treatment"]
    given = treatment["doses_given"]
    if any(w["code"] == HISTORY_ASSUMED for w in plan["warnings"]):
        return False
    return not given or given[0] == treatment["start_date"]


def _therapy_doses(plan: dict[str, Any], stamp: datetime, sequence: int) -> list[Event]:
    """The therapy's projected doses: the patient's own appointments, which the vaccination dates are planned
    around; "<drug> dose N" from a whole history, else "<drug> dose" with no number (injection or infusion: the
    therapy says which, the calendar need not)."""
    treatment = plan["treatment"]
    drug = treatment["drug"]
    given = len(treatment["doses_given"])
    numbered = numbered_history(plan)
    events = []
    for i, day in enumerate(treatment["projected_doses"]):
        # Its place among the doses listed and projected: stable while the same doses are listed.
        number = given + i + 1
        label = f"{drug} dose {number}" if numbered else f"{drug} dose"
        event = _event(
            event_uid(drug, "dose", str(number)),
            stamp,
            sequence,
            day,
            day,
            f"{label[0].upper()}{label[1:]} (expected)",
            f"Your {label} is expected on this day; the vaccination dates are planned around it.",
        )
        event.add("categories", [DOSE_CATEGORY])
        event.add("transp", "TRANSPARENT")
        events.append(event)
    return events


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
    mid-cycle windows, ONCE_KINDS_MOST of the others), except the one window this calendar holds (each
    vaccine's next); and the therapy doses given within the last horizon (projected before, given since). Each
    is dated the plan's as_of: its old date is not known.
    """
    as_of = _day(plan["as_of"])
    horizon = (_day(plan["horizon_end"]) - as_of).days
    out = []
    for item in _distinct(plan["vaccines"]):
        vaccine_id = item["vaccine"]["id"]
        name = patient_name(item)
        proposed = {d["dose"] for d in item.get("proposed") or []}
        for number in range(1, ((item.get("series") or {}).get("doses") or 1) + 1):
            if number not in proposed:
                uid = event_uid(vaccine_id, "dose", str(number))
                out.append(_cancelled(uid, stamp, sequence, as_of, f"Vaccination: {name}, dose {number}"))
        held = {item["windows"][0]["kind"]: 1} if item["windows"] else {}
        for kind in EARLIER_KINDS.get(plan["treatment"].get("phase", ""), ALL_KINDS):
            most = horizon // SHORTEST_CYCLE_DAYS + 1 if kind == "mid_cycle" else ONCE_KINDS_MOST
            for rank in range(held.get(kind, 0) + 1, most + 1):
                uid = event_uid(vaccine_id, kind, "window", str(rank))
                out.append(_cancelled(uid, stamp, sequence, as_of, f"{name}: may be given"))
    drug = plan["treatment"]["drug"]
    for number, day in enumerate(plan["treatment"]["doses_given"], 1):
        if (as_of - _day(day)).days <= horizon:
            uid = event_uid(drug, "dose", str(number))
            out.append(_cancelled(uid, stamp, sequence, as_of, f"{drug} dose (given {day})"))
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
    as_of = _day(plan["as_of"])
    stamp = datetime.combine(as_of, time(0, 0), tzinfo=UTC)
    sequence = (as_of - SEQUENCE_EPOCH).days
    drug = plan["treatment"]["drug"]
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Vaccinations around {drug}")
    for item in _distinct(plan["vaccines"]):
        for event in _appointments(item, drug, stamp, sequence):
            cal.add_component(event)
        window = _next_window(item, stamp, sequence)
        if window is not None:
            cal.add_component(window)
    for event in _therapy_doses(plan, stamp, sequence):
        cal.add_component(event)
    for event in cancelled_events(plan, stamp, sequence):
        cal.add_component(event)
    return bytes(cal.to_ical())
