"""The yellow fever medical contraindication letter: what it says, in English and French, and where that
wording comes from.

The letter is pre-filled from the plan only (therapy, dates, reason) and the trip (destination, dates: the return
checked against the departure by form.letter_errors). The traveller's name and passport number are typed on
the letter in the browser and never sent to the server: the inputs have no `name` and belong to no form
(static/clinic.js copies them onto the letter). Without JavaScript the letter prints blank lines to fill by hand.

The date of birth is typed there too, pre-filled with the plan form's date of birth when one was given: the
form sent it already (as patient.birth_date, for the age-dependent schedules), the ICVP and the letter name the
traveller by it, and one date typed once cannot differ between the plan and the letter. It is still never
logged, and the letter's input stays editable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from service.domain.kinds import live_lead_words

from .form import ClinicForm
from .present import long_date


@dataclass(frozen=True)
class Source:
    label: str
    says: str
    url: str


# What the letter's wording rests on; shown under the letter (screen only) and in docs/clinic.md.
LETTER_SOURCES = (
    Source(
        "WHO. International Health Regulations (2005), third edition (2016), Annex 6 (Vaccination, prophylaxis "
        "and related certificates)",
        "A clinician who considers a vaccination contraindicated on medical grounds gives the person the reasons "
        "in writing, in English or French (and where appropriate another language too), which the competent "
        "authorities on arrival should take into account; the clinician informs the person of the risk of "
        "not being vaccinated (Article 23, paragraph 4).",
        "https://www.who.int/publications/i/item/9789241580496",
    ),
    Source(
        "WHO. International Health Regulations (2005), Annex 7 (Requirements concerning vaccination or "
        "prophylaxis for specific diseases): yellow fever",
        "Yellow fever is the disease for which a country may require the International Certificate of "
        "Vaccination or Prophylaxis; the certificate is valid from 10 days after vaccination, for life.",
        "https://www.who.int/publications/i/item/9789241580496",
    ),
    Source(
        "CDC. Yellow Book, Yellow Fever chapter, 'Medical waivers (exemptions)'; CDC Pre-Travel Consultation "
        "and Best Practices for Yellow Fever Vaccination Providers, 'Medical Waivers (Exemptions)'",
        "Complete and sign the Medical Contraindications to Vaccination section of the ICVP; give a signed and "
        "dated exemption letter on letterhead clearly stating that the vaccine is contraindicated on medical "
        "grounds, bearing the centre's official yellow fever vaccination stamp; write it for the current trip "
        "only; counsel the traveller on the risk of travelling unvaccinated and on protection against mosquito "
        "bites; reasons other than medical contraindications are not acceptable; the destination may not accept "
        "the waiver.",
        "https://www.cdc.gov/travel-training/local/PreTravelConsultationandBestPractices/page24195.html",
    ),
)


def letter_context(plan: dict[str, Any], item: dict[str, Any], form: ClinicForm) -> dict[str, Any]:
    """The letter's pre-filled facts, from the plan answer (dates as the API gave them)."""
    treatment = plan["treatment"]
    return {
        "plan": plan,
        "item": item,
        "form": form,
        "drug": treatment["drug"],
        "brands": _brands(treatment["drug"]),
        # The live lead time the plan applied (its label's, or the stricter of the labels), as the label writes it.
        "live_lead": live_lead_words(
            current_app.extensions["planner"].ruleset.therapies.find(treatment["drug"]).for_label(treatment["label"])
        ),
        "phase": treatment["phase"],
        "stopped_on": treatment["stopped_on"],
        "start_date": treatment["start_date"],
        "departure": form.needed_by or None,
        "return_on": form.return_on or None,
        "destination": form.destination or None,
        "birth_date": form.birth_date or None,
        "letter_date": plan["as_of"],
        "long_date": long_date,
    }


def _brands(drug: str) -> str:
    # The plan named this drug, so the therapy is known (find() would raise for an unknown one).
    return ", ".join(current_app.extensions["planner"].ruleset.therapies.find(drug).brand_names)
