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
from werkzeug.routing import Map, Rule

from service.domain.errors import FieldError, InvalidInput
from service.interop.cards import PREFETCH, SERVICES, CardMaker, Order, resources_in, vaccine_orders
from service.interop.coding import InteropError
from service.interop.therapy import immunizations_from, locate, therapy_from

from . import hl7_schemas
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
        break
    return cards


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
        if not isinstance(item.get("outcome"), str) or item["outcome"] not in counts:  # (an object was a 500)
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
    """Describe the CDS Hooks routes in openapi.yaml, with example bodies. Each service is its own path, so that
    its request can name its hook (a call whose hook is not the service's is refused)."""
    api.spec.tag({"name": "cds-hooks", "description": "CDS Hooks 2.0: vaccine orders checked against ofatumumab."})
    hl7_schemas.register(api)
    ref = hl7_schemas.ref
    text = {"type": "string", "minLength": 1}
    bundle_or_null = {**hl7_schemas.bundle(), "nullable": True}
    schemas = {
        "CdsService": {
            "type": "object",
            "properties": {
                "hook": {"type": "string", "enum": sorted({s["hook"] for s in SERVICES.values()})},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "id": {"type": "string", "enum": list(SERVICES)},
                "prefetch": {
                    "type": "object",
                    "description": "Prefetch templates, by key: every key must be sent (null when there is no data).",
                    "properties": {key: {"type": "string"} for key in PREFETCH},
                    "required": list(PREFETCH),
                    "additionalProperties": False,
                },
            },
            "required": ["hook", "description", "id", "prefetch"],
            "additionalProperties": False,
        },
        "CdsDiscovery": {
            "type": "object",
            "properties": {"services": {"type": "array", "items": ref("CdsService")}},
            "required": ["services"],
            "additionalProperties": False,
        },
        "CdsPrefetch": {
            "type": "object",
            "description": (
                "The prefetch templates of the discovery answer, filled by the CDS client: each a Bundle, or null "
                "when the client has no data. All are required, as this service never queries a FHIR server."
            ),
            "properties": {key: bundle_or_null for key in PREFETCH},
            "required": list(PREFETCH),
            "additionalProperties": True,
        },
        "CdsCard": {
            "type": "object",
            "description": "A CDS Hooks 2.0 card.",
            "properties": {
                "uuid": {"type": "string"},
                "summary": {"type": "string", "maxLength": 140},
                "detail": {"type": "string", "description": "Markdown: the reason, the rules and their sources."},
                "indicator": {"type": "string", "enum": ["info", "warning", "critical"]},
                "source": {
                    "type": "object",
                    "properties": {"label": {"type": "string"}, "url": {"type": "string"}, "topic": ref("FhirCoding")},
                    "required": ["label"],
                    "additionalProperties": True,
                },
                "overrideReasons": {"type": "array", "items": ref("FhirCoding")},
                "extension": {
                    "type": "object",
                    "description": "Under `vaccine-timing-planner`: the order, its date, the plan's status and rules.",
                    "additionalProperties": True,
                },
            },
            "required": ["uuid", "summary", "indicator", "source"],
            "additionalProperties": True,
        },
        "CdsCards": {
            "type": "object",
            "properties": {"cards": {"type": "array", "items": ref("CdsCard")}},
            "required": ["cards"],
            "additionalProperties": True,
        },
        **{
            f"CdsFeedback{outcome.capitalize()}": {
                "type": "object",
                "description": f"Feedback on one card the user {outcome} (CDS Hooks 2.0).",
                "properties": {
                    "card": {**text, "description": "The card's uuid."},
                    "outcome": {"type": "string", "enum": [outcome]},
                    "outcomeTimestamp": {"type": "string", "description": "When the user acted (ISO 8601, UTC)."},
                    **(
                        {
                            "acceptedSuggestions": {
                                "type": "array",
                                "items": {"description": "A suggestion the user accepted (not read or kept)."},
                            }
                        }
                        if outcome == "accepted"
                        else {"overrideReason": {"description": "Why the card was overridden (not read or kept)."}}
                    ),
                },
                "required": ["card", "outcome", "outcomeTimestamp"]
                + (["acceptedSuggestions"] if outcome == "accepted" else []),
                "additionalProperties": True,
            }
            for outcome in ("accepted", "overridden")
        },
        "CdsFeedback": {
            "type": "object",
            "properties": {
                "feedback": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"oneOf": [ref("CdsFeedbackAccepted"), ref("CdsFeedbackOverridden")]},
                }
            },
            "required": ["feedback"],
            "additionalProperties": True,
        },
        "CdsFeedbackCounts": {
            "type": "object",
            "properties": {"accepted": {"type": "integer"}, "overridden": {"type": "integer"}},
            "required": ["accepted", "overridden"],
            "additionalProperties": False,
        },
    }
    for name, schema in schemas.items():
        api.spec.components.schema(name, schema)

    def request_schema(hook: str) -> dict[str, Any]:
        context: dict[str, Any] = {
            "userId": text,
            "patientId": {**text, "description": "The FHIR id of the patient."},
            "encounterId": text,
            "draftOrders": {
                "allOf": [ref("FhirBundle")],
                "description": "The draft orders (MedicationRequest, ServiceRequest).",
            },
        }
        required = ["patientId", "draftOrders"]
        if hook == "order-select":
            context["selections"] = {
                "type": "array",
                "items": text,
                "description": "References of the selected orders.",
            }
            required.append("selections")
        return {
            "type": "object",
            "description": f"A CDS Hooks 2.0 {hook} request.",
            "properties": {
                "hook": {"type": "string", "enum": [hook]},
                "hookInstance": {**text, "description": "A UUID for this hook call."},
                "fhirServer": {"type": "string"},
                "fhirAuthorization": {"type": "object", "nullable": True},
                "context": {
                    "type": "object",
                    "properties": context,
                    "required": required,
                    "additionalProperties": True,
                },
                "prefetch": ref("CdsPrefetch"),
            },
            "required": ["hook", "hookInstance", "context", "prefetch"],
            "additionalProperties": True,
        }

    def json_content(schema: dict[str, Any], example: Any) -> dict[str, Any]:
        return {"content": {"application/json": {"schema": schema, "example": example}}}

    def problem_ref(name: str) -> Any:
        return api.spec.components.get_ref("response", name)  # registers the lazy problem+json response

    document_route(
        api,
        app,
        "/cds-services",
        {
            "get": {
                "tags": ["cds-hooks"],
                "operationId": "listCdsServices",
                "summary": "CDS Hooks discovery: the services, their hooks and prefetch templates",
                "description": "What a CDS client reads once to know which services to call, with what prefetch.",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The services",
                        **json_content(ref("CdsDiscovery"), {"services": list(SERVICES.values())}),
                    }
                },
            }
        },
    )
    for service_id, service in SERVICES.items():
        hook = service["hook"]
        method = "".join(word.capitalize() for word in hook.split("-"))  # order-sign -> OrderSign
        example = {**CDS_REQUEST_EXAMPLE, "hook": hook}
        if hook == "order-select":
            orders = CDS_REQUEST_EXAMPLE["context"]["draftOrders"]["entry"]
            selections = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in orders[:1]]
            example["context"] = {**CDS_REQUEST_EXAMPLE["context"], "selections": selections}
        api.spec.path(
            rule=_concrete_rule(f"/cds-services/{service_id}"),
            operations={
                "post": {
                    "tags": ["cds-hooks"],
                    "operationId": f"callCds{method}Service",
                    "summary": f"Call the {hook} service: cards for vaccine orders",
                    "description": (
                        "A critical card for a live vaccine that must be avoided on the order's date, a warning naming the "
                        "next permitted window for a vaccine ordered outside one (or when none is in the horizon), an info "
                        "card when the date fits. Each card carries the rules and their sources in `detail`, and the "
                        "plan's status and windows as data under `extension.vaccine-timing-planner`. Every prefetch key "
                        "listed at discovery must be present (null when the client has no data): without them the answer "
                        "is 412, as this service does not query FHIR servers itself."
                        + (" Only the selected draft orders are checked." if hook == "order-select" else "")
                    ),
                    "security": [{"cdsHooksJwt": []}],
                    "requestBody": {"required": True, **json_content(request_schema(hook), example)},
                    "responses": {
                        "200": {"description": "Cards", **json_content(ref("CdsCards"), CDS_RESPONSE_EXAMPLE)},
                        "400": problem_ref("BAD_REQUEST"),
                        "401": problem_ref("UNAUTHORIZED"),
                        "412": problem_ref("PRECONDITION_FAILED"),
                        "413": problem_ref("REQUEST_ENTITY_TOO_LARGE"),
                        "415": problem_ref("UNSUPPORTED_MEDIA_TYPE"),
                    },
                }
            },
        )
        api.spec.path(
            rule=_concrete_rule(f"/cds-services/{service_id}/feedback"),
            operations={
                "post": {
                    "tags": ["cds-hooks"],
                    "operationId": f"sendCds{method}Feedback",
                    "summary": f"Feedback on the {hook} service's cards: accepted or overridden",
                    "description": "Only the counts of accepted and overridden cards are kept (logged), nothing else.",
                    "security": [{"cdsHooksJwt": []}],
                    "requestBody": {"required": True, **json_content(ref("CdsFeedback"), FEEDBACK_EXAMPLE)},
                    "responses": {
                        "200": {
                            "description": "The outcomes counted",
                            **json_content(ref("CdsFeedbackCounts"), {"accepted": 0, "overridden": 1}),
                        },
                        "400": problem_ref("BAD_REQUEST"),
                        "401": problem_ref("UNAUTHORIZED"),
                        "415": problem_ref("UNSUPPORTED_MEDIA_TYPE"),
                    },
                }
            },
        )


def _concrete_rule(path: str) -> Rule:
    """A URL rule for one value of /cds-services/<service_id>: each service is documented as its own path."""
    rule = Rule(path)
    Map([rule])  # binds the rule, as apispec's Flask plugin reads it
    return rule
