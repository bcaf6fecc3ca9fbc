"""Kept-alive connections take turns in a gevent worker (deploy/gunicorn.conf.py, `post_request`).

A busy client sends its next request the moment an answer arrives, so the worker finds it already read and
would serve that connection again and again while every other connection waits. HTTP pipelining makes the
busy client deterministic: its requests are all in the socket before the first is answered. A second client's
probe must then be answered after a few of them, not after all of them. The order is read from the access
log, which the worker writes as it answers.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest
import requests

from scripts.workloads import typical_request
from service.observability import logged_id
from tests.server import gunicorn
from tests.test_faults import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

PIPELINED = 200
# With turns taken, the probe is answered after the one or two pipelined requests in hand when it arrives;
# without them, after all 200 (measured: position 200 of 200 with the hook removed). Half leaves room for
# a slow machine without letting the starvation through.
LATEST_FAIR_POSITION = PIPELINED // 2


def pipelined_plans(host: str, count: int) -> bytes:
    body = json.dumps(typical_request()).encode()
    head = (
        "POST /v1/plans HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Content-Length: {length}\r\nX-Request-ID: busy-{index:03d}\r\n\r\n"
    )
    return b"".join(head.format(host=host, length=len(body), index=i).encode() + body for i in range(count))


def test_a_pipelining_client_cannot_keep_a_worker_from_answering_another_connection(tmp_path):
    with gunicorn(tmp_path, workers=1) as server:
        host, port = server.url.removeprefix("http://").split(":")
        busy = socket.create_connection((host, int(port)), timeout=60)
        answered = {"statuses": 0}
        received = bytearray()

        def read_answers() -> None:
            # Each answer starts with its status line; a JSON body never contains one.
            while answered["statuses"] < PIPELINED:
                chunk = busy.recv(65536)
                if not chunk:
                    return
                received.extend(chunk)
                answered["statuses"] = received.count(b"HTTP/1.1 ")

        reader = threading.Thread(target=read_answers, daemon=True)
        reader.start()
        try:
            busy.sendall(pipelined_plans(host, PIPELINED))
            wait_for(lambda: answered["statuses"] >= 1, timeout=60, what="the first pipelined answer")
            probe = requests.get(f"{server.url}/healthz", headers={"X-Request-ID": "probe"}, timeout=60)
            assert probe.status_code == 200
            reader.join(timeout=120)
            assert answered["statuses"] == PIPELINED, f"{answered['statuses']} of {PIPELINED} pipelined answers"
        finally:
            busy.close()

        # The logs hold a digest of each id a client chose (service.observability.logged_id), never the id.
        sent = {logged_id(name): name for name in ["probe", *(f"busy-{i:03d}" for i in range(PIPELINED))]}

        def access_ids() -> list[str]:
            ids = []
            for line in server.log().splitlines():
                if line.startswith("{") and '"event": "request"' in line:
                    logged = json.loads(line)["request_id"]
                    ids.append(sent.get(logged, logged))
            return ids

        # The access line is written just before the answer is sent; wait for the last one to be on disk.
        wait_for(lambda: f"busy-{PIPELINED - 1:03d}" in access_ids(), timeout=30, what="the last access line")
        order = [i for i in access_ids() if i == "probe" or i.startswith("busy-")]
        position = order.index("probe")
        print(f"probe answered after {position} of {PIPELINED} pipelined requests")
        assert position <= LATEST_FAIR_POSITION, f"the probe was answered after {position} pipelined requests"
