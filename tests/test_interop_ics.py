"""iCalendar export, parsed back with the icalendar package; and the published contract covering every new route."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from openapi_spec_validator import validate

from service.api.ops import spec_dict, spec_yaml
from service.interop.calendar import (
    APPOINTMENT_CATEGORY,
    CANCELLED_CATEGORY,
    DOSE_CATEGORY,
    WINDOW_CATEGORY,
    event_uid,
)
from tests.interop_builders import Facts

ROOT = Path(__file__).resolve().parents[1]
PLANNED = Facts(vaccines=("03", "187", "37"), start_date="2027-01-05").rest()
MAINTENANCE = Facts(vaccines=("37", "187"), doses=("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17")).rest()


def events(ics: bytes, category: str):
    cal = Calendar.from_ical(ics)
    return cal, [e for e in cal.walk("VEVENT") if str(e.get("categories").cats[0]) == category]


@pytest.mark.parametrize("body", [PLANNED, MAINTENANCE], ids=["planned-start", "maintenance"])
def test_one_all_day_event_per_window_with_exclusive_end_and_a_uid_naming_vaccine_kind_and_rank(client, body):
    plan = client.post("/v1/plans", json=body).get_json()
    r = client.post("/v1/plans.ics", json=body)
    assert r.status_code == 200 and r.mimetype == "text/calendar"
    cal, windows = events(r.data, WINDOW_CATEGORY)
    assert str(cal["version"]) == "2.0" and str(cal["prodid"])
    # RFC 5546: METHOD:PUBLISH needs an ORGANIZER; a plan has none, so the file carries no METHOD at all.
    assert "method" not in cal and "METHOD" not in r.data.decode()
    expected = [(v, w) for v in plan["vaccines"] for w in v["windows"]]
    assert len(windows) == len(expected)
    for event, (item, window) in zip(windows, expected, strict=True):
        assert event["dtstart"].params["VALUE"] == "DATE" and event["dtend"].params["VALUE"] == "DATE"
        assert event.decoded("dtstart") == date.fromisoformat(window["start"])
        assert event.decoded("dtend") == date.fromisoformat(window["end"]) + timedelta(days=1)
        rank = [w for w in item["windows"] if w["kind"] == window["kind"]].index(window) + 1
        assert str(event["uid"]) == event_uid(item["vaccine"]["id"], window["kind"], "window", str(rank))
        assert event.decoded("dtstamp") == datetime(2026, 11, 24, tzinfo=UTC)
        assert event.decoded("sequence") == (date(2026, 11, 24) - date(2000, 1, 1)).days
        summary = str(event["summary"])
        assert item["vaccine"]["name"] in summary and window["kind"].replace("_", "-") in summary
    _, doses = events(r.data, DOSE_CATEGORY)
    assert [e.decoded("dtstart").isoformat() for e in doses] == plan["treatment"]["projected_doses"]
    uids = [str(e["uid"]) for e in cal.walk("VEVENT")]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("body", [PLANNED, MAINTENANCE], ids=["planned-start", "maintenance"])
def test_every_proposed_dose_is_an_appointment_event_named_by_vaccine_and_dose_number(client, body):
    plan = client.post("/v1/plans", json=body).get_json()
    _, appointments = events(client.post("/v1/plans.ics", json=body).data, APPOINTMENT_CATEGORY)
    expected = [(v, p) for v in plan["vaccines"] for p in v["proposed"]]
    assert expected and len(appointments) == len(expected)
    for event, (item, dose) in zip(appointments, expected, strict=True):
        assert event.decoded("dtstart") == date.fromisoformat(dose["date"])
        assert event.decoded("dtend") == date.fromisoformat(dose["date"]) + timedelta(days=1)
        assert str(event["uid"]) == event_uid(item["vaccine"]["id"], "dose", str(dose["dose"]))
        assert f"dose {dose['dose']}" in str(event["summary"]) and str(event["transp"]) == "OPAQUE"


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
