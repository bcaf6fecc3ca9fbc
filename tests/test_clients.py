"""Generated clients work: what an integrator generates from openapi.yaml alone type-checks, without a cast,
against a short program per language (tests/clients/) that plans the README's example, reads every field of
the answer and handles a 422. The Python program also runs against the app, with API keys on.

Python: openapi-python-client (requirements.txt) and mypy --strict. TypeScript: openapi-typescript and tsc
--strict (package.json, installed by `make` with npm ci).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
import pytest
import yaml

from service.app import create_app

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "clients"
NODE_BIN = ROOT / "node_modules" / ".bin"
DOCUMENT = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
KEY = "client-key-0123456789"  # keys are at least 16 characters (PLANNER_API_KEYS)

pytestmark = pytest.mark.clients

MYPY_INI = """[mypy]
strict = True
python_version = 3.11
# The generated package is used for its types; its own boilerplate is the generator's, not judged here.
[mypy-planner_client.*]
follow_imports = silent
"""
TSCONFIG = """{
  "compilerOptions": {
    "strict": true, "noEmit": true, "target": "es2022", "module": "es2022", "moduleResolution": "bundler",
    "lib": ["es2022", "dom"], "exactOptionalPropertyTypes": true, "noUncheckedIndexedAccess": true, "types": []
  },
  "files": ["plan_example.ts", "planner.d.ts"]
}
"""


def run(command: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def answer_fields(*roots: str) -> set[str]:
    """Every property of the answer schemas reachable from `roots`: what a program that reads every field reads."""
    schemas = DOCUMENT["components"]["schemas"]
    names: set[str] = set()
    seen: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[1]
                if name not in seen:
                    seen.add(name)
                    walk(schemas[name])
            names.update(node.get("properties", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for root in roots:
        walk({"$ref": f"#/components/schemas/{root}"})
    return names


@pytest.fixture(scope="module")
def python_client(tmp_path_factory):
    where = tmp_path_factory.mktemp("python-client")
    output = run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi.yaml"),
            "--meta",
            "none",
            "--output-path",
            "planner_client",
        ],
        where,
    )
    # The one part it cannot generate: GET /openapi.yaml answers YAML, a media type it does not read.
    warnings = [line for line in output.splitlines() if line.startswith("WARNING")]
    assert warnings == ["WARNING parsing GET /openapi.yaml within ops."], output
    shutil.copy(PROGRAMS / "plan_example.py", where / "plan_example.py")
    (where / "mypy.ini").write_text(MYPY_INI, encoding="utf-8")
    return where


def test_the_generated_python_client_types_the_plan_without_any(python_client):
    models = python_client / "planner_client" / "models"
    request = (models / "plan_request.py").read_text(encoding="utf-8")
    assert "vaccines: list[VaccineByCvx | VaccineByName]" in request
    assert "immunizations: list[ImmunizationByCvx | ImmunizationByName] | Unset = UNSET" in request
    assert "horizon_days: int | Unset = UNSET" in request  # a field with a default stays optional
    assert "requests: list[PlanRequest]" in (models / "batch_request.py").read_text(encoding="utf-8")
    answer = (models / "vaccine_plan.py").read_text(encoding="utf-8")
    declared = answer[answer.index("    request: ") : answer.index("    def to_dict")]
    assert "Any" not in declared and "Unset" not in declared, "every answer field is typed and always present"


def test_the_python_program_type_checks_strictly_against_the_generated_client(python_client):
    run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-incremental", "plan_example.py"],
        python_client,
    )


def test_the_python_program_plans_the_readme_example_and_reads_a_422(python_client, monkeypatch):
    monkeypatch.syspath_prepend(str(python_client))
    for name in [m for m in sys.modules if m == "planner_client" or m.startswith("planner_client.")]:
        monkeypatch.delitem(sys.modules, name)
    program = importlib.import_module("plan_example")
    client_module = importlib.import_module("planner_client")
    app = create_app({"TODAY": date(2026, 11, 24), "LOG_LEVEL": "WARNING", "API_KEYS": KEY})
    client = client_module.AuthenticatedClient(base_url="http://planner", token=KEY)
    client.set_httpx_client(
        httpx.Client(
            base_url="http://planner",
            transport=httpx.WSGITransport(app=app),
            headers={"Authorization": f"Bearer {KEY}"},
        )
    )
    lines = program.main(client)
    assert lines[0].startswith("2026-11-24 to 2027-01-23, ruleset ofatumumab 1.1.0+"), lines
    assert lines[1].startswith("ofatumumab maintenance since 2026-10-20, every_4_weeks, 4 doses given, next 2026-12-15")
    shingrix = next(line for line in lines if line.startswith("Shingrix: zoster-recombinant"))
    assert "live False" in shingrix and "mid_cycle" in shingrix
    yellow_fever = next(line for line in lines if line.startswith("yellow fever: yellow-fever"))
    assert "live True" in yellow_fever and " avoid;" in yellow_fever
    assert "  dose 1 on 2026-12-01" in lines
    assert any(line.startswith("422 Unknown or ambiguous vaccine") for line in lines)
    assert "vaccines[0].cvx [unknown_vaccine] CVX 9999 is not in the catalog" in lines, lines
    sys.modules.pop("plan_example", None)


def test_the_typescript_program_type_checks_strictly_against_the_generated_types(tmp_path):
    assert (NODE_BIN / "tsc").exists(), "the npm tools are missing: run `make node` (make test does)"
    run([str(NODE_BIN / "openapi-typescript"), str(ROOT / "openapi.yaml"), "-o", "planner.d.ts"], tmp_path)
    types = (tmp_path / "planner.d.ts").read_text(encoding="utf-8")
    assert "as_of?: string | null;" in types and "horizon_days?: number;" in types  # defaults stay optional
    shutil.copy(PROGRAMS / "plan_example.ts", tmp_path / "plan_example.ts")
    (tmp_path / "tsconfig.json").write_text(TSCONFIG, encoding="utf-8")
    run([str(NODE_BIN / "tsc"), "-p", "tsconfig.json"], tmp_path)


@pytest.mark.parametrize(
    ("program", "spell"),
    [("plan_example.py", lambda name: "type_" if name == "type" else name), ("plan_example.ts", lambda name: name)],
    ids=["python", "typescript"],
)
def test_each_program_reads_every_field_of_the_answer_and_of_the_problem(program, spell):
    text = (PROGRAMS / program).read_text(encoding="utf-8")
    unread = sorted(n for n in answer_fields("PlanResponse", "Problem") if f".{spell(n)}" not in text)
    assert unread == [], f"{program} does not read {unread}"
    code = [line for line in text.splitlines() if not line.lstrip().startswith(("//", "#", '"""'))]
    casts = [
        line for line in code if re.search(r"\bas (?!const\b)[A-Za-z{(]|\bcast\(|type: ignore|\bany\b|\bAny\b", line)
    ]
    assert casts == [], f"{program} casts: {casts}"
