"""Hand-kept answers the tests check the data and the service against (one copy, shared by every test).

Each table is transcribed from the project's clinical references (REFERENCES.md, kept by the team), not
derived from the service's data: a test that compared the data with itself could not fail.
"""

from __future__ import annotations

# REFERENCES.md section 4 "Live or non-live, by CVX code": the 25 codes of CDSi's liveVirusConflicts ...
LIVE_VIRUS_CONFLICT_CODES = frozenset(
    [
        "03",
        "04",
        "05",
        "06",
        "07",
        "19",
        "21",
        "37",
        "38",
        "56",
        "75",
        "94",
        "105",
        "111",
        "121",
        "125",
        "149",
        "151",
        "169",
        "183",
        "184",
        "204",
        "317",
        "333",
        "503",
    ]
)
# ... plus the oral live vaccines (25 Ty21a, 174 Vaxchora, 02/178/179/182 OPV, 74/116/119/122 rotavirus,
# 54/55/143 adenovirus) ...
ORAL_LIVE_CODES = frozenset(["25", "174", "02", "178", "179", "182", "74", "116", "119", "122", "54", "55", "143"])
# ... and 80 (VEE, live). Qdenga is live too but has no CVX code (checked separately).
LIVE_CVX_CODES = LIVE_VIRUS_CONFLICT_CODES | ORAL_LIVE_CODES | {"80"}
