"""CDS Hooks 2.0: the discovery document, draft vaccine orders, and cards built from a REST plan.

The services read the patient's therapy history (any loaded therapy profile) from prefetched searches, plan the
ordered vaccines through the REST planner, and turn each vaccine's windows into one card. Card texts and
override reasons name the therapy the record (or the order) shows, from its profile. A card's `extension` repeats the plan's
status and windows as data, so a client (or a test) can check the dates without parsing text.

Fail closed: whatever the service could not see (a prefetch the EHR answered with an OperationOutcome, one
page of a paginated search, a medication or order it cannot identify, records of another patient) is a
"blind spot". Blind spots never pass silently: they are named on a card, and a card that rests on an
incomplete record is never quieter than a warning (critical for a live vaccine), see docs/interoperability.md.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from service.domain.catalog import Catalog, LookupFailed
from service.domain.therapy import weeks_or_days

from .coding import Canonical, InteropError, Issue, calendar_date, cvx_codes, describe_concept, texts_of
from .medication import THERAPY, Located, TherapyCodes, identify, medication_concept

EXTENSION_KEY = "vaccine-timing-planner"
PREFETCH = {
    # Every medication of the patient, not a code-filtered search: sites code a therapy with RxNorm, NDC, ATC,
    # SNOMED CT or text, and the service recognises it itself (see docs/interoperability.md). `_include` brings
    # the Medication a medicationReference points to (US Core servers support it on MedicationRequest).
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}"
    "&_include=MedicationAdministration:medication",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}&_include=MedicationRequest:medication",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}&_include=MedicationStatement:medication",
    "immunizations": "Immunization?patient={{context.patientId}}",
}
MEDICATION_KEYS = ("medicationAdministrations", "medicationRequests", "medicationStatements")
_DESCRIPTION = (
    "Checks vaccine orders (MedicationRequest or ServiceRequest coded with CVX) against the patient's "
    "therapy schedule ({therapies}): a critical card for a live vaccine that must be avoided, a warning "
    "naming the next permitted window for a vaccine ordered outside one, an info card when the date fits."
)
SERVICES = {"vaccine-timing-order-sign": "order-sign", "vaccine-timing-order-select": "order-select"}


def services(drugs: list[str]) -> dict[str, dict[str, Any]]:
    """The discovery document's services, naming the loaded therapies (`drugs`: each profile's name)."""
    description = _DESCRIPTION.format(therapies=", ".join(drugs))
    return {
        service_id: {
            "hook": hook,
            "title": f"Vaccine timing around immunosuppressive therapies ({hook.replace('-', ' ')})",
            "description": description
            + (" Only the selected draft orders are checked." if hook == "order-select" else ""),
            "id": service_id,
            "prefetch": PREFETCH,
        }
        for service_id, hook in SERVICES.items()
    }


KIND_LABELS = {"pre_start": "pre-start", "mid_cycle": "mid-cycle", "post_therapy": "post-therapy"}
# "{drug}" is the therapy the card is about (CardMaker.overrides).
CRITICAL_OVERRIDES = [
    ("therapy-stopped", "{Drug} has been stopped; the record is not up to date"),
    ("b-cell-repletion-confirmed", "B-cell repletion has been confirmed by a laboratory"),
    ("specialist-advice", "The treating neurologist or a specialist advised to proceed"),
]
WARNING_OVERRIDES = [
    ("cannot-return-in-window", "The patient cannot come back during the window"),
    ("protection-needed-now", "Protection is needed now (outbreak, exposure or travel)"),
    ("specialist-advice", "The treating neurologist or a specialist advised to proceed"),
]
# How loud a card is when no therapy profile is named (the record shows none, and cannot be fully seen): as
# loud as any profile may be (the loader holds each profile's live indicators at critical).
FAIL_CLOSED_INDICATORS = {
    "inside_window": "info",
    "outside_window": "warning",
    "live_no_window": "critical",
    "non_live_no_window": "warning",
    "record_incomplete": "warning",
    "record_incomplete_live": "critical",
    "not_checked": "warning",
    "not_checked_live": "critical",
}
SUMMARY_LIMIT = 139  # the specification: a summary of fewer than 140 characters
# Plan warnings that concern any vaccine order for this patient: each becomes its own warning card.
CARD_WARNINGS = ("live-vaccine-before-start", "live-vaccine-during-therapy")


@dataclass(frozen=True)
class Order:
    """A draft vaccine order: the resource, the vaccine it names (one CVX code, or a catalog name when it has
    no CVX code) and the date it is for (None: not stated)."""

    item: Located
    cvx: str | None
    on: date | None
    name: str | None = None
    live: bool | None = None
    vaccine_id: str | None = None
    known_as: str | None = None  # the catalog's name for the vaccine, when the catalog knows it

    @property
    def vaccine(self) -> dict[str, str]:
        """The REST `vaccines[]` item that names this order's vaccine."""
        return {"cvx": self.cvx} if self.cvx is not None else {"name": self.name or ""}

    @property
    def label(self) -> str:
        """How the order names its vaccine (stable: part of a card's uuid)."""
        return f"CVX {self.cvx}" if self.cvx is not None else repr(self.name)

    @property
    def title(self) -> str:
        """The vaccine's name for a clinician: the catalog's, else the order's own words or code."""
        return self.known_as or self.label

    @property
    def ref(self) -> str:
        return order_ref(self.item)


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


@dataclass
class Prefetched:
    """What one prefetch key (or draftOrders) holds for the patient, and what could not be seen in it."""

    items: list[Located]
    blind: list[str]


def _reference_patient(res: Any) -> str | None:
    ref = getattr(res, "subject", None) or getattr(res, "patient", None)
    return ref.reference if ref is not None and ref.reference else None


def _is_patient(reference: str, patient_id: str) -> bool:
    # "Patient/123", or an absolute URL ending in it; an id alone is not a FHIR reference but some EHRs send it.
    own = f"Patient/{patient_id}"
    return reference in (own, patient_id) or reference.endswith("/" + own)


def _outcome_text(resource: Any) -> str:
    issue = (resource.issue or [None])[0]
    if issue is None:
        return "no issue given"
    text = issue.diagnostics or (issue.details.text if issue.details is not None else None) or issue.code
    return f"{issue.severity}: {str(text)[:120]}"


def _informational(outcome: Any) -> bool:
    return all(issue.severity == "information" for issue in outcome.issue or [])


def read_prefetch(raw: Any, where: str, patient_id: str | None) -> Prefetched:
    """A prefetch value (or draftOrders) as the patient's resources, naming everything that was not seen.

    Blind spots: an OperationOutcome in place of the data (the EHR could not run the search), a searchset with
    a `next` link (one page of several) or fewer entries than its `total`, an OperationOutcome entry with an
    issue above `information` (a warning such as "some results were withheld" counts), and resources of
    another patient than context.patientId (left out).
    """
    blind: list[str] = []
    items: list[Located] = []
    for item in resources_in(raw, where):
        if item.type == "OperationOutcome" and item.where != where and _informational(item.resource):
            continue  # a searchset's note (information only), not a gap
        if item.type == "OperationOutcome":
            blind.append(
                f"{where}: the EHR answered with an OperationOutcome instead of the records ({_outcome_text(item.resource)})"
            )
            continue
        reference = _reference_patient(item.resource)
        if patient_id is not None and reference is not None and not _is_patient(reference, patient_id):
            blind.append(
                f"{item.where}: a record of another patient ({reference[:60]}) than context.patientId; left out"
            )
            continue
        items.append(item)
    if raw is not None and isinstance(raw, dict) and raw.get("resourceType") == "Bundle":
        links = [link for link in raw.get("link") or [] if isinstance(link, dict)]
        if any(link.get("relation") == "next" for link in links):
            blind.append(f"{where}: one page of a paginated search (Bundle.link 'next'); later pages were not sent")
        total = raw.get("total")
        matches = [
            e
            for e in raw.get("entry") or []
            if isinstance(e, dict) and (e.get("search") or {}).get("mode", "match") == "match"
        ]
        if isinstance(total, int) and total > len(matches):
            blind.append(f"{where}: the search found {total} records but only {len(matches)} were sent")
    return Prefetched(items, blind)


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


# Words that say an order is for a vaccine even when its name is not in the catalog.
VACCINE_WORDS = re.compile(r"vaccin|immuni[sz]|toxoid|\bvax", re.IGNORECASE)
VOID_ORDER = {"entered-in-error", "revoked", "completed", "cancelled"}


@dataclass
class Orders:
    """The draft orders for vaccines, and those whose vaccine could not be identified (each gets a card)."""

    vaccines: list[Order]
    unidentified: list[tuple[Located, str]]
    therapy: list[Located] = field(default_factory=list)  # draft orders of the therapy itself (a start)


def vaccine_orders(
    entries: list[Located], selections: list[str] | None, catalog: Catalog, known: tuple[TherapyCodes, ...]
) -> Orders:
    """Sort the draft orders: vaccines (by CVX, or by a name the catalog knows), unidentified orders, and the
    rest (other drugs and services, not this service's business).

    An order is unidentified when it could be a vaccine and the service cannot tell which: several CVX codes,
    a name that says vaccine but is not in the catalog, or codes only (NDC, RxNorm, ...) with no CVX code and
    no name. No NDC-to-CVX or RxNorm-to-CVX map could be verified here, so none is guessed.
    """
    out = Orders([], [], [])
    for item in entries:
        if item.type == "MedicationRequest":
            concept = medication_concept(item)
        elif item.type == "ServiceRequest":
            concept = item.resource.code
        else:
            continue
        if item.resource.status in VOID_ORDER:
            continue
        ref = order_ref(item)
        if selections is not None and ref not in selections and f"{item.type}/{item.resource.id}" not in selections:
            continue
        codes = cvx_codes(concept)
        if len(codes) > 1:
            out.unidentified.append((item, f"several CVX codes ({', '.join(codes)}) in one order"))
            continue
        if len(codes) == 1:
            vaccine = _catalog_entry(catalog, codes[0], None)
            out.vaccines.append(
                Order(
                    item,
                    codes[0],
                    order_date(item),
                    None,
                    vaccine.live if vaccine else None,
                    vaccine.id if vaccine else None,
                    vaccine.name if vaccine else None,
                )
            )
            continue
        if item.type == "MedicationRequest" and identify(concept, known).kind == THERAPY:
            out.therapy.append(item)  # the therapy itself, being ordered: vaccines ordered with it need a lead time
            continue
        texts = texts_of(concept)
        named = next((v for v in (_catalog_entry(catalog, None, t) for t in texts) if v is not None), None)
        if named is not None:
            out.vaccines.append(Order(item, None, order_date(item), named.name, named.live, named.id, named.name))
        elif any(VACCINE_WORDS.search(t) for t in texts):
            out.unidentified.append(
                (item, f"{describe_concept(concept)}: no CVX code, and the name is not in the vaccine catalog")
            )
        elif not texts:
            out.unidentified.append(
                (
                    item,
                    f"{describe_concept(concept)}: no CVX code and no name, so the service cannot tell whether it is a vaccine",
                )
            )
    return out


def _catalog_entry(catalog: Catalog, cvx: str | None, name: str | None) -> Any:
    try:
        return (catalog.by_cvx(cvx, "cvx") if cvx is not None else catalog.by_name(name or "", "name")).vaccine
    except LookupFailed:
        return None


def short_ref(item: Located) -> str:
    """Type/id, short enough for a card summary (the full URL is in the detail and the extension)."""
    return f"{item.type}/{item.resource.id}" if item.resource.id else item.where


def order_ref(item: Located) -> str:
    res = item.resource
    return item.full_url or (f"{item.type}/{res.id}" if res.id else item.where)


def _fit(text: str) -> str:
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1].rstrip() + "…"


class CardMaker:
    """Cards for one hook call: a stable uuid per card, rule citations, indicators from the therapy profile."""

    def __init__(
        self,
        hook_instance: str,
        rules: dict[str, Any],
        ruleset_version: str,
        canonical: Canonical,
        codes: TherapyCodes | None,
    ):
        """`codes`: the profile of the therapy the record or an order shows; None when nothing shows one (the
        cards then say "a therapy this planner covers", and are as loud as FAIL_CLOSED_INDICATORS)."""
        self.hook_instance = hook_instance
        self.rules = rules
        self.ruleset_version = ruleset_version
        self.canonical = canonical
        self.codes = codes
        self.drug = codes.drug if codes is not None else "a therapy this planner covers"
        self.label = f"Vaccine timing planner ({codes.drug} rules)" if codes is not None else "Vaccine timing planner"
        # Records the call left out because they record nothing given (not-done, entered-in-error): said on
        # each plan card, never a blind spot (nothing was missed).
        self.left_out: list[str] = []

    def _uuid(self, *parts: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join((self.hook_instance, *parts))))

    def _coding(self, code: str, display: str) -> dict[str, str]:
        drug = self.drug
        display = display.format(drug=drug, Drug=drug[:1].upper() + drug[1:])
        return {"system": self.canonical.override_reason, "code": code, "display": display}

    def _source(self, rule_ids: list[str]) -> dict[str, Any]:
        source: dict[str, Any] = {"label": self.label}
        rule = self.rules.get(rule_ids[0]) if rule_ids else None
        if rule is not None:
            source["topic"] = {"system": self.canonical.rule, "code": rule.id, "display": rule.summary}
        return source

    def _citations(self, rule_ids: list[str]) -> str:
        """The rules applied, by id; what each says, its source and citation are behind the card's links (the
        reason above already says in plain words what they decided)."""
        known = [f"`{r}`" for r in rule_ids if r in self.rules]
        return f"**Rules applied** (ruleset {self.ruleset_version}): {', '.join(known)}." if known else ""

    def _links(self, rule_ids: list[str]) -> list[dict[str, str]]:
        """One link per rule applied, to its source and citation on the rules page (open to any browser)."""
        return [
            {
                "label": f"Rule {rule_id}: what it says and its source",
                "url": f"{self.canonical.rules_page}#rule-{rule_id}",
                "type": "absolute",
            }
            for rule_id in rule_ids
            if rule_id in self.rules
        ]

    def indicator(self, situation: str) -> str:
        return (self.codes.indicators if self.codes is not None else FAIL_CLOSED_INDICATORS)[situation]

    def _verdict(self, order: Order, item: dict[str, Any], on: str, as_of: date, horizon_days: int) -> _Verdict:
        """How loud the card is, what it says in one line, and what the clinician could do instead."""
        name = item["vaccine"]["name"]
        windows = item["windows"]
        current = next((w for w in windows if w["start"] <= on <= w["end"]), None)
        later = next((w for w in windows if w["start"] > on), None)
        series = item.get("series") or {}
        if series.get("doses") and series.get("given", 0) >= series["doses"]:
            # Every dose of the series is on record: a further dose is not in the plan (a booster is the
            # clinician's call), so the order is worth a second look whatever the window.
            return _Verdict(
                self.indicator("outside_window"),
                WARNING_OVERRIDES,
                f"{name}: the {series['doses']}-dose series is complete on record; no further dose is planned",
            )
        if current is not None:
            return _Verdict(
                self.indicator("inside_window"),
                [],
                f"{name}: {on} is within its {KIND_LABELS[current['kind']]} window ({current['start']} to "
                f"{current['end']})",
                remove=False,
            )
        if later is not None:
            proposed = [p["date"] for p in item.get("proposed") or [] if p["date"] > on]
            return _Verdict(
                self.indicator("outside_window"),
                WARNING_OVERRIDES,
                f"{name}: not on {on}; next {KIND_LABELS[later['kind']]} window {later['start']} to {later['end']}",
                move_to=proposed[0] if proposed else later["start"],
            )
        if item["vaccine"]["live"]:
            return _Verdict(
                self.indicator("live_no_window"),
                CRITICAL_OVERRIDES,
                f"{name}: live vaccine, not recommended on {on} with {self.drug}",
            )
        return _Verdict(
            self.indicator("non_live_no_window"),
            WARNING_OVERRIDES,
            f"{name}: no permitted window in the {horizon_days} days from {as_of.isoformat()}",
        )

    def _suggestions(self, order: Order, name: str, verdict: _Verdict) -> dict[str, Any]:
        """Move the draft order into the window (recommended) and/or remove it: at most one of them."""
        out = []
        moved = moved_order(order.item, verdict.move_to) if verdict.move_to else None
        if moved is not None:
            out.append(
                {
                    "label": f"Move the {name} order to {verdict.move_to}",
                    "uuid": self._uuid("move", order.ref, str(verdict.move_to)),
                    "isRecommended": True,
                    "actions": [
                        {
                            "type": "update",
                            "description": f"Date the {name} order {verdict.move_to}, inside its permitted window",
                            "resource": moved,
                        }
                    ],
                }
            )
        if verdict.remove and order.item.resource.id:
            out.append(
                {
                    "label": f"Remove the {name} order",
                    "uuid": self._uuid("remove", order.ref),
                    "actions": [
                        {
                            "type": "delete",
                            "description": f"Remove the draft {name} order",
                            "resourceId": f"{order.item.type}/{order.item.resource.id}",
                        }
                    ],
                }
            )
        return {"suggestions": out, "selectionBehavior": "at-most-one"} if out else {}

    def plan_card(
        self, order: Order, item: dict[str, Any], as_of: date, horizon_days: int, blind: list[str]
    ) -> dict[str, Any]:
        """The card for one ordered vaccine, from its REST plan entry.

        `blind` names what the service could not see in the record: the card then says so first, and is at
        least a warning (critical for a live vaccine), whatever the plan from the visible record says.
        """
        on = max(order.on or as_of, as_of).isoformat()
        live = bool(item["vaccine"]["live"])
        windows = item["windows"]
        verdict = self._verdict(order, item, on, as_of, horizon_days)
        indicator, overrides, summary = verdict.indicator, verdict.overrides, verdict.summary
        if blind:
            floor = self.indicator("record_incomplete_live" if live else "record_incomplete")
            if RANK[floor] > RANK[indicator]:
                indicator = floor
                overrides = CRITICAL_OVERRIDES if indicator == "critical" else WARNING_OVERRIDES
            summary = f"Record incomplete: {summary}"
        detail = "\n\n".join(
            part
            for part in (
                _blind_text(blind),
                item["reason"],
                _windows_text(windows, on, horizon_days, as_of),
                self._citations(item["rules"]),
                "**Left out** (they record nothing given):\n" + "\n".join(f"- {n}" for n in self.left_out)
                if self.left_out
                else "",
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
        if blind:
            data["notSeen"] = blind
        if self.left_out:
            data["leftOut"] = self.left_out
        card: dict[str, Any] = {
            "uuid": self._uuid(order.ref, order.label, indicator),
            "summary": _fit(summary),
            "indicator": indicator,
            "detail": detail,
            "source": self._source(item["rules"]),
            **(self._suggestions(order, item["vaccine"]["name"], verdict) if indicator != "info" else {}),
        }
        if overrides:
            card["overrideReasons"] = [self._coding(code, display) for code, display in overrides]
        links = self._links(item["rules"])
        if links:
            card["links"] = links
        card["extension"] = {EXTENSION_KEY: data}
        return card

    def warning_card(self, warning: dict[str, Any], earliest_start: str | None, live_lead_days: int) -> dict[str, Any]:
        """A card for a plan warning about the patient's vaccine history (CARD_WARNINGS), with its rule cited;
        `live_lead_days` is the therapy's live lead time as the plan applied it (its label's, or the stricter)."""
        drug = self.drug
        if warning["code"] == "live-vaccine-before-start":
            summary = f"Live vaccine less than {weeks_or_days(live_lead_days)} before the first {drug} dose" + (
                f": start on or after {earliest_start}" if earliest_start else ": clinical review"
            )
        else:
            summary = f"Live vaccine recorded during {drug} therapy (B cells depleted): clinical review"
        return {
            "uuid": self._uuid("warning", warning["code"]),
            "summary": _fit(summary),
            "indicator": "warning",
            "detail": "\n\n".join(part for part in (warning["message"], self._citations(warning["rules"])) if part),
            "source": self._source(warning["rules"]),
            **({"links": links} if (links := self._links(warning["rules"])) else {}),
            "extension": {EXTENSION_KEY: {"warning": warning["code"], "rules": warning["rules"]}},
        }

    def starting_card(self, order: Order, therapy_order: Located, days: int, rule_id: str) -> dict[str, Any]:
        """A vaccine ordered together with the therapy itself: the label's lead time before the first dose.

        Nothing on record shows the therapy yet, so there is no schedule to plan against; the card says how far
        ahead of the first dose the vaccine must be (critical for a live vaccine, whose lead time is a must).
        """
        live = bool(order.live)
        indicator = self.indicator("live_no_window" if live else "outside_window")
        kind = "live" if live else "non-live"
        summary = f"{order.title}: {kind} vaccine ordered with {self.drug}; give it {days}+ days before dose 1"
        detail = "\n\n".join(
            part
            for part in (
                f"{order_ref(therapy_order)} orders {self.drug} at the same time as this {kind} vaccine "
                f"({order.ref}). The vaccine should be given at least {days} days before the first dose "
                + (
                    "(the label: live vaccines are not recommended from the first dose on)."
                    if live
                    else "whenever possible."
                )
                + " Nothing on the record shows the therapy yet, so no dates are planned: plan them with the start date.",
                self._citations([rule_id]),
            )
            if part
        )
        overrides = CRITICAL_OVERRIDES if indicator == "critical" else WARNING_OVERRIDES
        return {
            "uuid": self._uuid("starting", order.ref, indicator),
            "summary": _fit(summary),
            "indicator": indicator,
            "detail": detail,
            "source": self._source([rule_id]),
            **self._suggestions(order, order.title, _Verdict(indicator, overrides, summary)),
            "overrideReasons": [self._coding(c, d) for c, d in overrides],
            **({"links": links} if (links := self._links([rule_id])) else {}),
            "extension": {
                EXTENSION_KEY: {"order": order.ref, "therapyOrder": order_ref(therapy_order), "rules": [rule_id]}
            },
        }

    def unplanned_card(
        self, subject: str, messages: list[str], key: str, *, live: bool | None = None
    ) -> dict[str, Any]:
        """A card saying a vaccine (or the whole record) could not be checked, and why.

        A warning; critical when a live vaccine is among what could not be checked (`live`), since the
        worst case then is a live vaccine during B-cell depletion.
        """
        indicator = self.indicator("not_checked_live" if live else "not_checked")
        return {
            "uuid": self._uuid("unplanned", key, indicator),
            "summary": _fit(f"Vaccine timing not checked: {subject}"),
            "indicator": indicator,
            "detail": "**Not checked**, because:\n" + "\n".join(f"- {m}" for m in messages),
            "source": {"label": self.label},
            "extension": {
                EXTENSION_KEY: {"notSeen": messages, **({"rulesetVersion": v} if (v := self.ruleset_version) else {})}
            },
        }


RANK = {"info": 0, "warning": 1, "critical": 2}
WINDOWS_LISTED = 3  # the windows a card's text names; every window is in its extension


@dataclass
class _Verdict:
    indicator: str
    overrides: list[tuple[str, str]]
    summary: str
    move_to: str | None = None  # a date the order could be moved to, inside a permitted window
    remove: bool = True  # removing the draft order is a choice worth offering


def _windows_text(windows: list[dict[str, str]], on: str, horizon_days: int, as_of: date) -> str:
    """The permitted windows from the order's date on, the first few of them (the extension has them all)."""
    ahead = [w for w in windows if w["end"] >= on]
    if not ahead:
        return f"**Permitted windows**: none in the {horizon_days} days from {as_of.isoformat()}."
    lines = [f"- {KIND_LABELS[w['kind']]}: {w['start']} to {w['end']}" for w in ahead[:WINDOWS_LISTED]]
    if len(ahead) > WINDOWS_LISTED:
        lines.append(f"- and {len(ahead) - WINDOWS_LISTED} more, to {ahead[-1]['end']}")
    return "**Permitted windows** (both ends inclusive):\n" + "\n".join(lines)


def moved_order(item: Located, day: str) -> dict[str, Any] | None:
    """The draft order, whole, dated `day` instead (a CDS Hooks update action carries the whole resource);
    None when the order has no date element this service knows how to move."""
    resource: dict[str, Any] = item.resource.model_dump(mode="json", exclude_none=True)
    if item.type == "ServiceRequest":
        resource.pop("occurrencePeriod", None)
        resource.pop("occurrenceTiming", None)
        resource["occurrenceDateTime"] = day
        return resource
    for dosage in resource.get("dosageInstruction") or []:
        timing = dosage.get("timing") or {}
        if timing.get("event"):
            timing["event"] = [day]
            return resource
        bounds = (timing.get("repeat") or {}).get("boundsPeriod")
        if bounds and bounds.get("start"):
            bounds["start"] = day
            return resource
    return None


def _blind_text(blind: list[str]) -> str:
    if not blind:
        return ""
    return "**The record is incomplete**: this check used only what the EHR sent, and could not see:\n" + "\n".join(
        f"- {b}" for b in blind
    )
