"""CDS Hooks 2.0 routes: discovery, the order-sign and order-select services, and their feedback endpoints.

The services never call a FHIR server themselves: everything they need comes in `prefetch`. A request that
lacks a prefetch key gets 412 Precondition Failed, as the specification asks of a service that cannot
obtain its data. Errors are problem+json like the rest of the API.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from service.domain.errors import FieldError, InvalidInput
from service.domain.schedule import PARTIAL_HISTORY
from service.interop.cards import (
    CARD_WARNINGS,
    EXTENSION_KEY,
    PREFETCH,
    SERVICES,
    CardMaker,
    Order,
    resources_in,
    vaccine_orders,
)
from service.interop.coding import InteropError
from service.interop.therapy import immunizations_from, locate, therapy_from

from .examples import CDS_REQUEST_EXAMPLE, CDS_RESPONSE_EXAMPLE
from .ops import document_route
from .problems import problem

bp = Blueprint("cds_hooks", __name__, url_prefix="/cds-services")
log = logging.getLogger("service.cds_hooks")
DEFAULT_HORIZON, MAX_HORIZON = 365, 1095


@bp.get("")
def discovery() -> Response:
    return current_app.response_class(json.dumps({"services": list(SERVICES.values())}), mimetype="application/json")


def _body() -> dict[str, Any] | Response:
    if request.mimetype != "application/json":
        return problem(415, "Send the request body as application/json.")
    try:
        body = json.loads(request.get_data())
    except RequestEntityTooLarge:
        return problem(413, "The request body is over the 64 KiB limit.")
    except ValueError:
        return problem(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return problem(400, "The request body must be a JSON object.", type_slug="invalid-input")
    return body


def _invalid(errors: list[tuple[str, str]]) -> Response:
    return problem(
        400,
        "The hook request does not match the CDS Hooks specification; see errors.",
        type_slug="invalid-input",
        errors=[{"field": f, "message": m, "code": "invalid"} for f, m in errors],
    )


@bp.post("/<service_id>")
def call_service(service_id: str) -> Response:
    service = SERVICES.get(service_id)
    if service is None:
        return problem(404, f"No CDS service {service_id[:60]!r}; GET /cds-services lists them.")
    body = _body()
    if isinstance(body, Response):
        return body
    context = body.get("context")
    errors = []
    if body.get("hook") != service["hook"]:
        errors.append(("hook", f"this service answers the {service['hook']!r} hook"))
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        errors.append(("hookInstance", "required: a UUID for this hook call"))
    if not isinstance(context, dict):
        errors.append(("context", "required: an object"))
        context = {}
    if not isinstance(context.get("patientId"), str):
        errors.append(("context.patientId", "required: the FHIR id of the patient"))
    if not isinstance(context.get("draftOrders"), dict):
        errors.append(("context.draftOrders", "required: a Bundle of the draft orders"))
    selections = context.get("selections")
    if service["hook"] == "order-select" and (
        not isinstance(selections, list) or not all(isinstance(s, str) for s in selections)
    ):
        errors.append(("context.selections", "required: the references of the selected orders"))
    prefetch = body.get("prefetch", {})
    if not isinstance(prefetch, dict):
        errors.append(("prefetch", "must be an object"))
    if errors:
        return _invalid(errors)

    missing = [key for key in PREFETCH if key not in prefetch]
    if missing:
        where = (
            "a fhirServer was given, but this service does not query FHIR servers"
            if body.get("fhirServer")
            else "no fhirServer was given"
        )
        return problem(
            412,
            f"Prefetch {', '.join(missing)} missing and {where}: send the prefetch templates "
            "listed at GET /cds-services (null when there is no data).",
            type_slug=None,
        )
    try:
        orders = vaccine_orders(
            resources_in(context["draftOrders"], "context.draftOrders"),
            selections if service["hook"] == "order-select" else None,
        )
        medications = resources_in(
            prefetch["medicationAdministrations"], "prefetch.medicationAdministrations"
        ) + resources_in(prefetch["medicationRequests"], "prefetch.medicationRequests")
        immunization_items = resources_in(prefetch["immunizations"], "prefetch.immunizations")
    except InteropError as bad:
        return _invalid([(i.expression, i.message) for i in bad.issues])
    maker = CardMaker(body["hookInstance"], _rules(current_app.extensions["planner"]), "")
    try:
        therapy = therapy_from(medications, strict=False) if orders else None
    except InteropError as bad:
        # Valid FHIR that does not describe a usable ofatumumab history: say so rather than fail the hook.
        return _cards(
            [
                maker.unplanned_card(
                    "the ofatumumab record could not be read",
                    [f"{i.expression}: {i.message}" for i in bad.issues],
                    "therapy",
                )
            ]
        )
    if not orders or therapy is None:
        # Nothing to check: no vaccine among the orders, or no ofatumumab on the patient's record.
        return _cards([])

    planner = current_app.extensions["planner"]
    as_of: date = planner.today()
    furthest = max((o.on for o in orders if o.on is not None), default=as_of)
    horizon = min(MAX_HORIZON, max(DEFAULT_HORIZON, (furthest - as_of).days + DEFAULT_HORIZON))
    plan_body: dict[str, Any] = {"as_of": as_of.isoformat(), "treatment": therapy.treatment, "horizon_days": horizon}
    immunizations, _ = immunizations_from(immunization_items, strict=False)
    if immunizations:
        plan_body["immunizations"] = immunizations
    return _cards(_plan_cards(maker, orders, plan_body, therapy.origin, as_of, horizon))


def _plan_cards(
    maker: CardMaker, orders: list[Order], plan_body: dict[str, Any], origin: dict[str, str], as_of: date, horizon: int
) -> list[dict[str, Any]]:
    """Plan every ordered vaccine at once; an order the planner cannot read gets its own warning card."""
    cards: list[dict[str, Any]] = []
    todo = list(orders)
    while todo:
        try:
            plan = current_app.extensions["planner"].plan_json(
                {**plan_body, "vaccines": [{"cvx": o.cvx} for o in todo]}
            )
        except InvalidInput as bad:
            record = [e for e in bad.errors if not e.field.startswith("vaccines[")]
            if record and all(e.code == PARTIAL_HISTORY for e in record) and "start_date" not in plan_body["treatment"]:
                return _partial_history_cards(maker, todo, plan_body, origin, record, as_of, horizon)
            if record:
                # The therapy record itself cannot be planned from: no order can be checked.
                return [
                    maker.unplanned_card(
                        "the ofatumumab record could not be read",
                        [f"{locate(origin, e.field)}: {e.message}" for e in record],
                        "therapy",
                    )
                ]
            failed = {i for i in range(len(todo)) for e in bad.errors if e.field.startswith(f"vaccines[{i}]")}
            for i in sorted(failed):
                cards.append(
                    maker.unplanned_card(
                        f"CVX {todo[i].cvx} ({todo[i].ref})",
                        [_with_candidates(e) for e in bad.errors if e.field.startswith(f"vaccines[{i}]")],
                        todo[i].ref,
                    )
                )
            todo = [o for i, o in enumerate(todo) if i not in failed]
            continue
        maker.ruleset_version = plan["ruleset"]["version"]
        cards += [
            maker.plan_card(order, item, as_of, horizon) for order, item in zip(todo, plan["vaccines"], strict=True)
        ]
        cards += [
            maker.warning_card(w, plan["treatment"]["earliest_start"])
            for w in plan["warnings"]
            if w["code"] in CARD_WARNINGS
        ]
        break
    return cards


def _partial_history_cards(
    maker: CardMaker,
    orders: list[Order],
    plan_body: dict[str, Any],
    origin: dict[str, str],
    record: list[FieldError],
    as_of: date,
    horizon: int,
) -> list[dict[str, Any]]:
    """Cards when the recorded administrations cannot say whether the therapy is new or established.

    A CDS client cannot state the start, so the service does not guess it. Live vaccines are avoided under
    either reading (the therapy is active in both), so live orders keep their cards, planned on the earliest
    administration; a non-live order's slots depend on the reading, so it is reported as not checked.
    """
    doses = plan_body["treatment"]["doses"]
    complete = {**plan_body, "treatment": {**plan_body["treatment"], "start_date": min(doses)}}
    planned = _plan_cards(maker, orders, complete, origin, as_of, horizon)
    # Live order cards, and the cards of orders the planner could not read (those do not depend on the reading).
    kept = [c for c in planned if "extension" not in c or c["extension"][EXTENSION_KEY].get("vaccine", {}).get("live")]
    live = [c for c in kept if "extension" in c]
    messages = [f"{locate(origin, e.field)}: {e.message}" for e in record]
    if len(live) < len(orders):  # some orders are non-live (or could not be read)
        messages.append(
            "Live vaccine orders are checked all the same (avoided under either reading); non-live orders are not: "
            "their mid-cycle slots depend on when the therapy started."
        )
    return [
        maker.unplanned_card("the ofatumumab record does not say when the therapy started", messages, "therapy")
    ] + kept


def _with_candidates(error: FieldError) -> str:
    if not error.candidates:
        return error.message
    return (
        error.message
        + "; it could mean: "
        + ", ".join(f"{c.name} (CVX {'/'.join(c.cvx) or 'none'})" for c in error.candidates[:8])
    )


def _rules(planner: Any) -> dict[str, Any]:
    # Every rule a plan can cite (therapy, live spacing, series, lead times), as GET /v1/rules lists them.
    return {rule.id: rule for _, rule in planner.ruleset.all_rules()}


def _cards(cards: list[dict[str, Any]]) -> Response:
    return current_app.response_class(json.dumps({"cards": cards}), mimetype="application/json")


@bp.post("/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    if service_id not in SERVICES:
        return problem(404, f"No CDS service {service_id[:60]!r}; GET /cds-services lists them.")
    body = _body()
    if isinstance(body, Response):
        return body
    items = body.get("feedback")
    if not isinstance(items, list) or not items:
        return _invalid([("feedback", "required: a non-empty array of feedback objects")])
    errors = []
    counts = {"accepted": 0, "overridden": 0}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append((f"feedback[{i}]", "must be an object"))
            continue
        if not isinstance(item.get("card"), str) or not item["card"]:
            errors.append((f"feedback[{i}].card", "required: the card's uuid"))
        if item.get("outcome") not in counts:
            errors.append((f"feedback[{i}].outcome", "must be 'accepted' or 'overridden'"))
        if not isinstance(item.get("outcomeTimestamp"), str):
            errors.append((f"feedback[{i}].outcomeTimestamp", "required: when the user acted, ISO 8601 in UTC"))
        if item.get("outcome") == "accepted" and not isinstance(item.get("acceptedSuggestions"), list):
            errors.append((f"feedback[{i}].acceptedSuggestions", "required for an accepted outcome"))
        if not errors:
            counts[item["outcome"]] += 1
    if errors:
        return _invalid(errors)
    # Counts only: card ids, reasons and comments could be tied to a patient, so none of them is logged.
    log.info(f"cds feedback for {service_id}: {counts['accepted']} accepted, {counts['overridden']} overridden")
    return current_app.response_class(json.dumps(counts), mimetype="application/json")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    document_routes(app.extensions["problem_api"], app)


FEEDBACK_EXAMPLE = {
    "feedback": [
        {
            "card": "ce16df2c-e87e-5aac-8a19-80361a2a74d0",
            "outcome": "overridden",
            "overrideReason": {
                "reason": {
                    "system": "https://vaccine-timing-planner.example/fhir/CodeSystem/override-reason",
                    "code": "therapy-stopped",
                    "display": "Ofatumumab has been stopped; the record is not up to date",
                }
            },
            "outcomeTimestamp": "2026-11-24T10:15:00Z",
        }
    ]
}


def document_routes(api: Any, app: Flask) -> None:
    """Describe the CDS Hooks routes in openapi.yaml, with example bodies."""
    api.spec.tag({"name": "cds-hooks", "description": "CDS Hooks 2.0: vaccine orders checked against ofatumumab."})
    obj = {"type": "object"}
    service_id = {
        "name": "service_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(SERVICES)},
    }

    def json_content(example: Any) -> dict[str, Any]:
        return {"content": {"application/json": {"schema": obj, "example": example}}}

    def problem_ref(name: str) -> Any:
        return api.spec.components.get_ref("response", name)  # registers the lazy problem+json response

    document_route(
        api,
        app,
        "/cds-services",
        {
            "get": {
                "tags": ["cds-hooks"],
                "summary": "CDS Hooks discovery: the services, their hooks and prefetch templates",
                "responses": {
                    "200": {"description": "The services", **json_content({"services": list(SERVICES.values())})}
                },
            }
        },
    )
    document_route(
        api,
        app,
        "/cds-services/<service_id>",
        {
            "post": {
                "tags": ["cds-hooks"],
                "summary": "Call a CDS service (order-sign or order-select): cards for vaccine orders",
                "description": (
                    "A critical card for a live vaccine that must be avoided on the order's date, a warning naming the next "
                    "permitted window for a vaccine ordered outside one (or when none is in the horizon), an info card when "
                    "the date fits. Each card carries the rules and their sources in `detail`, and the plan's status and "
                    "windows as data under `extension.vaccine-timing-planner`. Every prefetch key listed at discovery must "
                    "be present (null when the client has no data): without them the answer is 412, as this service does "
                    "not query FHIR servers itself."
                ),
                "parameters": [service_id],
                "requestBody": {"required": True, **json_content(CDS_REQUEST_EXAMPLE)},
                "responses": {
                    "200": {"description": "Cards", **json_content(CDS_RESPONSE_EXAMPLE)},
                    "400": problem_ref("BAD_REQUEST"),
                    "404": problem_ref("NOT_FOUND"),
                    "412": problem_ref("PRECONDITION_FAILED"),
                    "413": problem_ref("REQUEST_ENTITY_TOO_LARGE"),
                    "415": problem_ref("UNSUPPORTED_MEDIA_TYPE"),
                },
            }
        },
    )
    document_route(
        api,
        app,
        "/cds-services/<service_id>/feedback",
        {
            "post": {
                "tags": ["cds-hooks"],
                "summary": "Feedback on cards: accepted or overridden (only the counts are logged)",
                "parameters": [service_id],
                "requestBody": {"required": True, **json_content(FEEDBACK_EXAMPLE)},
                "responses": {
                    "200": {"description": "The outcomes counted", **json_content({"accepted": 0, "overridden": 1})},
                    "400": problem_ref("BAD_REQUEST"),
                    "404": problem_ref("NOT_FOUND"),
                    "415": problem_ref("UNSUPPORTED_MEDIA_TYPE"),
                },
            }
        },
    )
