"""The travel clinic page: `GET /` and form posts to /clinic/... (never patient data in a URL).

Every answer comes from the shared Planner (`app.extensions["planner"].plan_json`), given the same JSON body
POST /v1/plans takes, so the page and the API cannot disagree. The page's routes are not the JSON API: they
are left out of openapi.yaml, like /docs. Every response is `Cache-Control: no-store`; the access log holds
the route template and status only (service/observability.py).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request
from werkzeug.wrappers.response import Response as BaseResponse

from service.api.ics import calendar_response
from service.domain.errors import FieldError, InvalidInput
from service.domain.kinds import AnyProfile
from service.planning import Planner
from service.settings import clinic_days, clinic_zone

from .form import ClinicForm, form_key, letter_errors, plan_body, read_form
from .handout import HANDOUT_LANGUAGES, handout_context
from .letter import LETTER_SOURCES, letter_context
from .present import key_windows, long_date, ranked_warnings, readiness, timeline, verdict, yellow_fever_avoided

blp = Blueprint(
    "clinic",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/clinic/static",
)
PLAN_PATH = "/clinic/plan"
CALENDAR_PATH = "/clinic/plan.ics"
LETTER_PATH = "/clinic/letter"
HANDOUT_PATH = "/clinic/handout"
RULES_PATH = "/clinic/rules"


# How the error summary names each input (indexed inputs are named in render_page).
FIELD_LABELS = {
    "as_of": "Plan as of",
    "birth_date": "Date of birth",
    "drug": "Medicine",
    "cadence": "Maintenance cadence",
    "label": "Prescribing information",
    "start_date": "First dose",
    "doses": "Injections given",
    "stopped_on": "Stopped on",
    "b_cell_repletion_on": "B-cell repletion confirmed on",
    "lymphocytes_normal_on": "Normal lymphocyte count confirmed on",
    "immunizations": "Vaccines already given",
    "vaccines": "Vaccines wanted",
    "needed_by": "Departure date",
    "return_on": "Return date",
    "appointment_days": "Clinic open on",
    "form": "The request",
}


def field_label(key: str) -> str:
    group, _, rest = key.partition("-")
    if group in ("doses", "vaccines") and rest.isdigit():
        return f"{'Injection' if group == 'doses' else 'Vaccine wanted'} {int(rest) + 1}"
    if group == "vaccines" and rest.endswith("-given"):
        return f"Vaccine wanted {int(rest.split('-')[0]) + 1}: doses already given"
    if group == "immunizations" and rest:
        index, _, leaf = rest.partition("-")
        return f"Vaccine already given {int(index) + 1}{' (date)' if leaf == 'date' else ''}"
    return FIELD_LABELS.get(key, key)


# The clinic's opening days as the page's checkboxes show them (value, label).
WEEKDAY_LABELS = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)


def planner() -> Planner:
    return current_app.extensions["planner"]  # type: ignore[no-any-return]


def clinic_today() -> date:
    """Today where the clinic is (PLANNER_TIMEZONE): a clinic in Auckland at 9 am is already a day ahead of UTC,
    and a plan made 'as of' UTC's date there would propose a day that has passed. A pinned TODAY (tests) wins;
    NOW pins the instant the zone converts (tests of the zone itself)."""
    settings = current_app.config["PLANNER"]
    pinned = settings.get("TODAY")
    if isinstance(pinned, date):
        return pinned
    now = settings.get("NOW") or datetime.now(UTC)
    return now.astimezone(clinic_zone(settings["TIMEZONE"])).date()


def default_days() -> tuple[str, ...]:
    """The clinic's opening days unless the nurse changes them (PLANNER_APPOINTMENT_DAYS, checked at start)."""
    return clinic_days(current_app.config["PLANNER"]["APPOINTMENT_DAYS"])


def posted_form() -> ClinicForm:
    return read_form(request.form, default_days())


@blp.after_request
def never_stored(response: Response) -> Response:
    # The page shows (or was posted) a treatment history: no cache on the way may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.app_template_filter("long_date")
def _long_date(text: str) -> str:
    return long_date(text)


# The API's words that name a request field the page shows under another name.
PAGE_WORDS = (
    ("send patient.birth_date to use it", "enter the date of birth to use it"),
    ("no patient.birth_date:", "no date of birth:"),
)


@blp.app_template_filter("page_words")
def page_words(text: str) -> str:
    """A plan's reason in the page's words: a field named as the form labels it, not as the API spells it."""
    for api, page in PAGE_WORDS:
        text = text.replace(api, page)
    return text


def catalog_names() -> list[str]:
    """The names the catalog answers to (name and aliases), for the vaccine inputs' <datalist>."""
    cached = current_app.extensions.get("clinic_catalog_names")
    if cached is None:
        names: set[str] = set()
        for v in planner().ruleset.catalog.vaccines:
            names.add(v.name)
            names.update(a for a in v.aliases if len(a) > 2)
        cached = current_app.extensions["clinic_catalog_names"] = sorted(names, key=str.casefold)
    return cached


def drugs() -> list[tuple[str, str]]:
    """(value, label) for the therapy select: the generic name, labelled with the brand names; the clinic's
    therapy (PLANNER_CLINIC_THERAPY) first."""
    profiles = list(planner().ruleset.therapies.profiles)
    first = default_therapy()
    profiles.sort(key=lambda p: p.id != first.id)
    return [(p.name, f"{' / '.join(p.brand_names)} ({p.name})" if p.brand_names else p.name) for p in profiles]


def default_therapy() -> AnyProfile:
    """The therapy the page selects first: PLANNER_CLINIC_THERAPY, or the first loaded profile."""
    therapies = planner().ruleset.therapies
    try:
        return therapies.find(current_app.config["PLANNER"]["CLINIC_THERAPY"])
    except InvalidInput:
        return therapies.profiles[0]


def cadence_groups() -> list[dict[str, Any]]:
    """Each therapy's own cadences for the cadence select (one group per therapy; clinic.js shows the chosen
    therapy's group only, and without it a cadence the therapy does not list is a 422 naming the field)."""
    return [
        {
            "drug": p.name,
            "label": f"{' / '.join(p.brand_names)} ({p.name})" if p.brand_names else p.name,
            "default": p.default_cadence,
            "cadences": [(c.name, c.description) for c in p.cadences.values()],
            "labels": list(p.labels),
        }
        for p in planner().ruleset.therapies.profiles
    ]


def render_page(
    form: ClinicForm,
    *,
    plan: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    by_key: dict[str, list[FieldError]] = {}
    for error in errors or []:
        by_key.setdefault(form_key(error.field), []).append(error)
    context: dict[str, Any] = {
        "form": form,
        "errors": by_key,
        "field_label": field_label,
        "error_count": len(errors or []),
        "notice": notice,
        "plan": plan,
        "catalog_names": catalog_names(),
        "drugs": drugs(),
        "cadence_groups": cadence_groups(),
        "paths": {
            "plan": PLAN_PATH,
            "ics": CALENDAR_PATH,
            "letter": LETTER_PATH,
            "handout": HANDOUT_PATH,
            "rules": RULES_PATH,
        },
        "weekdays": WEEKDAY_LABELS,
    }
    if plan is not None:
        context["results"] = [
            {
                "item": item,
                "verdict": verdict(item, plan["as_of"], plan["horizon_end"], plan["treatment"]["phase"]),
                "readiness": readiness(item),
                "windows": key_windows(item, form.needed_by),
            }
            for item in plan["vaccines"]
        ]
        context["timeline"] = timeline(plan, form.needed_by or None)
        context["act_warnings"], context["note_warnings"] = ranked_warnings(plan["warnings"])
        context["letter_due"] = yellow_fever_avoided(plan) is not None
        # The printed page is the patient's copy (English; the French one is a button away).
        context["handout"] = patient_copy(plan, form, "en")
    return render_template("clinic/page.html", **context), status


def plan_form(form: ClinicForm) -> dict[str, Any]:
    """The plan for the form, through the one planning path (raises InvalidInput as the API would)."""
    return planner().plan_json(plan_body(form))


@blp.get("/")
def page() -> tuple[str, int]:
    form = ClinicForm(
        as_of=clinic_today().isoformat(), drug=default_therapy().name, appointment_days=list(default_days())
    )
    return render_page(form)


@blp.get(PLAN_PATH)
@blp.get(LETTER_PATH)
@blp.get(HANDOUT_PATH)
def back_to_the_form() -> BaseResponse:
    # A reload or a bookmark of an answer page: the answer was never kept, so start again (no 405 JSON).
    return redirect("/", code=303)


def checked_plan(form: ClinicForm) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """The plan for the form, or every error found: the API's, and the letter fields' the page checks itself."""
    errors = letter_errors(form)
    try:
        answer = plan_form(form)
    except InvalidInput as error:
        return None, error.errors + errors
    return (answer, []) if not errors else (None, errors)


@blp.post(PLAN_PATH)
def plan() -> tuple[str, int]:
    form = posted_form()
    answer, errors = checked_plan(form)
    if answer is None:
        return render_page(form, errors=errors, status=422)
    return render_page(form, plan=answer)


@blp.post(CALENDAR_PATH)
def plan_calendar() -> Response | tuple[str, int]:
    form = posted_form()
    try:
        # The same path as POST /v1/plans.ics: the loaded request, answered, written as a calendar.
        return calendar_response(planner().answer_raw(plan_body(form)))
    except InvalidInput as error:
        return render_page(form, errors=error.errors, status=422)


@blp.post(HANDOUT_PATH)
def handout() -> tuple[str, int]:
    """The patient's copy of the plan, in the language asked for (English or French), to print."""
    form = posted_form()
    answer, errors = checked_plan(form)
    if answer is None:
        return render_page(form, errors=errors, status=422)
    language = request.form.get("handout_lang", "en")
    page = patient_copy(answer, form, language if language in HANDOUT_LANGUAGES else "en")
    return render_template("clinic/handout_page.html", handout=page), 200


def patient_copy(plan: dict[str, Any], form: ClinicForm, language: str) -> Any:
    # The plan named this drug, so the therapy is known (find() would raise for an unknown one).
    brands = tuple(planner().ruleset.therapies.find(plan["treatment"]["drug"]).brand_names)
    return handout_context(plan, form.needed_by, language, brands)


@blp.post(LETTER_PATH)
def letter() -> tuple[str, int]:
    form = posted_form()
    answer, errors = checked_plan(form)
    if answer is None:
        return render_page(form, errors=errors, status=422)
    item = yellow_fever_avoided(answer)
    if item is None:
        notice = (
            "This plan does not advise against yellow fever vaccine (add 'yellow fever' to the vaccines, or see "
            "its verdict), so there is no contraindication letter to write."
        )
        return render_page(form, plan=answer, notice=notice, status=422)
    return render_template("clinic/letter.html", **letter_context(answer, item, form), sources=LETTER_SOURCES), 200


@blp.get(RULES_PATH)
def rules() -> tuple[str, int]:
    """Every rule a plan can cite, with its source: what the rule ids on the page link to (the same data as
    GET /v1/rules, which needs an API key when the operator sets one)."""
    ruleset = planner().ruleset
    items = [{"group": group, **asdict(rule)} for group, rule in ruleset.all_rules()]
    return render_template("clinic/rules.html", rules=items, versions=dict(ruleset.therapies.versions)), 200
