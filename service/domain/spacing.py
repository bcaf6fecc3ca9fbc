"""Live-live spacing: CDC CDSi liveVirusConflicts, with ACIP's rule for live vaccines the table lacks.

A conflict exists when a live vaccine is given at least `begin` and less than `end` days after another
(begin <= date - previous < end). Planning uses CDSi's conflictEndInterval (28 days, 30 when yellow fever
or BCG is involved), never the 24/26-day minimum with grace, which is only for judging doses already given.
Two live vaccines on the same day never conflict. Oral live vaccines (Ty21a, Vaxchora, OPV, rotavirus,
adenovirus) are exempt (ACIP).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date

from .catalog import Vaccine
from .intervals import shift

CDSI_RULE = "cdsi.live-virus-conflict"
ACIP_RULE = "acip.live-live-spacing"
ACIP_DAYS = 28


@dataclass(frozen=True)
class Conflict:
    begin_days: int
    end_days: int
    rule: str


@dataclass(frozen=True)
class LiveEvent:
    """A live vaccine on a day: given (history) or proposed by this plan."""

    vaccine: Vaccine
    day: date


# The events that constrain one live vaccine, each distinct (day, conflict after, conflict before) once, keyed
# by the day and the conflicts' identities (LiveVirusConflicts.constraints).
Constraints = dict[tuple[date, int, int], tuple[date, "Conflict | None", "Conflict | None"]]


class LiveSpacing:
    """The live events that constrain one live vaccine: (day, conflict when it comes after, when before)."""

    def __init__(self, relevant: list[tuple[date, Conflict | None, Conflict | None]]) -> None:
        self._relevant = relevant
        # Where a free stretch may start besides the day asked for: an event's own day (the same day is allowed)
        # or the day its conflict ends (E + the end interval with E first), in date order.
        starts = {event_day for event_day, _, _ in relevant}
        starts.update(shift(event_day, after.end_days) for event_day, after, _ in relevant if after is not None)
        self._starts = sorted(starts)

    def next_free_day(self, day: date) -> tuple[date, set[str]]:
        """The first day on or after `day` on which the vaccine conflicts with none of the events, and the rules
        met on the way.

        A free stretch of days starts at `day` itself or at one of the starts, so only those are tried. The
        latest of them is always free, so the search ends.
        """
        relevant = self._relevant
        rules: set[str] = set()
        for candidate in (day, *self._starts[bisect_right(self._starts, day) :]):
            hits = []
            for event_day, after, before in relevant:
                gap = (candidate - event_day).days
                rule = after if gap > 0 else before if gap < 0 else None
                if rule is not None and rule.begin_days <= abs(gap) < rule.end_days:
                    hits.append(rule.rule)
            if not hits:
                return candidate, rules
            rules.update(hits)
        raise AssertionError("unreachable: the latest candidate is always free")  # pragma: no cover


class LiveVirusConflicts:
    """The CDSi table, indexed by (previous CVX, current CVX)."""

    def __init__(self, rules: dict[tuple[str, str], tuple[int, int]]):
        self._rules = dict(rules)
        # between() depends only on the two catalog entries, and spacing asks it for every pair of events
        # again and again: remember each answer (the catalog is finite and immutable).
        self._pairs: dict[tuple[str, str], Conflict | None] = {}
        self._conflicts: dict[Conflict, Conflict] = {}
        # For constraints(): vaccine id -> other vaccine id -> (conflict after it, conflict before it).
        self._partners: dict[str, dict[str, tuple[Conflict | None, Conflict | None]]] = {}

    def __len__(self) -> int:
        return len(self._rules)

    def between(self, earlier: Vaccine, later: Vaccine) -> Conflict | None:
        """How long `later` must wait after `earlier`; None when the pair is exempt."""
        key = (earlier.id, later.id)
        if key not in self._pairs:
            self._pairs[key] = self._between(earlier, later)
        return self._pairs[key]

    def _between(self, earlier: Vaccine, later: Vaccine) -> Conflict | None:
        if not (earlier.live and later.live) or "oral" in (earlier.route, later.route):
            return None
        found = [self._rules[(a, b)] for a in earlier.cvx for b in later.cvx if (a, b) in self._rules]
        if found:
            return self._interned(Conflict(min(f[0] for f in found), max(f[1] for f in found), CDSI_RULE))
        # Live, injectable/intranasal/percutaneous, but absent from the table (e.g. Qdenga): ACIP's 4 weeks.
        return self._interned(Conflict(1, ACIP_DAYS, ACIP_RULE))

    def _interned(self, conflict: Conflict) -> Conflict:
        """One object per distinct conflict, so constraints() can tell equal conflicts apart by identity."""
        return self._conflicts.setdefault(conflict, conflict)

    def conflict(self, a: LiveEvent, b: LiveEvent) -> Conflict | None:
        """The conflict between two live events, or None when they may stand as they are."""
        if a.day == b.day:
            return None
        earlier, later = (a, b) if a.day < b.day else (b, a)
        rule = self.between(earlier.vaccine, later.vaccine)
        if rule is None:
            return None
        gap = (later.day - earlier.day).days
        return rule if rule.begin_days <= gap < rule.end_days else None

    def spacing(self, vaccine: Vaccine, fixed: list[LiveEvent], known: Constraints | None = None) -> LiveSpacing:
        """Where `vaccine` may go among the live events `fixed` (and those `known` already, from constraints()):
        found once for a vaccine, whose proposals then ask it for a free day at every dose and every retry (the
        events do not change while they do)."""
        distinct = dict(known) if known else {}
        distinct.update(self.constraints(vaccine, fixed))
        return LiveSpacing(list(distinct.values()))

    def constraints(self, vaccine: Vaccine, events: list[LiveEvent]) -> Constraints:
        """The events that constrain `vaccine`, each distinct (day, conflict after, conflict before) once."""
        # Per day of an event: the conflicts when the vaccine comes after it and before it. Events alike on
        # the same day (the same vaccine twice, two vaccines under the same rule) block the same days under the
        # same rule, so each (day, after, before) is kept once: the candidates are checked against the
        # distinct ones, not against every event again.
        partners = self._partners.get(vaccine.id)
        if partners is None:
            partners = self._partners[vaccine.id] = {}
        # Keyed by the conflicts' identities: they are interned (_between), so equal ones are the same object.
        # (Not by the pair's: compiled with mypyc, a tuple is a value that is boxed anew each time it is used.)
        distinct: Constraints = {}
        for event in events:
            pair = partners.get(event.vaccine.id)
            if pair is None:
                pair = partners[event.vaccine.id] = (
                    self.between(event.vaccine, vaccine),
                    self.between(vaccine, event.vaccine),
                )
            if pair[0] is not None or pair[1] is not None:
                distinct[(event.day, id(pair[0]), id(pair[1]))] = (event.day, pair[0], pair[1])
        return distinct
