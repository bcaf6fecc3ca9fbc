"""Every copy-paste example in the docs whose output is shown (a ```sh block with one curl command, then a
```json block) gets that output from the service today: every field shown is in the real answer with the value
shown (an abridged example may leave fields out; "..." in a string stands for text left out)."""

from __future__ import annotations

import json
import re
import shlex
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
# The docs' examples run on 2026-11-24 against a service reached at this base URL (docs/interoperability.md).
CONFIG = {"TODAY": date(2026, 11, 24), "LOG_LEVEL": "WARNING", "PUBLIC_BASE_URL": "https://planner.hospital.example"}


def examples() -> list[tuple[str, int, str, str]]:
    """(doc, line, curl command, shown output) for every sh block with one curl followed by a json block."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        blocks = [(m.group(1), m.group(2), m.start()) for m in FENCE.finditer(text)]
        for (lang, body, start), (next_lang, shown, _) in zip(blocks, blocks[1:], strict=False):
            if lang == "sh" and next_lang == "json" and body.count("curl ") == 1:
                found.append((doc.name, text[:start].count("\n") + 1, body, shown))
    return found


def request_of(command: str) -> tuple[str, str, dict[str, str], str | None]:
    """Method, path, headers and body of a curl command as the docs write it."""
    lines = [line.rstrip("\\") for line in command.splitlines() if not line.startswith("#")]
    args = shlex.split(" ".join(lines))
    method, headers, data, url = "GET", {}, None, ""
    i = 1
    while i < len(args):
        if args[i] == "-X":
            method, i = args[i + 1], i + 2
        elif args[i] == "-H":
            name, value = args[i + 1].split(":", 1)
            headers[name.strip()], i = value.strip(), i + 2
        elif args[i] in ("-d", "--data"):
            data, method, i = args[i + 1], ("POST" if method == "GET" else method), i + 2
        elif args[i].startswith("-"):
            i += 1
        else:
            url, i = args[i], i + 1
    return method, re.sub(r"^(https?://)?localhost:8000", "", url), headers, data


def difference(shown: Any, real: Any, where: str = "$") -> str | None:
    """Where the shown output is not part of the real one, or None."""
    if isinstance(shown, dict):
        if not isinstance(real, dict):
            return f"{where}: not an object in the real answer"
        for key, value in shown.items():
            if key not in real:
                return f"{where}.{key}: not in the real answer"
            if found := difference(value, real[key], f"{where}.{key}"):
                return found
        return None
    if isinstance(shown, list):
        if not isinstance(real, list) or len(shown) != len(real):
            return f"{where}: {len(shown)} items shown, the real answer has {real!r:.200}"
        found = (difference(a, b, f"{where}[{i}]") for i, (a, b) in enumerate(zip(shown, real, strict=True)))
        return next((d for d in found if d), None)
    if isinstance(shown, str) and isinstance(real, str) and re.search(r"\.\.\.|…", shown):
        pattern = ".*".join(re.escape(part) for part in re.split(r"\.\.\.|…", shown))
        return None if re.fullmatch(pattern, real, re.S) else f"{where}: {shown!r} is not {real!r}"
    return None if shown == real else f"{where}: shown {shown!r}, the real answer {real!r}"


EXAMPLES = examples()


def test_the_docs_have_examples_with_output():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize(("doc", "line", "command", "shown"), EXAMPLES, ids=[f"{d}:{n}" for d, n, _, _ in EXAMPLES])
def test_a_doc_example_shows_what_the_service_answers(doc, line, command, shown):
    method, path, headers, data = request_of(command)
    response = create_app(CONFIG).test_client().open(path, method=method, headers=headers, data=data)
    found = difference(json.loads(shown), response.get_json(force=True))
    assert found is None, f"{doc}:{line} ({method} {path}) is stale: {found}"
