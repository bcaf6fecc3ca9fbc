"""The compiled rules core (`make native`; `make run` and `make bench` build it): trusted only while it matches its
sources.

On CI's fresh clone the pure Python runs. Once compiled (`make native`, or `make run`), `make test` runs the
whole suite against the compiled core, and tests/test_golden.py holds it to the same recorded answers, byte for
byte, as the pure Python.
Here: the stale-build guard on a copy of the layout, that a compiled build is the code running, that the
rules core imports nothing that would stop it compiling or make it impure, and (slow) that a copy of this tree
compiles and its compiled core gives every golden answer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import service
from service.native import MANIFEST, ROOT, StaleNativeBuild, check_native_build, source_digest


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
        pytest.skip("the rules core is not compiled here (make native): the pure Python is what runs")
    recorded = json.loads(MANIFEST.read_text())["sources"]
    assert len(recorded) >= 10
    for source in recorded:
        module = sys.modules.get(f"service.domain.{source.removesuffix('.py')}") or __import__(
            f"service.domain.{source.removesuffix('.py')}", fromlist=["_"]
        )
        assert module.__file__ is not None and module.__file__.endswith(".so"), module.__file__


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


# ---- the compiled core itself ------------------------------------------------------------------------------

# What a build and a golden check need from the project: the sources, the build script, the recorded answers
# and the mypy settings mypyc compiles with. Compiled artefacts and caches of the working tree stay behind.
_BUILD_INPUTS = ("service", "scripts", "tests/golden", "pyproject.toml")
_NOT_COPIED = shutil.ignore_patterns("*.so", "_native.json", "__pycache__", "build")

_GOLDEN_CHECK = """
import service
from scripts.golden import answer_lines, differences, stored_answers, stored_requests
assert service.NATIVE, "the copy did not run its compiled core"
requests, recorded = stored_requests(), stored_answers()
now = answer_lines(requests)
assert now == recorded, differences(recorded, now, requests)
print(len(now), "golden answers, compiled core")
"""


@pytest.mark.slow
def test_the_rules_core_compiles_and_gives_every_golden_answer_byte_for_byte(tmp_path):
    """`make native` on a copy of this tree, then the golden set answered by the compiled core. The image serves
    the compiled core and CI runs the pure Python: without this, a construct mypyc builds differently (a
    dataclass's class attribute taken for a field) stopped the compiled service at start, unseen."""
    build_native = pytest.importorskip("scripts.build_native")
    if build_native.c_compiler() is None:
        pytest.skip("no C compiler here: `make native` says so and the pure Python runs")
    copy = tmp_path / "project"
    for part in _BUILD_INPUTS:
        source, target = ROOT / part, copy / part
        if source.is_dir():
            shutil.copytree(source, target, ignore=_NOT_COPIED)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PLANNER_")}
    built = subprocess.run(
        [sys.executable, "-m", "scripts.build_native"], cwd=copy, env=environment, capture_output=True, text=True,
        timeout=1800,
    )  # fmt: skip
    assert built.returncode == 0 and "compiled with mypyc" in built.stdout, built.stdout + built.stderr
    checked = subprocess.run(
        [sys.executable, "-c", _GOLDEN_CHECK], cwd=copy, env=environment, capture_output=True, text=True, timeout=1800
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr[-4000:]
    assert "golden answers, compiled core" in checked.stdout
