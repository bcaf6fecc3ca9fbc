"""The API's answer in a nurse's words, and the timeline drawn from it. Nothing here plans: every date shown
comes from the answer the shared Planner gave (the JSON of POST /v1/plans)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

YELLOW_FEVER = "yellow-fever"
KIND_WORDS = {
    "pre_start": "before the first dose",
    "mid_cycle": "between two doses",
    "during_therapy": "at any time during therapy",
    "post_therapy": "after stopping",
}


def day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def long_date(text: str) -> str:
    """2026-11-24 -> 'Tue 24 Nov 2026': weekday included, so a nurse booking a clinic day sees it."""
    return date.fromisoformat(text).strftime("%a %d %b %Y").replace(" 0", " ")


@dataclass(frozen=True)
class Verdict:
    """What to do with one vaccine: `kind` is give_today | book | avoid | none (no day in the horizon)."""

    kind: str
    headline: str
    # (label, ISO date) pairs shown after the headline, each a <time> element.
    dates: list[tuple[str, str]] = field(default_factory=list)


# The live-vaccine "avoid" headline for each therapy phase: "during therapy" is said only to a patient on it.
AVOID_HEADLINES = {
    "not_started": "Avoid for now — no permitted day before the first therapy dose",
    "starter": "Avoid during therapy — until B-cell repletion is confirmed",
    "maintenance": "Avoid during therapy — until B-cell repletion is confirmed",
    "stopped": "Avoid until B-cell repletion is confirmed",
}


def verdict(item: dict[str, Any], as_of: str, horizon_end: str, phase: str = "maintenance") -> Verdict:
    proposed = item["proposed"]
    if item["status"] == "avoid" or not proposed:
        if item["vaccine"]["live"] and item["status"] == "avoid":
            dates = []
            if item["delay_start_to"]:
                dates.append(("or move the first therapy dose to on or after", item["delay_start_to"]))
            if item["b_cell_recheck_on"]:
                dates.append(("re-check B cells from", item["b_cell_recheck_on"]))
            return Verdict("avoid", AVOID_HEADLINES.get(phase, AVOID_HEADLINES["maintenance"]), dates)
        return Verdict("none", "No permitted day in the plan's horizon: see the reason")
    first = proposed[0]["date"]
    headline = "Give today" if first == as_of else "Book on"
    dates = [] if first == as_of else [("", first)]
    if first == as_of:
        dates.append(("", first))
    for dose in proposed[1:]:
        dates.append((f"then dose {dose['dose']} on", dose["date"]))
    last = proposed[-1]["date"]
    # The window holding the last dose closes before the horizon ends: that is a real deadline.
    for window in item["windows"]:
        if window["start"] <= last <= window["end"] and window["end"] < horizon_end:
            dates.append(("complete by", window["end"]))
            break
    return Verdict("give_today" if first == as_of else "book", headline, dates)


# How prominently the page shows each warning code (docs/clinic.md, "Warnings"). "act": it changes what to do
# today (give, delay, review before giving), so it is shown above the plan; "note": it explains the plan and
# changes nothing today, so it is listed quietly below it. A code not listed here (a new one) is shown as "act":
# an unread warning must not be the price of a missing entry.
WARNING_LEVELS = {
    "live-vaccine-during-therapy": "act",
    "live-vaccine-before-start": "act",
    "non-live-vaccine-near-start": "act",
    "dose-missed": "act",
    "repletion-before-median": "act",
    "yellow-fever-with-mmr-varicella": "act",
    "dose-not-counted": "act",
    "history-inconsistent": "act",
    "history-assumed": "note",
}


def warning_level(code: str) -> str:
    return WARNING_LEVELS.get(code, "act")


def ranked_warnings(warnings: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the warnings that change what to do today, the rest), each in the answer's order."""
    act = [w for w in warnings if warning_level(w["code"]) == "act"]
    return act, [w for w in warnings if warning_level(w["code"]) != "act"]


def readiness(item: dict[str, Any]) -> tuple[str, str]:
    """(css state, words) for 'is it ready by departure'. A series with a dose in B-cell depletion is never said to
    be ready or protected (meets_needed_by is null then): only when it is through."""
    meets = item["meets_needed_by"]
    if meets is True:
        return "ready", "Ready by departure"
    if meets is False:
        return "not-ready", "Not ready by departure"
    if item["ready_on_means"] == "series_complete":
        return "uncertain", "Response uncertain (a dose in B-cell depletion)"
    if item["serology_advised"]:
        return "uncertain", "Antibody check advised before relying on it"
    return "no-departure", "No departure date given"


def key_windows(item: dict[str, Any], needed_by: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The windows worth printing (the first, those holding a proposed dose, those opening by the departure
    date) and the rest, folded away on screen and left off the printed plan so that it fits one page."""
    doses = [p["date"] for p in item["proposed"]]
    key: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    for i, w in enumerate(item["windows"]):
        holds = any(w["start"] <= d <= w["end"] for d in doses)
        (key if i == 0 or holds or (needed_by and w["start"] <= needed_by) else other).append(w)
    return key, other


def yellow_fever_avoided(plan: dict[str, Any]) -> dict[str, Any] | None:
    """The yellow fever answer when the plan says to avoid it (the case for a contraindication letter)."""
    for item in plan["vaccines"]:
        if item["vaccine"]["id"] == YELLOW_FEVER and item["status"] == "avoid":
            found: dict[str, Any] = item
            return found
    return None


# The timeline: an SVG drawn here, so it prints and needs no script.
WIDTH = 760
LABEL_WIDTH = 215
RIGHT_PAD = 16
TOP = 34
ROW = 22
MIN_DAYS = 56


@dataclass(frozen=True)
class Mark:
    x: float
    label: str
    iso: str


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str


@dataclass(frozen=True)
class Row:
    y: float
    label: str
    bars: list[Bar]
    dots: list[Mark]
    avoid: bool


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    first: str
    last: str
    ticks: list[Mark]
    doses: list[Mark]
    dose_y: float
    rows: list[Row]
    today: Mark
    departure: Mark | None
    label_width: int


LABEL_CHARS = 34


def row_label(item: dict[str, Any]) -> str:
    """A timeline row's label: the name the nurse typed when it is short, else the catalog name without its
    brackets, cut at a word with an ellipsis to fit the label column."""
    typed = item["request"].get("name") or ""
    if typed and len(typed) <= LABEL_CHARS:
        return str(typed)
    name = str(item["vaccine"]["name"]).split(" (")[0]
    if len(name) <= LABEL_CHARS:
        return name
    return name[: LABEL_CHARS - 1].rsplit(" ", 1)[0].rstrip(",") + "…"


def timeline(plan: dict[str, Any], needed_by: str | None) -> Timeline:
    """Therapy doses, each vaccine's windows and proposed appointments, today and the departure date, from
    as_of to a little after the last thing worth showing (at least 8 weeks, at most the plan's horizon)."""
    start = date.fromisoformat(plan["as_of"])
    horizon = date.fromisoformat(plan["horizon_end"])
    ends = [start + timedelta(days=MIN_DAYS)]
    for item in plan["vaccines"]:
        for dose in item["proposed"]:
            ends.append(date.fromisoformat(dose["date"]) + timedelta(days=7))
        if item["ready_on"]:
            ends.append(date.fromisoformat(item["ready_on"]) + timedelta(days=3))
    departure = day(needed_by)
    if departure:
        ends.append(departure + timedelta(days=7))
    end = min(max(ends), horizon)
    span = max((end - start).days, 1)
    scale = (WIDTH - LABEL_WIDTH - RIGHT_PAD) / span

    def x(d: date) -> float:
        return round(LABEL_WIDTH + (min(max(d, start), end) - start).days * scale, 1)

    ticks = []
    d = start
    while d <= end:
        ticks.append(Mark(x(d), d.strftime("%d %b").lstrip("0"), d.isoformat()))
        d += timedelta(days=28 if span > 120 else 14 if span > 60 else 7)
    t = plan["treatment"]
    dose_days = [date.fromisoformat(s) for s in (*t.get("doses_given", []), *t["projected_doses"])]
    doses = [
        Mark(x(d), d.strftime("%d %b").lstrip("0"), d.isoformat()) for d in sorted(set(dose_days)) if start <= d <= end
    ]
    rows = []
    for i, item in enumerate(plan["vaccines"]):
        bars = []
        for w in item["windows"]:
            ws, we = date.fromisoformat(w["start"]), date.fromisoformat(w["end"])
            if we < start or ws > end:
                continue
            bars.append(Bar(x(ws), max(round(x(we) - x(ws) + scale, 1), 2.0), KIND_WORDS.get(w["kind"], w["kind"])))
        dots = [
            Mark(x(date.fromisoformat(p["date"])) + scale / 2, str(p["dose"]), p["date"])
            for p in item["proposed"]
            if date.fromisoformat(p["date"]) <= end
        ]
        rows.append(Row(TOP + ROW * (i + 1), row_label(item), bars, dots, item["status"] == "avoid"))
    height = int(TOP + ROW * (len(rows) + 1) + 8)
    return Timeline(
        width=WIDTH,
        height=height,
        first=start.isoformat(),
        last=end.isoformat(),
        ticks=ticks,
        doses=doses,
        dose_y=TOP,
        rows=rows,
        today=Mark(x(start), "today", start.isoformat()),
        departure=Mark(x(departure), "departure", departure.isoformat()) if departure and departure <= end else None,
        label_width=LABEL_WIDTH,
    )
