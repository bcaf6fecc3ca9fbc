"""The golden requests and the answers the service gives them, byte for byte: a change to the planner, the
validation or the data that alters any answer shows up in tests/test_golden.py.

The requests (tests/golden/requests.jsonl.gz, one JSON body a line) are generated once from a fixed seed by
`requests()` below and kept, so that adding a vaccine to the catalog or a field to the generator does not
change what is asked. The answers (tests/golden/answers.jsonl.gz) are what POST /v1/plans answers each of
them, status and body, with the clock pinned and a fixed X-Request-ID, through the whole WSGI app.

    python -m scripts.golden --write        # `make golden`: record the answers again and say what changed
    python -m scripts.golden --regenerate   # new requests from the generator (then --write)
    python -m scripts.golden --check        # what tests/test_golden.py does, with a summary of differences

Record again only when a change is meant to change answers, and read the summary `--write` prints: how many
answers changed beyond the ruleset version (which names a digest of the data files, so any data change moves
it in every answer), and the first few differences in full.
"""

from __future__ import annotations

import difflib
import gzip
import json
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
REQUESTS = GOLDEN / "requests.jsonl.gz"
ANSWERS = GOLDEN / "answers.jsonl.gz"
SEED = 20261127
TODAY = date(2026, 11, 27)
REQUEST_ID = "golden"

# Vaccines by name and code, fixed here rather than read from the catalog: the requests must not move when the
# catalog grows. Live and non-live, brands and generic names, names with a season. Then, now and then, names
# that ask which product, misspellings, and names and codes the service does not know.
NAMES = [
    "Shingrix", "yellow fever", "MMR", "varicella", "Varivax", "ProQuad", "Zostavax", "Prevnar 20", "Vaxneuvance",
    "Pneumovax 23", "Heplisav-B", "Engerix-B", "hepatitis B", "hepatitis A", "hep A", "Havrix", "Twinrix",
    "Fluzone", "Flublok", "FluMist", "Comirnaty", "Spikevax 2025-2026", "mNEXSPIKE", "Arexvy", "Abrysvo", "mResvia",
    "Imovax", "RabAvert", "Rabipur", "rabies pre-exposure", "Verorab", "Dukoral", "Euvichol", "Shanchol",
    "Vaxchora", "Typhim Vi", "Typbar-TCV", "Vivotif", "Ty21a", "Menveo", "MenQuadfi", "Menactra", "Nimenrix",
    "meningococcal ACWY", "Bexsero", "Trumenba", "Penbraya", "TicoVac", "Encepur", "Ixiaro", "Qdenga", "Dengvaxia",
    "BCG", "Gardasil 9", "Tdap", "Boostrix", "Adacel", "IPOL", "Jynneos", "ACAM2000", "Ervebo", "Ixchiq",
    "Vimkunya",
]  # fmt: skip
BAD_NAMES = [
    "flu", "flu vaccine 2025/26", "influenza", "typhoid", "TBE vaccine", "inactivated oral cholera vaccine",
    "MMR booster", "Td booster", "Shingrex", "polio", "chikungunya", "no such vaccine",
]  # fmt: skip
CODES = [
    "03", "04", "05", "07", "08", "10", "19", "21", "25", "33", "37", "38", "43", "45", "52", "62", "75", "83",
    "94", "100", "101", "104", "111", "114", "115", "121", "125", "133", "136", "140", "141", "147", "150", "152",
    "158", "162", "163", "165", "169", "171", "172", "173", "174", "175", "176", "183", "184", "185", "186", "187",
    "189", "190", "197", "203", "205", "206", "207", "208", "210", "211", "212", "215", "216", "217", "218", "219",
    "221", "224", "227", "228", "229", "230", "300", "301", "302", "303", "304", "305", "306", "307", "308", "309",
    "310", "311", "312", "313", "314", "315", "316", "317", "320", "324", "326", "327", "328", "329", "331", "332",
    "333", "334",
]  # fmt: skip
BAD_CODES = ["88", "213", "999", "0", "abc", "3"]
DRUGS = ["ofatumumab", "Kesimpta", "KESIMPTA", " ofatumumab "]
BAD_DRUGS = ["rituximab", "ocrelizumab"]
HORIZONS = [60, 61, 90, 180, 365, 366, 730, 1094, 1095]
BAD_HORIZONS = [0, 1, 59, 1096]
MISTAKES = 0.02  # how often each choice takes a value the service must refuse
COUNT = 6000  # generated requests, besides the fixed workloads


def _pick(rng: random.Random, good: list[Any], bad: list[Any]) -> Any:
    return rng.choice(bad) if rng.random() < MISTAKES else rng.choice(good)


def _day(rng: random.Random, low: int, high: int) -> str:
    return (TODAY + timedelta(days=rng.randint(low, high))).isoformat()


def _treatment(rng: random.Random) -> dict[str, Any]:
    """A planned start, a complete history, a partial one, a stopped therapy, or one with a mistake in it."""
    treatment: dict[str, Any] = {"drug": _pick(rng, DRUGS, BAD_DRUGS)}
    shape = rng.random()
    if shape < 0.25:
        treatment["start_date"] = _day(rng, -3, 400)
        return treatment
    first = TODAY - timedelta(days=rng.randint(0, 900))
    slip = 3 if rng.random() < 0.8 else 6  # injections slip a day or two; now and then beyond the tolerance
    doses = [first + timedelta(days=d + (rng.randint(-1, 1) if d else 0)) for d in (0, 7, 14)]
    doses += [first + timedelta(days=28 * k + rng.randint(-slip, slip)) for k in range(1, rng.randint(1, 30))]
    doses = sorted({d for d in doses if d <= TODAY}) or [first]
    skip = rng.randint(0, min(3, len(doses) - 1)) if shape < 0.5 else 0  # a partial history
    treatment["doses"] = [d.isoformat() for d in doses[skip:]]
    if skip or rng.random() < 0.5:
        treatment["start_date"] = first.isoformat()
    if rng.random() < 0.2:
        treatment["cadence"] = _pick(rng, ["monthly", "every_4_weeks"], ["weekly"])
    if rng.random() < 0.15:
        treatment["stopped_on"] = (doses[-1] + timedelta(days=rng.choice([0, 1, 10, -1]))).isoformat()
        if rng.random() < 0.6:
            repleted = doses[-1] + timedelta(days=rng.choice([20, 27, 28, 29, 120, 171, 172, 173, 200, 400]))
            treatment["b_cell_repletion_on"] = repleted.isoformat()
    if rng.random() < MISTAKES:
        treatment["doses"].append(_day(rng, 1, 30))  # a dose after as_of
    return treatment


def _vaccine(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.7:
        vaccine: dict[str, Any] = {"name": _pick(rng, NAMES, BAD_NAMES)}
    else:
        vaccine = {"cvx": _pick(rng, CODES, BAD_CODES)}
    if rng.random() < 0.2:
        vaccine["given"] = sorted(_day(rng, -400, 0) for _ in range(rng.choice([1, 1, 1, 1, 2])))
    if rng.random() < 0.3:
        vaccine["needed_by"] = _day(rng, -5, 500) if rng.random() < MISTAKES else _day(rng, 0, 500)
    return vaccine


def generated(count: int = COUNT, seed: int = SEED) -> list[dict[str, Any]]:
    """Requests a clinic could send, and some it should not, from a fixed seed."""
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        body: dict[str, Any] = {"as_of": TODAY.isoformat(), "treatment": _treatment(rng)}
        body["vaccines"] = [_vaccine(rng) for _ in range(rng.choice([1, 1, 2, 2, 3, 4, 5, 8]))]
        if rng.random() < 0.3:
            body["immunizations"] = [
                {"cvx": _pick(rng, CODES, BAD_CODES), "date": _day(rng, -120, 0)}
                if rng.random() < 0.7
                else {"name": _pick(rng, NAMES, BAD_NAMES), "date": _day(rng, -120, 0)}
                for _ in range(rng.choice([1, 1, 2, 4, 12, 40]))
            ]
        if rng.random() < 0.6:
            body["horizon_days"] = _pick(rng, HORIZONS, BAD_HORIZONS)
        if rng.random() < MISTAKES:
            body[rng.choice(["unknown_field", "as_of"])] = rng.choice(["2026-02-30", 7, None, "yesterday"])
        bodies.append(body)
    return bodies


def workloads() -> list[dict[str, Any]]:
    """The bench's and the benchmarks' requests (scripts/workloads.py), over a grid of sizes."""
    from scripts.workloads import heaviest_request, largest_request, live_request, plan_request, typical_request

    grid = [plan_request(d, v, h) for d in (0, 1, 15, 100, 400) for v in (1, 5, 20, 50) for h in (1, 60, 365, 1095)]
    fixed = [typical_request(), largest_request(), heaviest_request()]
    return fixed + [live_request(n) for n in (1, 2, 5, 10, 25, 50)] + grid


def requests() -> list[dict[str, Any]]:
    return workloads() + generated()


def _lines(path: Path) -> Iterator[bytes]:
    with gzip.open(path, "rb") as f:
        yield from (line.rstrip(b"\n") for line in f)


def _write_lines(path: Path, lines: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same lines give the same bytes, so an unchanged recording is no change in git.
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.writelines(line + b"\n" for line in lines)


def stored_requests() -> list[bytes]:
    return list(_lines(REQUESTS))


def stored_answers() -> list[bytes]:
    return list(_lines(ANSWERS))


def answer_lines(bodies: list[bytes]) -> list[bytes]:
    """`<status> <body>` for each request line, as POST /v1/plans answers it today."""
    from service.app import create_app

    client = create_app({"TODAY": TODAY, "LOG_LEVEL": "WARNING"}).test_client()
    headers = {"Content-Type": "application/json", "X-Request-ID": REQUEST_ID}
    out = []
    for body in bodies:
        response = client.post("/v1/plans", data=body, headers=headers)
        out.append(str(response.status_code).encode() + b" " + response.get_data())
    return out


def _without_version(line: bytes) -> Any:
    status, _, body = line.partition(b" ")
    value = json.loads(body)
    if isinstance(value, dict) and isinstance(value.get("ruleset"), dict):
        value["ruleset"] = {**value["ruleset"], "version": "(any)"}
    return [status.decode(), value]


def differences(recorded: list[bytes], now: list[bytes], requests: list[bytes], show: int = 3) -> str:
    """What changed, for a person: counts, then the first `show` answers that changed beyond the version."""
    changed = [i for i, (a, b) in enumerate(zip(recorded, now, strict=True)) if a != b]
    real = [i for i in changed if _without_version(recorded[i]) != _without_version(now[i])]
    lines = [f"{len(changed)} of {len(now)} answers differ; {len(real)} beyond the ruleset version"]
    for i in real[:show]:
        lines.append(f"\n--- request {i}: {requests[i].decode()}")
        before = json.dumps(_without_version(recorded[i]), indent=1, ensure_ascii=False).splitlines()
        after = json.dumps(_without_version(now[i]), indent=1, ensure_ascii=False).splitlines()
        lines += difflib.unified_diff(before, after, "recorded", "now", lineterm="", n=2)
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv == ["--regenerate"]:
        _write_lines(REQUESTS, [json.dumps(b, separators=(",", ":")).encode() for b in requests()])
        print(f"{REQUESTS.relative_to(ROOT)}: {len(stored_requests())} requests; now run --write")
        return 0
    if argv not in (["--write"], ["--check"]):
        raise SystemExit("usage: python -m scripts.golden --write | --check | --regenerate")
    bodies = stored_requests()
    now = answer_lines(bodies)
    recorded = stored_answers() if ANSWERS.exists() else [b"0 null"] * len(now)
    if len(recorded) != len(now):
        recorded = [b"0 null"] * len(now)
    print(differences(recorded, now, bodies))
    if argv == ["--write"]:
        _write_lines(ANSWERS, now)
        print(f"{ANSWERS.relative_to(ROOT)}: {len(now)} answers, {ANSWERS.stat().st_size:,} bytes")
        return 0
    return 0 if recorded == now else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
