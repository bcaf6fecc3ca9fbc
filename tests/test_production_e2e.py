"""The production setup over the wire: gunicorn with deploy/gunicorn.conf.py on a loopback port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from scripts.workloads import typical_request
from service.observability import logged_id
from tests.server import ROOT, free_port, gunicorn

pytestmark = pytest.mark.e2e
MARKER = "1999-02-03-Vivotif"
E2E_KEY = "e2e-key-0123456789abcdef"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with gunicorn(tmp_path_factory.mktemp("prod"), workers=2, env={"PLANNER_API_KEYS": E2E_KEY}) as s:
        yield s


def auth(key: str = E2E_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def log_lines(server) -> list[dict]:
    return [json.loads(line) for line in server.log().splitlines() if line.strip()]


def raw_request(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:  # the server answered and closed with our unread bytes still queued
            pass
    return b"".join(chunks)


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_api_keys_are_enforced_over_the_wire(server):
    r = requests.post(f"{server.url}/v1/plans", json=typical_request(), timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    r = requests.post(f"{server.url}/v1/plans", json=typical_request(), headers=auth(), timeout=10)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 200


def test_metrics_add_up_over_both_workers(server):
    route = 'planner_http_requests_total{method="GET",route="/v1/vaccines/<vaccine_id>",status="200"}'
    before = metric(requests.get(f"{server.url}/metrics", timeout=10).text, route)

    def get(_: int) -> int:
        return requests.get(f"{server.url}/v1/vaccines/mmr", headers=auth(), timeout=10).status_code

    def answering() -> set[int]:
        return {line["pid"] for line in log_lines(server) if line.get("route") == "/v1/vaccines/<vaccine_id>"}

    # Concurrent rounds until both workers have answered some (a gevent worker may take a whole round).
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        while sent < 800 and (sent == 0 or len(answering()) < 2):
            assert set(pool.map(get, range(80))) == {200}
            sent += 80
    scrapes = [metric(requests.get(f"{server.url}/metrics", timeout=10).text, route) for _ in range(6)]
    assert scrapes == [before + sent] * 6, scrapes  # whichever worker answers the scrape, it counts all of them
    assert len(answering()) == 2


def test_requests_gunicorn_refuses_are_logged_as_json_without_their_content(server):
    raw_request(server.url, f"GET /x?{MARKER} HTTP/1.1\r\nHost: x\r\nBad Header{MARKER}\r\n\r\n".encode())
    raw_request(server.url, f"G@T /{MARKER} HTTP/1.1\r\n\r\n".encode())
    raw_request(server.url, f"GET /{'a' * 9000}{MARKER} HTTP/1.1\r\n\r\n".encode())
    requests.get(f"{server.url}/healthz", timeout=10)  # let the log catch up
    lines = log_lines(server)  # every line is JSON: json.loads above would fail on any other
    assert MARKER not in server.log()
    refused = [line for line in lines if line["event"].startswith("Invalid request")]
    assert len(refused) == 3 and {line["logger"] for line in refused} == {"gunicorn.error"}
    assert {line["logger"] for line in lines} >= {"gunicorn.error", "service.access"}
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    assert metric(text, "planner_http_rejected_requests_total") == 3


def test_access_log_lines_carry_no_patient_data(server):
    body = typical_request()
    body["treatment"]["doses"][0] = body["treatment"]["start_date"] = "2001-02-03"
    body["vaccines"][0] = {"name": "Vivotif"}
    r = requests.post(
        f"{server.url}/v1/plans/batch",
        json={"requests": [body, {"vaccines": "MMR"}]},
        headers={**auth(), "X-Request-ID": "batch-log-check"},
        timeout=30,
    )
    assert r.status_code == 200
    mine = [line for line in log_lines(server) if line.get("request_id") == logged_id("batch-log-check")]
    assert [(line["route"], line["status"], line["items"]) for line in mine] == [("/v1/plans/batch", 200, 2)]
    for secret in ("2001-02-03", "Vivotif", "Shingrix", "MMR"):
        assert secret not in server.log()


def test_container_healthcheck_script_checks_the_bound_port(server):
    script = ROOT / "deploy" / "healthcheck.py"
    port = server.url.rsplit(":", 1)[1]
    ok = subprocess.run([sys.executable, str(script)], env={"PLANNER_BIND": f"127.0.0.1:{port}"}, timeout=30)
    assert ok.returncode == 0
    down = subprocess.run([sys.executable, str(script)], env={"PLANNER_BIND": f"127.0.0.1:{free_port()}"}, timeout=30)
    assert down.returncode == 1
