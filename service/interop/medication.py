"""FHIR medication and immunization resources -> the `treatment` and `immunizations` of a REST plan request.

Shared by the FHIR operation (resources in Parameters parts) and the CDS Hooks services (resources in
prefetched Bundles). Each resource arrives with `where` (its FHIRPath-like address in the request) so that
an error, ours or the REST planner's, can name the part of the input it concerns.

Which codes name a therapy, how a FHIR timing maps to its cadence and how loud a card is come from the
therapy's profile (the `interop` section of service/data/therapies/<id>.json): adding an anti-CD20 therapy
is a data change (docs/adding-a-therapy.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.domain.catalog import Catalog, LookupFailed
from service.domain.therapy import TherapyProfile

from .coding import (
    ATC,
    CVX,
    NDC,
    RXNORM,
    SNOMED,
    InteropError,
    Issue,
    calendar_date,
    cvx_codes,
    describe_concept,
    ndc_product,
    texts_of,
)

# MedicationAdministration.status: `completed` is a dose given; these two say no dose was given.
NOT_GIVEN = {"not-done", "entered-in-error"}
# MedicationRequest.status values that do not describe the therapy at all.
VOID_REQUEST = {"entered-in-error", "cancelled", "draft"}


@dataclass(frozen=True)
class TherapyCodes:
    """How EHR records name one therapy, and how its timing and cards map, from its profile's `interop` data."""

    profile_id: str
    drug: str
    atc: frozenset[str]
    ndc_products: frozenset[tuple[str, str]]
    rxnorm: frozenset[str]
    snomed: frozenset[str]
    names: re.Pattern[str]
    not_covered_atc: frozenset[str]
    not_covered_names: re.Pattern[str] | None
    not_covered_reason: str
    cadences: dict[tuple[float, str], str]
    starter_repeats: frozenset[tuple[float, str]]
    indicators: dict[str, str]

    def recognised_as(self) -> str:
        """The codes it is recognised by, for an error message."""
        parts = [f"ATC {c}" for c in sorted(self.atc)] + [
            f"NDC {lab.lstrip('0').zfill(4)}-{prod}" for lab, prod in sorted(self.ndc_products)
        ]
        parts += [f"RxNorm {c}" for c in sorted(self.rxnorm)] + [f"SNOMED CT {c}" for c in sorted(self.snomed)]
        return ", ".join(parts) + f", or a text or display naming {self.names.pattern.replace('|', ' or ')}"

    def cadence_text(self) -> str:
        return ", ".join(f"{p:g} {u}" for p, u in self.cadences)


def _pattern(names: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(n) for n in names), re.IGNORECASE)


def therapy_codes_from(doc: dict[str, Any]) -> TherapyCodes:
    """A profile's codes from its document ({"id", "name", "interop"}), checked by the loader's schema."""
    interop = doc["interop"]
    codes, excluded = interop["codes"], interop.get("not_covered", {})
    products = set()
    for ndc in codes["ndc_products"]:
        labeler, product = ndc.split("-")
        products.add((labeler.zfill(5), product.zfill(4)))
    return TherapyCodes(
        profile_id=doc["id"],
        drug=doc["name"],
        atc=frozenset(c.upper() for c in codes["atc"]),
        ndc_products=frozenset(products),
        rxnorm=frozenset(codes["rxnorm"]),
        snomed=frozenset(codes.get("snomed", ())),
        names=_pattern(codes["names"]),
        not_covered_atc=frozenset(c.upper() for c in excluded.get("atc", [])),
        not_covered_names=_pattern(excluded["names"]) if excluded.get("names") else None,
        not_covered_reason=excluded.get("reason", ""),
        cadences={(float(c["period"]), c["unit"]): c["cadence"] for c in interop["fhir_cadences"]},
        starter_repeats=frozenset((float(c["period"]), c["unit"]) for c in interop["fhir_starter_repeats"]),
        indicators=dict(interop["card_indicators"]),
    )


# The codes of each loaded set of profiles, built once: keyed by the identity of the profiles' tuple, which
# is kept alive beside its codes (a ruleset is loaded once per data directory and lives as long as the app).
_CODES: dict[int, tuple[tuple[TherapyProfile, ...], tuple[TherapyCodes, ...]]] = {}


def therapy_codes(profiles: Iterable[TherapyProfile]) -> tuple[TherapyCodes, ...]:
    """Every loaded therapy profile's codes (the app's ruleset, PLANNER_DATA_DIR included), in profile order."""
    key = profiles if isinstance(profiles, tuple) else tuple(profiles)
    cached = _CODES.get(id(key))
    if cached is None or cached[0] is not key:
        codes = tuple(therapy_codes_from({"id": p.id, "name": p.name, "interop": p.interop}) for p in key)
        cached = _CODES[id(key)] = (key, codes)
    return cached[1]


# What a medication's codes say about it.
THERAPY, NOT_COVERED, OTHER, UNIDENTIFIED = "therapy", "not-covered", "other", "unidentified"
# Code systems whose codes this service can tell apart from the therapy's without a display: ATC is a
# closed classification and the NDC directory lists the therapy's products. RxNorm is not one of them here:
# no RxCUI could be verified, so an RxNorm code without a name cannot be told apart from the therapy.
KNOWN_SYSTEMS = {ATC, NDC}


@dataclass(frozen=True)
class Identified:
    kind: str  # THERAPY, NOT_COVERED, OTHER or UNIDENTIFIED
    therapy: TherapyCodes | None = None
    why: str = ""


def identify(concept: Any, profiles: tuple[TherapyCodes, ...]) -> Identified:
    """Whether a medication CodeableConcept is a profiled therapy, an excluded form of it, another drug, or unknown.

    Codes first (NDC product, RxNorm, ATC, SNOMED CT), then the text and displays. A concept that names nothing
    and has codes only in systems this service cannot resolve is UNIDENTIFIED: the caller must say so. Forms of
    one molecule share codes and names (ocrelizumab intravenous and subcutaneous share ATC L04AG08, and
    "Ocrevus Zunovo" contains "Ocrevus"): the most specific match decides (a product code, then the longest
    name), and a tie between two profiles is UNIDENTIFIED, never a guess.
    """
    if concept is None:
        return Identified(UNIDENTIFIED, why="no medication code (medicationReference to a Medication not contained)")
    codings = list(concept.coding or [])
    texts = texts_of(concept)
    for p in profiles:
        if any(c.system == ATC and (c.code or "").upper() in p.not_covered_atc for c in codings) or (
            p.not_covered_names is not None and any(p.not_covered_names.search(t) for t in texts)
        ):
            return Identified(NOT_COVERED, p, p.not_covered_reason)
    scored = [(score, p) for p in profiles if (score := _match(p, codings, texts))]
    if scored:
        best = max(score for score, _ in scored)
        top = [p for score, p in scored if score == best]
        if len(top) == 1:
            return Identified(THERAPY, top[0])
        return Identified(
            UNIDENTIFIED,
            why=f"{describe_concept(concept)} could be any of {', '.join(p.drug for p in top)}{AMBIGUOUS}",
        )
    if texts or (codings and all(c.system in KNOWN_SYSTEMS and c.code for c in codings)):
        return Identified(OTHER)
    return Identified(UNIDENTIFIED, why=describe_concept(concept))


AMBIGUOUS = ", which differ in schedule: code the product (NDC) or name it"
# How much a match says about the product: a product code names one product; a name says more the longer it
# is ("ocrevus zunovo" over "ocrevus"); a substance or class code (ATC, SNOMED CT substance) least.
PRODUCT_CODE, NAME, SUBSTANCE_CODE = 10_000, 100, 1


def _match(p: TherapyCodes, codings: list[Any], texts: list[str]) -> int:
    """How specifically the codings and texts name profile `p` (0: not at all)."""
    score = 0
    for c in codings:
        code = (c.code or "").strip()
        if (c.system == NDC and ndc_product(code) in p.ndc_products) or (c.system == RXNORM and code in p.rxnorm):
            score = max(score, PRODUCT_CODE)
        elif (c.system == ATC and code.upper() in p.atc) or (c.system == SNOMED and code in p.snomed):
            score = max(score, SUBSTANCE_CODE)
    for text in texts:
        for found in p.names.finditer(text):
            score = max(score, NAME + len(found.group(0)))
    return score


@dataclass(frozen=True)
class Located:
    """A parsed FHIR resource, where it sits in the request, and how to refer to it."""

    resource: Any
    where: str
    full_url: str | None = None

    @property
    def type(self) -> str:
        return str(self.resource.get_resource_type())

    def reference(self) -> dict[str, str]:
        """A FHIR Reference to this resource: by fullUrl, else Type/id, else a display naming its place."""
        if self.full_url:
            return {"reference": self.full_url, "type": self.type}
        if self.resource.id:
            return {"reference": f"{self.type}/{self.resource.id}", "type": self.type}
        return {"type": self.type, "display": self.where}


@dataclass
class Therapy:
    """The REST `treatment` built from the medication resources, with where each field came from."""

    treatment: dict[str, Any]
    used: list[Located]
    codes: TherapyCodes | None = None
    origin: dict[str, str] = field(default_factory=dict)
    patients: set[str] = field(default_factory=set)


def locate(origin: dict[str, str], rest_field: str, default: str = "Parameters") -> str:
    """Where a REST field came from: the input element recorded for the longest prefix of its path."""
    best = ""
    for key in origin:
        if (rest_field == key or rest_field.startswith(key + ".") or rest_field.startswith(key + "[")) and len(
            key
        ) > len(best):
            best = key
    return origin.get(best, default)


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def medication_concept(item: Located) -> Any:
    """medicationCodeableConcept, or the code of a contained Medication that medicationReference points to."""
    res = item.resource
    if res.medicationCodeableConcept is not None:
        return res.medicationCodeableConcept
    ref = res.medicationReference.reference if res.medicationReference is not None else None
    if ref and ref.startswith("#"):
        for contained in res.contained or []:
            if contained.get_resource_type() == "Medication" and contained.id == ref[1:]:
                return contained.code
    return None


def _subject(res: Any) -> str | None:
    ref = getattr(res, "subject", None) or getattr(res, "patient", None)
    return ref.reference if ref is not None and ref.reference else None


@dataclass
class MedicationRecord:
    """A patient's medication resources sorted by what their codes say (CDS Hooks reads every medication)."""

    therapy: list[Located] = field(default_factory=list)
    not_covered: list[tuple[Located, Identified]] = field(default_factory=list)
    unidentified: list[tuple[Located, Identified]] = field(default_factory=list)

    @property
    def profiles(self) -> list[TherapyCodes]:
        return [i.therapy for _, i in self.not_covered if i.therapy is not None]


def sort_medications(medications: list[Located], known: tuple[TherapyCodes, ...]) -> MedicationRecord:
    """Sort MedicationAdministration/MedicationRequest resources; voided requests and other drugs drop out."""
    record = MedicationRecord()
    for item in medications:
        if item.type not in ("MedicationAdministration", "MedicationRequest"):
            continue
        if item.type == "MedicationRequest" and item.resource.status in VOID_REQUEST:
            continue
        if item.type == "MedicationAdministration" and item.resource.status == "entered-in-error":
            continue
        found = identify(medication_concept(item), known)
        if found.kind == THERAPY:
            record.therapy.append(item)
        elif found.kind == NOT_COVERED:
            record.not_covered.append((item, found))
        elif found.kind == UNIDENTIFIED:
            record.unidentified.append((item, found))
    return record


def therapy_from(medications: list[Located], known: tuple[TherapyCodes, ...], *, strict: bool) -> Therapy | None:
    """The treatment the resources describe, for the therapy profile their codes name.

    strict (the FHIR operation, where every `medication` part is meant to be the therapy): a medication that
    is not a profiled therapy is an error. Not strict (CDS Hooks prefetch, all of a patient's medications):
    other drugs are skipped (the caller reports what it could not identify, see sort_medications), and None
    means the patient has no profiled therapy on record.
    """
    issues: list[Issue] = []
    used: list[Located] = []
    profiles: dict[str, TherapyCodes] = {}
    for item in medications:
        if item.type not in ("MedicationAdministration", "MedicationRequest"):
            if strict:
                issues.append(
                    Issue(
                        "not-supported",
                        f"a {item.type} cannot describe the therapy: send "
                        "MedicationAdministration or MedicationRequest",
                        item.where,
                    )
                )
            continue
        if item.type == "MedicationRequest" and item.resource.status in VOID_REQUEST:
            continue
        found = identify(medication_concept(item), known)
        if found.kind == THERAPY and found.therapy is not None:
            used.append(item)
            profiles[found.therapy.profile_id] = found.therapy
        elif strict and (found.kind == NOT_COVERED or found.why.endswith(AMBIGUOUS)):
            issues.append(Issue("not-supported", found.why, f"{item.where}.medicationCodeableConcept"))
        elif strict:
            issues.append(
                Issue(
                    "not-supported",
                    "medication not recognised as a therapy this planner covers: "
                    f"{describe_concept(medication_concept(item))}. Recognised: "
                    + "; ".join(f"{p.drug}: {p.recognised_as()}" for p in known),
                    f"{item.where}.medicationCodeableConcept",
                )
            )
    if issues:
        raise InteropError(issues)
    if not used:
        if strict:
            raise InteropError(
                [
                    Issue(
                        "required",
                        "no MedicationAdministration or MedicationRequest of a therapy this planner covers "
                        f"({', '.join(p.drug for p in known)}): the plan needs the doses given or a planned start",
                        "Parameters.parameter",
                    )
                ]
            )
        return None
    if len(profiles) > 1:
        raise InteropError(
            [
                Issue(
                    "not-supported",
                    "the record names more than one therapy (" + ", ".join(sorted(profiles)) + "): plan one at a time",
                    used[0].where,
                )
            ]
        )
    codes = next(iter(profiles.values()))
    therapy = Therapy(treatment={"drug": codes.drug}, used=used, codes=codes)
    therapy.origin["treatment"] = used[0].where
    therapy.origin["treatment.drug"] = f"{used[0].where}.medicationCodeableConcept"
    doses: list[tuple[date, str]] = []
    starts: list[tuple[date, str]] = []
    stops: list[tuple[date, str]] = []
    cadences: dict[str, str] = {}
    for item in used:
        res = item.resource
        subject = _subject(res)
        if subject:
            therapy.patients.add(subject)
        try:
            if item.type == "MedicationAdministration":
                if res.status in NOT_GIVEN:
                    continue
                if res.status != "completed":
                    issues.append(
                        Issue(
                            "invalid",
                            f"status {res.status!r}: only a completed administration is a "
                            "dose given (not-done and entered-in-error are skipped)",
                            f"{item.where}.status",
                        )
                    )
                    continue
                if res.effectiveDateTime is not None:
                    doses.append(
                        (
                            calendar_date(res.effectiveDateTime, f"{item.where}.effectiveDateTime"),
                            f"{item.where}.effectiveDateTime",
                        )
                    )
                elif res.effectivePeriod is not None and res.effectivePeriod.start is not None:
                    doses.append(
                        (
                            calendar_date(res.effectivePeriod.start, f"{item.where}.effectivePeriod.start"),
                            f"{item.where}.effectivePeriod.start",
                        )
                    )
                else:
                    issues.append(
                        Issue(
                            "required",
                            "a completed administration needs effectiveDateTime",
                            f"{item.where}.effectiveDateTime",
                        )
                    )
            else:
                _read_request(item, codes, starts, stops, cadences, issues)
        except InteropError as bad:
            issues += bad.issues
    if issues:
        raise InteropError(issues)

    if doses:
        # The doses given fix the first dose; a request's planned start is history once doses exist.
        doses.sort()
        therapy.treatment["doses"] = [d.isoformat() for d, _ in doses]
        for i, (_, where) in enumerate(doses):
            therapy.origin[f"treatment.doses[{i}]"] = where
    elif starts:
        # Several requests (a starter order and a maintenance order, say): the earliest start is the first dose.
        first, where = min(starts)
        therapy.treatment["start_date"] = first.isoformat()
        therapy.origin["treatment.start_date"] = where
    if stops:
        stopped, where = max(stops)
        therapy.treatment["stopped_on"] = stopped.isoformat()
        therapy.origin["treatment.stopped_on"] = where
    if len(set(cadences)) > 1:
        raise InteropError(
            [
                Issue(
                    "invalid",
                    "the requests give different maintenance cadences: " + ", ".join(sorted(cadences)),
                    next(iter(cadences.values())),
                )
            ]
        )
    if cadences:
        cadence, where = next(iter(cadences.items()))
        therapy.treatment["cadence"] = cadence
        therapy.origin["treatment.cadence"] = where
    return therapy


def _read_request(
    item: Located,
    codes: TherapyCodes,
    starts: list[tuple[date, str]],
    stops: list[tuple[date, str]],
    cadences: dict[str, str],
    issues: list[Issue],
) -> None:
    res = item.resource
    stop_found = False
    for i, dosage in enumerate(res.dosageInstruction or []):
        repeat = dosage.timing.repeat if dosage.timing is not None else None
        if repeat is None:
            continue
        at = f"{item.where}.dosageInstruction[{i}].timing.repeat"
        bounds = repeat.boundsPeriod
        if bounds is not None and bounds.start is not None:
            starts.append((calendar_date(bounds.start, f"{at}.boundsPeriod.start"), f"{at}.boundsPeriod.start"))
        if res.status == "stopped" and bounds is not None and bounds.end is not None:
            stops.append((calendar_date(bounds.end, f"{at}.boundsPeriod.end"), f"{at}.boundsPeriod.end"))
            stop_found = True
        if repeat.period is not None:
            period = _number(repeat.period)
            key = (period, repeat.periodUnit)
            if key in codes.cadences:
                cadences[codes.cadences[key]] = f"{at}.period"
            elif key not in codes.starter_repeats:
                issues.append(
                    Issue(
                        "not-supported",
                        f"a repeat every {repeat.period} {repeat.periodUnit} is not an "
                        f"{codes.drug} maintenance cadence ({codes.cadence_text()})",
                        f"{at}.period",
                    )
                )
    if res.status == "stopped" and not stop_found:
        issues.append(
            Issue(
                "required",
                "a stopped MedicationRequest needs the date the therapy stopped in "
                "dosageInstruction[].timing.repeat.boundsPeriod.end",
                f"{item.where}.status",
            )
        )


def immunizations_from(
    items: list[Located], *, strict: bool
) -> tuple[list[dict[str, str]], list[Located], list[tuple[Located, str]]]:
    """Completed Immunization resources as REST `immunizations` items ({"cvx", "date"}), those used, and
    (not strict) those that could not be read, with why: the caller reports them rather than skip them."""
    out: list[dict[str, str]] = []
    used: list[Located] = []
    skipped: list[tuple[Located, str]] = []
    issues: list[Issue] = []
    for item in items:
        res = item.resource
        if item.type != "Immunization":
            if strict:
                issues.append(
                    Issue(
                        "not-supported",
                        f"an immunization part must hold an Immunization, not a {item.type}",
                        item.where,
                    )
                )
            continue
        if res.status in NOT_GIVEN:
            continue
        codes = cvx_codes(res.vaccineCode)
        if len(codes) != 1:
            why = f"vaccineCode needs exactly one CVX code ({CVX}); got {describe_concept(res.vaccineCode)}"
            if strict:
                issues.append(Issue("not-supported" if not codes else "invalid", why, f"{item.where}.vaccineCode"))
            else:
                skipped.append((item, why))
            continue
        if res.occurrenceDateTime is None:
            why = "the immunization needs occurrenceDateTime (a full date)"
            if strict:
                issues.append(Issue("required", why, f"{item.where}.occurrenceDateTime"))
            else:
                skipped.append((item, why))
            continue
        try:
            day = calendar_date(res.occurrenceDateTime, f"{item.where}.occurrenceDateTime")
        except InteropError as bad:
            if strict:
                issues += bad.issues
            else:
                skipped.append((item, bad.issues[0].message))
            continue
        out.append({"cvx": codes[0], "date": day.isoformat()})
        used.append(item)
    if issues:
        raise InteropError(issues)
    return out, used, skipped


@dataclass
class History:
    """Immunizations split by what they do to the plan: doses of an ordered vaccine's series, or other vaccines."""

    given: dict[str, list[Located]] = field(default_factory=dict)  # catalog vaccine id -> its doses on record
    dates: dict[str, list[str]] = field(default_factory=dict)  # catalog vaccine id -> their dates, sorted
    others: list[dict[str, str]] = field(default_factory=list)  # REST `immunizations` items
    other_items: list[Located] = field(default_factory=list)
    live: dict[int, bool] = field(default_factory=dict)  # id(Located) -> the vaccine is live
    unreadable: list[tuple[Located, str]] = field(default_factory=list)

    def given_for(self, vaccine_id: str | None) -> list[str]:
        return list(self.dates.get(vaccine_id or "", []))

    def supporting(self, vaccine_id: str | None, live: bool) -> list[Located]:
        """The Immunization resources behind one vaccine's plan: its own series, and for a live vaccine the
        other live vaccines given (they are what live-live spacing is checked against)."""
        own = list(self.given.get(vaccine_id or "", []))
        if live:
            own += [i for i in self.other_items if self.live.get(id(i))]
        return own


def vaccine_id_of(catalog: Catalog, item: dict[str, Any]) -> str | None:
    """The catalog vaccine a REST vaccine item ({"cvx"} or {"name"}) names, or None when it names none."""
    try:
        match = catalog.by_cvx(item["cvx"], "cvx") if "cvx" in item else catalog.by_name(item["name"], "name")
    except LookupFailed:
        return None
    return match.vaccine.id


def split_history(
    immunizations: list[dict[str, str]], items: list[Located], catalog: Catalog, ordered: set[str], *, strict: bool
) -> History:
    """Put each immunization where it belongs: a dose of an ordered vaccine's series continues that series
    (the REST `given` of that vaccine), any other goes to `immunizations` for live-live spacing.

    "The same vaccine" is the same catalog entry (service/data/vaccines.json groups the CVX codes of one
    product family, e.g. Engerix-B and Recombivax HB under hepb). An immunization whose CVX names no single
    catalog entry (an unspecified formulation such as CVX 88) cannot be placed: not strict, it is reported as
    unreadable; strict (the FHIR operation), it goes to the planner, which names the part in a 422.
    """
    history = History()
    for entry, item in zip(immunizations, items, strict=True):
        try:
            vaccine = catalog.by_cvx(entry["cvx"], "cvx").vaccine
        except LookupFailed as failed:
            if strict:
                history.others.append(entry)
                history.other_items.append(item)
            else:
                history.unreadable.append((item, f"CVX {entry['cvx']}: {failed.error.message}"))
            continue
        if vaccine.id in ordered:
            doses = history.given.setdefault(vaccine.id, [])
            if entry["date"] not in history.dates.setdefault(vaccine.id, []):
                history.dates[vaccine.id].append(entry["date"])  # a dose recorded twice is one dose
            doses.append(item)
        else:
            history.others.append(entry)
            history.other_items.append(item)
            history.live[id(item)] = vaccine.live
    for dates in history.dates.values():
        dates.sort()
    return history
