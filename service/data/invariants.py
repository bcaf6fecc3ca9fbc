"""The clinical facts a typo must not change, checked against their sources before anything is served.

A schema accepts any number of days; a wrong number of days is a wrong answer (`live_pre_start_days` 0 put
a yellow fever window on the day of the first dose). So, besides the schema checks in loader.py:

- **Label values**: each therapy profile has `sentinels/<profile id>.json` beside the data, listing the
  values its label (or our stated decision) fixes: 28 days before the first dose for live vaccines, 14 for
  non-live ones, the starter gaps, the cadence, the mid-cycle bounds. Each names the profile's rule whose
  citation gives it and quotes those words; the profile must hold the value and its rule must still cite
  the words. A profile without that file does not start (found by convention: a new profile needs its own).
- **Live classes**: a catalog vaccine is marked live exactly when one of its codes is in CDSi's live-virus
  conflict table or `live-classes.json` lists it with its source (the oral live vaccines the table leaves
  out): Shingrix marked live stops the start, as yellow fever marked non-live always did.
- **Minimum intervals**: every conflict in the CDSi live-virus table lasts at least 28 days, and every series
  interval taken from CDSi is the one CDSi's antigen file states for that series and dose.
- **Sentinel plans**: hand-worked plans with their answers (the same file's `cases`, and
  `sentinels/_every_profile.json`, run for every profile) are answered by the real planner; any answer
  that differs stops the start naming the file and the case.

Every failure is a DataError naming the file, the field and the source, like any other data error.
"""

from __future__ import annotations

import re
from typing import Any

from service.data.errors import DataError

SENTINELS = "sentinels"
EVERY_PROFILE = "_every_profile.json"  # "_" cannot start a profile id, so no profile's file can be named so
LIVE_CLASSES = "live-classes.json"
# ACIP General Best Practice Guidelines (Timing and Spacing): two injectable or intranasal live vaccines not
# given on the same day are given at least 4 weeks apart; CDSi 4.64 encodes 28 days (30 with yellow fever or BCG).
LIVE_SPACING_MIN_DAYS = 28
LIVE_SPACING_SOURCE = (
    "ACIP General Best Practice Guidelines, Timing and Spacing (live vaccines not given the same day: at least "
    "4 weeks apart); CDSi 4.64 liveVirusConflicts (28 days, 30 with yellow fever or BCG)"
)
_STEP = re.compile(r"\[(\d+)\]|\.?([a-z_][a-z_0-9]*)")


def value_at(doc: Any, path: str) -> Any:
    """The value at `path` (a.b[2].c; `[*]` maps the rest of the path over a list). KeyError, IndexError or
    TypeError when the document has no such place."""
    head, star, rest = path.partition("[*]")
    for index, name in _STEP.findall(head):
        doc = doc[name] if name else doc[int(index)]
    if star:
        return [value_at(item, rest.lstrip(".")) if rest else item for item in doc]
    return doc


def matches(expected: Any, got: Any) -> bool:
    """`expected` as a sentinel writes it: a value, {"includes": x} (a list holding x) or {"sorted": [...]} (a
    list holding exactly these, in any order)."""
    if isinstance(expected, dict) and set(expected) == {"includes"}:
        return isinstance(got, list) and expected["includes"] in got
    if isinstance(expected, dict) and set(expected) == {"sorted"}:
        return isinstance(got, list) and sorted(got, key=str) == sorted(expected["sorted"], key=str)
    return bool(expected == got)


def check_label_values(profile_doc: dict[str, Any], sentinel_doc: dict[str, Any], files: tuple[str, str]) -> None:
    """Each listed value is the profile's, and the profile's rule still cites the words that fix it."""
    profile_file, sentinel_file = files
    for index, fact in enumerate(sentinel_doc.get("label_values", ())):
        rule = profile_doc["rules"].get(fact["rule"])
        if rule is None:
            raise DataError(sentinel_file, f"label_values[{index}].rule", f"no rule {fact['rule']!r} in {profile_file}")
        cited = f'rule {rule["id"]} ({rule["source"]}: "{fact["quote"]}")'
        if fact["quote"] not in rule["citation"]:
            raise DataError(
                profile_file,
                f"rules.{fact['rule']}.citation",
                f'no longer quotes "{fact["quote"]}", which fixes {fact["field"]} = {fact["value"]!r} '
                f"({sentinel_file}, label_values[{index}])",
            )
        try:
            held = value_at(profile_doc, fact["field"])
        except (KeyError, IndexError, TypeError):
            held = None
        if held != fact["value"]:
            raise DataError(
                profile_file, fact["field"], f"is {held!r}, but {cited} fixes {fact['value']!r}", source=rule["source"]
            )


def check_live_classes(
    catalog_doc: dict[str, Any], cdsi_live: set[str], classes_doc: dict[str, Any], files: tuple[str, str, str]
) -> None:
    """A vaccine is live exactly when CDSi's table has one of its codes or live-classes.json lists it."""
    catalog_file, conflicts_file, classes_file = files
    listed = classes_doc["live_outside_cdsi_table"]
    sources = catalog_doc["sources"]
    ids = {entry["id"] for entry in catalog_doc["vaccines"]}
    for vaccine_id, entry in listed.items():
        if vaccine_id not in ids:
            raise DataError(classes_file, f"live_outside_cdsi_table.{vaccine_id}", "is not a catalog vaccine")
        if entry["source"] not in sources:
            raise DataError(classes_file, f"live_outside_cdsi_table.{vaccine_id}.source", "is not a defined source")
    for index, entry in enumerate(catalog_doc["vaccines"]):
        in_table = sorted(cdsi_live & set(entry["cvx"]))
        if entry["live"] is not True and entry["id"] in listed:
            why = listed[entry["id"]]
            raise DataError(
                catalog_file,
                f"vaccines[{index}].live",
                f"{entry['id']!r} is marked non-live, but {classes_file} lists it as live "
                f"({why['why']}; source: {sources[why['source']]})",
                source=sources[why["source"]],
            )
        if entry["live"] is True and not in_table and entry["id"] not in listed:
            codes = ", ".join(entry["cvx"]) or "(none)"
            raise DataError(
                catalog_file,
                f"vaccines[{index}].live",
                f"{entry['id']!r} is marked live, but CVX {codes} is not a live vaccine in CDSi 4.64 liveVirusConflicts "
                f"({conflicts_file}), and {classes_file} does not list it among the live vaccines the table leaves out",
                source="CDSi 4.64 liveVirusConflicts",
            )


def check_live_spacing(rows: list[dict[str, str]], conflicts_file: str, days: Any) -> None:
    """Every live-virus conflict lasts at least 28 days (`days` reads an interval such as '28 days')."""
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        end = days(row["conflictEndInterval"])
        if end < LIVE_SPACING_MIN_DAYS:
            raise DataError(
                conflicts_file,
                f"line {line}: conflictEndInterval",
                f"{row['conflictEndInterval']!r} ({row['previous_cvx']} then {row['current_cvx']}) is shorter than "
                f"the {LIVE_SPACING_MIN_DAYS} days of {LIVE_SPACING_SOURCE}",
                source=LIVE_SPACING_SOURCE,
            )


def _with_drug(value: Any, drug: str) -> Any:
    if isinstance(value, str):
        return value.replace("{drug}", drug)
    if isinstance(value, list):
        return [_with_drug(item, drug) for item in value]
    if isinstance(value, dict):
        return {key: _with_drug(item, drug) for key, item in value.items()}
    return value


def run_cases(planner: Any, sentinel_doc: dict[str, Any], drug: str, sentinel_file: str) -> None:
    """Answer every case with the real planner; the first answer that differs from the hand-worked one stops
    the start. `planner` is a service.planning.Planner (plan_json answers as POST /v1/plans would)."""
    from service.domain.errors import InvalidInput

    for index, case in enumerate(sentinel_doc["cases"]):
        where = f"cases[{index}] ({case['name']!r}" + ("" if drug in case["name"] else f", {drug}") + ")"
        try:
            answer = planner.plan_json(_with_drug(case["request"], drug))
        except InvalidInput as refused:
            fields = ", ".join(f"{e.field}: {e.message}" for e in refused.errors[:3])
            raise DataError(sentinel_file, f"{where}.request", f"the planner refuses it ({fields})") from None
        for path, expected in case["expect"].items():
            try:
                got = value_at(answer, path)
            except (KeyError, IndexError, TypeError):
                got = "(absent)"
            if not matches(expected, got):
                raise DataError(
                    sentinel_file,
                    f"{where}.expect.{path}",
                    f"the hand-worked answer is {expected!r}, the planner answers {got!r}",
                    source=case["worked"],
                )


def _text(element: Any, path: str) -> str:
    found = element.find(path) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _cdsi_rows(dose: Any) -> list[tuple[bool, int | None, str, str | None]]:
    """A CDSi series dose's current intervals that count from a dose of the same series: (from the previous
    dose?, else from target dose n, minInt, earliestRecInt)."""
    rows = []
    for interval in dose.findall("interval"):
        previous = _text(interval, "fromPrevious").upper() == "Y"
        target = _text(interval, "fromTargetDose")
        if _text(interval, "cessationDate") or not (previous or target):
            continue  # retired, or counted from another product or an observation: not a series interval
        rows.append(
            (
                previous,
                int(target) if target else None,
                _text(interval, "minInt"),
                _text(interval, "earliestRecInt") or None,
            )
        )
    return rows


def check_cdsi_intervals(series_doc: dict[str, Any], antigen_dir: Any, series_file: str, cdsi_source: str) -> None:
    """Every interval series.json takes from CDSi (source `cdsi_source`) is the one CDSi's antigen file states for
    that series and dose: the minimum (minInt) and the recommended interval (earliestRecInt)."""
    import xml.etree.ElementTree as ET

    roots: dict[str, Any] = {}
    for sid, entry in series_doc["series"].items():
        ref = entry.get("cdsi")
        if not ref or not ref.get("dose_numbers"):
            continue
        where = f"CDSi 4.64 {ref['file']}, series '{ref['series_name']}'"
        if ref["file"] not in roots:
            try:
                roots[ref["file"]] = ET.parse(antigen_dir / ref["file"]).getroot()
            except (OSError, ET.ParseError) as error:
                raise DataError(series_file, f"series.{sid}.cdsi.file", f"cannot read {where}: {error}") from None
        matches = [s for s in roots[ref["file"]].findall("series") if _text(s, "seriesName") == ref["series_name"]]
        if len(matches) != 1:
            raise DataError(series_file, f"series.{sid}.cdsi.series_name", f"{where}: not found once")
        _check_series_intervals(sid, entry, ref, matches[0], (series_file, where, cdsi_source))


def _check_series_intervals(
    sid: str, entry: dict[str, Any], ref: dict[str, Any], series: Any, about: tuple[str, str, str]
) -> None:
    series_file, where, cdsi_source = about
    doses = [(_text(d, "doseNumber"), d) for d in series.findall("seriesDose")]
    order, by_name, names = [n for n, _ in doses], dict(doses), ref["dose_numbers"]
    for number, dose in enumerate(entry["doses"], start=1):
        ours = [i for i in dose.get("intervals", ()) if i["source"] == cdsi_source]
        if number == 1 or not ours or number > len(names) or names[number - 1] not in by_name:
            continue
        name = names[number - 1]
        expected = set()
        for previous, target, minimum, recommended in _cdsi_rows(by_name[name]):
            before = order[order.index(name) - 1] if previous else f"Dose {target}"
            if before in names:
                expected.add((names.index(before) + 1, minimum, recommended))
        actual = {(i["from_dose"], i["minimum"], i["recommended"]) for i in ours}
        if not actual <= expected:
            wrong = sorted(actual - expected, key=str)[0]
            raise DataError(
                series_file,
                f"series.{sid}.doses[{number - 1}].intervals",
                f"minimum {wrong[1]!r} (recommended {wrong[2]!r}) after dose {wrong[0]} is not what {where}, {name} "
                f"states: {sorted(expected, key=str)}",
                source=where,
            )
