"""Wrong data is refused at start-up, never served: each defect is planted in a copy of service/data and
must stop load_ruleset, create_app and gunicorn with a message naming the file and the field.

The defects are the ones found by probing the service: each of them used to start, report ready
and answer; with yellow fever marked non-live it was proposed mid-cycle during ofatumumab.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app
from service.data.loader import DATA_DIR, DataError, load_ruleset
from tests.conftest import TODAY
from tests.server import GUNICORN, ROOT, free_port

SCHEMAS = DATA_DIR / "schemas"


def data_copy(tmp_path: Path) -> Path:
    """A copy of the packaged data (with the CDSi antigen files the series intervals are checked against)."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target


def edit_json(path: Path, change: Callable[[Any], None]) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")


def vaccine(doc: dict[str, Any], vaccine_id: str) -> dict[str, Any]:
    return next(v for v in doc["vaccines"] if v["id"] == vaccine_id)


def yellow_fever_non_live(data: Path) -> None:
    edit_json(data / "vaccines.json", lambda d: vaccine(d, "yellow-fever").update(live=False))


def live_as_a_string(data: Path) -> None:
    edit_json(data / "vaccines.json", lambda d: vaccine(d, "mmr").update(live="false"))


def conflict_table_emptied(data: Path) -> None:
    path = data / "cdsi" / "live-virus-conflicts.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")


def conflict_table_without_yellow_fever(data: Path) -> None:
    path = data / "cdsi" / "live-virus-conflicts.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(r for r in rows if "37" not in (r["previous_cvx"], r["current_cvx"]))
    path.write_text(out.getvalue(), encoding="utf-8")


def missed_dose_rule_removed(data: Path) -> None:
    edit_json(data / "therapies" / "ofatumumab.json", lambda d: d["rules"].pop("missed_dose"))


def alias_on_two_products(data: Path) -> None:
    edit_json(
        data / "vaccines.json", lambda d: vaccine(d, "zoster-recombinant").setdefault("aliases", []).append("MMR")
    )


def cited_rule_removed(data: Path) -> None:
    edit_json(data / "rules.json", lambda d: d["rules"].pop("cdsi.live-virus-conflict"))


def unknown_candidate(data: Path) -> None:
    edit_json(data / "vaccines.json", lambda d: d["unspecified"][0]["candidates"].append("no-such-vaccine"))


def undefined_series_source(data: Path) -> None:
    edit_json(data / "series.json", lambda d: d["lead_times"]["default"].update(source="nowhere"))


def partial_course_flag_as_a_string(data: Path) -> None:
    edit_json(data / "series.json", lambda d: d["series"]["typhoid-oral"]["partial_course"].update(protects="no"))


def live_priority_rule_removed(data: Path) -> None:
    edit_json(data / "rules.json", lambda d: d["rules"].pop("plan.live-priority"))


def evidence_misspelt(data: Path) -> None:
    edit_json(data / "therapies" / "ofatumumab.json", lambda d: d["rules"]["mid_cycle"].update(evidence="lable"))


def alternative_for_an_unknown_product(data: Path) -> None:
    edit_json(
        data / "series.json",
        lambda d: d["alternatives"].update({"no-such-vaccine": d["alternatives"]["je-inactivated"]}),
    )


def alternative_with_an_unknown_use(data: Path) -> None:
    edit_json(data / "series.json", lambda d: d["alternatives"]["je-inactivated"][0].update(use="sometimes"))


def alternative_doses_misnumbered(data: Path) -> None:
    edit_json(data / "series.json", lambda d: d["alternatives"]["hepa-hepb"][0]["doses"][3].update(dose=5))


def alternative_ages_reversed(data: Path) -> None:
    edit_json(data / "series.json", lambda d: d["alternatives"]["je-inactivated"][0].update(min_age_years=70))


def a_continuous_kind(data: Path) -> None:
    edit_json(data / "therapies" / "rituximab.json", lambda d: d.update(kind="continuous"))


def a_misspelt_interval(data: Path) -> None:
    edit_json(data / "therapies" / "fingolimod.json", lambda d: d["vaccine_timing"].update(after_stop="2 monts"))


def pause_advice_without_its_rule(data: Path) -> None:
    edit_json(data / "therapies" / "siponimod.json", lambda d: d["rules"].pop("pause"))


def a_course_week_shorter_at_its_longest(data: Path) -> None:
    edit_json(
        data / "therapies" / "cladribine-tablets.json",
        lambda d: d["schedule"]["courses"][1]["weeks"][0].update(min_days=6),
    )


def a_label_default_cadence_it_lacks(data: Path) -> None:
    edit_json(
        data / "therapies" / "ocrelizumab.json",
        lambda d: d["schedule"]["default_cadence_by_label"].update(eu="monthly"),
    )


def a_name_of_another_therapy(data: Path) -> None:
    edit_json(data / "therapies" / "ublituximab.json", lambda d: d["brand_names"].append("Ocrevus"))


def a_fhir_cadence_it_lacks(data: Path) -> None:
    edit_json(
        data / "therapies" / "ocrelizumab.json",
        lambda d: d["interop"]["fhir_cadences"].append({"period": 1, "unit": "mo", "cadence": "monthly"}),
    )


def a_quiet_live_card(data: Path) -> None:
    edit_json(
        data / "therapies" / "rituximab.json", lambda d: d["interop"]["card_indicators"].update(live_no_window="info")
    )


def starter_gaps_that_do_not_fit(data: Path) -> None:
    edit_json(data / "therapies" / "ublituximab.json", lambda d: d["schedule"].update(starter_gaps_days=[14, 154]))


def a_misspelt_field(data: Path) -> None:
    edit_json(data / "therapies" / "ocrelizumab-sc.json", lambda d: d["vaccine_timing"].update(live_pre_start_dyas=28))


def a_label_figure_for_a_label_it_lacks(data: Path) -> None:
    edit_json(
        data / "therapies" / "rituximab.json",
        lambda d: d["vaccine_timing"].update(live_pre_start_days={"us": 28, "eu": 42}),
    )


def a_recheck_figure_without_its_rule(data: Path) -> None:
    edit_json(data / "therapies" / "rituximab.json", lambda d: d["rules"].pop("repletion_before_median"))


# (defect, file named, field named, words in the message)
DEFECTS = [
    (yellow_fever_non_live, "vaccines.json", "vaccines[13].live", "live vaccine in CDSi's live-virus conflict table"),
    (live_as_a_string, "vaccines.json", "vaccines[0].live", "'false' is not of type 'boolean'"),
    (conflict_table_emptied, "cdsi/live-virus-conflicts.csv", "", "holds no live-virus conflict rule"),
    (conflict_table_without_yellow_fever, "cdsi/live-virus-conflicts.csv", "previous_cvx/current_cvx", "CVX 37"),
    (missed_dose_rule_removed, "therapies/ofatumumab.json", "rules", "'missed_dose' is a required property"),
    (alias_on_two_products, "vaccines.json", "", "claimed by both"),
    (cited_rule_removed, "rules.json", "rules.cdsi.live-virus-conflict", "the planner cites this rule"),
    (unknown_candidate, "vaccines.json", "", "unknown candidates"),
    (undefined_series_source, "series.json", "", "nowhere"),
    (partial_course_flag_as_a_string, "series.json", "", "'no' is not of type 'boolean'"),
    (live_priority_rule_removed, "rules.json", "rules.plan.live-priority", "the planner cites this rule"),
    (evidence_misspelt, "therapies/ofatumumab.json", "rules.mid_cycle.evidence", "'lable' is not one of"),
    (alternative_for_an_unknown_product, "series.json", "", "no-such-vaccine"),
    (alternative_with_an_unknown_use, "series.json", "alternatives.je-inactivated[0].use", "'sometimes' is not one of"),
    (alternative_doses_misnumbered, "series.json", "alternatives.hepa-hepb[0].doses", "numbered 1, 2"),
    (alternative_ages_reversed, "series.json", "alternatives.je-inactivated[0].max_age_years", "below min_age_years"),
    # A profile is checked against its kind's schema: a dosed profile relabelled continuous fails it.
    (a_continuous_kind, "therapies/rituximab.json", "schedule", "starter_gaps_days"),
    (a_misspelt_interval, "therapies/fingolimod.json", "vaccine_timing.after_stop", "2 monts"),
    (pause_advice_without_its_rule, "therapies/siponimod.json", "rules", "'pause' is a required property"),
    (
        a_course_week_shorter_at_its_longest,
        "therapies/cladribine-tablets.json",
        "schedule.courses[1].weeks[0].min_days",
        "more than max_days",
    ),
    (a_label_default_cadence_it_lacks, "therapies/ocrelizumab.json", "schedule.default_cadence_by_label.eu", "monthly"),
    (a_name_of_another_therapy, "therapies/ublituximab.json", "names", "also names 'ocrelizumab'"),
    (a_fhir_cadence_it_lacks, "therapies/ocrelizumab.json", "interop.fhir_cadences[3].cadence", "monthly"),
    (a_quiet_live_card, "therapies/rituximab.json", "interop.card_indicators.live_no_window", "critical"),
    (starter_gaps_that_do_not_fit, "therapies/ublituximab.json", "schedule.starter_gaps_days", "expected 1"),
    (a_misspelt_field, "therapies/ocrelizumab-sc.json", "vaccine_timing", "live_pre_start_dyas"),
    (
        a_label_figure_for_a_label_it_lacks,
        "therapies/rituximab.json",
        "vaccine_timing.live_pre_start_days.us",
        "labels",
    ),
    (a_recheck_figure_without_its_rule, "therapies/rituximab.json", "rules.repletion_before_median", "required"),
]
DEFECT_IDS = [d[0].__name__.replace("_", "-") for d in DEFECTS]


# Clinically wrong values a schema accepts: each used to start and serve a wrong window (yellow fever up to the
# day of the first dose with live_pre_start_days 0). Now each is held to the source that fixes it.
def therapy(data: Path, change: Callable[[Any], None]) -> None:
    edit_json(data / "therapies" / "ofatumumab.json", change)


def live_pre_start_days_zero(data: Path) -> None:
    therapy(data, lambda d: d["vaccine_timing"].update(live_pre_start_days=0))


def live_spacing_seven_days(data: Path) -> None:
    """MMR then varicella: CDSi's 28-day live-virus conflict shortened to 7 days."""
    path = data / "cdsi" / "live-virus-conflicts.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("03,MMR,21,"))
    assert lines[index].endswith(",28 days")
    lines[index] = lines[index].removesuffix(",28 days") + ",7 days"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def cadence_seven_days(data: Path) -> None:
    therapy(data, lambda d: d["schedule"]["cadences"]["every_4_weeks"].update(days=7))


def mid_cycle_one_day(data: Path) -> None:
    therapy(data, lambda d: d["vaccine_timing"]["mid_cycle"].update(after_min=1))


def shingrix_live(data: Path) -> None:
    edit_json(data / "vaccines.json", lambda d: vaccine(d, "zoster-recombinant").update(live=True))


def non_live_pre_start_days_seven(data: Path) -> None:
    therapy(data, lambda d: d["vaccine_timing"].update(non_live_pre_start_days=7))


def starter_gaps_changed(data: Path) -> None:
    therapy(data, lambda d: d["schedule"].update(starter_gaps_days=[7, 7, 7]))


def cited_words_changed(data: Path) -> None:
    therapy(data, lambda d: d["rules"]["live_pre_start"].update(citation="at least 1 week prior to initiation"))


def shingrix_minimum_two_weeks(data: Path) -> None:
    """Shingrix dose 2's minimum interval (CDSi: 4 weeks) typed as 2 weeks."""

    def change(doc: Any) -> None:
        (interval,) = doc["series"]["zoster-recombinant"]["doses"][1]["intervals"]
        assert interval["minimum"] == "4 weeks"
        interval["minimum"] = "2 weeks"

    edit_json(data / "series.json", change)


KESIMPTA_LABEL = "Kesimpta US prescribing information, section 2"
# (defect, file named, field named, source named)
CLINICAL_DEFECTS = [
    (live_pre_start_days_zero, "therapies/ofatumumab.json", "vaccine_timing.live_pre_start_days", KESIMPTA_LABEL),
    (live_spacing_seven_days, "cdsi/live-virus-conflicts.csv", "conflictEndInterval", "ACIP General Best Practice"),
    (cadence_seven_days, "therapies/ofatumumab.json", "schedule.cadences.every_4_weeks.days", KESIMPTA_LABEL),
    (mid_cycle_one_day, "therapies/ofatumumab.json", "vaccine_timing.mid_cycle", "Seed 000"),
    (shingrix_live, "vaccines.json", "vaccines[9].live", "CDSi 4.64 liveVirusConflicts"),
    (
        non_live_pre_start_days_seven,
        "therapies/ofatumumab.json",
        "vaccine_timing.non_live_pre_start_days",
        KESIMPTA_LABEL,
    ),
    (starter_gaps_changed, "therapies/ofatumumab.json", "schedule.starter_gaps_days", KESIMPTA_LABEL),
    (
        shingrix_minimum_two_weeks,
        "series.json",
        "series.zoster-recombinant.doses[1].intervals",
        "CDSi 4.64 AntigenSupportingData-Zoster-508.xml, series 'Zoster Risk 2-dose series'",
    ),
]
CLINICAL_IDS = [d[0].__name__.replace("_", "-") for d in CLINICAL_DEFECTS]


@pytest.mark.parametrize(("defect", "file", "field", "source"), CLINICAL_DEFECTS, ids=CLINICAL_IDS)
def test_a_clinically_wrong_value_is_refused_naming_the_file_the_field_and_the_source(
    tmp_path, defect, file, field, source
):
    data = data_copy(tmp_path)
    defect(data)
    with pytest.raises(DataError) as refused:
        load_ruleset(data)
    assert refused.value.path == str(data / file)
    assert refused.value.field.endswith(field), refused.value.field
    assert source in refused.value.source and source in str(refused.value), str(refused.value)


def test_the_words_a_label_value_rests_on_must_stay_in_the_profile(tmp_path):
    data = data_copy(tmp_path)
    cited_words_changed(data)
    with pytest.raises(DataError) as refused:
        load_ruleset(data)
    assert refused.value.path == str(data / "therapies" / "ofatumumab.json")
    assert refused.value.field == "rules.live_pre_start.citation"
    assert "at least 4 weeks prior to initiation of KESIMPTA" in str(refused.value)


def sentinel_file(data: Path, name: str = "ofatumumab") -> Path:
    return data / "sentinels" / f"{name}.json"


def case_index(data: Path, name: str) -> int:
    cases = json.loads(sentinel_file(data).read_text(encoding="utf-8"))["cases"]
    return next(i for i, case in enumerate(cases) if case["name"] == name)


def test_a_value_no_label_fixes_is_still_caught_by_a_hand_worked_plan(tmp_path):
    """post_therapy_after_last_dose_days is our decision, not a label value: the sentinel plan catches it."""
    data = data_copy(tmp_path)
    therapy(data, lambda d: d["vaccine_timing"].update(post_therapy_after_last_dose_days=0))
    name = "after stopping, non-live vaccines from 14 days after the last dose"
    with pytest.raises(DataError) as refused:
        load_ruleset(data)
    assert refused.value.path == str(sentinel_file(data))
    assert (
        refused.value.field
        == f"cases[{case_index(data, name)}] ({name!r}, ofatumumab).expect.vaccines[0].windows[0].start"
    )
    assert "the hand-worked answer is '2026-11-24', the planner answers '2026-11-13'" in str(refused.value)
    assert "2026-11-10 + 14 days" in refused.value.source


def test_a_sentinel_whose_answer_differs_stops_the_start_naming_the_case(tmp_path):
    data = data_copy(tmp_path)
    name = "a live window ends 28 days before a planned start"
    index = case_index(data, name)
    edit_json(sentinel_file(data), lambda d: d["cases"][index]["expect"].update({"vaccines[0].status": "mid_cycle"}))
    with pytest.raises(DataError) as refused:
        load_ruleset(data)
    assert refused.value.field == f"cases[{index}] ({name!r}, ofatumumab).expect.vaccines[0].status"
    assert "'mid_cycle', the planner answers 'pre_start'" in str(refused.value)


def test_the_plans_every_profile_answers_run_for_each_profile(tmp_path):
    data = data_copy(tmp_path)
    path = data / "sentinels" / "_every_profile.json"
    edit_json(path, lambda d: d["cases"][0]["expect"].update({"vaccines[0].status": "mid_cycle"}))
    with pytest.raises(DataError) as refused:
        load_ruleset(data)
    assert refused.value.path == str(path)
    # Run for each profile (the first one loaded is named): the case fails for the first it runs for.
    assert refused.value.field.startswith("cases[0] ('a live vaccine during active therapy is avoid', ")
    assert refused.value.field.split(", ", 1)[1].split(")")[0] in load_ruleset().therapies.versions


def second_profile(data: Path) -> None:
    """A copy of the ofatumumab profile under another id (rule ids renamed: an id means one rule)."""
    doc = json.loads((data / "therapies" / "ofatumumab.json").read_text(encoding="utf-8"))
    doc.update(id="ofatumumab-copy", name="ofatumumab copy", names=["ofatumumab copy"], brand_names=[])
    for rule in doc["rules"].values():
        rule["id"] = rule["id"].replace("ofatumumab.", "ofatumumab-copy.")
    (data / "therapies" / "ofatumumab-copy.json").write_text(json.dumps(doc), encoding="utf-8")


def test_a_profile_without_its_sentinel_file_does_not_start(tmp_path):
    data = data_copy(tmp_path)
    second_profile(data)
    with pytest.raises(DataError) as refused:
        load_ruleset(data)
    assert refused.value.path == str(sentinel_file(data, "ofatumumab-copy"))
    assert "every therapy profile needs its label values and hand-worked plans" in str(refused.value)


def test_a_new_profile_is_held_to_its_own_sentinels_and_to_every_profiles(tmp_path):
    data = data_copy(tmp_path)
    second_profile(data)
    own = json.loads(sentinel_file(data).read_text(encoding="utf-8"))
    own["profile"] = "ofatumumab-copy"
    for case in own["cases"]:
        case["request"]["treatment"]["drug"] = "ofatumumab-copy"
    sentinel_file(data, "ofatumumab-copy").write_text(json.dumps(own), encoding="utf-8")
    ruleset = load_ruleset(data)
    assert set(ruleset.therapies.versions) == set(load_ruleset().therapies.versions) | {"ofatumumab-copy"}
    wrong = shutil.copytree(data, tmp_path / "wrong")  # load_ruleset reads a directory once per process
    edit_json(wrong / "therapies" / "ofatumumab-copy.json", lambda d: d["vaccine_timing"].update(live_pre_start_days=7))
    with pytest.raises(DataError) as refused:
        load_ruleset(wrong)
    assert refused.value.path == str(wrong / "therapies" / "ofatumumab-copy.json")
    assert refused.value.field == "vaccine_timing.live_pre_start_days"


@pytest.mark.parametrize(("defect", "file", "field", "says"), DEFECTS, ids=DEFECT_IDS)
def test_each_data_defect_is_refused_at_load_naming_the_file_and_the_field(tmp_path, defect, file, field, says):
    data = data_copy(tmp_path)
    defect(data)
    with pytest.raises(DataError) as refused:
        load_ruleset(data)
    assert refused.value.path == str(data / file)
    if field:
        assert refused.value.field == field
    assert says in str(refused.value)


@pytest.mark.parametrize(("defect", "file", "field", "says"), DEFECTS[:5], ids=DEFECT_IDS[:5])
def test_create_app_raises_on_wrong_data(tmp_path, defect, file, field, says):
    data = data_copy(tmp_path)
    defect(data)
    with pytest.raises(DataError, match="live|required"):
        create_app({"TODAY": TODAY, "DATA_DIR": str(data), "LOG_LEVEL": "CRITICAL"})


def test_an_untouched_copy_of_the_data_loads_with_the_packaged_digest(tmp_path):
    packaged = load_ruleset()
    copied = load_ruleset(data_copy(tmp_path))
    assert copied.data_digest == packaged.data_digest and copied.therapies.versions == packaged.therapies.versions


def test_readyz_reports_the_sha256_of_the_data_files_it_serves(client):
    digest, shared = hashlib.sha256(), hashlib.sha256()
    profiles = sorted((DATA_DIR / "therapies").glob("*.json"))
    files = [
        DATA_DIR / "vaccines.json",
        *profiles,
        DATA_DIR / "series.json",
        DATA_DIR / "rules.json",
        DATA_DIR / "cdsi" / "live-virus-conflicts.csv",
    ]
    for path in files:
        digest.update(path.read_bytes())
        if path not in profiles:
            shared.update(path.read_bytes())
    body = client.get("/readyz").get_json()
    assert body["data_digest"] == digest.hexdigest()
    # Each therapy's version: the files every therapy reads, and its own profile.
    for path in profiles:
        own = hashlib.sha256(shared.digest() + path.read_bytes()).hexdigest()[:12]
        assert body["ruleset"][path.stem].endswith(f".data.{own}")


def test_a_change_to_one_profile_changes_its_own_version_only(tmp_path):
    packaged = load_ruleset().therapies.versions
    data = data_copy(tmp_path)
    edit_json(data / "therapies" / "ocrelizumab.json", lambda d: d["rules"]["stopped"].update(summary="Edited."))
    changed = load_ruleset(data).therapies.versions
    assert changed["ocrelizumab"] != packaged["ocrelizumab"]
    assert {k: v for k, v in changed.items() if k != "ocrelizumab"} == {
        k: v for k, v in packaged.items() if k != "ocrelizumab"
    }


def test_the_therapy_schema_requires_every_rule_role_the_planner_asks_for():
    """Each kind's schema requires every role its own module asks for (the dosed schema: every other module)."""
    kinds = json.loads((SCHEMAS / "therapy-kinds.schema.json").read_text())
    common = set(kinds["properties"]["rules"]["required"])
    by_kind = {
        rule["if"]["properties"]["kind"]["const"]: set(rule["then"]["properties"]["rules"]["required"])
        for rule in kinds["allOf"]
        if "kind" in rule["if"]["properties"]
    }
    required = {
        # "pause" is asked for only when the profile has pause advice, and the schema then requires it.
        "continuous.py": common | by_kind["continuous"] | {"pause"},
        "courses.py": common | by_kind["course"],
        "gates.py": common,
    }
    # repletion_before_median is asked for only when the profile gives a re-check figure; the loader requires
    # it then (tests/test_profiles.py).
    dosed = set(json.loads((SCHEMAS / "therapy.schema.json").read_text())["properties"]["rules"]["required"])
    dosed |= {"repletion_before_median"}
    asked_anywhere = set()
    for path in (ROOT / "service").rglob("*.py"):
        asked = set(__import__("re").findall(r'rule_id\("([a-z_]+)"\)', path.read_text(encoding="utf-8")))
        asked_anywhere |= asked
        assert asked <= required.get(path.name, dosed), (path.name, asked - required.get(path.name, dosed))
    assert asked_anywhere


def test_gunicorn_refuses_to_start_on_wrong_data_with_one_line_naming_file_and_field(tmp_path):
    data = data_copy(tmp_path)
    yellow_fever_non_live(data)
    result = subprocess.run(
        [str(GUNICORN), "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{free_port()}"]
        + ["service.app:create_app()"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("PLANNER_", "PROMETHEUS_"))},
            "PLANNER_DATA_DIR": str(data),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "m"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    refused = [line["event"] for line in lines if line["event"].startswith("Data check failed")]
    assert result.returncode == 4, result.stderr[-2000:]
    assert len(refused) == 1 and f"{data}/vaccines.json: vaccines[13].live:" in refused[0]
    assert not any("Booting worker" in line["event"] for line in lines)  # no worker ever served it


def test_gunicorn_refuses_a_clinically_wrong_value_before_any_worker_serves(tmp_path):
    data = data_copy(tmp_path)
    live_pre_start_days_zero(data)
    result = subprocess.run(
        [str(GUNICORN), "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{free_port()}"]
        + ["service.app:create_app()"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("PLANNER_", "PROMETHEUS_"))},
            "PLANNER_DATA_DIR": str(data),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "m"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    refused = [line["event"] for line in lines if line["event"].startswith("Data check failed")]
    assert result.returncode == 4, result.stderr[-2000:]
    assert len(refused) == 1
    assert f"{data}/therapies/ofatumumab.json: vaccine_timing.live_pre_start_days: is 0, but rule" in refused[0]
    assert KESIMPTA_LABEL in refused[0]
    assert not any("Booting worker" in line["event"] for line in lines)
