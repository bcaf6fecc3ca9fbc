"""`make native`: compile the rules core (service/domain) to C extension modules with mypyc, in place.

Why: planning is CPU work, and the rules core is the largest part of a request. It is typed Python checked
by mypy --strict, which is what mypyc (mypy's own compiler, the one mypy and black ship compiled with)
needs to turn the same source into C extensions: the typical plan costs about half as much (make_plan
324 -> 164 µs measured before any other change; docs/production.md). No rule is written twice: the .py
files stay the source of truth, and run as they are wherever no C compiler is available.

A compiled module is only trusted while its source is the one it was compiled from: the manifest
service/domain/_native.json records each source's sha256, and service/native.py refuses to start a
compiled core whose sources changed since (run `make native` again). The build itself goes to build/native/.

    python -m scripts.build_native          # compile (or, with no C compiler, say so and leave pure Python)
    python -m scripts.build_native --clean  # remove the compiled modules: the pure Python runs
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import sysconfig
from pathlib import Path

# service/native.py by its path: importing the package would run its check, which refuses a stale build,
# the very thing this script is run to replace.
_spec = importlib.util.spec_from_file_location(
    "planner_native", Path(__file__).resolve().parents[1] / "service" / "native.py"
)
assert _spec is not None and _spec.loader is not None
native = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(native)
ROOT: Path = native.ROOT
DOMAIN: Path = native.DOMAIN
MANIFEST: Path = native.MANIFEST
BUILD = ROOT / "build" / "native"


def sources() -> list[Path]:
    return sorted(p for p in DOMAIN.glob("*.py") if p.name not in native.NOT_COMPILED)


def clean() -> None:
    MANIFEST.unlink(missing_ok=True)
    for path in native.compiled_files():
        path.unlink()
    shutil.rmtree(BUILD, ignore_errors=True)


def c_compiler() -> str | None:
    """The C compiler Python's own build used (setuptools calls the same), if it is on this machine."""
    command = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(command)


def build() -> None:
    # Imported here: the build tools are development dependencies (requirements.txt), not run-time ones.
    from mypyc.build import mypycify
    from setuptools import setup

    paths = [str(p.relative_to(ROOT)) for p in sources()]
    cwd = Path.cwd()
    os.chdir(ROOT)  # mypycify names the modules from paths relative to the project root
    try:
        setup(
            name="vaccine-timing-planner-domain",
            packages=[],
            py_modules=[],
            ext_modules=mypycify(paths, group_name=native.GROUP, opt_level="3", target_dir=str(BUILD / "c")),
            script_args=[
                "--quiet",
                "build_ext",
                "--inplace",
                f"--build-temp={BUILD / 'temp'}",
                f"--build-lib={BUILD / 'lib'}",
            ],
        )
    finally:
        os.chdir(cwd)
    MANIFEST.write_text(
        json.dumps(
            {
                "compiler": "mypyc",
                "python": sys.version.split()[0],
                "sources": {p.name: native.source_digest(p) for p in sources()},
            },
            indent=2,
        )
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled modules")
    args = parser.parse_args()
    clean()
    if args.clean:
        print("service/domain: compiled modules removed; the pure Python runs")
        return
    if c_compiler() is None:
        print(
            "service/domain: no C compiler found, so the rules core runs as pure Python (the same answers, about "
            "half the speed). Install gcc (apt-get install gcc) and run `make native` to compile it.",
            file=sys.stderr,
        )
        return
    build()
    print(f"service/domain: {len(sources())} modules compiled with mypyc ({MANIFEST.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
