"""The EHR routes secured: FHIR takes the API key, CDS Hooks verifies the EHR's JWT (CDS Hooks 2.0), one strict
body reader and one error mapping for every route, CORS on /fhir and /cds-services, canonical URLs from config.

Keys are generated in the test; nothing is fetched.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fhir.resources.R4B.operationdefinition import OperationDefinition
from fhir.resources.R4B.operationoutcome import OperationOutcome
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from service.api.examples import IMMDS_REQUEST_EXAMPLE
from service.app import create_app
from service.settings import api_keys
from tests.conftest import TODAY
from tests.interop_builders import Facts

ISSUER = "https://ehr.example/fhir-auth"
BASE = "https://planner.example.org"
SIGN = "/cds-services/vaccine-timing-order-sign"
AUDIENCE = BASE + SIGN
API_KEY = "k-0123456789abcdef"
FACTS = Facts(vaccines=("37",), doses=("2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"))
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())
STRANGER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(public_key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if alg.startswith("RS") else ECAlgorithm
    return {**json.loads(algorithm.to_jwk(public_key)), "kid": kid, "alg": alg, "use": "sig"}


JWKS = {"keys": [jwk(RSA_KEY.public_key(), "rsa-1", "RS384"), jwk(EC_KEY.public_key(), "ec-1", "ES384")]}


def secured_app(**overrides: Any):
    config = {
        "TODAY": TODAY,
        "LOG_LEVEL": "WARNING",
        "API_KEYS": API_KEY,
        "CDS_ISSUERS": ISSUER,
        "CDS_JWKS": json.dumps(JWKS),
        "PUBLIC_BASE_URL": BASE,
        "CORS_ORIGINS": "https://sandbox.cds-hooks.org",
    }
    return create_app({**config, **overrides})


@pytest.fixture(scope="module")
def secured():
    return secured_app()


@pytest.fixture()
def ehr(secured):
    return secured.test_client()


def token(key: Any = RSA_KEY, kid: str = "rsa-1", alg: str = "RS384", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "client-1", "aud": AUDIENCE, "exp": now + 240, "iat": now, "jti": uuid.uuid4().hex}
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg, headers={"kid": kid})


def hook(client, bearer: str | None, path: str = SIGN):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return client.post(path, json=FACTS.cds(), headers=headers)


# ---- CDS Hooks: the JWT ------------------------------------------------------------------------------------


@pytest.mark.parametrize("signer", [(RSA_KEY, "rsa-1", "RS384"), (EC_KEY, "ec-1", "ES384")], ids=["RS384", "ES384"])
def test_a_jwt_signed_by_a_trusted_ehr_key_is_accepted(ehr, signer):
    key, kid, alg = signer
    r = hook(ehr, token(key, kid, alg))
    assert r.status_code == 200 and r.get_json()["cards"][0]["indicator"] == "critical"


@pytest.mark.parametrize("signer", [(RSA_KEY, "RS384"), (EC_KEY, "ES384")], ids=["RS384", "ES384"])
def test_a_jwt_without_a_kid_is_refused_as_the_specification_requires_one(ehr, signer):
    key, alg = signer
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, "iat": now, "jti": uuid.uuid4().hex}
    r = hook(ehr, jwt.encode(claims, key, algorithm=alg))
    assert r.status_code == 401 and "(kid)" in r.get_json()["detail"]


def test_the_audience_is_the_endpoint_called_not_the_base_url(ehr):
    r = hook(ehr, token(aud=BASE))
    assert r.status_code == 401 and "audience" in r.get_json()["detail"]


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"exp": str(int(time.time()) + 60)}, "exp must be a number"),
        ({"iat": str(int(time.time()))}, "iat must be a number"),
        ({"exp": True}, "exp must be a number"),
        ({"jti": 12345}, "jti must be a non-empty string"),
        ({"aud": 7}, "aud must be a string"),
    ],
    ids=["exp-string", "iat-string", "exp-boolean", "jti-number", "aud-number"],
)
def test_claims_of_the_wrong_type_are_refused(ehr, claims, why):
    r = hook(ehr, token(**claims))
    assert r.status_code == 401 and why in r.get_json()["detail"]


REFUSED = [
    (lambda: None, "needs the JWT"),
    (lambda: "not.a.jwt", "not a JWT"),
    (lambda: token(exp=int(time.time()) - 120, iat=int(time.time()) - 400), "expired"),
    (lambda: token(iss="https://intruder.example"), "issuer"),
    (lambda: token(aud="https://planner.example.org/cds-services/another-service"), "audience"),
    (lambda: token(aud="https://elsewhere.example/cds-services/vaccine-timing-order-sign"), "audience"),
    (lambda: token(STRANGER_KEY), "signature"),
    (lambda: token(kid="unknown-kid"), "key id"),
    (lambda: token(jti=None), "'jti'"),
    (lambda: token(exp=int(time.time()) + 3600), "5 minutes"),
    (
        lambda: jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60, "iat": int(time.time()), "jti": "h"},
            "a-shared-secret-of-thirty-two-bytes-or-more",
            algorithm="HS256",
            headers={"kid": "rsa-1"},
        ),
        "asymmetric",
    ),
]
REFUSED_IDS = [
    "no-token",
    "not-a-jwt",
    "expired",
    "wrong-iss",
    "aud-of-another-service",
    "aud-of-another-host",
    "bad-signature",
    "unknown-kid",
    "no-jti",
    "exp-too-far",
    "hmac-alg",
]


@pytest.mark.parametrize(("make", "why"), REFUSED, ids=REFUSED_IDS)
def test_a_cds_call_without_a_valid_jwt_is_a_401_saying_why_and_plans_nothing(ehr, make, why):
    r = hook(ehr, make())
    assert r.status_code == 401 and r.content_type == "application/problem+json"
    assert why in r.get_json()["detail"] and "cards" not in r.get_json()
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_replayed_jti_is_refused(ehr):
    once = token()
    assert hook(ehr, once).status_code == 200
    again = hook(ehr, once)
    assert again.status_code == 401 and "used already" in again.get_json()["detail"]


def test_feedback_needs_the_jwt_too(ehr):
    body = {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-24T10:00:00Z"}]}
    path = SIGN + "/feedback"
    assert ehr.post(path, json=body).status_code == 401
    for audience in (BASE + SIGN, BASE + path):  # the service's endpoint, or the feedback URL called
        good = token(aud=audience)
        assert ehr.post(path, json=body, headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_discovery_stays_open_since_it_holds_no_patient_data(ehr):
    assert ehr.get("/cds-services").status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [{"CDS_JWKS": ""}, {"CDS_ISSUERS": ""}],
    ids=["auth-on-no-keys", "auth-on-no-issuers"],
)
def test_auth_on_but_not_configured_refuses_every_call_rather_than_let_it_through(overrides):
    client = secured_app(**overrides).test_client()
    r = hook(client, token())
    assert r.status_code == 401


def test_issuers_alone_turn_jwt_checks_on_and_keys_can_be_bound_to_one_issuer(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({ISSUER: JWKS, "https://other-ehr.example": {"keys": []}}), encoding="utf-8")
    client = secured_app(API_KEYS=None, CDS_JWKS=str(path)).test_client()
    assert hook(client, None).status_code == 401
    assert hook(client, token()).status_code == 200


def test_without_authentication_configured_cds_calls_need_no_token(client):
    assert hook(client, None).status_code == 200


# ---- FHIR: the API key ------------------------------------------------------------------------------------


def fhir_post(client, headers=None):
    return client.post(
        "/fhir/$vaccine-timing", data=json.dumps(FACTS.fhir()), content_type="application/fhir+json", headers=headers
    )


@pytest.mark.parametrize(
    ("headers", "status"),
    [(None, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": f"Bearer {API_KEY}"}, 200)],
    ids=["no-key", "wrong-key", "right-key"],
)
def test_the_fhir_operation_takes_the_api_key_and_refuses_with_an_operation_outcome(ehr, headers, status):
    r = fhir_post(ehr, headers)
    assert r.status_code == status
    if status == 401:
        assert r.content_type == "application/fhir+json" and r.headers["WWW-Authenticate"].startswith("Bearer")
        assert OperationOutcome.model_validate(r.get_json()).issue[0].code == "login"


def test_the_immds_operation_takes_the_api_key_too(ehr):
    r = ehr.post("/fhir/$immds-forecast", json=IMMDS_REQUEST_EXAMPLE)
    assert r.status_code == 401 and OperationOutcome.model_validate(r.get_json()).issue[0].code == "login"


def test_fhir_conformance_resources_stay_open_and_carry_the_configured_canonical_url(ehr):
    r = ehr.get("/fhir/OperationDefinition/vaccine-timing")
    assert r.status_code == 200
    assert OperationDefinition.model_validate(r.get_json()).url == BASE + "/fhir/OperationDefinition/vaccine-timing"
    assert ehr.get("/fhir/metadata").status_code == 200
    assert ".example/" not in r.get_data(as_text=True).replace("planner.example.org", "")


# ---- one body reader, one error mapping ----------------------------------------------------------------------

DEEP = b"[" * 5000 + b"]" * 5000
BODIES = [
    (DEEP, "deeply nested"),
    (b'{"hook": NaN}', "NaN"),
    (b'{"a": Infinity}', "Infinity"),
    (b"{" * 3, "truncated"),
]


@pytest.mark.parametrize(("raw", "what"), BODIES, ids=[w for _, w in BODIES])
def test_bad_json_is_a_400_on_every_route_problem_json_or_operation_outcome(client, raw, what):
    v1 = client.post("/v1/plans", data=raw, content_type="application/json")
    cds = client.post(SIGN, data=raw, content_type="application/json")
    fhir = client.post("/fhir/$vaccine-timing", data=raw, content_type="application/fhir+json")
    assert (v1.status_code, cds.status_code, fhir.status_code) == (400, 400, 400), what
    assert v1.content_type == cds.content_type == "application/problem+json"
    assert fhir.content_type == "application/fhir+json"
    assert OperationOutcome.model_validate(fhir.get_json()).issue[0].code == "invalid"


def test_an_oversized_body_is_a_413_on_every_route(client):
    raw = b'{"x": "' + b"a" * 70_000 + b'"}'
    statuses = [
        client.post(path, data=raw, content_type=media).status_code
        for path, media in (
            ("/v1/plans", "application/json"),
            (SIGN, "application/json"),
            ("/fhir/$vaccine-timing", "application/fhir+json"),
        )
    ]
    assert statuses == [413, 413, 413]


def test_a_wrong_media_type_is_a_415_on_every_route(client):
    for path in ("/v1/plans", SIGN, "/fhir/$vaccine-timing"):
        assert client.post(path, data="a=b", content_type="application/x-www-form-urlencoded").status_code == 415


# ---- CORS ---------------------------------------------------------------------------------------------------

ORIGIN = "https://sandbox.cds-hooks.org"


@pytest.mark.parametrize("path", [SIGN, "/cds-services", "/fhir/$vaccine-timing", "/fhir/metadata", "/v1/plans"])
def test_preflight_on_the_ehr_routes_follows_the_configured_origins(ehr, path):
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    r = ehr.options(path, headers=preflight)
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert (
        "POST" in r.headers["Access-Control-Allow-Methods"]
        and "Authorization" in r.headers["Access-Control-Allow-Headers"]
    )
    stranger = ehr.options(path, headers={**preflight, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_a_cds_answer_carries_the_cors_header_for_an_allowed_origin(ehr):
    r = ehr.post(SIGN, json=FACTS.cds(), headers={"Origin": ORIGIN, "Authorization": f"Bearer {token()}"})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_an_empty_body_on_an_ehr_route_is_a_400_naming_it(client):
    cds = client.post(SIGN, data=b"", content_type="application/json")
    fhir = client.post("/fhir/$vaccine-timing", data=b"", content_type="application/fhir+json")
    assert (cds.status_code, fhir.status_code) == (400, 400)
    assert "empty" in cds.get_json()["detail"] and "empty" in fhir.get_json()["issue"][0]["diagnostics"]


def _forged(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"sig") -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join((part(json.dumps(header).encode()), part(json.dumps(payload).encode()), part(signature)))


FORGED = [
    ({"alg": "none", "kid": "rsa-1"}, "asymmetric"),
    ({"alg": "ES384", "kid": "rsa-1"}, "key id"),  # an RSA key's kid under an EC algorithm
    ({"alg": "RS384", "kid": "ec-1"}, "key id"),
    ({"alg": "RS384", "kid": "rsa-1", "jku": "https://attacker.example/jwks"}, "signature"),
]


@pytest.mark.parametrize(("header", "why"), FORGED, ids=["alg-none", "ec-alg-rsa-kid", "rsa-alg-ec-kid", "jku-ignored"])
def test_forged_headers_are_refused_with_a_401_not_a_500(ehr, header, why):
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, "iat": now, "jti": uuid.uuid4().hex}
    r = hook(ehr, _forged(header, payload))
    assert r.status_code == 401 and why in r.get_json()["detail"]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=200))
def test_any_bearer_string_that_is_not_a_valid_jwt_is_a_401(secured, junk):
    assert hook(secured.test_client(), junk).status_code == 401


def test_the_docker_run_example_in_the_production_docs_uses_a_key_the_service_accepts():
    text = (Path(__file__).parent.parent / "docs" / "production.md").read_text(encoding="utf-8")
    (line,) = [ln for ln in text.splitlines() if ln.startswith("docker run") and "PLANNER_API_KEYS" in ln]
    assignment = next(ln for ln in text.splitlines() if ln.startswith("PLANNER_KEY="))
    command = assignment.split("=", 1)[1].split("#", 1)[0].strip().strip('"')
    assert re.fullmatch(r"\$\((openssl rand -hex \d+)\)", command)
    key = subprocess.run(command[2:-1].split(), capture_output=True, text=True, check=True).stdout.strip()
    assert api_keys(key) == (key,) and "$PLANNER_KEY" in line
