"""Every copy-paste example in the docs whose output is shown gets that output from the service today
(scripts/doc_examples.py; `make openapi` rewrites stale examples that show a whole answer)."""

from __future__ import annotations

import json

import pytest

from scripts.doc_examples import answer, difference, examples

EXAMPLES = examples()


def test_the_docs_have_examples_with_output():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize(("doc", "line", "command", "shown"), EXAMPLES, ids=[f"{d}:{n}" for d, n, _, _ in EXAMPLES])
def test_a_doc_example_shows_what_the_service_answers(doc, line, command, shown):
    found = difference(json.loads(shown), answer(command))
    assert found is None, (
        f"{doc}:{line} is stale ({found}): `make openapi` rewrites a whole answer; edit an abridged one"
    )
