"""Every endpoint and every error status: status, content type and body."""

from __future__ import annotations

import re

import pytest

PROBLEM = "application/problem+json"


def plan(client, **overrides):
    body = {
        "as_of": "2026-11-24",
        "treatment": {"drug": "ofatumumab", "start_date": "2027-01-05"},
        "vaccines": [{"name": "MMR"}],
    }
    body.update(overrides)
    return client.post("/v1/plans", json=body)


def assert_problem(response, status, field=None):
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


# ---- POST /v1/plans ------------------------------------------------------------------------------------


def test_plan_answers_the_contract_fields(client):
    r = plan(client, vaccines=[{"name": "MMR"}, {"cvx": "187"}], horizon_days=365)
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["as_of"] == "2026-11-24"
    assert body["ruleset"]["id"] == "ofatumumab" and body["ruleset"]["version"].startswith("1.1.0+")
    t = body["treatment"]
    assert (t["drug"], t["phase"], t["start_date"], t["next_dose"], t["overdue"]) == (
        "ofatumumab",
        "not_started",
        "2027-01-05",
        "2027-01-05",
        False,
    )
    assert t["projected_doses"][:4] == ["2027-01-05", "2027-01-12", "2027-01-19", "2027-02-02"]
    mmr, shingrix = body["vaccines"]
    assert mmr["request"] == {"name": "MMR"} and shingrix["request"] == {"cvx": "187"}
    assert mmr["vaccine"] == {
        "id": "mmr",
        "name": mmr["vaccine"]["name"],
        "cvx": "03",
        "product": None,
        "live": True,
        "route": "injection",
    }
    # 2 MMR doses (11-24, 12-22) cannot both come 28 days before 01-05: nothing is proposed, and the start
    # would have to move to 12-22 + 28 = 01-19 for the whole series (rule plan.live-series-whole)
    assert (mmr["status"], mmr["proposed"], mmr["delay_start_to"]) == ("avoid", [], "2027-01-19")
    assert "plan.live-series-whole" in mmr["rules"] and mmr["reason"]
    assert shingrix["vaccine"]["live"] is False and shingrix["vaccine"]["cvx"] == "187"
    assert body["warnings"] == []


def test_as_of_defaults_to_the_app_clock_not_the_request(client):
    r = client.post(
        "/v1/plans", json={"treatment": {"drug": "Kesimpta", "start_date": "2027-01-05"}, "vaccines": [{"name": "mmr"}]}
    )
    assert r.get_json()["as_of"] == "2026-11-24"  # conftest pins the clock


def test_live_vaccine_too_close_to_start_says_when_the_start_could_move(client):
    r = plan(client, treatment={"drug": "ofatumumab", "start_date": "2026-12-10"})
    v = r.get_json()["vaccines"][0]
    # MMR is 2 doses 4 weeks apart: 11-24 and 12-22, so the whole series needs the start on 12-22 + 28 = 01-19
    assert (v["status"], v["windows"], v["delay_start_to"]) == ("avoid", [], "2027-01-19")


def test_names_match_ignoring_case_and_punctuation(client):
    r = plan(client, vaccines=[{"name": "m-m-r ii"}, {"name": "PREVNAR-20"}, {"name": "flu shot"}])
    assert [v["vaccine"]["id"] for v in r.get_json()["vaccines"]] == ["mmr", "pcv20", "influenza-inactivated"]


def test_cvx_without_leading_zero_is_the_same_code(client):
    r = plan(client, vaccines=[{"cvx": "3"}])
    assert r.get_json()["vaccines"][0]["vaccine"]["cvx"] == "03"


def test_assumed_schedule_is_stated_in_warnings(client):
    r = plan(client, treatment={"drug": "ofatumumab", "start_date": "2026-11-01"})
    body = r.get_json()
    assert body["treatment"]["phase"] == "starter"
    [warning] = body["warnings"]
    assert warning["code"] == "history-assumed" and warning["rules"] == ["ofatumumab.assumed-schedule"]


def test_unknown_vaccine_is_a_422_with_close_candidates(client):
    body = assert_problem(plan(client, vaccines=[{"name": "Shingrex"}]), 422, "vaccines[0].name")
    error = body["errors"][0]
    assert error["code"] == "unknown_vaccine"
    assert "zoster-recombinant" in [c["id"] for c in error["candidates"]]
    assert body["type"] == "/problems/unknown-vaccine"


@pytest.mark.parametrize(
    "request_item, field",
    [
        ({"name": "flu"}, "vaccines[0].name"),
        ({"cvx": "88"}, "vaccines[0].cvx"),
        ({"name": "typhoid"}, "vaccines[0].name"),
        ({"cvx": "188"}, "vaccines[0].cvx"),
    ],
    ids=["flu", "cvx 88 influenza", "typhoid", "cvx 188 zoster"],
)
def test_unspecified_formulation_is_never_guessed(client, request_item, field):
    body = assert_problem(plan(client, vaccines=[request_item]), 422, field)
    error = body["errors"][0]
    assert error["code"] == "ambiguous_vaccine"
    lives = {c["live"] for c in error["candidates"]}
    assert lives == {True, False}


def test_unknown_cvx_code_is_a_422(client):
    assert_problem(plan(client, vaccines=[{"cvx": "9999"}]), 422, "vaccines[0].cvx")


def test_every_bad_vaccine_is_reported_at_once(client):
    body = assert_problem(plan(client, vaccines=[{"name": "MMR"}, {"name": "nope"}, {"cvx": "88"}]), 422)
    assert [e["field"] for e in body["errors"]] == ["vaccines[1].name", "vaccines[2].cvx"]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"treatment": {"drug": "natalizumab", "start_date": "2027-01-05"}}, "treatment.drug"),
        ({"treatment": {"start_date": "2027-01-05"}}, "treatment.drug"),
        ({"treatment": {"drug": "ofatumumab"}}, "treatment.start_date"),
        ({"treatment": {"drug": "ofatumumab", "start_date": "2027-13-01"}}, "treatment.start_date"),
        ({"treatment": {"drug": "ofatumumab", "start_date": "20270105"}}, "treatment.start_date"),
        ({"treatment": {"drug": "ofatumumab", "start_date": "2027-01-05T00:00:00"}}, "treatment.start_date"),
        ({"treatment": {"drug": "ofatumumab", "doses": ["2026-11-25"]}}, "treatment.doses[0]"),
        ({"treatment": {"drug": "ofatumumab", "doses": ["2026-11-01", "2026-11-01"]}}, "treatment.doses[1]"),
        ({"treatment": {"drug": "ofatumumab", "doses": ["2026-11-01", "nope"]}}, "treatment.doses[1]"),
        (
            {"treatment": {"drug": "ofatumumab", "doses": ["2026-11-08"], "start_date": "2026-11-09"}},
            "treatment.start_date",
        ),
        (
            {"treatment": {"drug": "ofatumumab", "doses": ["2026-11-08"], "stopped_on": "2026-11-01"}},
            "treatment.stopped_on",
        ),
        ({"treatment": {"drug": "ofatumumab", "start_date": "2027-01-05", "cadence": "weekly"}}, "treatment.cadence"),
        ({"treatment": {"drug": "ofatumumab", "start_date": "2027-01-05", "dose": []}}, "treatment.dose"),
        ({"vaccines": []}, "vaccines"),
        ({"vaccines": [{"name": "MMR"}] * 51}, "vaccines"),
        ({"vaccines": [{"name": "MMR", "cvx": "03"}]}, "vaccines[0]"),
        ({"vaccines": [{}]}, "vaccines[0]"),
        ({"vaccines": [{"cvx": 3}]}, "vaccines[0].cvx"),
        ({"vaccines": [{"cvx": "abc"}]}, "vaccines[0].cvx"),
        ({"horizon_days": 59}, "horizon_days"),
        ({"horizon_days": 1096}, "horizon_days"),
        ({"horizon_days": "365"}, "horizon_days"),
        ({"horizon_days": 365.5}, "horizon_days"),
        ({"horizon_days": True}, "horizon_days"),
        ({"as_of": "24/11/2026"}, "as_of"),
        ({"as_of": "0001-01-01"}, "as_of"),
        ({"extra": 1}, "extra"),
    ],
    ids=[
        "unsupported therapy",
        "no drug",
        "no start nor doses",
        "month 13",
        "compact date",
        "date with time",
        "dose after as_of",
        "repeated dose",
        "dose not a date",
        "start after first dose",
        "stopped before last dose",
        "unknown cadence",
        "unknown treatment field",
        "no vaccines",
        "51 vaccines",
        "both name and cvx",
        "neither name nor cvx",
        "cvx as number",
        "cvx not digits",
        "horizon 59",
        "horizon 1096",
        "horizon as string",
        "horizon with fraction",
        "horizon boolean",
        "as_of not ISO",
        "as_of year 1",
        "unknown top-level field",
    ],
)
def test_wrong_input_is_a_422_naming_the_field(client, overrides, field):
    body = assert_problem(plan(client, **overrides), 422, field)
    assert body["errors"]


def test_body_that_is_not_an_object_is_a_422(client):
    r = client.post("/v1/plans", json=[1, 2])
    assert_problem(r, 422)


def test_invalid_json_is_400(client):
    assert_problem(client.post("/v1/plans", data="{not json", content_type="application/json"), 400)


def test_wrong_media_type_is_415(client):
    assert_problem(client.post("/v1/plans", data="a=b", content_type="application/x-www-form-urlencoded"), 415)
    assert_problem(client.post("/v1/plans", data="{}", content_type="text/plain"), 415)


def test_body_over_64_kib_is_413(client):
    assert_problem(client.post("/v1/plans", data=" " * (64 * 1024 + 1), content_type="application/json"), 413)


def test_unknown_path_is_404_and_wrong_method_is_405(client):
    assert_problem(client.get("/v1/nothing"), 404)
    r = client.delete("/v1/plans")
    assert_problem(r, 405)
    assert "POST" in r.headers["Allow"]


def test_unexpected_failure_is_a_500_that_echoes_nothing_internal(app, monkeypatch):
    import service.planning as plans

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail 2026-11-01")

    monkeypatch.setattr(plans, "make_plan", explode)
    r = app.test_client().post(
        "/v1/plans",
        json={"treatment": {"drug": "ofatumumab", "start_date": "2027-01-05"}, "vaccines": [{"name": "MMR"}]},
    )
    body = assert_problem(r, 500)
    assert "secret" not in r.get_data(as_text=True) and "Traceback" not in r.get_data(as_text=True)
    assert body["type"] == "/problems/internal-error"


def test_client_request_id_is_echoed_and_a_bad_one_replaced(client):
    assert plan(client, **{}).headers["X-Request-ID"]
    r = client.post("/v1/plans", json={}, headers={"X-Request-ID": "pharmacy-42"})
    assert r.headers["X-Request-ID"] == "pharmacy-42" and r.get_json()["request_id"] == "pharmacy-42"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id; with spaces"})
    assert r.headers["X-Request-ID"] != "bad id; with spaces" and re.fullmatch(
        r"[0-9a-f]{32}", r.headers["X-Request-ID"]
    )
    # A new id for every request that brings none (128 random bits: no two alike in a thousand).
    assert len({client.get("/healthz").headers["X-Request-ID"] for _ in range(1000)}) == 1000


# ---- catalog -------------------------------------------------------------------------------------------


def test_catalog_lists_every_entry_with_its_names(client, catalog):
    body = client.get("/v1/vaccines").get_json()
    assert body["count"] == len(catalog.vaccines) == len(body["vaccines"])
    mmr = next(v for v in body["vaccines"] if v["id"] == "mmr")
    assert mmr["live"] is True and "03" in mmr["cvx"] and "Priorix" in mmr["names"]
    assert any(u["cvx"] == "88" for u in body["unspecified"])
    assert body["sources"]


def test_catalog_filters_by_live_and_text(client):
    live = client.get("/v1/vaccines?live=true").get_json()["vaccines"]
    assert live and all(v["live"] for v in live)
    non_live = client.get("/v1/vaccines?live=false").get_json()["vaccines"]
    assert non_live and not any(v["live"] for v in non_live)
    found = client.get("/v1/vaccines?q=shingrix").get_json()["vaccines"]
    assert [v["id"] for v in found] == ["zoster-recombinant"]


def test_catalog_rejects_a_bad_filter(client):
    assert_problem(client.get("/v1/vaccines?live=maybe"), 422, "live")


def test_one_catalog_entry_and_a_404(client):
    r = client.get("/v1/vaccines/yellow-fever")
    assert r.status_code == 200 and r.get_json()["live"] is True
    assert_problem(client.get("/v1/vaccines/no-such-vaccine"), 404)


def test_therapies_list_the_schedule_and_every_rule_with_its_source(client):
    body = client.get("/v1/therapies").get_json()
    listed = {t["id"]: t for t in body["therapies"]}
    assert set(listed) == {"ofatumumab", "ocrelizumab", "ocrelizumab-sc", "ublituximab", "rituximab"}
    ofa, ocr, rtx = listed["ofatumumab"], listed["ocrelizumab"], listed["rituximab"]
    assert ofa["id"] == "ofatumumab" and "Kesimpta" in ofa["brand_names"] and ofa["kind"] == "dosed"
    assert ofa["schedule"]["starter_gaps_days"] == [7, 7, 14]
    assert ofa["vaccine_timing"]["live_pre_start_days"] == 28
    assert set(ocr["schedule"]["cadences"]) == {"every_24_weeks", "every_6_months"} and ocr["labels"] == ["us", "eu"]
    # The figures listed are the stricter of the labels; each label's own beside them.
    assert ocr["vaccine_timing"]["live_pre_start_days"] == 42
    assert ocr["vaccine_timing"]["by_label"] == {
        "us": {"live_pre_start_days": 28, "non_live_pre_start_days": 14},
        "eu": {"live_pre_start_days": 42, "non_live_pre_start_days": 42},
    }
    assert {"Rituxan", "MabThera", "Truxima", "Ruxience", "Riabni"} <= set(rtx["brand_names"]) and rtx["labels"] == []
    for therapy in listed.values():
        rules = {r["id"]: r for r in therapy["rules"]}
        assert {f"{therapy['id']}.live-pre-start", f"{therapy['id']}.mid-cycle-slot"} <= set(rules)
        assert all(
            r["source"] and r["citation"] and r["evidence"] in {"label", "guideline", "CDSi", "practice", "decision"}
            for r in rules.values()
        )


def test_rule_ids_in_answers_all_exist_in_the_rule_listing(client):
    listed = {r["id"] for r in client.get("/v1/rules").get_json()["rules"]}
    therapy_rules = {r["id"] for r in client.get("/v1/therapies").get_json()["therapies"][0]["rules"]}
    assert therapy_rules <= listed
    cases = [
        {"start_date": "2027-01-05"},
        {"doses": ["2026-09-01", "2026-09-08", "2026-09-15", "2026-09-29"]},
        {"doses": ["2026-09-01"], "start_date": "2026-09-01", "stopped_on": "2026-09-02"},
        {
            "doses": ["2026-03-01"],
            "start_date": "2026-03-01",
            "stopped_on": "2026-03-02",
            "b_cell_repletion_on": "2026-04-01",
        },
        {"start_date": "2026-11-01"},
        {"doses": ["2026-10-20", "2026-11-17"], "start_date": "2024-03-01"},
        {"start_date": "2026-12-01"},
    ]
    for treatment in cases:
        r = plan(
            client,
            treatment={"drug": "ofatumumab", **treatment},
            vaccines=[{"name": "MMR"}, {"name": "Tdap"}, {"name": "Shingrix"}, {"name": "Vivotif"}],
            immunizations=[{"name": "MMR", "date": "2026-11-20"}, {"name": "Tdap", "date": "2026-11-21"}],
        )
        for v in r.get_json()["vaccines"]:
            assert set(v["rules"]) <= listed
        warnings = r.get_json()["warnings"]
        assert all(w["rules"] and set(w["rules"]) <= listed for w in warnings)


# ---- operations ----------------------------------------------------------------------------------------


def test_health_and_readiness(client, catalog):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["vaccines"] == len(catalog.vaccines)
    assert ready["ruleset"]["ofatumumab"].startswith("1.1.0+")


def test_readiness_says_which_rules_core_runs(client):
    # The compiled core is about twice as fast: an image that shipped without it must be visible to an operator.
    import service.domain.planner

    compiled = service.domain.planner.__file__.endswith(".so")
    assert client.get("/readyz").get_json()["rules_core"] == ("compiled" if compiled else "pure_python")


def test_docs_page_uses_only_local_assets(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "//" not in html.replace("<!--", "").split("<body>")[1]  # no scheme-relative or absolute URLs
    for asset in ("/docs/swagger-ui/swagger-ui-bundle.js", "/docs/swagger-ui/swagger-ui.css", "/docs/static/docs.js"):
        assert asset in html
        response = client.get(asset)
        assert response.status_code == 200
        response.close()


def test_problem_types_are_documented(client):
    r = client.get("/problems/unknown-vaccine")
    assert r.status_code == 200 and r.get_json()["title"]
    assert_problem(client.get("/problems/nope"), 404)
