"""FHIR R4 `$vaccine-timing`: a Parameters resource -> a REST plan request, and the REST plan -> FHIR resources.

Resources are read and written with fhir.resources' R4B models (R4B shares R4's definitions of every resource
used here), so whatever this module returns has been validated by a maintained FHIR implementation.

The mapping, in brief (docs/interoperability.md has the full table):
- `assessmentDate` -> `as_of`; `horizonDays` -> `horizon_days`; `vaccine` CVX codings -> `vaccines[].cvx`
  (a concept with text only -> `vaccines[].name`); `neededBy` -> every `vaccines[].needed_by`;
  `bCellRepletionDate` -> `treatment.b_cell_repletion_on`; `lymphocytesNormalDate` ->
  `treatment.lymphocytes_normal_on`; `therapyStartDate` -> `treatment.start_date` (the
  day the therapy began, when the administrations are only the recent ones);
- `medication` MedicationAdministration (completed) -> `treatment.doses`; MedicationRequest
  `...timing.repeat.boundsPeriod.start` -> `treatment.start_date` (only when no dose is given), `.end` of a
  stopped request -> `treatment.stopped_on`, `.repeat.period` -> `treatment.cadence`;
- `$immds-forecast`'s `patient` Patient: its id names the patient in the answer; `birthDate` ->
  `patient.birth_date` (a partial birthDate, `1988` or `1988-05`, is refused: it gives no exact age);
- `immunization` (completed, CVX): a dose of a requested vaccine (same catalog entry) -> that vaccine's
  `given`; any other -> `immunizations` (live-live spacing);
- a `medication` or `immunization` part may hold a searchset Bundle: its entries are read, and what the
  Bundle says was not sent (a `next` page, fewer entries than `total`, an OperationOutcome) is reported.
Back: one ImmunizationRecommendation with one `recommendation` per dose to give (doseNumber, LOINC 30981-5 =
the earliest valid and permitted day, 59777-3 = a real deadline if there is one (service/interop/dates.py),
30980-7 = the proposed date; forecastStatus due now or notComplete), the later permitted
windows in the `later-window` extension; a vaccine without a window is one `contraindicated` recommendation,
a finished series one `complete`; `description` is the REST `reason` verbatim. What the service could not see
is an `outcome` part (OperationOutcome, severity warning, code incomplete).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.immunizationrecommendation import (
    ImmunizationRecommendation,
    ImmunizationRecommendationRecommendation,
    ImmunizationRecommendationRecommendationDateCriterion,
)
from fhir.resources.R4B.operationdefinition import OperationDefinition
from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue
from fhir.resources.R4B.parameters import Parameters, ParametersParameter
from fhir.resources.R4B.reference import Reference
from pydantic import ValidationError

from service.domain.catalog import Catalog
from service.domain.errors import FieldError

from .cards import read_prefetch
from .coding import (
    CVX,
    LOINC,
    RECOMMENDATION_STATUS,
    Canonical,
    InteropError,
    Issue,
    calendar_date,
    cvx_codes,
    describe_concept,
)
from .dates import DoseDates, plan_dose_dates
from .medication import (
    NOT_GIVEN,
    History,
    Located,
    TherapyCodes,
    VagueDate,
    harmless,
    immunizations_from,
    locate,
    resolve_medications,
    sort_medications,
    split_history,
    therapy_from,
    vaccine_id_of,
    void,
)

FHIR_JSON = "application/fhir+json"
# LOINC codes with LOINC's own display names (the R4 value set immunization-recommendation-date-criterion).
EARLIEST = ("30981-5", "Earliest date to give")
LATEST = ("59777-3", "Latest date to give immunization")
DUE = ("30980-7", "Date vaccine due")
# forecastStatus: a dose that may be given on the assessment date is `due` (R4's immunization-recommendation-
# status); one whose earliest date is later, or that has no date in the horizon, is `notComplete` (the ImmDS
# Forecast IG's ForecastStatus: the series is not complete), its dates saying when.
IMMDS_FORECAST_STATUS = "http://hl7.org/fhir/us/immds/CodeSystem/ForecastStatus"
WINDOW_LABELS = {
    "pre_start": "Before the first dose",
    "mid_cycle": "Mid-cycle, between two doses",
    "during_therapy": "At any time during the therapy",
    "post_therapy": "After the therapy was stopped",
    "avoid": "No permitted window",
}
# When this service's conformance resources last changed (CapabilityStatement.date).
CONFORMANCE_DATE = "2026-11-24"
# Operation parameters: name -> (the value[x] element it must use, max occurrences or None for many).
INPUTS: dict[str, tuple[str, int | None]] = {
    "assessmentDate": ("valueDate", 1),
    "medication": ("resource", None),
    "immunization": ("resource", None),
    "vaccine": ("valueCodeableConcept", None),
    "neededBy": ("valueDate", 1),
    "horizonDays": ("valueInteger", 1),
    "bCellRepletionDate": ("valueDate", 1),
    "lymphocytesNormalDate": ("valueDate", 1),
    "therapyStartDate": ("valueDate", 1),
}
# `$immds-forecast` (HL7 Immunization Decision Support Forecast IG): its inputs (assessmentDate, patient,
# immunization), plus the therapy (medication) and the forecast another forecaster made (recommendation), whose
# recommended vaccines are the ones timed.
IMMDS_INPUTS: dict[str, tuple[str, int | None]] = {
    "assessmentDate": ("valueDate", 1),
    "patient": ("resource", 1),
    "immunization": ("resource", None),
    "medication": ("resource", None),
    "recommendation": ("resource", 1),
}
# forecastStatus codes (R4 immunization-recommendation-status and ImmDS ForecastStatus) that recommend no dose.
NOT_RECOMMENDED = {"complete", "immune", "contraindicated", "agedOut", "notRecommended"}
NO_VACCINE_IMMDS = (
    "no vaccine to time: this service times vaccines around an immunosuppressive therapy and does not decide "
    "which vaccines are due. Send the ImmunizationRecommendation a forecaster produced as the recommendation "
    "parameter: the vaccines it recommends are timed around the therapy"
)


class FhirRequest:
    """A `$vaccine-timing` Parameters translated to a REST plan-request body, remembering where each field came from."""

    def __init__(
        self,
        body: dict[str, Any],
        origin: dict[str, str],
        medications: list[Located],
        history: History,
        patient: str | None,
        not_seen: list[Issue],
    ):
        self.body = body
        self.origin = origin
        self.medications = medications
        self.history = history
        self.patient = patient
        self.not_seen = not_seen

    def expression(self, rest_field: str) -> str:
        """The Parameters element a REST field came from."""
        return locate(self.origin, rest_field)

    def issues_for(self, errors: list[FieldError]) -> list[Issue]:
        """The REST planner's field errors, readdressed to the Parameters parts they came from."""
        out = []
        for e in errors:
            code = {"required": "required", "unknown_field": "not-supported"}.get(e.code, "invalid")
            message = e.message
            if e.candidates:
                message += "; it could mean: " + ", ".join(
                    f"{c.name} (CVX {'/'.join(c.cvx) or 'none'})" for c in e.candidates[:8]
                )
            if e.code == "partial_history":
                # The REST field's FHIR spelling: the administrations alone cannot say whether this is a new start.
                message = message.replace("Send treatment.start_date", "Send the therapyStartDate parameter")
            out.append(Issue(code, message, self.expression(e.field)))
        return out


def parse_parameters(raw: Any) -> Parameters:
    """Validate a JSON value as an R4B Parameters resource; a 400 InteropError names what is malformed."""
    if not isinstance(raw, dict) or raw.get("resourceType") != "Parameters":
        raise InteropError(
            [Issue("invalid", "the body must be a FHIR Parameters resource (resourceType 'Parameters')", "Parameters")],
            status=400,
        )
    null = _first_null(raw, "Parameters")
    if null is not None:
        # FHIR JSON forbids null as an element's value (R4 JSON format, 2.6.2); the models would read it as absent.
        raise InteropError([Issue("invalid", "null is not a FHIR value: leave the element out", null)], status=400)
    try:
        return Parameters.model_validate(raw)
    except ValidationError as err:
        raise InteropError(
            [Issue("invalid", e["msg"][:300], _path(e["loc"])) for e in err.errors()[:20]], status=400
        ) from None
    except (KeyError, LookupError, TypeError, ValueError):
        # fhir.resources raises a KeyError for an unknown resourceType inside a part.
        raise InteropError(
            [Issue("invalid", "a part holds a resource this FHIR version does not define", "Parameters.parameter")],
            status=400,
        ) from None


def _first_null(value: Any, path: str) -> str | None:
    """The path of the first element whose value is JSON null, or None (nulls inside primitive arrays, which
    FHIR uses to align them with their extensions, are allowed)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if item is None:
                return f"{path}.{key}"
            found = _first_null(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict | list):
                found = _first_null(item, f"{path}[{i}]")
                if found is not None:
                    return found
    return None


def _path(loc: tuple[Any, ...]) -> str:
    out = "Parameters"
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else f".{step}"
    return out


def _value_elements(part: ParametersParameter) -> list[str]:
    data = part.model_dump(exclude_none=True)
    return [k for k in data if k.startswith("value") or k in ("resource", "part")]


def _expand(resource: Any, where: str, not_seen: list[Issue]) -> tuple[list[Located], bool]:
    """A part's resource, or the entries of a Bundle it holds (and True: a search result, read leniently);
    what the Bundle did not carry goes to not_seen."""
    if resource.get_resource_type() not in ("Bundle", "OperationOutcome"):
        return [Located(resource, where)], False
    seen = read_prefetch(resource.model_dump(mode="json", exclude_none=True), where, None)
    not_seen += [Issue("incomplete", text, where) for text in seen.blind]
    return seen.items, True


def _searched_medications(
    items: list[Located], not_seen: list[Issue], known: tuple[TherapyCodes, ...]
) -> list[Located]:
    """The therapy's resources among a medication search's entries. A search holds the patient's other drugs
    too, so those are skipped (as on CDS Hooks); what cannot be identified, or is a form of the drug the
    profile does not cover, is said in the outcome rather than skipped in silence."""
    record = sort_medications(items, known)
    not_seen += [
        Issue(
            "incomplete", f"medication not identified ({found.why}): if it is the therapy, the plan is wrong", i.where
        )
        for i, found in record.unidentified
    ]
    not_seen += [Issue("not-supported", found.why, i.where) for i, found in record.not_covered]
    return record.therapy


def _searched_immunizations(items: list[Located], not_seen: list[Issue], vague: list[VagueDate]) -> list[Located]:
    """The readable Immunizations among a search's entries; the others are said in the outcome."""
    _, used, skipped = immunizations_from(items, strict=False, vague=vague)
    not_seen += _ignored(items)
    not_seen += [Issue("incomplete", f"immunization not read: {why}", i.where) for i, why in skipped]
    return used


@dataclass
class _Parts:
    """What the Parameters parts say, read one by one (request_from assembles them)."""

    body: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    treatment_extra: dict[str, Any] = field(default_factory=dict)
    needed_by: tuple[date, str] | None = None
    medications: list[Located] = field(default_factory=list)
    searched: list[Located] = field(default_factory=list)  # a search's entries: other drugs among them are skipped
    immunizations: list[Located] = field(default_factory=list)
    vaccines: list[dict[str, Any]] = field(default_factory=list)
    pool: list[Located] = field(default_factory=list)  # every resource sent: a medicationReference may name one
    vague: list[VagueDate] = field(default_factory=list)  # Immunizations dated in part or in words
    patient: str | None = None  # the `patient` part's Patient, as a reference
    issues: list[Issue] = field(default_factory=list)
    not_seen: list[Issue] = field(default_factory=list)


def _checked_value(
    part: ParametersParameter,
    where: str,
    seen: dict[str, int],
    issues: list[Issue],
    inputs: dict[str, tuple[str, int | None]],
) -> tuple[Any, str] | None:
    """The part's value and its element when its name and value[x] are what the operation takes; None (and an
    issue) if not."""
    name = part.name or ""
    if name not in inputs:
        issues.append(
            Issue(
                "not-supported",
                f"unknown parameter {name[:40]!r}; this operation takes " + ", ".join(inputs),
                f"{where}.name",
            )
        )
        return None
    element, most = inputs[name]
    seen[name] = seen.get(name, 0) + 1
    if most is not None and seen[name] > most:
        issues.append(Issue("invalid", f"{name} may be given only once", where))
        return None
    present = _value_elements(part)
    if name == "horizonDays" and present == ["valuePositiveInt"]:
        element = "valuePositiveInt"
    if present != [element]:
        issues.append(
            Issue("invalid", f"{name} needs {element}" + (f", not {', '.join(present)}" if present else ""), where)
        )
        return None
    return getattr(part, element), element


DATE_PARTS = {
    "assessmentDate": "as_of",
    "bCellRepletionDate": "treatment.b_cell_repletion_on",
    "lymphocytesNormalDate": "treatment.lymphocytes_normal_on",
    "therapyStartDate": "treatment.start_date",
}


def _read_part(name: str, value: Any, element: str, where: str, parts: _Parts) -> None:
    if name in DATE_PARTS:
        day = calendar_date(value, f"{where}.valueDate").isoformat()
        target = DATE_PARTS[name]
        if target.startswith("treatment."):
            parts.treatment_extra[target.split(".", 1)[1]] = day
        else:
            parts.body[target] = day
        parts.origin[target] = f"{where}.valueDate"
    elif name == "horizonDays":
        parts.body["horizon_days"] = value
        parts.origin["horizon_days"] = f"{where}.{element}"
    elif name == "neededBy":
        parts.needed_by = (calendar_date(value, f"{where}.valueDate"), f"{where}.valueDate")
    elif name == "medication":
        items, searched = _expand(value, f"{where}.resource", parts.not_seen)
        parts.pool += items
        items = [i for i in items if i.type != "Medication"]  # a Medication is what a reference names
        (parts.searched if searched else parts.medications).extend(items)
    elif name == "immunization":
        items, searched = _expand(value, f"{where}.resource", parts.not_seen)
        parts.pool += items
        parts.immunizations += _searched_immunizations(items, parts.not_seen, parts.vague) if searched else items
    elif name == "vaccine":
        parts.origin[f"vaccines[{len(parts.vaccines)}]"] = f"{where}.valueCodeableConcept"
        parts.vaccines.append(_vaccine_item(value, f"{where}.valueCodeableConcept"))
    elif name == "patient":
        _patient(value, f"{where}.resource", parts)
    elif name == "recommendation":
        _recommended(value, f"{where}.resource", parts)


def _patient(resource: Any, where: str, parts: _Parts) -> None:
    """The `patient` part: its id names the patient in the answer; its birthDate is `patient.birth_date`."""
    if resource.get_resource_type() != "Patient":
        raise InteropError([Issue("invalid", "the patient part holds a Patient", where)])
    parts.patient = f"Patient/{resource.id}" if resource.id else None
    if resource.birthDate is None:
        return
    if not isinstance(resource.birthDate, date):
        # A year or a month gives no exact age, and a schedule's age limit (18, 20, 65) may fall inside it;
        # planning as if no date had been sent could apply a dosage the age excludes. The value is not repeated:
        # it is patient data.
        raise InteropError(
            [
                Issue(
                    "invalid",
                    "birthDate is a partial date: an age-dependent schedule needs the exact age. Send the full date "
                    "(YYYY-MM-DD), or leave birthDate out to plan the schedules that do not depend on age",
                    f"{where}.birthDate",
                )
            ]
        )
    parts.body["patient"] = {"birth_date": resource.birthDate.isoformat()}
    parts.origin["patient.birth_date"] = f"{where}.birthDate"


def _recommended(resource: Any, where: str, parts: _Parts) -> None:
    """The vaccines another forecaster's ImmunizationRecommendation recommends: each entry whose forecastStatus
    recommends a dose, one vaccine per distinct CVX code."""
    if resource.get_resource_type() != "ImmunizationRecommendation":
        raise InteropError([Issue("invalid", "the recommendation part holds an ImmunizationRecommendation", where)])
    seen = {v.get("cvx") for v in parts.vaccines}
    issues = []
    for j, entry in enumerate(resource.recommendation or []):
        codes = {c.code for c in entry.forecastStatus.coding or []} if entry.forecastStatus else set()
        if codes & NOT_RECOMMENDED:
            continue
        for k, concept in enumerate(entry.vaccineCode or []):
            at = f"{where}.recommendation[{j}].vaccineCode[{k}]"
            try:
                item = _vaccine_item(concept, at)
            except InteropError as bad:
                issues += bad.issues
                continue
            if item.get("cvx") is None or item["cvx"] not in seen:
                seen.add(item.get("cvx"))
                parts.origin[f"vaccines[{len(parts.vaccines)}]"] = at
                parts.vaccines.append(item)
    if issues:
        raise InteropError(issues)


def _read_parts(params: Parameters, immds: bool) -> _Parts:
    parts = _Parts()
    seen: dict[str, int] = {}
    for k, part in enumerate(params.parameter or []):
        where = f"Parameters.parameter[{k}]"
        checked = _checked_value(part, where, seen, parts.issues, IMMDS_INPUTS if immds else INPUTS)
        if checked is None:
            continue
        try:
            _read_part(part.name or "", *checked, where, parts)
        except InteropError as bad:
            parts.issues += bad.issues
    if not parts.vaccines and not any(
        i.expression.endswith("valueCodeableConcept") or ".vaccineCode[" in i.expression for i in parts.issues
    ):
        parts.issues.append(
            Issue(
                "required",
                NO_VACCINE_IMMDS
                if immds
                else "at least one vaccine parameter (valueCodeableConcept with a CVX code) is needed",
                "Parameters.parameter",
            )
        )
    return parts


def request_from(
    params: Parameters,
    catalog: Catalog,
    known: tuple[TherapyCodes, ...],
    today: date | None = None,
    *,
    immds: bool = False,
) -> FhirRequest:
    """The REST plan-request body a `$vaccine-timing` (or, immds, `$immds-forecast`) Parameters asks for; an
    InteropError (422) lists every issue."""
    parts = _read_parts(params, immds)
    issues, not_seen, body, origin, vaccines = parts.issues, parts.not_seen, parts.body, parts.origin, parts.vaccines
    therapy = None
    immunizations: list[dict[str, str]] = []
    imms_used: list[Located] = []
    try:
        searched = resolve_medications(parts.searched, parts.pool)
        medications = resolve_medications(parts.medications, parts.pool)
        medications += _searched_medications(searched, not_seen, known)
        therapy = therapy_from(medications, known, strict=True)
    except InteropError as bad:
        issues += bad.issues
    try:
        immunizations, imms_used, _ = immunizations_from(parts.immunizations, strict=True, vague=parts.vague)
    except InteropError as bad:
        issues += bad.issues
    not_seen += _ignored(parts.medications + parts.immunizations)
    if therapy is not None:
        ordered = {i for i in (vaccine_id_of(catalog, v) for v in vaccines) if i}
        _weigh_vague(
            parts.vague,
            catalog,
            ordered,
            _before(body, {**therapy.treatment, **parts.treatment_extra}, today),
            issues,
            not_seen,
        )
    not_seen.sort(key=_position)  # in the order of the parts they concern
    if issues:
        # What could not be seen explains an error too (a failed search is often why the therapy is missing).
        raise InteropError(
            issues + [i if i.severity else Issue("incomplete", i.message, i.expression) for i in not_seen]
        )
    assert therapy is not None  # therapy_from(strict=True) raises rather than return None
    patient = _one_patient(therapy.patients | ({parts.patient} if parts.patient else set()), imms_used)
    body["treatment"] = {**therapy.treatment, **parts.treatment_extra}
    origin.update(therapy.origin)
    if parts.needed_by is not None:
        for i, item in enumerate(vaccines):
            item["needed_by"] = parts.needed_by[0].isoformat()
            origin[f"vaccines[{i}].needed_by"] = parts.needed_by[1]
    ids = [vaccine_id_of(catalog, item) for item in vaccines]
    history = split_history(immunizations, imms_used, catalog, {i for i in ids if i}, strict=True)
    for i, (item, vaccine_id) in enumerate(zip(vaccines, ids, strict=True)):
        if history.given_for(vaccine_id):
            item["given"] = history.given_for(vaccine_id)
            origin[f"vaccines[{i}].given"] = history.given[vaccine_id or ""][0].where
    body["vaccines"] = vaccines
    if history.others:
        body["immunizations"] = history.others
        for i, used in enumerate(history.other_items):
            origin[f"immunizations[{i}]"] = used.where
    # Cite the medication resources a treatment field was read from (doses, start, stop, cadence), not every
    # therapy resource sent: a request whose start the doses overrule produced nothing in this plan.
    read_from = [v for k, v in therapy.origin.items() if k not in ("treatment", "treatment.drug")]
    cited = [m for m in therapy.used if any(v == m.where or v.startswith(m.where + ".") for v in read_from)]
    return FhirRequest(body, origin, cited or therapy.used[:1], history, patient, not_seen)


def _ignored(items: list[Located]) -> list[Issue]:
    """Records that say nothing was given (not-done, entered-in-error, a statement not taken): left out, and
    said so, so that a reader of the answer knows they were seen."""
    out = []
    for item in items:
        status = item.resource.status
        if (item.type in ("Immunization", "MedicationAdministration") and status in NOT_GIVEN) or (
            item.type in ("MedicationRequest", "MedicationStatement") and void(item)
        ):
            out.append(
                Issue(
                    "informational", f"status {status}: left out (it records no dose given)", item.where, "information"
                )
            )
    return out


def _before(body: dict[str, Any], treatment: dict[str, Any], today: date | None) -> date | None:
    """The earliest of the assessment date and the therapy's first day: what an old live vaccine must precede."""
    days = [body.get("as_of"), treatment.get("start_date"), *(treatment.get("doses") or [])[:1]]
    known = [date.fromisoformat(d) for d in days if d] + ([today] if today and not body.get("as_of") else [])
    return min(known, default=None)


def _weigh_vague(
    vague: list[VagueDate],
    catalog: Catalog,
    ordered: set[str],
    before: date | None,
    issues: list[Issue],
    not_seen: list[Issue],
) -> None:
    """An Immunization dated in part or in words: left out and reported when it cannot change the plan,
    refused (naming it) when it might."""
    for one in vague:
        where = f"{one.item.where}.occurrence{'DateTime' if one.latest else 'String'}"
        why = harmless(one, catalog, ordered, before)
        if why is not None:
            not_seen.append(
                Issue(
                    "informational",
                    f"dated {one.written!r}, not a full date: {why}, so it cannot change this plan; left out",
                    where,
                    "information",
                )
            )
        else:
            issues.append(
                Issue(
                    "invalid",
                    f"dated {one.written!r}, not a full date (YYYY-MM-DD): a dose of a planned vaccine, or a live "
                    "vaccine that may be near the therapy or the plan, needs its day",
                    where,
                )
            )


def _position(issue: Issue) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", issue.expression)]


def _one_patient(therapy_patients: set[str], imms_used: list[Located]) -> str | None:
    """The patient every resource names (a full URL and `Patient/id` ending alike are one patient)."""
    patients = set(therapy_patients)
    patients.update(r.resource.patient.reference for r in imms_used if r.resource.patient.reference)
    distinct = {_patient_key(p) for p in patients}
    if len(distinct) > 1:
        raise InteropError(
            [
                Issue(
                    "invalid",
                    "the resources belong to different patients: " + ", ".join(sorted(patients)),
                    "Parameters.parameter",
                )
            ]
        )
    return min(patients, key=len) if patients else None


def _patient_key(reference: str) -> str:
    """`https://ehr.example/fhir/Patient/p1` and `Patient/p1` name the same patient: compare Patient/id."""
    parts = reference.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


def _vaccine_item(concept: Any, where: str) -> dict[str, Any]:
    codes = cvx_codes(concept)
    if len(codes) == 1:
        return {"cvx": codes[0]}
    if len(codes) > 1:
        raise InteropError(
            [
                Issue(
                    "invalid",
                    f"several CVX codes in one vaccine ({', '.join(codes)}): send one vaccine parameter per vaccine",
                    where,
                )
            ]
        )
    if concept.coding:
        raise InteropError(
            [Issue("not-supported", f"only CVX codes ({CVX}) are supported; got {describe_concept(concept)}", where)]
        )
    if concept.text and concept.text.strip():
        return {"name": concept.text.strip()[:100]}
    raise InteropError([Issue("required", f"the vaccine needs a CVX coding ({CVX})", where)])


# ---- REST plan -> FHIR ---------------------------------------------------------------------------------


def _concept(system: str, code: str, display: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code, display=display)])


def _vaccine_code(vaccine: dict[str, Any]) -> CodeableConcept:
    # The product named (Spikevax) says more than the entry's name (COVID-19 vaccine, mRNA ...).
    text = f"{vaccine['product']} ({vaccine['name']})" if vaccine.get("product") else vaccine["name"]
    if vaccine.get("cvx"):
        return CodeableConcept(coding=[Coding(system=CVX, code=vaccine["cvx"], display=text)], text=text)
    return CodeableConcept(text=text)  # a catalog entry without a CVX code (e.g. Qdenga)


def _criterion(code: tuple[str, str], day: str) -> ImmunizationRecommendationRecommendationDateCriterion:
    return ImmunizationRecommendationRecommendationDateCriterion(code=_concept(LOINC, *code), value=day)


def _later_window(canonical: Canonical, window: dict[str, str]) -> dict[str, Any]:
    return {
        "url": canonical.later_window,
        "extension": [
            {"url": "kind", "valueCode": window["kind"]},
            {"url": "start", "valueDate": window["start"]},
            {"url": "end", "valueDate": window["end"]},
        ],
    }


def recommendations_for(
    item: dict[str, Any],
    supporting: list[Reference],
    immunizations: list[Reference],
    canonical: Canonical,
    dates: dict[int, DoseDates] | None = None,
    as_of: str | None = None,
) -> list[ImmunizationRecommendationRecommendation]:
    """The `recommendation` entries for one vaccine of a REST plan: one per dose to give.

    A proposed dose: doseNumber, 30980-7 = the proposed date, 30981-5 = the earliest date it is valid and
    permitted, 59777-3 only where a real deadline exists (`dates`, service/interop/dates.py), and the permitted
    windows after its own in `later-window` extensions. A remaining dose with no permitted day in the horizon:
    notComplete with no date (the description says why). No window at all: one `contraindicated` entry. A series
    already complete: one `complete` entry.
    """
    common: dict[str, Any] = {"vaccineCode": [_vaccine_code(item["vaccine"])], "description": item["reason"]}
    if supporting:
        common["supportingPatientInformation"] = supporting
    if immunizations:
        common["supportingImmunization"] = immunizations
    series = item.get("series") or {}
    total, given = series.get("doses"), series.get("given", 0)
    if total:
        common["seriesDosesPositiveInt"] = total
    windows = item["windows"]
    if total and given >= total:
        return [
            ImmunizationRecommendationRecommendation(
                **common, forecastStatus=_concept(RECOMMENDATION_STATUS, "complete", "Complete")
            )
        ]
    if not windows:
        return [
            ImmunizationRecommendationRecommendation(
                **common,
                forecastStatus=_concept(RECOMMENDATION_STATUS, "contraindicated", "Contraindicated"),
                forecastReason=[_concept(canonical.window_kind, "avoid", WINDOW_LABELS["avoid"])],
                contraindicatedVaccineCode=[_vaccine_code(item["vaccine"])],
            )
        ]
    later_status = _concept(IMMDS_FORECAST_STATUS, "notComplete", "Not Complete")
    out = []
    proposed = list(item.get("proposed") or [])
    for dose in proposed:
        window = next(w for w in windows if w["start"] <= dose["date"] <= w["end"])
        later = [_later_window(canonical, w) for w in windows if w["start"] > window["end"]]
        known = (dates or {}).get(dose["dose"], DoseDates(dose["date"], None))
        criteria = [_criterion(EARLIEST, known.earliest)]
        if known.latest is not None:
            criteria.append(_criterion(LATEST, known.latest))
        criteria.append(_criterion(DUE, dose["date"]))
        now = as_of is not None and known.earliest <= as_of
        out.append(
            ImmunizationRecommendationRecommendation(
                **common,
                forecastStatus=_concept(RECOMMENDATION_STATUS, "due", "Due") if now else later_status,
                forecastReason=[_concept(canonical.window_kind, window["kind"], WINDOW_LABELS.get(window["kind"]))],
                doseNumberPositiveInt=dose["dose"],
                dateCriterion=criteria,
                **({"extension": later} if later else {}),
            )
        )
    placed = {dose["dose"] for dose in proposed}
    remaining = [n for n in range(given + 1, (total or given + 1) + 1) if n not in placed]
    # A later dose comes after the last one proposed: only the windows opening after it may still hold it (a live
    # dose that waits for repletion is never offered the pre-start window its dose 1 is in).
    last = max((dose["date"] for dose in proposed), default=None)
    later = [_later_window(canonical, w) for w in windows if last is None or w["start"] > last]
    for number in remaining:
        # No permitted day in the horizon for this dose: not complete, and no date can be given (the reason says why).
        out.append(
            ImmunizationRecommendationRecommendation(
                **common,
                forecastStatus=later_status,
                doseNumberPositiveInt=number,
                **({"extension": later} if later else {}),
            )
        )
    return out


def recommendation_parameters(
    plan: dict[str, Any], request: FhirRequest, canonical: Canonical, ruleset: Any
) -> Parameters:
    """The operation's output: the ImmunizationRecommendation, the ruleset version, warnings, and an
    `outcome` OperationOutcome naming what the service could not see (only when something was not seen)."""
    supporting = [Reference(**m.reference()) for m in request.medications]
    entries = []
    for item, dates in zip(plan["vaccines"], plan_dose_dates(plan, request.body, ruleset), strict=True):
        own = request.history.supporting(item["vaccine"]["id"], bool(item["vaccine"]["live"]))
        imms = [Reference(**i.reference()) for i in own]
        entries += recommendations_for(item, supporting, imms, canonical, dates, plan["as_of"])
    patient = Reference(reference=request.patient) if request.patient else Reference(display="not identified")
    recommendation = ImmunizationRecommendation(patient=patient, date=plan["as_of"], recommendation=entries)
    parts = [
        ParametersParameter(name="recommendation", resource=recommendation),
        ParametersParameter(name="rulesetVersion", valueString=plan["ruleset"]["version"]),
    ]
    # A plan warning keeps its stable code in front of its message, so an EHR can match on it.
    parts += [ParametersParameter(name="warning", valueString=f"{w['code']}: {w['message']}") for w in plan["warnings"]]
    if request.not_seen:
        parts.append(ParametersParameter(name="outcome", resource=operation_outcome(request.not_seen, "warning")))
    return Parameters(parameter=parts)


def operation_outcome(issues: list[Issue], severity: str = "error") -> OperationOutcome:
    return OperationOutcome(
        issue=[
            OperationOutcomeIssue(
                severity=i.severity or severity, code=i.code, diagnostics=i.message, expression=[i.expression]
            )
            for i in issues
        ]
    )


# ---- conformance ---------------------------------------------------------------------------------------


def _param(name: str, use: str, low: int, high: str, type_: str, doc: str) -> dict[str, Any]:
    return {"name": name, "use": use, "min": low, "max": high, "type": type_, "documentation": doc}


def _medication_doc(known: tuple[TherapyCodes, ...]) -> str:
    return (
        "MedicationAdministration (a completed one is a dose given), MedicationRequest (boundsPeriod.start = "
        "planned start; a stopped one's boundsPeriod.end = stop date; repeat.period = cadence: "
        + "; ".join(f"{p.drug} {p.cadence_text()}" for p in known)
        + ") or MedicationStatement (effectivePeriod.start = start), coded or through medicationReference (a "
        "Medication contained or sent in another part), or a searchset Bundle of them. Recognised by "
        + "; ".join(f"{p.drug}: {p.recognised_as()}" for p in known)
        + ", and by the site's own codes (PLANNER_MEDICATION_CODES)."
    )


IMMUNIZATION_DOC = (
    "Immunization history (status completed, CVX vaccineCode, occurrenceDateTime), or a searchset Bundle of "
    "them. A dose of a requested vaccine continues its series; an old one dated in part or in words is used "
    "only when it cannot change the plan."
)


def _outputs() -> list[dict[str, Any]]:
    return [
        _param(
            "recommendation",
            "out",
            1,
            "1",
            "ImmunizationRecommendation",
            "One recommendation per dose to give (doseNumber; LOINC 30981-5 = the earliest date the dose is valid "
            "and permitted, 59777-3 = a real deadline when there is one, 30980-7 = the proposed date; "
            "forecastStatus due (today) or notComplete (later); later windows in the later-window extension), one "
            "contraindicated recommendation when there is no window, one complete when the series is done; "
            "description = the plan's reason.",
        ),
        _param("rulesetVersion", "out", 1, "1", "string", "The rules and catalog data that produced the answer."),
        _param("warning", "out", 0, "*", "string", "Warnings about the input (e.g. an assumed schedule)."),
        _param(
            "outcome",
            "out",
            0,
            "1",
            "OperationOutcome",
            "What the service could not see (severity warning, code incomplete) or left out (severity "
            "information): a Bundle page not sent, a search that failed, a record of nothing given, an old "
            "immunization dated in part. Present only then.",
        ),
    ]


def _timing_inputs(known: tuple[TherapyCodes, ...]) -> list[dict[str, Any]]:
    return [
        _param("assessmentDate", "in", 0, "1", "date", "The date the plan is computed for (default: today, UTC)."),
        _param("medication", "in", 1, "*", "Resource", "Required: " + _medication_doc(known)),
        _param("immunization", "in", 0, "*", "Resource", IMMUNIZATION_DOC),
        _param(
            "vaccine",
            "in",
            1,
            "*",
            "CodeableConcept",
            "A vaccine to plan, coded with CVX (http://hl7.org/fhir/sid/cvx); a concept with text only is looked "
            "up by name.",
        ),
        _param("neededBy", "in", 0, "1", "date", "The date protection is needed, for every vaccine."),
        _param(
            "horizonDays",
            "in",
            0,
            "1",
            "integer",
            "How far after the assessment date windows are listed (60 to 1095, default 365).",
        ),
        _param(
            "bCellRepletionDate",
            "in",
            0,
            "1",
            "date",
            "Date a laboratory confirmed B-cell repletion after the therapy was stopped.",
        ),
        _param(
            "lymphocytesNormalDate",
            "in",
            0,
            "1",
            "date",
            "Date a laboratory confirmed a normal lymphocyte count after the therapy (the gate of fumarates, "
            "cladribine tablets and alemtuzumab).",
        ),
        _param(
            "therapyStartDate",
            "in",
            0,
            "1",
            "date",
            "The day the therapy was started, when the administrations given are only the recent ones (a partial "
            "history; approximate is fine); equal to the earliest administration for a complete history of a new "
            "start. Needed with a single administration, or with administrations not spaced as the starter doses.",
        ),
    ]


def _immds_inputs(known: tuple[TherapyCodes, ...]) -> list[dict[str, Any]]:
    return [
        _param("assessmentDate", "in", 0, "1", "date", "The date on which to assess the forecast (default: today)."),
        _param(
            "patient",
            "in",
            0,
            "1",
            "Patient",
            "The patient: its id names the patient in the answer; its birthDate (a full date) decides the "
            "schedules that depend on age (a dosage's age limits, such as ACIP's immunocompromised hepatitis B "
            "dosage from 20); without it, the schedule that does not depend on age, and the description says so. "
            "A partial birthDate is refused.",
        ),
        _param("immunization", "in", 0, "*", "Immunization", IMMUNIZATION_DOC),
        _param("medication", "in", 1, "*", "Resource", "Required (this service's addition): " + _medication_doc(known)),
        _param(
            "recommendation",
            "in",
            1,
            "1",
            "ImmunizationRecommendation",
            "Required (this service's addition): the forecast another forecaster produced. The vaccines it "
            "recommends (forecastStatus other than complete, immune, contraindicated, agedOut, notRecommended; CVX "
            "vaccineCode) are timed around the therapy: this service does not decide which vaccines are due.",
        ),
    ]


def operation_definition(
    canonical: Canonical, known: tuple[TherapyCodes, ...], immds: bool = False
) -> OperationDefinition:
    """`$vaccine-timing`, or (immds) this service's `$immds-forecast`: the ImmDS Forecast IG's operation with
    the therapy and another forecaster's recommendation as inputs."""
    common = {
        "status": "active",
        "kind": "operation",
        "system": True,
        "type": False,
        "instance": False,
        "affectsState": False,
    }
    if immds:
        return OperationDefinition(
            **common,
            id="immds-forecast",
            url=canonical.immds_operation,
            name="ImmDSForecastWithTherapy",
            title="Immunization forecast timed around an immunosuppressive therapy",
            code="immds-forecast",
            description=(
                "The HL7 Immunization Decision Support Forecast operation (ImmDS IG), as this service answers it: "
                "the vaccines another forecaster recommends are timed around the patient's therapy. This service "
                "times vaccines; it does not decide which vaccines are due."
            ),
            parameter=_immds_inputs(known) + _outputs(),
        )
    return OperationDefinition(
        **common,
        id="vaccine-timing",
        url=canonical.operation,
        name="VaccineTiming",
        title="Vaccine timing around an immunosuppressive therapy",
        code="vaccine-timing",
        description=(
            "When a person on "
            + ", ".join(p.drug for p in known)
            + " may receive each vaccine: the same planner as POST /v1/plans, answered as an ImmunizationRecommendation."
        ),
        parameter=_timing_inputs(known) + _outputs(),
    )


def capability_statement(software_version: str, canonical: Canonical) -> CapabilityStatement:
    return CapabilityStatement(
        status="active",
        date=CONFORMANCE_DATE,
        kind="instance",
        fhirVersion="4.0.1",
        format=["application/fhir+json"],
        software={"name": "Vaccine timing planner", "version": software_version},
        implementation={"description": "Vaccine timing around immunosuppressive therapies (GET /v1/therapies)"},
        rest=[
            {
                "mode": "server",
                "documentation": "System-level operation only; no resources are stored.",
                "operation": [
                    {"name": "vaccine-timing", "definition": canonical.operation},
                    {"name": "immds-forecast", "definition": canonical.immds_operation},
                ],
            }
        ],
    )
