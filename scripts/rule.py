"""Where a rule comes from and what tests it: the rule an answer cites, its source and citation, the data file
that defines it, the tests that name it or its topic, and how many golden answers cite it.

    python -m scripts.rule ofatumumab.mid-cycle-slot     # one rule by the id an answer cites
    python -m scripts.rule serology                      # every rule whose id contains the text
    python -m scripts.rule                               # every rule id, by group

Every id an answer can cite is listed by GET /v1/rules; tests/test_docs.py checks that each one is found here
with its data file and its tests.
"""

from __future__ import annotations

import gzip
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from service.data.loader import load_ruleset

ROOT = Path(__file__).resolve().parents[1]
DATA = "service/data"
# The tests of each family of rules, by the prefix of its ids (a test that names the full id is found as well).
TESTS_BY_PREFIX = {
    "therapy": ["tests/test_schedule.py", "tests/test_windows.py", "tests/test_histories.py", "tests/test_properties.py"],
    "series": ["tests/test_series_data.py", "tests/test_real_schedules.py"],
    "lead-time": ["tests/test_real_schedules.py", "tests/test_travel_products.py"],
    "serology": ["tests/test_travel_products.py"],
    "plan": ["tests/test_real_schedules.py", "tests/test_properties.py"],
    "cdsi": ["tests/test_real_schedules.py", "tests/test_series_data.py"],
    "acip": ["tests/test_real_schedules.py"],
    "cdc": ["tests/test_travel_products.py"],
}  # fmt: skip


@dataclass(frozen=True)
class Found:
    id: str
    group: str
    evidence: str
    source: str
    citation: str
    summary: str
    defined_in: str  # the data file, and the key that holds the rule in it
    tests: tuple[str, ...]
    golden_answers: int


def defined_in(rule_id: str, group: str) -> str:
    prefix, _, key = rule_id.partition(".")
    if group != "vaccines":
        path = f"{DATA}/therapies/{group}.json"
        roles = json.loads((ROOT / path).read_text("utf-8"))["rules"]
        role = next((name for name, rule in roles.items() if rule["id"] == rule_id), "?")
        return f"{path}: rules.{role}"
    where = {"series": "series", "lead-time": "lead_times", "serology": "serology"}.get(prefix)
    if where is not None:
        return f"{DATA}/series.json: {where}.{key}"
    return f"{DATA}/rules.json: rules.{rule_id}"


def tests_for(rule_id: str, group: str) -> tuple[str, ...]:
    prefix = "therapy" if group != "vaccines" else rule_id.partition(".")[0]
    naming = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py") if rule_id in p.read_text("utf-8")
    )
    return tuple(dict.fromkeys(naming + TESTS_BY_PREFIX.get(prefix, [])))


def golden_citations() -> dict[str, int]:
    """How many golden answers (tests/golden) cite each rule id."""
    counts: dict[str, int] = {}
    path = ROOT / "tests" / "golden" / "answers.jsonl.gz"
    if not path.exists():
        return counts
    with gzip.open(path, "rb") as lines:
        for line in lines:
            status, _, body = line.partition(b" ")
            if status != b"200":
                continue
            answer = json.loads(body)
            cited = {r for item in answer["vaccines"] + answer["warnings"] for r in item.get("rules", ())}
            for rule in cited:
                counts[rule] = counts.get(rule, 0) + 1
    return counts


def find(text: str = "") -> list[Found]:
    golden = golden_citations()
    return [
        Found(
            rule.id,
            group,
            rule.evidence,
            rule.source,
            rule.citation,
            rule.summary,
            defined_in(rule.id, group),
            tests_for(rule.id, group),
            golden.get(rule.id, 0),
        )  # fmt: skip
        for group, rule in load_ruleset().all_rules()
        if text in rule.id
    ]


def main(argv: list[str]) -> int:
    found = find(argv[0] if argv else "")
    if not found:
        print(f"no rule id contains {argv[0]!r}; `python -m scripts.rule` lists them all")
        return 1
    if not argv:
        for f in found:
            print(f"{f.group:12} {f.id}")
        return 0
    for f in found:
        print(f"{f.id}  ({f.evidence})\n  summary:    {f.summary}\n  source:     {f.source}")
        print(f"  citation:   {f.citation}\n  defined in: {f.defined_in}\n  tests:      {', '.join(f.tests)}")
        print(f"  cited by {f.golden_answers} golden answers (tests/golden; python -m scripts.golden)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
