"""Live vaccines among themselves: the days a live vaccine loses to the live vaccines already given (live-live
spacing, CDSi), and yellow fever vaccine kept 30 days from MMR, MMRV or varicella vaccine where possible (CDC)."""

from __future__ import annotations

from collections.abc import Callable
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


def _when_and_what(event: LiveEvent) -> tuple[date, str]:
    """Events in date order, and on one day in vaccine id order: never in the order they were typed."""
    return event.day, event.vaccine.id


def space_from_history(
    vaccine: Vaccine, timing: Timing, history: list[LiveEvent], conflicts: LiveVirusConflicts
) -> Timing:
    """A live vaccine's windows without the days that conflict with live vaccines already given."""
    if not vaccine.live or not timing.windows:
        return timing
    windows, rules, notes = timing.windows, list(timing.rules), []
    for event in sorted(history, key=_when_and_what):
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
                f"{event.vaccine.name} was given on {event.day}: a live vaccine after it must wait "
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
        self.history = sorted(history, key=_when_and_what)
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


# The antigen of the one vaccine a destination may require for entry (the International Health Regulations'
# yellow fever certificate): settled before MMR or varicella with the same needed_by (rule plan.live-priority).
_ENTRY_REQUIRED_ANTIGEN = "Yellow Fever"


def live_priority(request: VaccineRequest, vaccine: Vaccine) -> tuple[date, bool, str, tuple[date, ...]]:
    """The order in which live vaccines are settled (rule plan.live-priority), never the order they were typed:

    1. the earliest needed_by (none: last), because the nearest deadline has the least room to move;
    2. a vaccine a destination may require for entry (yellow fever), because no later dose replaces a missing
       certificate, while MMR or varicella can follow it 30 days later or on the same day;
    3. the vaccine id, and then the doses given: only so that the order is total. Two requests equal on all
       four are the same vaccine with the same history and deadline, and get the same days.
    """
    return (
        request.needed_by or date.max,
        _ENTRY_REQUIRED_ANTIGEN not in vaccine.antigens,
        vaccine.id,
        tuple(sorted(request.given)),
    )


def settle_live(
    candidates: list[tuple[int, VaccineRequest, Vaccine]], place: Callable[[int, list[LiveEvent]], VaccinePlan]
) -> dict[int, VaccinePlan]:
    """Every live vaccine of a plan, settled together: where the live-live rules meet (CDSi spacing, yellow fever
    30 days from MMR or varicella where possible, same-day co-administration, which one gives way).

    The candidates (request index, request, vaccine) are placed in live_priority order; `place(index, settled)`
    plans one of them on the earliest days that conflict with none of the live events settled before it (the
    same day as one of them is always allowed, so co-administration comes first where the rules permit it).
    The answers come back by request index. Each candidate is placed once, against the distinct events before
    it (a repeat of a vaccine on a day is one event): the work grows with the vaccines, not with their order.
    """
    settled: list[LiveEvent] = []
    seen: set[tuple[str, date]] = set()
    plans: dict[int, VaccinePlan] = {}
    # A single live vaccine has nothing to be placed before or after (the usual plan): no priority to work out.
    ordered = candidates if len(candidates) < 2 else sorted(candidates, key=lambda c: live_priority(c[1], c[2]))
    for index, _request, vaccine in ordered:
        plan = plans[index] = place(index, settled)
        for dose in plan.proposal.doses:
            if (vaccine.id, dose.day) not in seen:
                seen.add((vaccine.id, dose.day))
                settled.append(LiveEvent(vaccine, dose.day))
    return plans


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
    them closer, if as many doses still fit in the windows (all of them, when all fitted) and needed_by is still
    met; else None (the plan keeps the same day, and the plan's warnings say so)."""
    partners = _yellow_fever_partners(vaccine, fixed)
    close = [e for e in partners for p in proposal.doses if abs((p.day - e.day).days) < YF_SPACING_DAYS]
    if not close:
        return None
    windows = timing.windows
    for event in partners:
        margin = timedelta(days=YF_SPACING_DAYS - 1)
        windows = subtract(windows, event.day - margin, event.day + margin)
    apart = propose(series, given, windows, as_of, proposal.basis, spacing, req.appointment_days)
    if len(apart.doses) < len(proposal.doses) or apart.unplaced and not proposal.unplaced:
        return None  # apart, fewer doses would fit: the same day, with the plan's warning
    if req.needed_by is not None:
        before = ready_on(proposal, given, rules.lead_time_for(vaccine), series)
        after = ready_on(apart, given, rules.lead_time_for(vaccine), series)
        if before is not None and before <= req.needed_by and (after is None or after > req.needed_by):
            return None
    return apart, close[0].vaccine.name


def _any_yellow_fever(plans: list[VaccinePlan], history: list[LiveEvent]) -> bool:
    """Whether a yellow fever vaccine is among the plan's vaccines or the live vaccines given."""
    # Lists, not generators: the compiled core runs a list comprehension natively.
    vaccines = [vp.match.vaccine for vp in plans] + [event.vaccine for event in history]
    return any(["Yellow Fever" in vaccine.antigens for vaccine in vaccines])


def yellow_fever_warnings(plans: list[VaccinePlan], history: list[LiveEvent], rules: VaccineRules) -> list[PlanWarning]:
    """Yellow fever vaccine and an MMR, MMRV or varicella vaccine on the same day or under 30 days apart,
    given or proposed (rule cdc.yellow-fever-mmr-spacing)."""
    if not _any_yellow_fever(plans, history):
        return []  # most plans: no yellow fever vaccine given or planned, so nothing to keep apart from it
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
    events.sort(key=lambda e: (e[1], e[0].id, e[2]))  # the warnings' order is the dates', not the request's
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
