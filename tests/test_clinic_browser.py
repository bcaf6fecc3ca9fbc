"""The travel clinic page in a real browser: Debian's Chromium, headless, against gunicorn on loopback.

A nurse's three real cases are typed into the form; every verdict, window, appointment and readiness on the
page must equal the answer POST /v1/plans gives for the same input. The printed plan and the yellow fever
letter must fit one page each, the letter's traveller details are typed in the browser and never reach the
server, the page works with JavaScript off, and axe-core finds no serious or critical accessibility issue.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from tests.browser import axe_violations, chromium, missing_reason, pdf_page_count
from tests.server import gunicorn

pytestmark = pytest.mark.browser

MISSING = missing_reason()


@pytest.fixture(scope="module", autouse=True)
def browser_available() -> None:
    # On CI the browser is installed by `make test` (as root): a missing one is a failure there, not a skip.
    if MISSING is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run on CI: {MISSING}")
        pytest.skip(MISSING)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with gunicorn(tmp_path_factory.mktemp("clinic"), workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def browser(browser_available):
    with chromium() as driver:
        yield driver


def by():
    from selenium.webdriver.common.by import By

    return By


@dataclass(frozen=True)
class Case:
    """One nurse's input, every date as days from the plan date (today, as the page's as_of says)."""

    id: str
    vaccines: tuple[str, ...]
    # typed name -> catalog id of the candidate the nurse picks when the planner asks "which product?"
    picks: dict[str, str] = field(default_factory=dict)
    start_date: int | str | None = None
    doses: tuple[int, ...] = ()
    stopped_on: int | None = None
    b_cell_repletion_on: int | None = None
    needed_by: int | None = None
    return_on: int | None = None
    immunizations: tuple[tuple[str, int], ...] = ()


GHANA_VACCINES = ("yellow fever", "typhoid", "hepatitis A", "rabies")
GHANA_PICKS = {"typhoid": "typhoid-vi"}
# Maintenance since 2024, last injection 10 days ago, departure in 7 weeks: the contract's partial history.
GHANA_PARTIAL = Case(
    "ghana-maintenance-partial-history",
    GHANA_VACCINES,
    GHANA_PICKS,
    start_date="2024-03-01",
    doses=(-10,),
    needed_by=49,
    return_on=63,
)
# The same patient with the recent history written out from a start 38 days before the last injection
# (weeks 0, 1, 2, 4; the last injection 10 days ago): planned on every branch of the contract.
GHANA_LISTED = Case(
    "ghana-maintenance-listed-history",
    GHANA_VACCINES,
    GHANA_PICKS,
    start_date=-38,
    doses=(-38, -31, -24, -10),
    needed_by=49,
    return_on=63,
)
STARTING = Case("starting-in-5-weeks", ("yellow fever", "MMR"), start_date=35, needed_by=28)
STOPPED = Case(
    "stopped-repletion-confirmed",
    ("yellow fever", "MMR", "Shingrix"),
    start_date=-420,
    doses=(-420, -413, -406, -392),
    stopped_on=-380,
    b_cell_repletion_on=-20,
    needed_by=42,
    immunizations=(("Vaxchora", -30),),
)
CASES = (GHANA_PARTIAL, GHANA_LISTED, STARTING, STOPPED)
# Five vaccines for one trip: the patient's copy must still print on one A4 page.
FIVE_VACCINES = Case(
    "ghana-five-vaccines",
    (*GHANA_VACCINES, "Shingrix"),
    GHANA_PICKS,
    start_date="2024-03-01",
    doses=(-10,),
    needed_by=49,
    return_on=63,
)
CLINIC_DAYS = ["mon", "tue", "wed", "thu", "fri"]


def iso(today: date, offset: int | str | None) -> str | None:
    if offset is None or isinstance(offset, str):
        return offset
    return (today + timedelta(days=offset)).isoformat()


def set_date(driver, element_id: str, value: str) -> None:
    # A date input's typed format follows the browser's locale; the value property is always YYYY-MM-DD.
    driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(by().ID, element_id), value)


def gone(element):
    """A wait condition: `element` is no longer in the page. Chromedriver says so with a stale-element error,
    or, when asked in the instant the old document is being replaced, with "Node with given id does not
    belong to the document" (a plain WebDriverException, which selenium's staleness_of lets through)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def check(_driver) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    return check


def submit(driver, button) -> None:
    """Click a submit button and wait for the answer page (the clicked button goes stale when it arrives)."""
    from selenium.webdriver.support.ui import WebDriverWait

    button.click()
    WebDriverWait(driver, 60).until(gone(button))
    # The old page is gone; wait for the new one to finish loading too (a script run mid-load can meet a node
    # of the document being replaced: "Node with given id does not belong to the document").
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")


def type_name(element, name: str) -> None:
    """Type a vaccine name as a nurse would; Escape closes the catalog's suggestion list, which would
    otherwise take the next click."""
    from selenium.webdriver.common.keys import Keys

    element.send_keys(name)
    element.send_keys(Keys.ESCAPE)


def add_input(driver, group: str, index: int) -> None:
    """Click 'Add another' until input `group-index` exists (JavaScript on), as a nurse would."""
    while not driver.find_elements(by().ID, f"{group}-{index}"):
        driver.find_element(by().CSS_SELECTOR, f'button.add-row[data-add-to="{group}"]').click()


def fill(driver, base_url: str, case: Case) -> date:
    """Open the page, type the case, submit, answer 'which product?' by picking; returns the plan date."""
    driver.get(base_url + "/")
    today = date.fromisoformat(driver.find_element(by().ID, "as_of").get_attribute("value"))
    if case.start_date is not None:
        set_date(driver, "start_date", iso(today, case.start_date))
    for i, offset in enumerate(case.doses):
        add_input(driver, "doses", i)
        set_date(driver, f"doses-{i}", iso(today, offset))
    for name, offset in (("stopped_on", case.stopped_on), ("b_cell_repletion_on", case.b_cell_repletion_on)):
        if offset is not None:
            set_date(driver, name, iso(today, offset))
    for i, (name, offset) in enumerate(case.immunizations):
        type_name(driver.find_element(by().ID, f"immunizations-{i}-name"), name)
        set_date(driver, f"immunizations-{i}-date", iso(today, offset))
    for i, name in enumerate(case.vaccines):
        add_input(driver, "vaccines", i)
        type_name(driver.find_element(by().ID, f"vaccines-{i}"), name)
    if case.needed_by is not None:
        set_date(driver, "needed_by", iso(today, case.needed_by))
    if case.return_on is not None:
        set_date(driver, "return_on", iso(today, case.return_on))
    submit(driver, driver.find_element(by().ID, "make-plan"))
    for _ in range(len(case.picks) + 1):
        offered = driver.find_elements(by().CSS_SELECTOR, "[data-candidates-for] button[data-candidate-id]")
        wanted = [b for b in offered if b.get_attribute("data-candidate-id") in case.picks.values()]
        if not wanted:
            break
        submit(driver, wanted[0])
    return today


def api_body(case: Case, today: date, names: list[str]) -> dict[str, Any]:
    """The contract's request for the case, written here from the case (not by the page's code)."""
    treatment: dict[str, Any] = {"drug": "ofatumumab", "cadence": "every_4_weeks"}
    if case.start_date is not None:
        treatment["start_date"] = iso(today, case.start_date)
    if case.doses:
        treatment["doses"] = [iso(today, d) for d in case.doses]
    if case.stopped_on is not None:
        treatment["stopped_on"] = iso(today, case.stopped_on)
    if case.b_cell_repletion_on is not None:
        treatment["b_cell_repletion_on"] = iso(today, case.b_cell_repletion_on)
    body: dict[str, Any] = {"as_of": today.isoformat(), "treatment": treatment}
    if case.immunizations:
        body["immunizations"] = [{"name": n, "date": iso(today, d)} for n, d in case.immunizations]
    body["vaccines"] = [
        {"name": n, **({"needed_by": iso(today, case.needed_by)} if case.needed_by is not None else {})} for n in names
    ]
    body["appointment_days"] = CLINIC_DAYS  # the page's default clinic days, ticked when it opens
    return body


def long_date(text: str) -> str:
    d = date.fromisoformat(text)
    return f"{d:%a} {d.day} {d:%b %Y}"


def times(element, selector: str) -> list[str]:
    return [t.get_attribute("datetime") for t in element.find_elements(by().CSS_SELECTOR, selector)]


def page_plan(driver) -> dict[str, Any]:
    """What the page shows, read through its stable hooks (data-* attributes and <time datetime>)."""
    results = []
    for li in driver.find_elements(by().CSS_SELECTOR, "li.vaccine-result"):
        windows = [
            (
                w.get_attribute("data-window-kind"),
                times(w, "time[data-window-start]")[0],
                times(w, "time[data-window-end]")[0],
            )
            for w in li.find_elements(by().CSS_SELECTOR, "[data-window-kind]")
        ]
        proposed = [
            (int(p.get_attribute("data-dose")), times(p, "time[data-proposed]")[0])
            for p in li.find_elements(by().CSS_SELECTOR, "[data-dose]")
        ]
        ready = times(li, "time[data-ready-on]")
        verdict = li.find_element(by().CSS_SELECTOR, ".verdict")
        results.append(
            {
                "id": li.get_attribute("data-vaccine-id"),
                "status": li.get_attribute("data-status"),
                "windows": windows,
                "proposed": proposed,
                "ready_on": ready[0] if ready else None,
                "meets": li.find_element(by().CSS_SELECTOR, "[data-meets-needed-by]").get_attribute(
                    "data-meets-needed-by"
                ),
                "verdict": verdict.get_attribute("data-verdict"),
                "verdict_dates": times(verdict, "time"),
                "rules": [a.get_attribute("data-rule") for a in li.find_elements(by().CSS_SELECTOR, "a[data-rule]")],
                "reason": li.find_element(by().CSS_SELECTOR, ".reason").text,
            }
        )
    results_sorted = results
    for r in results_sorted:
        r["windows"].sort(key=lambda w: w[1])  # windows worth printing first, the rest folded away after them
    return {
        "warnings": [
            w.get_attribute("data-warning-code") for w in driver.find_elements(by().CSS_SELECTOR, "[data-warning-code]")
        ],
        "next_dose": times(driver, "time[data-next-dose]"),
        "results": results,
        "timeline_doses": sorted(
            e.get_attribute("data-proposed-date")
            for e in driver.find_elements(by().CSS_SELECTOR, "circle[data-proposed-date]")
        ),
        "departure_line": [
            e.get_attribute("data-departure-date")
            for e in driver.find_elements(by().CSS_SELECTOR, "[data-departure-date]")
        ],
    }


def assert_page_equals_api(driver, api: dict[str, Any], needed_by: str | None) -> None:
    from service.clinic.present import warning_level

    shown = page_plan(driver)
    # Every warning, shown prominently only when it changes what to do today (docs/clinic.md, "Warnings").
    assert sorted(shown["warnings"]) == sorted(w["code"] for w in api["warnings"])
    for element in driver.find_elements(by().CSS_SELECTOR, "[data-warning-code]"):
        level = element.find_element(by().XPATH, "ancestor::*[@data-warning-level]").get_attribute("data-warning-level")
        assert level == warning_level(element.get_attribute("data-warning-code"))
    assert shown["next_dose"] == ([api["treatment"]["next_dose"]] if api["treatment"]["next_dose"] else [])
    assert len(shown["results"]) == len(api["vaccines"])
    for page, item in zip(shown["results"], api["vaccines"], strict=True):
        assert page["id"] == item["vaccine"]["id"]
        assert page["status"] == item["status"]
        assert page["windows"] == [(w["kind"], w["start"], w["end"]) for w in item["windows"]]
        assert page["proposed"] == [(p["dose"], p["date"]) for p in item["proposed"]]
        assert page["ready_on"] == item["ready_on"]
        assert page["meets"] == {True: "true", False: "false", None: "none"}[item["meets_needed_by"]]
        assert page["rules"] == item["rules"]
        assert page["reason"] == item["reason"]
        # The verdict in words follows from the answer, and every date it names is one of the answer's.
        if item["status"] == "avoid" or not item["proposed"]:
            assert page["verdict"] == ("avoid" if item["vaccine"]["live"] and item["status"] == "avoid" else "none")
        elif item["proposed"][0]["date"] == api["as_of"]:
            assert page["verdict"] == "give_today"
        else:
            assert page["verdict"] == "book"
        answer_dates = {p["date"] for p in item["proposed"]} | {w["end"] for w in item["windows"]}
        answer_dates |= {item["delay_start_to"], item["b_cell_recheck_on"]} - {None}
        assert set(page["verdict_dates"]) <= answer_dates
        assert page["verdict_dates"][: len(item["proposed"])] == [p["date"] for p in item["proposed"]]
        # The clinic's days: every appointment falls on a weekday.
        assert all(date.fromisoformat(p["date"]).weekday() < 5 for p in item["proposed"])
    shown_in_timeline = sorted(p["date"] for v in api["vaccines"] for p in v["proposed"])
    assert shown["timeline_doses"] == shown_in_timeline
    assert shown["departure_line"] == ([needed_by] if needed_by else [])
    # The words on the page are the same dates: every visible <time> reads as its datetime attribute.
    for t in driver.find_elements(by().CSS_SELECTOR, "#results time"):
        if t.is_displayed() and t.text:
            assert t.text == long_date(t.get_attribute("datetime"))


def assert_page_shows_api_errors(driver, problem: dict[str, Any]) -> None:
    """The API refused the input: the page refuses it too, with the same messages at the same fields."""
    summary = driver.find_element(by().ID, "error-summary").text
    for error in problem["errors"]:
        assert error["message"] in summary


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_verdict_and_date_on_the_page_equals_the_api_answer_for_the_same_input(browser, server, case):
    today = fill(browser, server.url, case)
    names = [e.get_attribute("value") for e in browser.find_elements(by().NAME, "vaccines") if e.get_attribute("value")]
    for typed, picked in case.picks.items():
        assert typed not in names, f"{typed!r} should have been replaced by the nurse's pick {picked!r}"
    answer = requests.post(f"{server.url}/v1/plans", json=api_body(case, today, names), timeout=30)
    if answer.status_code == 422:
        # Only a partial history may be refused, by a service that does not read partial histories yet
        # (contract revision 2): the page must then refuse it the same way.
        assert case is GHANA_PARTIAL, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["treatment.start_date"]
        assert_page_shows_api_errors(browser, answer.json())
        return
    assert answer.status_code == 200, answer.text
    assert_page_equals_api(browser, answer.json(), iso(today, case.needed_by))
    picked = {r.get_attribute("data-vaccine-id") for r in browser.find_elements(by().CSS_SELECTOR, "li.vaccine-result")}
    assert set(case.picks.values()) <= picked
    assert pdf_page_count(browser) == 1  # the printed patient plan: one A4 page for each of these trips


def test_the_ghana_plan_prints_on_one_page_and_its_yellow_fever_letter_is_filled_in_the_browser(browser, server):
    today = fill(browser, server.url, GHANA_LISTED)
    yellow_fever = browser.find_element(by().CSS_SELECTOR, 'li.vaccine-result[data-vaccine-id="yellow-fever"]')
    assert yellow_fever.get_attribute("data-status") == "avoid"
    assert "Avoid during therapy" in yellow_fever.find_element(by().CSS_SELECTOR, ".verdict").text
    assert browser.find_element(by().ID, "print-plan").is_displayed()
    assert pdf_page_count(browser) == 1

    submit(browser, browser.find_element(by().ID, "open-letter"))
    letter = browser.find_element(by().ID, "letter")
    assert letter.get_attribute("data-vaccine-id") == "yellow-fever"
    assert browser.find_element(by().CSS_SELECTOR, "time[data-trip-from]").get_attribute("datetime") == iso(today, 49)
    assert browser.find_element(by().CSS_SELECTOR, "time[data-trip-to]").get_attribute("datetime") == iso(today, 63)
    assert (
        browser.find_element(by().CSS_SELECTOR, "time[data-letter-date]").get_attribute("datetime") == today.isoformat()
    )
    english = browser.find_element(by().CSS_SELECTOR, '[data-lang="en"]').text
    french = browser.find_element(by().CSS_SELECTOR, '[data-lang="fr"]').text
    assert "contraindicated on medical grounds" in english and "ofatumumab" in english
    assert "contre-indiquée pour raison médicale" in french and "ofatumumab" in french
    typed = {"name": "Ama Mensah-Testperson", "birth": "1980-02-29", "passport": "G0000000X"}
    for key, value in typed.items():
        field_input = browser.find_element(by().CSS_SELECTOR, f'input[data-fills="{key}"]')
        # Typed on the page only: no name to be submitted under, and no form to submit it.
        assert field_input.get_attribute("name") in (None, "")
        assert browser.execute_script("return arguments[0].form", field_input) is None
        field_input.send_keys(value)
        assert letter.find_element(by().CSS_SELECTOR, f'[data-fill="{key}"]').text == value
    assert pdf_page_count(browser) == 1
    log = server.log()
    for value in (*typed.values(), iso(today, -10), iso(today, 49)):
        assert value not in log


def test_the_page_works_with_javascript_off_from_form_to_plan_and_letter(server):
    with chromium(javascript=False) as driver:
        case = STOPPED
        today = fill(driver, server.url, case)
        assert not driver.find_element(by().CSS_SELECTOR, "button.add-row").is_displayed()
        names = [
            e.get_attribute("value") for e in driver.find_elements(by().NAME, "vaccines") if e.get_attribute("value")
        ]
        answer = requests.post(f"{server.url}/v1/plans", json=api_body(case, today, names), timeout=30)
        assert answer.status_code == 200, answer.text
        assert_page_equals_api(driver, answer.json(), iso(today, case.needed_by))
        # Yellow fever is planned here (repletion confirmed), so the page offers no contraindication letter.
        assert not driver.find_elements(by().ID, "open-letter")

        fill(driver, server.url, GHANA_LISTED)
        submit(driver, driver.find_element(by().ID, "open-letter"))
        assert not driver.find_element(by().ID, "letter-inputs").is_displayed()
        blanks = driver.find_elements(by().CSS_SELECTOR, "#letter [data-fill]")
        assert [b.get_attribute("data-fill") for b in blanks] == ["name", "birth", "passport"]
        assert all(b.text == "" for b in blanks)


def test_a_keyboard_alone_reaches_every_field_and_submits_the_plan(browser, server):
    from selenium.webdriver.common.keys import Keys

    browser.get(server.url + "/")
    fields = [
        e.get_attribute("id")
        for e in browser.find_elements(by().CSS_SELECTOR, "#plan-form input, #plan-form select")
        if e.is_displayed()
    ]
    reached = []
    body = browser.find_element(by().TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(200):
        active = browser.switch_to.active_element
        if active.get_attribute("id") == "make-plan":
            break
        reached.append(active.get_attribute("id"))
        if active.get_attribute("id") == "vaccines-0":
            type_name(active, "Shingrix")
        if active.get_attribute("id") == "start_date":
            set_date(browser, "start_date", (date.today() + timedelta(days=60)).isoformat())
        active.send_keys(Keys.TAB)
    assert set(fields) <= set(reached)
    button = browser.switch_to.active_element
    button.send_keys(Keys.ENTER)
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 60).until(gone(button))
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
    result = browser.find_element(by().CSS_SELECTOR, 'li.vaccine-result[data-vaccine-id="zoster-recombinant"]')
    assert result.get_attribute("data-status") == "pre_start"


@pytest.mark.parametrize(
    "view",
    ["empty-form", "ambiguous-names", "birth-date-error", "ghana-plan", "ghana-letter", "ghana-handout-fr", "rules"],
    ids=[
        "empty-form",
        "ambiguous-names",
        "birth-date-error",
        "ghana-plan",
        "ghana-letter",
        "ghana-handout-fr",
        "rules",
    ],
)
def test_axe_core_finds_no_serious_or_critical_accessibility_violation(browser, server, view):
    if view == "empty-form":
        browser.get(server.url + "/")
    elif view == "ambiguous-names":
        fill(browser, server.url, Case("ambiguous", ("typhoid", "TBE vaccine"), start_date=60))
        assert browser.find_elements(by().CSS_SELECTOR, "[data-candidates-for]")
    elif view == "birth-date-error":
        browser.get(server.url + "/")
        today = date.fromisoformat(browser.find_element(by().ID, "as_of").get_attribute("value"))
        set_date(browser, "birth_date", (today + timedelta(days=1)).isoformat())  # after as_of: refused
        set_date(browser, "start_date", (today + timedelta(days=60)).isoformat())
        type_name(browser.find_element(by().ID, "vaccines-0"), "Shingrix")
        submit(browser, browser.find_element(by().ID, "make-plan"))
        assert browser.find_element(by().ID, "birth_date").get_attribute("aria-invalid") == "true"
    elif view == "ghana-plan":
        fill(browser, server.url, GHANA_LISTED)
    elif view == "ghana-letter":
        fill(browser, server.url, GHANA_LISTED)
        submit(browser, browser.find_element(by().ID, "open-letter"))
    elif view == "ghana-handout-fr":
        fill(browser, server.url, GHANA_LISTED)
        submit(browser, browser.find_element(by().ID, "handout-fr"))
    else:
        browser.get(server.url + "/clinic/rules")
    assert axe_violations(browser) == []


def test_no_page_request_puts_patient_data_in_a_url(browser, server):
    fill(browser, server.url, GHANA_LISTED)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/clinic/plan", browser.current_url)
    entries = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all("?" not in url for url in [browser.current_url, *entries])


def print_media_font_sizes(driver, selector: str) -> list[float]:
    """The computed font sizes (CSS px) of the visible text elements under `selector`, as printed."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        return driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).filter(e => e.offsetParent !== null"
            " && e.textContent.trim()).map(e => parseFloat(getComputedStyle(e).fontSize));",
            selector,
        )
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


# Rule ids ("plan.single-dose") and the API's field names never reach the patient's page.
RULE_ID = re.compile(r"\b[a-z0-9]+(?:-[a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)+\b")
API_WORDS = ("needed_by", "as_of", "pre_start", "mid_cycle", "post_therapy", "ready_on", "meets_", "history-assumed")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_patient_s_copy_of_a_five_vaccine_trip_prints_on_one_a4_page_in_readable_type(browser, server, language):
    today = fill(browser, server.url, FIVE_VACCINES)
    results = browser.find_elements(by().CSS_SELECTOR, "li.vaccine-result")
    assert len(results) == 5
    proposed = sorted(times(browser, "time[data-proposed]"))
    # The plan page printed is the patient's copy (English) alone: one page.
    assert pdf_page_count(browser) == 1
    submit(browser, browser.find_element(by().ID, f"handout-{language}"))
    handout = browser.find_element(by().ID, "handout")
    assert handout.get_attribute("lang") == language
    assert sorted(times(handout, "tr[data-appointment] time")) == proposed and proposed
    text = handout.text
    assert not RULE_ID.search(text), RULE_ID.search(text)
    assert not any(word in text for word in API_WORDS)
    assert ("Whom to ask" if language == "en" else "À qui demander") in text
    assert browser.find_element(by().ID, "print-handout").is_displayed()
    # Readable type on paper: nothing under 10.5 pt (14 CSS px) in the printed copy.
    sizes = print_media_font_sizes(browser, "#handout p, #handout li, #handout td, #handout th")
    assert sizes and min(sizes) >= 14, sizes
    assert pdf_page_count(browser) == 1
    assert iso(today, 49) not in server.log()


def no_sideways_scroll(driver) -> bool:
    return driver.execute_script(
        "const d = document.documentElement; return d.scrollWidth <= d.clientWidth"
        " && document.body.scrollWidth <= d.clientWidth;"
    )


@contextlib.contextmanager
def viewport(driver, width: int):
    """A viewport `width` CSS pixels wide (what 400 % zoom makes of a 1280-pixel window at 320)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    )
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_form_plan_and_letter_reflow_at_320_px_without_sideways_scrolling(browser, server):
    with viewport(browser, 320):
        browser.get(server.url + "/")
        assert browser.execute_script("return window.innerWidth") == 320
        assert no_sideways_scroll(browser)
        fill(browser, server.url, GHANA_LISTED)
        assert browser.find_elements(by().CSS_SELECTOR, "li.vaccine-result")
        assert no_sideways_scroll(browser)
        submit(browser, browser.find_element(by().ID, "open-letter"))
        assert browser.find_element(by().ID, "letter").is_displayed()
        assert no_sideways_scroll(browser)


def test_the_letter_refuses_a_return_before_departure_and_holds_its_layout_with_long_input(browser, server):
    long_place = "Accra, Kumasi, Tamale and the Volta region " + "Kwahu-Mpraeso-Abetifi" * 4
    case = Case(
        "ghana-long-input",
        GHANA_VACCINES,
        GHANA_PICKS,
        start_date=-38,
        doses=(-38, -31, -24, -10),
        needed_by=49,
        return_on=40,
    )
    fill(browser, server.url, case)
    summary = browser.find_element(by().ID, "error-summary").text
    assert "Return date: The return date is before the departure date" in summary
    assert browser.find_element(by().ID, "return_on").get_attribute("aria-invalid") == "true"
    today = date.fromisoformat(browser.find_element(by().ID, "as_of").get_attribute("value"))
    set_date(browser, "return_on", iso(today, 63))
    destination = browser.find_element(by().ID, "destination")
    destination.clear()
    destination.send_keys(long_place)
    submit(browser, browser.find_element(by().ID, "make-plan"))
    submit(browser, browser.find_element(by().ID, "open-letter"))
    letter = browser.find_element(by().ID, "letter")
    shown = letter.find_element(by().CSS_SELECTOR, "[data-destination]").text
    assert shown == long_place[:120].strip()
    # As long as the inputs take (a name of 120 characters, one unbroken run of 40 for the passport number).
    long_name = ("Ama Akosua " + "Mensah-Testperson-" * 8 + " Owusu-Ansah-Boateng")[:120]
    browser.find_element(by().CSS_SELECTOR, 'input[data-fills="name"]').send_keys(long_name)
    browser.find_element(by().CSS_SELECTOR, 'input[data-fills="passport"]').send_keys("G" * 60)
    assert letter.find_element(by().CSS_SELECTOR, '[data-fill="name"]').text == long_name
    assert letter.find_element(by().CSS_SELECTOR, '[data-fill="passport"]').text == "G" * 40
    # The layout holds: nothing wider than the letter, nothing scrolls sideways, one printed page.
    assert browser.execute_script("const l = arguments[0]; return l.scrollWidth <= l.clientWidth;", letter)
    assert no_sideways_scroll(browser)
    assert pdf_page_count(browser) == 1


def test_the_cadence_choices_are_the_chosen_therapys_own(browser, server):
    from selenium.webdriver.support.ui import Select

    browser.get(server.url + "/")
    drug = Select(browser.find_element(by().ID, "drug"))
    assert drug.first_selected_option.get_attribute("value") == "ofatumumab"

    def offered() -> set[str]:
        options = browser.find_elements(by().CSS_SELECTOR, "#cadence optgroup:not([hidden]) option")
        return {o.get_attribute("value") for o in options if o.is_enabled()}

    assert offered() == {"every_4_weeks", "monthly"}
    drug.select_by_value("ocrelizumab")
    assert offered() == {"every_24_weeks", "every_6_months"}
    drug.select_by_value("rituximab")
    assert offered() == {"every_6_months", "every_24_weeks", "every_4_months", "every_12_months"}
