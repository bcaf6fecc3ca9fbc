"""The README's quick start shows the service's real answer (regenerate with `make openapi`)."""

from __future__ import annotations

import json
import re

from scripts.readme_example import README, REQUEST, real_output, shown_output


def test_the_readme_shows_the_answer_the_service_gives_today():
    assert shown_output(README.read_text(encoding="utf-8")) == real_output(), "README is stale: run `make openapi`"


def test_the_readme_curl_command_sends_the_request_the_output_answers():
    text = README.read_text(encoding="utf-8")
    sent = re.search(
        r"curl -s -X POST localhost:8000/v1/plans -H 'Content-Type: application/json' -d '(\{.*?\})'", text, re.S
    )
    assert sent is not None and json.loads(sent.group(1)) == REQUEST
