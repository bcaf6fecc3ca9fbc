"""What a plan request says, once checked for shape: the vaccines asked for, the vaccines already given, the
treatment and the horizon. Value classes with no rules in them: the planner and the front ends share them."""

from __future__ import annotations

from datetime import date
from typing import Final

from .schedule import Treatment
from .series import EVERY_DAY, AppointmentDays
from .values import Value


class VaccineRequest(Value):
    """One requested vaccine: exactly one of `name` or `cvx`, with its series so far, its deadline and the
    weekdays its doses may be proposed on (the request's `appointment_days`, the same for every vaccine: carried
    here because the placement of each vaccine's doses reads them, as it reads needed_by)."""

    _fields = ("name", "cvx", "given", "needed_by", "appointment_days")

    def __init__(
        self,
        name: str | None = None,
        cvx: str | None = None,
        given: tuple[date, ...] = (),
        needed_by: date | None = None,
        appointment_days: AppointmentDays = EVERY_DAY,
    ) -> None:
        self.name: Final = name
        self.cvx: Final = cvx
        self.given: Final = given
        self.needed_by: Final = needed_by
        self.appointment_days: Final = appointment_days


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
