"""Which of a product's schedules is planned (series.choose_series), on the packaged data, with hand-worked
dates: ACIP 2018's immunocompromised hepatitis B dosage during therapy, and the accelerated Ixiaro and
Twinrix schedules only when the standard one cannot protect by needed_by, the accelerated one can and the
patient's age allows it. The windows here are one open window from as_of, so the dates are the intervals'."""

from __future__ import annotations

from datetime import date

import pytest

from service.data.loader import load_ruleset
from service.domain.series import age_on, birth_date_errors, choose_series
from service.domain.windows import PRE_START, Window

AS_OF = date(2026, 11, 24)
OPEN = (Window(PRE_START, AS_OF, date(2028, 12, 31)),)
RULES = load_ruleset().vaccine_rules


def never(day: date) -> bool:
    return False


def always(day: date) -> bool:
    return True


def choose(vid, needed_by=None, birth=None, immunocompromised=False, given=(), depleted=never):
    vaccine = load_ruleset().catalog.get(vid)
    series, lead, _ = RULES.facts_for(vaccine)
    return choose_series(
        series, lead, RULES.alternatives[vid], given, OPEN, AS_OF, needed_by, birth, immunocompromised, depleted
    )


D = date
# vaccine, needed_by, birth date, immunocompromised, depleted -> chosen series, words the reason must carry
CASES = [
    # Ixiaro: standard 11-24 + 28 days = 12-22, protected 12-29; accelerated 11-24 + 7 = 12-01, protected 12-08.
    ("je-inactivated", D(2026, 12, 10), D(1988, 5, 2), False, never, "je-inactivated-accelerated", "aged 38"),
    ("je-inactivated", D(2026, 12, 10), None, False, never, "je-inactivated", "send patient.birth_date"),
    ("je-inactivated", D(2026, 12, 10), D(1961, 11, 24), False, never, "je-inactivated-accelerated", "aged 65"),
    ("je-inactivated", D(2026, 12, 10), D(1960, 11, 24), False, never, "je-inactivated", "(aged 66)"),
    ("je-inactivated", D(2026, 12, 10), D(2008, 11, 24), False, never, "je-inactivated-accelerated", "aged 18"),
    ("je-inactivated", D(2026, 12, 10), D(2008, 11, 25), False, never, "je-inactivated", "(aged 17)"),
    # the standard schedule already protects by 01-01 (12-29): no accelerated schedule, nothing said
    ("je-inactivated", D(2027, 1, 1), D(1988, 5, 2), False, never, "je-inactivated", None),
    # neither can (accelerated 12-08 > 12-07): the standard one
    ("je-inactivated", D(2026, 12, 7), D(1988, 5, 2), False, never, "je-inactivated", None),
    # every day in B-cell depletion: no schedule can be said to protect, so none is accelerated for it
    ("je-inactivated", D(2026, 12, 10), D(1988, 5, 2), False, always, "je-inactivated", None),
    # Twinrix: standard dose 3 at 6 months; accelerated 11-24, 12-01, 12-15, protected 12-15 + 14 = 12-29
    ("hepa-hepb", D(2026, 12, 30), D(1988, 5, 2), False, never, "hepa-hepb-accelerated", "days 0, 7 and 21 to 30"),
    ("hepa-hepb", D(2026, 12, 29), D(1988, 5, 2), False, never, "hepa-hepb-accelerated", "aged 38"),
    ("hepa-hepb", D(2026, 12, 28), D(1988, 5, 2), False, never, "hepa-hepb", None),
    ("hepa-hepb", D(2026, 12, 30), D(2009, 1, 1), False, never, "hepa-hepb", "aged 18 or over (aged 17)"),
    # hepatitis B during therapy (immunocompromised): ACIP 2018's dosage from age 20
    ("hepb-engerix", None, None, True, never, "hepb-engerix-immunocompromised", "taken as an adult"),
    ("hepb-engerix", None, D(2006, 11, 24), True, never, "hepb-engerix-immunocompromised", "0, 1, 2 and 6 months"),
    ("hepb-engerix", None, D(2006, 11, 25), True, never, "hepb-engerix", "does not apply at 19"),
    ("hepb-engerix", None, None, False, never, "hepb-engerix", None),
    ("hepb-recombivax", None, None, True, never, "hepb-recombivax-immunocompromised", "Dialysis Formulation"),
    ("hepb-recombivax", None, D(1988, 5, 2), False, never, "hepb-recombivax", None),
]


@pytest.mark.parametrize("vid, needed_by, birth, immunocompromised, depleted, chosen, says", CASES)
def test_the_schedule_a_clinician_would_choose(vid, needed_by, birth, immunocompromised, depleted, chosen, says):
    choice = choose(vid, needed_by, birth, immunocompromised, depleted=depleted)
    assert choice.series.rule_id == f"series.{chosen}"
    reason = " ".join(choice.notes)
    if says is None:
        assert reason == ""
    else:
        assert says in reason, reason
    assert choice.rules == ((f"series.{chosen}",) if chosen != vid else ())


def test_the_alternative_series_have_the_labelled_dose_counts_and_lead_times():
    assert choose("hepb-engerix", immunocompromised=True).series.length == 4
    assert choose("hepb-recombivax", immunocompromised=True).series.length == 3
    twinrix = choose("hepa-hepb", D(2026, 12, 30), D(1988, 5, 2))
    # protection counts from dose 3 (the 12-month dose is a booster), 14 days after it
    assert (twinrix.series.length, twinrix.lead.after_dose, twinrix.lead.days) == (4, 3, 14)
    ixiaro = choose("je-inactivated", D(2026, 12, 10), D(1988, 5, 2))
    assert (ixiaro.series.length, ixiaro.lead.days) == (2, 7)  # Ixiaro's own lead time is kept


def test_a_complete_standard_course_is_not_lengthened():
    given = (D(2026, 1, 5), D(2026, 2, 2), D(2026, 7, 6))
    choice = choose("hepb-engerix", immunocompromised=True, given=given)
    assert choice.series.rule_id == "series.hepb-engerix" and choice.notes == ()


def test_doses_given_on_the_accelerated_schedule_are_continued_on_it():
    # dose 1 on 11-20: standard dose 2 on 12-18, protected 12-25 > 12-10; accelerated dose 2 on 11-27 (from as_of
    # 11-24, 7 days after 11-20 is 11-27), protected 12-04
    choice = choose("je-inactivated", D(2026, 12, 10), D(1988, 5, 2), given=(D(2026, 11, 20),))
    assert choice.series.rule_id == "series.je-inactivated-accelerated"


@pytest.mark.parametrize(
    "birth, on, age",
    [
        (D(1988, 5, 2), D(2026, 11, 24), 38),
        (D(1988, 11, 24), D(2026, 11, 24), 38),
        (D(1988, 11, 25), D(2026, 11, 24), 37),
        (D(2000, 2, 29), D(2026, 2, 28), 25),  # a 29 February birthday counts from 1 March in other years
        (D(2000, 2, 29), D(2026, 3, 1), 26),
        (D(2000, 2, 29), D(2028, 2, 29), 28),
    ],
)
def test_age_in_whole_years(birth, on, age):
    assert age_on(birth, on) == age


def test_a_birth_date_after_as_of_or_implausibly_early_is_refused_without_repeating_it():
    assert birth_date_errors(None, AS_OF) == []
    assert birth_date_errors(AS_OF, AS_OF) == []
    (after,) = birth_date_errors(D(2026, 11, 25), AS_OF)
    (early,) = birth_date_errors(D(1890, 1, 1), AS_OF)
    assert after.field == early.field == "patient.birth_date"
    assert "2026-11-25" not in after.message and "1890" not in early.message


def test_more_doses_given_than_the_standard_schedule_has_continue_the_longer_one():
    given = (D(2026, 9, 1), D(2026, 10, 1), D(2026, 10, 29), D(2026, 11, 20))
    for immunocompromised in (True, False):  # after repletion too: four doses were a four-dose course
        choice = choose("hepb-engerix", immunocompromised=immunocompromised, given=given)
        assert choice.series.rule_id == "series.hepb-engerix-immunocompromised"
        assert "The 4 doses given follow 40 µg" in choice.notes[0]
