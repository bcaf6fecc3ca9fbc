"""The yardstick for `make bench`: the least a Flask service can do with the same request.

It parses the same JSON body and answers a small JSON object, under the same gunicorn settings as the
service (deploy/gunicorn.conf.py: same workers, same JSON logger). What the service costs beyond this is
validation, planning and its response.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/readyz")
    def ready() -> dict[str, Any]:  # what tests/server.py waits for
        return {"status": "ready"}

    @app.post("/v1/plans")
    def plans() -> dict[str, Any]:
        body = request.get_json()
        return {"vaccines": len(body["vaccines"]), "doses": len(body["treatment"].get("doses", []))}

    return app
