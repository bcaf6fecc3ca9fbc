"""Load the versioned data files shipped in this package into domain objects, after checking them.

The ruleset version reported in every response is the profile's own version plus a digest of every data
file that can change an answer, so that an audit can tell exactly which data produced a plan.

Nothing is served from data that is wrong. Every file is checked before the service starts, and a
failure stops it (create_app raises DataError; a gunicorn worker then fails to boot and gunicorn exits
non-zero) with a message naming the file and the field:
- each JSON file against its JSON Schema in service/data/schemas/ (types: `"live": "false"` is refused,
  not read as true; required fields: a therapy profile needs every rule role the planner asks for);
- then the cross-checks a reviewer would make: every CVX code in CDSi's live-virus conflict table is a
  live vaccine in the catalog (yellow fever marked non-live is refused); every code CDSi's CVX map marks
  as in that table is in it (an emptied table is refused); every alias, name and code resolves to one
  product; every rule the planner cites exists; every source a series or lead time names is defined;
- then the clinical invariants (service/data/invariants.py): the values each profile's label fixes,
  checked against the words of its cited rule (sentinels/<profile id>.json, required for every profile);
  which vaccines are live (CDSi's table and live-classes.json); live-virus conflicts of at least 28 days;
  the series intervals taken from CDSi against CDSi's antigen files;
  and hand-worked sentinel plans, answered by the real planner before anything is served.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from referencing import Registry, Resource

from service.data import invariants
from service.data.errors import DataError as DataError  # re-exported: app, gunicorn.conf and tests import it here
from service.data.kind_profiles import ProfileError as KindProfileError
from service.data.kind_profiles import kind_of, kind_profile_from_dict
from service.domain.catalog import Catalog, Product, Unspecified, Vaccine, normalize
from service.domain.intervals import Interval
from service.domain.kinds import AnyProfile
from service.domain.planner import Therapies, VaccineRules
from service.domain.series import Alternative, LeadTime, Series, SeriesDose, SeriesInterval
from service.domain.spacing import ACIP_RULE, CDSI_RULE, LiveVirusConflicts
from service.domain.therapy import (
    DOSED,
    LABELLED_FIGURES,
    Cadence,
    MidCycleSlot,
    Rule,
    TherapyProfile,
    with_label_variants,
)

DATA_DIR = Path(__file__).resolve().parent
SCHEMA_DIR = DATA_DIR / "schemas"
# Paths inside a data directory (the packaged one, or a copy given to load_ruleset).
THERAPIES = "therapies"
CATALOG = "vaccines.json"
SERIES = "series.json"
RULES = "rules.json"
CONFLICTS = "cdsi/live-virus-conflicts.csv"
CVX_MAP = "cdsi/cvx-antigen-map.csv"
ANTIGENS = "cdsi/antigen"  # CDSi's antigen files: the source of the series intervals, checked against them
THERAPY_DIR = DATA_DIR / THERAPIES
CATALOG_FILE = DATA_DIR / CATALOG
SERIES_FILE = DATA_DIR / SERIES
RULES_FILE = DATA_DIR / RULES
CONFLICTS_FILE = DATA_DIR / CONFLICTS
LIVE_CLASSES = invariants.LIVE_CLASSES
SENTINELS = invariants.SENTINELS
CONFLICTS_COLUMNS = ("previous_cvx", "current_cvx", "conflictBeginInterval", "conflictEndInterval")


@dataclass(frozen=True)
class Ruleset:
    """Everything the planner reads: therapy profiles, the vaccine catalog, and their provenance."""

    therapies: Therapies
    catalog: Catalog
    vaccine_rules: VaccineRules
    digest: str  # the first 12 hex digits of data_digest, inside every ruleset version
    catalog_raw: dict[str, Any]
    data_digest: str = ""  # SHA-256 over every data file that can change an answer (GET /readyz reports it)

    def all_rules(self) -> list[tuple[str, Rule]]:
        """Every rule a response can cite, with the group it belongs to (a therapy id or "vaccines")."""
        out = [(p.id, rule) for p in self.therapies.profiles for rule in p.rules.values()]
        out += [("vaccines", rule) for rule in self.vaccine_rules.rules.values()]
        return out


def _read(path: Path, data_dir: Path) -> tuple[Any, bytes]:
    try:
        raw = path.read_bytes()
        return json.loads(raw), raw
    except (OSError, ValueError) as error:
        raise DataError(_shown(path, data_dir), "", f"cannot be read as JSON ({error})") from None


def _shown(path: Path, data_dir: Path) -> str:
    """A data file's name as an operator finds it: service/data/... for the packaged data, else the path."""
    try:
        return f"service/data/{path.relative_to(data_dir)}" if data_dir == DATA_DIR else str(path)
    except ValueError:
        return str(path)


@lru_cache(maxsize=1)
def _schemas() -> dict[str, Draft202012Validator]:
    resources = {}
    for path in SCHEMA_DIR.glob("*.schema.json"):
        resources[path.name] = json.loads(path.read_text(encoding="utf-8"))
    registry: Registry = Registry().with_resources(
        (name, Resource.from_contents(doc)) for name, doc in resources.items()
    )
    return {name: Draft202012Validator(doc, registry=registry) for name, doc in resources.items()}


def _field(error: SchemaError) -> str:
    """A JSON Schema error's location as a field path: vaccines[12].live."""
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(the document)"


def check_schema(doc: Any, schema: str, shown: str) -> None:
    """Raise DataError naming the file and the field of the first violation (in document order)."""
    errors = sorted(_schemas()[schema].iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        error = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise DataError(shown, _field(error), f"{error.message}{more}")


class ProfileError(ValueError):
    """A therapy profile whose fields disagree with each other: names the field (the file is the caller's)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def _labelled(timing: dict[str, Any], labels: list[str]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """The strictest figure of each LABELLED_FIGURES (the longest lead time), and the figures by label."""
    strictest: dict[str, int] = {}
    by_label: dict[str, dict[str, int]] = {}
    for figure in LABELLED_FIGURES:
        value = timing[figure]
        if isinstance(value, dict):
            missing = [label for label in value if label not in labels]
            if missing:
                raise ProfileError(
                    f"vaccine_timing.{figure}.{missing[0]}",
                    f"names a label the profile does not list in labels {labels}",
                )
            for label, days in value.items():
                by_label.setdefault(label, {})[figure] = days
            value = max(value.values())
        strictest[figure] = value
    return strictest, by_label


def _check_profile(doc: dict[str, Any]) -> None:
    """What the schema cannot say about one profile: its parts must agree (each error names the field)."""
    schedule, timing = doc["schedule"], doc["vaccine_timing"]
    cadences = schedule["cadences"]
    if schedule["default_cadence"] not in cadences:
        raise ProfileError(
            "schedule.default_cadence", f"{schedule['default_cadence']!r} is not one of schedule.cadences"
        )
    for label, name in schedule.get("default_cadence_by_label", {}).items():
        if label not in doc["labels"]:
            raise ProfileError(
                f"schedule.default_cadence_by_label.{label}", f"names a label not in labels {doc['labels']}"
            )
        if name not in cadences:
            raise ProfileError(
                f"schedule.default_cadence_by_label.{label}", f"{name!r} is not one of schedule.cadences"
            )
    for name, cadence in cadences.items():
        if not cadence.get("days") and not cadence.get("months"):
            raise ProfileError(f"schedule.cadences.{name}", "needs a number of days or months above 0")
    gaps, doses = len(schedule["starter_gaps_days"]), schedule["starter_doses"]
    expected = doses - 1 if schedule.get("maintenance_from_first_dose") else doses
    if gaps != max(expected, 0):
        raise ProfileError(
            "schedule.starter_gaps_days",
            f"{gaps} gap(s) for {doses} starter dose(s): expected {max(expected, 0)} (one per starter dose"
            + (
                ", the first maintenance dose counting from dose 1)"
                if schedule.get("maintenance_from_first_dose")
                else ")"
            ),
        )
    if timing["b_cell_recheck_days"] is not None and "repletion_before_median" not in doc["rules"]:
        raise ProfileError("rules.repletion_before_median", "required when vaccine_timing.b_cell_recheck_days is given")
    if (timing["b_cell_consensus_days"] is None) != (not timing["b_cell_consensus_text"]):
        raise ProfileError("vaccine_timing.b_cell_consensus_text", "given exactly when b_cell_consensus_days is")
    for i, row in enumerate(doc["interop"]["fhir_cadences"]):
        if row["cadence"] not in cadences:
            raise ProfileError(
                f"interop.fhir_cadences[{i}].cadence", f"{row['cadence']!r} is not one of schedule.cadences"
            )


def profile_from_dict(doc: dict[str, Any]) -> TherapyProfile:
    _check_profile(doc)
    schedule, timing = doc["schedule"], doc["vaccine_timing"]
    cadences = {
        name: Cadence(name=name, days=c.get("days", 0), months=c.get("months", 0), description=c.get("description", ""))
        for name, c in schedule["cadences"].items()
    }
    rules = {
        role: Rule(id=r["id"], summary=r["summary"], evidence=r["evidence"], source=r["source"], citation=r["citation"])
        for role, r in doc["rules"].items()
    }
    strictest, by_label = _labelled(timing, doc["labels"])
    optional = {
        key: timing[key]
        for key in ("repletion_min_text", "timing_source", "b_cell_recheck_source", "b_cell_recheck_warning")
        if key in timing
    }
    profile = TherapyProfile(
        id=doc["id"],
        version=doc["version"],
        name=doc["name"],
        brand_names=tuple(doc["brand_names"]),
        names=tuple(doc["names"]),
        starter_gaps=tuple(schedule["starter_gaps_days"]),
        starter_doses=schedule["starter_doses"],
        cadences=cadences,
        default_cadence=schedule["default_cadence"],
        live_pre_start_days=strictest["live_pre_start_days"],
        non_live_pre_start_days=strictest["non_live_pre_start_days"],
        mid_cycle=MidCycleSlot(**timing["mid_cycle"]),
        b_cell_recheck_days=timing["b_cell_recheck_days"],
        b_cell_consensus_days=timing["b_cell_consensus_days"],
        post_therapy_after_last_dose_days=timing["post_therapy_after_last_dose_days"],
        rules=rules,
        schedule_text=schedule.get("text", ""),
        b_cell_recheck_text=timing["b_cell_recheck_text"],
        b_cell_consensus_text=timing["b_cell_consensus_text"],
        starter_tolerance_days=schedule["starter_tolerance_days"],
        repletion_min_days_after_last_dose=timing["repletion_min_days_after_last_dose"],
        kind=doc["kind"],
        maintenance_from_first_dose=schedule.get("maintenance_from_first_dose", False),
        labels=tuple(doc["labels"]),
        by_label=by_label,
        default_cadence_by_label=dict(schedule.get("default_cadence_by_label", {})),
        interop=doc["interop"],
        **optional,
    )
    return with_label_variants(profile)


def catalog_from_dict(doc: dict[str, Any]) -> Catalog:
    vaccines = [
        Vaccine(
            id=v["id"],
            name=v["name"],
            cvx=tuple(v["cvx"]),
            live=bool(v["live"]),
            route=v["route"],
            antigens=tuple(v.get("antigens", ())),
            aliases=tuple(v.get("aliases", ())),
            source=v["source"],
            note=v.get("note", ""),
            products=tuple(
                Product(name=p["name"], cvx=p["cvx"], aliases=tuple(p.get("aliases", ())))
                for p in v.get("products", ())
            ),
            generic_cvx=v.get("generic_cvx"),
        )
        for v in doc["vaccines"]
    ]
    unspecified = [
        Unspecified(
            cvx=u.get("cvx"),
            name=u["name"],
            aliases=tuple(u.get("aliases", ())),
            candidates=tuple(u["candidates"]),
            source=u["source"],
            note=u.get("note", ""),
        )
        for u in doc.get("unspecified", [])
    ]
    return Catalog(doc["catalog_version"], vaccines, unspecified)


def _days(text: str) -> int:
    interval = Interval.parse(text)
    if interval.years or interval.months:
        raise ValueError(f"live-virus conflict intervals are in days: {text!r}")
    return interval.days


def conflicts_from_csv(text: str) -> LiveVirusConflicts:
    rules = {}
    for row in csv.DictReader(io.StringIO(text)):
        rules[(row["previous_cvx"], row["current_cvx"])] = (
            _days(row["conflictBeginInterval"]),
            _days(row["conflictEndInterval"]),
        )
    return LiveVirusConflicts(rules)


def vaccine_rules_from(
    series_doc: dict[str, Any], rules_doc: dict[str, Any], conflicts: LiveVirusConflicts, catalog: Catalog
) -> VaccineRules:
    sources = series_doc["sources"]
    rules = {
        rid: Rule(id=rid, summary=r["summary"], evidence=r["evidence"], source=r["source"], citation=r["citation"])
        for rid, r in rules_doc["rules"].items()
    }
    series: dict[str, Series] = {}
    for vid, doc in series_doc["series"].items():
        if catalog.get(vid) is None:
            raise ValueError(f"series for unknown catalog id {vid!r}")
        series[vid] = _series_from(vid, f"series.{vid}", doc, sources, rules)
    alternatives: dict[str, tuple[Alternative, ...]] = {}
    for vid, docs in series_doc.get("alternatives", {}).items():
        if catalog.get(vid) is None:
            raise ValueError(f"alternative schedules for unknown catalog id {vid!r}")
        alternatives[vid] = tuple(_alternative_from(vid, doc, sources, rules) for doc in docs)
    lead_times: dict[str, LeadTime] = {}
    for key, doc in series_doc["lead_times"].items():
        if key != "default" and catalog.get(key) is None:
            raise ValueError(f"lead time for unknown catalog id {key!r}")
        lead_times[key] = _lead_time_from(key, doc, sources, rules)
    serology: dict[str, str] = {}
    for key, doc in series_doc.get("serology", {}).items():
        if catalog.get(key) is None:
            raise ValueError(f"serology rule for unknown catalog id {key!r}")
        rule_id = f"serology.{key}"
        rules[rule_id] = Rule(
            id=rule_id,
            summary=(
                f"{key}: when a dose that protection rests on (up to the protective dose) falls in B-cell depletion, "
                "guidance asks for an antibody check after the series: serology_advised is true and meets_needed_by "
                "is null (neither true nor false on the schedule alone)."
            ),
            evidence="label" if doc["source"].startswith("label") else "guideline",
            source=sources[doc["source"]],
            citation=doc["text"],
        )
        serology[key] = rule_id
    default = lead_times.pop("default")
    return VaccineRules(
        series=series,
        lead_times=lead_times,
        default_lead_time=default,
        conflicts=conflicts,
        rules=rules,
        serology=serology,
        alternatives=alternatives,
    )


def _series_from(
    vid: str, rule_id: str, doc: dict[str, Any], sources: dict[str, str], rules: dict[str, Rule]
) -> Series:
    """A series entry (or an alternative schedule) as a Series, its rule added to `rules`."""
    doses = tuple(
        SeriesDose(
            d["dose"],
            tuple(
                SeriesInterval(
                    i["from_dose"],
                    Interval.parse(i["minimum"]),
                    Interval.parse(i["recommended"]) if i["recommended"] else None,
                    Interval.parse(i["maximum"]) if i.get("maximum") else None,
                )
                for i in d.get("intervals", ())
            ),
        )
        for d in doc["doses"]
    )
    keys = sorted(
        {i["source"] for d in doc["doses"] for i in d.get("intervals", ())}
        | ({doc["source"]} if "source" in doc else set())
    )
    cdsi = doc.get("cdsi")
    where = f"CDSi 4.64 {cdsi['file']}, series '{cdsi['series_name']}'" if cdsi else ""
    source = "; ".join([where, *(sources[k] for k in keys if k != "cdsi-4.64" or not cdsi)]).strip("; ")
    plan = ", ".join(
        f"dose {d.number}: "
        + "; ".join(
            f"{i.minimum.text} after dose {i.from_dose} (recommended {i.recommended.text if i.recommended else 'n/a'}"
            + (f"; at most {i.maximum.text}, or the course restarts" if i.maximum else "")
            + ")"
            for i in d.intervals
        )
        for d in doses
        if d.intervals
    )
    what = f"{doc['product']}" if "product" in doc else f"{vid}, {doc['schedule']}"
    rules[rule_id] = Rule(
        id=rule_id,
        summary=f"{what}: {len(doses)} dose(s)" + (f"; {plan}" if plan else "."),
        evidence="CDSi" if cdsi else "label",
        source=source or "decision",
        citation=f"Aim: {doc['aim']}. {doc['aim_why']} {doc.get('note', '')}".strip()
        + (f" Partial course: {partial['text']}" if (partial := doc.get("partial_course")) else ""),
    )
    return Series(vid, doses, rule_id, partial_protects=partial is None or partial["protects"])


def _alternative_from(vid: str, doc: dict[str, Any], sources: dict[str, str], rules: dict[str, Rule]) -> Alternative:
    """An alternative schedule: its series (rule series.<id>) and, when it has one, its own lead time."""
    series = _series_from(vid, f"series.{doc['id']}", doc, sources, rules)
    lead = None
    if "lead_time" in doc:
        lead = _lead_time_from(doc["id"], doc["lead_time"], sources, rules)
    return Alternative(
        series=series,
        use=doc["use"],
        schedule=doc["schedule"],
        min_age=doc.get("min_age_years"),
        max_age=doc.get("max_age_years"),
        lead=lead,
    )


def _lead_time_from(key: str, doc: dict[str, Any], sources: dict[str, str], rules: dict[str, Rule]) -> LeadTime:
    after = doc.get("after", "last_dose")
    after_dose = None if after == "last_dose" else int(after.removeprefix("dose "))
    rule_id = f"lead-time.{key}"
    rules[rule_id] = Rule(
        id=rule_id,
        summary=f"Protection expected {doc['days']} days after "
        + ("the last dose" if after_dose is None else f"dose {after_dose}")
        + ("" if key == "default" else f" ({key})")
        + " (a person in B-cell depletion: the last dose plus this lead time, no protection date).",
        evidence=(
            "decision" if doc["source"] == "decision" else "label" if doc["source"].startswith("label") else "guideline"
        ),
        source=sources[doc["source"]],
        citation=doc["text"],
    )
    return LeadTime(doc["days"], rule_id, after_dose)


def _check_alternatives(series_file: str, series_doc: dict[str, Any], series_sources: set[str]) -> None:
    """A product's other schedules: doses numbered 1, 2, ...; every source defined; ages in order."""
    for vid, docs in series_doc.get("alternatives", {}).items():
        for index, doc in enumerate(docs):
            where = f"alternatives.{vid}[{index}]"
            numbers = [d["dose"] for d in doc["doses"]]
            if numbers != list(range(1, len(numbers) + 1)):
                raise DataError(series_file, f"{where}.doses", f"doses must be numbered 1, 2, ... (got {numbers})")
            used = [doc["source"], *(i["source"] for d in doc["doses"] for i in d.get("intervals", ()))]
            used += [doc["lead_time"]["source"]] if "lead_time" in doc else []
            for key in used:
                if key not in series_sources:
                    raise DataError(series_file, where, f"undefined source {key!r}")
            if doc.get("max_age_years", 200) < doc.get("min_age_years", 0):
                raise DataError(series_file, f"{where}.max_age_years", "is below min_age_years")


def _conflict_codes(rows: Iterable[dict[str, str]]) -> set[str]:
    return {code for row in rows for code in (row["previous_cvx"], row["current_cvx"])}


@dataclass(frozen=True)
class _Checked:
    """What the cross-checks read: the documents as loaded and what was built from them."""

    data_dir: Path
    catalog_doc: dict[str, Any]
    catalog: Catalog
    conflict_rows: list[dict[str, str]]
    cvx_map_rows: list[dict[str, str]]
    series_doc: dict[str, Any]
    vaccine_rules: VaccineRules
    profiles: list[AnyProfile]

    def shown(self, name: str) -> str:
        return _shown(self.data_dir / name, self.data_dir)


def cross_check(checked: _Checked, live_classes_doc: dict[str, Any]) -> None:
    """What a schema cannot say: facts that must agree across files and with their sources (module docstring)."""
    cdsi_live = _check_live_table(checked)
    files = (checked.shown(CATALOG), checked.shown(CONFLICTS), checked.shown(LIVE_CLASSES))
    invariants.check_live_classes(checked.catalog_doc, cdsi_live, live_classes_doc, files)
    invariants.check_live_spacing(checked.conflict_rows, checked.shown(CONFLICTS), _days)
    invariants.check_cdsi_intervals(checked.series_doc, checked.data_dir / ANTIGENS, checked.shown(SERIES), "cdsi-4.64")
    _check_catalog_sources(checked)
    _check_series(checked)
    _check_rule_ids(checked)


def _check_live_table(checked: _Checked) -> set[str]:
    """CDSi's live-virus conflict table is whole, and its codes are live catalog vaccines; returns its codes
    and those CDSi's CVX map marks as in it."""
    conflicts_file = checked.shown(CONFLICTS)
    if not checked.conflict_rows:
        raise DataError(conflicts_file, "", "holds no live-virus conflict rule (CDSi lists 625)")
    in_table = _conflict_codes(checked.conflict_rows)
    marked = {row["cvx"] for row in checked.cvx_map_rows if row.get("inLiveVirusConflicts", "").strip()}
    missing = sorted(marked - in_table)
    if missing:
        raise DataError(
            conflicts_file,
            "previous_cvx/current_cvx",
            f"CVX {', '.join(missing)} are live-virus conflict codes in CDSi's CVX map "
            f"({checked.shown(CVX_MAP)}) but have no rule here",
        )
    # A code CDSi lists as live must be live in the catalog: the worst answer is a live vaccine proposed
    # during B-cell depletion because the catalog calls it non-live.
    for index, entry in enumerate(checked.catalog_doc["vaccines"]):
        live_codes = sorted((in_table | marked) & set(entry["cvx"]))
        if live_codes and entry["live"] is not True:
            raise DataError(
                checked.shown(CATALOG),
                f"vaccines[{index}].live",
                f"{entry['id']!r} is marked non-live, but CVX {', '.join(live_codes)} is a live vaccine in "
                "CDSi's live-virus conflict table",
                source="CDSi 4.64 liveVirusConflicts",
            )
    catalog_codes = {code for entry in checked.catalog.vaccines for code in entry.cvx}
    unknown_codes = sorted(in_table - catalog_codes)
    if unknown_codes:
        raise DataError(
            conflicts_file, "previous_cvx/current_cvx", f"CVX {', '.join(unknown_codes)} are not catalog vaccines"
        )
    return in_table | marked


def _check_catalog_sources(checked: _Checked) -> None:
    sources = set(checked.catalog_doc["sources"])
    for group in ("vaccines", "unspecified"):
        for index, entry in enumerate(checked.catalog_doc[group]):
            unknown = [part.strip() for part in entry["source"].split(";") if part.strip() not in sources]
            if unknown:
                raise DataError(
                    checked.shown(CATALOG), f"{group}[{index}].source", f"names undefined sources {unknown}"
                )


def _check_series(checked: _Checked) -> None:
    """Doses numbered 1..n, intervals from earlier doses, and every source a series or lead time names defined."""
    series_file, series_doc = checked.shown(SERIES), checked.series_doc
    series_sources = set(series_doc["sources"])
    for vid, doc in series_doc["series"].items():
        numbers = [d["dose"] for d in doc["doses"]]
        if numbers != list(range(1, len(numbers) + 1)):
            raise DataError(series_file, f"series.{vid}.doses", f"doses must be numbered 1, 2, ... (got {numbers})")
        for d in doc["doses"]:
            for i in d.get("intervals", ()):
                if not 1 <= i["from_dose"] < d["dose"]:
                    raise DataError(series_file, f"series.{vid}.doses[{d['dose'] - 1}]", "from_dose must be earlier")
                if i["source"] not in series_sources:
                    raise DataError(series_file, f"series.{vid}.doses", f"undefined source {i['source']!r}")
        partial = doc.get("partial_course")
        if partial is not None and partial["source"] not in series_sources:
            raise DataError(
                series_file, f"series.{vid}.partial_course.source", f"undefined source {partial['source']!r}"
            )
    _check_alternatives(series_file, series_doc, series_sources)
    for key, doc in series_doc["lead_times"].items():
        if doc["source"] not in series_sources:
            raise DataError(series_file, f"lead_times.{key}.source", f"undefined source {doc['source']!r}")


def _check_rule_ids(checked: _Checked) -> None:
    """Every rule the planner cites exists, and a rule id means one rule."""
    vaccine_rules = checked.vaccine_rules
    cited = (
        CDSI_RULE,
        ACIP_RULE,
        vaccine_rules.single_dose_rule,
        vaccine_rules.basis_rule,
        vaccine_rules.live_whole_rule,
        vaccine_rules.depletion_rule,
        vaccine_rules.yellow_fever_rule,
        vaccine_rules.not_counted_rule,
        vaccine_rules.live_priority_rule,
    )
    for rule_id in cited:
        if rule_id not in vaccine_rules.rules:
            raise DataError(
                checked.shown(RULES), f"rules.{rule_id}", "the planner cites this rule but it is not defined"
            )
    _check_profiles_apart(checked.data_dir, checked.profiles, set(vaccine_rules.rules))


def _check_profiles_apart(data_dir: Path, profiles: list[AnyProfile], vaccine_rule_ids: set[str]) -> None:
    """A name answers to one profile, and a rule id means one rule across every profile and the vaccine rules."""
    names: dict[str, str] = {}
    for profile in profiles:
        for name in (profile.id, profile.name, *profile.names, *profile.brand_names):
            key = normalize(name)
            if names.setdefault(key, profile.id) != profile.id:
                raise DataError(
                    _shown(data_dir / THERAPIES / f"{profile.id}.json", data_dir),
                    "names",
                    f"{name!r} also names {names[key]!r}: treatment.drug must name one therapy",
                )
    seen = set(vaccine_rule_ids)
    for profile in profiles:
        for role, rule in profile.rules.items():
            if rule.id in seen:
                raise DataError(
                    _shown(data_dir / THERAPIES / f"{profile.id}.json", data_dir),
                    f"rules.{role}.id",
                    f"rule id {rule.id!r} is defined twice",
                )
            seen.add(rule.id)


def _csv_rows(path: Path, data_dir: Path, columns: tuple[str, ...]) -> tuple[list[dict[str, str]], bytes]:
    try:
        raw = path.read_bytes()
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    except (OSError, ValueError) as error:
        raise DataError(_shown(path, data_dir), "", f"cannot be read as CSV ({error})") from None
    header = set(rows[0]) if rows else set(raw.decode("utf-8").splitlines()[0].split(",") if raw.strip() else ())
    absent = [c for c in columns if c not in header]
    if absent:
        raise DataError(_shown(path, data_dir), absent[0], "column missing")
    return rows, raw


def load_ruleset(data_dir: Path | str | None = None) -> Ruleset:
    """Read and check every data file; the packaged data by default (read once per process)."""
    return _load(Path(data_dir).resolve() if data_dir is not None else DATA_DIR)


@lru_cache(maxsize=4)
def _load(data_dir: Path) -> Ruleset:
    digest = hashlib.sha256()
    # The files every therapy's answers read (catalog, series, rules, conflicts): each therapy's version is
    # a digest of these and its own profile, so a change to one profile leaves the others' versions alone.
    shared = hashlib.sha256()
    own: dict[str, bytes] = {}

    def read_checked(path: Path, schema: str) -> dict[str, Any]:
        doc, raw = _read(path, data_dir)
        check_schema(doc, schema, _shown(path, data_dir))
        digest.update(raw)
        if schema.startswith("therapy"):
            own[path.stem] = raw
        else:
            shared.update(raw)
        return doc  # type: ignore[no-any-return]

    def built(path: Path, build: Any, *args: Any) -> Any:
        try:
            return build(*args)
        except ProfileError as error:
            raise DataError(_shown(path, data_dir), error.field, str(error)) from None
        except (ValueError, KeyError) as error:
            raise DataError(_shown(path, data_dir), "", str(error)) from None

    catalog_path = data_dir / CATALOG
    catalog_doc = read_checked(catalog_path, "vaccines.schema.json")
    catalog = built(catalog_path, catalog_from_dict, catalog_doc)
    profile_docs, profiles = [], []
    therapy_paths = sorted((data_dir / THERAPIES).glob("*.json"))
    if not therapy_paths:
        raise DataError(_shown(data_dir / THERAPIES, data_dir), "", "holds no therapy profile")
    for path in therapy_paths:
        doc, profile = _therapy(path, data_dir, read_checked, built)
        profile_docs.append(doc)
        profiles.append(profile)
    series_path, rules_path = data_dir / SERIES, data_dir / RULES
    series_doc = read_checked(series_path, "series.schema.json")
    rules_doc = read_checked(rules_path, "rules.schema.json")
    conflict_rows, raw = _csv_rows(data_dir / CONFLICTS, data_dir, CONFLICTS_COLUMNS)
    digest.update(raw)
    shared.update(raw)
    cvx_map_rows, _ = _csv_rows(data_dir / CVX_MAP, data_dir, ("cvx", "inLiveVirusConflicts"))
    conflicts = built(data_dir / CONFLICTS, conflicts_from_csv, raw.decode("utf-8"))
    vaccine_rules = built(series_path, vaccine_rules_from, series_doc, rules_doc, conflicts, catalog)
    checked = _Checked(data_dir, catalog_doc, catalog, conflict_rows, cvx_map_rows, series_doc, vaccine_rules, profiles)
    cross_check(checked, _read_plain(data_dir / LIVE_CLASSES, data_dir, "live-classes.schema.json"))
    sentinels = _sentinels(data_dir, profile_docs)
    full = digest.hexdigest()
    short = full[:12]
    base = shared.digest()
    versions = {
        p.id: f"{p.version}+catalog.{catalog.version}.data.{hashlib.sha256(base + own[p.id]).hexdigest()[:12]}"
        for p in profiles
    }
    ruleset = Ruleset(Therapies(profiles, versions), catalog, vaccine_rules, short, catalog_doc, full)
    run_sentinels(ruleset, sentinels)
    return ruleset


def _therapy(path: Path, data_dir: Path, read_checked: Any, built: Any) -> tuple[dict[str, Any], AnyProfile]:
    """One therapy profile, checked against its kind's schema: dosed (therapy.schema.json), or continuous and
    course (therapy-kinds.schema.json, built by service.data.kind_profiles)."""
    doc, _ = _read(path, data_dir)
    schema = "therapy.schema.json" if kind_of(doc) == DOSED else "therapy-kinds.schema.json"
    doc = read_checked(path, schema)
    if doc["id"] != path.stem:
        raise DataError(_shown(path, data_dir), "id", f"{doc['id']!r} differs from the file name {path.stem!r}")
    if schema == "therapy.schema.json":
        return doc, built(path, profile_from_dict, doc)
    try:
        return doc, kind_profile_from_dict(doc)
    except KindProfileError as error:
        raise DataError(_shown(path, data_dir), error.field, str(error).split(": ", 1)[1]) from None


def _read_plain(path: Path, data_dir: Path, schema: str) -> dict[str, Any]:
    """A checking file (not part of the digest: it cannot change an answer, only stop a wrong one)."""
    doc, _ = _read(path, data_dir)
    check_schema(doc, schema, _shown(path, data_dir))
    return doc  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Sentinels:
    """The sentinel plans to run: (drug, document, file as shown) for each profile's own file and for the
    plans every profile answers."""

    runs: list[tuple[str, dict[str, Any], str]]


def _sentinels(data_dir: Path, profile_docs: list[dict[str, Any]]) -> _Sentinels:
    """Each profile's sentinel file (sentinels/<id>.json, required: a new profile brings its own), its label
    values checked against the profile, and the plans every profile must answer."""
    folder = data_dir / SENTINELS
    every_path = folder / invariants.EVERY_PROFILE
    every = _read_plain(every_path, data_dir, "sentinels.schema.json")
    runs = []
    for doc in profile_docs:
        path = folder / f"{doc['id']}.json"
        shown, profile_file = _shown(path, data_dir), _shown(data_dir / THERAPIES / f"{doc['id']}.json", data_dir)
        if not path.is_file():
            raise DataError(
                shown,
                "",
                f"missing: every therapy profile needs its label values and hand-worked plans ({profile_file})",
            )
        own = _read_plain(path, data_dir, "sentinels.schema.json")
        if own["profile"] != doc["id"]:
            raise DataError(shown, "profile", f"is {own['profile']!r}, not {doc['id']!r}")
        invariants.check_label_values(doc, own, (profile_file, shown))
        runs.append((doc["id"], own, shown))
        if _says_every_profile_plan(doc):
            runs.append((doc["id"], every, _shown(every_path, data_dir)))
    return _Sentinels(runs)


def _says_every_profile_plan(doc: dict[str, Any]) -> bool:
    """Whether the plans every profile answers apply: they are what a therapy that suppresses the immune response
    from a start date says (live vaccines avoided during it, a live vaccine given then flagged). A therapy
    without live-vaccine restriction (glatiramer, the interferons) says otherwise, and a course therapy is read
    from the days given, not a start date; their own sentinel files hold their plans."""
    if kind_of(doc) == DOSED:
        return True
    return doc["kind"] == "continuous" and doc["vaccine_timing"]["live_pre_start"] is not None


def run_sentinels(ruleset: Ruleset, sentinels: _Sentinels) -> None:
    """Answer every sentinel plan with the planner every front end uses; a difference stops the start."""
    from datetime import date

    from service.planning import Planner  # here: service.planning imports this module

    planner = Planner(ruleset=ruleset, today=lambda: date(2000, 1, 1))  # every case names its as_of
    for drug, doc, shown in sentinels.runs:
        invariants.run_cases(planner, doc, drug, shown)
