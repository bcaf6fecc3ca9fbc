"""Live vaccines among themselves: the days a live vaccine loses to the live vaccines already given (live-live
spacing, CDSi), and yellow fever vaccine kept 30 days from MMR, MMRV or varicella vaccine where possible (CDC)."""

from __future__ import annotations

from datetime import date, timedelta
from operator import attrgetter

from .advisories import YELLOW_FEVER_WITH_MMR_VARICELLA, PlanWarning
from .catalog import Vaccine
from .intervals import shift
from .requests import VaccineRequest
from .series import Proposal, Series, propose, ready_on
from .spacing import Conflict, Constraints, LiveEvent, LiveSpacing, LiveVirusConflicts
from .vaccine_plan import VaccinePlan
from .vaccine_rules import VaccineRules
from .windows import AVOID, Timing, Window


def subtract(windows: tuple[Window, ...], start: date, end: date) -> tuple[Window, ...]:
    """Windows without the days [start, end]: the same tuple when none of them has any of those days."""
    for w in windows:
        if not (end < w.start or start > w.end):
            break
    else:
        return windows
    out: list[Window] = []
    for w in windows:
        if end < w.start or start > w.end:
            out.append(w)
            continue
        if w.start < start:
            out.append(Window(w.kind, w.start, shift(start, -1)))
        if end < w.end:
            out.append(Window(w.kind, shift(end, 1), w.end))
    return tuple(out)


_day = attrgetter("day")


def space_from_history(
    vaccine: Vaccine, timing: Timing, history: list[LiveEvent], conflicts: LiveVirusConflicts
) -> Timing:
    """A live vaccine's windows without the days that conflict with live vaccines already given."""
    if not vaccine.live or not timing.windows:
        return timing
    windows, rules, notes = timing.windows, list(timing.rules), []
    for event in sorted(history, key=_day):
        conflict = conflicts.between(event.vaccine, vaccine)
        if conflict is None:
            continue
        start = shift(event.day, conflict.begin_days)
        end = shift(event.day, conflict.end_days - 1)
        narrowed = subtract(windows, start, end)
        if narrowed is not windows:  # a new tuple only when the conflict took days away
            windows = narrowed
            if conflict.rule not in rules:
                rules.append(conflict.rule)
            notes.append(
                f"{event.vaccine.name} was given on {event.day}: another live vaccine must wait "
                f"{conflict.end_days} days (or be given the same day), so not before {shift(end, 1)}."
            )
    if windows == timing.windows:
        return timing
    reason = timing.reason + " " + " ".join(notes)
    if not windows:
        reason = (
            "Live vaccine: no permitted day is left in the horizon. "
            + " ".join(notes)
            + " Without that conflict: "
            + timing.reason
        )
        return timing.replaced(status=AVOID, windows=(), reason=reason, rules=tuple(rules))
    return timing.replaced(status=windows[0].kind, windows=windows, reason=reason, rules=tuple(rules))


class HistorySpacing:
    """space_from_history for every live vaccine of one plan, worked out once per kind of conflict.

    A live vaccine's windows after spacing from the history depend on the vaccine only through its conflict
    with each vaccine of the history (its windows before spacing are the plan's live windows, the same for
    all). Live vaccines that conflict alike with every one of them, most of the catalog's live vaccines,
    get the same answer: it is worked out once and reused, so a long vaccine history is read once per kind
    of conflict, not once per vaccine requested (200 immunizations and 50 vaccines cost their product)."""

    def __init__(self, history: list[LiveEvent], conflicts: LiveVirusConflicts) -> None:
        self.history = history
        self.conflicts = conflicts
        kinds: dict[str, Vaccine] = {}
        for event in history:
            kinds.setdefault(event.vaccine.id, event.vaccine)
        self.kinds = list(kinds.values())
        self.spaced: dict[tuple[Conflict | None, ...], Timing] = {}
        self.constrained: dict[tuple[Conflict | None, ...], Constraints] = {}

    def space(self, vaccine: Vaccine, timing: Timing) -> Timing:
        """space_from_history(vaccine, timing, history): `timing` must be the plan's live timing."""
        between = self.conflicts.between
        key = tuple([between(kind, vaccine) for kind in self.kinds])
        spaced = self.spaced.get(key)
        if spaced is None:
            spaced = self.spaced[key] = space_from_history(vaccine, timing, self.history, self.conflicts)
        return spaced

    def constraints(self, vaccine: Vaccine) -> Constraints:
        """LiveVirusConflicts.constraints(vaccine, history): what the history asks of the vaccine's spacing,
        which depends on the vaccine only through its conflicts with each vaccine of the history, both ways."""
        between = self.conflicts.between
        key = tuple([c for kind in self.kinds for c in (between(kind, vaccine), between(vaccine, kind))])
        found = self.constrained.get(key)
        if found is None:
            found = self.constrained[key] = self.conflicts.constraints(vaccine, self.history)
        return found


# Antigens whose vaccines CDC advises giving at least 30 days from yellow fever vaccine where possible.
_YF_PARTNER_ANTIGENS = frozenset({"Measles", "Mumps", "Rubella", "Varicella"})
YF_SPACING_DAYS = 30


def _yellow_fever_partners(vaccine: Vaccine, fixed: list[LiveEvent]) -> list[LiveEvent]:
    """The live vaccines in `fixed` that CDC advises keeping 30 days from this one (yellow fever and MMR,
    MMRV or varicella, either way round)."""
    if "Yellow Fever" in vaccine.antigens:
        return [e for e in fixed if not _YF_PARTNER_ANTIGENS.isdisjoint(e.vaccine.antigens)]
    if not _YF_PARTNER_ANTIGENS.isdisjoint(vaccine.antigens):
        return [e for e in fixed if "Yellow Fever" in e.vaccine.antigens]
    return []


def apart_from_yellow_fever(
    vaccine: Vaccine,
    series: Series,
    given: tuple[date, ...],
    timing: Timing,
    proposal: Proposal,
    fixed: list[LiveEvent],
    spacing: LiveSpacing | None,
    rules: VaccineRules,
    req: VaccineRequest,
    as_of: date,
) -> tuple[Proposal, str] | None:
    """The series moved 30 days from yellow fever (or from MMR/varicella, for yellow fever) when the plan put
    them closer, if it still completes in the windows, as early before the start and by needed_by; else None
    (the plan keeps the same day, and the plan's warnings say so)."""
    partners = _yellow_fever_partners(vaccine, fixed)
    close = [e for e in partners for p in proposal.doses if abs((p.day - e.day).days) < YF_SPACING_DAYS]
    if not close:
        return None
    windows = timing.windows
    for event in partners:
        margin = timedelta(days=YF_SPACING_DAYS - 1)
        windows = subtract(windows, event.day - margin, event.day + margin)
    apart = propose(series, given, windows, as_of, proposal.basis, spacing)
    if not apart.complete:
        return None
    if req.needed_by is not None:
        before = ready_on(proposal, given, rules.lead_time_for(vaccine), series)
        after = ready_on(apart, given, rules.lead_time_for(vaccine), series)
        if before is not None and before <= req.needed_by and (after is None or after > req.needed_by):
            return None
    return apart, close[0].vaccine.name


def yellow_fever_warnings(plans: list[VaccinePlan], history: list[LiveEvent], rules: VaccineRules) -> list[PlanWarning]:
    """Yellow fever vaccine and an MMR, MMRV or varicella vaccine on the same day or under 30 days apart,
    given or proposed (rule cdc.yellow-fever-mmr-spacing)."""
    events: list[tuple[Vaccine, date, bool]] = [
        (e.vaccine, e.day, False)
        for e in history
        if "Yellow Fever" in e.vaccine.antigens or not _YF_PARTNER_ANTIGENS.isdisjoint(e.vaccine.antigens)
    ]
    for vp in plans:
        vaccine = vp.match.vaccine
        # Most plans have neither kind: their doses are not listed at all (the lists below would drop them).
        if "Yellow Fever" in vaccine.antigens or not _YF_PARTNER_ANTIGENS.isdisjoint(vaccine.antigens):
            events += [(vaccine, day, False) for day in vp.request.given]
            events += [(vaccine, p.day, True) for p in vp.proposal.doses]
    yellow = [(v, d, prop) for v, d, prop in events if "Yellow Fever" in v.antigens]
    partners = [(v, d, prop) for v, d, prop in events if not _YF_PARTNER_ANTIGENS.isdisjoint(v.antigens)]
    warnings: list[PlanWarning] = []
    seen: set[tuple[str, date, str, date]] = set()
    for yf, yf_day, yf_proposed in yellow:
        for other, day, proposed in partners:
            gap = abs((day - yf_day).days)
            if gap >= YF_SPACING_DAYS or (yf.id, yf_day, other.id, day) in seen:
                continue
            seen.add((yf.id, yf_day, other.id, day))
            when = f"on the same day ({day})" if gap == 0 else f"{gap} days apart ({yf_day} and {day})"
            how = "proposed" if (yf_proposed or proposed) else "given"
            warnings.append(
                PlanWarning(
                    YELLOW_FEVER_WITH_MMR_VARICELLA,
                    f"{yf.name} and {other.name} {how} {when}: CDC advises giving yellow fever vaccine and MMR at "
                    "least 30 days apart where possible, because same-day co-administration lowered the responses "
                    "to yellow fever, mumps and rubella. If they cannot be separated, consider checking the yellow "
                    "fever antibody response before travel.",
                    (rules.yellow_fever_rule,),
                )
            )
    return warnings
