"""Checks over the vaccine catalog data file (service/data/vaccines.json) on its own.

These tests read only the JSON catalog and the CDSi copies beside it (service/data/cdsi/); they import no
project code, so they pin the data itself: every CDSi CVX code classified exactly once, the live set exactly
as REFERENCES.md section 4 lists it, brand names that resolve to one entry, and no name that could match two.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from tests.oracles import LIVE_CVX_CODES, LIVE_VIRUS_CONFLICT_CODES, ORAL_LIVE_CODES

DATA_DIR = Path(__file__).resolve().parent.parent / "service" / "data"
CATALOG_FILE = DATA_DIR / "vaccines.json"
CDSI_DIR = DATA_DIR / "cdsi"
CVX_MAP_FILE = CDSI_DIR / "cvx-antigen-map.csv"
LIVE_CONFLICTS_FILE = CDSI_DIR / "live-virus-conflicts.csv"

ROUTES = {"injection", "intranasal", "oral", "intradermal", "percutaneous"}
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


# REFERENCES.md section 4: codes the CDSi map lacks that must still be classifiable.
CODES_NOT_IN_CDSI_MAP = {"19", "125", "54", "55", "143", "80"}

# REFERENCES.md section 4: non-live although a name may mislead.
MISLEADING_NON_LIVE = {"206": "JYNNEOS", "187": "Shingrix", "329": "Vimkunya"}

# REFERENCES.md section 4: unspecified formulations whose live status cannot be known.
REQUIRED_UNSPECIFIED_CODES = {"88", "26", "91", "188", "330", "89"}

# Unspecified items whose candidates are not a live/non-live mix; their note must say why (see the item).
UNSPECIFIED_WITHOUT_MIXED_CANDIDATES = {
    "330",  # both dengue vaccines are live, but the product must still be named
    "214",  # the only coded Ebola vaccine is live; the non-live regimen has no CVX code
    "129",  # JE: Ixiaro and JE-VAX are non-live, Imojev (no CVX code) is live: mixed, kept here for the record
    "222",  # both TBE vaccines are non-live, but TicoVac and Encepur have different schedules
    "77",  # TBE given outside the US: TicoVac/FSME-Immun or Encepur, different schedules
    "45",  # hepatitis B, unspecified: all non-live, but the dosage during therapy depends on the product
    "43",  # hepatitis B, adult: Engerix-B or Recombivax HB (ACIP 2018 immunocompromised dosages differ)
    "08",  # hepatitis B, pediatric/adolescent formulation of either
    "42",  # hepatitis B, adolescent/high risk infant: either product
    None,  # names only: "inactivated oral cholera vaccine" (Dukoral or Euvichol/Shanchol schedules) and the like
}

# Brand and common names that must resolve to exactly one specific (not unspecified) entry.
MUST_RESOLVE = [
    "MMR",
    "M-M-R II",
    "Priorix",
    "ProQuad",
    "Varivax",
    "Shingrix",
    "Zostavax",
    "FluMist",
    "flu shot",
    "Fluzone",
    "Stamaril",
    "YF-Vax",
    "Vivotif",
    "Typhim Vi",
    "Vaxchora",
    "Dukoral",
    "Ixiaro",
    "Jynneos",
    "ACAM2000",
    "Dengvaxia",
    "Qdenga",
    "Ixchiq",
    "Vimkunya",
    "Imovax",
    "RabAvert",
    "Boostrix",
    "Adacel",
    "Prevnar 20",
    "Capvaxive",
    "Pneumovax 23",
    "Engerix-B",
    "Heplisav-B",
    "Havrix",
    "Twinrix",
    "Gardasil 9",
    "Menveo",
    "MenQuadfi",
    "Bexsero",
    "Trumenba",
    "Arexvy",
    "Abrysvo",
    "Comirnaty",
    "Spikevax",
    "Nuvaxovid",
    "BCG",
    # more names people type
    "Fluad",
    "Flublok",
    "Flucelvax",
    "Afluria",
    "Fluarix",
    "FluLaval",
    "Recombivax HB",
    "PreHevbrio",
    "Vaqta",
    "Gardasil",
    "Tdvax",
    "Tenivac",
    "Daptacel",
    "Infanrix",
    "Pediarix",
    "Pentacel",
    "Vaxelis",
    "IPOL",
    "Menactra",
    "Penbraya",
    "Penmenvy",
    "mResvia",
    "Vaxneuvance",
    "Prevnar 13",
    "TicoVac",
    "Ervebo",
    "Varilrix",
    "RotaTeq",
    "Rotarix",
    "Imvamune",
    "Imvanex",
    "YF vaccine",
    "yellow fever",
    "chickenpox",
]

# Expected (entry id, live) for a hand-written selection of names.
EXPECTED_BRANDS = {
    "FluMist": ("laiv", True),
    "flu shot": ("influenza-inactivated", False),
    "Fluzone": ("influenza-inactivated", False),
    "Stamaril": ("yellow-fever", True),
    "YF-Vax": ("yellow-fever", True),
    "Vivotif": ("typhoid-oral", True),
    "Typhim Vi": ("typhoid-vi", False),
    "Vaxchora": ("cholera-oral-live", True),
    "Dukoral": ("cholera-inactivated", False),
    "Euvichol": ("cholera-bivalent", False),
    "Encepur": ("tbe-encepur", False),
    "Jynneos": ("mpox-jynneos", False),
    "ACAM2000": ("smallpox-live", True),
    "Dengvaxia": ("dengue-dengvaxia", True),
    "Qdenga": ("dengue-qdenga", True),
    "Ixchiq": ("chikungunya-live", True),
    "Vimkunya": ("chikungunya-vlp", False),
    "Shingrix": ("zoster-recombinant", False),
    "Zostavax": ("zoster-live", True),
    "BCG": ("bcg", True),
    "ProQuad": ("mmrv", True),
    "Varivax": ("varicella", True),
    "Priorix": ("mmr", True),
    "M-M-R II": ("mmr", True),
    "Ixiaro": ("je-inactivated", False),
    "Imovax": ("rabies", False),
    "Heplisav-B": ("hepb-cpg", False),
    "Engerix-B": ("hepb-engerix", False),
    "Recombivax HB": ("hepb-recombivax", False),
    "Imojev": ("je-live", True),
    "Pluserix": ("mmr", True),
    "M-M-RvaxPro": ("mmr", True),
    "Okavax": ("varicella", True),
    "Fendrix": ("hepb-fendrix", False),
    "Viatim": ("hepa-typhoid", False),
    "Repevax": ("tdap-ipv", False),
    "Revaxis": ("dt-ipv", False),
    "Twinrix": ("hepa-hepb", False),
    "Bexsero": ("menb-4c", False),
    "Trumenba": ("menb-fhbp", False),
    "Capvaxive": ("pcv21", False),
    "Ervebo": ("ebola-live", True),
    "Rotarix": ("rotavirus-rv1", True),
}

# Generic names that span live and non-live products: must be ambiguous (an unspecified item).
AMBIGUOUS_GENERIC_NAMES = [
    "flu",
    "influenza",
    "typhoid",
    "cholera",
    "zoster",
    "shingles vaccine",
    "dengue",
    "chikungunya",
    "polio",
    "smallpox",
]


def normalize(name: str) -> str:
    """The matching key the service uses: lower-case letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


@pytest.fixture(scope="module")
def catalog() -> dict:
    return json.loads(CATALOG_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def entries(catalog) -> dict[str, dict]:
    return {v["id"]: v for v in catalog["vaccines"]}


@pytest.fixture(scope="module")
def cvx_map() -> dict[str, dict]:
    with CVX_MAP_FILE.open(encoding="utf-8", newline="") as f:
        return {row["cvx"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def places(catalog) -> dict[str, list[str]]:
    """Every CVX code in the catalog -> the entries/unspecified items that hold it."""
    found: dict[str, list[str]] = defaultdict(list)
    for v in catalog["vaccines"]:
        for code in v["cvx"]:
            found[code].append(v["id"])
    for u in catalog["unspecified"]:
        if u["cvx"] is not None:
            found[u["cvx"]].append(f"unspecified:{u['cvx']}")
    return found


@pytest.fixture(scope="module")
def name_index(catalog) -> dict[str, set[str]]:
    """Normalized name -> owners ("entry:<id>" or "unspecified:<id>")."""
    index: dict[str, set[str]] = defaultdict(set)
    for v in catalog["vaccines"]:
        products = [n for p in v.get("products", ()) for n in (p["name"], *p.get("aliases", ()))]
        for name in (v["id"], v["name"], *v["aliases"], *products):
            index[normalize(name)].add(f"entry:{v['id']}")
    for u in catalog["unspecified"]:
        for name in (u.get("id", ""), u["name"], *u["aliases"]):
            if name:
                index[normalize(name)].add(f"unspecified:{u.get('id') or u['name']}")
    return index


def live_codes(catalog) -> set[str]:
    return {code for v in catalog["vaccines"] if v["live"] for code in v["cvx"]}


def entry_of(code: str, catalog) -> dict | None:
    return next((v for v in catalog["vaccines"] if code in v["cvx"]), None)


# --- file shape ------------------------------------------------------------------------------------


def test_catalog_file_is_pretty_printed_with_two_space_indent_and_stable():
    text = CATALOG_FILE.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_catalog_has_version_sources_vaccines_and_unspecified(catalog):
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", catalog["catalog_version"])
    assert isinstance(catalog["sources"], dict) and catalog["sources"]
    assert all(isinstance(text, str) and text.strip() for text in catalog["sources"].values())
    assert isinstance(catalog["vaccines"], list) and catalog["vaccines"]
    assert isinstance(catalog["unspecified"], list) and catalog["unspecified"]


def test_every_entry_has_the_required_fields_with_the_right_types(catalog):
    for v in catalog["vaccines"]:
        assert isinstance(v["id"], str) and isinstance(v["name"], str) and v["name"].strip(), v
        assert isinstance(v["cvx"], list) and all(isinstance(c, str) and c.isdigit() for c in v["cvx"]), v["id"]
        assert isinstance(v["live"], bool), v["id"]
        assert isinstance(v["antigens"], list) and v["antigens"], v["id"]
        assert isinstance(v["aliases"], list) and all(isinstance(a, str) and a.strip() for a in v["aliases"])
        assert isinstance(v["source"], str) and v["source"], v["id"]
        assert isinstance(v.get("note", ""), str)
    for u in catalog["unspecified"]:
        assert u["cvx"] is None or (isinstance(u["cvx"], str) and u["cvx"].isdigit()), u
        assert isinstance(u["name"], str) and u["name"].strip()
        assert isinstance(u["aliases"], list) and isinstance(u["candidates"], list) and u["candidates"]
        assert isinstance(u["note"], str) and u["note"].strip(), u["name"]


# --- CVX coverage ------------------------------------------------------------------------------------


def test_cdsi_map_copy_has_218_codes(cvx_map):
    assert len(cvx_map) == 218


def test_every_cdsi_cvx_code_is_in_exactly_one_place(cvx_map, places):
    problems = {code: places.get(code, []) for code in cvx_map if len(places.get(code, [])) != 1}
    assert problems == {}


def test_codes_named_in_references_but_absent_from_cdsi_map_are_classified_once(cvx_map, places):
    assert not CODES_NOT_IN_CDSI_MAP & set(cvx_map)
    assert {code: places.get(code, []) for code in CODES_NOT_IN_CDSI_MAP if len(places.get(code, [])) != 1} == {}


def test_no_code_outside_the_map_and_references_list_is_invented(cvx_map, places):
    assert set(places) - set(cvx_map) - CODES_NOT_IN_CDSI_MAP == set()


# Entries without a code of their own, each a stated decision: no CVX code exists for the product (Qdenga,
# Imojev, Fendrix, Viatim/Hepatyrix, Repevax), or the product shares a code that does not name it and that
# alone asks which product (Encepur 77; Engerix-B and Recombivax HB 43, whose dosage differs during therapy).
NO_OWN_CODE = {
    "dengue-qdenga": None,
    "tbe-encepur": "77",
    "hepb-engerix": "43",
    "hepb-recombivax": "43",
    "hepb-fendrix": None,
    "je-live": None,
    "hepa-typhoid": None,
    "tdap-ipv": None,
}


def test_entries_without_a_code_of_their_own_are_stated_decisions(catalog):
    without = {v["id"]: v for v in catalog["vaccines"] if not v["cvx"]}
    assert set(without) == set(NO_OWN_CODE)
    for vid, entry in without.items():
        assert entry.get("generic_cvx") == NO_OWN_CODE[vid], vid
        if vid not in ("dengue-qdenga", "tbe-encepur"):  # their notes say why (REFERENCES.md section 4)
            assert "decision" in entry["source"] and "decision" in entry["note"], vid


def test_cdsi_antigens_of_each_code_are_listed_on_its_entry(catalog, cvx_map):
    for code, row in cvx_map.items():
        entry = entry_of(code, catalog)
        if entry is None:
            continue  # an unspecified item
        assert set(row["antigens"].split(";")) <= set(entry["antigens"]), (code, entry["id"])


# --- live classification -------------------------------------------------------------------------------


def test_live_set_is_exactly_the_references_section_4_list(catalog):
    assert live_codes(catalog) == LIVE_CVX_CODES


def test_qdenga_is_live(entries):
    assert entries["dengue-qdenga"]["live"] is True


def test_every_live_virus_conflict_code_is_live_and_not_oral(catalog):
    with LIVE_CONFLICTS_FILE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    codes = {r["previous_cvx"] for r in rows} | {r["current_cvx"] for r in rows}
    assert len(rows) == 625
    assert codes == LIVE_VIRUS_CONFLICT_CODES
    for code in sorted(codes):
        entry = entry_of(code, catalog)
        assert entry is not None, code
        assert entry["live"] is True, code
        assert entry["route"] != "oral", code


def test_cdsi_map_live_flag_agrees_with_live_entries(catalog, cvx_map):
    flagged = {code for code, row in cvx_map.items() if row["inLiveVirusConflicts"] == "Y"}
    assert flagged <= live_codes(catalog)


def test_oral_live_codes_have_route_oral(catalog):
    for code in sorted(ORAL_LIVE_CODES):
        entry = entry_of(code, catalog)
        assert entry is not None and entry["live"] is True and entry["route"] == "oral", code


@pytest.mark.parametrize("code", sorted(MISLEADING_NON_LIVE), ids=str)
def test_products_with_misleading_names_are_non_live(catalog, code):
    entry = entry_of(code, catalog)
    assert entry is not None, MISLEADING_NON_LIVE[code]
    assert entry["live"] is False, MISLEADING_NON_LIVE[code]


# --- unspecified ---------------------------------------------------------------------------------------


def test_references_unspecified_codes_are_unspecified(catalog):
    unspecified_codes = {u["cvx"] for u in catalog["unspecified"]}
    assert unspecified_codes >= REQUIRED_UNSPECIFIED_CODES


def test_unspecified_candidates_exist_and_mix_live_and_non_live_or_the_note_says_why(catalog, entries):
    for u in catalog["unspecified"]:
        assert u["candidates"], u["name"]
        assert all(c in entries for c in u["candidates"]), u["name"]
        assert len(set(u["candidates"])) == len(u["candidates"]), u["name"]
        statuses = {entries[c]["live"] for c in u["candidates"]}
        if statuses != {True, False}:
            assert u["cvx"] in UNSPECIFIED_WITHOUT_MIXED_CANDIDATES, u["name"]
            assert "live" in u["note"] and len(u["note"]) > 80, u["name"]


def test_unspecified_items_are_unique(catalog):
    codes = [u["cvx"] for u in catalog["unspecified"] if u["cvx"] is not None]
    assert len(codes) == len(set(codes))


# --- names ---------------------------------------------------------------------------------------------


def test_normalized_names_aliases_and_ids_never_collide_across_entries(name_index):
    assert {key: owners for key, owners in name_index.items() if len(owners) > 1} == {}
    assert "" not in name_index


@pytest.mark.parametrize("name", MUST_RESOLVE, ids=str)
def test_name_resolves_to_exactly_one_specific_entry(name_index, name):
    owners = name_index.get(normalize(name), set())
    assert len(owners) == 1, (name, owners)
    assert next(iter(owners)).startswith("entry:"), (name, owners)


@pytest.mark.parametrize("name", sorted(EXPECTED_BRANDS), ids=str)
def test_brand_resolves_to_the_expected_entry_and_live_status(name_index, entries, name):
    expected_id, expected_live = EXPECTED_BRANDS[name]
    assert name_index.get(normalize(name)) == {f"entry:{expected_id}"}
    assert entries[expected_id]["live"] is expected_live


@pytest.mark.parametrize("name", AMBIGUOUS_GENERIC_NAMES, ids=str)
def test_generic_name_spanning_live_and_non_live_is_an_unspecified_item(name_index, name):
    owners = name_index.get(normalize(name), set())
    assert len(owners) == 1 and next(iter(owners)).startswith("unspecified:"), (name, owners)


def test_ids_are_unique_and_slug_shaped(catalog):
    ids = [v["id"] for v in catalog["vaccines"]] + [u["id"] for u in catalog["unspecified"] if "id" in u]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not SLUG.match(i)] == []


@pytest.mark.parametrize(
    "required_id",
    [
        "mmr",
        "mmrv",
        "varicella",
        "zoster-live",
        "zoster-recombinant",
        "laiv",
        "influenza-inactivated",
        "yellow-fever",
        "typhoid-oral",
        "typhoid-vi",
        "cholera-oral-live",
        "cholera-inactivated",
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
        "bcg",
        "smallpox-live",
        "mpox-jynneos",
        "dengue-dengvaxia",
        "dengue-qdenga",
        "chikungunya-live",
        "chikungunya-vlp",
        "tdap",
        "pcv20",
        "pcv21",
        "ppsv23",
        "menacwy",
        "tbe",
        "adenovirus-oral",
        "vee",
        "opv",
        "rotavirus",
    ],
    ids=str,
)
def test_agreed_ids_exist(entries, required_id):
    assert required_id in entries


@pytest.mark.parametrize(
    "entry_id,code",
    [
        ("mmr", "03"),
        ("mmrv", "94"),
        ("varicella", "21"),
        ("zoster-live", "121"),
        ("zoster-recombinant", "187"),
        ("laiv", "111"),
        ("laiv", "149"),
        ("yellow-fever", "37"),
        ("yellow-fever", "183"),
        ("yellow-fever", "184"),
        ("typhoid-oral", "25"),
        ("typhoid-vi", "101"),
        ("cholera-oral-live", "174"),
        ("cholera-inactivated", "172"),
        ("cholera-bivalent", "173"),
        ("hepb-cpg", "189"),
        ("hepa-hepb", "104"),
        ("hpv9", "165"),
        ("je-inactivated", "134"),
        ("rabies", "175"),
        ("rabies", "176"),
        ("menb-4c", "163"),
        ("menb-fhbp", "162"),
        ("bcg", "19"),
        ("smallpox-live", "75"),
        ("mpox-jynneos", "206"),
        ("dengue-dengvaxia", "56"),
        ("chikungunya-live", "317"),
        ("chikungunya-vlp", "329"),
        ("tdap", "115"),
        ("pcv20", "216"),
        ("pcv21", "327"),
        ("ppsv23", "33"),
        ("vee", "80"),
    ],
    ids=str,
)
def test_agreed_codes_sit_in_the_agreed_entry(entries, entry_id, code):
    assert code in entries[entry_id]["cvx"]


# --- sources and routes ----------------------------------------------------------------------------------


def test_every_source_key_used_exists(catalog):
    keys = set(catalog["sources"])
    for item in (*catalog["vaccines"], *catalog["unspecified"]):
        used = [k.strip() for k in item["source"].split(";")]
        assert used and all(used), item["name"]
        assert set(used) <= keys, (item["name"], set(used) - keys)


def test_routes_are_valid(catalog):
    assert {v["id"]: v["route"] for v in catalog["vaccines"] if v["route"] not in ROUTES} == {}


def test_bcg_and_live_smallpox_are_percutaneous_and_laiv_is_intranasal(entries):
    assert entries["bcg"]["route"] == "percutaneous"
    assert entries["smallpox-live"]["route"] == "percutaneous"
    assert entries["laiv"]["route"] == "intranasal"


# --- provenance of the copied CDSi files ---------------------------------------------------------------


def test_cdsi_copies_say_where_they_came_from():
    readme = (CDSI_DIR / "README.md").read_text(encoding="utf-8")
    assert "4.64" in readme and "cebbc2967f6b26deae3a395ed85156c57078a15e" in readme
    assert (CDSI_DIR / "SOURCES.md").is_file()
