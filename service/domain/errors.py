"""Errors the rules raise about their input, each naming the request field it concerns.

The HTTP shell turns these into RFC 9457 problem documents; the domain only says what is wrong and where.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
