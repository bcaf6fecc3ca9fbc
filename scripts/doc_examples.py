"""The copy-paste examples in the docs whose output is shown (a ```sh block with one curl command, then a
```json block), run against the service: tests/test_doc_examples.py checks that every field shown is in the
real answer with the value shown (an abridged example, one whose introduction says "abridged", may leave
fields out; "..." in a string stands for text left out).

    python -m scripts.doc_examples --write   # part of `make openapi`: rewrite every stale full example

An abridged example is never rewritten: a stale one fails the test, and is edited by hand.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from datetime import date
from pathlib import Path
from typing import Any

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


def is_abridged(text: str, command: str) -> bool:
    """Whether the prose just before an example's command says its output is abridged."""
    at = text.index(command)
    return "abridged" in text[max(0, at - 400) : at] or "abridged" in text[at : text.index("```json", at)]


def answer(command: str) -> Any:
    method, path, headers, data = request_of(command)
    return create_app(CONFIG).test_client().open(path, method=method, headers=headers, data=data).get_json(force=True)


def write() -> None:
    """Rewrite each stale example that shows a whole answer, in the layout it had (one line, or indented). The
    README's example is scripts/readme_example.py's to write."""
    for doc in DOCS[1:]:
        text = doc.read_text(encoding="utf-8")
        for _, line, command, shown in examples():
            if shown not in text or is_abridged(text, command):
                continue
            real = answer(command)
            if difference(json.loads(shown), real) is None and json.loads(shown) == real:
                continue
            one_line = shown.count("\n") == 1
            written = (
                json.dumps(real, ensure_ascii=False) if one_line else json.dumps(real, indent=1, ensure_ascii=False)
            )
            text = text.replace(shown, written + "\n", 1)
            print(f"{doc.relative_to(ROOT)}:{line}: rewritten")
        doc.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m scripts.doc_examples --write")
    write()
