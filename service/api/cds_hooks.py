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
from werkzeug.routing import Map, Rule

from service.domain.errors import FieldError, InvalidInput
from service.domain.schedule import PARTIAL_HISTORY
from service.interop.cards import (
    CARD_WARNINGS,
    EXTENSION_KEY,
    PREFETCH,
    SERVICES,
    CardMaker,
    Order,
    Orders,
    Prefetched,
    order_ref,
    read_prefetch,
    services,
    short_ref,
    vaccine_orders,
)
from service.interop.coding import UNCONFIGURED_BASE, InteropError
from service.interop.medication import (
    MedicationRecord,
    TherapyCodes,
    identify,
    immunizations_from,
    locate,
    medication_concept,
    sort_medications,
    split_history,
    therapy_codes,
    therapy_from,
)
from service.security import bearer_token

from . import hl7_schemas
from .cds_auth import CdsAuth, JwtRefused
from .examples import CDS_REQUEST_EXAMPLE, CDS_RESPONSE_EXAMPLE
from .ops import document_route
from .parsing import BodyError, read_json_body
from .problems import problem

bp = Blueprint("cds_hooks", __name__, url_prefix="/cds-services")
log = logging.getLogger("service.cds_hooks")
DEFAULT_HORIZON, MAX_HORIZON = 365, 1095
JWT_SCHEME = "cdsHooksJwt"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cds-hooks", error="invalid_token"'}


@bp.get("")
def discovery() -> Response:
    return current_app.response_class(json.dumps({"services": _services()}), mimetype="application/json")


def _services(app: Flask | None = None) -> list[dict[str, Any]]:
    """The discovery document's services, naming the loaded therapies."""
    profiles = (app or current_app).extensions["planner"].ruleset.therapies.profiles
    return list(services([p.name for p in profiles]).values())


def _body() -> dict[str, Any] | Response:
    try:
        body = read_json_body(request)
    except BodyError as bad:
        return problem(bad.status, bad.detail)
    if not isinstance(body, dict):
        return problem(400, "The request body must be a JSON object.", type_slug="invalid-input")
    return body


def _authorized(service_id: str) -> Response | None:
    """None when the call may proceed; a 401 problem naming why not (the JWT check is off without auth)."""
    auth: CdsAuth = current_app.extensions["cds_auth"]
    if not auth.enabled:
        return None
    try:
        auth.verify(bearer_token(request.headers.get("Authorization")), service_id, path=request.path)
    except JwtRefused as refused:
        log.info(f"cds call refused for {service_id}: {refused}")
        return problem(401, str(refused), headers=CHALLENGE)
    except Exception:  # a token the checks did not foresee is refused: never let through, never a 500
        log.exception(f"cds call refused for {service_id}: the JWT could not be checked")
        return problem(401, "The JWT could not be verified.", headers=CHALLENGE)
    return None


def _invalid(errors: list[tuple[str, str]]) -> Response:
    return problem(
        400,
        "The hook request does not match the CDS Hooks specification; see errors.",
        type_slug="invalid-input",
        errors=[{"field": f, "message": m, "code": "invalid"} for f, m in errors],
    )


@bp.post("/<service_id>")
def call_service(service_id: str) -> Response:
    hook = SERVICES.get(service_id)
    if hook is None:
        return problem(404, f"No CDS service {service_id[:60]!r}; GET /cds-services lists them.")
    refused = _authorized(service_id)
    if refused is not None:
        return refused
    body = _body()
    if isinstance(body, Response):
        return body
    context = body.get("context")
    errors = []
    if body.get("hook") != hook:
        errors.append(("hook", f"this service answers the {hook!r} hook"))
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        errors.append(("hookInstance", "required: a UUID for this hook call"))
    if not isinstance(context, dict):
        errors.append(("context", "required: an object"))
        context = {}
    if not isinstance(context.get("patientId"), str) or not context.get("patientId"):
        errors.append(("context.patientId", "required: the FHIR id of the patient"))
    if not isinstance(context.get("draftOrders"), dict):
        errors.append(("context.draftOrders", "required: a Bundle of the draft orders"))
    selections = context.get("selections")
    if hook == "order-select" and (not isinstance(selections, list) or not all(isinstance(s, str) for s in selections)):
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
    patient_id = context["patientId"]
    planner = current_app.extensions["planner"]
    known = therapy_codes(planner.ruleset.therapies.profiles)
    try:
        drafts = read_prefetch(context["draftOrders"], "context.draftOrders", patient_id)
        orders = vaccine_orders(
            drafts.items, selections if hook == "order-select" else None, planner.ruleset.catalog, known
        )
        administrations = read_prefetch(
            prefetch["medicationAdministrations"], "prefetch.medicationAdministrations", patient_id
        )
        requests = read_prefetch(prefetch["medicationRequests"], "prefetch.medicationRequests", patient_id)
        immunizations = read_prefetch(prefetch["immunizations"], "prefetch.immunizations", patient_id)
    except InteropError as bad:
        return _invalid([(i.expression, i.message) for i in bad.issues])
    if not orders.vaccines and not orders.unidentified and not drafts.blind:
        return _cards([])  # no vaccine among the orders: nothing to check
    record = sort_medications(administrations.items + requests.items, known)
    profile = _profile_of(record, orders, known)
    version = planner.ruleset.therapies.versions.get(profile.profile_id, "") if profile is not None else ""
    maker = CardMaker(body["hookInstance"], _rules(planner), version, current_app.extensions["canonical"], profile)
    return _cards(_check(maker, orders, drafts, record, [administrations, requests], immunizations, known))


def _profile_of(record: MedicationRecord, orders: Orders, codes: tuple[TherapyCodes, ...]) -> TherapyCodes | None:
    """The profile whose drug the record shows, else the one a therapy order (or a not-covered form) names;
    None when nothing names one (the cards then speak of the therapies in general)."""
    for item in record.therapy + orders.therapy:
        found = identify(medication_concept(item), codes)
        if found.therapy is not None:
            return found.therapy
    return record.profiles[0] if record.profiles else None


def _check(
    maker: CardMaker,
    orders: Orders,
    drafts: Prefetched,
    record: MedicationRecord,
    medication_prefetch: list[Prefetched],
    immunizations: Prefetched,
    known: tuple[TherapyCodes, ...],
) -> list[dict[str, Any]]:
    """The cards for one call; see docs/interoperability.md "Fail closed" for the cases, in this order."""
    drug = maker.drug
    any_live = any(o.live for o in orders.vaccines)
    # Blind spots about the therapy itself: medication searches not (fully) seen.
    med_blind = [b for p in medication_prefetch for b in p.blind]
    # Draft orders of another patient: left out, and said on their own card whatever the record shows.
    left_out = (
        [maker.unplanned_card("draft orders of another patient were left out", drafts.blind, "drafts")]
        if drafts.blind
        else []
    )
    unidentified_meds = [
        f"{item.where}: medication not identified ({found.why})" for item, found in record.unidentified
    ]
    not_covered = [f"{item.where}: {found.why}" for item, found in record.not_covered]
    # An order whose vaccine cannot be identified matters once the therapy is (or may be) on the record.
    cards = (
        [
            maker.unplanned_card(
                f"{short_ref(item)}: vaccine not identified", [f"{order_ref(item)}: {why}"], f"order|{item.where}"
            )
            for item, why in orders.unidentified
        ]
        if record.therapy or record.not_covered or med_blind or orders.therapy
        else []
    )

    if not record.therapy:
        if not_covered:
            return (
                left_out
                + cards
                + [
                    maker.unplanned_card(
                        f"the record shows a form of {drug} this planner does not cover",
                        not_covered + med_blind,
                        "not-covered",
                        live=any_live or bool(orders.unidentified),
                    )
                ]
            )
        if med_blind:
            return (
                left_out
                + cards
                + [
                    maker.unplanned_card(
                        f"could not see the whole medication record to rule out {drug}",
                        med_blind + unidentified_meds,
                        "medications-not-seen",
                        live=False,
                    )
                ]
            )
        if orders.therapy and orders.vaccines:
            return left_out + _starting_cards(maker, orders)
        if unidentified_meds and (any_live or orders.unidentified):
            # Neither the drug nor (maybe) the vaccine can be told: the worst case is a live vaccine during
            # therapy, so say so. A non-live vaccine known as such gets no card: it is not what could harm.
            unknown = [f"{order_ref(item)}: {why}" for item, why in orders.unidentified]
            subject = "live vaccine ordered" if any_live else "vaccine not identified"
            return left_out + [
                maker.unplanned_card(
                    f"{subject}; medications not identified, {drug} not ruled out",
                    unidentified_meds + unknown,
                    "medications-unidentified",
                    live=False,
                )
            ]
        return left_out  # the record, fully seen, shows no therapy this planner covers: nothing to say

    cards = left_out + cards
    if not orders.vaccines:
        return cards
    blind = med_blind + unidentified_meds + not_covered + immunizations.blind
    try:
        therapy = therapy_from(record.therapy, known, strict=False)
    except InteropError as bad:
        return cards + [
            maker.unplanned_card(
                f"the {drug} record could not be read",
                [f"{i.expression}: {i.message}" for i in bad.issues] + blind,
                "therapy",
                live=any_live,
            )
        ]
    assert therapy is not None  # record.therapy is not empty
    planner = current_app.extensions["planner"]
    as_of: date = planner.today()
    furthest = max((o.on for o in orders.vaccines if o.on is not None), default=as_of)
    horizon = min(MAX_HORIZON, max(DEFAULT_HORIZON, (furthest - as_of).days + DEFAULT_HORIZON))
    imm_items, imm_used, imm_skipped = immunizations_from(immunizations.items, strict=False)
    kept = [(e, i) for e, i in zip(imm_items, imm_used, strict=True) if e["date"] <= as_of.isoformat()]
    blind += [
        f"{i.where}: dated after today; left out"
        for e, i in zip(imm_items, imm_used, strict=True)
        if e["date"] > as_of.isoformat()
    ]
    blind += [f"{item.where}: immunization not read ({why})" for item, why in imm_skipped]
    history = split_history(
        [e for e, _ in kept],
        [i for _, i in kept],
        planner.ruleset.catalog,
        {o.vaccine_id for o in orders.vaccines if o.vaccine_id},
        strict=False,
    )
    blind += [
        f"{item.where}: immunization not identified ({why}); spacing and series may be incomplete"
        for item, why in history.unreadable
    ]
    plan_body: dict[str, Any] = {"as_of": as_of.isoformat(), "treatment": therapy.treatment, "horizon_days": horizon}
    if history.others:
        plan_body["immunizations"] = history.others
    return cards + _plan_cards(
        maker, orders.vaccines, plan_body, therapy.origin, as_of, horizon, history.given_for, blind
    )


def _starting_cards(maker: CardMaker, orders: Orders) -> list[dict[str, Any]]:
    """Vaccines ordered together with the therapy, for a patient whose record does not show it yet."""
    assert maker.codes is not None  # a therapy order names its profile
    profile = current_app.extensions["planner"].ruleset.therapies.find(maker.codes.drug)
    out = []
    for order in orders.vaccines:
        if order.live:
            days, rule = profile.live_pre_start_days, profile.rule_id("live_pre_start")
        else:
            days, rule = profile.non_live_pre_start_days, profile.rule_id("non_live_pre_start")
        out.append(maker.starting_card(order, orders.therapy[0], days, rule))
    return out


def _plan_cards(
    maker: CardMaker,
    orders: list[Order],
    plan_body: dict[str, Any],
    origin: dict[str, str],
    as_of: date,
    horizon: int,
    given_for: Any,
    blind: list[str],
) -> list[dict[str, Any]]:
    """Plan every ordered vaccine at once; an order the planner cannot read gets its own card."""
    cards: list[dict[str, Any]] = []
    todo = list(orders)
    while todo:
        vaccines = [{**o.vaccine, "given": given_for(o.vaccine_id)} for o in todo]
        try:
            plan = current_app.extensions["planner"].plan_json({**plan_body, "vaccines": vaccines})
        except InvalidInput as bad:
            record = [e for e in bad.errors if not e.field.startswith("vaccines[")]
            if record and all(e.code == PARTIAL_HISTORY for e in record) and "start_date" not in plan_body["treatment"]:
                return _partial_history_cards(maker, todo, plan_body, origin, record, as_of, horizon, given_for, blind)
            if record:
                # The therapy record itself cannot be planned from: no order can be checked.
                return [
                    maker.unplanned_card(
                        f"the {maker.drug} record could not be read",
                        [f"{locate(origin, e.field)}: {e.message}" for e in record] + blind,
                        "therapy",
                        live=any(o.live for o in todo),
                    )
                ]
            failed = {i for i in range(len(todo)) for e in bad.errors if e.field.startswith(f"vaccines[{i}]")}
            for i in sorted(failed):
                cards.append(
                    maker.unplanned_card(
                        f"{todo[i].label} ({todo[i].ref})",
                        [_with_candidates(e) for e in bad.errors if e.field.startswith(f"vaccines[{i}]")] + blind,
                        todo[i].ref,
                        live=todo[i].live,
                    )
                )
            todo = [o for i, o in enumerate(todo) if i not in failed]
            continue
        maker.ruleset_version = plan["ruleset"]["version"]
        cards += [
            maker.plan_card(order, item, as_of, horizon, blind)
            for order, item in zip(todo, plan["vaccines"], strict=True)
        ]
        # The live lead time the plan applied: the requested label's, or the stricter of the labels.
        applied = current_app.extensions["planner"].ruleset.therapies.find(plan["treatment"]["drug"])
        live_lead_days = applied.for_label(plan["treatment"]["label"]).live_pre_start_days
        cards += [
            maker.warning_card(w, plan["treatment"]["earliest_start"], live_lead_days)
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
    given_for: Any,
    blind: list[str],
) -> list[dict[str, Any]]:
    """Cards when the recorded administrations cannot say whether the therapy is new or established.

    A CDS client cannot state the start, so the service does not guess it. Live vaccines are avoided under
    either reading (the therapy is active in both), so live orders keep their cards, planned on the earliest
    administration; a non-live order's slots depend on the reading, so it is reported as not checked.
    """
    doses = plan_body["treatment"]["doses"]
    complete = {**plan_body, "treatment": {**plan_body["treatment"], "start_date": min(doses)}}
    planned = _plan_cards(maker, orders, complete, origin, as_of, horizon, given_for, blind)

    # Live order cards, and the cards of orders the planner could not read (those do not depend on the reading).
    def is_plan_card(card: dict[str, Any]) -> bool:
        return "vaccine" in card.get("extension", {}).get(EXTENSION_KEY, {})

    kept = [c for c in planned if not is_plan_card(c) or c["extension"][EXTENSION_KEY]["vaccine"].get("live")]
    live = [c for c in kept if is_plan_card(c)]
    messages = [f"{locate(origin, e.field)}: {e.message}" for e in record] + blind
    if len(live) < len(orders):  # some orders are non-live (or could not be read)
        messages.append(
            "Live vaccine orders are checked all the same (avoided under either reading); non-live orders are not: "
            "their mid-cycle slots depend on when the therapy started."
        )
    return [
        maker.unplanned_card(f"the {maker.drug} record does not say when the therapy started", messages, "therapy")
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
    refused = _authorized(service_id)
    if refused is not None:
        return refused
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
    # Every profile's interop data (checked by the loader) is built into codes now, not on the first call.
    therapy_codes(app.extensions["planner"].ruleset.therapies.profiles)
    auth = CdsAuth.from_settings(app.config["PLANNER"], app.extensions["canonical"].base)
    app.extensions["cds_auth"] = auth
    if auth.enabled and (not auth.issuers or not auth.keys or auth.base_url == UNCONFIGURED_BASE):
        # Calls will be refused (fail closed); say why once, at start-up, where the operator looks.
        log.warning(
            "CDS Hooks JWT checks are on but PLANNER_CDS_ISSUERS, PLANNER_CDS_JWKS or PLANNER_PUBLIC_BASE_URL "
            "is not set: every CDS Hooks call will be refused"
        )
    app.register_blueprint(bp)
    document_routes(app.extensions["problem_api"], app)


FEEDBACK_EXAMPLE = {
    "feedback": [
        {
            "card": "ce16df2c-e87e-5aac-8a19-80361a2a74d0",
            "outcome": "overridden",
            "overrideReason": {
                "reason": {
                    "system": "https://vaccine-timing-planner.invalid/fhir/CodeSystem/override-reason",
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
    api.spec.tag(
        {
            "name": "cds-hooks",
            "description": "CDS Hooks 2.0: vaccine orders checked against the patient's therapy (GET /v1/therapies).",
        }
    )
    hl7_schemas.register(api)
    ref = hl7_schemas.ref
    text = {"type": "string", "minLength": 1}
    bundle_or_null = {**hl7_schemas.bundle(), "nullable": True}
    schemas = {
        "CdsService": {
            "type": "object",
            "properties": {
                "hook": {"type": "string", "enum": sorted(set(SERVICES.values()))},
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
                        **json_content(ref("CdsDiscovery"), {"services": _services(app)}),
                    }
                },
            }
        },
    )
    for service_id, hook in SERVICES.items():
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
                        "Fail closed: what the service could not see (a prefetch answered with an OperationOutcome, a "
                        "paginated or incomplete Bundle, a medication or order it cannot identify, records of another "
                        "patient) is named on a card, never passed over; see docs/interoperability.md. "
                        "A critical card for a live vaccine that must be avoided on the order's date, a warning naming the "
                        "next permitted window for a vaccine ordered outside one (or when none is in the horizon), an info "
                        "card when the date fits. Each card carries the rules and their sources in `detail`, and the "
                        "plan's status and windows as data under `extension.vaccine-timing-planner`. Every prefetch key "
                        "listed at discovery must be present (null when the client has no data): without them the answer "
                        "is 412, as this service does not query FHIR servers itself."
                        + (" Only the selected draft orders are checked." if hook == "order-select" else "")
                    ),
                    "security": [{JWT_SCHEME: []}],
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
                    "security": [{JWT_SCHEME: []}],
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
