"""Load the versioned data files shipped in this package into domain objects.

The ruleset version reported in every response is the profile's own version plus a digest of every data
file that can change an answer, so that an audit can tell exactly which data produced a plan.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from service.domain.catalog import Catalog, Unspecified, Vaccine
from service.domain.planner import Therapies
from service.domain.therapy import Cadence, MidCycleSlot, Rule, TherapyProfile

DATA_DIR = Path(__file__).resolve().parent
THERAPY_DIR = DATA_DIR / "therapies"
CATALOG_FILE = DATA_DIR / "vaccines.json"


@dataclass(frozen=True)
class Ruleset:
    """Everything the planner reads: therapy profiles, the vaccine catalog, and their provenance."""

    therapies: Therapies
    catalog: Catalog
    digest: str
    catalog_raw: dict[str, Any]


def _read(path: Path) -> tuple[Any, bytes]:
    raw = path.read_bytes()
    return json.loads(raw), raw


def profile_from_dict(doc: dict[str, Any]) -> TherapyProfile:
    schedule, timing = doc["schedule"], doc["vaccine_timing"]
    cadences = {name: Cadence(name=name, days=c.get("days", 0), months=c.get("months", 0),
                              description=c.get("description", ""))
                for name, c in schedule["cadences"].items()}
    rules = {role: Rule(id=r["id"], summary=r["summary"], evidence=r["evidence"], source=r["source"],
                        citation=r["citation"])
             for role, r in doc["rules"].items()}
    if schedule["default_cadence"] not in cadences:
        raise ValueError(f"{doc['id']}: default cadence {schedule['default_cadence']!r} is not defined")
    return TherapyProfile(
        id=doc["id"], version=doc["version"], name=doc["name"], brand_names=tuple(doc["brand_names"]),
        names=tuple(doc["names"]), starter_gaps=tuple(schedule["starter_gaps_days"]),
        starter_doses=schedule["starter_doses"], cadences=cadences, default_cadence=schedule["default_cadence"],
        live_pre_start_days=timing["live_pre_start_days"], non_live_pre_start_days=timing["non_live_pre_start_days"],
        mid_cycle=MidCycleSlot(**timing["mid_cycle"]), b_cell_recheck_days=timing["b_cell_recheck_days"],
        b_cell_consensus_days=timing["b_cell_consensus_days"],
        post_therapy_after_last_dose_days=timing["post_therapy_after_last_dose_days"], rules=rules,
        schedule_text=schedule.get("text", ""),
    )


def catalog_from_dict(doc: dict[str, Any]) -> Catalog:
    vaccines = [Vaccine(id=v["id"], name=v["name"], cvx=tuple(v["cvx"]), live=bool(v["live"]), route=v["route"],
                        antigens=tuple(v.get("antigens", ())), aliases=tuple(v.get("aliases", ())),
                        source=v["source"], note=v.get("note", ""))
                for v in doc["vaccines"]]
    unspecified = [Unspecified(cvx=u.get("cvx"), name=u["name"], aliases=tuple(u.get("aliases", ())),
                               candidates=tuple(u["candidates"]), source=u["source"], note=u.get("note", ""))
                   for u in doc.get("unspecified", [])]
    return Catalog(doc["catalog_version"], vaccines, unspecified)


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
    short = digest.hexdigest()[:12]
    versions = {p.id: f"{p.version}+catalog.{catalog.version}.data.{short}" for p in profiles}
    return Ruleset(Therapies(profiles, versions), catalog, short, catalog_doc)
