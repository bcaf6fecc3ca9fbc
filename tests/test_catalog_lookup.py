"""The service's catalog lookup over every CDSi CVX code, and the names people type.

tests/test_catalog_data.py checks the data file; this checks what the running catalog answers.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from service.domain.catalog import LookupFailed, normalize
from tests.oracles import LIVE_CVX_CODES

CDSI = Path(__file__).resolve().parents[1] / "service" / "data" / "cdsi"
with (CDSI / "cvx-antigen-map.csv").open(encoding="utf-8") as _f:
    CVX_MAP = list(csv.DictReader(_f))
LIVE_VIRUS_CONFLICT_CODES = {row["cvx"] for row in CVX_MAP if row["inLiveVirusConflicts"] == "Y"}

UNSPECIFIED = {"88", "26", "91", "188", "330", "89"}


def test_all_218_cdsi_codes_are_classified(catalog):
    assert len(CVX_MAP) == 218
    outcomes = {"live": 0, "non-live": 0, "unspecified": 0}
    for row in CVX_MAP:
        code = row["cvx"]
        try:
            match = catalog.by_cvx(code, "vaccines[0].cvx")
        except LookupFailed as failed:
            assert failed.error.code == "ambiguous_vaccine", (code, failed.error.message)
            assert failed.error.candidates
            outcomes["unspecified"] += 1
            continue
        assert match.cvx == code
        assert match.vaccine.live == (code in LIVE_CVX_CODES), (code, row["shortDescription"])
        outcomes["live" if match.vaccine.live else "non-live"] += 1
    assert sum(outcomes.values()) == 218 and all(outcomes.values())


@pytest.mark.parametrize("code", sorted(UNSPECIFIED), ids=str)
def test_unspecified_formulations_answer_with_candidates(catalog, code):
    with pytest.raises(LookupFailed) as failed:
        catalog.by_cvx(code, "vaccines[0].cvx")
    assert failed.value.error.code == "ambiguous_vaccine"


@pytest.mark.parametrize("code", ["19", "125", "54", "55", "143", "80"], ids=str)
def test_codes_outside_the_cdsi_map_are_live(catalog, code):
    assert catalog.by_cvx(code, "f").vaccine.live is True


def test_live_virus_conflict_codes_are_live_and_not_oral(catalog):
    for code in LIVE_VIRUS_CONFLICT_CODES:
        vaccine = catalog.by_cvx(code, "f").vaccine
        assert vaccine.live and vaccine.route != "oral", code


@pytest.mark.parametrize(
    "name, vaccine_id, live",
    [
        ("MMR", "mmr", True),
        ("M-M-R II", "mmr", True),
        ("priorix", "mmr", True),
        ("ProQuad", "mmrv", True),
        ("Varivax", "varicella", True),
        ("Shingrix", "zoster-recombinant", False),
        ("Zostavax", "zoster-live", True),
        ("FluMist", "laiv", True),
        ("flu shot", "influenza-inactivated", False),
        ("Fluzone", "influenza-inactivated", False),
        ("Stamaril", "yellow-fever", True),
        ("YF-Vax", "yellow-fever", True),
        ("Vivotif", "typhoid-oral", True),
        ("Typhim Vi", "typhoid-vi", False),
        ("Vaxchora", "cholera-oral-live", True),
        ("Dukoral", "cholera-inactivated", False),
        ("Ixiaro", "je-inactivated", False),
        ("Jynneos", "mpox-jynneos", False),
        ("ACAM2000", "smallpox-live", True),
        ("Dengvaxia", "dengue-dengvaxia", True),
        ("Qdenga", "dengue-qdenga", True),
        ("Ixchiq", "chikungunya-live", True),
        ("Vimkunya", "chikungunya-vlp", False),
        ("Imovax", "rabies", False),
        ("RabAvert", "rabies", False),
        ("Boostrix", "tdap", False),
        ("Adacel", "tdap", False),
        ("Prevnar 20", "pcv20", False),
        ("Capvaxive", "pcv21", False),
        ("Pneumovax 23", "ppsv23", False),
        ("Engerix-B", "hepb-engerix", False),
        ("HBVaxPro", "hepb-recombivax", False),
        ("Heplisav-B", "hepb-cpg", False),
        ("Havrix", "hepa", False),
        ("Twinrix", "hepa-hepb", False),
        ("Gardasil 9", "hpv9", False),
        ("Menveo", "menacwy", False),
        ("MenQuadfi", "menacwy", False),
        ("Bexsero", "menb-4c", False),
        ("Trumenba", "menb-fhbp", False),
        ("Arexvy", "rsv-adult", False),
        ("Abrysvo", "rsv-adult", False),
        ("Comirnaty", "covid-19-mrna", False),
        ("Spikevax", "covid-19-mrna", False),
        ("Nuvaxovid", "covid-19-protein", False),
        ("BCG", "bcg", True),
    ],
    ids=str,
)
def test_names_people_type_resolve_to_one_entry(catalog, name, vaccine_id, live):
    match = catalog.by_name(name, "vaccines[0].name")
    assert (match.vaccine.id, match.vaccine.live) == (vaccine_id, live)
    # and the same ignoring case, spaces and punctuation
    assert catalog.by_name(f" {name.upper()}. ", "f").vaccine.id == vaccine_id


def test_every_alias_of_every_entry_resolves_back_to_it(catalog):
    for vaccine in catalog.vaccines:
        for alias in (vaccine.name, *vaccine.aliases):
            assert catalog.by_name(alias, "f").vaccine is vaccine, alias


def test_suggestions_are_real_entries(catalog):
    for typo in ("shingrx", "stamarl", "vivotiff", "prevnar"):
        suggestions = catalog.suggest(typo)
        assert suggestions and all(s.id in catalog.by_id for s in suggestions), typo


def test_normalize_drops_case_spaces_and_punctuation():
    assert normalize(" M-M-R® II ") == "mmrii" and normalize("Typhim Vi") == normalize("typhim-vi")


@pytest.mark.parametrize(
    "name, cvx, live",
    [
        (None, "43", False),  # Engerix-B or Recombivax HB: non-live either way
        (None, "45", False),
        (None, "77", False),  # TBE, non-US
        ("hep B", None, False),
        ("TBE vaccine", None, False),
        (None, "03", True),  # a code that names one entry is that entry
    ],
)
def test_a_dose_on_record_is_read_when_its_products_share_one_class(catalog, name, cvx, live):
    vaccine = catalog.recorded(name, cvx, "immunizations[0].cvx")
    assert vaccine.live is live


@pytest.mark.parametrize(
    "name, cvx", [(None, "88"), (None, "91"), ("flu", None), ("typhoid", None), ("Imojevv x", None)]
)
def test_a_dose_on_record_whose_class_is_unknown_still_fails(catalog, name, cvx):
    with pytest.raises(LookupFailed):
        catalog.recorded(name, cvx, "immunizations[0].cvx")
