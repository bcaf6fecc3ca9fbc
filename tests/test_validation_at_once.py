"""Every problem of a request at once: shape errors (the schema) and the rules' errors (catalog, history) in
one 422, as the README promises, and never an error that is only a side effect of another."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.errors import InvalidInput

AS_OF = "2026-11-24"
START = {"drug": "ofatumumab", "start_date": "2027-01-05"}


def errors_of(client, body, path="/v1/plans"):
    r = client.post(path, json=body)
    assert r.status_code == 422 and r.mimetype == "application/problem+json", r.get_data(as_text=True)
    return [(e["field"], e["code"]) for e in r.get_json()["errors"]]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"as_of": AS_OF, "treatment": START, "vaccines": [{"name": "nope"}], "horizon_days": 5},
            [("vaccines[0].name", "unknown_vaccine"), ("horizon_days", "invalid")],
        ),
        (
            {"as_of": AS_OF, "treatment": {**START, "cadence": "weekly"}, "vaccines": [{"cvx": "88"}, {"cvx": 3}]},
            [
                ("treatment.cadence", "invalid"),
                ("vaccines[0].cvx", "ambiguous_vaccine"),
                ("vaccines[1].cvx", "invalid"),
            ],
        ),
        (
            {
                "as_of": AS_OF,
                "treatment": {"drug": "evobrutinib", "start_date": "2027-01-05"},
                "vaccines": [{"name": "Shingrix", "given": ["2026-09-01", "2026-10-01", "2026-11-01"]}],
                "extra": 1,
            },
            [
                ("treatment.drug", "unknown_therapy"),
                ("vaccines[0].given", "too_many_doses"),
                ("extra", "unknown_field"),
            ],
        ),
        (
            {
                "as_of": AS_OF,
                "treatment": {"drug": "ofatumumab", "doses": ["2026-11-25"]},
                "vaccines": [{"name": "MMR", "needed_by": "2026-11-01"}],
                "immunizations": [{"cvx": "9999", "date": "2026-11-01"}, {"cvx": "03", "date": "not a date"}],
            },
            [
                ("treatment.doses[0]", "invalid"),
                # one dose without start_date: a new start or an established therapy? (contract revision 2)
                ("treatment.start_date", "partial_history"),
                ("vaccines[0].needed_by", "invalid"),
                ("immunizations[0].cvx", "unknown_vaccine"),
                ("immunizations[1].date", "invalid"),
            ],
        ),
    ],
    ids=[
        "unknown vaccine beside a bad horizon",
        "ambiguous code beside a bad cadence and a bad code",
        "unknown therapy and too many doses beside an unknown field",
        "history, deadline and unknown immunization beside a bad date",
    ],
)
def test_shape_and_rule_errors_come_back_together(client, body, expected):
    assert errors_of(client, body) == expected
    assert errors_of(client, body, "/v1/plans.ics") == expected
    batch = client.post("/v1/plans/batch", json={"requests": [body]}).get_json()["results"][0]
    assert [(e["field"], e["code"]) for e in batch["problem"]["errors"]] == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # as_of is unreadable: no date can be compared with it, so the dose and the deadline are not judged.
        (
            {
                "as_of": "24/11/2026",
                "treatment": {"drug": "ofatumumab", "doses": ["2026-11-25"]},
                "vaccines": [{"name": "MMR", "needed_by": "2026-11-01"}],
            },
            [("as_of", "invalid")],
        ),
        # the given list is malformed: it is not counted against the series.
        (
            {"as_of": AS_OF, "treatment": START, "vaccines": [{"name": "Shingrix", "given": ["x", "y", "z"]}]},
            [
                ("vaccines[0].given[0]", "invalid"),
                ("vaccines[0].given[1]", "invalid"),
                ("vaccines[0].given[2]", "invalid"),
            ],
        ),
        # both name and cvx: which one is meant is unknown, so neither is looked up.
        (
            {"as_of": AS_OF, "treatment": START, "vaccines": [{"name": "nope", "cvx": "9999"}]},
            [("vaccines[0]", "invalid")],
        ),
        # a treatment field is malformed: the history is not checked as a whole (no "needs a start date").
        (
            {"as_of": AS_OF, "treatment": {"drug": "ofatumumab", "stopped_on": "x"}, "vaccines": [{"name": "MMR"}]},
            [("treatment.stopped_on", "invalid")],
        ),
        # too many vaccines: the list is refused as a whole and its items are not looked up.
        ({"as_of": AS_OF, "treatment": START, "vaccines": [{"name": "nope"}] * 51}, [("vaccines", "invalid")]),
        # an item that is not an object: the other items keep their own index and are looked up.
        (
            {"as_of": AS_OF, "treatment": START, "vaccines": [5, {"name": "nope"}]},
            [("vaccines[0]", "invalid"), ("vaccines[1].name", "unknown_vaccine")],
        ),
    ],
    ids=[
        "bad as_of compares no date",
        "bad given list is not counted",
        "both name and cvx looks nothing up",
        "bad treatment field skips the history check",
        "too many vaccines looks nothing up",
        "item not an object keeps indexes",
    ],
)
def test_a_rule_that_would_read_a_malformed_field_does_not_run(client, body, expected):
    assert errors_of(client, body) == expected


# Vaccines and histories with a known verdict of the rules alone (None: fine), to combine at random.
VACCINES = [
    ({"name": "MMR"}, []),
    ({"cvx": "187", "given": ["2026-10-01"]}, []),
    ({"name": "nope"}, [".name"]),
    ({"cvx": "88"}, [".cvx"]),
    ({"name": "MMR", "given": ["2026-08-01", "2026-09-01", "2026-10-01"]}, [".given"]),
    ({"name": "MMR", "needed_by": "2026-11-01"}, [".needed_by"]),
    ({"name": "Shingrix", "given": ["2026-12-01"]}, [".given[0]"]),
]
TREATMENTS = [
    (START, []),
    ({"drug": "Kesimpta", "doses": ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"]}, []),
    ({"drug": "evobrutinib", "start_date": "2027-01-05"}, ["treatment.drug"]),
    ({"drug": "ofatumumab", "doses": ["2026-11-01"], "start_date": "2026-11-02"}, ["treatment.start_date"]),
]
# Shape errors in fields no rule reads, so the rules' verdict must stay exactly the same beside them.
SHAPE_ERRORS = [
    ({"horizon_days": 5}, "horizon_days"),
    ({"extra": True}, "extra"),
    ({"horizon_days": "365"}, "horizon_days"),
]


@settings(max_examples=60, deadline=None)
@given(
    treatment=st.sampled_from(TREATMENTS),
    vaccines=st.lists(st.sampled_from(VACCINES), min_size=1, max_size=4),
    shape=st.sampled_from(SHAPE_ERRORS),
)
def test_a_shape_error_adds_itself_and_changes_no_rule_verdict(app, treatment, vaccines, shape):
    planner = app.extensions["planner"]
    body = {"as_of": AS_OF, "treatment": treatment[0], "vaccines": [v for v, _ in vaccines]}
    expected = set(treatment[1]) | {
        f"vaccines[{i}]{suffix}" for i, (_, suffixes) in enumerate(vaccines) for suffix in suffixes
    }
    try:
        planner.plan(planner.load(body))
        alone: set[str] = set()
    except InvalidInput as bad:
        alone = {e.field for e in bad.errors}
    assert alone == expected
    with pytest.raises(InvalidInput) as together:
        planner.load({**body, **shape[0]})
    assert {e.field for e in together.value.errors} == expected | {shape[1]}
