"""The clinic page's form: what a nurse typed, the plan request body it stands for, and where each error goes.

Field names are the API's (`as_of`, `drug`, `start_date`, `doses`, `stopped_on`, `b_cell_repletion_on`,
`immunizations[i].name` / `immunizations[i].date`, `vaccines`, `needed_by`), so anyone automating the page
reads the contract. The form is turned into exactly the JSON body POST /v1/plans takes and planned through
the shared Planner: the page cannot answer differently from the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

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
_API_INDEXED = re.compile(r"^(treatment\.doses|vaccines|immunizations)\[(\d+)\](?:\.(\w+))?$")


@dataclass
class ClinicForm:
    """The form's values as typed (strings, blanks dropped from lists), in the order shown."""

    as_of: str = ""
    drug: str = ""
    # Blank: the therapy's default cadence, and the stricter of its labels' rules.
    cadence: str = ""
    label: str = ""
    start_date: str = ""
    doses: list[str] = field(default_factory=list)
    stopped_on: str = ""
    b_cell_repletion_on: str = ""
    immunizations: list[tuple[str, str]] = field(default_factory=list)
    vaccines: list[str] = field(default_factory=list)
    needed_by: str = ""
    # Not part of the plan: the last day of the trip, printed on the yellow fever letter only.
    return_on: str = ""

    def dose_inputs(self) -> list[str]:
        return _padded(self.doses, SPARE_DOSES, MIN_DOSE_INPUTS, "")

    def immunization_rows(self) -> list[tuple[str, str]]:
        return _padded(self.immunizations, SPARE_IMMUNIZATIONS, MIN_IMMUNIZATION_ROWS, ("", ""))

    def vaccine_inputs(self) -> list[str]:
        return _padded(self.vaccines, SPARE_VACCINES, MIN_VACCINE_INPUTS, "")


def _padded(values: list[Any], spare: int, minimum: int, blank: Any) -> list[Any]:
    count = min(MAX_ROWS, max(minimum, len(values) + spare))
    return values + [blank] * (count - len(values))


def _text(form: MultiDict[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def read_form(form: MultiDict[str, str]) -> ClinicForm:
    """The posted form as a ClinicForm. A `pick` button ("index|name") replaces one vaccine name with the
    catalog entry the nurse chose from the candidates the planner offered."""
    vaccines = [v.strip() for v in form.getlist("vaccines") if v.strip()][:MAX_ROWS]
    pick = _text(form, "pick")
    index, _, name = pick.partition("|")
    if index.isdigit() and name.strip() and int(index) < len(vaccines):
        vaccines[int(index)] = name.strip()
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = _IMMUNIZATION_KEY.match(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = _text(form, key)
    immunizations = [
        (row.get("name", ""), row.get("date", ""))
        for _, row in sorted(rows.items())
        if row.get("name") or row.get("date")
    ][:MAX_ROWS]
    cadence, label = _text(form, "cadence"), _text(form, "label")
    return ClinicForm(
        as_of=_text(form, "as_of"),
        drug=_text(form, "drug"),
        cadence=cadence if _CHOICE.match(cadence) else "",
        label=label if _CHOICE.match(label) else "",
        start_date=_text(form, "start_date"),
        doses=[d.strip() for d in form.getlist("doses") if d.strip()][:MAX_ROWS],
        stopped_on=_text(form, "stopped_on"),
        b_cell_repletion_on=_text(form, "b_cell_repletion_on"),
        immunizations=immunizations,
        vaccines=vaccines,
        needed_by=_text(form, "needed_by"),
        return_on=_text(form, "return_on"),
    )


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
    body: dict[str, Any] = {"treatment": treatment}
    if form.as_of:
        body["as_of"] = form.as_of
    if form.immunizations:
        body["immunizations"] = [{"name": name, "date": day} for name, day in form.immunizations]
    vaccines: list[dict[str, Any]] = []
    for name in form.vaccines:
        item: dict[str, Any] = {"name": name}
        if form.needed_by:  # one departure date for the whole trip
            item["needed_by"] = form.needed_by
        vaccines.append(item)
    body["vaccines"] = vaccines
    return body


def form_key(api_field: str) -> str:
    """The page's input for an API error's field: `treatment.doses[1]` -> `doses-1`, `vaccines[2].name` ->
    `vaccines-2`, `immunizations[0].date` -> `immunizations-0-date`, `vaccines[0].needed_by` -> `needed_by`.
    Anything the form has no input for is shown above the form (key "form")."""
    match = _API_INDEXED.match(api_field)
    if match:
        group, index, leaf = match.groups()
        if group == "treatment.doses":
            return f"doses-{index}"
        if group == "vaccines":
            return "needed_by" if leaf == "needed_by" else f"vaccines-{index}"
        return f"immunizations-{index}-{leaf or 'name'}"
    name = api_field.removeprefix("treatment.")
    if name in ("as_of", "drug", "cadence", "label", "start_date", "doses", "stopped_on", "b_cell_repletion_on"):
        return name
    if name in ("vaccines", "immunizations"):
        return name
    if name == "treatment":
        return "drug"
    return "form"
