"""CDS Hooks 2.0 routes: discovery, the order-sign and order-select services, and their feedback endpoints.

What the services need comes in `prefetch`; a key that is missing or short is read from the EHR's FHIR server
when the request carries `fhirServer` and `fhirAuthorization` (service/interop/fhir_client.py). A key that
still cannot be had gets 412 Precondition Failed, as the specification asks of a service that cannot obtain
its data. Errors are problem+json like the rest of the API.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.routing import Map, Rule

from service.domain.errors import FieldError, InvalidInput
from service.domain.kinds import effect_words, live_lead_words
from service.domain.schedule import PARTIAL_HISTORY
from service.interop.cards import (
    CARD_WARNINGS,
    EXTENSION_KEY,
    MEDICATION_KEYS,
    PREFETCH,
    SERVICES,
    CardMaker,
    Order,
    Orders,
    Prefetched,
    order_ref,
    parse_resource,
    read_prefetch,
    services,
    short_ref,
    vaccine_orders,
)
from service.interop.coding import UNCONFIGURED_BASE, InteropError
from service.interop.fhir_client import FetchFailed, FhirServer
from service.interop.medication import (
    MEDICATION_TYPES,
    NOT_GIVEN,
    THERAPY,
    History,
    MedicationRecord,
    TherapyCodes,
    VagueDate,
    harmless,
    identify,
    immunizations_from,
    locate,
    medication_concept,
    resolve_medications,
    sort_medications,
    split_history,
    therapy_codes,
    therapy_from,
    void,
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


def _request_errors(body: dict[str, Any], hook: str) -> list[tuple[str, str]]:
    """What a hook request lacks or gets wrong, against the CDS Hooks 2.0 request and the hook's context."""
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
    if not isinstance(body.get("prefetch", {}), dict):
        errors.append(("prefetch", "must be an object"))
    if "fhirAuthorization" in body and body.get("fhirServer") is None:
        errors.append(("fhirServer", "required with fhirAuthorization (CDS Hooks 2.0: cds-r-1)"))
    return errors


def _admitted(service_id: str) -> dict[str, Any] | Response:
    """A call's body, once the service is known and the caller authorized; else the refusal (404, 401, 400...)."""
    if service_id not in SERVICES:
        return problem(404, f"No CDS service {service_id[:60]!r}; GET /cds-services lists them.")
    refused = _authorized(service_id)
    if refused is not None:
        return refused
    return _body()


@bp.post("/<service_id>")
def call_service(service_id: str) -> Response:
    body = _admitted(service_id)
    if isinstance(body, Response):
        return body
    hook = SERVICES[service_id]
    errors = _request_errors(body, hook)
    if errors:
        return _invalid(errors)
    context = body["context"]
    patient_id = context["patientId"]
    filled = _fill_prefetch(body, patient_id)
    if isinstance(filled, Response):
        return filled
    prefetch, server, notes = filled
    planner = current_app.extensions["planner"]
    known: tuple[TherapyCodes, ...] = current_app.extensions["medication_codes"]
    try:
        drafts = read_prefetch(context["draftOrders"], "context.draftOrders", patient_id)
        medications = [read_prefetch(prefetch[k], f"prefetch.{k}", patient_id) for k in MEDICATION_KEYS]
        immunizations = read_prefetch(prefetch["immunizations"], "prefetch.immunizations", patient_id)
    except InteropError as bad:
        return _invalid([(i.expression, i.message) for i in bad.issues])
    for key, seen in zip(MEDICATION_KEYS + ("immunizations",), medications + [immunizations], strict=True):
        seen.blind += notes.get(key, [])
    # A medicationReference (of a draft order or a record) names a Medication sent anywhere in the call, or one
    # the FHIR server holds.
    on_record = [i for p in medications for i in p.items]
    pool = on_record + drafts.items
    fetch = _medication_reader(server) if server is not None else None
    drafts.items = resolve_medications(drafts.items, pool, fetch)
    orders = vaccine_orders(
        drafts.items, context.get("selections") if hook == "order-select" else None, planner.ruleset.catalog, known
    )
    if not orders.vaccines and not orders.unidentified and not drafts.blind:
        return _cards([])  # no vaccine among the orders: nothing to check
    record = sort_medications(resolve_medications(on_record, pool, fetch), known)
    profile = _profile_of(record, orders, known)
    version = planner.ruleset.therapies.versions.get(profile.profile_id, "") if profile is not None else ""
    maker = CardMaker(body["hookInstance"], _rules(planner), version, current_app.extensions["canonical"], profile)
    return _cards(_check(maker, orders, drafts, record, medications, immunizations, known))


MISSING = object()


def _short(value: Any) -> bool:
    """Whether a prefetch value leaves out records the service needs: absent, an OperationOutcome in place of
    the search, or a searchset that says it is one page of several or holds fewer entries than its total."""
    if value is MISSING:
        return True
    if not isinstance(value, dict):
        return False  # null: the client has no data; anything else is refused when read
    if value.get("resourceType") == "OperationOutcome":
        return True
    if value.get("resourceType") != "Bundle":
        return False
    if any(isinstance(link, dict) and link.get("relation") == "next" for link in value.get("link") or []):
        return True
    total, entries = value.get("total"), value.get("entry") or []
    return isinstance(total, int) and total > len(entries)


def _fill_prefetch(
    body: dict[str, Any], patient_id: str
) -> tuple[dict[str, Any], FhirServer | None, dict[str, list[str]]] | Response:
    """The prefetch, with what was missing or short read from the FHIR server when the request names one.

    412 only when a key is still missing: the data could not be had at all. A short key whose reading failed
    keeps what the client sent (its gaps become blind spots on the cards) and says why it was not completed.
    """
    prefetch = dict(body.get("prefetch") or {})
    notes: dict[str, list[str]] = {}
    why_not = "no fhirServer was given"
    try:
        seconds = float(current_app.config["PLANNER"]["CDS_FHIR_SECONDS"])
        server = FhirServer.from_request(body, seconds, trusted=current_app.extensions["cds_auth"].enabled)
    except FetchFailed as unusable:
        server, why_not = None, str(unusable)
    for key, template in PREFETCH.items():
        if server is None or not _short(prefetch.get(key, MISSING)):
            continue
        try:
            prefetch[key] = server.search(template.replace("{{context.patientId}}", quote(patient_id, safe="")))
        except FetchFailed as failed:
            why_not = str(failed)
            log.info(f"cds prefetch {key} not read from the FHIR server: {failed}")
            notes[key] = [f"prefetch.{key}: could not be completed from the FHIR server ({failed})"]
    missing = [key for key in PREFETCH if key not in prefetch]
    if missing:
        return problem(
            412,
            f"Prefetch {', '.join(missing)} missing and not read from the FHIR server ({why_not}): send the "
            "prefetch templates listed at GET /cds-services (null when there is no data), or fhirServer and "
            "fhirAuthorization.",
            type_slug=None,
        )
    return prefetch, server, notes


def _medication_reader(server: FhirServer) -> Any:
    """Reads a Medication a medicationReference names from the FHIR server (None when it cannot be had)."""

    def read(reference: str) -> Any:
        raw = server.read(reference)
        if raw is None or raw.get("resourceType") != "Medication":
            return None
        try:
            return parse_resource(raw, "Medication")
        except InteropError:
            return None

    return read


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
        return left_out + _no_therapy_cards(maker, orders, cards, not_covered, med_blind, unidentified_meds)
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
                live=any(o.live for o in orders.vaccines),
            )
        ]
    assert therapy is not None  # record.therapy is not empty
    planner = current_app.extensions["planner"]
    as_of: date = planner.today()
    furthest = max((o.on for o in orders.vaccines if o.on is not None), default=as_of)
    horizon = min(MAX_HORIZON, max(DEFAULT_HORIZON, (furthest - as_of).days + DEFAULT_HORIZON))
    history = _history(immunizations, orders, therapy.treatment, as_of, blind)
    maker.left_out = _left_out(immunizations, medication_prefetch)
    plan_body: dict[str, Any] = {"as_of": as_of.isoformat(), "treatment": therapy.treatment, "horizon_days": horizon}
    if history.others:
        plan_body["immunizations"] = history.others
    return cards + _plan_cards(
        maker, orders.vaccines, plan_body, therapy.origin, as_of, horizon, history.given_for, blind
    )


def _left_out(immunizations: Prefetched, medication_prefetch: list[Prefetched]) -> list[str]:
    """The immunizations and therapy records that record nothing given (not-done, entered-in-error, a statement
    not taken): left out of the plan, and named on its cards."""
    known = current_app.extensions["medication_codes"]
    therapy = [
        i
        for p in medication_prefetch
        for i in p.items
        if i.type in MEDICATION_TYPES and identify(medication_concept(i), known).kind == THERAPY
    ]
    return [
        f"{item.where}: status {item.resource.status}"
        for item in immunizations.items + therapy
        if (item.type in ("Immunization", "MedicationAdministration") and item.resource.status in NOT_GIVEN)
        or (item.type in ("MedicationRequest", "MedicationStatement") and void(item))
    ]


def _no_therapy_cards(
    maker: CardMaker,
    orders: Orders,
    cards: list[dict[str, Any]],
    not_covered: list[str],
    med_blind: list[str],
    unidentified_meds: list[str],
) -> list[dict[str, Any]]:
    """The cards when the record shows no therapy this planner covers: what kept it from being ruled out."""
    drug = maker.drug
    any_live = any(o.live for o in orders.vaccines)
    if not_covered:
        return cards + [
            maker.unplanned_card(
                f"the record shows a form of {drug} this planner does not cover",
                not_covered + med_blind,
                "not-covered",
                live=any_live or bool(orders.unidentified),
            )
        ]
    if med_blind:
        return cards + [
            maker.unplanned_card(
                f"could not see the whole medication record to rule out {drug}",
                med_blind + unidentified_meds,
                "medications-not-seen",
                live=False,
            )
        ]
    if orders.therapy and orders.vaccines:
        return _starting_cards(maker, orders)
    if unidentified_meds and (any_live or orders.unidentified):
        # Neither the drug nor (maybe) the vaccine can be told: the worst case is a live vaccine during
        # therapy, so say so. A non-live vaccine known as such gets no card: it is not what could harm.
        unknown = [f"{order_ref(item)}: {why}" for item, why in orders.unidentified]
        subject = "live vaccine ordered" if any_live else "vaccine not identified"
        return [
            maker.unplanned_card(
                f"{subject}; medications not identified, {drug} not ruled out",
                unidentified_meds + unknown,
                "medications-unidentified",
                live=False,
            )
        ]
    return []  # the record, fully seen, shows no therapy this planner covers: nothing to say


def _history(
    immunizations: Prefetched, orders: Orders, treatment: dict[str, Any], as_of: date, blind: list[str]
) -> History:
    """The immunization history the plan uses; what it cannot use goes to `blind`. An Immunization dated in
    part or in words is left out without a blind spot when it cannot change the plan (medication.harmless)."""
    catalog = current_app.extensions["planner"].ruleset.catalog
    ordered = {o.vaccine_id for o in orders.vaccines if o.vaccine_id}
    vague: list[VagueDate] = []
    imm_items, imm_used, imm_skipped = immunizations_from(immunizations.items, strict=False, vague=vague)
    kept = [(e, i) for e, i in zip(imm_items, imm_used, strict=True) if e["date"] <= as_of.isoformat()]
    blind += [
        f"{i.where}: dated after today; left out"
        for e, i in zip(imm_items, imm_used, strict=True)
        if e["date"] > as_of.isoformat()
    ]
    blind += [f"{item.where}: immunization not read ({why})" for item, why in imm_skipped]
    first = min([as_of.isoformat(), *(treatment.get("doses") or [])[:1], treatment.get("start_date") or "9999"])
    blind += [
        f"{one.item.where}: dated {one.written!r}, not a full date; it may change this plan, so the plan may be wrong"
        for one in vague
        if harmless(one, catalog, ordered, date.fromisoformat(first)) is None
    ]
    history = split_history([e for e, _ in kept], [i for _, i in kept], catalog, ordered, strict=False)
    blind += [
        f"{item.where}: immunization not identified ({why}); spacing and series may be incomplete"
        for item, why in history.unreadable
    ]
    return history


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
                        f"{todo[i].title} ({todo[i].ref})",
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
        reading = applied.for_label(plan["treatment"]["label"])
        lead, effect = live_lead_words(reading), effect_words(reading)
        cards += [
            maker.warning_card(w, plan["treatment"]["earliest_start"], lead, effect)
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
    body = _admitted(service_id)
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
        if not _utc_timestamp(item.get("outcomeTimestamp")):
            errors.append(
                (f"feedback[{i}].outcomeTimestamp", "required: when the user acted, an ISO 8601 date-time in UTC")
            )
        if item.get("outcome") == "accepted" and not isinstance(item.get("acceptedSuggestions"), list):
            errors.append((f"feedback[{i}].acceptedSuggestions", "required for an accepted outcome"))
        if not errors:
            counts[item["outcome"]] += 1
    if errors:
        return _invalid(errors)
    # Counts only: card ids, reasons and comments could be tied to a patient, so none of them is logged.
    log.info(f"cds feedback for {service_id}: {counts['accepted']} accepted, {counts['overridden']} overridden")
    return current_app.response_class(json.dumps(counts), mimetype="application/json")


def _utc_timestamp(value: Any) -> bool:
    """An ISO 8601 date and time with its UTC offset (`2026-11-24T10:15:00Z`), as the specification asks."""
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.utcoffset() == timedelta(0)


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


TEXT = {"type": "string", "minLength": 1}


def _card_schema() -> dict[str, Any]:
    """A CDS Hooks 2.0 card as this service writes it."""
    ref = hl7_schemas.ref
    return {
        "type": "object",
        "description": "A CDS Hooks 2.0 card.",
        "properties": {
            "uuid": {"type": "string"},
            "summary": {"type": "string", "maxLength": 140},
            "detail": {
                "type": "string",
                "description": "Markdown: what the record shows, the reason, the next windows and the rule ids "
                "(each rule's wording, source and citation are behind `links`).",
            },
            "suggestions": {
                "type": "array",
                "description": "Move the draft order into its window (an update of the whole order, recommended) "
                "and/or remove it (a delete naming Type/id).",
                "items": {
                    "type": "object",
                    "properties": {
                        "label": {"type": "string"},
                        "uuid": {"type": "string"},
                        "isRecommended": {"type": "boolean"},
                        "actions": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "type": {"type": "string", "enum": ["create", "update", "delete"]},
                                    "description": {"type": "string"},
                                    "resource": ref("FhirResource"),
                                    "resourceId": {"type": "string"},
                                },
                                "required": ["type", "description"],
                                "additionalProperties": False,
                            },
                        },
                    },
                    "required": ["label"],
                    "additionalProperties": False,
                },
            },
            "selectionBehavior": {"type": "string", "enum": ["at-most-one", "any"]},
            "links": {
                "type": "array",
                "description": "Each rule applied, on the rules page: what it says, its source and citation.",
                "items": {
                    "type": "object",
                    "properties": {
                        "label": {"type": "string"},
                        "url": {"type": "string", "format": "uri"},
                        "type": {"type": "string", "enum": ["absolute", "smart"]},
                        "appContext": {"type": "string"},
                    },
                    "required": ["label", "url", "type"],
                    "additionalProperties": False,
                },
            },
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
    }


def _feedback_schemas() -> dict[str, dict[str, Any]]:
    """Feedback on a card: accepted (with the suggestions taken) or overridden (with a reason)."""
    ref = hl7_schemas.ref
    text = TEXT
    return {
        **{
            f"CdsFeedback{outcome.capitalize()}": {
                "type": "object",
                "description": f"Feedback on one card the user {outcome} (CDS Hooks 2.0).",
                "properties": {
                    "card": {**text, "description": "The card's uuid."},
                    "outcome": {"type": "string", "enum": [outcome]},
                    "outcomeTimestamp": {
                        "type": "string",
                        "format": "date-time",
                        "description": "When the user acted (ISO 8601 date-time in UTC).",
                    },
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


def _schemas() -> dict[str, dict[str, Any]]:
    """The CDS Hooks shapes: discovery, prefetch, cards, feedback."""
    ref = hl7_schemas.ref
    bundle_or_null = {**hl7_schemas.bundle(), "nullable": True}
    return {
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
                "when the client has no data. A key left out is read from fhirServer when the request carries "
                "fhirServer and fhirAuthorization; without them, every key is required (412)."
            ),
            "properties": {key: bundle_or_null for key in PREFETCH},
            "additionalProperties": True,
        },
        "CdsCard": _card_schema(),
        "CdsCards": {
            "type": "object",
            "properties": {"cards": {"type": "array", "items": ref("CdsCard")}},
            "required": ["cards"],
            "additionalProperties": True,
        },
        **_feedback_schemas(),
    }


def _request_schema(hook: str) -> dict[str, Any]:
    """A CDS Hooks 2.0 request for one hook, as this service reads it."""
    ref = hl7_schemas.ref
    text = TEXT
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
            "fhirServer": {
                "type": "string",
                "format": "uri",
                "description": "The EHR's FHIR base URL: read (with fhirAuthorization) for a missing or short prefetch.",
            },
            "fhirAuthorization": {
                "type": "object",
                "nullable": True,
                "description": "CDS Hooks 2.0 FHIR Resource Access: the bearer token this service sends to fhirServer "
                "only (never logged or kept).",
                "properties": {
                    "access_token": text,
                    "token_type": {"type": "string", "enum": ["Bearer"]},
                    "expires_in": {"type": "integer"},
                    "scope": text,
                    "subject": text,
                    "patient": text,
                },
                "required": ["access_token", "token_type", "expires_in", "scope", "subject"],
                "additionalProperties": True,
            },
            "context": {
                "type": "object",
                "properties": context,
                "required": required,
                "additionalProperties": True,
            },
            "prefetch": ref("CdsPrefetch"),
        },
        "required": ["hook", "hookInstance", "context"],
        "additionalProperties": True,
    }


def json_content(schema: dict[str, Any], example: Any) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema, "example": example}}}


def problem_ref(api: Any, name: str) -> Any:
    return api.spec.components.get_ref("response", name)  # registers the lazy problem+json response


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
    for name, schema in _schemas().items():
        api.spec.components.schema(name, schema)
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
                        **json_content(hl7_schemas.ref("CdsDiscovery"), {"services": _services(app)}),
                    }
                },
            }
        },
    )
    for service_id, hook in SERVICES.items():
        _document_service(api, app, service_id, hook)


def _document_service(api: Any, app: Flask, service_id: str, hook: str) -> None:
    """One service's call and feedback paths (each service is its own path, so its request names its hook)."""
    ref = hl7_schemas.ref
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
                    "card when the date fits, with suggestions (move the order into its window, or remove it) and a "
                    "link to each rule's source; the "
                    "plan's status and windows as data under `extension.vaccine-timing-planner`. Every prefetch key "
                    "listed at discovery must be present (null when the client has no data), or readable from "
                    "`fhirServer` with `fhirAuthorization` (a missing or short key is read there, pages followed, "
                    "in bounded time): when it cannot be had, the answer is 412."
                    + (" Only the selected draft orders are checked." if hook == "order-select" else "")
                ),
                "security": [{JWT_SCHEME: []}],
                "requestBody": {"required": True, **json_content(_request_schema(hook), example)},
                "responses": {
                    "200": {"description": "Cards", **json_content(ref("CdsCards"), CDS_RESPONSE_EXAMPLE)},
                    "400": problem_ref(api, "BAD_REQUEST"),
                    "401": problem_ref(api, "UNAUTHORIZED"),
                    "412": problem_ref(api, "PRECONDITION_FAILED"),
                    "413": problem_ref(api, "REQUEST_ENTITY_TOO_LARGE"),
                    "415": problem_ref(api, "UNSUPPORTED_MEDIA_TYPE"),
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
                    "400": problem_ref(api, "BAD_REQUEST"),
                    "401": problem_ref(api, "UNAUTHORIZED"),
                    "415": problem_ref(api, "UNSUPPORTED_MEDIA_TYPE"),
                },
            }
        },
    )


def _concrete_rule(path: str) -> Rule:
    """A URL rule for one value of /cds-services/<service_id>: each service is documented as its own path."""
    rule = Rule(path)
    Map([rule])  # binds the rule, as apispec's Flask plugin reads it
    return rule
