"""The clinic page without a browser: the form's mapping to the plan request, error placement, the verdict in
words, the headers, the calendar and the letter. Every answer on the page must be the API's answer to the body
the form stands for (the browser tests check the same through Chromium)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from service.clinic.form import ClinicForm, form_key, plan_body, read_form
from service.clinic.present import key_windows, long_date, row_label, verdict
from service.security import CLINIC_CSP
from tests.conftest import TODAY

# A yellow fever trip in January for a person on ofatumumab: the letter's case.
YELLOW_FEVER_TRIP = {
    "as_of": "2026-11-24",
    "drug": "ofatumumab",
    "doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"],
    "vaccines": ["yellow fever"],
    "needed_by": "2027-01-12",
}


def post(client, path: str, fields: dict) -> object:
    return client.post(
        path, data=MultiDict([(k, v) for k, vs in fields.items() for v in ([vs] if isinstance(vs, str) else vs)])
    )


def statuses(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-vaccine-id="([^"]+)" data-status="([^"]+)"', html)


def proposed_dates(html: str) -> list[str]:
    return re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})" data-proposed>', html)


@pytest.mark.parametrize(
    ("api_field", "key"),
    [
        ("as_of", "as_of"),
        ("treatment.drug", "drug"),
        ("treatment", "drug"),
        ("treatment.start_date", "start_date"),
        ("treatment.doses", "doses"),
        ("treatment.doses[2]", "doses-2"),
        ("treatment.stopped_on", "stopped_on"),
        ("treatment.b_cell_repletion_on", "b_cell_repletion_on"),
        ("vaccines", "vaccines"),
        ("vaccines[3].name", "vaccines-3"),
        ("vaccines[0].needed_by", "needed_by"),
        ("immunizations[1].date", "immunizations-1-date"),
        ("immunizations[0].name", "immunizations-0-name"),
        ("horizon_days", "form"),
        ("vaccines[2].given[1]", "vaccines-2-given"),
        ("vaccines[0].given", "vaccines-0-given"),
        ("appointment_days", "appointment_days"),
        ("appointment_days[3]", "appointment_days"),
        ("(body)", "form"),
        ("patient.birth_date", "birth_date"),
        ("patient", "birth_date"),
    ],
    ids=lambda v: str(v),
)
def test_each_api_error_field_lands_on_the_form_input_that_holds_it(api_field, key):
    assert form_key(api_field) == key


def test_the_form_becomes_the_api_body_with_blank_inputs_left_out_and_one_departure_for_every_vaccine():
    form = read_form(
        MultiDict(
            [
                ("as_of", "2026-11-24"),
                ("drug", "ofatumumab"),
                ("cadence", "monthly"),
                ("start_date", "2024-03-01"),
                ("doses", ""),
                ("doses", "2026-11-14"),
                ("stopped_on", ""),
                ("immunizations[0].name", "MMR"),
                ("immunizations[0].date", "2026-10-01"),
                ("immunizations[1].name", ""),
                ("immunizations[1].date", ""),
                ("vaccines", "yellow fever"),
                ("given", ""),
                ("vaccines", " "),
                ("given", "2026-01-01"),
                ("vaccines", "Shingrix"),
                ("given", " 2026-09-01, 2026-10-30;2026-11-01 "),
                ("needed_by", "2027-01-12"),
                ("return_on", "2027-01-26"),
                ("destination", "  Accra,   Ghana "),
                ("appointment_days_shown", "1"),
                ("appointment_days", "sat"),
                ("appointment_days", "tue"),
            ]
        )
    )
    assert plan_body(form) == {
        "treatment": {"drug": "ofatumumab", "cadence": "monthly", "start_date": "2024-03-01", "doses": ["2026-11-14"]},
        "as_of": "2026-11-24",
        "immunizations": [{"name": "MMR", "date": "2026-10-01"}],
        "vaccines": [
            {"name": "yellow fever", "needed_by": "2027-01-12"},
            # The doses already given beside a vaccine go with it (a blank row's are dropped with it).
            {"name": "Shingrix", "given": ["2026-09-01", "2026-10-30", "2026-11-01"], "needed_by": "2027-01-12"},
        ],
        "appointment_days": ["tue", "sat"],
    }
    # Printed on the letter, never part of the plan.
    assert (form.return_on, form.destination) == ("2027-01-26", "Accra, Ghana")


@pytest.mark.parametrize(
    ("posted", "days"),
    [
        ([], ["mon", "tue", "wed", "thu", "fri"]),  # a post without the checkboxes: the clinic's default days
        ([("appointment_days_shown", "1")], []),  # none ticked: sent empty, refused by the API naming the field
        ([("appointment_days_shown", "1"), ("appointment_days", "sun")], ["sun"]),
    ],
)
def test_the_clinic_days_are_sent_as_appointment_days(posted, days):
    form = read_form(MultiDict([("vaccines", "Shingrix"), *posted]))
    assert plan_body(form)["appointment_days"] == days


def test_picking_a_candidate_replaces_that_vaccine_name_only():
    form = read_form(MultiDict([("vaccines", "typhoid"), ("vaccines", "rabies"), ("pick", "0|Typhoid Vi vaccine")]))
    assert form.vaccines == ["Typhoid Vi vaccine", "rabies"]
    unchanged = read_form(MultiDict([("vaccines", "typhoid"), ("pick", "7|Typhoid Vi vaccine")]))
    assert unchanged.vaccines == ["typhoid"]


def test_the_empty_page_defaults_as_of_to_the_planner_today_links_the_docs_and_is_never_stored(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CLINIC_CSP
    assert response.headers["Cache-Control"] == "no-store"
    assert f'id="as_of" name="as_of" value="{TODAY.isoformat()}"' in html
    assert 'href="/docs"' in html
    assert '<option value="Shingrix">' in html  # the catalog's names suggested as the nurse types
    # Every input and select has a label.
    ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', html)
    assert ids and all(f'<label for="{i}">' in html for i in ids)


def test_a_form_post_is_planned_exactly_as_post_v1_plans_plans_the_same_body(client, app):
    fields = {
        "as_of": "2026-11-24",
        "drug": "Kesimpta",
        "doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"],
        "vaccines": ["Shingrix", "yellow fever"],
        "needed_by": "2027-01-12",
    }
    page = post(client, "/clinic/plan", fields)
    body = plan_body(
        read_form(MultiDict([(k, v) for k, vs in fields.items() for v in ([vs] if isinstance(vs, str) else vs)]))
    )
    api = client.post("/v1/plans", json=body).get_json()
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert statuses(html) == [(v["vaccine"]["id"], v["status"]) for v in api["vaccines"]]
    assert proposed_dates(html) == [p["date"] for v in api["vaccines"] for p in v["proposed"]]
    assert 'id="open-letter"' in html  # yellow fever must be avoided on maintenance


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    last_dose_days_ago=st.integers(min_value=0, max_value=27),
    departure_in=st.integers(min_value=1, max_value=120),
    vaccines=st.lists(
        st.sampled_from(["MMR", "Shingrix", "yellow fever", "Havrix", "rabies", "Ixiaro"]), min_size=1, max_size=4
    ),
)
def test_for_any_maintenance_history_the_page_shows_the_api_statuses_and_appointments(
    client, last_dose_days_ago, departure_in, vaccines
):
    last = TODAY - timedelta(days=last_dose_days_ago)
    doses = [last - timedelta(days=d) for d in (84, 56, 28, 0)]
    fields = {
        "as_of": TODAY.isoformat(),
        "drug": "ofatumumab",
        "start_date": doses[0].isoformat(),
        "doses": [d.isoformat() for d in doses],
        "vaccines": vaccines,
        "needed_by": (TODAY + timedelta(days=departure_in)).isoformat(),
    }
    body = plan_body(
        read_form(MultiDict([(k, v) for k, vs in fields.items() for v in ([vs] if isinstance(vs, str) else vs)]))
    )
    api = client.post("/v1/plans", json=body)
    page = post(client, "/clinic/plan", fields)
    assert page.status_code == api.status_code
    if api.status_code == 200:
        html = page.get_data(as_text=True)
        answer = api.get_json()
        assert statuses(html) == [(v["vaccine"]["id"], v["status"]) for v in answer["vaccines"]]
        assert proposed_dates(html) == [p["date"] for v in answer["vaccines"] for p in v["proposed"]]


def test_input_the_api_refuses_is_refused_on_the_page_at_the_field_that_holds_it(client):
    fields = {
        "as_of": "2026-11-24",
        "drug": "ofatumumab",
        "doses": ["2026-11-01", "2026-12-01"],
        "vaccines": ["typhoid"],
    }
    page = post(client, "/clinic/plan", fields)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert re.search(r'id="doses-1" name="doses" value="2026-12-01"[^>]*aria-invalid="true"', html)
    assert re.search(r'id="vaccines-0" name="vaccines" value="typhoid"[^>]*aria-invalid="true"', html)
    # The candidates the planner offered, one button each, which re-plan with the chosen product.
    assert 'data-candidate-id="typhoid-vi"' in html and 'name="pick" value="0|' in html


def test_the_calendar_download_is_byte_for_byte_the_api_calendar_for_the_same_body(client):
    fields = {
        "as_of": "2026-11-24",
        "drug": "ofatumumab",
        "doses": ["2026-11-17"],
        "start_date": "2026-11-17",
        "vaccines": ["Shingrix"],
    }
    page = post(client, "/clinic/plan.ics", fields)
    body = plan_body(
        read_form(MultiDict([(k, v) for k, vs in fields.items() for v in ([vs] if isinstance(vs, str) else vs)]))
    )
    api = client.post("/v1/plans.ics", json=body)
    assert page.status_code == 200 and page.mimetype == "text/calendar"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.get_data() == api.get_data()


def test_the_letter_is_offered_only_when_the_plan_says_to_avoid_yellow_fever(client):
    before_start = {
        "as_of": "2026-11-24",
        "drug": "ofatumumab",
        "start_date": "2027-03-01",
        "vaccines": ["yellow fever"],
    }
    refused = post(client, "/clinic/letter", before_start)
    assert refused.status_code == 422 and "no contraindication letter" in refused.get_data(as_text=True)
    on_therapy = {
        **YELLOW_FEVER_TRIP,
        "return_on": "2027-01-30",
    }
    letter = post(client, "/clinic/letter", on_therapy)
    html = letter.get_data(as_text=True)
    assert letter.status_code == 200 and letter.headers["Cache-Control"] == "no-store"
    words = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Vaccination against yellow fever is contraindicated on medical grounds." in words
    assert "La vaccination contre la fièvre jaune est contre-indiquée pour raison médicale." in words
    assert "data-trip-from>2027-01-12<" in html and "data-trip-to>2027-01-30<" in html
    assert "International Health" in html and "Yellow Book" in html  # the wording's sources are cited
    # The traveller's details are typed in the browser: inputs with no name, outside any form.
    assert re.findall(r'<input [^>]*data-fills="(\w+)"', html) == ["name", "birth", "passport"]
    assert not re.search(r'<input [^>]*name="[^"]*"[^>]*data-fills', html) and "<form" not in html


AS_OF = "2026-11-24"
END = "2027-11-24"


def item(status: str, live: bool, proposed=(), windows=(), delay=None, recheck=None) -> dict:
    return {
        "status": status,
        "vaccine": {"live": live},
        "proposed": [{"dose": i + 1, "date": d} for i, d in enumerate(proposed)],
        "windows": [{"kind": k, "start": s, "end": e} for k, s, e in windows],
        "delay_start_to": delay,
        "b_cell_recheck_on": recheck,
    }


@pytest.mark.parametrize(
    ("answer", "kind", "headline", "dates"),
    [
        (
            item("pre_start", True, ["2026-11-24"], [("pre_start", "2026-11-24", "2026-12-01")]),
            "give_today",
            "Give today",
            [("", "2026-11-24"), ("complete by", "2026-12-01")],
        ),
        (
            item(
                "mid_cycle",
                False,
                ["2026-12-01", "2026-12-29"],
                [("mid_cycle", "2026-12-01", "2026-12-08"), ("mid_cycle", "2026-12-29", "2027-01-05")],
            ),
            "book",
            "Book on",
            [("", "2026-12-01"), ("then dose 2 on", "2026-12-29"), ("complete by", "2027-01-05")],
        ),
        (
            item("post_therapy", False, ["2026-11-24"], [("post_therapy", "2026-11-24", END)]),
            "give_today",
            "Give today",
            [("", "2026-11-24")],
        ),
        (
            item("avoid", True, recheck="2027-05-01"),
            "avoid",
            "Avoid during therapy — until B-cell repletion is confirmed",
            [("re-check B cells from", "2027-05-01")],
        ),
        (
            item("avoid", True, delay="2026-12-22"),
            "avoid",
            "Avoid during therapy — until B-cell repletion is confirmed",
            [("or move the first therapy dose to on or after", "2026-12-22")],
        ),
        (item("avoid", False), "none", "No permitted day in the plan's horizon: see the reason", []),
    ],
    ids=[
        "live-today-before-start",
        "series-mid-cycle",
        "open-ended-window-has-no-deadline",
        "live-stopped-recheck",
        "live-start-too-close",
        "non-live-no-window",
    ],
)
def test_the_verdict_in_words_names_only_the_answer_dates(answer, kind, headline, dates):
    v = verdict(answer, AS_OF, END)
    assert (v.kind, v.headline, v.dates) == (kind, headline, dates)


def test_the_printed_plan_keeps_the_windows_that_hold_a_dose_or_open_before_departure():
    answer = item(
        "mid_cycle",
        False,
        ["2026-12-01", "2027-06-15"],
        [
            ("mid_cycle", "2026-12-01", "2026-12-08"),
            ("mid_cycle", "2026-12-29", "2027-01-05"),
            ("mid_cycle", "2027-01-26", "2027-02-02"),
            ("mid_cycle", "2027-06-15", "2027-06-22"),
        ],
    )
    key, other = key_windows(answer, "2027-01-12")
    assert [w["start"] for w in key] == ["2026-12-01", "2026-12-29", "2027-06-15"]
    assert [w["start"] for w in other] == ["2027-01-26"]


@pytest.mark.parametrize(
    ("iso", "words"),
    [("2026-11-24", "Tue 24 Nov 2026"), ("2027-01-05", "Tue 5 Jan 2027")],
    ids=["two-digit-day", "one-digit-day"],
)
def test_dates_read_with_their_weekday(iso, words):
    assert long_date(iso) == words


def test_the_page_clock_is_the_planner_clock_not_the_server_clock():
    from service.app import create_app

    pinned = create_app({"TODAY": date(2030, 1, 2), "LOG_LEVEL": "WARNING"})
    assert 'name="as_of" value="2030-01-02"' in pinned.test_client().get("/").get_data(as_text=True)


def test_an_empty_form_is_refused_with_the_vaccines_field_named(client):
    page = post(client, "/clinic/plan", {"drug": "ofatumumab", "start_date": "2027-01-05"})
    assert page.status_code == 422
    assert 'href="#vaccines">Vaccines wanted:' in page.get_data(as_text=True)
    assert ClinicForm().vaccine_inputs() == ["", "", "", ""]


@pytest.mark.parametrize("path", ["/clinic/plan", "/clinic/letter"], ids=["plan", "letter"])
def test_reloading_an_answer_page_by_get_goes_back_to_an_empty_form(client, path):
    response = client.get(path)
    assert response.status_code == 303 and response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("typed", "catalog_name", "label"),
    [
        ("rabies", "Rabies vaccine, intramuscular (Imovax, RabAvert)", "rabies"),
        (
            "Typhoid Vi vaccine, injectable (polysaccharide or conjugate)",
            "Typhoid Vi vaccine, injectable (polysaccharide or conjugate)",
            "Typhoid Vi vaccine, injectable",
        ),
        (
            "Typhoid vaccine, parenteral whole-cell inactivated (historic)",
            "Typhoid vaccine, parenteral whole-cell inactivated (historic)",
            "Typhoid vaccine, parenteral…",
        ),
    ],
    ids=["short-typed-name", "catalog-name-without-brackets", "cut-at-a-word"],
)
def test_timeline_rows_are_labelled_with_a_name_that_fits(typed, catalog_name, label):
    assert row_label({"request": {"name": typed}, "vaccine": {"name": catalog_name}}) == label


LETTER_CASES = [
    (
        {"doses": ["2026-01-06", "2026-01-13", "2026-01-20", "2026-02-03"], "stopped_on": "2026-03-01"},
        "was treated with ofatumumab",
        "a été traitée par ofatumumab",
    ),
    (
        {"start_date": "2026-12-10"},
        "is to start ofatumumab",
        "doit commencer un traitement par ofatumumab",
    ),
]


@pytest.mark.parametrize(
    ("treatment", "english", "french"), LETTER_CASES, ids=["stopped-not-replete", "start-too-close"]
)
def test_the_letter_states_the_reason_that_fits_the_therapy_phase_in_both_languages(client, treatment, english, french):
    fields = {
        "as_of": "2026-11-24",
        "drug": "ofatumumab",
        "vaccines": ["yellow fever"],
        "needed_by": "2026-12-20",
        **treatment,
    }
    letter = post(client, "/clinic/letter", fields)
    words = " ".join(re.sub(r"<[^>]+>", " ", letter.get_data(as_text=True)).split())
    assert letter.status_code == 200
    assert english in words and french in words


def test_what_a_nurse_types_comes_back_escaped_never_as_markup(client):
    hostile = '"><script>alert(1)</script>'
    page = post(client, "/clinic/plan", {"drug": "ofatumumab", "start_date": "2027-01-05", "vaccines": [hostile]})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert hostile not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# ---- the clinic's days, the patient's copy, ranked warnings, the letter's trip, the clinic's today ----------

ESTABLISHED = {
    "as_of": "2026-11-24",
    "drug": "ofatumumab",
    "start_date": "2024-03-01",
    "doses": ["2026-11-14"],
    "vaccines": ["yellow fever", "Typhim Vi", "hepatitis A", "rabies", "Shingrix"],
    "needed_by": "2027-01-12",
}
# Rule ids ("plan.single-dose", "ofatumumab.mid-cycle-slot") and the API's own words never reach the patient.
RULE_ID = re.compile(r"\b[a-z0-9]+(?:-[a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)+\b")
API_WORDS = (
    "needed_by",
    "as_of",
    "pre_start",
    "mid_cycle",
    "post_therapy",
    "ready_on",
    "history-assumed",
    "meets_",
    "status",
)


def words_of(html: str, start: str, end: str = "</article>") -> str:
    part = html[html.index(start) :]
    return " ".join(re.sub(r"<[^>]+>", " ", part[: part.index(end)]).split())


def test_the_page_proposes_appointments_only_on_the_clinic_days_it_sends(client):
    days = {**ESTABLISHED, "appointment_days_shown": "1", "appointment_days": ["tue", "thu"]}
    html = post(client, "/clinic/plan", days).get_data(as_text=True)
    dates = proposed_dates(html)
    assert dates and {date.fromisoformat(d).weekday() for d in dates} <= {1, 3}
    assert re.search(r'id="day-tue"[^>]* checked', html) and not re.search(r'id="day-mon"[^>]* checked', html)
    # The default, without the checkboxes in the post: the clinic's days, Monday to Friday.
    weekdays = proposed_dates(post(client, "/clinic/plan", ESTABLISHED).get_data(as_text=True))
    assert weekdays and all(date.fromisoformat(d).weekday() < 5 for d in weekdays)


def test_a_clinic_open_on_no_day_is_an_error_at_its_setting(client):
    page = post(client, "/clinic/plan", {**ESTABLISHED, "appointment_days_shown": "1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'href="#appointment_days">Clinic open on:' in html


def test_the_empty_page_ticks_the_clinic_days_the_operator_set():
    from service.app import create_app

    app = create_app({"TODAY": TODAY, "LOG_LEVEL": "WARNING", "APPOINTMENT_DAYS": "sat, mon"})
    html = app.test_client().get("/").get_data(as_text=True)
    ticked = re.findall(r'id="day-(\w+)" checked', html)
    assert ticked == ["mon", "sat"]


@pytest.mark.parametrize(
    ("setting", "value"),
    [("TIMEZONE", "Mars/Olympus"), ("APPOINTMENT_DAYS", "mon,funday"), ("APPOINTMENT_DAYS", " , ")],
)
def test_a_wrong_clinic_setting_stops_the_start_naming_it(setting, value):
    from service.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=f"PLANNER_{setting}"):
        load_settings(environ={f"PLANNER_{setting}": value})


@pytest.mark.parametrize(
    ("zone", "today"),
    [("UTC", "2026-11-24"), ("Pacific/Auckland", "2026-11-25"), ("America/Los_Angeles", "2026-11-24")],
)
def test_the_page_today_is_the_clinic_s_local_date(zone, today):
    """23:30 UTC on 24 Nov is already 12:30 on 25 Nov in Auckland: a clinic there plans as of the 25th."""
    from datetime import UTC, datetime

    from service.app import create_app

    app = create_app({"LOG_LEVEL": "WARNING", "TIMEZONE": zone, "NOW": datetime(2026, 11, 24, 23, 30, tzinfo=UTC)})
    assert f'name="as_of" value="{today}"' in app.test_client().get("/").get_data(as_text=True)


def test_doses_of_a_series_already_given_are_sent_with_their_vaccine(client):
    fields = {**ESTABLISHED, "vaccines": ["Shingrix", "rabies"], "given": ["2026-10-01", ""]}
    html = post(client, "/clinic/plan", fields).get_data(as_text=True)
    doses = re.findall(r'data-vaccine-id="([^"]+)".*?<li data-dose="(\d)"', html, re.S)
    assert ("zoster-recombinant", "2") in doses and ("zoster-recombinant", "1") not in doses
    assert 'id="vaccines-0-given" name="given" value="2026-10-01"' in html
    bad = post(client, "/clinic/plan", {**fields, "given": ["2026-13-01", ""]}).get_data(as_text=True)
    assert re.search(r'id="vaccines-0-given" name="given" value="2026-13-01"[^>]*aria-invalid="true"', bad)
    assert 'href="#vaccines-0-given">Vaccine wanted 1: doses already given:' in bad


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_patient_s_copy_says_what_when_and_what_to_avoid_in_plain_words(client, language):
    api = client.post("/v1/plans", json=plan_body(read_form(MultiDict(list(_pairs(ESTABLISHED)))))).get_json()
    page = post(client, "/clinic/handout", {**ESTABLISHED, "handout_lang": language})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert f'<article class="handout" id="handout" lang="{language}"' in html
    text = words_of(html, '<article class="handout"')
    # Every appointment, once, in date order.
    appointments = sorted(p["date"] for v in api["vaccines"] for p in v["proposed"])
    assert re.findall(r'data-appointment="([\d-]+)"', html) == appointments
    assert not RULE_ID.search(text), RULE_ID.search(text)
    assert not any(word in text for word in API_WORDS)
    if language == "en":
        assert "What to have, and when" in text and "Whom to ask" in text
        assert "Yellow fever vaccine: not while you take ofatumumab" in text and "because it is a live vaccine" in text
        assert "Mon 30 Nov 2026" in text and "Kesimpta" in text
        assert "protection expected" not in text  # every dose here falls in B-cell depletion
    else:
        assert "Vos vaccins, et quand" in text and "À qui demander" in text
        assert "Yellow fever vaccine : ni pendant le traitement par ofatumumab" in text and "vaccin vivant" in text
        assert "lun. 30 nov. 2026" in text


def test_the_printed_plan_page_is_the_patient_s_copy(client):
    html = post(client, "/clinic/plan", ESTABLISHED).get_data(as_text=True)
    assert '<section id="results" class="no-print"' in html
    assert '<div class="print-only"><article class="handout" id="handout" lang="en"' in html.replace("\n", "")


def _pairs(fields: dict):
    for key, values in fields.items():
        for value in [values] if isinstance(values, str) else values:
            yield key, value


@pytest.mark.parametrize(
    ("treatment", "headline"),
    [
        ({"doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]}, "Avoid during therapy"),
        ({"start_date": "2026-12-10"}, "Avoid for now — no permitted day before the first therapy dose"),
        (
            {"doses": ["2026-01-06", "2026-01-13", "2026-01-20", "2026-02-03"], "stopped_on": "2026-03-01"},
            "Avoid until B-cell repletion is confirmed",
        ),
    ],
    ids=["on-therapy", "not-started", "stopped"],
)
def test_avoid_during_therapy_is_said_only_to_a_patient_on_therapy(client, treatment, headline):
    fields = {"as_of": "2026-11-24", "drug": "ofatumumab", "vaccines": ["yellow fever"], **treatment}
    html = post(client, "/clinic/plan", fields).get_data(as_text=True)
    verdict_text = words_of(html, '<p class="verdict"', "</p>")
    assert headline in verdict_text
    assert ("during therapy" in verdict_text) == ("during therapy" in headline)


def test_a_warning_is_shown_prominently_only_when_it_changes_what_to_do_today(client):
    # On it since 2024, recent doses listed: history-assumed explains the plan; nothing to do about it today.
    quiet = post(client, "/clinic/plan", ESTABLISHED).get_data(as_text=True)
    assert 'data-warning-level="act"' not in quiet and "Check before vaccinating" not in quiet
    assert re.search(r'data-warning-level="note".*?data-warning-code="history-assumed"', quiet, re.S)
    # A live vaccine given 10 days before a planned start: it may move the first dose, so it is shown first.
    loud = post(
        client,
        "/clinic/plan",
        {
            "as_of": "2026-11-24",
            "drug": "ofatumumab",
            "start_date": "2026-12-01",
            "immunizations[0].name": "MMR",
            "immunizations[0].date": "2026-11-20",
            "vaccines": ["Shingrix"],
        },
    ).get_data(as_text=True)
    assert re.search(r'data-warning-level="act".*?data-warning-code="live-vaccine-before-start"', loud, re.S)
    assert loud.index('data-warning-level="act"') < loud.index('class="vaccine-results"')


def test_every_warning_code_has_a_level_and_the_clinic_doc_lists_it():
    from pathlib import Path

    from service.clinic.present import WARNING_LEVELS
    from service.domain import advisories

    codes = {v for k, v in vars(advisories).items() if k.isupper() and isinstance(v, str) and "-" in v}
    assert codes <= set(WARNING_LEVELS)
    doc = (Path(__file__).resolve().parents[1] / "docs" / "clinic.md").read_text(encoding="utf-8")
    for code, level in WARNING_LEVELS.items():
        assert re.search(rf"\| `{re.escape(code)}` \| {level} \|", doc), code


def test_the_letter_names_the_destination_and_refuses_a_return_before_the_departure(client):
    on_therapy = {
        **YELLOW_FEVER_TRIP,
        "return_on": "2027-01-30",
        "destination": "Accra, Ghana <script>",
    }
    html = post(client, "/clinic/letter", on_therapy).get_data(as_text=True)
    assert "<td data-destination>Accra, Ghana &lt;script&gt;</td>" in html
    for path in ("/clinic/letter", "/clinic/plan", "/clinic/handout"):
        page = post(client, path, {**on_therapy, "return_on": "2027-01-11"})
        html = page.get_data(as_text=True)
        assert page.status_code == 422, path
        assert 'href="#return_on">Return date: The return date is before the departure date' in html
        assert re.search(r'id="return_on" name="return_on" value="2027-01-11"[^>]*aria-invalid="true"', html)
    same_day = post(client, "/clinic/letter", {**on_therapy, "return_on": "2027-01-12"})
    assert same_day.status_code == 200


def test_the_patient_s_copy_warns_about_other_live_vaccines_until_repletion_is_confirmed(client):
    stopped = {
        "as_of": "2026-11-24",
        "drug": "ofatumumab",
        "doses": ["2025-09-01", "2025-09-08", "2025-09-15", "2025-09-29"],
        "stopped_on": "2025-10-20",
        "vaccines": ["yellow fever", "Shingrix"],
    }
    other_live = "Any other live vaccine"
    not_replete = words_of(post(client, "/clinic/handout", stopped).get_data(as_text=True), '<article class="handout"')
    assert other_live in not_replete and "Yellow fever vaccine: not until a blood test shows" in not_replete
    replete = {**stopped, "b_cell_repletion_on": "2026-11-02"}
    text = words_of(post(client, "/clinic/handout", replete).get_data(as_text=True), '<article class="handout"')
    assert other_live not in text and "not until a blood test" not in text
    assert "Yellow fever vaccine" in text and "single dose" in text  # planned, with a date


# ---- the traveller's date of birth: patient.birth_date ----------------------------------------------------

# Ixiaro before a start on 2027-01-19, leaving on 2026-12-10: the standard schedule (days 0 and 28) cannot
# protect by then; the accelerated one (days 0 and 7, for ages 18 to 65) can.
NEAR_DEPARTURE = {
    "as_of": "2026-11-24",
    "drug": "ofatumumab",
    "start_date": "2027-01-19",
    "vaccines": ["Ixiaro"],
    "needed_by": "2026-12-10",
}
BIRTH_DATE = "1988-05-02"  # aged 38


def test_the_date_of_birth_is_sent_as_patient_birth_date_and_left_out_when_blank():
    typed = read_form(MultiDict([*_pairs(NEAR_DEPARTURE), ("birth_date", f" {BIRTH_DATE} ")]))
    assert plan_body(typed)["patient"] == {"birth_date": BIRTH_DATE}
    assert "patient" not in plan_body(read_form(MultiDict([*_pairs(NEAR_DEPARTURE), ("birth_date", "")])))


def test_with_a_date_of_birth_and_a_near_departure_the_accelerated_schedule_is_planned(client):
    page = post(client, "/clinic/plan", {**NEAR_DEPARTURE, "birth_date": BIRTH_DATE})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert proposed_dates(html) == ["2026-11-24", "2026-12-01"]
    assert 'data-rule="series.je-inactivated-accelerated"' in html
    assert 'data-meets-needed-by="true"' in html
    # Kept when the form is shown again under the answer.
    assert f'id="birth_date" name="birth_date" value="{BIRTH_DATE}"' in html


def test_without_a_date_of_birth_the_page_says_to_enter_it_in_its_own_words(client):
    html = post(client, "/clinic/plan", NEAR_DEPARTURE).get_data(as_text=True)
    assert proposed_dates(html) == ["2026-11-24", "2026-12-22"]
    assert 'data-rule="series.je-inactivated-accelerated"' not in html
    assert 'data-meets-needed-by="false"' in html
    reason = words_of(html, '<dd class="reason">', "</dd>")
    assert "could, for a patient aged 18 to 65: enter the date of birth to use it" in reason
    assert "patient.birth_date" not in html


def test_the_date_of_birth_input_is_labelled_described_and_with_the_traveller(client):
    html = client.get("/").get_data(as_text=True)
    assert "<legend>The traveller</legend>" in html
    assert html.index('id="birth_date"') < html.index('id="drug"')  # the traveller first, then the therapy
    assert '<label for="birth_date">Date of birth (optional)</label>' in html
    assert re.search(
        r'<input type="date" id="birth_date" name="birth_date" value=""[^>]*aria-describedby="birth_date-hint"', html
    )


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2026-12-01", "is after as_of: a date of birth is in the past"),
        ("1888-01-01", "Date out of range"),
        ("1988-13-02", ""),
    ],
)
def test_a_date_of_birth_the_api_refuses_is_shown_on_its_input_and_kept(client, typed, message):
    page = post(client, "/clinic/plan", {**NEAR_DEPARTURE, "birth_date": typed})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert re.search(rf'id="birth_date" name="birth_date" value="{typed}"[^>]*aria-invalid="true"', html)
    assert re.search(r'aria-describedby="birth_date-hint birth_date-error1"', html)
    assert f'<a href="#birth_date">Date of birth: {message}' in html


def test_the_date_of_birth_is_not_on_the_patient_s_copy(client):
    fields = {**NEAR_DEPARTURE, "birth_date": BIRTH_DATE}
    handout = post(client, "/clinic/handout", fields).get_data(as_text=True)
    assert "2026-12-01" in handout or "1 Dec 2026" in handout  # the accelerated dose 2 is on it
    assert "1988" not in handout
    page = post(client, "/clinic/plan", fields).get_data(as_text=True)
    printed = page[page.index('<div class="print-only">') :]
    assert "1988" not in printed[: printed.index("</article>")]


def test_the_letter_s_date_of_birth_is_pre_filled_from_the_form(client):
    html = post(client, "/clinic/letter", {**YELLOW_FEVER_TRIP, "birth_date": BIRTH_DATE}).get_data(as_text=True)
    assert re.search(rf'<input [^>]*data-fills="birth"[^>]*value="{BIRTH_DATE}"', html)
    assert f'data-fill="birth">{BIRTH_DATE}</span>' in html
    assert not re.search(r'<input [^>]*name="[^"]*"[^>]*data-fills', html) and "<form" not in html
    blank = post(client, "/clinic/letter", YELLOW_FEVER_TRIP).get_data(as_text=True)
    assert 'data-fill="birth"></span>' in blank


def test_the_date_of_birth_typed_on_the_page_is_never_logged(caplog, capfd, log_lines):
    from service.app import create_app

    client = create_app({"TODAY": TODAY, "LOG_LEVEL": "DEBUG"}).test_client()
    caplog.set_level("DEBUG")
    for typed in ("1961-07-13", "1961-13-13", "2061-01-01"):
        post(client, "/clinic/plan", {**NEAR_DEPARTURE, "birth_date": typed})
    out, err = capfd.readouterr()
    lines = len([r for r in caplog.records if getattr(r, "route", None) == "/clinic/plan"])
    assert lines + (out + err).count('"route": "/clinic/plan"') == 3  # the access lines were seen
    logged = out + err + caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    assert "1961" not in logged and "2061" not in logged
