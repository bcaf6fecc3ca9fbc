"""The flask-smorest Blueprint every API route uses: it reads JSON bodies with the strict parser (parsing.py)."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

import flask
import flask_smorest
from marshmallow import Schema
from webargs import core

from .parsing import StrictJsonParser


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with orjson's strict JSON reader, set on this class rather than patched into
    flask-smorest's own (which would change every Blueprint in the process, ours or not)."""

    ARGUMENTS_PARSER = StrictJsonParser()

    def json_body(
        self, schema: Schema, load: Callable[[Any], dict[str, Any]], *, example: Any = None
    ) -> Callable[[Any], Any]:
        """Like `arguments(schema)` in the document, but the view receives `load(raw JSON)`: a loader that can
        report more than the schema alone (the planner lists the rules' errors beside the shape's, at once).
        The body is read as `arguments` reads it: malformed JSON is a 400, an empty body an empty object."""
        parameters: dict[str, Any] = {"in": "json", "required": True, "schema": schema}
        if example is not None:
            parameters["example"] = example

        def decorator(func: Any) -> Any:
            @wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return func(*args, self.read_json(schema, load), **kwargs)

            wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))  # type: ignore[attr-defined]
            docs = wrapper._apidoc.setdefault("arguments", {})  # type: ignore[attr-defined]
            docs.setdefault("parameters", []).append(parameters)
            docs.setdefault("responses", {})[422] = "UNPROCESSABLE_ENTITY"
            return wrapper

        return decorator

    def read_json(self, schema: Schema, load: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        """The request's JSON body read as `json_body` reads it, then `load(raw JSON)`: for a view that reads its
        body itself (see `documented`)."""
        raw = self.ARGUMENTS_PARSER.load_json(flask.request, schema)
        return load({} if raw is core.missing else raw)

    def documented(self, *decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """flask-smorest's decorators (doc, json_body, response, alt_response...) for the API document only:
        the view is registered as it is, with their combined documentation, and none of their wrappers runs
        per request. For a view that reads its body itself (`read_json`) and returns a Response (the
        response wrappers pass a Response through unchanged, so skipping them changes no answer). Listed in
        the order they would be stacked, top first."""

        def decorate(func: Any) -> Any:
            wrapped = func
            for decorator in reversed(decorators):
                wrapped = decorator(wrapped)
            func._apidoc = wrapped._apidoc
            return func

        return decorate


def load_plan_request(raw: Any) -> dict[str, Any]:
    """The body of a plan route (POST /v1/plans, /v1/plans.ics), loaded by the app's planner: every problem at
    once, shape and rules together."""
    return flask.current_app.extensions["planner"].load(raw)  # type: ignore[no-any-return]
