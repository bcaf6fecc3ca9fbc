"""Vaccine facts a travel clinic relies on: each product's own CVX code, series and protection date.

The product table is the reference: one row per brand, with the CVX code from the CDC CVX list (the CDSi map
in service/data/cdsi/cvx-antigen-map.csv), the series (CDSi or the label) and when protection counts; each row
names its source. The hand-worked cases below take as_of 2026-11-24 unless they say otherwise; comments show
the arithmetic.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from service.app import create_app
from service.domain.catalog import Catalog, LookupFailed, Product, Vaccine, meaningful_words, normalize, strip_season
from tests.conftest import TODAY

CVX_MAP_FILE = Path(__file__).resolve().parents[1] / "service" / "data" / "cdsi" / "cvx-antigen-map.csv"
with CVX_MAP_FILE.open(encoding="utf-8", newline="") as _f:
    CVX_LIST = {row["cvx"]: row for row in csv.DictReader(_f)}

START = {"drug": "ofatumumab", "start_date": "2027-01-19"}  # non-live pre-start window ends 01-05, live 12-22
FAR_START = {"drug": "ofatumumab", "start_date": "2027-03-01"}  # live window ends 02-01
MAINTENANCE = {"drug": "ofatumumab", "doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]}
# MAINTENANCE: next doses 12-15, 01-12, ...; mid-cycle slots 12-01..12-08, 12-29..01-05, ...


def plan(client, vaccines, treatment=START, as_of="2026-11-24", **extra):
    r = client.post("/v1/plans", json={"as_of": as_of, "treatment": treatment, "vaccines": vaccines, **extra})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def proposed(result):
    return [(p["dose"], p["date"]) for p in result["proposed"]]


# ---- the product table ----------------------------------------------------------------------------------------

# alias, id, CVX, words of the CVX list's description, live, doses, intervals (dose, from, min, recommended,
# maximum), protective dose, lead days, source
PRODUCTS = [
    ("Comirnaty", "covid-19-mrna", "309", "30 mcg/0.3 mL", False, 3, [(2, 1, "28 days", "28 days", None), (3, 2, "28 days", "28 days", None)], 3, 14, "CVX 309; CDSi COVID-19"),
    ("Spikevax", "covid-19-mrna", "312", "50 mcg/0.5 mL", False, 3, [(2, 1, "28 days", "28 days", None), (3, 2, "28 days", "28 days", None)], 3, 14, "CVX 312; CDSi COVID-19"),
    ("mNEXSPIKE", "covid-19-mrna", "334", "10 mcg/0.2 mL", False, 3, [(2, 1, "28 days", "28 days", None), (3, 2, "28 days", "28 days", None)], 3, 14, "CVX 334; CDSi COVID-19"),
    ("Arexvy", "rsv-adult", "303", "adjuvant", False, 1, [], 1, 14, "CVX 303; CDSi RSV"),
    ("Abrysvo", "rsv-adult", "305", "bivalent", False, 1, [], 1, 14, "CVX 305; CDSi RSV"),
    ("mResvia", "rsv-adult", "326", "mRNA", False, 1, [], 1, 14, "CVX 326; CDSi RSV"),
    ("Imovax", "rabies", "175", "Diploid cell", False, 2, [(2, 1, "7 days", "7 days", None)], 2, 0, "CVX 175; ACIP 2022 MMWR 71(18)"),
    ("RabAvert", "rabies", "176", "fibroblast", False, 2, [(2, 1, "7 days", "7 days", None)], 2, 0, "CVX 176 PCECV; ACIP 2022"),
    ("Rabipur", "rabies", "176", "fibroblast", False, 2, [(2, 1, "7 days", "7 days", None)], 2, 0, "CVX 176 PCECV (EU name of RabAvert)"),
    ("Dukoral", "cholera-inactivated", "172", "WC-rBS", False, 2, [(2, 1, "1 week", "1 week", "6 weeks")], 2, 7, "CVX 172; Dukoral SmPC 4.2"),
    ("Euvichol", "cholera-bivalent", "173", "BivWC", False, 2, [(2, 1, "14 days", "14 days", None)], 2, 7, "CVX 173; WHO 2017, MSF guide"),
    ("Shanchol", "cholera-bivalent", "173", "BivWC", False, 2, [(2, 1, "14 days", "14 days", None)], 2, 7, "CVX 173; WHO 2017, MSF guide"),
    ("Vaxchora", "cholera-oral-live", "174", "live attenuated", True, 1, [], 1, 10, "CVX 174; Vaxchora label"),
    ("Typhim Vi", "typhoid-vi", "101", "polysaccharide", False, 1, [], 1, 14, "CVX 101; ACIP typhoid 2015"),
    ("Typbar-TCV", "typhoid-vi", "190", "conjugate", False, 1, [], 1, 14, "CVX 190; ACIP typhoid 2015 (Vi lead time)"),
    ("Vivotif", "typhoid-oral", "25", "oral, live", True, 4, [(2, 1, "2 days", "2 days", None), (3, 2, "2 days", "2 days", None), (4, 3, "2 days", "2 days", None)], 4, 7, "CVX 25; ACIP typhoid 2015"),
    ("MenQuadfi", "menacwy", "203", "TT Conjugate", False, 1, [], 1, 14, "CVX 203; CDSi Meningococcal"),
    ("Menveo", "menacwy", "136", "MCV4O", False, 1, [], 1, 14, "CVX 136; CDSi Meningococcal"),
    ("TicoVac", "tbe", "224", "0.5mL", False, 3, [(2, 1, "14 days", "14 days", None), (3, 2, "5 months", "5 months", None)], 3, 14, "CVX 224; CDSi TBE 'Risk 16 years+ 3-dose'"),
    ("Encepur", "tbe-encepur", "77", "non-US", False, 3, [(2, 1, "14 days", "1 month", None), (3, 2, "9 months", "9 months", None)], 2, 14, "CVX 77 (no Encepur code); Encepur SmPC 4.2"),
    ("Dengvaxia", "dengue-dengvaxia", "56", "Dengue", True, 3, [(2, 1, "6 months", "6 months", None), (3, 2, "6 months", "6 months", None)], 3, 14, "CVX 56; CDSi 'Dengue risk 3-dose series'"),
    ("Stamaril", "yellow-fever", "37", "Yellow Fever", True, 1, [], 1, 10, "CVX 37; IHR Annex 7 (10 days)"),
    ("Havrix", "hepa", "52", "adult", False, 2, [(2, 1, "6 months", "6 months", None)], 1, 14, "CVX 52; CDSi HepA; ACIP 2020 (dose 1 before travel)"),
    ("Engerix-B", "hepb-engerix", "43", "adult", False, 3, [(2, 1, "4 weeks", "4 weeks", None), (3, 2, "8 weeks", None, None), (3, 1, "16 weeks", "6 months", None)], 3, 14, "CVX 43; CDSi HepB"),
    ("Ixiaro", "je-inactivated", "134", "VC", False, 2, [(2, 1, "4 weeks", "4 weeks", None)], 2, 7, "CVX 134; ACIP JE 2019"),
    ("Shingrix", "zoster-recombinant", "187", "recombinant", False, 2, [(2, 1, "4 weeks", "8 weeks", None)], 2, 14, "CVX 187; CDSi Zoster"),
    ("Fluad", "influenza-inactivated", "168", "adjuvanted, trivalent", False, 1, [], 1, 14, "CVX 168"),
    ("Flublok", "influenza-inactivated", "155", "recombinant, trivalent", False, 1, [], 1, 14, "CVX 155"),
    ("Flucelvax", "influenza-inactivated", "153", "MDCK, trivalent", False, 1, [], 1, 14, "CVX 153"),
    ("Fluzone High-Dose", "influenza-inactivated", "135", "high dose, trivalent", False, 1, [], 1, 14, "CVX 135"),
    ("Fluzone", "influenza-inactivated", "140", "split virus, trivalent", False, 1, [], 1, 14, "CVX 140"),
]  # fmt: skip


@pytest.mark.parametrize(
    "alias, vid, cvx, description, live, doses, intervals, protective, lead_days, source",
    PRODUCTS,
    ids=[f"{row[0]} ({row[-1]})" for row in PRODUCTS],
)
def test_each_product_has_its_own_code_series_and_protection(
    ruleset, alias, vid, cvx, description, live, doses, intervals, protective, lead_days, source
):
    match = ruleset.catalog.by_name(alias, "f")
    assert (match.vaccine.id, match.cvx, match.vaccine.live) == (vid, cvx, live)
    # the code is in the CDC CVX list, its description names this product's formulation, and its antigen is the
    # entry's
    assert description.casefold() in CVX_LIST[cvx]["shortDescription"].casefold()
    assert set(CVX_LIST[cvx]["antigens"].split(";")) <= set(match.vaccine.antigens)
    series = ruleset.vaccine_rules.series_for(match.vaccine)
    found = [
        (d.number, i.from_dose, i.minimum.text, i.recommended.text if i.recommended else None,
         i.maximum.text if i.maximum else None)
        for d in series.doses
        for i in d.intervals
    ]  # fmt: skip
    assert (series.length, found) == (doses, intervals)
    lead = ruleset.vaccine_rules.lead_time_for(match.vaccine)
    assert ((lead.after_dose or series.length), lead.days) == (protective, lead_days)
    # every rule behind it is published with a source
    rules = {rule.id: rule for _, rule in ruleset.all_rules()}
    assert rules[series.rule_id].source and rules[lead.rule_id].source


def _every_name(catalog):
    for v in catalog.vaccines:
        for name in (v.name, *v.aliases):
            yield pytest.param(name, v.id, v.name_cvx, None, id=f"{v.id}:{name}")
        for p in v.products:
            for name in (p.name, *p.aliases):
                yield pytest.param(name, v.id, p.cvx, p.name, id=f"{v.id}:{name}")


def _catalog():
    from service.data.loader import load_ruleset

    return load_ruleset().catalog


@pytest.mark.parametrize("name, vid, cvx, product", list(_every_name(_catalog())))
def test_every_alias_reports_a_code_from_the_cdc_list_for_its_own_antigens(catalog, name, vid, cvx, product):
    match = catalog.by_name(name, "f")
    assert (match.vaccine.id, match.cvx, match.product) == (vid, cvx, product)
    if cvx is None:
        # only where the CVX list has no code: the entry's note says so
        note = match.vaccine.note.casefold()
        assert "no specific cvx code" in note or "no code" in note, vid
        return
    if cvx in CVX_LIST:
        assert set(CVX_LIST[cvx]["antigens"].split(";")) <= set(match.vaccine.antigens), (name, cvx)
    else:
        # the few codes the CDSi map lacks come from CDC's CVX table (REFERENCES.md section 4)
        assert cvx in {"19", "125", "54", "55", "143", "80"}, (name, cvx)


def test_the_catalog_refuses_a_brand_that_reports_another_products_code():
    def entry(vid, cvx, products=()):
        return Vaccine(vid, vid, cvx, False, "injection", ("Rabies",), (), "test", products=products)

    hdcv = entry("hdcv", ("175",))
    # PCECV reporting HDCV's 175: a mistake once made (RabAvert -> 175)
    pcecv = entry("pcecv", ("176",), (Product("RabAvert", "175"),))
    with pytest.raises(ValueError, match="reports CVX 175"):
        Catalog("test", [hdcv, pcecv], [])
    Catalog("test", [hdcv, entry("pcecv", ("176",), (Product("RabAvert", "176"),))], [])


def test_a_brand_without_its_own_cvx_code_says_so_in_the_note(catalog):
    for alias, code in [("Encepur", "77"), ("Verorab", "18"), ("Nimenrix", "147")]:
        match = catalog.by_name(alias, "f")
        assert match.cvx == code
        assert f"no code for {alias}" in match.vaccine.note or f"no {alias} code" in match.vaccine.note, alias


# ---- names people type ---------------------------------------------------------------------------------------

# input -> (resolved id, reported CVX) or ("suggest", ids that must lead the suggestions)
NAMES = [
    ("hepatitis A", ("hepa", "52")),
    ("hep A", ("hepa", "52")),
    ("Hepatitis A vaccine", ("hepa", "52")),
    (
        "hepatitis B",
        ("ask", ["hepb-engerix", "hepb-recombivax", "hepb-dialysis", "hepb-cpg", "hepb-3antigen", "hepb-fendrix"]),
    ),
    (
        "hep B",
        ("ask", ["hepb-engerix", "hepb-recombivax", "hepb-dialysis", "hepb-cpg", "hepb-3antigen", "hepb-fendrix"]),
    ),
    ("Engerix-B", ("hepb-engerix", "43")),
    ("Recombivax HB", ("hepb-recombivax", "43")),
    ("HBVaxPro", ("hepb-recombivax", "43")),
    ("Heplisav-B", ("hepb-cpg", "189")),
    ("Fendrix", ("hepb-fendrix", None)),
    ("M-M-RvaxPro", ("mmr", "03")),
    ("Priorix", ("mmr", "03")),
    ("Pluserix", ("mmr", "03")),
    ("Okavax", ("varicella", "21")),
    ("oral typhoid", ("typhoid-oral", "25")),
    ("nasal flu", ("laiv", "111")),
    ("Imojev", ("je-live", None)),
    ("Revaxis", ("dt-ipv", "195")),
    ("Repevax", ("tdap-ipv", None)),
    ("Viatim", ("hepa-typhoid", None)),
    ("Vivaxim", ("hepa-typhoid", None)),
    ("Hepatyrix", ("hepa-typhoid", None)),
    ("meningococcal ACWY", ("menacwy", "147")),
    ("MenACWY", ("menacwy", "147")),
    ("rabies pre-exposure", ("rabies", "18")),
    ("rabies PrEP", ("rabies", "18")),
    ("Rabipur", ("rabies", "176")),
    ("Moderna COVID-19 vaccine", ("covid-19-mrna", "312")),
    ("Fluzone 2025-2026", ("influenza-inactivated", "140")),
    ("Spikevax 2025/26", ("covid-19-mrna", "312")),
    ("live hepatitis A vaccine", ("hepa-live", "169")),
    ("MMR booster", ("suggest", ["mmr"])),
    ("Td booster", ("suggest", ["td"])),
    ("rabies post-exposure", ("suggest", ["rabies"])),
    ("yellow fever jab", ("suggest", ["yellow-fever"])),
    ("Shingrex", ("suggest", ["zoster-recombinant"])),
]


@pytest.mark.parametrize("text, expected", NAMES, ids=[n for n, _ in NAMES])
def test_names_people_type_resolve_or_suggest_what_the_clinic_meant(catalog, text, expected):
    if expected[0] in ("suggest", "ask"):
        with pytest.raises(LookupFailed) as failed:
            catalog.by_name(text, "f")
        ids = [c.id for c in failed.value.error.candidates]
        assert ids[: len(expected[1])] == expected[1], ids
        assert failed.value.error.code == ("ambiguous_vaccine" if expected[0] == "ask" else "unknown_vaccine")
        return
    match = catalog.by_name(text, "f")
    assert (match.vaccine.id, match.cvx) == expected


def test_mmr_and_td_boosters_never_suggest_covid_first(catalog):
    for text in ("MMR booster", "Td booster"):
        with pytest.raises(LookupFailed) as failed:
            catalog.by_name(text, "f")
        assert not any(c.id.startswith("covid") for c in failed.value.error.candidates), text


@pytest.mark.parametrize(
    "text, season",
    [("COVID-19 vaccine 2025-2026", "2025-2026"), ("flu vaccine 2025/26", "2025/26")],
    ids=["covid-season", "flu-season"],
)
def test_a_season_on_a_generic_name_is_explained_in_the_error(catalog, text, season):
    with pytest.raises(LookupFailed) as failed:
        catalog.by_name(text, "f")
    error = failed.value.error
    # the name without its season is still generic (COVID-19 and influenza products differ): ask the product
    assert error.code == "ambiguous_vaccine" and f"the season {season} does not change the timing" in error.message


def test_an_unknown_name_with_a_season_says_the_season_was_set_aside(catalog):
    with pytest.raises(LookupFailed) as failed:
        catalog.by_name("Vaxcovid 2025-2026", "f")
    assert "without the season 2025-2026" in failed.value.error.message


@pytest.mark.parametrize(
    "text, base, season",
    [
        ("COVID-19 vaccine 2025-2026", "COVID-19 vaccine", "2025-2026"),
        ("flu vaccine 2025/26", "flu vaccine", "2025/26"),
        ("Fluzone (2024-2025 formula)", "Fluzone", "2024-2025"),
        ("Prevnar 20", "Prevnar 20", None),
        ("2025", "2025", None),
    ],
    ids=["dash", "slash", "formula", "not-a-season", "only-a-year"],
)
def test_strip_season(text, base, season):
    assert strip_season(text) == (base, season)


def test_meaningful_words_drop_what_does_not_name_a_vaccine():
    assert meaningful_words("MMR booster") == {"mmr"}
    assert meaningful_words("the Td booster shot") == {"td"}
    assert normalize("hep A") == "hepa"


def test_tbe_without_a_product_asks_which_because_schedules_differ(catalog):
    with pytest.raises(LookupFailed) as failed:
        catalog.by_name("tick-borne encephalitis vaccine", "f")
    assert {c.id for c in failed.value.error.candidates} == {"tbe", "tbe-encepur"}
    with pytest.raises(LookupFailed):
        catalog.by_cvx("77", "f")


# ---- hand-worked plans for each finding ----------------------------------------------------------------------


def fhir_planned_start(start: str, vaccine: dict) -> dict:
    """FHIR Parameters for a Kesimpta order starting on `start` (assessed on 2026-11-24) and one vaccine."""
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "assessmentDate", "valueDate": "2026-11-24"},
            {
                "name": "medication",
                "resource": {
                    "resourceType": "MedicationRequest",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": "Patient/example"},
                    "medicationCodeableConcept": {"text": "Kesimpta"},
                    "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": start}}}}],
                },
            },
            {"name": "vaccine", "valueCodeableConcept": vaccine},
        ],
    }


def test_brand_codes_reach_the_answer_and_fhir(client):
    body = plan(client, [{"name": "Spikevax"}, {"name": "MenQuadfi"}, {"name": "Typbar-TCV"}, {"name": "Rabipur"}])
    assert [(v["vaccine"]["cvx"], v["vaccine"]["product"]) for v in body["vaccines"]] == [
        ("312", "Spikevax"),
        ("203", "MenQuadfi"),
        ("190", "Typbar-TCV"),
        ("176", "RabAvert"),
    ]
    # FHIR: a vaccine named by text only documents the named product's own code
    parameters = fhir_planned_start("2027-01-19", {"text": "mResvia"})
    r = client.post("/fhir/$vaccine-timing", json=parameters, content_type="application/fhir+json")
    assert r.status_code == 200, r.get_json()
    recommendations = r.get_json()["parameter"][0]["resource"]["recommendation"]
    codings = [c for rec in recommendations for c in rec["vaccineCode"][0]["coding"]]
    assert {(c["code"], c["display"].split(" (")[0]) for c in codings} == {("326", "mResvia")}


def test_euvichol_dose_2_comes_14_days_after_dose_1(client):
    # pre-start window 11-24 .. 01-05: 11-24 and 11-24 + 14 = 12-08; protected 7 days later
    (euvichol,) = plan(client, [{"name": "Euvichol"}])["vaccines"]
    assert proposed(euvichol) == [(1, "2026-11-24"), (2, "2026-12-08")]
    assert (euvichol["ready_on"], euvichol["ready_on_means"]) == ("2026-12-15", "protection")


def test_dukoral_dose_2_one_week_after_dose_1(client):
    (dukoral,) = plan(client, [{"name": "Dukoral"}])["vaccines"]
    assert proposed(dukoral) == [(1, "2026-11-24"), (2, "2026-12-01")]


def test_dukoral_dose_1_older_than_6_weeks_restarts_the_course(client):
    # dose 1 on 10-05: 10-05 + 6 weeks = 11-16 < as_of, so the label restarts: 11-24 and 12-01
    (dukoral,) = plan(client, [{"name": "Dukoral", "given": ["2026-10-05"]}])["vaccines"]
    assert proposed(dukoral) == [(1, "2026-11-24"), (2, "2026-12-01")]
    assert dukoral["series"]["given"] == 0 and "restarts the course" in dukoral["reason"]


def test_dukoral_dose_2_never_beyond_6_weeks_when_the_next_slot_is_later(client):
    # dose 1 on 11-10 during maintenance; dose 2 from 11-17: the first slot 12-01 is 21 days after (<= 42)
    (dukoral,) = plan(client, [{"name": "Dukoral", "given": ["2026-11-10"]}], treatment=MAINTENANCE)["vaccines"]
    assert proposed(dukoral) == [(2, "2026-12-01")]
    # dose 1 on 10-13: 10-13 + 6 weeks = 11-24 is not in a slot (slots 12-01..): restart in the first slot
    (late,) = plan(client, [{"name": "Dukoral", "given": ["2026-10-13"]}], treatment=MAINTENANCE)["vaccines"]
    assert proposed(late) == [(1, "2026-12-01"), (2, "2026-12-08")] and late["series"]["given"] == 0


def test_dengvaxia_is_three_doses_six_months_apart_or_the_doses_that_fit(client):
    # start 2028-01-05: live window ends 12-08-2027; 11-24, 05-24, 11-24 fit
    body = plan(client, [{"name": "Dengvaxia"}], treatment={"drug": "ofatumumab", "start_date": "2028-01-05"},
                horizon_days=800)  # fmt: skip
    (dengvaxia,) = body["vaccines"]
    assert proposed(dengvaxia) == [(1, "2026-11-24"), (2, "2027-05-24"), (3, "2027-11-24")]
    # start 01-05: only dose 1 fits; it is proposed, doses 2 and 3 wait for repletion, and the start would have
    # to move to 11-24-2027 + 28 days for the whole series
    (cut,) = plan(client, [{"name": "Dengvaxia"}])["vaccines"]
    assert (cut["status"], proposed(cut), cut["delay_start_to"]) == ("pre_start", [(1, "2026-11-24")], "2027-12-22")
    assert "plan.live-series-whole" in cut["rules"]


def test_ty21a_is_never_split_around_a_start(client):
    # start 12-25: live window ends 11-27; capsules 11-24, 11-26 fit, 11-28 and 11-30 do not
    body = plan(client, [{"name": "Vivotif"}], treatment={"drug": "ofatumumab", "start_date": "2026-12-25"})
    (ty21a,) = body["vaccines"]
    assert (ty21a["status"], ty21a["proposed"], ty21a["ready_on"]) == ("avoid", [], None)
    assert ty21a["delay_start_to"] == "2026-12-28"  # 11-30 + 28


def test_needed_by_never_closes_a_live_window(client):
    # Ty21a from 11-24: last capsule 11-30, after a trip on 11-28: the course is still proposed before the start
    # (needed_by informs meets_needed_by only; rule plan.live-series-whole), and it does not meet the trip
    (ty21a,) = plan(client, [{"name": "Vivotif", "needed_by": "2026-11-28"}], treatment=FAR_START)["vaccines"]
    assert (ty21a["status"], len(ty21a["proposed"]), ty21a["meets_needed_by"]) == ("pre_start", 4, False)


def test_shingrix_dose_2_at_the_minimum_when_that_finishes_before_the_start(client):
    # recommended: 11-24 + 8 weeks = 01-19, the start day (in depletion); minimum: 12-22 <= 01-05 (pre-start)
    (shingrix,) = plan(client, [{"name": "Shingrix"}])["vaccines"]
    assert proposed(shingrix) == [(1, "2026-11-24"), (2, "2026-12-22")]
    assert shingrix["series"]["interval_basis"] == "minimum" and "plan.interval-basis" in shingrix["rules"]
    assert (shingrix["ready_on"], shingrix["ready_on_means"]) == ("2027-01-05", "protection")


def test_shingrix_keeps_the_recommended_interval_when_both_fit_before_the_start(client):
    (shingrix,) = plan(client, [{"name": "Shingrix"}], treatment=FAR_START)["vaccines"]
    assert proposed(shingrix) == [(1, "2026-11-24"), (2, "2027-01-19")]  # + 8 weeks <= 02-15
    assert shingrix["series"]["interval_basis"] == "recommended"


def test_rabies_prep_during_depletion_asks_for_an_antibody_check(client):
    # slot 12-01..12-08: days 0 and 7
    (rabies,) = plan(client, [{"name": "RabAvert", "needed_by": "2027-02-01"}], treatment=MAINTENANCE)["vaccines"]
    assert proposed(rabies) == [(1, "2026-12-01"), (2, "2026-12-08")]
    assert (rabies["ready_on"], rabies["ready_on_means"]) == ("2026-12-08", "series_complete")
    assert (rabies["serology_advised"], rabies["meets_needed_by"]) == (True, None)
    assert "serology.rabies" in rabies["rules"] and "antibody check" in rabies["reason"]
    assert "Protection expected" not in rabies["reason"]


def test_rabies_prep_before_the_start_counts_on_the_schedule(client):
    (rabies,) = plan(client, [{"name": "Imovax", "needed_by": "2026-12-15"}])["vaccines"]
    assert proposed(rabies) == [(1, "2026-11-24"), (2, "2026-12-01")]
    assert (rabies["serology_advised"], rabies["meets_needed_by"], rabies["ready_on_means"]) == (
        False,
        True,
        "protection",
    )


def test_hepatitis_b_in_depletion_is_complete_by_with_serology(client):
    # Recombivax HB during therapy: the 40 µg dialysis formulation at 0, 1 and 6 months (ACIP 2018).
    # slots: 12-01, 12-29 (+4 weeks), dose 3 max(12-29 + 8 weeks, 12-01 + 6 months = 06-01) -> slot 06-15
    (hepb,) = plan(client, [{"name": "Recombivax HB", "needed_by": "2027-12-20"}], treatment=MAINTENANCE)["vaccines"]
    assert proposed(hepb) == [(1, "2026-12-01"), (2, "2026-12-29"), (3, "2027-06-15")]
    # ready_on: the last dose plus the 14-day lead time, never earlier (rule plan.protection-in-depletion)
    assert (hepb["ready_on"], hepb["serology_advised"], hepb["meets_needed_by"]) == ("2027-06-29", True, None)
    assert "series.hepb-recombivax-immunocompromised" in hepb["rules"]


def test_non_live_in_depletion_says_complete_by_not_protection_expected(client):
    (ixiaro,) = plan(client, [{"name": "Ixiaro", "needed_by": "2027-02-01"}], treatment=MAINTENANCE)["vaccines"]
    # slots 12-01 and 12-29 (+28 days)
    assert proposed(ixiaro) == [(1, "2026-12-01"), (2, "2026-12-29")]
    # in depletion: no protection claimed (meets_needed_by null), ready_on the last dose plus 7 days
    assert (ixiaro["ready_on"], ixiaro["ready_on_means"], ixiaro["meets_needed_by"]) == (
        "2027-01-05",
        "series_complete",
        None,
    )
    assert "through by 2027-01-05" in ixiaro["reason"] and "Protection expected" not in ixiaro["reason"]
    assert "plan.protection-in-depletion" in ixiaro["rules"]


def test_hepatitis_a_counts_for_travel_from_dose_1(client):
    # dose 1 11-24 (+14 days = 12-08 <= trip 12-20); dose 2 six months later does not hold the trip back
    (hepa,) = plan(client, [{"name": "hepatitis A", "needed_by": "2026-12-20"}])["vaccines"]
    assert proposed(hepa) == [(1, "2026-11-24"), (2, "2027-05-25")]
    assert (hepa["ready_on"], hepa["meets_needed_by"], hepa["series"]["protective_dose"]) == ("2026-12-08", True, 1)
    assert "lead-time.hepa" in hepa["rules"]


def test_encepur_protection_from_dose_2_before_the_start(client):
    # 11-24, + 1 month = 12-24, dose 3 + 9 months = 09-24 -> first slot on or after it; protection 12-24 + 14
    (encepur,) = plan(client, [{"name": "Encepur"}], treatment=FAR_START)["vaccines"]
    assert proposed(encepur)[:2] == [(1, "2026-11-24"), (2, "2026-12-24")]
    assert (encepur["ready_on"], encepur["ready_on_means"], encepur["serology_advised"]) == (
        "2027-01-07",
        "protection",
        False,
    )


def test_mmr_is_planned_30_days_from_yellow_fever_when_the_window_allows(client):
    # yellow fever 11-24; MMR not before 11-24 + 30 = 12-24, dose 2 + 4 weeks = 01-21 <= 02-01 (window end)
    body = plan(client, [{"name": "YF-Vax"}, {"name": "MMR"}], treatment=FAR_START)
    yf, mmr = body["vaccines"]
    assert proposed(yf) == [(1, "2026-11-24")]
    assert proposed(mmr) == [(1, "2026-12-24"), (2, "2027-01-21")]
    assert "cdc.yellow-fever-mmr-spacing" in mmr["rules"] and body["warnings"] == []


def test_yellow_fever_and_mmr_on_the_same_day_warn_when_they_cannot_be_apart(client):
    # start 02-01: live window ends 01-04; MMR from 12-24 would need dose 2 on 01-21: too late, so MMR keeps
    # 11-24 (same day as yellow fever) and 12-24 (30 days after it), and the plan warns
    body = plan(
        client, [{"name": "YF-Vax"}, {"name": "MMR"}], treatment={"drug": "ofatumumab", "start_date": "2027-02-01"}
    )
    yf, mmr = body["vaccines"]
    assert proposed(yf) == [(1, "2026-11-24")] and proposed(mmr) == [(1, "2026-11-24"), (2, "2026-12-24")]
    [warning] = [w for w in body["warnings"] if w["code"] == "yellow-fever-with-mmr-varicella"]
    assert warning["rules"] == ["cdc.yellow-fever-mmr-spacing"] and "30 days apart" in warning["message"]
    assert "on the same day (2026-11-24)" in warning["message"]


def test_yellow_fever_given_within_30_days_of_varicella_warns(client):
    body = plan(
        client,
        [{"name": "YF-Vax", "given": ["2026-11-10"]}],
        treatment=FAR_START,
        immunizations=[{"name": "Varivax", "date": "2026-11-01"}],
    )
    [warning] = body["warnings"]
    assert warning["code"] == "yellow-fever-with-mmr-varicella" and "9 days apart" in warning["message"]


def test_yellow_fever_30_days_from_mmr_does_not_warn(client):
    body = plan(client, [{"name": "YF-Vax"}], treatment=FAR_START, immunizations=[{"cvx": "03", "date": "2026-10-25"}])
    assert body["warnings"] == []


def test_the_catalog_lists_each_product_with_its_own_code(client):
    body = client.get("/v1/vaccines?q=Spikevax").get_json()
    [entry] = body["vaccines"]
    assert entry["id"] == "covid-19-mrna" and "Spikevax" in entry["names"]
    assert {p["name"]: p["cvx"] for p in entry["products"]} == {
        "Comirnaty": "309",
        "Spikevax": "312",
        "mNEXSPIKE": "334",
    }
    # a product's code finds its entry too
    assert [v["id"] for v in client.get("/v1/vaccines?q=326").get_json()["vaccines"]] == ["rsv-adult"]


def test_fhir_never_says_due_for_half_an_oral_typhoid_course(client):
    # start 12-25: live window ends 11-27, only 2 of the 4 capsules fit (see the REST case above)
    parameters = fhir_planned_start("2026-12-25", {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "25"}]})
    r = client.post("/fhir/$vaccine-timing", json=parameters, content_type="application/fhir+json")
    assert r.status_code == 200, r.get_json()
    [recommendation] = r.get_json()["parameter"][0]["resource"]["recommendation"]
    assert recommendation["forecastStatus"]["coding"][0]["code"] != "due"
    assert "whole or not at all" in recommendation["description"]


# ---- the product's schedule for this patient: hepatitis B during therapy, accelerated schedules ------------

ADULT = {"birth_date": "1988-05-02"}  # aged 38 on 2026-11-24
STOPPED_REPLETE = {
    "drug": "ofatumumab",
    "doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"],
    "stopped_on": "2026-11-20",
    "b_cell_repletion_on": "2027-05-20",
}


def series_rules(result):
    return [r for r in result["rules"] if r.startswith("series.")]


# name, treatment, as_of, patient, needed_by, horizon -> proposed doses, ready_on, meets, series rule, words
SCHEDULE_CASES = [
    # Ixiaro before a start on 01-19 (non-live pre-start window to 01-05): standard 11-24, 12-22 (+28), ready
    # 12-29 > 12-10; accelerated 11-24, 12-01 (+7), ready 12-08 (+7 days lead) <= 12-10
    (
        "Ixiaro",
        START,
        "2026-11-24",
        ADULT,
        "2026-12-10",
        365,
        [(1, "2026-11-24"), (2, "2026-12-01")],
        "2026-12-08",
        True,
        "series.je-inactivated-accelerated",
        "accelerated schedule for ages 18 to 65, doses on days 0 and 7",
    ),
    (
        "Ixiaro",
        START,
        "2026-11-24",
        None,
        "2026-12-10",
        365,
        [(1, "2026-11-24"), (2, "2026-12-22")],
        "2026-12-29",
        False,
        "series.je-inactivated",
        "send patient.birth_date to use it",
    ),
    (
        "Ixiaro",
        START,
        "2026-11-24",
        {"birth_date": "1956-01-01"},
        "2026-12-10",
        365,
        [(1, "2026-11-24"), (2, "2026-12-22")],
        "2026-12-29",
        False,
        "series.je-inactivated",
        "only for patients aged 18 to 65 (aged 70)",
    ),
    # Twinrix: accelerated 11-24, 12-01, 12-15 (+14), ready 12-15 + 14 = 12-29 <= 12-30; the 12-month dose on or
    # after 2027-11-24, in the first mid-cycle slot from then: doses 11-23 and 12-21 -> slot 12-07..12-14
    (
        "Twinrix",
        START,
        "2026-11-24",
        ADULT,
        "2026-12-30",
        730,
        [(1, "2026-11-24"), (2, "2026-12-01"), (3, "2026-12-15"), (4, "2027-12-07")],
        "2026-12-29",
        True,
        "series.hepa-hepb-accelerated",
        "doses on days 0, 7 and 21 to 30 and a booster at 12 months",
    ),
    # Engerix-B at 19 during maintenance: the standard 3 doses (slots 12-01, 12-29, 06-15), serology advised
    (
        "Engerix-B",
        MAINTENANCE,
        "2026-11-24",
        {"birth_date": "2007-06-01"},
        None,
        365,
        [(1, "2026-12-01"), (2, "2026-12-29"), (3, "2027-06-15")],
        "2027-06-29",  # in depletion: the last dose plus the 14-day lead time (plan.protection-in-depletion)
        None,
        "series.hepb-engerix",
        "does not apply at 19",
    ),
    # Recombivax HB before a start: the 40 ug dialysis formulation at 0, 1, 6 months; dose 3 (05-24 at the
    # earliest) in the slot after the dose of 05-11: 05-25..06-01
    (
        "Recombivax HB",
        START,
        "2026-11-24",
        None,
        None,
        365,
        [(1, "2026-11-24"), (2, "2026-12-22"), (3, "2027-05-25")],
        "2027-06-08",  # dose 3 in depletion: the last dose plus the 14-day lead time
        None,
        "series.hepb-recombivax-immunocompromised",
        "Recombivax HB Dialysis Formulation, 1 mL",
    ),
    # after confirmed B-cell repletion: the standard adult schedule, 06-01, 06-29, 12-01
    (
        "Engerix-B",
        STOPPED_REPLETE,
        "2027-06-01",
        ADULT,
        None,
        365,
        [(1, "2027-06-01"), (2, "2027-06-29"), (3, "2027-12-01")],
        "2027-12-15",
        None,
        "series.hepb-engerix",
        "",
    ),
]


@pytest.mark.parametrize(
    "name, treatment, as_of, patient, needed_by, horizon, doses, ready, meets, rule, says", SCHEDULE_CASES
)
def test_the_product_schedule_for_this_patient(
    client, name, treatment, as_of, patient, needed_by, horizon, doses, ready, meets, rule, says
):
    extra = {"horizon_days": horizon} | ({"patient": patient} if patient is not None else {})
    item = {"name": name} | ({"needed_by": needed_by} if needed_by else {})
    (result,) = plan(client, [item], treatment=treatment, as_of=as_of, **extra)["vaccines"]
    assert proposed(result) == doses
    assert (result["ready_on"], result["meets_needed_by"]) == (ready, meets)
    assert series_rules(result) == [rule]
    assert says in result["reason"]


def test_generic_hepatitis_b_asks_which_product_and_a_recorded_dose_is_still_read(client):
    body = {"as_of": "2026-11-24", "treatment": START, "vaccines": [{"name": "hep B"}]}
    r = client.post("/v1/plans", json=body)
    assert r.status_code == 422
    (error,) = r.get_json()["errors"]
    assert (error["field"], error["code"]) == ("vaccines[0].name", "ambiguous_vaccine")
    assert [c["id"] for c in error["candidates"]][:2] == ["hepb-engerix", "hepb-recombivax"]
    assert {c["live"] for c in error["candidates"]} == {False}
    r = client.post("/v1/plans", json=body | {"vaccines": [{"cvx": "43"}]})
    assert r.status_code == 422 and r.get_json()["errors"][0]["code"] == "ambiguous_vaccine"
    # a dose on record coded 43 is non-live whichever product it was: read, and checked against the start
    answer = plan(client, [{"name": "MMR"}], immunizations=[{"cvx": "43", "date": "2027-01-10"}], as_of="2027-01-12")
    assert [w["code"] for w in answer["warnings"]] == ["non-live-vaccine-near-start"]
    assert "Hepatitis B vaccine, adult (Engerix-B or Recombivax HB) on 2027-01-10" in answer["warnings"][0]["message"]


def test_given_may_list_the_doses_of_the_longest_schedule(client):
    given = ["2026-09-01", "2026-10-01", "2026-10-29", "2026-11-20"]
    (engerix,) = plan(client, [{"name": "Engerix-B", "given": given}], treatment=MAINTENANCE)["vaccines"]
    assert engerix["series"]["doses"] == 4 and engerix["proposed"] == []
    body = {
        "as_of": "2026-11-24",
        "treatment": MAINTENANCE,
        "vaccines": [{"name": "Engerix-B", "given": [*given, "2026-11-23"]}],
    }
    r = client.post("/v1/plans", json=body)
    assert r.status_code == 422 and r.get_json()["errors"][0]["code"] == "too_many_doses"


def test_a_birth_date_after_as_of_is_refused_naming_the_field(client):
    body = {
        "as_of": "2026-11-24",
        "treatment": START,
        "vaccines": [{"name": "Ixiaro"}],
        "patient": {"birth_date": "2026-12-01"},
    }
    r = client.post("/v1/plans", json=body)
    assert r.status_code == 422
    assert [e["field"] for e in r.get_json()["errors"]] == ["patient.birth_date"]
    bad = client.post("/v1/plans", json=body | {"patient": {"birth_date": "1988-13-01"}})
    assert bad.status_code in (400, 422) and "patient.birth_date" in [e["field"] for e in bad.get_json()["errors"]]


# ---- names: candidates carry their class and keep to the class of a product the text names -----------------


@pytest.mark.parametrize(
    "text, live",
    [("Imojev vaccine 0.5 mL", True), ("Pluserix MMR", True), ("Pluserixx", True), ("Imojv", True), ("Ixiaroo", False)],
)
def test_suggestions_never_cross_the_class_of_the_product_named(client, text, live):
    r = client.post("/v1/plans", json={"as_of": "2026-11-24", "treatment": START, "vaccines": [{"name": text}]})
    assert r.status_code == 422
    (error,) = r.get_json()["errors"]
    assert error["code"] == "unknown_vaccine" and error["candidates"]
    assert {c["live"] for c in error["candidates"]} == {live}, error["candidates"]


def test_imojev_is_planned_as_a_live_vaccine(client):
    (imojev,) = plan(client, [{"name": "Imojev"}], treatment=MAINTENANCE)["vaccines"]
    assert imojev["vaccine"]["live"] is True and imojev["vaccine"]["cvx"] is None
    assert imojev["status"] == "avoid" and imojev["proposed"] == []


def test_the_birth_date_is_never_logged(caplog, capfd, log_lines):
    client = create_app({"TODAY": TODAY, "LOG_LEVEL": "DEBUG"}).test_client()
    caplog.set_level("DEBUG")
    plan(client, [{"name": "Ixiaro", "needed_by": "2026-12-10"}], patient={"birth_date": "1961-07-13"})
    body = {"as_of": "2026-11-24", "treatment": START, "vaccines": [{"name": "Ixiaro"}]}
    client.post("/v1/plans", json=body | {"patient": {"birth_date": "1961-13-13"}})
    client.post("/v1/plans", json=body | {"patient": {"birth_date": "2061-01-01"}})
    out, err = capfd.readouterr()
    # every record with its extra fields (the access line's), and whatever reached stdout or stderr
    # (the access lines reach caplog or, when the service logger does not propagate, stdout)
    lines = len([r for r in caplog.records if getattr(r, "route", None) == "/v1/plans"])
    assert lines + (out + err).count('"route": "/v1/plans"') == 3
    logged = out + err + caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    assert "1961" not in logged and "2061" not in logged


# name -> (catalog id, reported CVX, live), through POST /v1/plans (a start far enough for live vaccines)
NEW_NAMES = [
    ("M-M-RvaxPro", "mmr", "03", True),
    ("Priorix", "mmr", "03", True),
    ("Pluserix", "mmr", "03", True),
    ("Okavax", "varicella", "21", True),
    ("oral typhoid", "typhoid-oral", "25", True),
    ("nasal flu", "laiv", "111", True),
    ("Imojev", "je-live", None, True),
    ("Revaxis", "dt-ipv", "195", False),
    ("Repevax", "tdap-ipv", None, False),
    ("Viatim", "hepa-typhoid", None, False),
    ("Vivaxim", "hepa-typhoid", None, False),
    ("Hepatyrix", "hepa-typhoid", None, False),
    ("Fendrix", "hepb-fendrix", None, False),
    ("Engerix-B", "hepb-engerix", "43", False),
    ("HBVaxPro", "hepb-recombivax", "43", False),
]


@pytest.mark.parametrize("name, vid, cvx, live", NEW_NAMES)
def test_the_names_clinics_use_are_planned_with_their_class(client, name, vid, cvx, live):
    (result,) = plan(client, [{"name": name}], treatment=FAR_START)["vaccines"]
    assert (result["vaccine"]["id"], result["vaccine"]["cvx"], result["vaccine"]["live"]) == (vid, cvx, live)
    # before a start on 2027-03-01 every one of them has a pre-start window (live: to 02-01; non-live: to 02-15)
    assert result["status"] == "pre_start"
    assert result["windows"][0]["end"] == ("2027-02-01" if live else "2027-02-15")
