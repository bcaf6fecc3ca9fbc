"""Builders for the interoperability tests: the same facts as a REST body, FHIR Parameters and a CDS Hooks call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CVX = "http://hl7.org/fhir/sid/cvx"
ATC = "http://www.whocc.no/atc"
PATIENT = {"reference": "Patient/p1"}
KESIMPTA = {"coding": [{"system": ATC, "code": "L04AG12", "display": "ofatumumab"}], "text": "Kesimpta 20 mg pen"}


@dataclass(frozen=True)
class Facts:
    """One person's therapy and the vaccines asked about, as plain dates."""

    vaccines: tuple[str, ...]  # CVX codes
    doses: tuple[str, ...] = ()
    start_date: str | None = None
    stopped_on: str | None = None
    as_of: str = "2026-11-24"
    extra: dict[str, Any] = field(default_factory=dict)
    # Vaccines already given, (CVX, date): a dose of a requested vaccine (same CVX here) continues its series.
    history: tuple[tuple[str, str], ...] = ()

    def rest(self) -> dict[str, Any]:
        treatment: dict[str, Any] = {"drug": "ofatumumab", "doses": list(self.doses)}
        if self.start_date:
            treatment["start_date"] = self.start_date
        if self.stopped_on:
            treatment["stopped_on"] = self.stopped_on
        vaccines = [{"cvx": c, "given": sorted(d for h, d in self.history if h == c)} for c in self.vaccines]
        body = {"as_of": self.as_of, "treatment": treatment, "vaccines": vaccines}
        others = [{"cvx": h, "date": d} for h, d in self.history if h not in self.vaccines]
        if others:
            body["immunizations"] = others
        return body

    def immunization_resources(self) -> list[dict[str, Any]]:
        return [immunization(f"imm-{i + 1}", cvx, day) for i, (cvx, day) in enumerate(self.history)]

    def medication_resources(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [administration(f"dose-{i + 1}", day) for i, day in enumerate(self.doses)]
        if self.start_date or self.stopped_on:
            bounds = {k: v for k, v in (("start", self.start_date), ("end", self.stopped_on)) if v}
            out.append(
                {
                    "resourceType": "MedicationRequest",
                    "id": "kesimpta-order",
                    "status": "stopped" if self.stopped_on else "active",
                    "intent": "order",
                    "subject": PATIENT,
                    "medicationCodeableConcept": KESIMPTA,
                    "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": bounds}}}],
                }
            )
        return out

    def fhir(self) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [{"name": "assessmentDate", "valueDate": self.as_of}]
        parts += [{"name": "medication", "resource": r} for r in self.medication_resources()]
        parts += [vaccine_part(c) for c in self.vaccines]
        parts += [{"name": "immunization", "resource": r} for r in self.immunization_resources()]
        return {"resourceType": "Parameters", "parameter": parts}

    def cds(self, hook_instance: str = "3e0a3a1e-0000-4575-ab82-028d55fe2719") -> dict[str, Any]:
        meds = self.medication_resources()
        admins = [r for r in meds if r["resourceType"] == "MedicationAdministration"]
        requests = [r for r in meds if r["resourceType"] == "MedicationRequest"]
        orders = [service_request(f"order-{i}", c, self.as_of) for i, c in enumerate(self.vaccines)]
        return {
            "hook": "order-sign",
            "hookInstance": hook_instance,
            "context": {"userId": "Practitioner/1", "patientId": "p1", "draftOrders": bundle(orders, "collection")},
            "prefetch": {
                "medicationAdministrations": bundle(admins) if admins else None,
                "medicationRequests": bundle(requests) if requests else None,
                "medicationStatements": None,
                "immunizations": bundle(self.immunization_resources()) if self.history else None,
            },
        }


def administration(id_: str, day: str, concept: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": id_,
        "status": "completed",
        "medicationCodeableConcept": concept or KESIMPTA,
        "subject": PATIENT,
        "effectiveDateTime": day,
        **extra,
    }


def immunization(id_: str, cvx: str, day: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Immunization",
        "id": id_,
        "status": "completed",
        "patient": PATIENT,
        "vaccineCode": {"coding": [{"system": CVX, "code": cvx}]},
        "occurrenceDateTime": day,
        **extra,
    }


def vaccine_part(cvx: str) -> dict[str, Any]:
    return {"name": "vaccine", "valueCodeableConcept": {"coding": [{"system": CVX, "code": cvx}]}}


def service_request(id_: str, cvx: str, day: str | None) -> dict[str, Any]:
    out = {
        "resourceType": "ServiceRequest",
        "id": id_,
        "status": "draft",
        "intent": "order",
        "subject": PATIENT,
        "code": {"coding": [{"system": CVX, "code": cvx}]},
    }
    if day:
        out["occurrenceDateTime"] = day
    return out


def bundle(resources: list[dict[str, Any]], kind: str = "searchset") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {"fullUrl": f"https://ehr.example/fhir/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
        ],
    }
