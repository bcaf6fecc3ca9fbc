"""FHIR medication and immunization resources -> the `treatment` and `immunizations` of a REST plan request.

Shared by the FHIR operation (resources in Parameters parts) and the CDS Hooks services (resources in
prefetched Bundles). Each resource arrives with `where` (its FHIRPath-like address in the request) so that
an error, ours or the REST planner's, can name the part of the input it concerns.

The therapy is read from MedicationAdministration (doses given), MedicationRequest (a planned start, a stop,
the cadence) and MedicationStatement (taken since a date), coded inline or through medicationReference (a
contained Medication, or one found elsewhere by resolve_medications). Which codes name a therapy, how a FHIR
timing maps to its cadence and how loud a card is come from the therapy's profile (the `interop` section of
service/data/therapies/<id>.json), plus a site's own codes (PLANNER_MEDICATION_CODES, with_site_codes): adding
an anti-CD20 therapy is a data change (docs/adding-a-therapy.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from service.data.loader import DataError
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
# MedicationStatement.status values that say the patient is not (and was not) taking it.
VOID_STATEMENT = {"entered-in-error", "not-taken", "intended"}
# The resources that can record the therapy.
MEDICATION_TYPES = ("MedicationAdministration", "MedicationRequest", "MedicationStatement")


def void(item: Located) -> bool:
    """A medication record that says nothing about the therapy (voided, never taken, only a draft)."""
    status = str(item.resource.status)
    if item.type == "MedicationRequest":
        return status in VOID_REQUEST
    if item.type == "MedicationStatement":
        return status in VOID_STATEMENT
    return status == "entered-in-error"


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


# The code systems a site's own list may use (PLANNER_MEDICATION_CODES), with how a code is written there.
SITE_SYSTEMS = {
    ATC: "an ATC code",
    NDC: "an NDC (4-4-2, 5-3-2, 5-4-1, 5-4-2 with hyphens, or 11 digits)",
    RXNORM: "an RxNorm RxCUI (digits)",
    SNOMED: "a SNOMED CT concept id (digits)",
}


def code_key(system: str | None, code: str | None) -> tuple[str, str] | None:
    """One coding as the profiles key it: ATC upper case, an NDC as its product (labeler, product; every
    package of a product is the product), RxNorm and SNOMED CT as written (digits). None: not a code."""
    code = (code or "").strip()
    if not code or system not in SITE_SYSTEMS:
        return None
    if system == ATC:
        return ATC, code.upper()
    if system == NDC:
        product = ndc_product(code)
        return (NDC, f"{product[0]}-{product[1]}") if product is not None else None
    return (system, code) if code.isdigit() else None


def _profile_keys(p: TherapyCodes) -> set[tuple[str, str]]:
    return (
        {(ATC, c) for c in p.atc}
        | {(NDC, f"{lab}-{prod}") for lab, prod in p.ndc_products}
        | {(RXNORM, c) for c in p.rxnorm}
        | {(SNOMED, c) for c in p.snomed}
    )


def _ndc_pair(key: str) -> tuple[str, str]:
    labeler, product = key.split("-")
    return labeler, product


def with_site_codes(profiles: tuple[TherapyCodes, ...], entries: list[dict[str, str]]) -> tuple[TherapyCodes, ...]:
    """The profiles' codes with a site's own added to the therapy each names (PLANNER_MEDICATION_CODES): the
    same sets identify() matches, so a site's RxNorm or NDC code names the product as a profile's would."""
    added: dict[str, list[tuple[str, str]]] = {}
    for entry in entries:
        key = code_key(entry["system"], entry["code"])
        assert key is not None  # load_site_codes checked it
        added.setdefault(entry["therapy"], []).append(key)
    out = []
    for p in profiles:
        keys = added.get(p.profile_id, [])
        out.append(
            replace(
                p,
                atc=p.atc | {c for s, c in keys if s == ATC},
                ndc_products=p.ndc_products | {_ndc_pair(c) for s, c in keys if s == NDC},
                rxnorm=p.rxnorm | {c for s, c in keys if s == RXNORM},
                snomed=p.snomed | {c for s, c in keys if s == SNOMED},
            )
            if keys
            else p
        )
    return tuple(out)


def load_site_codes(path: str | Path, profiles: tuple[TherapyCodes, ...]) -> list[dict[str, str]]:
    """A site's own medication codes (PLANNER_MEDICATION_CODES), checked like the data: a wrong file stops the
    start, naming the file and the field. A code a profile lists for another therapy, or names as a form a
    profile does not cover, is refused: a site list adds codes, it cannot re-point one."""
    try:
        entries = json.loads(Path(path).read_bytes())
    except OSError as err:
        raise DataError(path, "", f"cannot be read ({err.strerror})") from None
    except ValueError as err:
        raise DataError(path, "", f"is not JSON ({err})") from None
    if not isinstance(entries, list):
        raise DataError(path, "", "must be a JSON array of {system, code, therapy}")
    by_id = {p.profile_id: p for p in profiles}
    listed = {key: p.profile_id for p in profiles for key in _profile_keys(p)}
    seen: dict[tuple[str, str], str] = {}
    for i, entry in enumerate(entries):
        at = f"[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"system", "code", "therapy"}:
            raise DataError(path, at, "must be an object with exactly system, code and therapy")
        if not all(isinstance(v, str) for v in entry.values()):
            raise DataError(path, at, "system, code and therapy must be strings")
        if entry["system"] not in SITE_SYSTEMS:
            raise DataError(path, f"{at}.system", "must be one of " + ", ".join(SITE_SYSTEMS))
        key = code_key(entry["system"], entry["code"])
        if key is None:
            raise DataError(path, f"{at}.code", f"{entry['code'][:40]!r} is not {SITE_SYSTEMS[entry['system']]}")
        if entry["therapy"] not in by_id:
            raise DataError(path, f"{at}.therapy", "must be one of " + ", ".join(sorted(by_id)))
        if listed.get(key, entry["therapy"]) != entry["therapy"]:
            raise DataError(path, f"{at}.code", f"the {listed[key]} profile lists this code")
        if key[0] == ATC and any(key[1] in p.not_covered_atc for p in profiles):
            raise DataError(path, f"{at}.code", "a profile lists this code as a form of the drug it does not cover")
        if seen.get(key, entry["therapy"]) != entry["therapy"]:
            raise DataError(path, f"{at}.code", f"listed before for {seen[key]}")
        seen[key] = entry["therapy"]
    return entries


# What a medication's codes say about it.
THERAPY, NOT_COVERED, OTHER, UNIDENTIFIED = "therapy", "not-covered", "other", "unidentified"
NO_CONCEPT = (
    "no medication code: medicationReference to a Medication that is not contained, not in the Bundle and "
    "could not be read from the FHIR server"
)
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
        return Identified(UNIDENTIFIED, why=NO_CONCEPT)
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
    # The Medication a medicationReference outside the resource points to, once found (see resolve_medications).
    medication: Any = None

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
    """medicationCodeableConcept, or the code of the Medication that medicationReference points to: contained,
    or found elsewhere (the same Bundle, the FHIR server) by resolve_medications."""
    res = item.resource
    if res.medicationCodeableConcept is not None:
        return res.medicationCodeableConcept
    if item.medication is not None:
        return item.medication.code
    ref = res.medicationReference.reference if res.medicationReference is not None else None
    if ref and ref.startswith("#"):
        for contained in res.contained or []:
            if contained.get_resource_type() == "Medication" and contained.id == ref[1:]:
                return contained.code
    return None


def medication_reference(item: Located) -> str | None:
    """The reference of a medicationReference that points outside the resource (None: coded or contained)."""
    res = item.resource
    if item.type not in MEDICATION_TYPES or res.medicationCodeableConcept is not None:
        return None
    ref = res.medicationReference.reference if res.medicationReference is not None else None
    return ref if ref and not ref.startswith("#") else None


def reference_keys(reference: str) -> set[str]:
    """The ways one resource can be referred to: as written, and as its last Type/id (a full URL ending in
    `Medication/m1` and `Medication/m1` are the same resource on one server)."""
    parts = reference.rstrip("/").split("/")
    keys = {reference}
    if len(parts) >= 2:
        keys.add(f"{parts[-2]}/{parts[-1]}")
    return keys


def resolve_medications(
    items: list[Located], pool: list[Located], fetch: Callable[[str], Any] | None = None
) -> list[Located]:
    """Each medication record with the Medication its medicationReference names: one among `pool` (the
    request's other resources: a Bundle's entries, `_include`d ones), else read through `fetch` (the FHIR
    server, when there is one). One that cannot be found stays unresolved: identify() says so."""
    found: dict[str, Any] = {}
    for other in pool:
        if other.type == "Medication":
            for key in reference_keys(other.full_url or "") | {f"Medication/{other.resource.id}"}:
                found.setdefault(key, other.resource)
    out = []
    for item in items:
        ref = medication_reference(item)
        if ref is None:
            out.append(item)
            continue
        medication = next((found[k] for k in reference_keys(ref) if k in found), None)
        if medication is None and fetch is not None:
            medication = fetch(ref)
            if medication is not None:
                found[ref] = medication
        out.append(replace(item, medication=medication) if medication is not None else item)
    return out


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
    """Sort the medication records; voided ones and other drugs drop out."""
    record = MedicationRecord()
    for item in medications:
        if item.type not in MEDICATION_TYPES or void(item):
            continue
        found = identify(medication_concept(item), known)
        if found.kind == THERAPY:
            record.therapy.append(item)
        elif found.kind == NOT_COVERED:
            record.not_covered.append((item, found))
        elif found.kind == UNIDENTIFIED:
            record.unidentified.append((item, found))
    return record


@dataclass
class _Dates:
    """The dates the therapy's records give, each with the element it was read from."""

    doses: list[tuple[date, str]] = field(default_factory=list)
    starts: list[tuple[date, str]] = field(default_factory=list)
    stops: list[tuple[date, str]] = field(default_factory=list)
    cadences: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def therapy_from(medications: list[Located], known: tuple[TherapyCodes, ...], *, strict: bool) -> Therapy | None:
    """The treatment the resources describe, for the therapy profile their codes name.

    strict (the FHIR operation, where every `medication` part is meant to be the therapy): a medication that
    is not a profiled therapy is an error. Not strict (CDS Hooks prefetch, all of a patient's medications):
    other drugs are skipped (the caller reports what it could not identify, see sort_medications), and None
    means the patient has no profiled therapy on record.
    """
    used, profiles = _therapy_records(medications, strict, known)
    if not used:
        if strict:
            raise InteropError(
                [
                    Issue(
                        "required",
                        "no MedicationAdministration, MedicationRequest or MedicationStatement of a therapy this "
                        f"planner covers ({', '.join(p.drug for p in known)}): the plan needs the doses "
                        "given or a planned start",
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
    therapy.origin["treatment.drug"] = f"{used[0].where}.{_medication_element(used[0])}"
    dates = _Dates()
    for item in used:
        subject = _subject(item.resource)
        if subject:
            therapy.patients.add(subject)
        try:
            if item.type == "MedicationAdministration":
                _read_administration(item, dates)
            elif item.type == "MedicationStatement":
                _read_statement(item, codes, dates)
            else:
                _read_request(item, codes, dates)
        except InteropError as bad:
            dates.issues += bad.issues
    if dates.issues:
        raise InteropError(dates.issues)
    _fill_treatment(therapy, dates)
    return therapy


def _medication_element(item: Located) -> str:
    return "medicationCodeableConcept" if item.resource.medicationCodeableConcept is not None else "medicationReference"


def _therapy_records(
    medications: list[Located], strict: bool, known: tuple[TherapyCodes, ...]
) -> tuple[list[Located], dict[str, TherapyCodes]]:
    """The records of a profiled therapy, and the profiles they name; strict, anything else is an error."""
    issues: list[Issue] = []
    used: list[Located] = []
    profiles: dict[str, TherapyCodes] = {}
    for item in medications:
        if item.type not in MEDICATION_TYPES:
            if strict:
                issues.append(
                    Issue(
                        "not-supported",
                        f"a {item.type} cannot describe the therapy: send "
                        "MedicationAdministration, MedicationRequest or MedicationStatement",
                        item.where,
                    )
                )
            continue
        if item.type != "MedicationAdministration" and void(item):
            continue
        found = identify(medication_concept(item), known)
        where = f"{item.where}.{_medication_element(item)}"
        if found.kind == THERAPY and found.therapy is not None:
            used.append(item)
            profiles[found.therapy.profile_id] = found.therapy
        elif strict and (found.kind == NOT_COVERED or found.why.endswith(AMBIGUOUS)):
            issues.append(Issue("not-supported", found.why, where))
        elif strict:
            issues.append(
                Issue(
                    "not-supported",
                    "medication not recognised as a therapy this planner covers: "
                    f"{describe_concept(medication_concept(item)) if medication_concept(item) else NO_CONCEPT}. "
                    "Recognised: " + "; ".join(f"{p.drug}: {p.recognised_as()}" for p in known),
                    where,
                )
            )
    if issues:
        raise InteropError(issues)
    return used, profiles


def _read_administration(item: Located, dates: _Dates) -> None:
    res = item.resource
    if res.status in NOT_GIVEN:
        return
    if res.status != "completed":
        dates.issues.append(
            Issue(
                "invalid",
                f"status {res.status!r}: only a completed administration is a "
                "dose given (not-done and entered-in-error are skipped)",
                f"{item.where}.status",
            )
        )
        return
    if res.effectiveDateTime is not None:
        at = f"{item.where}.effectiveDateTime"
        dates.doses.append((calendar_date(res.effectiveDateTime, at), at))
    elif res.effectivePeriod is not None and res.effectivePeriod.start is not None:
        at = f"{item.where}.effectivePeriod.start"
        dates.doses.append((calendar_date(res.effectivePeriod.start, at), at))
    else:
        dates.issues.append(
            Issue("required", "a completed administration needs effectiveDateTime", f"{item.where}.effectiveDateTime")
        )


def _read_statement(item: Located, codes: TherapyCodes, dates: _Dates) -> None:
    """A MedicationStatement: the patient takes (or took) the therapy. effectivePeriod.start is when it began
    (the start, like a request's), its end the stop of a stopped or completed statement. A statement with
    only effectiveDateTime says the therapy was taken that day, not when it began: the start is asked for."""
    res = item.resource
    period = res.effectivePeriod
    if period is None or period.start is None:
        dates.issues.append(
            Issue(
                "required",
                "a MedicationStatement of the therapy says when it began in effectivePeriod.start"
                + (" (effectiveDateTime is one day it was taken, not the start)" if res.effectiveDateTime else ""),
                f"{item.where}.effectivePeriod.start",
            )
        )
        return
    at = f"{item.where}.effectivePeriod"
    dates.starts.append((calendar_date(period.start, f"{at}.start"), f"{at}.start"))
    if res.status in ("stopped", "completed"):
        if period.end is None:
            dates.issues.append(
                Issue("required", f"a {res.status} MedicationStatement needs effectivePeriod.end", f"{at}.end")
            )
        else:
            dates.stops.append((calendar_date(period.end, f"{at}.end"), f"{at}.end"))
    for i, dosage in enumerate(res.dosage or []):
        repeat = dosage.timing.repeat if dosage.timing is not None else None
        if repeat is not None:
            _read_repeat(repeat, f"{item.where}.dosage[{i}].timing.repeat", codes, dates)


def _fill_treatment(therapy: Therapy, dates: _Dates) -> None:
    if dates.doses:
        # The doses given fix the first dose; a request's planned start is history once doses exist.
        dates.doses.sort()
        therapy.treatment["doses"] = [d.isoformat() for d, _ in dates.doses]
        for i, (_, where) in enumerate(dates.doses):
            therapy.origin[f"treatment.doses[{i}]"] = where
    elif dates.starts:
        # Several requests (a starter order and a maintenance order, say): the earliest start is the first dose.
        first, where = min(dates.starts)
        therapy.treatment["start_date"] = first.isoformat()
        therapy.origin["treatment.start_date"] = where
    if dates.stops:
        stopped, where = max(dates.stops)
        therapy.treatment["stopped_on"] = stopped.isoformat()
        therapy.origin["treatment.stopped_on"] = where
    if len(set(dates.cadences)) > 1:
        raise InteropError(
            [
                Issue(
                    "invalid",
                    "the requests give different maintenance cadences: " + ", ".join(sorted(dates.cadences)),
                    next(iter(dates.cadences.values())),
                )
            ]
        )
    if dates.cadences:
        cadence, where = next(iter(dates.cadences.items()))
        therapy.treatment["cadence"] = cadence
        therapy.origin["treatment.cadence"] = where


def _read_request(item: Located, codes: TherapyCodes, dates: _Dates) -> None:
    res = item.resource
    stop_found = False
    for i, dosage in enumerate(res.dosageInstruction or []):
        repeat = dosage.timing.repeat if dosage.timing is not None else None
        if repeat is None:
            continue
        at = f"{item.where}.dosageInstruction[{i}].timing.repeat"
        bounds = repeat.boundsPeriod
        if bounds is not None and bounds.start is not None:
            dates.starts.append((calendar_date(bounds.start, f"{at}.boundsPeriod.start"), f"{at}.boundsPeriod.start"))
        if res.status == "stopped" and bounds is not None and bounds.end is not None:
            dates.stops.append((calendar_date(bounds.end, f"{at}.boundsPeriod.end"), f"{at}.boundsPeriod.end"))
            stop_found = True
        _read_repeat(repeat, at, codes, dates)
    if res.status == "stopped" and not stop_found:
        dates.issues.append(
            Issue(
                "required",
                "a stopped MedicationRequest needs the date the therapy stopped in "
                "dosageInstruction[].timing.repeat.boundsPeriod.end",
                f"{item.where}.status",
            )
        )


def _read_repeat(repeat: Any, at: str, codes: TherapyCodes, dates: _Dates) -> None:
    """A timing's repeat period: the maintenance cadence, a starter repeat (ignored), or an error."""
    if repeat.period is None:
        return
    key = (_number(repeat.period), repeat.periodUnit)
    if key in codes.cadences:
        dates.cadences[codes.cadences[key]] = f"{at}.period"
    elif key not in codes.starter_repeats:
        dates.issues.append(
            Issue(
                "not-supported",
                f"a repeat every {repeat.period} {repeat.periodUnit} is not an "
                f"{codes.drug} maintenance cadence ({codes.cadence_text()})",
                f"{at}.period",
            )
        )


@dataclass(frozen=True)
class VagueDate:
    """An Immunization dated only in part ("1990", "2025-03") or in words ("childhood"): used only when it
    cannot change the plan (see harmless), and reported either way."""

    item: Located
    cvx: str
    written: str
    latest: date | None  # the last day the date can mean; None for words


def _vague_date(res: Any) -> tuple[str, date | None] | None:
    """(as written, the last day it can mean) for a partial or text occurrence; None for a full date or none."""
    value = res.occurrenceDateTime
    if isinstance(value, str):
        parts = value.split("-")
        if len(parts) == 1 and parts[0].isdigit():
            return value, date(int(parts[0]), 12, 31)
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            year, month = int(parts[0]), int(parts[1])
            following = date(year + month // 12, month % 12 + 1, 1)
            return value, date.fromordinal(following.toordinal() - 1)
    if value is None and res.occurrenceString:
        return str(res.occurrenceString)[:40], None
    return None


def harmless(vague: VagueDate, catalog: Catalog, ordered: set[str], before: date | None) -> str | None:
    """Why an imprecisely dated immunization cannot change the plan, or None when it might.

    It cannot when it is no dose of an ordered vaccine's series and either is not live (a non-live vaccine
    given in the past changes no window) or is live and its latest possible day is more than the longest
    live-live spacing (30 days, CDSi) before `before`: the assessment date and the therapy's first day, so no
    planned live dose and no therapy rule can meet it.
    """
    try:
        vaccine = catalog.by_cvx(vague.cvx, "cvx").vaccine
    except LookupFailed:
        return None
    if vaccine.id in ordered:
        return None
    if not vaccine.live:
        return "a non-live vaccine given in the past, not one of those planned"
    if vague.latest is not None and before is not None and (before - vague.latest).days > LIVE_SPACING_REACH:
        return f"a live vaccine given by {vague.latest.isoformat()} at the latest, long before the therapy and the plan"
    return None


# The longest CDSi live-virus conflict interval (30 days, yellow fever or BCG involved), with a day to spare.
LIVE_SPACING_REACH = 31


def immunizations_from(
    items: list[Located], *, strict: bool, vague: list[VagueDate] | None = None
) -> tuple[list[dict[str, str]], list[Located], list[tuple[Located, str]]]:
    """Completed Immunization resources as REST `immunizations` items ({"cvx", "date"}), those used, and
    (not strict) those that could not be read, with why: the caller reports them rather than skip them.
    With `vague`, an Immunization with one CVX code and a partial or text date goes there for the caller to
    weigh (harmless), instead of being refused."""
    out: list[dict[str, str]] = []
    used: list[Located] = []
    skipped: list[tuple[Located, str]] = []
    issues: list[Issue] = []

    def refuse(item: Located, issue: Issue) -> None:
        if strict:
            issues.append(issue)
        else:
            skipped.append((item, issue.message))

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
            refuse(item, Issue("not-supported" if not codes else "invalid", why, f"{item.where}.vaccineCode"))
            continue
        imprecise = _vague_date(res)
        if imprecise is not None and vague is not None:
            vague.append(VagueDate(item, codes[0], *imprecise))
            continue
        if res.occurrenceDateTime is None:
            why = "the immunization needs occurrenceDateTime (a full date)"
            refuse(item, Issue("required", why, f"{item.where}.occurrenceDateTime"))
            continue
        try:
            day = calendar_date(res.occurrenceDateTime, f"{item.where}.occurrenceDateTime")
        except InteropError as bad:
            refuse(item, bad.issues[0])
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
