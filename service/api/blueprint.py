"""The flask-smorest Blueprint every API route uses: it reads JSON bodies with the strict parser (parsing.py)."""

from __future__ import annotations

import flask_smorest

from .parsing import StrictJsonParser


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with orjson's strict JSON reader, set on this class rather than patched into
    flask-smorest's own (which would change every Blueprint in the process, ours or not)."""

    ARGUMENTS_PARSER = StrictJsonParser()
