"""FHIR R4 `$vaccine-timing`: a Parameters resource -> a REST plan request, and the REST plan -> FHIR resources.

Resources are read and written with fhir.resources' R4B models (R4B shares R4's definitions of every resource
used here), so whatever this module returns has been validated by a maintained FHIR implementation.

The mapping, in brief (docs/interoperability.md has the full table):
- `assessmentDate` -> `as_of`; `horizonDays` -> `horizon_days`; `vaccine` CVX codings -> `vaccines[].cvx`
  (a concept with text only -> `vaccines[].name`); `neededBy` -> every `vaccines[].needed_by`;
  `bCellRepletionDate` -> `treatment.b_cell_repletion_on`; `therapyStartDate` -> `treatment.start_date` (the
  day the therapy began, when the administrations are only the recent ones);
- `medication` MedicationAdministration (completed) -> `treatment.doses`; MedicationRequest
  `...timing.repeat.boundsPeriod.start` -> `treatment.start_date` (only when no dose is given), `.end` of a
  stopped request -> `treatment.stopped_on`, `.repeat.period` -> `treatment.cadence`;
- `immunization` (completed, CVX): a dose of a requested vaccine (same catalog entry) -> that vaccine's
  `given`; any other -> `immunizations` (live-live spacing);
- a `medication` or `immunization` part may hold a searchset Bundle: its entries are read, and what the
  Bundle says was not sent (a `next` page, fewer entries than `total`, an OperationOutcome) is reported.
Back: one ImmunizationRecommendation with one `recommendation` per dose to give (doseNumber, LOINC 30981-5 /
59777-3 = first / last day of the window that holds it, 30980-7 = the proposed date), the later permitted
windows in the `later-window` extension; a vaccine without a window is one `contraindicated` recommendation,
a finished series one `complete`; `description` is the REST `reason` verbatim. What the service could not see
is an `outcome` part (OperationOutcome, severity warning, code incomplete).
"""

from __future__ import annotations

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
from .medication import (
    History,
    Located,
    TherapyCodes,
    immunizations_from,
    locate,
    sort_medications,
    split_history,
    therapy_from,
    vaccine_id_of,
)

FHIR_JSON = "application/fhir+json"
EARLIEST = ("30981-5", "Earliest date to give")
LATEST = ("59777-3", "Latest date to give")
DUE = ("30980-7", "Date vaccine due")
WINDOW_LABELS = {
    "pre_start": "Before the first dose",
    "mid_cycle": "Mid-cycle, between two doses",
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
    "therapyStartDate": ("valueDate", 1),
}


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


def _searched_immunizations(items: list[Located], not_seen: list[Issue]) -> list[Located]:
    """The readable Immunizations among a search's entries; the others are said in the outcome."""
    _, used, skipped = immunizations_from(items, strict=False)
    not_seen += [Issue("incomplete", f"immunization not read: {why}", i.where) for i, why in skipped]
    return used


def request_from(params: Parameters, catalog: Catalog, known: tuple[TherapyCodes, ...]) -> FhirRequest:
    """The REST plan-request body a `$vaccine-timing` Parameters asks for; an InteropError (422) lists every issue.

    `known` are the loaded profiles' codes (service.interop.medication.therapy_codes of the app's ruleset)."""
    not_seen: list[Issue] = []
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    medications: list[Located] = []
    immunization_parts: list[Located] = []
    vaccines: list[dict[str, Any]] = []
    origin: dict[str, str] = {}
    body: dict[str, Any] = {}
    treatment_extra: dict[str, Any] = {}
    needed_by: tuple[date, str] | None = None
    for k, part in enumerate(params.parameter or []):
        where = f"Parameters.parameter[{k}]"
        name = part.name or ""
        if name not in INPUTS:
            issues.append(
                Issue(
                    "not-supported",
                    f"unknown parameter {name[:40]!r}; this operation takes " + ", ".join(INPUTS),
                    f"{where}.name",
                )
            )
            continue
        element, most = INPUTS[name]
        seen[name] = seen.get(name, 0) + 1
        if most is not None and seen[name] > most:
            issues.append(Issue("invalid", f"{name} may be given only once", where))
            continue
        present = _value_elements(part)
        if name == "horizonDays" and present == ["valuePositiveInt"]:
            element = "valuePositiveInt"
        if present != [element]:
            issues.append(
                Issue("invalid", f"{name} needs {element}" + (f", not {', '.join(present)}" if present else ""), where)
            )
            continue
        value = getattr(part, element)
        try:
            if name == "assessmentDate":
                body["as_of"] = calendar_date(value, f"{where}.valueDate").isoformat()
                origin["as_of"] = f"{where}.valueDate"
            elif name == "horizonDays":
                body["horizon_days"] = value
                origin["horizon_days"] = f"{where}.{element}"
            elif name == "bCellRepletionDate":
                treatment_extra["b_cell_repletion_on"] = calendar_date(value, f"{where}.valueDate").isoformat()
                origin["treatment.b_cell_repletion_on"] = f"{where}.valueDate"
            elif name == "therapyStartDate":
                treatment_extra["start_date"] = calendar_date(value, f"{where}.valueDate").isoformat()
                origin["treatment.start_date"] = f"{where}.valueDate"
            elif name == "neededBy":
                needed_by = (calendar_date(value, f"{where}.valueDate"), f"{where}.valueDate")
            elif name == "medication":
                items, searched = _expand(value, f"{where}.resource", not_seen)
                medications += _searched_medications(items, not_seen, known) if searched else items
            elif name == "immunization":
                items, searched = _expand(value, f"{where}.resource", not_seen)
                immunization_parts += _searched_immunizations(items, not_seen) if searched else items
            elif name == "vaccine":
                origin[f"vaccines[{len(vaccines)}]"] = f"{where}.valueCodeableConcept"
                vaccines.append(_vaccine_item(value, f"{where}.valueCodeableConcept"))
        except InteropError as bad:
            issues += bad.issues
    if not vaccines and not any(i.expression.endswith("valueCodeableConcept") for i in issues):
        issues.append(
            Issue(
                "required",
                "at least one vaccine parameter (valueCodeableConcept with a CVX code) is needed",
                "Parameters.parameter",
            )
        )

    therapy = None
    immunizations: list[dict[str, str]] = []
    imms_used: list[Located] = []
    try:
        therapy = therapy_from(medications, known, strict=True)
    except InteropError as bad:
        issues += bad.issues
    try:
        immunizations, imms_used, _ = immunizations_from(immunization_parts, strict=True)
    except InteropError as bad:
        issues += bad.issues
    if issues:
        # What could not be seen explains an error too (a failed search is often why the therapy is missing).
        raise InteropError(issues + [Issue("incomplete", i.message, i.expression) for i in not_seen])
    assert therapy is not None  # therapy_from(strict=True) raises rather than return None

    patients = set(therapy.patients)
    patients.update(r.resource.patient.reference for r in imms_used if r.resource.patient.reference)
    if len(patients) > 1:
        raise InteropError(
            [
                Issue(
                    "invalid",
                    "the resources belong to different patients: " + ", ".join(sorted(patients)),
                    "Parameters.parameter",
                )
            ]
        )
    body["treatment"] = {**therapy.treatment, **treatment_extra}
    origin.update(therapy.origin)
    if needed_by is not None:
        for item in vaccines:
            item["needed_by"] = needed_by[0].isoformat()
        for i in range(len(vaccines)):
            origin[f"vaccines[{i}].needed_by"] = needed_by[1]
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
    return FhirRequest(body, origin, cited or therapy.used[:1], history, next(iter(patients), None), not_seen)


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
    item: dict[str, Any], supporting: list[Reference], immunizations: list[Reference], canonical: Canonical
) -> list[ImmunizationRecommendationRecommendation]:
    """The `recommendation` entries for one vaccine of a REST plan: one per dose to give.

    A proposed dose: doseNumber, LOINC 30981-5 / 59777-3 = the first / last day of the window that holds it,
    30980-7 = the proposed date, and the permitted windows after that one in `later-window` extensions. A
    remaining dose with no permitted day in the horizon: forecastStatus due with no date (the description says
    why). No window at all: one `contraindicated` entry. A series already complete: one `complete` entry.
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
    due = _concept(RECOMMENDATION_STATUS, "due", "Due")
    out = []
    proposed = list(item.get("proposed") or [])
    for dose in proposed:
        window = next(w for w in windows if w["start"] <= dose["date"] <= w["end"])
        later = [_later_window(canonical, w) for w in windows if w["start"] > window["end"]]
        out.append(
            ImmunizationRecommendationRecommendation(
                **common,
                forecastStatus=due,
                forecastReason=[_concept(canonical.window_kind, window["kind"], WINDOW_LABELS.get(window["kind"]))],
                doseNumberPositiveInt=dose["dose"],
                dateCriterion=[
                    _criterion(EARLIEST, window["start"]),
                    _criterion(LATEST, window["end"]),
                    _criterion(DUE, dose["date"]),
                ],
                **({"extension": later} if later else {}),
            )
        )
    placed = {dose["dose"] for dose in proposed}
    remaining = [n for n in range(given + 1, (total or given + 1) + 1) if n not in placed]
    for number in remaining:
        # No permitted day in the horizon for this dose: due, but no date can be given (the reason says why).
        out.append(
            ImmunizationRecommendationRecommendation(
                **common,
                forecastStatus=due,
                doseNumberPositiveInt=number,
                extension=[_later_window(canonical, w) for w in windows],
            )
        )
    return out


def recommendation_parameters(plan: dict[str, Any], request: FhirRequest, canonical: Canonical) -> Parameters:
    """The operation's output: the ImmunizationRecommendation, the ruleset version, warnings, and an
    `outcome` OperationOutcome naming what the service could not see (only when something was not seen)."""
    supporting = [Reference(**m.reference()) for m in request.medications]
    entries = []
    for item in plan["vaccines"]:
        own = request.history.supporting(item["vaccine"]["id"], bool(item["vaccine"]["live"]))
        imms = [Reference(**i.reference()) for i in own]
        entries += recommendations_for(item, supporting, imms, canonical)
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
            OperationOutcomeIssue(severity=severity, code=i.code, diagnostics=i.message, expression=[i.expression])
            for i in issues
        ]
    )


# ---- conformance ---------------------------------------------------------------------------------------


def operation_definition(canonical: Canonical, known: tuple[TherapyCodes, ...]) -> OperationDefinition:
    return OperationDefinition(
        id="vaccine-timing",
        url=canonical.operation,
        name="VaccineTiming",
        title="Vaccine timing around an immunosuppressive therapy",
        status="active",
        kind="operation",
        code="vaccine-timing",
        system=True,
        type=False,
        instance=False,
        affectsState=False,
        outputProfile=None,
        description=(
            "When a person on "
            + ", ".join(p.drug for p in known)
            + " may receive each vaccine: the same planner as POST /v1/plans, answered as an ImmunizationRecommendation."
        ),
        parameter=_operation_parameters(known) + _operation_outputs(),
    )


def param(name: str, use: str, low: int, high: str, type_: str, doc: str) -> dict[str, Any]:
    return {"name": name, "use": use, "min": low, "max": high, "type": type_, "documentation": doc}


def _operation_parameters(known: tuple[TherapyCodes, ...]) -> list[dict[str, Any]]:
    """The operation's input parameters; the medication part names the loaded therapies' cadences and codes."""
    return [
        param("assessmentDate", "in", 0, "1", "date", "The date the plan is computed for (default: today, UTC)."),
        param(
            "medication",
            "in",
            1,
            "*",
            "Resource",
            "Required: MedicationAdministration (a completed one is a dose "
            "given) or MedicationRequest (boundsPeriod.start = planned start; a stopped one's boundsPeriod.end "
            "= stop date; repeat.period = cadence: "
            + "; ".join(f"{p.drug} {p.cadence_text()}" for p in known)
            + "), or a searchset Bundle of them. Recognised by "
            + "; ".join(f"{p.drug}: {p.recognised_as()}" for p in known)
            + " (an RxNorm coding without a listed code is read by its display).",
        ),
        param(
            "immunization",
            "in",
            0,
            "*",
            "Resource",
            "Immunization history (status completed, CVX vaccineCode, occurrenceDateTime), or a searchset "
            "Bundle of them. A dose of a requested vaccine continues its series.",
        ),
        param(
            "vaccine",
            "in",
            1,
            "*",
            "CodeableConcept",
            "A vaccine to plan, coded with CVX "
            "(http://hl7.org/fhir/sid/cvx); a concept with text only is looked up by name.",
        ),
        param("neededBy", "in", 0, "1", "date", "The date protection is needed, for every vaccine."),
        param(
            "horizonDays",
            "in",
            0,
            "1",
            "integer",
            "How far after the assessment date windows are listed (60 to 1095, default 365).",
        ),
        param(
            "bCellRepletionDate",
            "in",
            0,
            "1",
            "date",
            "Date a laboratory confirmed B-cell repletion after the therapy was stopped.",
        ),
        param(
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


def _operation_outputs() -> list[dict[str, Any]]:
    """The operation's output parameters."""
    return [
        param(
            "recommendation",
            "out",
            1,
            "1",
            "ImmunizationRecommendation",
            "One recommendation per dose to give (doseNumber; LOINC 30981-5/59777-3 = first/last day of "
            "the window holding it, 30980-7 = the proposed date; later windows in the later-window "
            "extension), one contraindicated recommendation when there is no window, one complete when the "
            "series is done; description = the plan's reason.",
        ),
        param("rulesetVersion", "out", 1, "1", "string", "The rules and catalog data that produced the answer."),
        param("warning", "out", 0, "*", "string", "Warnings about the input (e.g. an assumed schedule)."),
        param(
            "outcome",
            "out",
            0,
            "1",
            "OperationOutcome",
            "What the service could not see (severity warning, code incomplete): a Bundle page not sent, a "
            "search that failed. Present only then; the plan rests on an incomplete record.",
        ),
    ]


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
                "operation": [{"name": "vaccine-timing", "definition": canonical.operation}],
            }
        ],
    )
