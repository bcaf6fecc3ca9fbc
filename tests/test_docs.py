"""The docs say what is true of this tree: their links, paths, make targets and rule ids exist, every rule can
be traced to its data file and its tests (python -m scripts.rule), the README stays a front page, and no doc
or code comment tells the story of past issues or passes (history belongs in the git log and CHANGELOG.md).
The README's example is checked by tests/test_readme_example.py."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from scripts.golden import stored_requests
from scripts.rule import ROOT, find

README = ROOT / "README.md"
DOCS = [README, ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
# Response fields written like rule ids (`series.given`), and file names (`ofatumumab.json`).
NOT_RULE_IDS = {"series.given", "series.doses", "series.py", "ofatumumab.json"}
NARRATIVE = re.compile(r"\b[Ii]ssues? [0-9]+\b|\b(first|second|third|fourth|fifth) pass\b")


@functools.cache
def rules():
    return find()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_reaches_a_file_and_heading(doc):
    for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        assert path.exists(), f"{doc.name}: link to {target}: no such file"
        if anchor:
            assert anchor in anchors(path), f"{doc.name}: link to {target}: no such heading"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_repository_path_a_doc_names_exists(doc):
    text = doc.read_text(encoding="utf-8")
    for path in re.findall(r"`((?:service|tests|scripts|docs|deploy)/[\w./*-]+)`", text):
        if path.endswith((".so", "_native.json")) or "mypyc" in path:
            continue  # what `make native` writes
        assert list(ROOT.glob(path.rstrip("/"))), f"{doc.name} names {path}, which does not exist"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_make_target_a_doc_names_exists(doc):
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    for target in re.findall(r"`make ([\w-]+)", doc.read_text(encoding="utf-8")):
        assert target in targets, f"{doc.name} names `make {target}`, which the Makefile does not have"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_rule_id_a_doc_names_is_a_rule(doc):
    ids = {f.id for f in rules()}
    pattern = r"`((?:ofatumumab|plan|series|lead-time|serology|cdsi|acip|cdc)\.[a-z0-9-]+)`"
    for rule_id in set(re.findall(pattern, doc.read_text(encoding="utf-8"))) - NOT_RULE_IDS:
        assert rule_id in ids, f"{doc.name} names rule {rule_id}, which no data file defines"


def test_every_rule_leads_to_its_data_file_and_tests():
    """The README's promise: from a rule id in an answer to its source, data and tests in one command."""
    found = rules()
    assert len(found) > 50
    for rule in found:
        assert rule.source and rule.citation and rule.evidence in {"label", "guideline", "CDSi", "practice", "decision"}
        file, key = rule.defined_in.split(": ", 1)
        assert (ROOT / file).exists() and key.rsplit(".", 1)[-1] in (ROOT / file).read_text(), rule.defined_in
        assert rule.tests and all((ROOT / t).exists() for t in rule.tests), rule.id


def test_the_readme_is_a_front_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 300
    # the two commands and the port come first, before the example
    assert text.index("make run") < text.index("make test") < text.index("## One example")
    assert "localhost:8000" in text[: text.index("## One example")]
    assert re.search(r"^PORT\s*\?=\s*8000$", (ROOT / "Makefile").read_text(), re.M)


def test_the_golden_set_is_described_at_its_size():
    size = f"{len(stored_requests()):,}"
    for doc in (README, ROOT / "docs" / "development.md"):
        assert size in doc.read_text(encoding="utf-8"), f"{doc.name} should give the golden set's size, {size}"


def test_no_doc_or_code_comment_narrates_issues_or_passes():
    files = [*DOCS, *(p for d in ("service", "scripts", "tests") for p in (ROOT / d).rglob("*") if p.is_file())]
    for path in files:
        if path.suffix not in {".md", ".py", ".json", ".html", ".js", ".yaml", ".css"}:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not NARRATIVE.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
