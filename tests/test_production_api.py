"""The production shell in-process: batch, API keys, security headers, CORS, request ids, logs, metrics."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from werkzeug.test import EnvironBuilder

from scripts.workloads import invalid_request, largest_request, plan_request, typical_request
from service.app import create_app
from service.observability import logged_id
from service.security import API_CSP, CLINIC_CSP, DOCS_CSP, SecurityHeaders
from service.settings import MAX_ERRORS_LISTED, SETTINGS, SettingsError, load_settings
from tests.conftest import TODAY

ROOT = Path(__file__).resolve().parents[1]
UNKNOWN_VACCINE = {
    "as_of": "2026-11-24",
    "treatment": {"drug": "ofatumumab", "start_date": "2027-01-05"},
    "vaccines": [{"name": "Shingrx"}],
}
MISSING_TREATMENT = {"as_of": "2026-11-24", "vaccines": [{"name": "MMR"}]}


def make_client(**config):
    return create_app({"TODAY": TODAY, "LOG_LEVEL": "WARNING", **config}).test_client()


# ---- batch ------------------------------------------------------------------------------------------


def test_error_lists_are_capped_at_20_with_a_count_of_what_was_left_out(client):
    compact = json.dumps(invalid_request(), separators=(",", ":"))  # 60 KiB of mistakes, under the 64 KiB limit
    r = client.post("/v1/plans", data=compact, content_type="application/json")
    problem = r.get_json()
    assert r.status_code == 422 and len(problem["errors"]) == MAX_ERRORS_LISTED
    assert problem["errors_omitted"] > 6000 and len(r.data) < 4096
    small = client.post("/v1/plans", json=MISSING_TREATMENT).get_json()
    assert len(small["errors"]) < MAX_ERRORS_LISTED and "errors_omitted" not in small  # only when some are left out


def test_a_batch_item_is_held_to_the_single_routes_64_kib_and_its_errors_to_the_cap(client):
    oversized = invalid_request(70 * 1024)
    r = client.post("/v1/plans/batch", json={"requests": [typical_request(), oversized, invalid_request()]})
    results = r.get_json()["results"]
    assert [x["status"] for x in results] == [200, 413, 422]
    assert results[1]["problem"]["type"] == "/problems/body-too-large"
    assert results[1]["problem"]["instance"] == "/v1/plans/batch#/requests/1" and "errors" not in results[1]["problem"]
    assert len(results[2]["problem"]["errors"]) == MAX_ERRORS_LISTED and results[2]["problem"]["errors_omitted"] > 0


def test_a_batch_over_500_items_is_one_error_before_any_item_is_looked_at(client):
    r = client.post("/v1/plans/batch", json={"requests": [1] * 100_000})
    problem = r.get_json()
    assert r.status_code == 422 and [e["field"] for e in problem["errors"]] == ["requests"]
    assert "100000 requests" in problem["errors"][0]["message"] and len(r.data) < 1024
    r = client.post("/v1/plans/batch", json={"requests": [1] * 500})  # at the limit: each item is checked
    assert r.status_code == 422 and len(r.get_json()["errors"]) == MAX_ERRORS_LISTED
    assert r.get_json()["errors_omitted"] == 500 - MAX_ERRORS_LISTED


def test_batch_answers_each_item_as_the_single_route_would(client):
    items = [typical_request(), UNKNOWN_VACCINE, MISSING_TREATMENT, plan_request(0, 1, 60)]
    r = client.post("/v1/plans/batch", json={"requests": items})
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert [x["index"] for x in body["results"]] == [0, 1, 2, 3]
    assert [x["status"] for x in body["results"]] == [200, 422, 422, 200]
    assert body["summary"] == {"total": 4, "planned": 2, "failed": 2, "not_planned": 0}
    for index, item in enumerate(items):
        single = client.post("/v1/plans", json=item).get_json()
        result = body["results"][index]
        if result["status"] == 200:
            assert result["plan"] == single and "problem" not in result
        else:
            problem = result["problem"]
            assert problem["instance"] == f"/v1/plans/batch#/requests/{index}"
            same = ("type", "title", "status", "errors")  # the detail sentence may be worded differently
            assert {k: problem[k] for k in same} == {k: single[k] for k in same}
    assert body["results"][1]["problem"]["type"] == "/problems/unknown-vaccine"
    assert body["results"][2]["problem"]["errors"][0]["field"] == "treatment"


def test_batch_item_problem_carries_the_batch_request_id(client):
    r = client.post("/v1/plans/batch", json={"requests": [UNKNOWN_VACCINE]}, headers={"X-Request-ID": "night-7"})
    assert r.get_json()["results"][0]["problem"]["request_id"] == "night-7"


@pytest.mark.parametrize(
    ("envelope", "field"),
    [
        ({"requests": []}, "requests"),
        ({"requests": [typical_request()] * 501}, "requests"),
        ({"requests": [typical_request(), 5]}, "requests[1]"),
        ({"requests": "all of them"}, "requests"),
        ({}, "requests"),
        ({"requests": [typical_request()], "extra": 1}, "extra"),
    ],
    ids=[
        "no requests",
        "501 requests",
        "item not an object",
        "requests not a list",
        "no requests key",
        "unknown field",
    ],
)
def test_batch_envelope_errors_fail_the_whole_batch(client, envelope, field):
    r = client.post("/v1/plans/batch", json=envelope)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert field in [e["field"] for e in r.get_json()["errors"]]


def test_batch_of_500_typical_requests_plans_them_all(client):
    r = client.post("/v1/plans/batch", json={"requests": [typical_request()] * 500})
    assert r.status_code == 200
    body = r.get_json()
    assert body["summary"] == {"total": 500, "planned": 500, "failed": 0, "not_planned": 0}
    assert body["results"][499]["plan"] == body["results"][0]["plan"]


def test_batch_has_a_4_mib_body_limit_and_every_other_route_keeps_64_kib(client):
    big_batch = {"requests": [largest_request()] * 12}  # about 80 KiB: over 64 KiB, far under 4 MiB
    assert 64 * 1024 < len(json.dumps(big_batch)) < 4 * 1024 * 1024
    assert client.post("/v1/plans/batch", json=big_batch).status_code == 200
    padded = {"requests": [{**typical_request(), "pad": "x" * 1024}] * 4200}
    r = client.post("/v1/plans/batch", json=padded)
    assert r.status_code == 413 and "4 MiB" in r.get_json()["detail"]
    r = client.post("/v1/plans", data=b"{" + b" " * (65 * 1024) + b"}", content_type="application/json")
    assert r.status_code == 413 and "64 KiB" in r.get_json()["detail"]


def test_batch_item_fault_is_that_items_500_and_the_others_still_plan(client, monkeypatch, log_lines):
    from service.planning import Planner

    real = Planner.answer  # every front end's last step before its own encoding, the batch's included

    def flaky(self, body):
        if body.get("horizon_days") == 61:
            raise RuntimeError("secret 2027-01-05 MMR")
        return real(self, body)

    monkeypatch.setattr(Planner, "answer", flaky)
    r = client.post("/v1/plans/batch", json={"requests": [typical_request(), plan_request(0, 1, 61)]})
    results = r.get_json()["results"]
    assert r.status_code == 200 and [x["status"] for x in results] == [200, 500]
    assert results[1]["problem"]["type"] == "/problems/internal-error" and "secret" not in r.get_data(as_text=True)
    failure = [line for line in log_lines() if line["event"] == "batch item failed"]
    assert failure and failure[0]["item"] == 1 and failure[0]["error_type"] == "RuntimeError"
    assert "secret" not in json.dumps(log_lines())


# ---- API keys ---------------------------------------------------------------------------------------


KEY_FIRST, KEY_SECOND = "k-first-0123456789", "k-second-0123456789"  # 16 characters at least


@pytest.fixture()
def keyed():
    return make_client(API_KEYS=f"{KEY_FIRST}, {KEY_SECOND}")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/v1/plans"),
        ("post", "/v1/plans/batch"),
        ("get", "/v1/vaccines"),
        ("get", "/v1/vaccines/mmr"),
        ("get", "/v1/therapies"),
        ("get", "/v1/nowhere"),
    ],
    ids=str,
)
def test_every_v1_route_needs_a_key_when_keys_are_set(keyed, method, path):
    r = getattr(keyed, method)(path, json={})
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert r.headers["WWW-Authenticate"].startswith("Bearer ")
    assert r.get_json()["type"] == "/problems/unauthorized" and r.headers["X-Request-ID"]
    r = getattr(keyed, method)(path, json={}, headers={"Authorization": "Bearer k-wrong"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]


@pytest.mark.parametrize("key", [KEY_FIRST, KEY_SECOND], ids=["first key", "second key"])
def test_any_configured_key_opens_the_api(keyed, key):
    r = keyed.post("/v1/plans", json=typical_request(), headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    assert keyed.get("/v1/vaccines/mmr", headers={"Authorization": f"bearer {key}"}).status_code == 200


@pytest.mark.parametrize(
    "header",
    [KEY_FIRST, f"Basic {KEY_FIRST}", "Bearer", "Bearer  ", f"Bearer {KEY_FIRST}-and-more", f"Bearer {KEY_FIRST[:-1]}"],
    ids=["no scheme", "basic scheme", "bearer without key", "bearer with blanks", "key with suffix", "key prefix"],
)
def test_malformed_or_partial_credentials_are_refused(keyed, header):
    assert keyed.get("/v1/therapies", headers={"Authorization": header}).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/readyz",
        "/metrics",
        "/docs",
        "/openapi.yaml",
        "/openapi.json",
        "/problems/unauthorized",
        "/docs/static/docs.js",
    ],
    ids=str,
)
def test_health_metrics_and_docs_stay_open_with_keys_set(keyed, path):
    with keyed.get(path) as r:
        assert r.status_code == 200


def test_without_keys_the_api_is_open(client):
    assert client.get("/v1/therapies").status_code == 200


def test_api_key_scheme_is_documented_on_every_v1_operation(app):
    with app.app_context():
        from service.api.ops import spec_dict

        spec = spec_dict()
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        **spec["components"]["securitySchemes"]["apiKey"],
        "type": "http",
        "scheme": "bearer",
    }
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            if path.startswith("/v1/") or path in ("/fhir/$vaccine-timing", "/fhir/$immds-forecast"):
                assert operation["security"] == [{"apiKey": []}] and "401" in operation["responses"], path
            elif path.startswith("/cds-services/"):
                # CDS Hooks clients authenticate with a signed JWT (CDS Hooks 2.0), not with an API key.
                assert operation["security"] == [{"cdsHooksJwt": []}] and "401" in operation["responses"], path
            else:
                assert operation["security"] == [], path  # stated as open, so no generator assumes a key


# ---- security headers, CORS, debug ----------------------------------------------------------------


# ---- the clinic page follows the key setting ----------------------------------------------------------------

CLINIC_FORM = {"as_of": "2026-11-24", "drug": "ofatumumab", "start_date": "2027-01-05", "vaccines": "yellow fever"}


def signed_in(client, key=KEY_FIRST):
    r = client.post("/clinic/session", data={"key": key})
    assert r.status_code == 303 and r.headers["Location"] == "/"
    return r


def test_with_keys_on_the_clinic_is_keyed_by_default_and_answers_nothing_without_a_session(keyed):
    page = keyed.get("/")
    assert page.status_code == 401 and page.mimetype == "text/html"
    assert 'action="/clinic/session"' in page.get_data(as_text=True) and "WWW-Authenticate" in page.headers
    for path in ("/clinic/plan", "/clinic/plan.ics", "/clinic/letter"):
        r = keyed.post(path, data=CLINIC_FORM)
        html = r.get_data(as_text=True)
        assert r.status_code == 401 and "the form was not read" in html and "2027-01-05" not in html, path
    assert keyed.get("/clinic/rules").status_code == 401
    css = keyed.get("/clinic/static/clinic.css")
    assert css.status_code == 200  # the sign-in page's own stylesheet
    css.close()


def test_an_api_key_opens_a_signed_httponly_strict_session_for_the_clinic(keyed):
    assert keyed.post("/clinic/session", data={"key": "not-a-key-0123456789"}).status_code == 401
    cookie = signed_in(keyed).headers["Set-Cookie"]
    assert cookie.startswith("planner_clinic=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Max-Age=28800" in cookie and "Secure" not in cookie  # http://: a Secure cookie would not come back
    assert keyed.get("/").status_code == 200
    plan = keyed.post("/clinic/plan", data=CLINIC_FORM)
    assert plan.status_code == 200 and 'data-vaccine-id="yellow-fever"' in plan.get_data(as_text=True)
    assert keyed.post("/clinic/plan.ics", data=CLINIC_FORM).mimetype == "text/calendar"
    # The session opens the page only: the API still needs the key itself.
    assert keyed.get("/v1/therapies").status_code == 401


def test_a_bearer_key_also_opens_the_clinic_routes(keyed):
    r = keyed.post("/clinic/plan", data=CLINIC_FORM, headers={"Authorization": f"Bearer {KEY_SECOND}"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    "forge",
    [
        lambda v: v[:-1] + ("0" if v[-1] != "0" else "1"),  # the signature changed
        lambda v: str(int(v.split(".")[0]) + 3600) + "." + v.split(".")[1],  # the expiry pushed back
        lambda v: "",
        lambda v: "garbage",
    ],
    ids=["signature", "expiry", "empty", "garbage"],
)
def test_a_forged_session_cookie_opens_nothing(keyed, forge):
    value = signed_in(keyed).headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    keyed.set_cookie("planner_clinic", forge(value))
    assert keyed.get("/").status_code == 401


def test_a_session_ends_when_it_expires_or_its_key_is_removed():
    from service.security import Credentials

    app = create_app({"TODAY": TODAY, "LOG_LEVEL": "WARNING", "API_KEYS": f"{KEY_FIRST},{KEY_SECOND}"})
    credentials: Credentials = app.extensions["credentials"]
    value = credentials.open_session(KEY_FIRST)
    assert value is not None and credentials.session_valid(value)
    later = Credentials(credentials.keys, "keyed", False, clock=lambda: credentials.clock() + 8 * 3600 + 1)
    assert not later.session_valid(value)
    rotated = create_app({"TODAY": TODAY, "LOG_LEVEL": "WARNING", "API_KEYS": KEY_SECOND}).extensions["credentials"]
    assert not rotated.session_valid(value)
    assert credentials.open_session("not-a-key-0123456789") is None


def test_the_session_cookie_is_secure_when_the_service_is_served_over_https():
    c = make_client(API_KEYS=KEY_FIRST, PUBLIC_BASE_URL="https://planner.example")
    assert "Secure" in signed_in(c).headers["Set-Cookie"]


def test_planner_clinic_off_answers_404_and_open_needs_no_key():
    off = make_client(API_KEYS=KEY_FIRST, CLINIC="off")
    for method, path in (("get", "/"), ("post", "/clinic/plan"), ("get", "/clinic/rules"), ("get", "/clinic/session")):
        r = getattr(off, method)(path, data=CLINIC_FORM if method == "post" else None)
        assert r.status_code == 404 and r.mimetype == "application/problem+json", path
    assert "PLANNER_CLINIC=off" in off.get("/").get_json()["detail"]
    opened = make_client(API_KEYS=KEY_FIRST, CLINIC="open")
    assert opened.post("/clinic/plan", data=CLINIC_FORM).status_code == 200
    assert opened.get("/v1/therapies").status_code == 401  # the API keeps its key
    without_keys = make_client()
    assert without_keys.application.config["PLANNER"]["CLINIC"] == "open" and without_keys.get("/").status_code == 200


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"PLANNER_CLINIC": "keyed"}, "needs PLANNER_API_KEYS"),
        ({"PLANNER_CLINIC": "closed", "PLANNER_API_KEYS": KEY_FIRST}, "must be one of open, keyed, off"),
    ],
)
def test_a_clinic_setting_that_cannot_work_refuses_to_start(environ, says):
    with pytest.raises(SettingsError, match=says):
        load_settings(environ=environ)
    assert load_settings(environ={"PLANNER_API_KEYS": KEY_FIRST})["CLINIC"] == "keyed"
    assert load_settings(environ={"PLANNER_CLINIC": " OFF "})["CLINIC"] == "off"


class _NeverRead(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body of a refused request was read")

    readline = readinto = read


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/plans", {}, 401),
        ("/v1/plans", {"Authorization": "Bearer wrong-key-0123456789"}, 401),
        ("/v1/plans/batch", {}, 401),
        ("/fhir/$vaccine-timing", {}, 401),
        ("/clinic/plan", {}, 401),
    ],
)
def test_credentials_are_checked_from_the_headers_before_any_body_is_read(path, headers, status):
    app = create_app({"TODAY": TODAY, "LOG_LEVEL": "CRITICAL", "API_KEYS": KEY_FIRST})
    environ = EnvironBuilder(method="POST", path=path, headers=headers, content_type="application/json").get_environ()
    environ["CONTENT_LENGTH"] = "60000"
    environ["wsgi.input"] = _NeverRead()
    got: list[str] = []
    body = b"".join(app.wsgi_app(environ, lambda s, h, e=None: got.append(s)))
    assert got[0].startswith(str(status)) and body


def test_a_refused_chunked_body_is_not_read_either():
    app = create_app({"TODAY": TODAY, "LOG_LEVEL": "CRITICAL", "API_KEYS": KEY_FIRST})
    environ = EnvironBuilder(method="POST", path="/v1/plans", content_type="application/json").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input"] = _NeverRead()
    got: list[str] = []
    b"".join(app.wsgi_app(environ, lambda s, h, e=None: got.append(s)))
    assert got[0].startswith("401")


def test_security_headers_on_api_responses_and_errors(client):
    for r in (client.post("/v1/plans", json=typical_request()), client.get("/v1/nowhere"), client.get("/healthz")):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert "Access-Control-Allow-Origin" not in r.headers
    assert client.post("/v1/plans", json=typical_request()).headers["Cache-Control"] == "no-store"
    assert client.post("/v1/plans/batch", json={"requests": [UNKNOWN_VACCINE]}).headers["Cache-Control"] == "no-store"


def _answer_headers(app, method: str, path: str) -> list[tuple[str, str]]:
    """The header list a WSGI app gives for `method path` (no server, no Flask test client)."""
    captured: list[tuple[str, str]] = []

    def start_response(status, headers, exc_info=None):
        captured.extend(headers)

    environ = EnvironBuilder(method=method).get_environ()
    environ["PATH_INFO"] = path  # as a server gives it, "//clinic/plan" included
    b"".join(app(environ, start_response))
    return captured


def test_security_headers_are_added_around_any_wsgi_answer_and_a_post_is_never_stored():
    def view(environ, start_response):  # a view that asks for caching, on any method
        start_response("200 OK", [("Content-Type", "text/plain"), ("Cache-Control", "max-age=60")])
        return [b"ok"]

    wrapped = SecurityHeaders(view)
    posted = _answer_headers(wrapped, "POST", "/v1/plans")
    assert [v for k, v in posted if k.lower() == "cache-control"] == ["no-store"]  # its own is dropped
    assert ("X-Content-Type-Options", "nosniff") in posted and ("Content-Type", "text/plain") in posted
    got = _answer_headers(wrapped, "GET", "/docs/static/docs.js")
    assert ("Cache-Control", "max-age=60") in got and dict(got)["Content-Security-Policy"] == DOCS_CSP
    # The path as Flask's request.path reads it: one leading slash.
    assert dict(_answer_headers(wrapped, "GET", "//clinic/plan"))["Content-Security-Policy"] == CLINIC_CSP
    assert dict(_answer_headers(wrapped, "GET", "/"))["Content-Security-Policy"] == CLINIC_CSP
    assert dict(_answer_headers(wrapped, "GET", "/fhir/metadata"))["Content-Security-Policy"] == API_CSP


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.urls += [attrs[a] for a in ("src", "href") if a in attrs]
        if tag == "script" and "src" not in attrs:
            self.inline_scripts += 1


def test_docs_csp_allows_only_same_origin_assets_and_the_page_uses_no_others(client):
    r = client.get("/docs")
    csp = dict(part.strip().split(" ", 1) for part in r.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self' 'unsafe-inline'"
    assert csp["img-src"] == "'self' data:" and csp["connect-src"] == "'self'" and csp["default-src"] == "'none'"
    assert r.headers["X-Frame-Options"] == "DENY"
    page = _Assets()
    page.feed(r.get_data(as_text=True))
    assert page.urls and page.inline_scripts == 0  # script-src 'self' would block an inline script
    for url in page.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        with client.get(url) as asset:
            assert asset.status_code == 200, url
    with client.get("/docs/static/docs.js") as r:
        init = r.get_data(as_text=True)
    assert "http" not in init and 'url: "/openapi.json"' in init and "validatorUrl: null" in init


def test_cors_is_off_unless_origins_are_configured(client):
    r = client.get("/v1/therapies", headers={"Origin": "https://pharmacy.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_cors_answers_configured_origins_only():
    c = make_client(CORS_ORIGINS="https://pharmacy.example, https://clinic.example", API_KEYS=KEY_FIRST)
    r = c.get("/v1/therapies", headers={"Origin": "https://clinic.example", "Authorization": f"Bearer {KEY_FIRST}"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://clinic.example"
    assert "Origin" in r.headers.get_all("Vary") and r.headers["Access-Control-Expose-Headers"] == "X-Request-ID"
    preflight = c.options(
        "/v1/plans",
        headers={
            "Origin": "https://pharmacy.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200  # a preflight carries no key and must not need one
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    r = c.get("/v1/therapies", headers={"Origin": "https://evil.example", "Authorization": f"Bearer {KEY_FIRST}"})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Access-Control-Allow-Origin" not in c.get("/healthz", headers={"Origin": "https://clinic.example"}).headers


def test_cors_wildcard():
    r = make_client(CORS_ORIGINS="*").get("/v1/therapies", headers={"Origin": "https://any.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_no_debug_mode_even_when_flask_debug_is_set(monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app({"LOG_LEVEL": "WARNING"})
    assert app.debug is False and app.config["PROPAGATE_EXCEPTIONS"] is False


def test_a_fault_answers_500_with_no_internals(client, monkeypatch, log_lines):
    from service import planning as plans

    def broken(*args, **kwargs):
        raise RuntimeError("secret-marker 2026-01-01")

    monkeypatch.setattr(plans, "make_plan", broken)
    r = client.post("/v1/plans", json=typical_request(), headers={"X-Request-ID": "fault-1"})
    text = r.get_data(as_text=True)
    assert r.status_code == 500 and r.mimetype == "application/problem+json"
    assert "secret" not in text and "Traceback" not in text and "RuntimeError" not in text
    lines = log_lines()
    assert {line["request_id"] for line in lines} == {logged_id("fault-1")}
    assert "secret" not in json.dumps(lines) and "fault-1" not in json.dumps(lines)


# ---- request ids, logs -----------------------------------------------------------------------------


def test_request_id_is_echoed_generated_or_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    unsafe = client.get("/healthz", headers={"X-Request-ID": "x" * 200}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe)


def test_every_line_logged_during_a_request_carries_its_id_and_no_patient_data(client, log_lines):
    body = typical_request()
    client.post("/v1/plans", json=body, headers={"X-Request-ID": "req-1"})
    client.post("/v1/plans", json=UNKNOWN_VACCINE, headers={"X-Request-ID": "req-2"})
    client.post("/v1/plans/batch", json={"requests": [body, UNKNOWN_VACCINE]}, headers={"X-Request-ID": "req-3"})
    client.get("/v1/vaccines/mmr", headers={"X-Request-ID": "req-4"})
    with client.application.test_request_context("/v1/plans", headers={"X-Request-ID": "req-5"}):
        client.application.preprocess_request()
        logging.getLogger("service.anything").warning("a note from deep inside")
    lines = log_lines()
    sent = ["req-1", "req-2", "req-3", "req-4", "req-5"]
    assert [line.get("request_id") for line in lines] == [logged_id(i) for i in sent]
    access = {line["request_id"]: line for line in lines if line["logger"] == "service.access"}
    assert access[logged_id("req-3")]["route"] == "/v1/plans/batch" and access[logged_id("req-3")]["items"] == 2
    assert access[logged_id("req-4")]["route"] == "/v1/vaccines/<vaccine_id>"
    text = json.dumps(lines)
    for secret in [*body["treatment"]["doses"], body["as_of"], "Shingrix", "Shingrx", "Prevnar", "mmr", "MMR"]:
        assert secret not in text
    assert set(access[logged_id("req-1")]) <= {
        "ts",
        "level",
        "logger",
        "event",
        "pid",
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
    }


def test_a_client_chosen_request_id_is_echoed_but_never_logged_as_sent(client, log_lines):
    chosen = "Mary.Smith.1985-03-12"  # well-formed, and patient data all the same
    r = client.post("/v1/plans", json=UNKNOWN_VACCINE, headers={"X-Request-ID": chosen})
    assert r.headers["X-Request-ID"] == chosen and r.get_json()["request_id"] == chosen  # the client correlates
    lines = log_lines()
    assert lines and chosen not in json.dumps(lines) and "Smith" not in json.dumps(lines)
    assert {line["request_id"] for line in lines} == {logged_id(chosen)}
    assert re.fullmatch(r"c-[0-9a-f]{24}", logged_id(chosen))
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert logged_id(generated) == generated and logged_id(logged_id(chosen)) == logged_id(chosen)


# ---- metrics ----------------------------------------------------------------------------------------


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_metrics_count_requests_by_route_template_and_status():
    c = make_client()
    c.get("/v1/vaccines/mmr")
    c.get("/v1/vaccines/nope")
    c.get("/v1/vaccines/mmr")
    c.get("/no/such/path")
    c.post("/v1/plans/batch", json={"requests": [typical_request(), UNKNOWN_VACCINE]})
    r = c.get("/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    samples = _samples(r.get_data(as_text=True))
    route = 'method="GET",route="/v1/vaccines/<vaccine_id>"'
    assert samples[f'planner_http_requests_total{{{route},status="200"}}'] == 2
    assert samples[f'planner_http_requests_total{{{route},status="404"}}'] == 1
    assert samples['planner_http_requests_total{method="GET",route="(unmatched)",status="404"}'] == 1
    assert samples[f'planner_http_request_duration_seconds_count{{{route},status="200"}}'] == 2
    assert samples['planner_batch_items_total{status="200"}'] == 1
    assert samples['planner_batch_items_total{status="422"}'] == 1
    assert "mmr" not in r.get_data(as_text=True).replace("<vaccine_id>", "")
    assert not any("nope" in name or "/no/such" in name for name in samples)


# ---- settings ---------------------------------------------------------------------------------------


def test_every_planner_environment_variable_used_is_in_the_settings_table():
    used = set()
    for path in [*ROOT.glob("service/**/*.py"), *ROOT.glob("deploy/**/*"), ROOT / "Makefile"]:
        if path.is_file():
            used |= set(re.findall(r"PLANNER_([A-Z_]+)", path.read_text(encoding="utf-8")))
    assert used and used <= set(SETTINGS), used - set(SETTINGS)


def test_settings_come_from_the_environment():
    keys = f"{KEY_FIRST},{KEY_SECOND}"
    values = load_settings(environ={"PLANNER_WORKERS": "3", "PLANNER_MAX_REQUESTS": "40", "PLANNER_API_KEYS": keys})
    assert (values["WORKERS"], values["MAX_REQUESTS"], values["API_KEYS"]) == (3, 40, keys)
    assert load_settings(environ={})["WORKERS"] is None
    assert load_settings(environ={})["API_KEYS"] is None  # unset: no keys (the open development setup)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "holds no key"),
        ("   ", "holds no key"),
        (",", "holds no key"),
        (" , ,", "holds no key"),
        (f"{KEY_FIRST},", "empty entry"),
        (f"{KEY_FIRST},,{KEY_SECOND}", "empty entry"),
        ("e2e-key", "key number(s) 1 are shorter than 16"),
        (f"{KEY_FIRST},short-key", "key number(s) 2 are shorter than 16"),
    ],
    ids=["empty", "blank", "comma-only", "commas-and-blanks", "trailing-comma", "doubled-comma", "short", "one-short"],
)
def test_api_key_settings_that_would_turn_keys_off_or_weaken_them_refuse_to_start(raw, says):
    with pytest.raises(SettingsError, match="PLANNER_API_KEYS") as refused:
        load_settings(environ={"PLANNER_API_KEYS": raw})
    assert says in str(refused.value)
    with pytest.raises(SettingsError, match=re.escape(says)):
        create_app({"API_KEYS": raw})  # the same check on settings passed to the factory


# ---- the fast response path -------------------------------------------------------------------------

STOPPED = {
    "as_of": "2026-11-24",
    "treatment": {
        "drug": "ofatumumab",
        "doses": ["2026-01-06", "2026-01-13"],
        "stopped_on": "2026-02-01",
        "b_cell_repletion_on": "2026-10-01",
    },
    "vaccines": [{"name": "MMR"}, {"name": "Shingrix"}, {"name": "yellow fever"}],
    "horizon_days": 1095,
}


@pytest.mark.parametrize(
    "body",
    [
        typical_request(),
        largest_request(),
        plan_request(0, 1, 60),
        plan_request(1, 5, 365),
        plan_request(3, 20, 730),
        plan_request(100, 50, 1095),
        STOPPED,
        {**STOPPED, "treatment": {**STOPPED["treatment"], "b_cell_repletion_on": None}},
        json.loads((ROOT / "service/api/examples/plan-request.json").read_text()),
    ],
    ids=[
        "typical",
        "largest",
        "not started 1 vaccine 60 days",
        "starter 5 vaccines",
        "starter 20 vaccines 730 days",
        "100 doses 50 vaccines 1095 days",
        "stopped with repletion",
        "stopped without repletion",
        "README example",
    ],
)
def test_the_fast_response_encoding_equals_the_response_schemas_dump(app, body):
    from service.contract.schemas import PlanResponseSchema
    from service.planning import REQUEST_SCHEMA, encode, json_ready

    presented = app.extensions["planner"].answer(REQUEST_SCHEMA.load(body))
    dumped = PlanResponseSchema().dump(presented)
    assert json.loads(encode(presented)) == dumped == json_ready(presented)
    with app.test_client() as c:
        assert c.post("/v1/plans", json=body).get_json() == dumped


# ---- malformed bodies (found while writing the fault tests: the first three were 500s) -----------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[" * 1000 + b"]" * 1000, 422),  # deep but within orjson's 1,024 levels: valid JSON, wrong shape
        (b"[" * 20000 + b"]" * 20000, 400),  # RecursionError in the standard library's parser
        (b'{"horizon_days": 1' + b"0" * 5000 + b"}", 400),  # over Python's 4,300-digit int conversion limit
        (b'{"as_of": NaN}', 400),  # not JSON, though the standard library accepts it
        (b'{"horizon_days": 1e400}', 400),
        (b"\xff\xfe{}", 400),
        (b"", 422),  # no body: every required field is missing
        (b"{", 400),
    ],
    ids=[
        "1000 levels",
        "20000 levels",
        "5000-digit integer",
        "NaN",
        "1e400",
        "byte order mark",
        "empty body",
        "truncated",
    ],
)
@pytest.mark.parametrize("path", ["/v1/plans", "/v1/plans/batch"], ids=str)
def test_malformed_bodies_are_client_errors_never_500(client, body, status, path):
    r = client.post(path, data=body, content_type="application/json")
    assert r.status_code == status and r.mimetype == "application/problem+json"


# ---- admission: 503 at once when a worker is at capacity --------------------------------------------------


class _Behind:
    def __init__(self, seconds: float):
        self.seconds = seconds

    def behind(self) -> float:
        return self.seconds


def _call(wsgi, path: str, method: str = "POST") -> tuple[str, dict[str, str], bytes]:
    got: list = []
    environ = EnvironBuilder(method=method, path=path, content_type="application/json").get_environ()
    if method == "POST":  # a body that fails the test if read: a refusal never reads it
        environ["CONTENT_LENGTH"] = "1000"
        environ["wsgi.input"] = _NeverRead()
    body = b"".join(wsgi(environ, lambda status, headers, exc_info=None: got.append((status, dict(headers)))))
    return got[0][0], got[0][1], body


def test_a_worker_behind_its_queue_limit_refuses_at_once_but_answers_the_probes():
    from service.serving import Admission

    shed: list[str] = []
    app = create_app({"TODAY": TODAY, "LOG_LEVEL": "CRITICAL"})
    admitted = Admission(app.wsgi_app, max_in_flight=100, max_queue_seconds=0.5, on_shed=shed.append)
    admitted.lag = _Behind(0.8)
    status, headers, body = _call(admitted, "/v1/plans")
    assert status.startswith("503") and headers["Retry-After"] == "1"
    assert headers["Content-Type"] == "application/problem+json" and b"0.8 s behind" in body
    assert shed == ["queue"]
    for probe in ("/healthz", "/readyz"):
        assert _call(admitted, probe, "GET")[0].startswith("200")
    admitted.lag = _Behind(0.4)
    assert _call(admitted, "/healthz", "GET")[0].startswith("200") and shed == ["queue"]


def test_a_worker_with_its_requests_in_progress_refuses_the_next_and_admits_again_when_one_ends():
    from service.serving import Admission

    def held(environ, start_response):  # a request that stays in progress until its answer is consumed
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"done"])

    shed: list[str] = []
    admitted = Admission(held, max_in_flight=2, max_queue_seconds=0.5, on_shed=shed.append, count_in_flight=True)
    admitted.lag = _Behind(0.0)
    environ = EnvironBuilder(method="GET", path="/v1/therapies").get_environ()
    answers = [admitted(dict(environ), lambda *a: None) for _ in range(2)]
    assert admitted.in_flight == 2
    assert _call(admitted, "/v1/plans")[0].startswith("503") and shed == ["in_flight"]
    assert list(answers[0]) == [b"done"]
    answers[0].close()  # the server closes the answer once it is written: the slot is free again
    assert admitted.in_flight == 1 and _call(admitted, "/v1/therapies", "GET")[0].startswith("200")


def test_shed_requests_are_counted_in_the_metrics():
    c = make_client()
    c.application.extensions["metrics"].count_shed("queue")
    text = c.get("/metrics").get_data(as_text=True)
    assert 'planner_http_shed_requests_total{reason="queue"} 1.0' in text


def test_a_scrape_merges_the_readable_sample_files_and_counts_the_others(tmp_path, monkeypatch):
    from prometheus_client import mmap_dict

    from service import metrics

    good = mmap_dict.MmapedDict(str(tmp_path / "counter_101.db"))
    key = mmap_dict.mmap_key("planner_http_requests", "planner_http_requests_total", ["status"], ["200"], "help")
    good.write_value(key, 7.0, 0.0)
    good.close()
    (tmp_path / "counter_102.db").write_bytes(b"")  # what a full volume left: it made every scrape a 500
    text, unreadable = metrics._read_shared(str(tmp_path))
    assert unreadable == 1 and b'planner_http_requests_total{status="200"} 7.0' in text
    assert metrics.directory_state(tmp_path) == "ok"
    assert metrics.directory_state(tmp_path / "gone") == "missing"
    state = metrics._state_lines("missing", 1, True).decode()
    assert (
        'planner_metrics_directory_usable{state="missing"} 0' in state and "planner_metrics_unreadable_files 1" in state
    )
    assert "planner_metrics_worker_in_memory 1" in state


def test_an_exited_workers_unreadable_file_is_removed_and_counted(tmp_path):
    from service import metrics

    (tmp_path / "counter_4242.db").write_bytes(b"")
    before = metrics.shared_count(metrics.UNARCHIVED_WORKERS)
    metrics.archive_dead(4242, tmp_path)
    assert not (tmp_path / "counter_4242.db").exists()
    assert metrics.shared_count(metrics.UNARCHIVED_WORKERS) == before + 1


DUPLICATE_AS_OF = (
    b'{"as_of": "2026-11-24", "treatment": {"drug": "ofatumumab", "start_date": "2027-01-05"}, '
    b'"vaccines": [{"name": "MMR"}], "as_of": "2030-01-01"}'
)


@pytest.mark.parametrize(
    ("path", "body", "key"),
    [
        ("/v1/plans", DUPLICATE_AS_OF, "as_of"),
        ("/v1/plans.ics", DUPLICATE_AS_OF, "as_of"),
        ("/v1/plans", DUPLICATE_AS_OF.replace(b'"name": "MMR"', b'"name": "MMR", "name": "varicella"'), "name"),
        ("/v1/plans/batch", b'{"requests": [' + DUPLICATE_AS_OF + b"]}", "as_of"),
    ],
    ids=["plans", "ics", "nested", "batch-item"],
)
def test_a_key_given_twice_is_a_400_naming_it_never_the_last_one_silently(client, path, body, key):
    r = client.post(path, data=body, content_type="application/json")
    problem = r.get_json()
    assert r.status_code == 400 and problem["type"] == "/problems/malformed-json"
    assert f"the key '{key}' appears twice" in problem["detail"]


def test_a_key_given_twice_on_the_fhir_route_is_an_operation_outcome_naming_it(client):
    r = client.post("/fhir/$vaccine-timing", data=DUPLICATE_AS_OF, content_type="application/fhir+json")
    assert r.status_code == 400 and "the key 'as_of' appears twice" in r.get_json()["issue"][0]["diagnostics"]


def test_the_same_key_in_different_objects_is_not_a_duplicate(client):
    body = {**typical_request(), "immunizations": [{"name": "MMR", "date": "2026-01-05"}]}
    assert client.post("/v1/plans", json=body).status_code == 200


# ---- the work one request can cause --------------------------------------------------------------------------


def misspelt(count: int, prefix: str) -> list[str]:
    return [f"{prefix} zq{i}" for i in range(count)]


def test_unknown_names_are_all_reported_but_suggested_for_only_the_first_ten(client):
    """250 misspelt names (50 wanted, 200 in the history) cost 244 ms of CPU when each got a 'did you mean':
    now the first 10 are suggested for and every one is still reported."""
    from service.domain.catalog import SUGGESTED_NAMES_PER_CALL

    body = {
        "as_of": "2026-11-24",
        "treatment": {"drug": "ofatumumab", "start_date": "2027-01-05"},
        "vaccines": [{"name": name} for name in misspelt(50, "yelow fevr")],
    }
    problem = client.post("/v1/plans", json=body).get_json()
    unknown = [e for e in problem["errors"] if e["code"] == "unknown_vaccine"]
    assert len(unknown) + problem.get("errors_omitted", 0) == 50
    suggested = [e for e in unknown if e.get("candidates")]
    assert len(suggested) == SUGGESTED_NAMES_PER_CALL and all("did you mean" in e["message"] for e in suggested)
    assert all("no suggestions past 10 unknown names" in e["message"] for e in unknown if not e.get("candidates"))


def test_the_clinic_form_is_held_to_the_same_budget():
    c = make_client()
    form = {"as_of": "2026-11-24", "drug": "ofatumumab", "start_date": "2027-01-05", "vaccines": misspelt(50, "mesles")}
    html = c.post("/clinic/plan", data=form).get_data(as_text=True)
    assert html.count("no suggestions past 10 unknown names") == 2 * 40  # in the summary and at each field


def test_a_name_suggested_for_outside_a_planning_call_has_no_budget():
    from service.data.loader import load_ruleset
    from service.domain.catalog import LookupFailed

    catalog = load_ruleset().catalog
    for name in misspelt(12, "yelow fevr"):
        with pytest.raises(LookupFailed) as failed:
            catalog.by_name(name, "name")
        assert failed.value.error.candidates  # FHIR and CDS Hooks look names up one at a time


# ---- CDS Hooks tokens: one memory for every worker ------------------------------------------------------------


def test_a_token_used_in_one_worker_is_refused_in_another():
    """The master makes the memory before it forks; a child (another worker) uses a jti, the parent then sees
    it used. Expired entries are reused; the keep-after-expiry equals the JWT check's leeway."""
    from service.api.cds_auth import LEEWAY_SECONDS
    from service.security import SharedReplays

    assert SharedReplays.KEEP_AFTER_EXPIRY == LEEWAY_SECONDS
    replays = SharedReplays(slots=64)
    now = 1_000_000.0
    child = os.fork()
    if child == 0:  # the other worker
        os._exit(0 if replays.first_use("ehr|jti-1", now + 300, now) else 1)
    _, status = os.waitpid(child, 0)
    assert os.WEXITSTATUS(status) == 0
    assert not replays.first_use("ehr|jti-1", now + 300, now + 10)  # replayed here: refused
    assert replays.first_use("ehr|jti-2", now + 300, now + 10)
    later = now + 300 + LEEWAY_SECONDS + 1  # both tokens expired: their slots are free again
    assert replays.first_use("ehr|jti-1", later + 300, later)


def test_a_full_token_memory_refuses_rather_than_forgets():
    from service.security import SharedReplays

    replays = SharedReplays(slots=8)
    now = 1_000_000.0
    assert all(replays.first_use(f"ehr|jti-{i}", now + 300, now) for i in range(8))
    assert not replays.first_use("ehr|jti-new", now + 300, now)  # no slot free: never let through unchecked


def test_without_gunicorn_each_app_keeps_its_own_token_memory():
    from service.api.cds_auth import ReplayCache
    from service.security import shared_replays

    assert shared_replays() is None
    app = create_app({"TODAY": TODAY, "LOG_LEVEL": "CRITICAL"})
    assert isinstance(app.extensions["cds_auth"].replays, ReplayCache)
