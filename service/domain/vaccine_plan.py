"""One vaccine's answer: its timing, the doses proposed, and what the plan can say about protection."""

from __future__ import annotations

from datetime import date
from typing import Final

from .catalog import Match
from .requests import VaccineRequest
from .series import LeadTime, Proposal, Series
from .values import Value
from .windows import Timing


class VaccinePlan(Value):
    _fields = (
        "request",
        "match",
        "timing",
        "proposal",
        "series",
        "ready_on",
        "meets_needed_by",
        "ready_on_means",
        "serology_advised",
        "lead",
    )

    def __init__(
        self,
        request: VaccineRequest,
        match: Match,
        timing: Timing,
        proposal: Proposal,
        series: Series,
        ready_on: date | None,
        meets_needed_by: bool | None,
        ready_on_means: str | None = None,
        serology_advised: bool = False,
        lead: LeadTime | None = None,
    ) -> None:
        self.request: Final = request
        self.match: Final = match
        self.timing: Final = timing
        self.proposal: Final = proposal
        self.series: Final = series
        self.ready_on: Final = ready_on
        self.meets_needed_by: Final = meets_needed_by
        # "protection" (protective dose plus lead time) or "series_complete" (a dose fell in B-cell depletion).
        self.ready_on_means: Final = ready_on_means
        self.serology_advised: Final = serology_advised
        self.lead: Final = lead

    @property
    def protective_dose(self) -> int:
        """The dose from which protection counts."""
        return (self.lead.after_dose if self.lead else None) or self.series.length

    @property
    def lead_days(self) -> int:
        return self.lead.days if self.lead else 0

    @property
    def given_counted(self) -> int:
        """Doses given that still count (none when a maximum interval restarted the course)."""
        return len(self.proposal.counted(self.request.given))
