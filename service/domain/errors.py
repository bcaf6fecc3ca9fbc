"""Errors the rules raise about their input, each naming the request field it concerns.

The HTTP shell turns these into RFC 9457 problem documents; the domain only says what is wrong and where.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Every FieldError.code a response can carry, with what it means: the API documents this list (FieldError in
# openapi.yaml), and a test holds it equal to the codes the code base writes. A new code goes here first.
ERROR_CODES: dict[str, str] = {
    "invalid": "the value is malformed, out of range or contradicts another field",
    "required": "a required field is missing",
    "unknown_field": "the field is not part of the contract",
    "unknown_therapy": "the drug is not a supported therapy (candidates: the supported ones)",
    "unknown_vaccine": "no catalog entry has this name or CVX code",
    "ambiguous_vaccine": "the name or code does not say which product (live or not): candidates lists them",
    "too_many_doses": "more doses given than the vaccine's series planned here has",
    "partial_history": (
        "treatment.doses cannot be read as a new start and no start_date says they are the recent part of an "
        "established therapy: send treatment.start_date"
    ),
    "implausible_repletion": (
        "treatment.b_cell_repletion_on is sooner after the last dose than the therapy's profile allows (one dosing "
        "interval: 28 days for ofatumumab, GET /v1/therapies): it cannot be a recovery after discontinuation"
    ),
}


@dataclass(frozen=True)
class Candidate:
    """A catalog entry offered when a request names something the service cannot pin down."""

    id: str
    name: str
    cvx: tuple[str, ...]
    live: bool | None


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, addressed with a JSON-path-like name (`vaccines[2].name`)."""

    field: str
    message: str
    candidates: tuple[Candidate, ...] = ()
    code: str = "invalid"


@dataclass
class InvalidInput(Exception):
    """Well-formed input that the rules cannot accept; carries every field error found."""

    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:  # pragma: no cover - for debugging only, never sent to clients
        return "; ".join(f"{e.field}: {e.message}" for e in self.errors)
