"""The rules that apply to vaccines whatever the therapy: series, lead times, live-live spacing, and the ids
of the planner's own rules. Loaded once per ruleset (service.data.loader)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .catalog import Vaccine
from .series import Alternative, LeadTime, Series, single_dose
from .spacing import LiveVirusConflicts
from .therapy import Rule


@dataclass(frozen=True)
class VaccineRules:
    """Rules that apply to vaccines whatever the therapy: series, lead times, live-live spacing."""

    series: dict[str, Series]
    lead_times: dict[str, LeadTime]
    default_lead_time: LeadTime
    conflicts: LiveVirusConflicts
    rules: dict[str, Rule]
    single_dose_rule: str = "plan.single-dose"
    basis_rule: str = "plan.interval-basis"
    # Vaccine id -> the rule asking for an antibody check after a series given in B-cell depletion.
    serology: dict[str, str] = field(default_factory=dict)
    live_whole_rule: str = "plan.live-series-whole"
    depletion_rule: str = "plan.protection-in-depletion"
    yellow_fever_rule: str = "cdc.yellow-fever-mmr-spacing"
    not_counted_rule: str = "plan.live-dose-not-counted"
    live_priority_rule: str = "plan.live-priority"
    # Vaccine id -> its other schedules (series.choose_series picks among them for each request).
    alternatives: dict[str, tuple[Alternative, ...]] = field(default_factory=dict)

    # What each vaccine's rules come to, worked out once per ruleset (nothing in it depends on a request):
    # vaccine id -> (series, lead time, whether a minimum interval is shorter than the recommended one).
    _facts: dict[str, tuple[Series, LeadTime, bool]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    # Vaccine id -> most_doses, worked out once per ruleset as _facts is.
    _most_doses: dict[str, int] = field(default_factory=dict, init=False, compare=False, repr=False)

    def facts_for(self, vaccine: Vaccine) -> tuple[Series, LeadTime, bool]:
        """series_for, lead_time_for and has_shorter_minimum in one look-up (the planner needs all three)."""
        return self._facts_for(vaccine)

    def _facts_for(self, vaccine: Vaccine) -> tuple[Series, LeadTime, bool]:
        facts = self._facts.get(vaccine.id)
        if facts is None:
            series = self.series.get(vaccine.id) or single_dose(vaccine.id, self.single_dose_rule)
            lead = self.lead_times.get(vaccine.id, self.default_lead_time)
            facts = self._facts[vaccine.id] = (series, lead, _has_shorter_minimum(series))
        return facts

    def series_for(self, vaccine: Vaccine) -> Series:
        return self._facts_for(vaccine)[0]

    def lead_time_for(self, vaccine: Vaccine) -> LeadTime:
        return self._facts_for(vaccine)[1]

    def most_doses(self, vaccine: Vaccine) -> int:
        """The longest of the vaccine's schedules: how many doses `given` may list."""
        most = self._most_doses.get(vaccine.id)
        if most is None:
            lengths = [a.series.length for a in self.alternatives.get(vaccine.id, ())]
            most = self._most_doses[vaccine.id] = max([self.series_for(vaccine).length, *lengths])
        return most

    def has_shorter_minimum(self, vaccine: Vaccine) -> bool:
        """Whether the series has a minimum interval shorter than the recommended one (two proposals to weigh)."""
        return self._facts_for(vaccine)[2]


def _has_shorter_minimum(series: Series) -> bool:
    return any(i.recommended is not None and i.recommended != i.minimum for d in series.doses for i in d.intervals)
