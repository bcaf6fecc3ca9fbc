"""What a plan request says, once checked for shape: the vaccines asked for, the vaccines already given, the
treatment and the horizon. Value classes with no rules in them: the planner and the front ends share them."""

from __future__ import annotations

from datetime import date
from typing import Final

from .schedule import Treatment
from .values import Value


class VaccineRequest(Value):
    """One requested vaccine: exactly one of `name` or `cvx`, with its series so far and its deadline."""

    _fields = ("name", "cvx", "given", "needed_by")

    def __init__(
        self,
        name: str | None = None,
        cvx: str | None = None,
        given: tuple[date, ...] = (),
        needed_by: date | None = None,
    ) -> None:
        self.name: Final = name
        self.cvx: Final = cvx
        self.given: Final = given
        self.needed_by: Final = needed_by


class Immunization(Value):
    """A vaccine already given, by CVX code or name, for live-live spacing."""

    _fields = ("day", "name", "cvx")

    def __init__(self, day: date, name: str | None = None, cvx: str | None = None) -> None:
        self.day: Final = day
        self.name: Final = name
        self.cvx: Final = cvx


class PlanRequest(Value):
    _fields = ("as_of", "treatment", "vaccines", "horizon_days", "immunizations", "birth_date")

    def __init__(
        self,
        as_of: date,
        treatment: Treatment,
        vaccines: tuple[VaccineRequest, ...],
        horizon_days: int,
        immunizations: tuple[Immunization, ...] = (),
        birth_date: date | None = None,
    ) -> None:
        self.as_of: Final = as_of
        self.treatment: Final = treatment
        self.vaccines: Final = vaccines
        self.horizon_days: Final = horizon_days
        self.immunizations: Final = immunizations
        # patient.birth_date: only for age-dependent schedules (series.choose_series); never logged.
        self.birth_date: Final = birth_date
