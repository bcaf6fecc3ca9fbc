"""The compiled rules core (`make native`): trusted only while it matches its sources, and it answers exactly
as the pure Python does.

`make test` compiles service/domain with mypyc first, so the rest of the suite (the property tests among it)
runs the compiled core, as production does. Here: the stale-build guard on a copy of the layout, and the
differential check that a pure-Python copy of the service gives the same bytes for about a thousand
requests, valid and invalid, with histories, planned starts, immunizations and every catalog vaccine.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

import service
from scripts.workloads import heaviest_request, largest_request, live_request, plan_request, typical_request
from service.app import create_app
from service.domain.errors import InvalidInput
from service.native import MANIFEST, ROOT, StaleNativeBuild, check_native_build, source_digest

TODAY = date(2026, 11, 27)


def fake_build(tmp_path: Path, modules: tuple[str, ...] = ("planner", "windows")) -> Path:
    """A domain directory whose compiled modules (empty stand-ins: the guard never imports them) match."""
    domain = tmp_path / "domain"
    domain.mkdir()
    for name in modules:
        (domain / f"{name}.py").write_text(f"RULE = '{name}'\n")
        (domain / f"{name}.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    sources = {f"{n}.py": source_digest(domain / f"{n}.py") for n in modules}
    (domain / MANIFEST.name).write_text(json.dumps({"compiler": "mypyc", "sources": sources}))
    return domain


def test_a_domain_with_nothing_compiled_runs_as_pure_python(tmp_path):
    (tmp_path / "planner.py").write_text("RULE = 1\n")
    assert check_native_build(tmp_path) is False


def test_a_compiled_domain_that_matches_its_sources_is_trusted(tmp_path):
    assert check_native_build(fake_build(tmp_path)) is True


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda d: (d / "windows.py").write_text("RULE = 'edited after compiling'\n"), "windows.py changed since"),
        (lambda d: (d / MANIFEST.name).unlink(), "no readable _native.json"),
        (lambda d: (d / MANIFEST.name).write_text("{not json"), "no readable _native.json"),
        (lambda d: (d / "planner.py").unlink(), "planner is compiled but not from a known source"),
        (lambda d: (d / "spacing.cpython-311-x86_64-linux-gnu.so").write_bytes(b""), "spacing is compiled but not"),
        (lambda d: (d / "windows.cpython-311-x86_64-linux-gnu.so").unlink(), "partly compiled (windows.py missing)"),
    ],
    ids=["source edited", "manifest gone", "manifest unreadable", "source gone", "unknown module", "module gone"],
)
def test_a_compiled_domain_that_does_not_match_its_sources_refuses_to_load(tmp_path, damage, said):
    domain = fake_build(tmp_path)
    damage(domain)
    with pytest.raises(StaleNativeBuild, match="make native") as refused:
        check_native_build(domain)
    assert said in str(refused.value)
    assert isinstance(refused.value, ImportError)  # raised from service/__init__.py, it stops the import


def test_when_the_core_is_compiled_every_compiled_module_is_the_one_running():
    if not service.NATIVE:
        pytest.skip("the rules core is not compiled here (no C compiler): the pure Python is what runs")
    recorded = json.loads(MANIFEST.read_text())["sources"]
    assert len(recorded) >= 10
    for source in recorded:
        module = sys.modules.get(f"service.domain.{source.removesuffix('.py')}") or __import__(
            f"service.domain.{source.removesuffix('.py')}", fromlist=["_"]
        )
        assert module.__file__ is not None and module.__file__.endswith(".so"), module.__file__


# ---- the compiled core against the pure Python -------------------------------------------------------------


def generated_bodies(count: int, seed: int = 20261127) -> list[dict[str, Any]]:
    """Requests a clinic could send, and some it should not: histories complete and partial, planned starts,
    stopped therapies, B-cell repletion dates, given doses, needed_by dates, immunizations, every catalog
    vaccine by name or CVX code; some with mistakes (unknown names, dates out of order or out of range)."""
    rng = random.Random(seed)
    catalog = create_app({"TODAY": TODAY}).extensions["planner"].ruleset.catalog
    names = [v.name for v in catalog.vaccines] + ["MMR booster", "hepatitis A", "TBE vaccine", "no such vaccine"]
    codes = sorted({c for v in catalog.vaccines for c in v.cvx}) + ["999"]

    def day(low: int, high: int) -> str:
        return (TODAY + timedelta(days=rng.randint(low, high))).isoformat()

    bodies = []
    for _ in range(count):
        treatment: dict[str, Any] = {"drug": rng.choice(["ofatumumab", "Kesimpta"] * 10 + ["rituximab"])}
        shape = rng.random()
        if shape < 0.3:
            treatment["start_date"] = day(-3, 400)
        else:
            first = TODAY - timedelta(days=rng.randint(0, 900))
            doses = [first + timedelta(days=d) for d in (0, 7, 14)] + [
                first + timedelta(days=28 * k + rng.randint(-3, 3)) for k in range(1, rng.randint(1, 30))
            ]
            doses = [d for d in doses if d <= TODAY]
            skip = rng.randint(0, min(3, len(doses) - 1)) if shape < 0.55 else 0  # a partial history
            treatment["doses"] = [d.isoformat() for d in doses[skip:]]
            if skip or rng.random() < 0.5:
                treatment["start_date"] = first.isoformat()
            if rng.random() < 0.15:
                treatment["stopped_on"] = doses[-1].isoformat()
                if rng.random() < 0.5:
                    treatment["b_cell_repletion_on"] = (doses[-1] + timedelta(days=rng.randint(20, 400))).isoformat()
        vaccines = []
        for _ in range(rng.randint(1, 8)):
            vaccine: dict[str, Any] = {"name": rng.choice(names)} if rng.random() < 0.7 else {"cvx": rng.choice(codes)}
            if rng.random() < 0.2:
                vaccine["given"] = [day(-400, 0) for _ in range(rng.choice([1, 1, 1, 2]))]
            if rng.random() < 0.3:
                vaccine["needed_by"] = day(-5, 500)
            vaccines.append(vaccine)
        body: dict[str, Any] = {"as_of": TODAY.isoformat(), "treatment": treatment, "vaccines": vaccines}
        if rng.random() < 0.3:
            body["immunizations"] = [{"cvx": rng.choice(codes), "date": day(-120, 0)} for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.5:
            body["horizon_days"] = rng.choice([30, 60, 61, 180, 365, 730, 1095, 1096])
        bodies.append(body)
    return bodies


def workload_bodies() -> list[dict[str, Any]]:
    grid = [plan_request(d, v, h) for d in (0, 1, 15, 100) for v in (1, 5, 20) for h in (1, 60, 365, 1095)]
    return [typical_request(), largest_request(), heaviest_request(), *(live_request(n) for n in (1, 5, 25, 50)), *grid]


# Runs in the pure-Python copy: the same planning path, every answer or every error, one JSON line a body.
PURE_PLANNER = """
import sys, orjson
from datetime import date
from service.app import create_app
from service.domain.errors import InvalidInput
import service
assert service.NATIVE is False, "the copy must run the pure Python"
planner = create_app({"TODAY": date(2026, 11, 27)}).extensions["planner"]
for line in sys.stdin.buffer:
    try:
        out = {"answer": planner.plan_json(orjson.loads(line))}
    except InvalidInput as bad:
        out = {"errors": [[e.field, e.message, e.code] for e in bad.errors]}
    sys.stdout.buffer.write(orjson.dumps(out) + b"\\n")
"""


def answer_here(planner: Any, body: dict[str, Any]) -> bytes:
    try:
        out: dict[str, Any] = {"answer": planner.plan_json(body)}
    except InvalidInput as bad:
        out = {"errors": [[e.field, e.message, e.code] for e in bad.errors]}
    return orjson.dumps(out)


def test_the_compiled_core_answers_byte_for_byte_as_the_pure_python(tmp_path):
    if not service.NATIVE:
        pytest.skip("the rules core is not compiled here (no C compiler): there is nothing to compare")
    copy = tmp_path / "pure"
    shutil.copytree(ROOT / "service", copy / "service", ignore=shutil.ignore_patterns("*.so", "_native.json"))
    assert not list((copy / "service" / "domain").glob("*.so"))
    bodies = workload_bodies() + generated_bodies(1000)
    planner = create_app({"TODAY": TODAY}).extensions["planner"]
    compiled = [answer_here(planner, body) for body in bodies]
    pure = subprocess.run(
        [sys.executable, "-c", PURE_PLANNER],
        input=b"".join(orjson.dumps(body) + b"\n" for body in bodies),
        capture_output=True,
        cwd=copy,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=600,
        check=True,
    ).stdout.splitlines()
    assert len(pure) == len(bodies)
    planned = sum(1 for line in compiled if line.startswith(b'{"answer"'))
    assert planned >= len(bodies) // 2, f"only {planned} of {len(bodies)} planned: the comparison would be thin"
    differing = [i for i, (a, b) in enumerate(zip(compiled, pure, strict=True)) if a != b]
    assert not differing, f"{len(differing)} answers differ, first for {json.dumps(bodies[differing[0]])}"


# ---- what the compiled core may import -------------------------------------------------------------------

# The standard library, less what would reach outside a pure function of its arguments: the environment,
# the file system, the clock, randomness, processes and threads, logging.
NOT_PURE = frozenset({"os", "sys", "time", "random", "secrets", "socket", "subprocess", "threading", "pathlib",
                      "io", "logging", "shutil", "tempfile", "uuid", "asyncio", "multiprocessing"})  # fmt: skip


def test_the_rules_core_imports_only_the_pure_standard_library_and_reads_no_clock():
    """service/domain is pure (craft.md): no Flask, marshmallow, environment or clock. It is also why the
    image's compile stage needs mypyc alone (deploy/requirements-native.txt): nothing outside the standard
    library is imported."""
    import ast

    for path in sorted((ROOT / "service" / "domain").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                names = []
            for name in names:
                top = name.split(".")[0]
                assert top == "__future__" or (top in sys.stdlib_module_names and top not in NOT_PURE), (
                    f"{path.name} imports {name}"
                )
            if isinstance(node, ast.Attribute) and node.attr in {"today", "now", "utcnow"}:
                raise AssertionError(f"{path.name}:{node.lineno} reads the clock ({node.attr})")
