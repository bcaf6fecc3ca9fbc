"""The compiled rules core (`make native`, scripts/build_native.py) is used only while it matches its sources.

Python imports a compiled module (service/domain/*.so) in preference to the .py beside it, whatever the .py
says now. A core compiled before a rule was edited would quietly answer with the old rule: the worst kind
of wrong for this service. So before anything imports service.domain (service/__init__.py calls the check),
every compiled module is checked against the manifest written when it was compiled (the sha256 of each
source), and a mismatch stops the import with what to run. No compiled module at all is fine: the pure
Python is the same rules at about half the speed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ROOT / "service" / "domain"
MANIFEST = DOMAIN / "_native.json"
# mypyc's shared runtime for the compiled modules, a top-level module in the project root.
GROUP = "planner_domain"
# errors.py defines InvalidInput, a dataclass that is an Exception: mypyc builds it as a class Python then
# cannot instantiate, so it stays Python (it is not on the planning path). __init__.py is the package itself.
NOT_COMPILED = frozenset({"__init__.py", "errors.py"})


class StaleNativeBuild(ImportError):
    """A compiled module of the rules core does not match its source."""


def compiled_files() -> list[Path]:
    """The compiled modules of the rules core and their shared runtime, as found on disk."""
    return sorted([*DOMAIN.glob("*.so"), *ROOT.glob(f"{GROUP}__mypyc*.so")])


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compiled_modules(domain: Path = DOMAIN) -> list[str]:
    """Names of the rules-core modules that run compiled (empty: the pure Python runs)."""
    return sorted(p.name.split(".", 1)[0] for p in domain.glob("*.so"))


def check_native_build(domain: Path = DOMAIN) -> bool:
    """True when the rules core runs compiled and every compiled module matches its source; False when nothing
    is compiled. Raises StaleNativeBuild (an ImportError) when a compiled module cannot be trusted."""
    modules = compiled_modules(domain)
    if not modules:
        return False
    remedy = "run `make native` to compile it again (or `make native-clean` to run the pure Python)"
    try:
        recorded = json.loads((domain / MANIFEST.name).read_text())["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        raise StaleNativeBuild(
            f"service/domain has compiled modules but no readable {MANIFEST.name}: {remedy}"
        ) from None
    for module in modules:
        source = domain / f"{module}.py"
        if f"{module}.py" not in recorded or not source.exists():
            raise StaleNativeBuild(f"service/domain/{module} is compiled but not from a known source: {remedy}")
        if source_digest(source) != recorded[f"{module}.py"]:
            raise StaleNativeBuild(f"service/domain/{module}.py changed since it was compiled: {remedy}")
    missing = sorted(set(recorded) - {f"{m}.py" for m in modules})
    if missing:
        raise StaleNativeBuild(f"service/domain is partly compiled ({', '.join(missing)} missing): {remedy}")
    return True
