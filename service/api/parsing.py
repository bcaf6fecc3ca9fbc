"""How request bodies are read: webargs' Flask parser, with orjson in place of the standard library.

The standard library's json.loads accepts NaN and Infinity (not JSON), recurses once per nesting level
(a body of 1,000 '[' raised RecursionError) and refuses integers over 4,300 digits with a ValueError:
the last two came out as 500s. orjson is strict RFC 8259, stops at 1,024 levels and 64-bit integers, and
raises one error type for all of it, so each of these is a 400 malformed-json problem.
"""

from __future__ import annotations

import json
from typing import Any

import flask
import orjson
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request


class StrictJsonParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        if not data:
            raise json.JSONDecodeError("empty body", "", 0)  # webargs: an empty body is a missing one
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            # Never an empty `doc`, which webargs would take for a missing body.
            raise json.JSONDecodeError(error.msg, "(body)", error.pos) from None
