"""Overload drills against a running service: many kept-alive clients, many slow bodies, probes throughout.

    python -m scripts.overload_drill http://127.0.0.1:8000 --kept-alive 1000 --slow-bodies 2000

Every client must get an answer, 200 or 503 with Retry-After (or 408 for a slow body that never finishes),
and every /healthz probe must be answered while the drill runs. The same functions run at a smaller size in
tests/test_faults.py; this command runs the full size the operator drills with (docs/production.md).
One asyncio loop holds every client socket: no thread per client, so the drill itself stays light.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field

from scripts.workloads import typical_request

TYPICAL = json.dumps(typical_request()).encode()


@dataclass
class Answer:
    status: int
    seconds: float
    retry_after: str | None = None


@dataclass
class Drill:
    """What one drill saw: every client's first answer (or why none came), and the probes."""

    answers: list[Answer] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    probes: list[float | None] = field(default_factory=list)  # seconds to an answer; None = no answer in time

    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)

    def slowest(self) -> float:
        return max((a.seconds for a in self.answers), default=0.0)

    def summary(self) -> str:
        probes = [p for p in self.probes if p is not None]
        return (
            f"answers {dict(self.statuses())}, failures {dict(self.failures)}, slowest first answer "
            f"{self.slowest():.2f} s; probes {len(probes)}/{len(self.probes)} answered, slowest "
            f"{max(probes, default=0.0):.3f} s"
        )


def _request(
    host: str, path: str, body: bytes, headers: dict[str, str] | None = None, length: int | None = None
) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """One HTTP/1.1 response (status, headers), its body read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers


async def _connect(
    address: tuple[str, int], drill: Drill, deadline: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """A connection within the deadline, or None with the failure counted."""
    try:
        return await asyncio.wait_for(asyncio.open_connection(*address), deadline)
    except (TimeoutError, OSError) as error:
        drill.failures[f"connect: {type(error).__name__}"] += 1
        return None


async def kept_alive_client(
    address: tuple[str, int], drill: Drill, requests: int, deadline: float, headers: dict[str, str]
) -> None:
    """One connection, `requests` plans sent one after the other on it; the first answer is recorded."""
    started = time.monotonic()
    connection = await _connect(address, drill, deadline)
    if connection is None:
        return
    reader, writer = connection
    number = 0
    try:
        for number in range(requests):
            left = deadline - (time.monotonic() - started)
            writer.write(_request(f"{address[0]}:{address[1]}", "/v1/plans", TYPICAL, headers))
            status, answer_headers = await asyncio.wait_for(read_answer(reader), max(left, 0.01))
            if number == 0:
                drill.answers.append(Answer(status, time.monotonic() - started, answer_headers.get("retry-after")))
            if answer_headers.get("connection", "").lower() == "close":
                break
    except TimeoutError:
        # Past the deadline: with no first answer, the client was never answered; after it, a later one was slow.
        drill.failures["no answer in time" if number == 0 else "a later answer late"] += 1
    except (OSError, asyncio.IncompleteReadError) as error:
        drill.failures[f"closed: {type(error).__name__}"] += 1
    finally:
        writer.close()


async def slow_body_client(
    address: tuple[str, int], drill: Drill, deadline: float, headers: dict[str, str], byte_every: float
) -> None:
    """Headers at once, then a 2 KiB body one byte at a time: its answer (408, 503 or 401) is recorded."""
    started = time.monotonic()
    connection = await _connect(address, drill, deadline)
    if connection is None:
        return
    reader, writer = connection
    try:
        writer.write(_request(f"{address[0]}:{address[1]}", "/v1/plans", b"", headers, length=2048))
        answer = asyncio.ensure_future(read_answer(reader))
        while not answer.done() and time.monotonic() - started < deadline:
            done, _ = await asyncio.wait({answer}, timeout=byte_every)
            if not done:
                writer.write(b" ")
        if not answer.done():
            answer.cancel()
            drill.failures["timeout"] += 1
            return
        status, answer_headers = answer.result()
        drill.answers.append(Answer(status, time.monotonic() - started, answer_headers.get("retry-after")))
    except (OSError, asyncio.IncompleteReadError) as error:
        drill.failures[f"closed: {type(error).__name__}"] += 1
    finally:
        writer.close()


async def probe(address: tuple[str, int], timeout: float) -> float | None:
    """GET /healthz on a new connection: seconds to its 200, None when none came within `timeout`."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(*address), timeout)
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {address[0]}\r\nConnection: close\r\n\r\n".encode())
        status, _ = await asyncio.wait_for(read_answer(reader), max(timeout - (time.monotonic() - started), 0.01))
        writer.close()
        return time.monotonic() - started if status == 200 else None
    except (TimeoutError, OSError, asyncio.IncompleteReadError):
        return None


async def _probes(address: tuple[str, int], drill: Drill, stop: asyncio.Event, every: float, timeout: float) -> None:
    while not stop.is_set():
        drill.probes.append(await probe(address, timeout))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def run(
    address: tuple[str, int],
    *,
    kept_alive: int = 0,
    slow_bodies: int = 0,
    requests_each: int = 3,
    deadline: float = 30.0,
    headers: dict[str, str] | None = None,
    slow_headers: dict[str, str] | None = None,
    byte_every: float = 1.0,
    probe_every: float = 0.5,
    probe_timeout: float = 5.0,
) -> tuple[Drill, Drill]:
    """Both kinds of client at once, probes throughout: (kept-alive drill, slow-body drill)."""
    fast, slow = Drill(), Drill()
    stop = asyncio.Event()
    prober = asyncio.ensure_future(_probes(address, fast, stop, probe_every, probe_timeout))
    slow_tasks = [
        asyncio.ensure_future(
            slow_body_client(
                address, slow, deadline, slow_headers if slow_headers is not None else headers or {}, byte_every
            )
        )
        for _ in range(slow_bodies)
    ]
    fast_tasks = [
        asyncio.ensure_future(kept_alive_client(address, fast, requests_each, deadline, headers or {}))
        for _ in range(kept_alive)
    ]
    await asyncio.gather(*fast_tasks, *slow_tasks)
    stop.set()
    await prober
    return fast, slow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="http://host:port of a running service")
    parser.add_argument("--kept-alive", type=int, default=1000)
    parser.add_argument("--slow-bodies", type=int, default=2000)
    parser.add_argument("--requests-each", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=30.0, help="seconds every client has to get an answer")
    parser.add_argument("--key", default="", help="an API key, when the service has keys on")
    args = parser.parse_args()
    host, _, port = args.url.removeprefix("http://").partition(":")
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    fast, slow = asyncio.run(
        run(
            (host, int(port or 80)),
            kept_alive=args.kept_alive,
            slow_bodies=args.slow_bodies,
            requests_each=args.requests_each,
            deadline=args.deadline,
            headers=headers,
        )
    )
    print(f"kept-alive clients: {fast.summary()}")
    print(f"slow-body clients: {slow.summary()}")


if __name__ == "__main__":
    main()
