"""A FHIR server process for the tests: recorded searchset Bundles served over HTTP on loopback.

Run as `python -m tests.fhir_server ROUTES.json`; it prints `listening <base URL>` once it accepts connections
(the test waits for that line, with a deadline). ROUTES.json maps a request path and query (as the service
sends it, `/fhir/MedicationRequest?patient=p1&_include=...`) to what to answer:
- `{"bundle": {...}}`: the Bundle, with `{base}` in any string replaced by this server's base URL;
- `{"pages": [{...}, {...}]}`: a paginated search: page n+1 is at `<path>&_page=n+1`, linked by `next`;
- `{"status": 500, "bundle": {...}}`: that status (an OperationOutcome body, or the bundle given);
- `{"stall": true}`: never answers (until the client gives up; the process is ended by the test).
A path not in ROUTES.json is answered 404. Every request is recorded (path, and whether and how it was
authorized); `GET /__requests` returns them as JSON and is not itself recorded.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STALL = threading.Event()  # never set: a stalled answer waits on it until the process ends


def _with_base(value: Any, base: str) -> Any:
    if isinstance(value, str):
        return value.replace("{base}", base)
    if isinstance(value, list):
        return [_with_base(v, base) for v in value]
    if isinstance(value, dict):
        return {k: _with_base(v, base) for k, v in value.items()}
    return value


class Handler(BaseHTTPRequestHandler):
    routes: dict[str, Any] = {}
    seen: list[dict[str, Any]] = []
    base = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass  # quiet: the test reads stdout for the ready line only

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path == "/__requests":
            self._send(200, self.seen)
            return
        self.seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
        path, page = self.path, 0
        if "&_page=" in path:
            path, _, number = path.rpartition("&_page=")
            page = int(number)
        route = self.routes.get(path)
        if route is None:
            self._send(404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]})
            return
        if route.get("stall"):
            STALL.wait()
            return
        if "pages" in route:
            bundle = dict(route["pages"][page])
            if page + 1 < len(route["pages"]):
                bundle["link"] = [{"relation": "next", "url": f"{self.base}{path[len('/fhir') :]}&_page={page + 1}"}]
            self._send(200, _with_base(bundle, self.base))
            return
        body = route.get("bundle") or {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "exception", "diagnostics": "recorded failure"}],
        }
        self._send(int(route.get("status", 200)), _with_base(body, self.base))


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Handler.routes = json.loads(Path(sys.argv[1]).read_text())
    Handler.base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    print(f"listening {Handler.base}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
