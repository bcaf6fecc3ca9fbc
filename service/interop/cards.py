"""CDS Hooks 2.0: the discovery document, draft vaccine orders, and cards built from a REST plan.

The services read the patient's ofatumumab history from prefetched searches, plan the ordered vaccines through
the REST planner, and turn each vaccine's windows into one card. A card's `extension` repeats the plan's
status and windows as data, so a client (or a test) can check the dates without parsing text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from .coding import OVERRIDE_REASON_SYSTEM, RULE_SYSTEM, InteropError, Issue, calendar_date, cvx_codes
from .therapy import Located, medication_concept

EXTENSION_KEY = "vaccine-timing-planner"
PREFETCH = {
    # Every medication of the patient, not a code-filtered search: sites code Kesimpta with RxNorm, NDC, ATC
    # or text, and the service recognises it itself (see docs/interoperability.md).
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "immunizations": "Immunization?patient={{context.patientId}}",
}
_DESCRIPTION = (
    "Checks vaccine orders (MedicationRequest or ServiceRequest coded with CVX) against the patient's "
    "ofatumumab (Kesimpta) schedule: a critical card for a live vaccine that must be avoided, a warning "
    "naming the next permitted window for a vaccine ordered outside one, an info card when the date fits."
)
SERVICES: dict[str, dict[str, Any]] = {
    "vaccine-timing-order-sign": {
        "hook": "order-sign",
        "title": "Vaccine timing around ofatumumab (order sign)",
        "description": _DESCRIPTION,
        "id": "vaccine-timing-order-sign",
        "prefetch": PREFETCH,
    },
    "vaccine-timing-order-select": {
        "hook": "order-select",
        "title": "Vaccine timing around ofatumumab (order select)",
        "description": _DESCRIPTION + " Only the selected draft orders are checked.",
        "id": "vaccine-timing-order-select",
        "prefetch": PREFETCH,
    },
}
KIND_LABELS = {"pre_start": "pre-start", "mid_cycle": "mid-cycle", "post_therapy": "post-therapy"}
CRITICAL_OVERRIDES = [
    ("therapy-stopped", "Ofatumumab has been stopped; the record is not up to date"),
    ("b-cell-repletion-confirmed", "B-cell repletion has been confirmed by a laboratory"),
    ("specialist-advice", "The treating neurologist or a specialist advised to proceed"),
]
WARNING_OVERRIDES = [
    ("cannot-return-in-window", "The patient cannot come back during the window"),
    ("protection-needed-now", "Protection is needed now (outbreak, exposure or travel)"),
    ("specialist-advice", "The treating neurologist or a specialist advised to proceed"),
]
SUMMARY_LIMIT = 139  # the specification: a summary of fewer than 140 characters
# Plan warnings that concern any vaccine order for this patient: each becomes its own warning card.
CARD_WARNINGS = ("live-vaccine-before-start", "live-vaccine-during-therapy")


@dataclass(frozen=True)
class Order:
    """A draft vaccine order: the resource, its single CVX code and the date it is for (None: not stated)."""

    item: Located
    cvx: str
    on: date | None

    @property
    def ref(self) -> str:
        res = self.item.resource
        return self.item.full_url or (f"{self.item.type}/{res.id}" if res.id else self.item.where)


def parse_resource(raw: Any, where: str) -> Any:
    """One FHIR resource (any type) validated with the R4B models; a 400 InteropError when it is not one."""
    kind = raw.get("resourceType") if isinstance(raw, dict) else None
    try:
        model = get_fhir_model_class(str(kind)) if isinstance(kind, str) and kind.isalpha() else None
    except ValueError:
        model = None
    if model is None or not model.has_resource_base():
        raise InteropError([Issue("invalid", "not a FHIR resource with a known resourceType", where)], status=400)
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise InteropError(
            [
                Issue(
                    "invalid",
                    e["msg"][:300],
                    where + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in e["loc"]),
                )
                for e in err.errors()[:20]
            ],
            status=400,
        ) from None
    except (KeyError, LookupError, TypeError, ValueError):
        raise InteropError(
            [Issue("invalid", "holds a resource this FHIR version does not define", where)], status=400
        ) from None


def resources_in(raw: Any, where: str) -> list[Located]:
    """The resources a prefetch value or draftOrders holds: a Bundle's entries, one resource, or none (null)."""
    if raw is None:
        return []
    resource = parse_resource(raw, where)
    if resource.get_resource_type() != "Bundle":
        return [Located(resource, where)]
    return [
        Located(entry.resource, f"{where}.entry[{i}].resource", entry.fullUrl)
        for i, entry in enumerate(resource.entry or [])
        if entry.resource is not None
    ]


def order_date(item: Located) -> date | None:
    """The date a draft order is for: ServiceRequest.occurrence[x], or a MedicationRequest's timing."""
    res = item.resource
    if item.type == "ServiceRequest":
        if res.occurrenceDateTime is not None:
            return calendar_date(res.occurrenceDateTime, f"{item.where}.occurrenceDateTime")
        if res.occurrencePeriod is not None and res.occurrencePeriod.start is not None:
            return calendar_date(res.occurrencePeriod.start, f"{item.where}.occurrencePeriod.start")
        return None
    for i, dosage in enumerate(res.dosageInstruction or []):
        timing = dosage.timing
        if timing is None:
            continue
        at = f"{item.where}.dosageInstruction[{i}].timing"
        if timing.event:
            return calendar_date(timing.event[0], f"{at}.event[0]")
        bounds = timing.repeat.boundsPeriod if timing.repeat is not None else None
        if bounds is not None and bounds.start is not None:
            return calendar_date(bounds.start, f"{at}.repeat.boundsPeriod.start")
    return None


def vaccine_orders(entries: list[Located], selections: list[str] | None) -> list[Order]:
    """The draft orders coded with exactly one CVX code (other orders are not this service's business)."""
    out = []
    for item in entries:
        if item.type == "MedicationRequest":
            concept = medication_concept(item)
        elif item.type == "ServiceRequest":
            concept = item.resource.code
        else:
            continue
        codes = cvx_codes(concept)
        if len(codes) != 1:
            continue
        order = Order(item, codes[0], order_date(item))
        if (
            selections is not None
            and order.ref not in selections
            and f"{item.type}/{item.resource.id}" not in selections
        ):
            continue
        out.append(order)
    return out


def _fit(text: str) -> str:
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1].rstrip() + "…"


def _coding(code: str, display: str) -> dict[str, str]:
    return {"system": OVERRIDE_REASON_SYSTEM, "code": code, "display": display}


class CardMaker:
    """Cards for one hook call: a stable uuid per card, rule citations from the therapy profile."""

    def __init__(self, hook_instance: str, rules: dict[str, Any], ruleset_version: str):
        self.hook_instance = hook_instance
        self.rules = rules
        self.ruleset_version = ruleset_version

    def _uuid(self, *parts: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join((self.hook_instance, *parts))))

    def _source(self, rule_ids: list[str]) -> dict[str, Any]:
        source: dict[str, Any] = {"label": "Vaccine timing planner (ofatumumab rules)"}
        rule = self.rules.get(rule_ids[0]) if rule_ids else None
        if rule is not None:
            source["topic"] = {"system": RULE_SYSTEM, "code": rule.id, "display": rule.summary}
        return source

    def _citations(self, rule_ids: list[str]) -> str:
        lines = []
        for rule_id in rule_ids:
            rule = self.rules.get(rule_id)
            if rule is not None:
                lines.append(
                    f"- `{rule.id}` ({rule.evidence}): {rule.summary} Source: {rule.source}. Citation: {rule.citation}"
                )
        return f"**Rules applied** (ruleset {self.ruleset_version}):\n" + "\n".join(lines) if lines else ""

    def plan_card(self, order: Order, item: dict[str, Any], as_of: date, horizon_days: int) -> dict[str, Any]:
        """The card for one ordered vaccine, from its REST plan entry."""
        on = max(order.on or as_of, as_of).isoformat()
        name = item["vaccine"]["name"]
        windows = item["windows"]
        current = next((w for w in windows if w["start"] <= on <= w["end"]), None)
        later = next((w for w in windows if w["start"] > on), None)
        overrides: list[tuple[str, str]] = []
        if current is not None:
            indicator = "info"
            summary = (
                f"{name}: {on} is within its {KIND_LABELS[current['kind']]} window ({current['start']} to "
                f"{current['end']})"
            )
        elif later is not None:
            indicator, overrides = "warning", WARNING_OVERRIDES
            summary = (
                f"{name}: not on {on}; next {KIND_LABELS[later['kind']]} window {later['start']} to {later['end']}"
            )
        elif item["vaccine"]["live"]:
            indicator, overrides = "critical", CRITICAL_OVERRIDES
            summary = f"{name}: live vaccine, not recommended on {on} with ofatumumab"
        else:
            indicator, overrides = "warning", WARNING_OVERRIDES
            summary = f"{name}: no permitted window in the {horizon_days} days from {as_of.isoformat()}"
        listed = (
            "\n".join(f"- {KIND_LABELS[w['kind']]}: {w['start']} to {w['end']}" for w in windows)
            or f"- none in the {horizon_days} days from {as_of.isoformat()}"
        )
        detail = "\n\n".join(
            part
            for part in (
                item["reason"],
                f"**Permitted windows** (both ends inclusive):\n{listed}",
                self._citations(item["rules"]),
            )
            if part
        )
        data: dict[str, Any] = {
            "order": order.ref,
            "orderDate": on,
            "status": item["status"],
            "vaccine": {k: item["vaccine"][k] for k in ("id", "cvx", "live")},
            "rules": item["rules"],
            "rulesetVersion": self.ruleset_version,
        }
        if windows:
            data["windows"] = windows
        card: dict[str, Any] = {
            "uuid": self._uuid(order.ref, order.cvx, indicator),
            "summary": _fit(summary),
            "indicator": indicator,
            "detail": detail,
            "source": self._source(item["rules"]),
        }
        if overrides:
            card["overrideReasons"] = [_coding(code, display) for code, display in overrides]
        card["extension"] = {EXTENSION_KEY: data}
        return card

    def warning_card(self, warning: dict[str, Any], earliest_start: str | None) -> dict[str, Any]:
        """A card for a plan warning about the patient's vaccine history (CARD_WARNINGS), with its rule cited."""
        if warning["code"] == "live-vaccine-before-start":
            summary = "Live vaccine less than 4 weeks before the first ofatumumab dose" + (
                f": start on or after {earliest_start}" if earliest_start else ": clinical review"
            )
        else:
            summary = "Live vaccine recorded during ofatumumab therapy (B cells depleted): clinical review"
        return {
            "uuid": self._uuid("warning", warning["code"]),
            "summary": _fit(summary),
            "indicator": "warning",
            "detail": "\n\n".join(part for part in (warning["message"], self._citations(warning["rules"])) if part),
            "source": self._source(warning["rules"]),
            "extension": {EXTENSION_KEY: {"warning": warning["code"], "rules": warning["rules"]}},
        }

    def unplanned_card(self, subject: str, messages: list[str], key: str) -> dict[str, Any]:
        """A warning that a vaccine (or the whole therapy record) could not be checked, and why."""
        return {
            "uuid": self._uuid("unplanned", key),
            "summary": _fit(f"Vaccine timing not checked: {subject}"),
            "indicator": "warning",
            "detail": "\n".join(f"- {m}" for m in messages),
            "source": {"label": "Vaccine timing planner (ofatumumab rules)"},
        }
