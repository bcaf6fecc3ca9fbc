"""Code systems, dates and descriptions of codes, and the error type shared by the FHIR and CDS Hooks front ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

CVX = "http://hl7.org/fhir/sid/cvx"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RECOMMENDATION_STATUS = "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status"

# This service's own code systems and canonical URLs live under the operator's public base URL
# (PLANNER_PUBLIC_BASE_URL, see service/interop/fhir.py `Canonical`); only the path is fixed here.
WINDOW_KIND_PATH = "/fhir/CodeSystem/window-kind"
OVERRIDE_REASON_PATH = "/fhir/CodeSystem/override-reason"
RULE_PATH = "/fhir/CodeSystem/rule"
OPERATION_PATH = "/fhir/OperationDefinition/vaccine-timing"
IMMDS_OPERATION_PATH = "/fhir/OperationDefinition/immds-forecast"
RULES_PAGE_PATH = "/clinic/rules"  # service/clinic/views.py RULES_PATH
WINDOW_EXTENSION_PATH = "/fhir/StructureDefinition/later-window"
# Used when no public base URL is configured (development and tests); RFC 2606 reserves .invalid, so
# nothing can ever resolve it, and the docs tell operators to set the real one.
UNCONFIGURED_BASE = "https://vaccine-timing-planner.invalid"


@dataclass(frozen=True)
class Issue:
    """One problem with the input, addressed by a FHIRPath-like expression (`Parameters.parameter[2].resource`)."""

    code: str  # FHIR issue-type: invalid, required, not-supported, incomplete, informational
    message: str
    expression: str
    severity: str = ""  # in an outcome: this severity rather than the outcome's own


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


@dataclass(frozen=True)
class Canonical:
    """This deployment's canonical URLs: code systems, the OperationDefinition and extensions.

    `base` is PLANNER_PUBLIC_BASE_URL (the URL clients reach this service at, no trailing slash). It is also
    the CDS Hooks JWT audience (service/api/cds_auth.py), so one setting names the service everywhere.
    """

    base: str = UNCONFIGURED_BASE

    @property
    def operation(self) -> str:
        return self.base + OPERATION_PATH

    @property
    def rules_page(self) -> str:
        """The page listing every rule with its source and citation (anchors `#rule-<id>`), open to browsers."""
        return self.base + RULES_PAGE_PATH

    @property
    def immds_operation(self) -> str:
        return self.base + IMMDS_OPERATION_PATH

    @property
    def window_kind(self) -> str:
        return self.base + WINDOW_KIND_PATH

    @property
    def override_reason(self) -> str:
        return self.base + OVERRIDE_REASON_PATH

    @property
    def rule(self) -> str:
        return self.base + RULE_PATH

    @property
    def later_window(self) -> str:
        return self.base + WINDOW_EXTENSION_PATH


def texts_of(concept: Any) -> list[str]:
    """The human-readable names a CodeableConcept carries: its text and every coding's display."""
    if concept is None:
        return []
    out = [concept.text or ""] + [c.display or "" for c in concept.coding or []]
    return [t.strip() for t in out if t and t.strip()]
