"""The clinic page's form: what a nurse typed, the plan request body it stands for, and where each error goes.

Field names are the API's (`as_of`, `drug`, `start_date`, `doses`, `stopped_on`, `b_cell_repletion_on`, `lymphocytes_normal_on`,
`immunizations[i].name` / `immunizations[i].date`, `vaccines`, `given` (one input beside each vaccine: its
doses already given), `needed_by`, `appointment_days`, `birth_date` for `patient.birth_date`), so anyone
automating the page reads the contract.
`return_on` and `destination` are printed on the yellow fever letter only, and checked here. The form is
turned into exactly the JSON body POST /v1/plans takes and planned through the shared Planner: the page
cannot answer differently from the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from service.domain.errors import FieldError
from service.domain.series import WEEKDAYS

# Blank inputs the page shows beyond what was typed, so more can be added without JavaScript.
SPARE_DOSES = 2
SPARE_IMMUNIZATIONS = 2
SPARE_VACCINES = 2
MIN_DOSE_INPUTS = 4  # the longest starter sequence (ofatumumab: weeks 0, 1, 2 and 4)
MIN_IMMUNIZATION_ROWS = 2
MIN_VACCINE_INPUTS = 4
# Bounds that keep a hand-made form post small; the planner checks the contract's own limits after these.
MAX_ROWS = 50
# A cadence or label as the form may post it; which ones a therapy takes is the planner's to say (a 422 naming
# the field and the therapy's values), the form only keeps a hand-made post small.
_CHOICE = re.compile(r"^[a-z0-9_]{1,40}$")
_IMMUNIZATION_KEY = re.compile(r"^immunizations\[(\d{1,2})\]\.(name|date)$")
_API_INDEXED = re.compile(r"^(treatment\.doses|vaccines|immunizations)\[(\d+)\](?:\.(\w+)(?:\[\d+\])?)?$")
# How the doses of a vaccine already given may be separated in their one input.
_DATE_SEPARATORS = re.compile(r"[\s,;]+")
# A clinic open on weekdays: the page's opening days unless the operator sets PLANNER_APPOINTMENT_DAYS.
DEFAULT_APPOINTMENT_DAYS = ("mon", "tue", "wed", "thu", "fri")
# Bounds on the letter's free text: long enough for any destination, short enough to keep its layout.
MAX_DESTINATION = 120


@dataclass
class ClinicForm:
    """The form's values as typed (strings, blanks dropped from lists), in the order shown."""

    as_of: str = ""
    # patient.birth_date: optional; it decides the age-dependent schedules only. Patient data: never logged.
    birth_date: str = ""
    drug: str = ""
    # Blank: the therapy's default cadence, and the stricter of its labels' rules.
    cadence: str = ""
    label: str = ""
    start_date: str = ""
    doses: list[str] = field(default_factory=list)
    stopped_on: str = ""
    b_cell_repletion_on: str = ""
    lymphocytes_normal_on: str = ""
    immunizations: list[tuple[str, str]] = field(default_factory=list)
    vaccines: list[str] = field(default_factory=list)
    # Beside each vaccine, in the same order: the doses of it already given, as typed (dates, comma-separated).
    given: list[str] = field(default_factory=list)
    needed_by: str = ""
    # The clinic's opening days (the request's appointment_days), in week order.
    appointment_days: list[str] = field(default_factory=lambda: list(DEFAULT_APPOINTMENT_DAYS))
    # Not part of the plan: the last day of the trip and where to, printed on the yellow fever letter only.
    return_on: str = ""
    destination: str = ""

    def dose_inputs(self) -> list[str]:
        return _padded(self.doses, SPARE_DOSES, MIN_DOSE_INPUTS, "")

    def immunization_rows(self) -> list[tuple[str, str]]:
        return _padded(self.immunizations, SPARE_IMMUNIZATIONS, MIN_IMMUNIZATION_ROWS, ("", ""))

    def vaccine_inputs(self) -> list[str]:
        return _padded(self.vaccines, SPARE_VACCINES, MIN_VACCINE_INPUTS, "")

    def vaccine_rows(self) -> list[tuple[str, str]]:
        """(name, doses already given) for each vaccine input, spares included."""
        given = self.given + [""] * (len(self.vaccines) - len(self.given))
        return _padded(list(zip(self.vaccines, given, strict=True)), SPARE_VACCINES, MIN_VACCINE_INPUTS, ("", ""))

    def given_days(self, index: int) -> list[str]:
        """The doses already given of vaccine `index`, one string per date typed (the API checks each)."""
        text = self.given[index] if index < len(self.given) else ""
        return [part for part in _DATE_SEPARATORS.split(text) if part]


def _padded(values: list[Any], spare: int, minimum: int, blank: Any) -> list[Any]:
    count = min(MAX_ROWS, max(minimum, len(values) + spare))
    return values + [blank] * (count - len(values))


def _text(form: MultiDict[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def read_form(form: MultiDict[str, str], default_days: tuple[str, ...] = DEFAULT_APPOINTMENT_DAYS) -> ClinicForm:
    """The posted form as a ClinicForm. A `pick` button ("index|name") replaces one vaccine name with the
    catalog entry the nurse chose from the candidates the planner offered."""
    typed_given = form.getlist("given")
    vaccine_rows = [
        (name.strip(), typed_given[i].strip() if i < len(typed_given) else "")
        for i, name in enumerate(form.getlist("vaccines"))
    ]
    kept = [(name, given) for name, given in vaccine_rows if name][:MAX_ROWS]
    vaccines = [name for name, _ in kept]
    pick = _text(form, "pick")
    index, _, name = pick.partition("|")
    if index.isdigit() and name.strip() and int(index) < len(vaccines):
        vaccines[int(index)] = name.strip()
    typed_immunizations: dict[int, dict[str, str]] = {}
    for key in form:
        match = _IMMUNIZATION_KEY.match(key)
        if match:
            typed_immunizations.setdefault(int(match.group(1)), {})[match.group(2)] = _text(form, key)
    immunizations = [
        (row.get("name", ""), row.get("date", ""))
        for _, row in sorted(typed_immunizations.items())
        if row.get("name") or row.get("date")
    ][:MAX_ROWS]
    # The checkboxes post only the days ticked: `appointment_days_shown` tells "none ticked" (an error the API
    # names) from a post made without them (a hand-made or older form: the clinic's default days).
    if form.get("appointment_days_shown"):
        days = form.getlist("appointment_days")
        appointment_days = [d for d in WEEKDAYS if d in days] + [d for d in days if d not in WEEKDAYS][:7]
    else:
        appointment_days = list(default_days)
    cadence, label = _text(form, "cadence"), _text(form, "label")
    return ClinicForm(
        as_of=_text(form, "as_of"),
        birth_date=_text(form, "birth_date"),
        drug=_text(form, "drug"),
        cadence=cadence if _CHOICE.match(cadence) else "",
        label=label if _CHOICE.match(label) else "",
        start_date=_text(form, "start_date"),
        doses=[d.strip() for d in form.getlist("doses") if d.strip()][:MAX_ROWS],
        stopped_on=_text(form, "stopped_on"),
        b_cell_repletion_on=_text(form, "b_cell_repletion_on"),
        lymphocytes_normal_on=_text(form, "lymphocytes_normal_on"),
        immunizations=immunizations,
        vaccines=vaccines,
        given=[given for _, given in kept],
        needed_by=_text(form, "needed_by"),
        appointment_days=appointment_days,
        return_on=_text(form, "return_on"),
        destination=" ".join(_text(form, "destination").split())[:MAX_DESTINATION],
    )


def _iso(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def letter_errors(form: ClinicForm) -> list[FieldError]:
    """What is wrong with the fields only the yellow fever letter prints (the API never sees them)."""
    if not form.return_on:
        return []
    back = _iso(form.return_on)
    if back is None:
        return [FieldError("return_on", "Not a valid date: use YYYY-MM-DD.")]
    leave = _iso(form.needed_by)
    if leave is not None and back < leave:
        return [FieldError("return_on", "The return date is before the departure date: check both dates.")]
    return []


def plan_body(form: ClinicForm) -> dict[str, Any]:
    """The POST /v1/plans body the form stands for. Blank fields are left out, never sent as ""."""
    treatment: dict[str, Any] = {"drug": form.drug}
    if form.cadence:
        treatment["cadence"] = form.cadence
    if form.label:
        treatment["label"] = form.label
    if form.start_date:
        treatment["start_date"] = form.start_date
    if form.doses:
        treatment["doses"] = list(form.doses)
    if form.stopped_on:
        treatment["stopped_on"] = form.stopped_on
    if form.b_cell_repletion_on:
        treatment["b_cell_repletion_on"] = form.b_cell_repletion_on
    if form.lymphocytes_normal_on:
        treatment["lymphocytes_normal_on"] = form.lymphocytes_normal_on
    body: dict[str, Any] = {"treatment": treatment}
    if form.as_of:
        body["as_of"] = form.as_of
    if form.birth_date:
        body["patient"] = {"birth_date": form.birth_date}
    if form.immunizations:
        body["immunizations"] = [{"name": name, "date": day} for name, day in form.immunizations]
    vaccines: list[dict[str, Any]] = []
    for index, name in enumerate(form.vaccines):
        item: dict[str, Any] = {"name": name}
        given = form.given_days(index)
        if given:
            item["given"] = given
        if form.needed_by:  # one departure date for the whole trip
            item["needed_by"] = form.needed_by
        vaccines.append(item)
    body["vaccines"] = vaccines
    # Always sent, so that the clinic's days are the plan's (none ticked: the API's error names the field).
    body["appointment_days"] = list(form.appointment_days)
    return body


def form_key(api_field: str) -> str:
    """The page's input for an API error's field: `treatment.doses[1]` -> `doses-1`, `vaccines[2].name` ->
    `vaccines-2`, `immunizations[0].date` -> `immunizations-0-date`, `vaccines[0].needed_by` -> `needed_by`,
    `patient.birth_date` -> `birth_date`.
    Anything the form has no input for is shown above the form (key "form")."""
    match = _API_INDEXED.match(api_field)
    if match:
        group, index, leaf = match.groups()
        if group == "treatment.doses":
            return f"doses-{index}"
        if group == "vaccines":
            if leaf == "given":
                return f"vaccines-{index}-given"
            return "needed_by" if leaf == "needed_by" else f"vaccines-{index}"
        return f"immunizations-{index}-{leaf or 'name'}"
    if api_field.startswith("appointment_days"):
        return "appointment_days"
    if api_field == "patient" or api_field.startswith("patient."):
        return "birth_date"  # the page's one patient input
    name = api_field.removeprefix("treatment.")
    if name in (
        "as_of",
        "drug",
        "cadence",
        "label",
        "start_date",
        "doses",
        "stopped_on",
        "b_cell_repletion_on",
        "lymphocytes_normal_on",
    ):
        return name
    if name in ("vaccines", "immunizations", "return_on"):
        return name
    if name == "treatment":
        return "drug"
    return "form"
