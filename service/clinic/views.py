"""The travel clinic page: `GET /` and form posts to /clinic/... (never patient data in a URL).

Every answer comes from the shared Planner (`app.extensions["planner"].plan_json`), given the same JSON body
POST /v1/plans takes, so the page and the API cannot disagree. The page's routes are not the JSON API: they
are left out of openapi.yaml, like /docs. Every response is `Cache-Control: no-store`; the access log holds
the route template and status only (service/observability.py).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request
from werkzeug.wrappers.response import Response as BaseResponse

from service.api.ics import calendar_response
from service.domain.errors import FieldError, InvalidInput
from service.domain.therapy import TherapyProfile
from service.planning import Planner

from .form import ClinicForm, form_key, plan_body, read_form
from .letter import LETTER_SOURCES, letter_context
from .present import key_windows, long_date, readiness, timeline, verdict, yellow_fever_avoided

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
RULES_PATH = "/clinic/rules"


# How the error summary names each input (indexed inputs are named in render_page).
FIELD_LABELS = {
    "as_of": "Plan as of",
    "drug": "Medicine",
    "cadence": "Maintenance cadence",
    "label": "Prescribing information",
    "start_date": "First dose",
    "doses": "Injections given",
    "stopped_on": "Stopped on",
    "b_cell_repletion_on": "B-cell repletion confirmed on",
    "immunizations": "Vaccines already given",
    "vaccines": "Vaccines wanted",
    "needed_by": "Departure date",
    "form": "The request",
}


def field_label(key: str) -> str:
    group, _, rest = key.partition("-")
    if group in ("doses", "vaccines") and rest.isdigit():
        return f"{'Injection' if group == 'doses' else 'Vaccine wanted'} {int(rest) + 1}"
    if group == "immunizations" and rest:
        index, _, leaf = rest.partition("-")
        return f"Vaccine already given {int(index) + 1}{' (date)' if leaf == 'date' else ''}"
    return FIELD_LABELS.get(key, key)


def planner() -> Planner:
    return current_app.extensions["planner"]  # type: ignore[no-any-return]


@blp.after_request
def never_stored(response: Response) -> Response:
    # The page shows (or was posted) a treatment history: no cache on the way may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.app_template_filter("long_date")
def _long_date(text: str) -> str:
    return long_date(text)


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


def default_therapy() -> TherapyProfile:
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
        "paths": {"plan": PLAN_PATH, "ics": CALENDAR_PATH, "letter": LETTER_PATH, "rules": RULES_PATH},
    }
    if plan is not None:
        context["results"] = [
            {
                "item": item,
                "verdict": verdict(item, plan["as_of"], plan["horizon_end"]),
                "readiness": readiness(item),
                "windows": key_windows(item, form.needed_by),
            }
            for item in plan["vaccines"]
        ]
        context["timeline"] = timeline(plan, form.needed_by or None)
        context["letter_due"] = yellow_fever_avoided(plan) is not None
    return render_template("clinic/page.html", **context), status


def plan_form(form: ClinicForm) -> dict[str, Any]:
    """The plan for the form, through the one planning path (raises InvalidInput as the API would)."""
    return planner().plan_json(plan_body(form))


@blp.get("/")
def page() -> tuple[str, int]:
    return render_page(ClinicForm(as_of=planner().today().isoformat(), drug=default_therapy().name))


@blp.get(PLAN_PATH)
@blp.get(LETTER_PATH)
def back_to_the_form() -> BaseResponse:
    # A reload or a bookmark of an answer page: the answer was never kept, so start again (no 405 JSON).
    return redirect("/", code=303)


@blp.post(PLAN_PATH)
def plan() -> tuple[str, int]:
    form = read_form(request.form)
    try:
        answer = plan_form(form)
    except InvalidInput as error:
        return render_page(form, errors=error.errors, status=422)
    return render_page(form, plan=answer)


@blp.post(CALENDAR_PATH)
def plan_calendar() -> Response | tuple[str, int]:
    form = read_form(request.form)
    try:
        # The same path as POST /v1/plans.ics: the loaded request, answered, written as a calendar.
        return calendar_response(planner().answer_raw(plan_body(form)))
    except InvalidInput as error:
        return render_page(form, errors=error.errors, status=422)


@blp.post(LETTER_PATH)
def letter() -> tuple[str, int]:
    form = read_form(request.form)
    try:
        answer = plan_form(form)
    except InvalidInput as error:
        return render_page(form, errors=error.errors, status=422)
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
