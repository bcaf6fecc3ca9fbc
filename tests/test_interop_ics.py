"""iCalendar export for the patient's phone, parsed back as a phone's calendar would (icalendar and vobject): the
events a patient can live with, the reminders, the labels; and the published contract covering every new route."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import vobject
from icalendar import Calendar
from openapi_spec_validator import validate

from service.api.ops import spec_dict, spec_yaml
from service.interop.calendar import (
    APPOINTMENT_CATEGORY,
    CANCELLED_CATEGORY,
    DOSE_CATEGORY,
    REMINDER_BEFORE,
    WINDOW_CATEGORY,
    event_uid,
    patient_name,
)
from tests.interop_builders import Facts

ROOT = Path(__file__).resolve().parents[1]
PLANNED = Facts(vaccines=("03", "187", "37"), start_date="2027-01-05").rest()
MAINTENANCE = Facts(vaccines=("37", "187"), doses=("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17")).rest()
# On ofatumumab since 2024, the last injection listed only: the contract's partial history (warning
# history-assumed). Three years ahead, four non-live vaccines and yellow fever: the plan that made 162 events.
ESTABLISHED_LONG = {
    "as_of": "2026-11-24",
    "horizon_days": 1095,
    "treatment": {"drug": "ofatumumab", "start_date": "2024-03-01", "doses": ["2026-11-14"]},
    "vaccines": [
        {"name": "Shingrix"},
        {"name": "hepatitis A"},
        {"name": "rabies"},
        {"name": "Typhim Vi"},
        {"name": "yellow fever"},
    ],
}
# Rule ids look like "ofatumumab.mid-cycle-slot" or "plan.single-dose": none may reach a patient's phone.
RULE_ID = re.compile(r"\b[a-z0-9]+(?:[-_][a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)+\b")
WARNING_CODES = ("history-assumed", "dose-missed", "live-vaccine", "non-live-vaccine-near-start", "Warning")


def events(ics: bytes, category: str):
    cal = Calendar.from_ical(ics)
    return cal, [e for e in cal.walk("VEVENT") if str(e.get("categories").cats[0]) == category]


def phone(ics: bytes):
    """The calendar as vobject reads it (the parser behind many calendar apps' importers)."""
    return vobject.readOne(ics.decode("utf-8"))


def shown(cal) -> list:
    """The events a phone shows: every VEVENT but the cancellations of events an earlier plan held."""
    return [e for e in cal.contents.get("vevent", []) if "status" not in e.contents]


@pytest.mark.parametrize("body", [PLANNED, MAINTENANCE, ESTABLISHED_LONG], ids=["planned", "maintenance", "long"])
def test_a_patient_gets_one_event_per_appointment_per_next_window_and_per_therapy_dose(client, body):
    plan = client.post("/v1/plans", json=body).get_json()
    r = client.post("/v1/plans.ics", json=body)
    assert r.status_code == 200 and r.mimetype == "text/calendar"
    cal = phone(r.data)
    vevents = shown(cal)
    vaccines = {v["vaccine"]["id"]: v for v in plan["vaccines"]}.values()
    appointments = sum(len(v["proposed"]) for v in vaccines)
    next_windows = sum(1 for v in vaccines if v["windows"])
    therapy = len(plan["treatment"]["projected_doses"])
    assert len(vevents) == appointments + next_windows + therapy
    # RFC 5546: METHOD:PUBLISH needs an ORGANIZER; a plan has none, so the file carries no METHOD at all.
    assert "method" not in cal.contents and cal.version.value == "2.0"
    uids = [e.uid.value for e in vevents]
    assert len(uids) == len(set(uids))
    for event in vevents:
        assert isinstance(event.dtstart.value, date) and not isinstance(event.dtstart.value, datetime)
        assert event.dtend.value > event.dtstart.value  # exclusive end of an all-day event


def test_a_three_year_plan_is_a_handful_of_events_with_the_later_windows_summed_up(client):
    plan = client.post("/v1/plans", json=ESTABLISHED_LONG).get_json()
    assert sum(len(v["windows"]) for v in plan["vaccines"]) > 100  # what used to be one event each
    _, windows = events(client.post("/v1/plans.ics", json=ESTABLISHED_LONG).data, WINDOW_CATEGORY)
    with_windows = [v for v in plan["vaccines"] if v["windows"]]
    assert len(windows) == len(with_windows) == 4
    for event, item in zip(windows, with_windows, strict=True):
        first, later = item["windows"][0], item["windows"][1:]
        assert event.decoded("dtstart") == date.fromisoformat(first["start"])
        assert event.decoded("dtend") == date.fromisoformat(first["end"]) + timedelta(days=1)
        assert str(event["uid"]) == event_uid(item["vaccine"]["id"], first["kind"], "window", "1")
        assert f"{len(later)} more periods until" in str(event["description"])
        assert patient_name(item) in str(event["summary"]) and str(event["transp"]) == "TRANSPARENT"


@pytest.mark.parametrize("body", [PLANNED, MAINTENANCE, ESTABLISHED_LONG], ids=["planned", "maintenance", "long"])
def test_every_appointment_has_a_reminder_the_day_before_and_a_label_with_its_dose_of_the_series(client, body):
    plan = client.post("/v1/plans", json=body).get_json()
    ics = client.post("/v1/plans.ics", json=body).data
    _, appointments = events(ics, APPOINTMENT_CATEGORY)
    vaccines = {v["vaccine"]["id"]: v for v in plan["vaccines"]}.values()
    expected = [(v, p) for v in vaccines for p in v["proposed"]]
    assert expected and len(appointments) == len(expected)
    for event, (item, dose) in zip(appointments, expected, strict=True):
        assert event.decoded("dtstart") == date.fromisoformat(dose["date"])
        assert str(event["uid"]) == event_uid(item["vaccine"]["id"], "dose", str(dose["dose"]))
        length = item["series"]["doses"]
        words = "single dose" if length == 1 else f"dose {dose['dose']} of {length}"
        assert str(event["summary"]) == f"Vaccination: {patient_name(item)}, {words}"
        assert str(event["transp"]) == "OPAQUE"
        [alarm] = event.walk("VALARM")
        assert str(alarm["action"]) == "DISPLAY" and words in str(alarm["description"])
        assert alarm.decoded("trigger") == -REMINDER_BEFORE  # 09:00 the day before the all-day event
    # The same, read by vobject: every appointment carries a display alarm before its start, on the day before.
    for event in phone(ics).contents["vevent"]:
        alarms = event.contents.get("valarm", [])
        if event.categories.value == [APPOINTMENT_CATEGORY]:
            [alarm] = alarms
            trigger = alarm.trigger.value
            fires = datetime.combine(event.dtstart.value, datetime.min.time()) + trigger
            assert fires.date() == event.dtstart.value - timedelta(days=1) and fires.hour == 9
        else:
            assert alarms == []


@pytest.mark.parametrize("body", [PLANNED, MAINTENANCE, ESTABLISHED_LONG], ids=["planned", "maintenance", "long"])
def test_descriptions_are_plain_words_without_rule_ids_or_clinician_warnings(client, body):
    plan = client.post("/v1/plans", json=body).get_json()
    for event in shown(phone(client.post("/v1/plans.ics", json=body).data)):
        text = f"{event.summary.value}\n{event.description.value}"
        assert not RULE_ID.search(text), text
        for item in plan["vaccines"]:
            assert not set(item["rules"]) & set(re.findall(r"[\w.-]+", text))
        assert not any(code in text for code in WARNING_CODES), text
        for field in ("needed_by", "as_of", "mid_cycle", "pre_start", "post_therapy", "ready_on"):
            assert field not in text


def test_an_established_patient_s_next_injection_is_not_numbered_as_dose_2(client):
    plan = client.post("/v1/plans", json=ESTABLISHED_LONG).get_json()
    assert [w["code"] for w in plan["warnings"]] == ["history-assumed"] and plan["treatment"]["doses_given"] == [
        "2026-11-14"
    ]
    _, doses = events(client.post("/v1/plans.ics", json=ESTABLISHED_LONG).data, DOSE_CATEGORY)
    assert [e.decoded("dtstart").isoformat() for e in doses] == plan["treatment"]["projected_doses"]
    assert {str(e["summary"]) for e in doses} == {"Ofatumumab dose (expected)"}
    assert not any(re.search(r"dose \d", f"{e['summary']} {e['description']}") for e in doses)


def test_a_complete_history_numbers_the_therapy_doses(client):
    """The four doses listed from the first (weeks 0, 1, 2 and 4): the next ones are doses 5, 6, ..."""
    plan = client.post("/v1/plans", json=MAINTENANCE).get_json()
    assert plan["treatment"]["doses_given"][0] == plan["treatment"]["start_date"] and not plan["warnings"]
    _, doses = events(client.post("/v1/plans.ics", json=MAINTENANCE).data, DOSE_CATEGORY)
    assert [e.decoded("dtstart").isoformat() for e in doses] == plan["treatment"]["projected_doses"]
    assert [str(e["summary"]) for e in doses[:2]] == ["Ofatumumab dose 5 (expected)", "Ofatumumab dose 6 (expected)"]
    assert [str(e["uid"]) for e in doses[:2]] == [event_uid("ofatumumab", "dose", n) for n in ("5", "6")]
    assert all(e.walk("VALARM") == [] for e in doses)  # the reminders are the vaccination appointments'


def test_every_event_is_stamped_with_the_plan_date_and_its_sequence(client):
    for event in Calendar.from_ical(client.post("/v1/plans.ics", json=PLANNED).data).walk("VEVENT"):
        assert event.decoded("dtstamp") == datetime(2026, 11, 24, tzinfo=UTC)
        assert event.decoded("sequence") == (date(2026, 11, 24) - date(2000, 1, 1)).days


def test_a_changed_plan_reimported_later_updates_the_same_events_with_a_higher_sequence(client):
    """Shingrix planned on 2026-11-24, then again on 2026-12-10 after dose 1 was given: dose 2 keeps its UID,
    moves, and carries a higher SEQUENCE, so a calendar app replaces the old event rather than adding one."""
    before = client.post("/v1/plans.ics", json={**MAINTENANCE, "vaccines": [{"cvx": "187"}]}).data
    later = {
        **MAINTENANCE,
        "as_of": "2026-12-10",
        "treatment": {**MAINTENANCE["treatment"], "doses": [*MAINTENANCE["treatment"]["doses"], "2026-12-08"]},
        "vaccines": [{"cvx": "187", "given": ["2026-12-03"]}],
    }
    after = client.post("/v1/plans.ics", json=later).data
    _, old = events(before, APPOINTMENT_CATEGORY)
    _, new = events(after, APPOINTMENT_CATEGORY)
    old_by_uid = {str(e["uid"]): e for e in old}
    dose_2 = event_uid("zoster-recombinant", "dose", "2")
    assert dose_2 in old_by_uid and [str(e["uid"]) for e in new] == [dose_2]
    assert new[0].decoded("dtstart") != old_by_uid[dose_2].decoded("dtstart")
    assert new[0].decoded("sequence") > old_by_uid[dose_2].decoded("sequence")
    _, old_windows = events(before, WINDOW_CATEGORY)
    _, new_windows = events(after, WINDOW_CATEGORY)
    assert str(new_windows[0]["uid"]) == str(old_windows[0]["uid"])  # the first mid-cycle window, moved


def test_a_re_plan_cancels_every_event_it_no_longer_holds(client):
    """The same re-plan: Shingrix dose 1 (given since) and the therapy dose projected for 2026-12-15 (given since)
    are no longer events; the new file carries them with their UIDs, STATUS:CANCELLED and the newer SEQUENCE,
    so re-importing it leaves no stale appointment behind. Every event the earlier plan held is either held
    again or cancelled."""
    first = {**MAINTENANCE, "vaccines": [{"cvx": "187"}]}
    before = client.post("/v1/plans.ics", json=first).data
    later = {
        **MAINTENANCE,
        "as_of": "2026-12-20",
        "treatment": {**MAINTENANCE["treatment"], "doses": [*MAINTENANCE["treatment"]["doses"], "2026-12-15"]},
        "vaccines": [{"cvx": "187", "given": ["2026-12-03"]}],
    }
    after = client.post("/v1/plans.ics", json=later).data
    held_before = {str(e["uid"]) for e in Calendar.from_ical(before).walk("VEVENT") if "status" not in e}
    new = Calendar.from_ical(after).walk("VEVENT")
    held_after = {str(e["uid"]) for e in new if "status" not in e}
    cancelled = {str(e["uid"]): e for e in new if str(e.get("status")) == "CANCELLED"}
    assert held_before <= held_after | set(cancelled), held_before - held_after - set(cancelled)
    assert not held_after & set(cancelled)
    dose_1 = event_uid("zoster-recombinant", "dose", "1")
    assert dose_1 in held_before and dose_1 in cancelled
    assert event_uid("ofatumumab", "dose", "5") in held_before and event_uid("ofatumumab", "dose", "5") in cancelled
    before_sequence = Calendar.from_ical(before).walk("VEVENT")[0].decoded("sequence")
    assert all(e.decoded("sequence") > before_sequence for e in cancelled.values())
    # A plan never cancels an event it holds, and a cancellation is no window or appointment to a reader.
    _, own = events(before, WINDOW_CATEGORY)
    _, gone = events(before, CANCELLED_CATEGORY)
    assert gone and all(str(e["status"]) == "CANCELLED" for e in gone)
    assert not {str(e["uid"]) for e in own} & {str(e["uid"]) for e in gone}


def test_identical_requests_give_identical_calendars(client):
    first = client.post("/v1/plans.ics", json=MAINTENANCE).data
    assert client.post("/v1/plans.ics", json=MAINTENANCE).data == first


def test_accept_text_calendar_on_plans_gives_the_same_calendar(client):
    r = client.post("/v1/plans", json=PLANNED, headers={"Accept": "text/calendar"})
    assert r.mimetype == "text/calendar" and r.data == client.post("/v1/plans.ics", json=PLANNED).data
    assert client.post("/v1/plans", json=PLANNED).mimetype == "application/json"
    both = client.post("/v1/plans", json=PLANNED, headers={"Accept": "application/json, text/calendar;q=0.5"})
    assert both.mimetype == "application/json"


@pytest.mark.parametrize("accept", ["", "*/*", "application/json"])
def test_the_accept_headers_skipped_without_parsing_are_those_the_parse_answers_with_json(app, accept):
    """wants_calendar() answers JSON for these without parsing them: parsed, they give JSON too."""
    from service.api.ics import _PLAINLY_NOT_CALENDAR, wants_calendar

    assert accept in _PLAINLY_NOT_CALENDAR
    headers = {"Accept": accept} if accept else {}
    with app.test_request_context(headers=headers) as context:
        parsed = context.request.accept_mimetypes.best_match(["application/json", "text/calendar"])
        assert parsed != "text/calendar" and not wants_calendar()


@pytest.mark.parametrize("accept", ["text/calendar", "TEXT/CALENDAR", "text/*", "*/*;q=0.1, text/calendar"])
def test_accept_headers_that_prefer_a_calendar_still_get_one(app, accept):
    from service.api.ics import wants_calendar

    with app.test_request_context(headers={"Accept": accept}):
        assert wants_calendar()


def test_errors_on_the_calendar_routes_stay_problem_json(client):
    bad = {**PLANNED, "vaccines": [{"name": "Shingrx"}]}
    for r in (
        client.post("/v1/plans.ics", json=bad),
        client.post("/v1/plans", json=bad, headers={"Accept": "text/calendar"}),
    ):
        assert r.status_code == 422 and r.content_type == "application/problem+json"
    assert client.post("/v1/plans.ics", data="x", content_type="text/plain").status_code == 415


def test_openapi_file_equals_the_served_document_and_describes_every_interop_route(app):
    with app.app_context():
        spec = spec_dict()
        assert (ROOT / "openapi.yaml").read_text(encoding="utf-8") == spec_yaml(), "run `make openapi`"
    validate(spec)
    paths = spec["paths"]
    assert {
        "/fhir/metadata",
        "/fhir/$vaccine-timing",
        "/cds-services",
        "/cds-services/vaccine-timing-order-sign",
        "/cds-services/vaccine-timing-order-sign/feedback",
        "/cds-services/vaccine-timing-order-select",
        "/cds-services/vaccine-timing-order-select/feedback",
        "/v1/plans.ics",
    } <= set(paths)
    assert set(paths["/v1/plans"]["post"]["responses"]["200"]["content"]) == {"application/json", "text/calendar"}
    assert "text/calendar" in paths["/v1/plans.ics"]["post"]["responses"]["200"]["content"]
    operation = paths["/fhir/$vaccine-timing"]["post"]
    assert operation["requestBody"]["content"]["application/fhir+json"]["example"]["resourceType"] == "Parameters"
    assert {"400", "415", "422"} <= set(operation["responses"])
