"""marshmallow schemas: the request and response shapes of API v1, and the source of openapi.yaml.

Shape is checked here (types, ranges, exactly-one-of); whether a vaccine exists or a dose date makes
sense is the domain's business.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from service.domain.advisories import WARNING_CODES
from service.domain.errors import ERROR_CODES
from service.domain.series import WEEKDAYS
from service.settings import BATCH_MAX_ANSWER_BYTES, BATCH_MAX_ITEMS, BATCH_TIME_BUDGET_SECONDS, MAX_ERRORS_LISTED

S = TypeVar("S", bound=type[Schema])
# A maintenance cadence as a request may write it; which ones a therapy takes is its profile's (GET
# /v1/therapies): a cadence the therapy does not list is a 422 naming the field and the therapy's values.
# openapi.yaml states the shape once, as the component Cadence.
CADENCE_PATTERN = r"^[a-z0-9_]{1,40}$"
# The labels a profile may encode separately (treatment.label), and what the answer says was applied.
LABELS = ("us", "eu")
LABELS_APPLIED = ("us", "eu", "strictest")
# How the rules core may run (GET /readyz): compiled with mypyc, or its Python source.
RULES_CORES = ("compiled", "pure_python")
METRICS_DIRECTORY_STATES = ("ok", "missing", "read_only", "full", "none")
METRICS_WORKER_STATES = ("files", "in_memory", "in_process")


# Dates outside this range are typing errors in practice, and they keep date arithmetic far from its limits.
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(2199, 12, 31)


def read_day(value: Any) -> date | None:
    """The calendar date `value` writes exactly as YYYY-MM-DD (ASCII digits), or None for anything else.

    date.fromisoformat alone would also take week dates (2026-W42-5) and compact forms (20261016, 2026W425); of
    its forms only YYYY-MM-DD is ten characters long with hyphens at 4 and 7, and it reads only ASCII digits. So the two checks before it are the format check: the same dates as the regular expression
    ^\\d{4}-\\d{2}-\\d{2}$ followed by fromisoformat (tests/test_fastload.py holds the two equal on generated
    strings), at a fraction of a match's cost on the longest part of most requests, the dose history."""
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class IsoDate(fields.Date):
    """A calendar date written exactly YYYY-MM-DD (no times, no week dates, no compact forms)."""

    default_error_messages = {
        "invalid": "Not a valid date: use YYYY-MM-DD.",
        "range": "Date out of range (1900-01-01 to 2199-12-31).",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day = read_day(value)
        if day is None:
            raise self.make_error("invalid")
        if not MIN_DATE <= day <= MAX_DATE:
            raise self.make_error("range")
        return day


class IsoDateList(fields.List):  # type: ignore[type-arg]  # of dates; marshmallow's List[T] is not ours to bind
    """A list of IsoDate, parsed in one loop: a dose history is the longest part of most requests, and
    marshmallow's per-element field machinery cost more than the dates themselves. Errors keep List's shape
    ({index: [message]}), so they still name `treatment.doses[3]`."""

    def __init__(self, **kwargs: Any):
        super().__init__(IsoDate(), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any | None]:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        read: list[Any] = [read_day(text) for text in value]
        if None not in read and (not read or (min(read) >= MIN_DATE and max(read) <= MAX_DATE)):
            return read  # every date valid: the list the loop below builds, in one pass
        days: list[Any | None] = []
        errors: dict[int | str, list[str] | dict[Any, Any] | str] = {}
        messages = IsoDate.default_error_messages
        for i, text in enumerate(value):
            day = read_day(text)
            if day is None:
                errors[i] = [str(messages["invalid"])]
            elif not MIN_DATE <= day <= MAX_DATE:
                errors[i] = [str(messages["range"])]
            else:
                days.append(day)
        if errors:
            raise ValidationError(errors)
        return days


class StrictInteger(fields.Integer):
    """An integer that must be a JSON number without a fraction (not "365", not true)."""

    def __init__(self, **kwargs: Any):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def response(*optional: str) -> Callable[[S], S]:
    """Class decorator for a response schema: every field not named in `optional` is always in the answer (null
    when it is declared allow_none=True), so the document lists it as `required` and generated clients type it
    as present. A new response field is declared as usual in a decorated class; only a field an answer may
    leave out is named here."""

    def mark(cls: S) -> S:
        unknown = set(optional) - set(cls._declared_fields)
        assert not unknown, f"{cls.__name__}: no fields {sorted(unknown)}"
        for name, field in cls._declared_fields.items():
            field.required = name not in optional
        return cls

    return mark


def _doc(description: str, example: Any = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"description": description}
    if example is not None:
        meta["example"] = example
    return meta


# ---- request ----------------------------------------------------------------------------------------


class TreatmentSchema(Schema):
    drug = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata=_doc("Therapy, generic or brand name, case-insensitive (GET /v1/therapies).", "ofatumumab"),
    )
    start_date = IsoDate(
        load_default=None,
        allow_none=True,
        metadata=_doc(
            "The day the therapy began (its first dose). Required when doses is empty: then it is the planned start "
            "(or, on or before as_of, a start after which the labelled schedule is assumed). With doses it may equal the "
            "earliest dose (the doses are the complete history), or be earlier: the doses are then the recent part of "
            "an established therapy (what a dispensing record or a patient's memory holds), the start may be "
            "approximate, and the phase, next dose and slots come from the listed doses (warning history-assumed). "
            "Omitted with doses, the doses are read as a new start only when they are spaced as the therapy's labelled "
            "starter doses (ofatumumab: 7, 7 and 14 days apart; ocrelizumab and ublituximab: 14 days; each within 3 "
            "days); a single dose, or doses that cannot be the starter doses (two ofatumumab doses 28 days apart, "
            "say), get a 422 with code partial_history naming this field. A therapy without starter doses "
            "(rituximab, ocrelizumab subcutaneous) reads any list as given.",
            "2027-01-05",
        ),
    )
    doses = IsoDateList(
        load_default=list,
        validate=validate.Length(max=400),
        metadata=_doc("Dates of doses actually given, any order, none after as_of, no duplicates.", []),
    )
    cadence = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(CADENCE_PATTERN, error="Not a cadence name: GET /v1/therapies lists each therapy's."),
        metadata=_doc(
            "Maintenance cadence, one the therapy lists (GET /v1/therapies; default: the therapy's own). "
            "Ofatumumab: every_4_weeks (default) or monthly (same calendar day each month); ocrelizumab: "
            "every_24_weeks (default) or every_6_months; ...",
            "every_4_weeks",
        ),
    )
    label = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(LABELS),
        metadata=_doc(
            "The prescribing information whose rules apply where the US and EU labels differ (ocrelizumab: 4 weeks "
            "live / 2 weeks non-live before the first dose in the US, 6 weeks for any vaccine in the EU). Omitted: "
            "for each rule, the stricter. A therapy must list the label (GET /v1/therapies `labels`), else 422.",
            None,
        ),
    )
    stopped_on = IsoDate(
        load_default=None,
        allow_none=True,
        metadata=_doc("Date the therapy was discontinued (not before the last dose, not after as_of).", None),
    )
    b_cell_repletion_on = IsoDate(
        load_default=None,
        allow_none=True,
        metadata=_doc(
            "Date a laboratory confirmed B-cell repletion after stopping: B cells back to the lower limit of normal "
            "(40 cells/µl) or to the patient's baseline. Needs stopped_on; not before it, not after as_of, and not "
            "sooner after the last dose than the therapy's profile allows (ofatumumab: 28 days, one dosing interval; "
            "GET /v1/therapies repletion_min_days_after_last_dose; 422, code implausible_repletion). Sooner than the "
            "therapy's re-check figure (ofatumumab: the modelled median of 24.6 weeks) it is accepted with the "
            "warning repletion-before-median. Live vaccines are planned from it, never before the non-live "
            "post-therapy window.",
            None,
        ),
    )
    lymphocytes_normal_on = IsoDate(
        load_default=None,
        allow_none=True,
        metadata=_doc(
            "Date a laboratory confirmed a normal lymphocyte count after the therapy: the live-vaccine gate of the "
            "therapies whose label or guideline names it (fumarates, cladribine tablets, alemtuzumab; GET "
            "/v1/therapies gate_fields). For a continuous therapy it needs stopped_on and is not before it; for a "
            "course therapy it is not before the last day listed. Not after as_of. A therapy that does not use this "
            "gate: 422 (code gate_not_used) naming this field.",
            None,
        ),
    )


class NameOrCvxSchema(Schema):
    """A vaccine named by exactly one of a name or a CVX code. (openapi.yaml states each subclass as two
    shapes, <Name>ByName and <Name>ByCvx: see ops.split_name_or_cvx.)"""

    name = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata=_doc("Generic, common or brand name, case-insensitive, punctuation ignored.", "MMR"),
    )
    cvx = fields.String(
        validate=validate.Regexp(r"^\d{1,4}$", error='A CVX code is a number written as a string, e.g. "03".'),
        metadata=_doc("CDC CVX code as a string.", "187"),
    )

    @validates_schema
    def exactly_one(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("name" in data) == ("cvx" in data):
            raise ValidationError("Give exactly one of name or cvx.")


class VaccineRequestSchema(NameOrCvxSchema):
    given = IsoDateList(
        load_default=list,
        validate=validate.Length(max=10),
        metadata=_doc(
            "Dates of doses of this vaccine's series already given (none after as_of); the plan proposes the rest.", []
        ),
    )
    needed_by = IsoDate(
        load_default=None,
        allow_none=True,
        metadata=_doc("Date protection is needed (a departure date, say); not before as_of.", None),
    )


class ImmunizationSchema(NameOrCvxSchema):
    date = IsoDate(required=True, metadata=_doc("Date it was given (not after as_of).", "2026-11-10"))


class PatientSchema(Schema):
    birth_date = IsoDate(
        load_default=None,
        allow_none=True,
        metadata=_doc(
            "Date of birth (not after as_of). Used only where a product's schedule or eligibility depends on age "
            "(accelerated Ixiaro for ages 18 to 65, accelerated Twinrix from 18, ACIP's immunocompromised hepatitis "
            "B dosage from 20); never logged. Without it, the schedule that does not depend on age, and the reason "
            "says so.",
            "1988-05-02",
        ),
    )


class PlanRequestSchema(Schema):
    as_of = IsoDate(
        load_default=None,
        allow_none=True,
        metadata=_doc("Assessment date the plan is computed for (default: today, UTC).", "2026-11-24"),
    )
    treatment = fields.Nested(TreatmentSchema, required=True)
    vaccines = fields.List(
        fields.Nested(VaccineRequestSchema),
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata=_doc("1 to 50 vaccines; results come back in this order."),
    )
    immunizations = fields.List(
        fields.Nested(ImmunizationSchema),
        load_default=list,
        validate=validate.Length(max=200),
        metadata=_doc(
            "Vaccines already given (live or not): used for live-live spacing (CDSi liveVirusConflicts) and checked "
            "against the first dose (warnings live-vaccine-before-start, live-vaccine-during-therapy, "
            "non-live-vaccine-near-start; treatment.earliest_start).",
            [],
        ),
    )
    horizon_days = StrictInteger(
        load_default=365,
        validate=validate.Range(min=60, max=1095),
        metadata=_doc("How far after as_of windows are listed (60 to 1095).", 365),
    )
    appointment_days = fields.List(
        fields.String(validate=validate.OneOf(WEEKDAYS)),
        load_default=None,
        validate=validate.Length(min=1, max=7),
        metadata=_doc(
            "The weekdays on which doses may be proposed (a clinic's opening days), as lowercase three-letter names. "
            "Default (omitted or null): every day. Proposed dates fall on these days inside the permitted windows; a window holding "
            "none of them is passed over and the vaccine's reason says so. The windows themselves are unchanged.",
            ["mon", "tue", "wed", "thu", "fri"],
        ),
    )
    patient = fields.Nested(
        PatientSchema,
        load_default=None,
        allow_none=True,
        metadata=_doc("The patient, only as far as the plan needs (optional)."),
    )


# ---- response ---------------------------------------------------------------------------------------


@response()
class RulesetSchema(Schema):
    id = fields.String(metadata=_doc("Therapy profile id.", "ofatumumab"))
    version = fields.String(metadata=_doc("Profile version + catalog version + digest of the data files, for audit."))


@response()
class TreatmentOutSchema(Schema):
    drug = fields.String(metadata=_doc("Canonical therapy name.", "ofatumumab"))
    phase = fields.String(
        validate=validate.OneOf(
            [
                "not_started",
                "starter",
                "maintenance",
                "on_therapy",
                "in_course",
                "between_courses",
                "after_courses",
                "stopped",
            ]
        ),
        metadata=_doc(
            "Dosed therapies: not_started, starter, maintenance, stopped. Continuous therapies: not_started, "
            "on_therapy, stopped. Course therapies: not_started, in_course (days of the current course still to "
            "come), between_courses (a labelled course still to come), after_courses (the labelled courses given), "
            "stopped."
        ),
    )
    start_date = IsoDate(metadata=_doc("First dose date (given or planned)."))
    cadence = fields.String(metadata=_doc("Maintenance cadence used."))
    label = fields.String(
        validate=validate.OneOf(LABELS_APPLIED),
        metadata=_doc("Whose rules applied where the labels differ: us, eu, or strictest (each rule the stricter)."),
    )
    doses_given = fields.List(
        IsoDate(), metadata=_doc("Doses taken as given: the request's, or the assumed labelled schedule.")
    )
    next_dose = IsoDate(allow_none=True, metadata=_doc("Next dose on or after as_of; null when stopped."))
    overdue = fields.Boolean(metadata=_doc("The labelled next dose was before as_of (missed): next_dose is as_of."))
    projected_doses = fields.List(IsoDate(), metadata=_doc("Future doses from next_dose to as_of + horizon_days."))
    stopped_on = IsoDate(allow_none=True)
    earliest_start = IsoDate(
        allow_none=True,
        metadata=_doc(
            "For a therapy not yet started: the earliest first dose the vaccine history allows, the latest live "
            "vaccine (immunizations or a given list) + the therapy's live lead time (28 days for ofatumumab), when "
            "that is after as_of; otherwise null. Set whether "
            "or not the planned start_date respects it (when it does not, warnings has live-vaccine-before-start)."
        ),
    )


@response()
class WindowSchema(Schema):
    kind = fields.String(
        validate=validate.OneOf(["pre_start", "mid_cycle", "during_therapy", "post_therapy"]),
        metadata=_doc(
            "pre_start: before the first dose or course; mid_cycle: between two doses or courses; during_therapy: "
            "at any time during a continuous therapy; post_therapy: after stopping (or after the last course)."
        ),
    )
    start = IsoDate(metadata=_doc("First permitted day (inclusive)."))
    end = IsoDate(metadata=_doc("Last permitted day (inclusive)."))


@response("name", "cvx")
class VaccineRefSchema(Schema):
    name = fields.String(metadata=_doc("The name requested (present when the request named the vaccine)."))
    cvx = fields.String(metadata=_doc("The CVX code requested (present when the request gave a code)."))


@response()
class VaccineOutSchema(Schema):
    id = fields.String()
    name = fields.String()
    cvx = fields.String(
        allow_none=True,
        metadata=_doc(
            "The CVX code requested; for a name, the named product's own code (Spikevax 312, MenQuadfi 203), or the "
            "entry's generic code for a name without a product; null when the CDC CVX list has none (Qdenga)."
        ),
    )
    product = fields.String(
        allow_none=True,
        metadata=_doc("The brand the request named (Spikevax), whose code cvx is; null for a name without a product."),
    )
    live = fields.Boolean()
    route = fields.String()


@response()
class ProposedDoseSchema(Schema):
    dose = fields.Integer(metadata=_doc("Dose number in the series (1-based).", 2))
    date = IsoDate(metadata=_doc("Proposed date, inside a permitted window."))


@response()
class SeriesOutSchema(Schema):
    doses = fields.Integer(metadata=_doc("Doses in the series planned here."))
    given = fields.Integer(
        metadata=_doc(
            "Doses already given that count (vaccines[].given); 0 when a maximum interval has run out and the label "
            "restarts the course (Dukoral after more than 6 weeks)."
        )
    )
    interval_basis = fields.String(
        validate=validate.OneOf(["recommended", "minimum"]),
        metadata=_doc("Whether proposed doses are spaced at CDSi's recommended or minimum intervals."),
    )
    protective_dose = fields.Integer(
        metadata=_doc("The dose from which travel protection counts (hepatitis A: 1; most series: the last).", 1)
    )
    lead_days = fields.Integer(
        metadata=_doc("Days after the protective dose until protection is expected (yellow fever: 10).", 14)
    )


@response()
class VaccinePlanSchema(Schema):
    request = fields.Nested(VaccineRefSchema, metadata=_doc("The vaccine as requested."))
    vaccine = fields.Nested(VaccineOutSchema)
    status = fields.String(
        validate=validate.OneOf(["pre_start", "mid_cycle", "during_therapy", "post_therapy", "avoid"])
    )
    windows = fields.List(fields.Nested(WindowSchema))
    delay_start_to = IsoDate(
        allow_none=True,
        metadata=_doc(
            "For a live vaccine before a planned start that is too close for it (or for its whole series, or for its "
            "spacing after another live vaccine): the earliest first-dose date that lets it all be given first. For a "
            "single dose with nothing else in the way this is as_of + the therapy's live lead time (28 days for "
            "ofatumumab). Also set when the doses that fit are proposed and the rest of the series waits for "
            "repletion (rule plan.live-series-whole)."
        ),
    )
    b_cell_recheck_on = IsoDate(
        allow_none=True,
        metadata=_doc(
            "For a live vaccine after stopping, without confirmed repletion: the earliest date worth re-checking B cells, "
            "the label's median recovery time counted from the last dose (the repletion-before-median warning counts "
            "from the same date)."
        ),
    )
    reason = fields.String(metadata=_doc("Plain-language explanation."))
    rules = fields.List(fields.String(), metadata=_doc("Ids of the rules that produced this result (GET /v1/rules)."))
    proposed = fields.List(
        fields.Nested(ProposedDoseSchema),
        metadata=_doc("A date for every remaining dose that fits a permitted window in the horizon; empty when avoid."),
    )
    series = fields.Nested(SeriesOutSchema)
    ready_on = IsoDate(
        allow_none=True,
        metadata=_doc(
            "See ready_on_means. protection: the protective dose plus the vaccine's lead time. series_complete: the "
            "last dose of the series plus the lead time, for a series with a dose in B-cell depletion, where no "
            "protection date is stated (never earlier). Null while the dose it depends on is unplaced."
        ),
    )
    ready_on_means = fields.String(
        allow_none=True,
        validate=validate.OneOf(["protection", "series_complete"]),
        metadata=_doc("What ready_on is (rule plan.protection-in-depletion); null with ready_on.", "protection"),
    )
    serology_advised = fields.Boolean(
        metadata=_doc(
            "True when guidance asks for an antibody check after this series in an immunocompromised person and a dose "
            "falls in B-cell depletion (rabies PrEP, hepatitis B, Encepur: rules serology.*); meets_needed_by is "
            "then null.",
            False,
        )
    )
    meets_needed_by = fields.Boolean(
        allow_none=True,
        metadata=_doc(
            "Whether ready_on <= needed_by; null without needed_by, null when a dose that protection rests on falls "
            "in B-cell depletion (the response may be weak or absent: never true then), and null when "
            "serology_advised (the schedule alone cannot show protection)."
        ),
    )


@response()
class PlanWarningSchema(Schema):
    code = fields.String(
        validate=validate.OneOf(WARNING_CODES),
        metadata=_doc("Stable code a client may branch on (see the README's table of warnings).", "history-assumed"),
    )
    message = fields.String(metadata=_doc("What a clinician should know, in plain words."))
    rules = fields.List(fields.String(), metadata=_doc("Ids of the rules behind the warning (GET /v1/rules)."))


@response()
class PlanResponseSchema(Schema):
    as_of = IsoDate()
    horizon_end = IsoDate(metadata=_doc("as_of + horizon_days: windows are clipped to [as_of, horizon_end]."))
    ruleset = fields.Nested(RulesetSchema)
    treatment = fields.Nested(TreatmentOutSchema)
    vaccines = fields.List(fields.Nested(VaccinePlanSchema))
    warnings = fields.List(
        fields.Nested(PlanWarningSchema),
        metadata=_doc(
            "What a clinician should know about the plan as a whole: an assumed history, a missed dose, a live "
            "vaccine too close to the first dose, and the like."
        ),
    )


# ---- batch -----------------------------------------------------------------------------------------


class BatchRequestSchema(Schema):
    @pre_load
    def count_before_expanding(self, data: Any, **kwargs: Any) -> Any:
        # The item limit is checked on the raw list, before marshmallow validates (and, for a list of
        # non-objects, writes an error for) every item: a 4 MiB list of numbers is one error, not a million.
        items = data.get("requests") if isinstance(data, dict) else None
        if isinstance(items, list) and len(items) > BATCH_MAX_ITEMS:
            raise ValidationError(
                f"Longer than maximum length {BATCH_MAX_ITEMS} ({len(items)} requests).", field_name="requests"
            )
        return data

    requests = fields.List(
        fields.Dict(metadata=_doc("A plan request exactly as the body of POST /v1/plans (see PlanRequest).")),
        required=True,
        validate=validate.Length(min=1, max=BATCH_MAX_ITEMS),
        metadata=_doc(
            f"1 to {BATCH_MAX_ITEMS} plan requests. The envelope is checked as a whole (an array of JSON objects); "
            "each object is then validated and planned on its own, so one bad request does not fail the others."
        ),
    )


@response("plan", "problem")
class BatchResultSchema(Schema):
    index = fields.Integer(required=True, metadata=_doc("Position of the request in `requests`, from 0.", 0))
    status = fields.Integer(
        required=True,
        validate=validate.OneOf([200, 413, 422, 500, 503]),
        metadata=_doc(
            "What POST /v1/plans would have answered for this request: 200 with `plan`, or 422 (500 for a service "
            "fault) with `problem`; 413 when this request alone is over POST /v1/plans' 64 KiB limit; 503 when "
            f"it was not planned because the batch used up its {BATCH_TIME_BUDGET_SECONDS} s time budget or its "
            f"answer reached {BATCH_MAX_ANSWER_BYTES // (1024 * 1024)} MiB "
            "(send it again, in a later batch).",
            200,
        ),
    )
    plan = fields.Nested(PlanResponseSchema, metadata=_doc("The plan, when status is 200."))
    problem = fields.Nested(
        lambda: ProblemSchema(),
        metadata=_doc(
            "The problem document POST /v1/plans would have answered, when status is not 200. Its `instance` "
            "points at the request: /v1/plans/batch#/requests/<index>."
        ),
    )


@response()
class BatchSummarySchema(Schema):
    total = fields.Integer(required=True, metadata=_doc("Number of requests.", 2))
    planned = fields.Integer(required=True, metadata=_doc("Requests answered with a plan (status 200).", 1))
    failed = fields.Integer(
        required=True, metadata=_doc("Requests answered with a problem (every status but 200, 503 included).", 1)
    )
    not_planned = fields.Integer(
        required=True,
        metadata=_doc(
            f"Requests left unplanned (status 503) because the batch used up its {BATCH_TIME_BUDGET_SECONDS} s "
            f"time budget or its answer reached {BATCH_MAX_ANSWER_BYTES // (1024 * 1024)} MiB; send them again.",
            0,
        ),
    )


@response()
class BatchResponseSchema(Schema):
    results = fields.List(
        fields.Nested(BatchResultSchema), required=True, metadata=_doc("One result per request, in request order.")
    )
    summary = fields.Nested(BatchSummarySchema, required=True)


# ---- catalog ----------------------------------------------------------------------------------------


@response()
class ProductSchema(Schema):
    name = fields.String(metadata=_doc("The brand (Spikevax).", "Spikevax"))
    cvx = fields.String(
        allow_none=True,
        metadata=_doc(
            "Its code in the CDC CVX list; a generic code where the list has none (the note says so).", "312"
        ),
    )
    names = fields.List(fields.String(), metadata=_doc("Names that report this product."))


@response()
class CatalogEntrySchema(Schema):
    id = fields.String()
    name = fields.String()
    cvx = fields.List(fields.String(), metadata=_doc("CVX codes of this entry; the first is the primary code."))
    live = fields.Boolean()
    route = fields.String(metadata=_doc("injection, intranasal, oral, intradermal or percutaneous."))
    antigens = fields.List(fields.String())
    names = fields.List(fields.String(), metadata=_doc("Names this entry answers to (its products' names included)."))
    products = fields.List(
        fields.Nested(ProductSchema),
        metadata=_doc("Brands sharing this entry's schedule, each with its own CVX code (empty for one product)."),
    )
    source = fields.String(metadata=_doc("Where the classification comes from (keys of the catalog's sources)."))
    note = fields.String()


@response()
class UnspecifiedSchema(Schema):
    cvx = fields.String(allow_none=True)
    name = fields.String()
    names = fields.List(fields.String())
    candidates = fields.List(fields.String(), metadata=_doc("Ids of the specific products to choose from."))
    note = fields.String()


@response()
class CatalogSchema(Schema):
    catalog_version = fields.String()
    count = fields.Integer()
    vaccines = fields.List(fields.Nested(CatalogEntrySchema))
    unspecified = fields.List(
        fields.Nested(UnspecifiedSchema),
        metadata=_doc(
            "Codes and names that do not say whether the product is live: requests naming them get a 422 with candidates."
        ),
    )
    sources = fields.Dict(keys=fields.String(), values=fields.String())


class CatalogQuerySchema(Schema):
    live = fields.Boolean(metadata=_doc("Only live (true) or non-live (false) entries."))
    q = fields.String(
        validate=validate.Length(min=1, max=100), metadata=_doc("Text any name, id or CVX code contains.")
    )


@response("role", "group")
class RuleSchema(Schema):
    id = fields.String()
    role = fields.String(metadata=_doc("In a therapy profile: the part the rule plays in the planner."))
    group = fields.String(metadata=_doc("In GET /v1/rules: the therapy id, or 'vaccines' for rules of any therapy."))
    summary = fields.String()
    evidence = fields.String(metadata=_doc("label, guideline, CDSi, practice or decision."))
    source = fields.String()
    citation = fields.String()


@response()
class CadenceOutSchema(Schema):
    days = fields.Integer(metadata=_doc("Days between maintenance doses (0 when counted in months)."))
    months = fields.Integer(metadata=_doc("Calendar months between maintenance doses (0 when counted in days)."))
    description = fields.String()


# The starter phase and the label-dependent default cadence are a dosed therapy's (continuous and course
# therapies have neither), so a listing of those kinds leaves them out.
@response(
    "starter_gaps_days",
    "starter_doses",
    "starter_tolerance_days",
    "maintenance_from_first_dose",
    "default_cadence_by_label",
)
class TherapyScheduleSchema(Schema):
    text = fields.String(metadata=_doc("The labelled dosing schedule in words."))
    starter_gaps_days = fields.List(fields.Integer(), metadata=_doc("Days between the starter doses, in order."))
    starter_doses = fields.Integer(metadata=_doc("Doses of the starter phase (0: none)."))
    starter_tolerance_days = fields.Integer(metadata=_doc("Days a starter dose may be early or late."))
    maintenance_from_first_dose = fields.Boolean(
        metadata=_doc("The first maintenance dose is one cadence after dose 1 (ocrelizumab, ublituximab).")
    )
    default_cadence = fields.String(metadata=_doc("The maintenance cadence used when a request names none."))
    default_cadence_by_label = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata=_doc("The default cadence with treatment.label, where it differs."),
    )
    cadences = fields.Dict(
        keys=fields.String(), values=fields.Nested(CadenceOutSchema), metadata=_doc("The cadences, by name.")
    )


@response()
class MidCycleSchema(Schema):
    after_min = fields.Integer(metadata=_doc("Earliest day of the slot after a dose D: D + after_min."))
    after_max = fields.Integer(
        allow_none=True, metadata=_doc("Latest day of the slot after D: D + after_max (null: no bound).")
    )
    before_min = fields.Integer(metadata=_doc("Latest day before the next dose N: N - before_min."))
    before_max = fields.Integer(
        allow_none=True, metadata=_doc("Earliest day before N: N - before_max (null: no bound).")
    )


# Every kind lists its lead times and gate fields; the other figures are its kind's own (dosed: the mid-cycle
# slot and B-cell figures; continuous: the interval after stopping and the pause advice; course: the figures
# around a course), so they are left out where the kind has none.
@response(
    "mid_cycle",
    "by_label",
    "post_therapy_after_last_dose_days",
    "b_cell_recheck_days",
    "b_cell_recheck_text",
    "b_cell_consensus_days",
    "repletion_min_days_after_last_dose",
    "live_pre_start",
    "lymphocytes_gate",
    "after_stop",
    "pause_advice",
    "non_live_lead_days",
    "non_live_after_course",
    "live_after_course",
    "recheck_after",
)
class VaccineTimingSchema(Schema):
    live_pre_start_days = fields.Integer(metadata=_doc("A live vaccine at least this many days before the first dose."))
    non_live_pre_start_days = fields.Integer(
        metadata=_doc("A non-live vaccine at least this many days before the first dose.")
    )
    mid_cycle = fields.Nested(MidCycleSchema, metadata=_doc("The non-live slot between two doses."))
    by_label = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        metadata=_doc("The lead times each label gives, where the labels differ (the figures above are the stricter)."),
    )
    post_therapy_after_last_dose_days = fields.Integer()
    b_cell_recheck_days = fields.Integer(
        allow_none=True,
        metadata=_doc("Days after stopping when a B-cell count is worth taking (null: no source gives one)."),
    )
    b_cell_recheck_text = fields.String()
    b_cell_consensus_days = fields.Integer(allow_none=True)
    repletion_min_days_after_last_dose = fields.Integer(
        metadata=_doc("A repletion date sooner than this after the last dose is refused (implausible_repletion).")
    )
    gate_fields = fields.List(
        fields.String(),
        metadata=_doc(
            "The request fields that open live vaccines again after the therapy (treatment.b_cell_repletion_on, "
            "treatment.stopped_on for a fixed interval, treatment.lymphocytes_normal_on); empty for a therapy "
            "without live-vaccine restriction. Any other gate field: 422 gate_not_used."
        ),
    )
    live_pre_start = fields.String(
        allow_none=True,
        metadata=_doc("Continuous and course therapies: the live-vaccine lead time ('1 month'); null: no restriction."),
    )
    lymphocytes_gate = fields.Boolean(metadata=_doc("Whether a normal lymphocyte count is needed after the therapy."))
    after_stop = fields.String(
        allow_none=True,
        metadata=_doc("Continuous therapies: the fixed interval after stopped_on before live vaccines."),
    )
    pause_advice = fields.String(
        allow_none=True,
        metadata=_doc("The label's advice to pause the therapy around a vaccination: advice only, never a window."),
    )
    non_live_lead_days = fields.Integer(metadata=_doc("Course therapies: non-live vaccines this long before a course."))
    non_live_after_course = fields.String(
        allow_none=True, metadata=_doc("Course therapies: non-live vaccines from this long after a course's last day.")
    )
    live_after_course = fields.String(
        allow_none=True, metadata=_doc("Course therapies: live vaccines at least this long after a course's last day.")
    )
    recheck_after = fields.String(
        allow_none=True,
        metadata=_doc("Course therapies: when a lymphocyte count is worth re-checking after the last day."),
    )


@response()
class TherapySchema(Schema):
    id = fields.String()
    name = fields.String()
    brand_names = fields.List(fields.String())
    names = fields.List(fields.String(), metadata=_doc("Every name treatment.drug answers to (case-insensitive)."))
    kind = fields.String(
        validate=validate.OneOf(["dosed", "continuous", "course"]),
        metadata=_doc(
            "dosed: injections or infusions on dates; continuous: taken from start_date until stopped_on (doses may "
            "be omitted); course: treatment courses, grouped from the days listed in doses."
        ),
    )
    labels = fields.List(
        fields.String(validate=validate.OneOf(LABELS)),
        metadata=_doc("The labels whose rules the profile encodes (treatment.label); empty: guidelines only."),
    )
    ruleset_version = fields.String()
    schedule = fields.Nested(TherapyScheduleSchema, metadata=_doc("Starter gaps, cadences and their descriptions."))
    vaccine_timing = fields.Nested(VaccineTimingSchema, metadata=_doc("Day counts the windows use."))
    rules = fields.List(fields.Nested(RuleSchema))


@response()
class TherapyListSchema(Schema):
    therapies = fields.List(fields.Nested(TherapySchema))


@response()
class RuleListSchema(Schema):
    ruleset = fields.Dict(keys=fields.String(), values=fields.String(), metadata=_doc("Ruleset version per therapy."))
    rules = fields.List(fields.Nested(RuleSchema), metadata=_doc("Every rule a response can cite."))


# ---- operations and errors ----------------------------------------------------------------------------


@response()
class HealthSchema(Schema):
    status = fields.String()


@response()
class MetricsStateSchema(Schema):
    directory = fields.String(
        validate=validate.OneOf(METRICS_DIRECTORY_STATES),
        metadata=_doc(
            "The Prometheus multiprocess directory: ok; missing, read_only or full (the counts /metrics shows are "
            "then partial, and it says so); none when the service runs without gunicorn.",
            "ok",
        ),
    )
    this_worker = fields.String(
        validate=validate.OneOf(METRICS_WORKER_STATES),
        metadata=_doc(
            "How the worker that answered counts: files (shared through the directory), in_memory (the directory "
            "failed it: its counts since are its own and die with it) or in_process (no gunicorn).",
            "files",
        ),
    )


@response()
class ReadySchema(Schema):
    status = fields.String()
    ruleset = fields.Dict(keys=fields.String(), values=fields.String())
    catalog_version = fields.String()
    vaccines = fields.Integer()
    data_digest = fields.String(
        metadata=_doc(
            "SHA-256 of every data file that can change an answer, as checked at start-up (its first 12 digits "
            "are in every ruleset version). Two instances with the same digest serve the same data."
        )
    )
    rules_core = fields.String(
        validate=validate.OneOf(RULES_CORES),
        metadata=_doc(
            "How the rules core runs: compiled (the C extensions built by `make native`, checked at start-up against "
            "their sources) or pure_python (the same rules and answers, about half the speed; an image built "
            "without a C compiler).",
            "compiled",
        ),
    )
    metrics = fields.Nested(
        MetricsStateSchema,
        metadata=_doc(
            "The state of the metrics (never a reason to be unready: the service answers as before; an operator "
            "sees here that /metrics is partial)."
        ),
    )


@response()
class CandidateSchema(Schema):
    id = fields.String()
    name = fields.String()
    cvx = fields.List(fields.String())
    live = fields.Boolean(allow_none=True)


@response("candidates")
class FieldErrorSchema(Schema):
    field = fields.String(metadata=_doc("Path of the offending field, e.g. vaccines[1].name.", "vaccines[1].name"))
    message = fields.String()
    code = fields.String(
        metadata=_doc(
            "Stable code a client may branch on (new codes may be added): "
            + "; ".join(f"{code}: {meaning}" for code, meaning in ERROR_CODES.items())
            + ".",
            "unknown_vaccine",
        )
    )
    candidates = fields.List(
        fields.Nested(CandidateSchema), metadata=_doc("What an unknown or ambiguous name could mean.")
    )


@response("errors", "errors_omitted")
class ProblemSchema(Schema):
    type = fields.String(metadata=_doc("URI of the problem type (GET it for a description), or about:blank."))
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String(allow_none=True)
    request_id = fields.String()
    errors = fields.List(
        fields.Nested(FieldErrorSchema),
        metadata=_doc(f"Each field error, the first {MAX_ERRORS_LISTED} at most (see `errors_omitted`)."),
    )
    errors_omitted = fields.Integer(
        metadata=_doc(
            f"How many further errors were found but not listed (present only when there were more than "
            f"{MAX_ERRORS_LISTED}): an answer stays small however wrong the request.",
            3,
        )
    )
