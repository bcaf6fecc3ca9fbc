"""Input checking the rules need beyond the request's shape: every vaccine and immunization found in the
catalog, dates not after as_of, no more doses given than the series has. Every problem is gathered, named by
its field, so that a client can fix a request in one round trip."""

from __future__ import annotations

from datetime import date

from .catalog import Catalog, LookupFailed, Match, Vaccine
from .errors import FieldError
from .history import VaccineGiven
from .requests import Immunization, PlanRequest, VaccineRequest
from .spacing import LiveEvent
from .vaccine_rules import VaccineRules


class Checked:
    """What input checking yields: resolved vaccines and immunizations, or the errors found (filled in by
    check_vaccines)."""

    def __init__(self) -> None:
        self.matches: list[Match] = []
        self.history: list[LiveEvent] = []
        # Every immunization, live or not, for the checks against the first dose (service.domain.history).
        self.recorded: list[VaccineGiven] = []
        self.errors: list[FieldError] = []


def _lookup(catalog: Catalog, name: str | None, cvx: str | None, index: int) -> Match:
    match = catalog.as_written(name, cvx)
    if match is not None:
        return match  # the usual case, without naming the field a failed look-up would report
    prefix = f"vaccines[{index}]"
    if cvx is not None:
        return catalog.by_cvx(cvx, f"{prefix}.cvx")
    assert name is not None  # the HTTP schema guarantees exactly one of the two
    return catalog.by_name(name, f"{prefix}.name")


def _check_dates(days: tuple[date, ...], as_of: date, prefix: str) -> list[FieldError]:
    errors = []
    seen: dict[date, int] = {}
    for j, day in enumerate(days):
        if day > as_of:
            errors.append(
                FieldError(f"{prefix}[{j}]", f"{day} is after as_of {as_of}: only doses already given belong here")
            )
        if day in seen:
            errors.append(FieldError(f"{prefix}[{j}]", f"{day} repeats {prefix}[{seen[day]}]"))
        seen.setdefault(day, j)
    return errors


def vaccine_errors(
    index: int, req: VaccineRequest, as_of: date | None, catalog: Catalog, rules: VaccineRules, given_known: bool = True
) -> tuple[Match | None, list[FieldError]]:
    """The catalog match of vaccines[index] and what is wrong with it. `as_of` None: unknown (itself invalid),
    so no date is compared with it; `given_known` False: the given list was invalid, so it is not checked."""
    try:
        match = _lookup(catalog, req.name, req.cvx, index)
    except LookupFailed as failed:
        return None, [failed.error]
    errors: list[FieldError] = []
    if given_known:
        if as_of is not None and req.given:
            errors += _check_dates(req.given, as_of, f"vaccines[{index}].given")
        length = rules.most_doses(match.vaccine)
        if len(req.given) > length:
            errors.append(
                FieldError(
                    f"vaccines[{index}].given",
                    f"{len(req.given)} doses given, but the {match.vaccine.name} series planned here has {length}",
                    code="too_many_doses",
                )
            )
    if req.needed_by is not None and as_of is not None and req.needed_by < as_of:
        errors.append(FieldError(f"vaccines[{index}].needed_by", f"{req.needed_by} is before as_of {as_of}"))
    return match, errors


def immunization_errors(
    index: int, imm: Immunization | None, name: str | None, cvx: str | None, as_of: date | None, catalog: Catalog
) -> tuple[Vaccine | None, list[FieldError]]:
    """immunizations[index]: the catalog vaccine it names (None when it names none), and what is wrong with it.
    `imm` None: its date is unknown (itself invalid), so only the name or code is looked up."""
    prefix = f"immunizations[{index}]"
    errors: list[FieldError] = []
    if imm is not None and as_of is not None and imm.day > as_of:
        errors.append(
            FieldError(f"{prefix}.date", f"{imm.day} is after as_of {as_of}: only vaccines already given belong here")
        )
    try:
        vaccine = catalog.recorded(name, cvx, f"{prefix}.cvx" if cvx is not None else f"{prefix}.name")
    except LookupFailed as failed:
        return None, [*errors, failed.error]
    return vaccine, errors


def check_vaccines(request: PlanRequest, catalog: Catalog, rules: VaccineRules) -> Checked:
    out = Checked()
    for i, req in enumerate(request.vaccines):
        match, errors = vaccine_errors(i, req, request.as_of, catalog, rules)
        out.errors += errors
        if match is not None:
            out.matches.append(match)
    for i, imm in enumerate(request.immunizations):
        vaccine, errors = immunization_errors(i, imm, imm.name, imm.cvx, request.as_of, catalog)
        out.errors += errors
        if vaccine is not None:
            out.recorded.append(VaccineGiven(vaccine, imm.day))
            if vaccine.live:
                out.history.append(LiveEvent(vaccine, imm.day))
    return out


def field_order(name: str) -> tuple[int, int]:
    """Sort key putting errors in the order of the request's fields, list items by index (vaccines[2] before
    vaccines[10]); a stable sort keeps each item's own order."""
    for rank, prefix in enumerate(("as_of", "treatment", "vaccines", "immunizations", "horizon_days", "patient")):
        if name.startswith(prefix):
            index = name[len(prefix) + 1 : name.find("]")] if name[len(prefix) : len(prefix) + 1] == "[" else ""
            return rank, int(index) if index.isdigit() else -1
    return 9, -1
