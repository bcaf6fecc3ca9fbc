"""docs/adding-a-therapy.md, held to the code: a second profile in a copy of the data is planned from the data
alone, and the table of files that still name ofatumumab lists exactly those that do."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

from service.app import create_app

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "adding-a-therapy.md"


def test_a_second_profile_in_the_data_is_planned_listed_and_cited_by_its_own_rule_ids(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "service" / "data", data, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    profile = json.loads((data / "therapies" / "ofatumumab.json").read_text())
    profile.update(id="examplimab", name="examplimab", brand_names=["Examplo"], names=["examplimab"])
    for rule in profile["rules"].values():
        rule["id"] = rule["id"].replace("ofatumumab.", "examplimab.")
    (data / "therapies" / "examplimab.json").write_text(json.dumps(profile))
    # Its label values and hand-worked plans (required for every profile): here ofatumumab's, as the copy has
    # the same label figures.
    sentinels = json.loads((data / "sentinels" / "ofatumumab.json").read_text())
    sentinels["profile"] = "examplimab"
    for case in sentinels["cases"]:
        case["request"]["treatment"]["drug"] = "examplimab"
    (data / "sentinels" / "examplimab.json").write_text(json.dumps(sentinels))
    client = create_app({"TODAY": date(2026, 11, 24), "LOG_LEVEL": "WARNING", "DATA_DIR": str(data)}).test_client()

    doses = ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]
    body = {"as_of": "2026-11-24", "treatment": {"drug": "Examplo", "doses": doses}, "vaccines": [{"name": "Shingrix"}]}
    answer = client.post("/v1/plans", json=body).get_json()
    assert answer["ruleset"]["id"] == "examplimab" and answer["treatment"]["drug"] == "examplimab"
    cited = answer["vaccines"][0]["rules"]
    assert "examplimab.mid-cycle-slot" in cited and not any(r.startswith("ofatumumab.") for r in cited)
    therapies = client.get("/v1/therapies").get_json()["therapies"]
    assert sorted(t["id"] for t in therapies) == ["examplimab", "ofatumumab"]


def test_the_doc_lists_every_code_file_that_names_ofatumumab_and_no_other():
    """Text under service/ outside the data and the generated examples: when a file stops naming the drug (or
    starts), the doc's table says so too."""
    naming = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "service").rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".html", ".js", ".css"}
        and re.search(r"ofatumumab|kesimpta", path.read_text(encoding="utf-8"), re.I)
    }
    table = DOC.read_text(encoding="utf-8").split("| file | what names ofatumumab |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"`(service/[^`]+)`", table))
    assert naming == listed, (
        f"docs/adding-a-therapy.md: not listed {sorted(naming - listed)}, listed but clean {sorted(listed - naming)}"
    )
