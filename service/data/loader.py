"""Load the versioned data files shipped in this package into domain objects.

The ruleset version reported in every response is the profile's own version plus a digest of every data
file that can change an answer, so that an audit can tell exactly which data produced a plan.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from service.domain.catalog import Catalog, Product, Unspecified, Vaccine
from service.domain.intervals import Interval
from service.domain.planner import Therapies, VaccineRules
from service.domain.series import LeadTime, Series, SeriesDose, SeriesInterval
from service.domain.spacing import LiveVirusConflicts
from service.domain.therapy import Cadence, MidCycleSlot, Rule, TherapyProfile

DATA_DIR = Path(__file__).resolve().parent
THERAPY_DIR = DATA_DIR / "therapies"
CATALOG_FILE = DATA_DIR / "vaccines.json"
SERIES_FILE = DATA_DIR / "series.json"
RULES_FILE = DATA_DIR / "rules.json"
CONFLICTS_FILE = DATA_DIR / "cdsi" / "live-virus-conflicts.csv"


@dataclass(frozen=True)
class Ruleset:
    """Everything the planner reads: therapy profiles, the vaccine catalog, and their provenance."""

    therapies: Therapies
    catalog: Catalog
    vaccine_rules: VaccineRules
    digest: str
    catalog_raw: dict[str, Any]

    def all_rules(self) -> list[tuple[str, Rule]]:
        """Every rule a response can cite, with the group it belongs to (a therapy id or "vaccines")."""
        out = [(p.id, rule) for p in self.therapies.profiles for rule in p.rules.values()]
        out += [("vaccines", rule) for rule in self.vaccine_rules.rules.values()]
        return out


def _read(path: Path) -> tuple[Any, bytes]:
    raw = path.read_bytes()
    return json.loads(raw), raw


def profile_from_dict(doc: dict[str, Any]) -> TherapyProfile:
    schedule, timing = doc["schedule"], doc["vaccine_timing"]
    cadences = {
        name: Cadence(name=name, days=c.get("days", 0), months=c.get("months", 0), description=c.get("description", ""))
        for name, c in schedule["cadences"].items()
    }
    rules = {
        role: Rule(id=r["id"], summary=r["summary"], evidence=r["evidence"], source=r["source"], citation=r["citation"])
        for role, r in doc["rules"].items()
    }
    if schedule["default_cadence"] not in cadences:
        raise ValueError(f"{doc['id']}: default cadence {schedule['default_cadence']!r} is not defined")
    return TherapyProfile(
        id=doc["id"],
        version=doc["version"],
        name=doc["name"],
        brand_names=tuple(doc["brand_names"]),
        names=tuple(doc["names"]),
        starter_gaps=tuple(schedule["starter_gaps_days"]),
        starter_doses=schedule["starter_doses"],
        cadences=cadences,
        default_cadence=schedule["default_cadence"],
        live_pre_start_days=timing["live_pre_start_days"],
        non_live_pre_start_days=timing["non_live_pre_start_days"],
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
    )


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
        keys = sorted({i["source"] for d in doc["doses"] for i in d.get("intervals", ())})
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
        rule_id = f"series.{vid}"
        rules[rule_id] = Rule(
            id=rule_id,
            summary=f"{doc['product']}: {len(doses)} dose(s)" + (f"; {plan}" if plan else "."),
            evidence="CDSi" if cdsi else "label",
            source=source or "decision",
            citation=f"Aim: {doc['aim']}. {doc['aim_why']} {doc.get('note', '')}".strip(),
        )
        series[vid] = Series(vid, doses, rule_id)
    lead_times: dict[str, LeadTime] = {}
    for key, doc in series_doc["lead_times"].items():
        if key != "default" and catalog.get(key) is None:
            raise ValueError(f"lead time for unknown catalog id {key!r}")
        after = doc.get("after", "last_dose")
        after_dose = None if after == "last_dose" else int(after.removeprefix("dose "))
        rule_id = f"lead-time.{key}"
        rules[rule_id] = Rule(
            id=rule_id,
            summary=f"Protection expected {doc['days']} days after "
            + ("the last dose" if after_dose is None else f"dose {after_dose}")
            + ("" if key == "default" else f" ({key})")
            + " (a person in B-cell depletion: the date the series is complete, no protection date).",
            evidence=(
                "decision"
                if doc["source"] == "decision"
                else "label"
                if doc["source"].startswith("label")
                else "guideline"
            ),
            source=sources[doc["source"]],
            citation=doc["text"],
        )
        lead_times[key] = LeadTime(doc["days"], rule_id, after_dose)
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
    )


@lru_cache(maxsize=1)
def load_ruleset() -> Ruleset:
    """Read and check every data file once per process."""
    digest = hashlib.sha256()
    catalog_doc, raw = _read(CATALOG_FILE)
    digest.update(raw)
    catalog = catalog_from_dict(catalog_doc)
    profiles = []
    for path in sorted(THERAPY_DIR.glob("*.json")):
        doc, raw = _read(path)
        digest.update(raw)
        profiles.append(profile_from_dict(doc))
    series_doc, raw = _read(SERIES_FILE)
    digest.update(raw)
    rules_doc, raw = _read(RULES_FILE)
    digest.update(raw)
    raw = CONFLICTS_FILE.read_bytes()
    digest.update(raw)
    vaccine_rules = vaccine_rules_from(series_doc, rules_doc, conflicts_from_csv(raw.decode("utf-8")), catalog)
    short = digest.hexdigest()[:12]
    versions = {p.id: f"{p.version}+catalog.{catalog.version}.data.{short}" for p in profiles}
    return Ruleset(Therapies(profiles, versions), catalog, vaccine_rules, short, catalog_doc)
