"""Code systems, the ofatumumab recogniser, and the error type shared by the FHIR and CDS Hooks front ends."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

CVX = "http://hl7.org/fhir/sid/cvx"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
LOINC = "http://loinc.org"
RECOMMENDATION_STATUS = "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status"

# This service's own code systems and canonical URLs. The host is a placeholder (RFC 2606 reserves
# .example): replace it when the project publishes its definitions under a domain of its own.
CANONICAL_BASE = "https://vaccine-timing-planner.example/fhir"
WINDOW_KIND_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/window-kind"
OVERRIDE_REASON_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/override-reason"
RULE_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/rule"
OPERATION_URL = f"{CANONICAL_BASE}/OperationDefinition/vaccine-timing"

# Kesimpta (ofatumumab 20 mg/0.4 mL, subcutaneous). ATC L04AG12 is the MS (Kesimpta) code; L01FA02 is
# ofatumumab as an oncology drug (Arzerra, intravenous), a different regimen this profile does not cover.
KESIMPTA_ATC = "L04AG12"
ARZERRA_ATC = "L01FA02"
# openFDA NDC directory: product NDC 0078-1007 (KESIMPTA, Novartis; packages 0078-1007-68 and -98).
# Held as (labeler padded to 5 digits, product padded to 4).
KESIMPTA_NDC_PRODUCTS = {("00078", "1007")}
# No RxNorm RxCUI for ofatumumab or Kesimpta could be confirmed from a primary source, so none is listed:
# an RxNorm coding is recognised by its display text naming the drug, like any other coding.
_NAMES = re.compile(r"ofatumumab|kesimpta", re.IGNORECASE)
_ONCOLOGY_NAMES = re.compile(r"arzerra", re.IGNORECASE)


@dataclass(frozen=True)
class Issue:
    """One problem with the input, addressed by a FHIRPath-like expression (`Parameters.parameter[2].resource`)."""

    code: str  # FHIR issue-type: invalid, required, not-supported
    message: str
    expression: str


@dataclass
class InteropError(Exception):
    """Input that cannot be translated into a plan request; `status` is the HTTP status it deserves."""

    issues: list[Issue] = field(default_factory=list)
    status: int = 422

    def __str__(self) -> str:  # pragma: no cover - debugging only
        return "; ".join(f"{i.expression}: {i.message}" for i in self.issues)


def calendar_date(value: Any, expression: str) -> date:
    """The calendar date of a FHIR date or dateTime, as written (a time zone is not applied).

    `2026-10-20T23:30:00-05:00` is 20 October: the day the person was dosed where they were. A partial date
    (`2026` or `2026-10`) cannot place a dose or a vaccination on a day, so it is refused.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise InteropError(
        [Issue("invalid", f"needs a full calendar date (YYYY-MM-DD), not {str(value)[:20]!r}", expression)]
    )


def ndc_product(code: str) -> tuple[str, str] | None:
    """(labeler, product) of an NDC written with hyphens (4-4-2, 5-3-2, 5-4-1, 5-4-2) or as 11 digits."""
    code = code.strip()
    parts = code.split("-")
    if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
        return parts[0].zfill(5), parts[1].zfill(4)
    if len(code) == 11 and code.isdigit():
        return code[:5], code[5:9]
    return None  # a bare 10-digit NDC is ambiguous (4-4-2, 5-3-2 or 5-4-1): not guessed


def drug_of(concept: Any) -> str | None:
    """'ofatumumab' when a CodeableConcept names Kesimpta (ofatumumab for MS), 'oncology' for Arzerra, else None."""
    if concept is None:
        return None
    codings = list(concept.coding or [])
    for c in codings:
        if c.system == ATC and (c.code or "").upper() == ARZERRA_ATC:
            return "oncology"
    texts = [concept.text or ""] + [c.display or "" for c in codings]
    if any(_ONCOLOGY_NAMES.search(t) for t in texts):
        return "oncology"
    for c in codings:
        if c.system == ATC and (c.code or "").upper() == KESIMPTA_ATC:
            return "ofatumumab"
        if c.system == NDC and c.code and ndc_product(c.code) in KESIMPTA_NDC_PRODUCTS:
            return "ofatumumab"
    if any(_NAMES.search(t) for t in texts):
        return "ofatumumab"
    return None


def describe_concept(concept: Any) -> str:
    """A short, safe description of a CodeableConcept for an error message."""
    if concept is None:
        return "no code"
    codes = [f"{c.system or '(no system)'}|{c.code or ''}" for c in (concept.coding or [])]
    text = f"text {concept.text[:60]!r}" if concept.text else ""
    return ", ".join(codes + ([text] if text else [])) or "an empty concept"


def cvx_codes(concept: Any) -> list[str]:
    """The distinct CVX codes of a CodeableConcept, in order."""
    out: list[str] = []
    for c in (concept.coding or []) if concept is not None else []:
        if c.system == CVX and c.code and c.code.strip() not in out:
            out.append(c.code.strip())
    return out
