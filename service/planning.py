"""The one planning path every front end shares: REST, batch, FHIR, CDS Hooks, iCalendar and the clinic page.

A front end turns its own input into a plan request body (the JSON of POST /v1/plans), and gets back the
answer POST /v1/plans would give. Validation, the rules and the answer's shape live here once, so no front
end can plan differently from another. Nothing here knows about HTTP: a front end passes the Planner it
was given when the app was built (`app.extensions["planner"]`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from marshmallow import ValidationError

from service.contract.fastload import compile_loader
from service.contract.schemas import PlanRequestSchema
from service.data.loader import Ruleset
from service.domain.answer import present
from service.domain.catalog import suggestion_budget
from service.domain.errors import FieldError, InvalidInput
from service.domain.intake import to_request, to_treatment
from service.domain.kinds import check_history
from service.domain.planner import (
    Immunization,
    Plan,
    VaccineRequest,
    field_order,
    immunization_errors,
    make_plan,
    vaccine_errors,
)

# Schema instances are reused: building one deep-copies its fields and nested schemas, which cost more than
# loading a typical request. Loading keeps no state on the instance.
REQUEST_SCHEMA = PlanRequestSchema()
# The same schema's fast path for plainly valid bodies (service.contract.fastload): None means "ask marshmallow".
FAST_LOAD = compile_loader(REQUEST_SCHEMA)


class ShapeInvalid(InvalidInput):
    """InvalidInput for a request that does not match the contract's request schema (with whatever the
    rules found in its valid parts): the answer says so, as a request the rules alone refuse does not."""


@dataclass(frozen=True)
class Planner:
    """The loaded rules and the clock that supplies the default as_of: all a front end needs to plan."""

    ruleset: Ruleset
    today: Callable[[], date]

    def plan(self, body: dict[str, Any]) -> Plan:
        """The domain plan for a body already loaded by PlanRequestSchema (raises InvalidInput)."""
        ruleset = self.ruleset
        with suggestion_budget():  # unknown names: "did you mean" for the first few only (bounded work)
            return make_plan(to_request(body, self.today()), ruleset.therapies, ruleset.catalog, ruleset.vaccine_rules)

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The answer to a loaded body, as Python data (dates as date objects) ready for encode()."""
        return present(self.plan(body))

    def plan_json(self, raw: Any) -> dict[str, Any]:
        """Validate a raw JSON value as a plan request and answer it as JSON data (dates as YYYY-MM-DD).

        A bad request raises InvalidInput naming each field, exactly as POST /v1/plans would answer it.
        """
        return json_ready(self.answer_raw(raw))  # type: ignore[no-any-return]  # orjson is typed Any

    def answer_raw(self, raw: Any) -> dict[str, Any]:
        """plan_json's answer before its dates are written out, for a front end that writes it itself (the batch
        with encode(), the clinic page's calendar): the same answer, without a JSON round trip per plan."""
        return self.answer(self.load(raw))

    def load(self, raw: Any) -> dict[str, Any]:
        """A raw JSON value checked as a plan request: the loaded body, or InvalidInput listing every problem at
        once. When the shape is wrong somewhere, the rules still check every part whose shape is right (an
        unknown vaccine is reported beside a malformed date), so a client fixes its request in one round trip.
        The planner itself (make_plan) then checks a shape-valid body as a whole."""
        if FAST_LOAD is not None and (loaded := FAST_LOAD(raw)) is not None:
            return loaded  # plainly valid: what REQUEST_SCHEMA.load(raw) gives (tests/test_fastload.py)
        try:
            return REQUEST_SCHEMA.load(raw)  # type: ignore[no-any-return]  # marshmallow types load() as Any
        except ValidationError as err:
            errors = [FieldError(e["field"], e["message"], code=e["code"]) for e in flatten_messages(err.messages)]
            if isinstance(raw, dict) and isinstance(err.valid_data, dict) and isinstance(err.messages, dict):
                with suggestion_budget():
                    errors += self.errors_in_valid_parts(raw, err.valid_data, err.messages)
            raise ShapeInvalid(sorted(errors, key=lambda e: field_order(e.field))) from None

    def errors_in_valid_parts(
        self, raw: dict[str, Any], valid: dict[str, Any], shape: dict[str, Any]
    ) -> list[FieldError]:
        """The rules' errors about the parts of a request whose shape is valid (`valid`, marshmallow's
        valid_data), next to the shape errors (`shape`, its messages). A check runs only when every field it
        reads is shape-valid: an invalid as_of compares no date, an invalid given list is not counted, an
        invalid treatment field keeps the history from being checked. So no error is a side effect of
        another: each one would still be there once the shape errors are fixed."""
        ruleset = self.ruleset
        errors: list[FieldError] = []
        as_of: date | None = (valid["as_of"] or self.today()) if "as_of" in valid else None
        treatment = valid.get("treatment")
        if isinstance(treatment, dict) and "drug" in treatment:
            try:
                profile = ruleset.therapies.find(treatment["drug"])
            except InvalidInput as bad:
                errors += bad.errors
            else:
                if as_of is not None and "treatment" not in shape:
                    try:
                        check_history(profile, to_treatment(treatment), as_of)
                    except InvalidInput as bad:
                        errors += bad.errors
        for index, item, problems in _valid_items(raw, valid, shape, "vaccines"):
            needed_by = item.get("needed_by") if "needed_by" not in problems else None
            request = VaccineRequest(
                name=item.get("name"), cvx=item.get("cvx"), given=tuple(item.get("given", ())), needed_by=needed_by
            )
            given_known = "given" in item and "given" not in problems
            errors += vaccine_errors(index, request, as_of, ruleset.catalog, ruleset.vaccine_rules, given_known)[1]
        for index, item, problems in _valid_items(raw, valid, shape, "immunizations"):
            day = item.get("date") if "date" not in problems else None
            given = Immunization(day=day, name=item.get("name"), cvx=item.get("cvx")) if day is not None else None
            errors += immunization_errors(index, given, item.get("name"), item.get("cvx"), as_of, ruleset.catalog)[1]
        return errors


def _valid_items(
    raw: dict[str, Any], valid: dict[str, Any], shape: dict[str, Any], key: str
) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """The items of the list `key` that name a vaccine by exactly one of name or cvx, with their index and
    their own shape errors. Items are trusted to keep their index only when marshmallow kept every item."""
    items, loaded = raw.get(key), valid.get(key)
    if not isinstance(items, list) or not isinstance(loaded, list) or len(items) != len(loaded):
        return []
    problems = shape.get(key, {})
    if not isinstance(problems, dict):
        return []  # the list itself is wrong (too long, say): its items are not looked at
    out = []
    for index, item in enumerate(loaded):
        own = problems.get(index, {})
        if not isinstance(item, dict) or not isinstance(own, dict) or "_schema" in own:
            continue
        if ("name" in item) != ("cvx" in item) and "name" not in own and "cvx" not in own:
            out.append((index, item, own))
    return out


def json_ready(value: Any) -> Any:
    """present()'s output as plain JSON data (dates written YYYY-MM-DD): what PlanResponseSchema().dump gives
    (a test holds them equal), through orjson's C encoder and decoder, many times faster than either."""
    return orjson.loads(orjson.dumps(value))


def encode(value: Any) -> bytes:
    """JSON of present()'s output, dates as YYYY-MM-DD: orjson writes dates natively, many times faster than
    the standard library's encoder with a fallback for each date (a test holds the two equal)."""
    return orjson.dumps(value)


def flatten_messages(messages: Any, prefix: str = "") -> list[dict[str, Any]]:
    """marshmallow's nested error dict as a flat list: {"vaccines": {0: {"name": [...]}}} -> vaccines[0].name."""
    out: list[dict[str, Any]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                path = prefix
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out += flatten_messages(value, path)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for message in messages:
            code = (
                "unknown_field"
                if message == "Unknown field."
                else ("required" if message.startswith("Missing data") else "invalid")
            )
            out.append({"field": prefix or "(body)", "message": message, "code": code})
    elif isinstance(messages, list):
        for value in messages:
            out += flatten_messages(value, prefix)
    else:
        out.append({"field": prefix or "(body)", "message": str(messages), "code": "invalid"})
    return out
