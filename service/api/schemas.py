"""marshmallow schemas: the request and response shapes of API v1, and the source of openapi.yaml.

Shape is checked here (types, ranges, exactly-one-of); whether a vaccine exists or a dose date makes
sense is the domain's business.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from service.settings import BATCH_MAX_ANSWER_BYTES, BATCH_MAX_ITEMS, BATCH_TIME_BUDGET_SECONDS, MAX_ERRORS_LISTED

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Dates outside this range are typing errors in practice, and they keep date arithmetic far from its limits.
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(2199, 12, 31)


class IsoDate(fields.Date):
    """A calendar date written exactly YYYY-MM-DD (no times, no week dates, no compact forms)."""

    default_error_messages = {
        "invalid": "Not a valid date: use YYYY-MM-DD.",
        "range": "Date out of range (1900-01-01 to 2199-12-31).",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            raise self.make_error("invalid")
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise self.make_error("invalid") from exc
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
        days: list[Any | None] = []
        errors: dict[int | str, list[str] | dict[Any, Any] | str] = {}
        messages = IsoDate.default_error_messages
        for i, text in enumerate(value):
            day = None
            if isinstance(text, str) and _ISO_DATE.match(text):
                try:
                    day = date.fromisoformat(text)
                except ValueError:
                    day = None
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
            "First dose date. Required when doses is empty (the planned start); if given with doses it must equal the earliest dose.",
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
        validate=validate.OneOf(["every_4_weeks", "monthly"]),
        metadata=_doc(
            "Maintenance cadence: every_4_weeks (default) or monthly (same calendar day each month).", "every_4_weeks"
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
            "Date a laboratory confirmed B-cell repletion after stopping (needs stopped_on; not before it, not after as_of).",
            None,
        ),
    )


class NameOrCvxSchema(Schema):
    """A vaccine named by exactly one of a name or a CVX code."""

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
        metadata=_doc("Vaccines already given, used for live-live spacing (CDSi liveVirusConflicts).", []),
    )
    horizon_days = StrictInteger(
        load_default=365,
        validate=validate.Range(min=60, max=1095),
        metadata=_doc("How far after as_of windows are listed (60 to 1095).", 365),
    )


# ---- response ---------------------------------------------------------------------------------------


class RulesetSchema(Schema):
    id = fields.String(metadata=_doc("Therapy profile id.", "ofatumumab"))
    version = fields.String(metadata=_doc("Profile version + catalog version + digest of the data files, for audit."))


class TreatmentOutSchema(Schema):
    drug = fields.String(metadata=_doc("Canonical therapy name.", "ofatumumab"))
    phase = fields.String(validate=validate.OneOf(["not_started", "starter", "maintenance", "stopped"]))
    start_date = IsoDate(metadata=_doc("First dose date (given or planned)."))
    cadence = fields.String(metadata=_doc("Maintenance cadence used."))
    doses_given = fields.List(
        IsoDate(), metadata=_doc("Doses taken as given: the request's, or the assumed labelled schedule.")
    )
    next_dose = IsoDate(allow_none=True, metadata=_doc("Next dose on or after as_of; null when stopped."))
    overdue = fields.Boolean(metadata=_doc("The labelled next dose was before as_of (missed): next_dose is as_of."))
    projected_doses = fields.List(IsoDate(), metadata=_doc("Future doses from next_dose to as_of + horizon_days."))
    stopped_on = IsoDate(allow_none=True)


class WindowSchema(Schema):
    kind = fields.String(validate=validate.OneOf(["pre_start", "mid_cycle", "post_therapy"]))
    start = IsoDate(metadata=_doc("First permitted day (inclusive)."))
    end = IsoDate(metadata=_doc("Last permitted day (inclusive)."))


class VaccineRefSchema(Schema):
    name = fields.String()
    cvx = fields.String()


class VaccineOutSchema(Schema):
    id = fields.String()
    name = fields.String()
    cvx = fields.String(allow_none=True, metadata=_doc("The CVX code requested, or the entry's primary code."))
    live = fields.Boolean()
    route = fields.String()


class ProposedDoseSchema(Schema):
    dose = fields.Integer(metadata=_doc("Dose number in the series (1-based).", 2))
    date = IsoDate(metadata=_doc("Proposed date, inside a permitted window."))


class SeriesOutSchema(Schema):
    doses = fields.Integer(metadata=_doc("Doses in the series planned here."))
    given = fields.Integer(metadata=_doc("Doses already given (vaccines[].given)."))
    interval_basis = fields.String(
        validate=validate.OneOf(["recommended", "minimum"]),
        metadata=_doc("Whether proposed doses are spaced at CDSi's recommended or minimum intervals."),
    )


class VaccinePlanSchema(Schema):
    request = fields.Nested(VaccineRefSchema, metadata=_doc("The vaccine as requested."))
    vaccine = fields.Nested(VaccineOutSchema)
    status = fields.String(validate=validate.OneOf(["pre_start", "mid_cycle", "post_therapy", "avoid"]))
    windows = fields.List(fields.Nested(WindowSchema))
    delay_start_to = IsoDate(
        allow_none=True,
        metadata=_doc(
            "For a live vaccine before a planned start that is too close for it (or for its whole series, or for its "
            "spacing after another live vaccine): the earliest first-dose date that lets it all be given first. For a "
            "single dose with nothing else in the way this is as_of + 28 days."
        ),
    )
    b_cell_recheck_on = IsoDate(
        allow_none=True,
        metadata=_doc(
            "For a live vaccine after stopping, without confirmed repletion: the earliest date worth re-checking B cells."
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
            "When protection is expected: last dose plus the vaccine's lead time (null while a dose is unplaced)."
        ),
    )
    meets_needed_by = fields.Boolean(
        allow_none=True, metadata=_doc("Whether ready_on <= needed_by; null without needed_by.")
    )


class PlanWarningSchema(Schema):
    code = fields.String(
        metadata=_doc(
            "Stable code a client may branch on: history-assumed, dose-missed, live-vaccine-before-start, "
            "live-vaccine-during-therapy, non-live-vaccine-near-start, and others listed in the README.",
            "history-assumed",
        )
    )
    message = fields.String(metadata=_doc("What a clinician should know, in plain words."))
    rules = fields.List(fields.String(), metadata=_doc("Ids of the rules behind the warning (GET /v1/rules)."))


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


class BatchResponseSchema(Schema):
    results = fields.List(
        fields.Nested(BatchResultSchema), required=True, metadata=_doc("One result per request, in request order.")
    )
    summary = fields.Nested(BatchSummarySchema, required=True)


# ---- catalog ----------------------------------------------------------------------------------------


class CatalogEntrySchema(Schema):
    id = fields.String()
    name = fields.String()
    cvx = fields.List(fields.String(), metadata=_doc("CVX codes of this entry; the first is the primary code."))
    live = fields.Boolean()
    route = fields.String(metadata=_doc("injection, intranasal, oral, intradermal or percutaneous."))
    antigens = fields.List(fields.String())
    names = fields.List(fields.String(), metadata=_doc("Names this entry answers to."))
    source = fields.String(metadata=_doc("Where the classification comes from (keys of the catalog's sources)."))
    note = fields.String()


class UnspecifiedSchema(Schema):
    cvx = fields.String(allow_none=True)
    name = fields.String()
    names = fields.List(fields.String())
    candidates = fields.List(fields.String(), metadata=_doc("Ids of the specific products to choose from."))
    note = fields.String()


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


class RuleSchema(Schema):
    id = fields.String()
    role = fields.String(metadata=_doc("In a therapy profile: the part the rule plays in the planner."))
    group = fields.String(metadata=_doc("In GET /v1/rules: the therapy id, or 'vaccines' for rules of any therapy."))
    summary = fields.String()
    evidence = fields.String(metadata=_doc("label, guideline, CDSi, practice or decision."))
    source = fields.String()
    citation = fields.String()


class TherapySchema(Schema):
    id = fields.String()
    name = fields.String()
    brand_names = fields.List(fields.String())
    ruleset_version = fields.String()
    schedule = fields.Dict(metadata=_doc("Starter gaps, cadences and their descriptions."))
    vaccine_timing = fields.Dict(metadata=_doc("Day counts the windows use."))
    rules = fields.List(fields.Nested(RuleSchema))


class TherapyListSchema(Schema):
    therapies = fields.List(fields.Nested(TherapySchema))


class RuleListSchema(Schema):
    ruleset = fields.Dict(keys=fields.String(), values=fields.String(), metadata=_doc("Ruleset version per therapy."))
    rules = fields.List(fields.Nested(RuleSchema), metadata=_doc("Every rule a response can cite."))


# ---- operations and errors ----------------------------------------------------------------------------


class HealthSchema(Schema):
    status = fields.String()


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


class CandidateSchema(Schema):
    id = fields.String()
    name = fields.String()
    cvx = fields.List(fields.String())
    live = fields.Boolean(allow_none=True)


class FieldErrorSchema(Schema):
    field = fields.String(metadata=_doc("Path of the offending field, e.g. vaccines[1].name.", "vaccines[1].name"))
    message = fields.String()
    code = fields.String(
        metadata=_doc("invalid, required, unknown_field, unknown_vaccine, ambiguous_vaccine, unknown_therapy.")
    )
    candidates = fields.List(
        fields.Nested(CandidateSchema), metadata=_doc("What an unknown or ambiguous name could mean.")
    )


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
