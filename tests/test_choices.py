"""The planner's choices where rules meet (contract, revision 3, "Choices"), hand-worked, each case in the domain
(make_plan and the plain answer) and through REST, which must agree.

Every date below was worked out by hand from the rules; as_of is 2026-11-24 (conftest's clock). The rules:
live window before a start ends 28 days before the first dose; CDSi live-live conflict 28 days (30 with yellow
fever); yellow fever 30 days from MMR or varicella where the window allows (CDC); MMR and varicella dose 2
recommended 4 weeks after dose 1; lead times: default 14 days, yellow fever 10, typhoid Vi 14.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

import service
from scripts.workloads import live_request
from service.domain import series as series_module
from service.domain.answer import present
from service.domain.intake import to_request
from service.domain.planner import make_plan
from service.domain.spacing import LiveSpacing, LiveVirusConflicts

AS_OF = "2026-11-24"
MAINTENANCE = {"drug": "ofatumumab", "doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]}
IN_4_MONTHS = {"drug": "ofatumumab", "start_date": "2027-03-24"}
IN_6_WEEKS = {"drug": "ofatumumab", "start_date": "2027-01-05"}
# Stopped after a year, B-cell repletion confirmed on 11-16 (a live window from then).
REPLETE = {
    "drug": "ofatumumab",
    "doses": ["2026-01-06", "2026-01-13", "2026-01-20", "2026-02-03", "2026-03-03", "2026-03-31", "2026-04-28"],
    "stopped_on": "2026-05-01",
    "b_cell_repletion_on": "2026-11-16",
}


def _domain(app, body):
    """The plain answer from the rules alone, in JSON's shape (dates as ISO strings)."""
    with app.test_request_context():
        planner = app.extensions["planner"]
        request = to_request(planner.load(body), planner.today())
        rules = planner.ruleset
        plan = make_plan(request, rules.therapies, rules.catalog, rules.vaccine_rules)
        return json.loads(json.dumps(present(plan), default=date.isoformat))


def answers(app, client, body):
    """The answer through REST, after checking the domain gives the same one."""
    r = client.post("/v1/plans", json=body)
    assert r.status_code == 200, r.get_json()
    rest = r.get_json()
    domain = _domain(app, body)
    assert domain["vaccines"] == rest["vaccines"] and domain["warnings"] == rest["warnings"]
    return rest


def proposed(item):
    return [(p["dose"], p["date"]) for p in item["proposed"]]


# (case, request vaccines, treatment, {vaccine id: expected fields}, warning codes expected)
CASES = [
    (
        # Departure 25 Jan, start in 4 months (window ends 02-24). The same needed_by: yellow fever (a vaccine a
        # destination may require) is settled first, today. Varicella 30 days apart would be ready only on
        # 12-24 + 4 weeks + 14 = 02-04, after the departure, so it shares the day (with the plan's warning) and
        # dose 2 waits 30 days for yellow fever (CDSi): 12-24, ready 01-07.
        "varicella typed before yellow fever, departure 25 Jan",
        [{"name": "varicella", "needed_by": "2027-01-25"}, {"name": "yellow fever", "needed_by": "2027-01-25"}],
        IN_4_MONTHS,
        {
            "yellow-fever": {"status": "pre_start", "proposed": [(1, AS_OF)], "meets_needed_by": True},
            "varicella": {
                "status": "pre_start",
                "proposed": [(1, AS_OF), (2, "2026-12-24")],
                "ready_on": "2027-01-07",
                "meets_needed_by": True,
            },
        },
        {"yellow-fever-with-mmr-varicella"},
    ),
    (
        # Varicella has no deadline: it comes after yellow fever and 30 days from it (CDC), 12-24 and 01-21.
        "varicella without a deadline is kept 30 days from yellow fever",
        [{"name": "varicella"}, {"name": "yellow fever", "needed_by": "2027-01-25"}],
        IN_4_MONTHS,
        {
            "yellow-fever": {"proposed": [(1, AS_OF)], "ready_on": "2026-12-04", "meets_needed_by": True},
            "varicella": {"proposed": [(1, "2026-12-24"), (2, "2027-01-21")], "meets_needed_by": None},
        },
        set(),
    ),
    (
        # Leaving in 2 weeks (12-08), start in 4 months: the pre-start window is kept whatever needed_by says;
        # both series start today and share their days; dose 2 (12-22) + 14 days misses the trip.
        "start in 4 months, leaving in 2 weeks: MMR and varicella still give today",
        [{"name": "MMR", "needed_by": "2026-12-08"}, {"name": "varicella", "needed_by": "2026-12-08"}],
        IN_4_MONTHS,
        {
            vid: {
                "status": "pre_start",
                "proposed": [(1, AS_OF), (2, "2026-12-22")],
                "ready_on": "2027-01-05",
                "meets_needed_by": False,
            }
            for vid in ("mmr", "varicella")
        },
        set(),
    ),
    (
        # Start in 6 weeks (01-05): the window ends 12-08; dose 2 (12-22) cannot come before the start, so dose 1
        # is proposed today and dose 2 waits for repletion; the whole series would need the start on
        # 12-22 + 28 = 01-19 (delay_start_to).
        "MMR with the start in 6 weeks: dose 1 proposed, delay_start_to for the whole series",
        [{"name": "MMR"}],
        IN_6_WEEKS,
        {
            "mmr": {
                "status": "pre_start",
                "proposed": [(1, AS_OF)],
                "delay_start_to": "2027-01-19",
                "ready_on": None,
                "meets_needed_by": None,
            }
        },
        set(),
    ),
    (
        # Ty21a's partial course gives no protection (series.json partial_course): start 12-25, window ends
        # 11-27, two of the four capsules fit: nothing is proposed; the course from today ends 11-30, so the
        # start would move to 11-30 + 28 = 12-28.
        "Ty21a is never split around a start",
        [{"name": "Vivotif"}],
        {"drug": "ofatumumab", "start_date": "2026-12-25"},
        {"typhoid-oral": {"status": "avoid", "proposed": [], "delay_start_to": "2026-12-28"}},
        set(),
    ),
    (
        # Mid-cycle slot 12-01..12-08 (doses 11-17 and 12-15): Typhim Vi on 12-01, the day before departure.
        # In depletion no protection is claimed: meets_needed_by null, ready_on 12-01 + 14 days.
        "Typhim Vi in a mid-cycle slot the day before departure",
        [{"name": "Typhim Vi", "needed_by": "2026-12-02"}],
        MAINTENANCE,
        {
            "typhoid-vi": {
                "proposed": [(1, "2026-12-01")],
                "ready_on": "2026-12-15",
                "ready_on_means": "series_complete",
                "meets_needed_by": None,
            }
        },
        set(),
    ),
    (
        # MMR on 11-10, during depletion (stopped, repletion confirmed only on 11-16): not counted, so a new
        # course; it still spaces the live vaccines after it, its own next dose included: 11-10 + 28 = 12-08,
        # dose 2 four weeks later. Varicella meets the same conflict and shares the days.
        "a live dose given in depletion is not counted and moves its own next dose",
        [{"name": "MMR", "given": ["2026-11-10"]}, {"name": "varicella"}],
        REPLETE,
        {
            "mmr": {"status": "post_therapy", "proposed": [(1, "2026-12-08"), (2, "2027-01-05")], "given": 0},
            "varicella": {"proposed": [(1, "2026-12-08"), (2, "2027-01-05")]},
        },
        {"dose-not-counted", "live-vaccine-during-therapy"},
    ),
    (
        # MMR dose 1 on 11-10 before a far start counts; yellow fever (no deadline either, settled first) waits
        # 30 days after it: 12-10; MMR dose 2 then keeps 30 days from yellow fever: 01-09.
        "a live vaccine given moves every other live vaccine and its own next dose",
        [{"name": "MMR", "given": ["2026-11-10"]}, {"name": "yellow fever"}],
        {"drug": "ofatumumab", "start_date": "2027-06-01"},
        {
            "yellow-fever": {"proposed": [(1, "2026-12-10")]},
            "mmr": {"proposed": [(2, "2027-01-09")], "given": 1},
        },
        set(),
    ),
]


@pytest.mark.parametrize(("case", "vaccines", "treatment", "expected", "codes"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("order", [1, -1], ids=["as typed", "reversed"])
def test_hand_worked_choices(app, client, case, vaccines, treatment, expected, codes, order):
    body = {"as_of": AS_OF, "treatment": treatment, "vaccines": vaccines[::order]}
    answer = answers(app, client, body)
    by_id = {item["vaccine"]["id"]: item for item in answer["vaccines"]}
    assert set(by_id) == set(expected)
    for vid, fields in expected.items():
        item = by_id[vid]
        got = {
            key: proposed(item) if key == "proposed" else item["series"][key] if key == "given" else item[key]
            for key in fields
        }
        assert got == fields, (vid, item["reason"])
        assert "protected" not in item["reason"].lower()
    assert {w["code"] for w in answer["warnings"]} >= codes


def test_a_partial_live_series_says_what_waits_and_when(app, client):
    (mmr,) = answers(app, client, {"as_of": AS_OF, "treatment": IN_6_WEEKS, "vaccines": [{"name": "MMR"}]})["vaccines"]
    assert "Dose(s) 2 of the 2-dose series" in mmr["reason"] and "B-cell repletion is confirmed" in mmr["reason"]
    assert "2027-01-19" in mmr["reason"] and "plan.live-series-whole" in mmr["rules"]


def test_dose_not_counted_names_the_dose(app, client):
    body = {"as_of": AS_OF, "treatment": MAINTENANCE, "vaccines": [{"name": "varicella", "given": ["2026-11-10"]}]}
    answer = answers(app, client, body)
    [warning] = [w for w in answer["warnings"] if w["code"] == "dose-not-counted"]
    assert "2026-11-10" in warning["message"] and warning["rules"] == ["plan.live-dose-not-counted"]
    assert answer["vaccines"][0]["series"]["given"] == 0


def test_ty21a_names_its_partial_course_flag_in_its_rule(client):
    rules = {r["id"]: r for r in client.get("/v1/rules").get_json()["rules"]}
    assert "Partial course:" in rules["series.typhoid-oral"]["citation"]
    assert "our decision" in rules["plan.live-series-whole"]["source"].lower()


def test_the_clinic_readiness_never_says_ready_for_a_dose_in_depletion():
    from service.clinic.present import readiness

    item = {"meets_needed_by": None, "ready_on_means": "series_complete", "serology_advised": False}
    assert readiness(item) == ("uncertain", "Response uncertain (a dose in B-cell depletion)")


# ---- the cost of settling live vaccines: counted, never timed -------------------------------------------------


def _work(app, body, monkeypatch):
    """(placement attempts, live events read to space vaccines and find free days) for one plan."""
    counts = {"placements": 0, "events": 0}
    place, free_day, constraints = series_module._place, LiveSpacing.next_free_day, LiveVirusConflicts.constraints

    def counted_place(*args):
        counts["placements"] += 1
        return place(*args)

    def counted_free_day(self, day):
        counts["events"] += len(self._relevant)
        return free_day(self, day)

    def counted_constraints(self, vaccine, events):
        counts["events"] += len(events)
        return constraints(self, vaccine, events)

    with monkeypatch.context() as m:
        m.setattr(series_module, "_place", counted_place)
        m.setattr(LiveSpacing, "next_free_day", counted_free_day)
        m.setattr(LiveVirusConflicts, "constraints", counted_constraints)
        _domain(app, body)
    return counts


def test_settling_live_vaccines_grows_linearly_in_vaccines_and_doses(app, monkeypatch):
    """25 live vaccines and 50 (the catalog's live entries, then again; each placed around the live vaccines
    settled before it, the same day allowed): the placement attempts and the live events read grow with the
    vaccines, about 2x (bound 2.5x), not with their pairs (4x). Counted, never timed."""
    if service.NATIVE:
        pytest.skip("counts calls into the pure Python, which compiled code does not make (CI runs the pure Python)")
    small, large = _work(app, live_request(25), monkeypatch), _work(app, live_request(50), monkeypatch)
    assert small["placements"] >= 25 and small["events"] > 0
    assert large["placements"] <= 2.5 * small["placements"], (small, large)
    assert large["events"] <= 2.5 * small["events"], (small, large)


def test_fhir_proposes_the_mmr_dose_the_label_allows_before_a_start_in_6_weeks(client):
    # The REST case above through FHIR: dose 1 today is recommended (never "contraindicated"), and the
    # description says what waits.
    from tests.test_travel_products import fhir_planned_start

    parameters = fhir_planned_start("2027-01-05", {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03"}]})
    r = client.post("/fhir/$vaccine-timing", json=parameters, content_type="application/fhir+json")
    assert r.status_code == 200, r.get_json()
    recommendations = r.get_json()["parameter"][0]["resource"]["recommendation"]
    statuses = [rec["forecastStatus"]["coding"][0]["code"] for rec in recommendations]
    assert "contraindicated" not in statuses and statuses[0] == "due", statuses
    assert "B-cell repletion is confirmed" in recommendations[0]["description"]
    # dose 2 waits for repletion: due with no date, and never offered the pre-start window dose 1 is in
    [dose_2] = [rec for rec in recommendations if rec.get("doseNumberPositiveInt") == 2]
    assert "dateCriterion" not in dose_2 and "extension" not in dose_2, dose_2


def test_cds_hooks_raise_no_critical_card_for_the_mmr_dose_the_label_allows(client):
    # MMR ordered today, start in 6 weeks: dose 1 today is what the plan proposes; the card is not critical.
    from tests.interop_builders import Facts

    body = Facts(vaccines=("03",), start_date="2027-01-05").cds()
    r = client.post("/cds-services/vaccine-timing-order-sign", json=body)
    assert r.status_code == 200, r.get_json()
    [card] = r.get_json()["cards"]
    assert card["indicator"] != "critical", card


@pytest.mark.parametrize(
    ("vaccines", "treatment"),
    [
        ([{"name": "MMR", "needed_by": "2026-12-08"}, {"name": "varicella", "needed_by": "2026-12-08"}], IN_4_MONTHS),
        (
            [{"name": "varicella", "needed_by": "2027-01-25"}, {"name": "yellow fever", "needed_by": "2027-01-25"}],
            IN_4_MONTHS,
        ),
        ([{"name": "MMR"}], IN_6_WEEKS),
    ],
    ids=["leaving in 2 weeks", "varicella before yellow fever", "MMR, start in 6 weeks"],
)
def test_the_clinic_page_says_give_today_for_the_last_live_window(app, client, vaccines, treatment):
    from service.clinic.present import verdict

    answer = answers(app, client, {"as_of": AS_OF, "treatment": treatment, "vaccines": vaccines})
    for item in answer["vaccines"]:
        assert verdict(item, answer["as_of"], answer["horizon_end"]).headline == "Give today", item["reason"]


def test_the_clinic_page_never_says_protected_for_a_dose_in_depletion(client):
    # Typhim Vi in the mid-cycle slot the day before departure: the page reads the answer's null
    # meets_needed_by as an uncertain response, never "Ready by departure" nor "protected from".
    from werkzeug.datastructures import MultiDict

    fields = [("as_of", AS_OF), ("drug", "Kesimpta"), ("vaccines", "Typhim Vi"), ("needed_by", "2026-12-02")]
    fields += [("doses", day) for day in MAINTENANCE["doses"]]
    page = client.post("/clinic/plan", data=MultiDict(fields))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-meets-needed-by="none"' in html and "Response uncertain" in html
    assert "protected from" not in html and "Ready by departure" not in html
