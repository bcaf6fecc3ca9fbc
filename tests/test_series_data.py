"""Checks service/data/series.json against the CDC CDSi 4.64 antigen files copied
into service/data/cdsi/antigen/ (stdlib only; no project code is imported).

What a series entry's "cdsi" block means:
  antigen, file, series_name -- the exact CDSi series the entry was taken from;
  dose_numbers               -- the CDSi <doseNumber> of each JSON dose, in order
                                (null when the JSON doses are not CDSi target doses,
                                e.g. the 4 Ty21a capsules that CDSi counts as one dose);
  also_matches (optional)    -- further CDSi series whose intervals must equal the
                                JSON too (Twinrix in the HepA file; identical twins).

Interval rows taken from the XML: current rows only (no cessationDate) that count
from a dose of the same series (fromPrevious = Y, or fromTargetDose = N).  Rows that
count from another product (fromMostRecent) or an observation (fromRelevantObs) are
not series intervals.  Dose 1 intervals point before the series and are not encoded.
"minimum" is minInt (never absMinInt, which carries the 4-day evaluation grace) and
"recommended" is earliestRecInt (null when empty).
"""

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "service" / "data"
SERIES_JSON = DATA / "series.json"
ANTIGEN_DIR = DATA / "cdsi" / "antigen"

UNIT = r"(?:day|days|week|weeks|month|months|year|years)"
INTERVAL_RE = re.compile(rf"^\d+ {UNIT}(?: [+-] \d+ {UNIT})*$")
CDSI_SOURCE = "cdsi-4.64"

REQUIRED_SERIES = [
    "zoster-recombinant",
    "hepb-engerix",
    "hepb-recombivax",
    "hepb-cpg",
    "hepa",
    "hepa-hepb",
    "hpv9",
    "je-inactivated",
    "rabies",
    "menb-4c",
    "menb-fhbp",
    "covid-19-mrna",
    "typhoid-oral",
    "varicella",
    "mmr",
]
REQUIRED_LEAD_TIMES = ["yellow-fever", "typhoid-oral", "typhoid-vi", "default"]


# ---------------------------------------------------------------- loading


@cache
def doc():
    with SERIES_JSON.open(encoding="utf-8") as fh:
        return json.load(fh)


@cache
def xml_root(file_name):
    path = ANTIGEN_DIR / file_name
    assert path.is_file(), f"missing antigen file {path}"
    return ET.parse(path).getroot()


def text(el, path):
    if el is None:
        return ""
    found = el.find(path)
    if found is None or found.text is None:
        return ""
    return found.text.strip()


def xml_series(ref):
    matches = [s for s in xml_root(ref["file"]).findall("series") if text(s, "seriesName") == ref["series_name"]]
    assert len(matches) == 1, f"{ref['file']}: expected one series named {ref['series_name']!r}, found {len(matches)}"
    return matches[0]


def xml_doses(series_el):
    """Ordered list of (doseNumber, element)."""
    return [(text(d, "doseNumber"), d) for d in series_el.findall("seriesDose")]


def current_series_intervals(dose_el):
    """Current interval rows of one target dose that count from a dose of the same series."""
    rows = []
    for iv in dose_el.findall("interval"):
        if text(iv, "cessationDate"):
            continue
        from_previous = text(iv, "fromPrevious").upper() == "Y"
        target = text(iv, "fromTargetDose")
        if not from_previous and not target:
            continue  # fromMostRecent / fromRelevantObs / empty <interval/>
        rows.append(
            {
                "from_previous": from_previous,
                "target": int(target) if target else None,
                "minimum": text(iv, "minInt"),
                "recommended": text(iv, "earliestRecInt") or None,
            }
        )
    return rows


def refs_of(entry):
    cdsi = entry.get("cdsi")
    if not cdsi:
        return []
    return [cdsi] + list(cdsi.get("also_matches") or [])


def all_refs():
    out = []
    for sid, entry in doc()["series"].items():
        for i, ref in enumerate(refs_of(entry)):
            out.append(pytest.param(sid, ref, id=f"{sid}[{i}]:{ref['series_name']}"))
    return out


def intervals_of(entry, dose_no):
    for d in entry["doses"]:
        if d["dose"] == dose_no:
            return d.get("intervals") or []
    raise AssertionError(f"no dose {dose_no}")


def interval(sid, dose_no, from_dose):
    found = [i for i in intervals_of(doc()["series"][sid], dose_no) if i["from_dose"] == from_dose]
    assert len(found) == 1, f"{sid}: dose {dose_no} should have one interval from dose {from_dose}"
    return found[0]


def days(interval_string):
    """Exact length in days of a days/weeks-only interval string ("4 weeks" -> 28)."""
    m = re.fullmatch(r"(\d+) (day|days|week|weeks)", interval_string)
    assert m, f"{interval_string!r} is not a whole number of days or weeks"
    n = int(m.group(1))
    return n * 7 if m.group(2).startswith("week") else n


# ------------------------------------------------------------- structure


def test_top_level_shape():
    d = doc()
    assert set(d) >= {"series_version", "sources", "series", "lead_times"}
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", d["series_version"])
    assert d["sources"]["decision"]
    assert d["sources"][CDSI_SOURCE].startswith("CDC CDSi supporting data 4.64")


def test_required_series_present():
    missing = [s for s in REQUIRED_SERIES if s not in doc()["series"]]
    assert not missing, f"missing series: {missing}"


@pytest.mark.parametrize("sid", sorted(doc()["series"]), ids=str)
def test_series_entry_shape(sid):
    entry = doc()["series"][sid]
    assert entry["aim"] in ("minimum", "recommended")
    assert isinstance(entry["aim_why"], str) and entry["aim_why"].strip()
    doses = entry["doses"]
    assert [d["dose"] for d in doses] == list(range(1, len(doses) + 1))
    assert not doses[0].get("intervals"), "dose 1 has no interval within the series"
    for d in doses[1:]:
        assert d.get("intervals"), f"dose {d['dose']} needs at least one interval"
        for iv in d["intervals"]:
            assert (
                {"from_dose", "minimum", "recommended", "source"}
                <= set(iv)
                <= {
                    "from_dose",
                    "minimum",
                    "recommended",
                    "maximum",
                    "source",
                }
            )
            assert 1 <= iv["from_dose"] < d["dose"]
    cdsi = entry.get("cdsi")
    if cdsi is not None:
        assert cdsi["file"] == f"AntigenSupportingData-{cdsi['antigen']}-508.xml"
        if cdsi["dose_numbers"] is not None:
            assert len(cdsi["dose_numbers"]) == len(doses)
    else:
        assert all(iv["source"] != CDSI_SOURCE for d in doses for iv in d.get("intervals") or [])


def test_interval_strings_follow_grammar():
    bad = []
    for sid, entry in doc()["series"].items():
        for d in entry["doses"]:
            for iv in d.get("intervals") or []:
                if not isinstance(iv["minimum"], str) or not INTERVAL_RE.match(iv["minimum"]):
                    bad.append((sid, d["dose"], "minimum", iv["minimum"]))
                rec = iv["recommended"]
                if rec is not None and (not isinstance(rec, str) or not INTERVAL_RE.match(rec)):
                    bad.append((sid, d["dose"], "recommended", rec))
    assert not bad, bad


def test_grammar_examples():
    for ok in ("4 weeks", "1 week", "5 months - 4 days", "7 months + 4 weeks", "1 year", "28 days"):
        assert INTERVAL_RE.match(ok), ok
    for no in ("4wk", "4 weeks ", "four weeks", "4 fortnights", "-4 days", "4.5 months", ""):
        assert not INTERVAL_RE.match(no), no


def test_every_source_key_exists():
    d = doc()
    used = set()
    for entry in d["series"].values():
        for dose in entry["doses"]:
            for iv in dose.get("intervals") or []:
                used.add(iv["source"])
    for lt in d["lead_times"].values():
        used.add(lt["source"])
    missing = sorted(used - set(d["sources"]))
    assert not missing, f"unknown source keys: {missing}"
    assert all(isinstance(v, str) and v.strip() for v in d["sources"].values())


def test_lead_times():
    lts = doc()["lead_times"]
    for key in REQUIRED_LEAD_TIMES:
        assert key in lts, key
    for key, lt in lts.items():
        assert isinstance(lt["days"], int) and not isinstance(lt["days"], bool) and lt["days"] >= 0, key
        assert lt["after"] == "last_dose" or re.fullmatch(r"dose [1-9]", lt["after"]), key
        assert isinstance(lt["text"], str) and lt["text"].strip(), key
    assert lts["default"]["source"] == "decision"
    assert lts["default"]["days"] == 14


# ------------------------------------------------------ antigen file copies


def test_only_used_antigen_files_are_copied():
    referenced = {ref["file"] for e in doc()["series"].values() for ref in refs_of(e)}
    present = {p.name for p in ANTIGEN_DIR.glob("*.xml")}
    assert referenced <= present, f"referenced but not copied: {sorted(referenced - present)}"
    assert present <= referenced, f"copied but not used: {sorted(present - referenced)}"


@pytest.mark.parametrize("name", sorted(p.name for p in ANTIGEN_DIR.glob("*.xml")), ids=str)
def test_antigen_file_parses(name):
    root = xml_root(name)
    assert root.tag == "antigenSupportingData"
    assert root.findall("series")


# ---------------------------------------------- JSON intervals == CDSi XML


@pytest.mark.parametrize("sid,ref", all_refs())
def test_intervals_equal_cdsi(sid, ref):
    entry = doc()["series"][sid]
    series_el = xml_series(ref)
    doses_xml = xml_doses(series_el)
    order = [name for name, _ in doses_xml]
    by_name = dict(doses_xml)
    dose_numbers = ref["dose_numbers"]

    if dose_numbers is None:
        assert all(iv["source"] != CDSI_SOURCE for d in entry["doses"] for iv in d.get("intervals") or []), (
            "intervals sourced from CDSi need dose_numbers"
        )
        return

    for name in dose_numbers:
        assert name in by_name, f"{ref['series_name']} has no {name!r}"

    for k, dose in enumerate(entry["doses"], start=1):
        if k == 1:
            continue
        name = dose_numbers[k - 1]
        expected = Counter()
        for row in current_series_intervals(by_name[name]):
            if row["from_previous"]:
                idx = order.index(name)
                assert idx > 0
                prev_name = order[idx - 1]
                assert dose_numbers[k - 2] == prev_name, (
                    f"{name} counts from {prev_name}, which must be JSON dose {k - 1}"
                )
                from_dose = k - 1
            else:
                target_name = f"Dose {row['target']}"
                assert target_name in dose_numbers, f"{name} counts from {target_name}, not encoded"
                from_dose = dose_numbers.index(target_name) + 1
            expected[(from_dose, row["minimum"], row["recommended"])] += 1
        actual = Counter((iv["from_dose"], iv["minimum"], iv["recommended"]) for iv in dose.get("intervals") or [])
        assert all(iv["source"] == CDSI_SOURCE for iv in dose.get("intervals") or []), (
            f"{sid} dose {k}: CDSi-mapped doses take their intervals from CDSi"
        )
        assert actual == expected, (
            f"{sid} dose {k} vs {ref['file']} / {ref['series_name']} / {name}: "
            f"JSON {sorted(actual.elements(), key=str)} != XML {sorted(expected.elements(), key=str)}"
        )


def test_minimum_is_min_int_not_abs_min_int():
    """Guard against copying absMinInt (with the 4-day grace) by mistake."""
    for sid, entry in doc()["series"].items():
        for d in entry["doses"]:
            for iv in d.get("intervals") or []:
                assert "- 4 days" not in iv["minimum"], (sid, d["dose"], iv["minimum"])


# ------------------------------------- REFERENCES.md sections 5 and 6 figures


def test_shingrix_min_4_weeks():
    iv = interval("zoster-recombinant", 2, 1)
    assert iv["minimum"] == "4 weeks"
    assert iv["recommended"] == "8 weeks"
    assert len(doc()["series"]["zoster-recombinant"]["doses"]) == 2


@pytest.mark.parametrize("sid", ["hepb-engerix", "hepb-recombivax"])
def test_hepb_three_dose(sid):
    assert len(doc()["series"][sid]["doses"]) == 3
    assert interval(sid, 2, 1)["minimum"] == "4 weeks"
    assert interval(sid, 3, 2)["minimum"] == "8 weeks"
    assert interval(sid, 3, 1)["minimum"] == "16 weeks"


def test_heplisav_two_doses_4_weeks():
    assert len(doc()["series"]["hepb-cpg"]["doses"]) == 2
    assert interval("hepb-cpg", 2, 1)["minimum"] == "4 weeks"


def test_hpv9_three_dose():
    assert len(doc()["series"]["hpv9"]["doses"]) == 3
    assert interval("hpv9", 2, 1)["minimum"] == "4 weeks"
    assert interval("hpv9", 3, 2)["minimum"] == "12 weeks"
    assert interval("hpv9", 3, 1)["minimum"] == "5 months"


def test_je_28_days():
    assert len(doc()["series"]["je-inactivated"]["doses"]) == 2
    assert days(interval("je-inactivated", 2, 1)["minimum"]) == 28


def test_rabies_prep_7_days():
    assert len(doc()["series"]["rabies"]["doses"]) == 2
    assert days(interval("rabies", 2, 1)["minimum"]) == 7


def test_twinrix_0_1_6_months_in_both_antigens():
    entry = doc()["series"]["hepa-hepb"]
    antigens = {ref["antigen"] for ref in refs_of(entry)}
    assert antigens == {"HepA", "HepB"}
    assert interval("hepa-hepb", 2, 1)["minimum"] == "4 weeks"
    assert interval("hepa-hepb", 3, 1)["minimum"] == "6 months"


def test_pcv_single_dose():
    for sid in ("pcv20", "pcv21"):
        if sid in doc()["series"]:
            assert doc()["series"][sid]["doses"] == [{"dose": 1}]


def test_varicella_two_doses_min_4_weeks():
    entry = doc()["series"]["varicella"]
    assert len(entry["doses"]) == 2
    assert entry["cdsi"]["series_name"] == "Varicella 13+ 2-dose series"
    iv = interval("varicella", 2, 1)
    assert days(iv["minimum"]) == 28 and iv["minimum"] == "4 weeks"
    assert iv["recommended"] == "4 weeks"


def test_mmr_two_doses_min_4_weeks_in_all_three_antigens():
    entry = doc()["series"]["mmr"]
    assert len(entry["doses"]) == 2
    refs = refs_of(entry)
    assert {ref["antigen"] for ref in refs} == {"Measles", "Mumps", "Rubella"}
    assert all(ref["series_name"].endswith("risk 2-dose series") for ref in refs)
    iv = interval("mmr", 2, 1)
    assert days(iv["minimum"]) == 28 and iv["minimum"] == "4 weeks"
    assert iv["recommended"] == "4 weeks"


def test_mmr_routine_adult_series_skips_dose_2_from_19():
    """The 1-dose routine adult recommendation that the MMR note relies on."""
    for antigen in ("Measles", "Mumps", "Rubella"):
        series_el = xml_series(
            {"file": f"AntigenSupportingData-{antigen}-508.xml", "series_name": f"{antigen} 2-dose series"}
        )
        dose2 = dict(xml_doses(series_el))["Dose 2"]
        skip = dose2.find("conditionalSkip")
        assert "not required for those 19 year" in text(skip, "set/setDescription"), antigen
        assert text(skip, "set/condition/beginAge") == "19 years - 4 days", antigen


def test_no_adult_mmrv_series():
    """ProQuad (CVX 94) is preferable in CDSi only for ages 4-13 years: no adult mmrv series."""
    assert "mmrv" not in doc()["series"]
    for antigen in ("Measles", "Varicella"):
        for s in xml_root(f"AntigenSupportingData-{antigen}-508.xml").findall("series"):
            for d in s.findall("seriesDose"):
                for v in d.findall("preferableVaccine"):
                    if text(v, "cvx") == "94":
                        assert text(v, "endAge") == "13 years", (antigen, text(s, "seriesName"))


def test_ty21a_four_capsules_two_days_apart():
    doses = doc()["series"]["typhoid-oral"]["doses"]
    assert len(doses) == 4
    for k in (2, 3, 4):
        assert days(interval("typhoid-oral", k, k - 1)["minimum"]) == 2


def test_travel_lead_times_section_5():
    lts = doc()["lead_times"]
    assert lts["yellow-fever"]["days"] == 10
    assert lts["yellow-fever"]["source"] == "ihr-yellow-fever"
    assert lts["typhoid-oral"]["days"] == 7
    assert lts["typhoid-vi"]["days"] == 14


def test_typhoid_figures_match_cdsi_guidance():
    root = xml_root("AntigenSupportingData-Typhoid-508.xml")
    guidance = {
        text(s, "seriesName"): " ".join((g.text or "") for g in s.findall("seriesAdminGuidance"))
        for s in root.findall("series")
    }
    oral = guidance["Typhoid risk 4-dose series"]
    assert "day 0, 2, 4, and 6" in oral
    assert "at least 1 week before potential exposure" in oral
    assert "at least 2 weeks before potential exposure" in guidance["Typhoid risk 1-dose series"]
