"""FHIR medication and immunization resources -> the `treatment` and `immunizations` of a REST plan request.

Shared by the FHIR operation (resources in Parameters parts) and the CDS Hooks services (resources in
prefetched Bundles). Each resource arrives with `where` (its FHIRPath-like address in the request) so that
an error, ours or the REST planner's, can name the part of the input it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .coding import CVX, InteropError, Issue, calendar_date, cvx_codes, describe_concept, drug_of

# MedicationAdministration.status: `completed` is a dose given; these two say no dose was given.
NOT_GIVEN = {"not-done", "entered-in-error"}
# MedicationRequest.status values that do not describe the therapy at all.
VOID_REQUEST = {"entered-in-error", "cancelled", "draft"}
# timing.repeat (period, periodUnit) -> REST cadence. Weekly repeats describe the starter doses (weeks 0,
# 1, 2), which the planner's labelled schedule already knows, so they say nothing about the cadence.
CADENCES = {(4, "wk"): "every_4_weeks", (28, "d"): "every_4_weeks", (1, "mo"): "monthly"}
STARTER_REPEATS = {(1, "wk"), (7, "d")}


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


def therapy_from(medications: list[Located], *, strict: bool) -> Therapy | None:
    """The ofatumumab treatment the resources describe.

    strict (the FHIR operation, where every `medication` part is meant to be the therapy): a medication that
    is not ofatumumab is an error. Not strict (CDS Hooks prefetch, all of a patient's medications): other
    drugs are skipped, and None means the patient has no ofatumumab on record.
    """
    issues: list[Issue] = []
    used: list[Located] = []
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
        drug = drug_of(medication_concept(item))
        if drug == "ofatumumab":
            used.append(item)
        elif strict and drug == "oncology":
            issues.append(
                Issue(
                    "not-supported",
                    "ofatumumab for oncology (Arzerra, intravenous) follows a "
                    "different regimen; this planner's profile is Kesimpta's (ATC L04AG12)",
                    f"{item.where}.medicationCodeableConcept",
                )
            )
        elif strict:
            issues.append(
                Issue(
                    "not-supported",
                    "medication not recognised as ofatumumab (Kesimpta): "
                    f"{describe_concept(medication_concept(item))}. Recognised: ATC L04AG12, NDC "
                    "0078-1007, or a text or display naming ofatumumab or Kesimpta",
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
                        "no ofatumumab MedicationAdministration or MedicationRequest: "
                        "the plan needs the doses given or a planned start",
                        "Parameters.parameter",
                    )
                ]
            )
        return None

    therapy = Therapy(treatment={"drug": "ofatumumab"}, used=used)
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
                _read_request(item, starts, stops, cadences, issues)
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
            key = (int(period) if period is not None and period.is_integer() else period, repeat.periodUnit)
            if key in CADENCES:
                cadences[CADENCES[key]] = f"{at}.period"
            elif key not in STARTER_REPEATS:
                issues.append(
                    Issue(
                        "not-supported",
                        f"a repeat every {repeat.period} {repeat.periodUnit} is not an "
                        "ofatumumab maintenance cadence (4 wk, 28 d or 1 mo)",
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


def immunizations_from(items: list[Located], *, strict: bool) -> tuple[list[dict[str, str]], list[Located]]:
    """Completed Immunization resources as REST `immunizations` items ({"cvx", "date"}), and those used."""
    out: list[dict[str, str]] = []
    used: list[Located] = []
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
            if strict:
                issues.append(
                    Issue(
                        "not-supported" if not codes else "invalid",
                        f"vaccineCode needs exactly one CVX code ({CVX}); got {describe_concept(res.vaccineCode)}",
                        f"{item.where}.vaccineCode",
                    )
                )
            continue
        if res.occurrenceDateTime is None:
            if strict:
                issues.append(
                    Issue(
                        "required",
                        "the immunization needs occurrenceDateTime (a full date)",
                        f"{item.where}.occurrenceDateTime",
                    )
                )
            continue
        try:
            day = calendar_date(res.occurrenceDateTime, f"{item.where}.occurrenceDateTime")
        except InteropError as bad:
            if strict:
                issues += bad.issues
            continue
        out.append({"cvx": codes[0], "date": day.isoformat()})
        used.append(item)
    if issues:
        raise InteropError(issues)
    return out, used
