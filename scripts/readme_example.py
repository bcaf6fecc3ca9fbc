"""The README's quick-start example and its real output, kept equal to what the service answers.

`make openapi` rewrites the output block in README.md (`python -m scripts.readme_example --write`), and
tests/test_readme_example.py fails when the README shows an answer the service no longer gives.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from service.app import create_app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The request the README's curl command sends (keep the two equal: the test checks the curl text too).
REQUEST: dict[str, Any] = {
    "as_of": "2026-11-24",
    "treatment": {"drug": "Kesimpta", "doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]},
    "vaccines": [{"name": "Shingrix"}, {"name": "yellow fever"}],
    "horizon_days": 60,
}
OUTPUT_HEAD = "Real output (lists folded onto one line):\n\n```json\n"


def folded(value: Any, indent: int = 0, key_len: int = 0) -> str:
    """JSON with short values on one line and long objects and lists broken, as the README shows it."""
    compact = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if not isinstance(value, dict | list) or len(compact) + indent + key_len <= 112:
        return compact
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f'{pad}"{k}": {folded(v, indent + 2, len(k) + 4)}' for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    return "[\n" + ",\n".join(pad + folded(v, indent + 2) for v in value) + "\n" + " " * indent + "]"


def real_output() -> str:
    app = create_app({"TODAY": date.fromisoformat(REQUEST["as_of"]), "LOG_LEVEL": "WARNING"})
    response = app.test_client().post("/v1/plans", json=REQUEST)
    if response.status_code != 200:
        raise SystemExit(f"the README example does not plan: {response.get_json()}")
    return folded(response.get_json())


def shown_output(text: str) -> str:
    start = text.index(OUTPUT_HEAD) + len(OUTPUT_HEAD)
    return text[start : text.index("\n```", start)]


def write() -> None:
    text = README.read_text(encoding="utf-8")
    README.write_text(text.replace(shown_output(text), real_output(), 1), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m scripts.readme_example --write")
    write()
