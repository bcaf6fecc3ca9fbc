"""The patient's copy of the plan: what to have on which date, what to avoid until when and why, whom to ask.

Written for the patient, in English or French (the languages the yellow fever letter has): plain words, one
sentence per point, no rule ids, no API field names, no window kinds. Every date comes from the plan answer
(the JSON of POST /v1/plans); nothing here plans. The clinician's detail (reasons, rules, warnings) stays on
the clinician's page.

Protection is never promised for a dose given while the therapy depletes B cells: the answer then says the
course is complete on a date (`ready_on_means` series_complete), and so does the handout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.interop.calendar import patient_name

from .present import long_date

HANDOUT_LANGUAGES = ("en", "fr")
SERIES_COMPLETE = "series_complete"
PROTECTION = "protection"

_FR_DAYS = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
_FR_MONTHS = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip


def french_date(text: str) -> str:
    """2026-11-24 -> 'mar. 24 nov. 2026' (French abbreviations, written out: no locale on the server)."""
    day = date.fromisoformat(text)
    return f"{_FR_DAYS[day.weekday()]} {day.day} {_FR_MONTHS[day.month - 1]} {day.year}"


# Every sentence of the handout, by language. {placeholders} are filled from the plan.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your vaccination plan",
        "made": "Made on {date} by your travel clinic.",
        "name": "Name:",
        "medicine_not_started": "You are due to start {drug} on {date}.",
        "medicine_on": "You take {drug}. Your next dose is on {date}.",
        "medicine_on_no_date": "You take {drug}.",
        "medicine_stopped": "You stopped {drug} on {date}.",
        "leave": "You leave on {date}.",
        "when_title": "What to have, and when",
        "when_intro": "Have each vaccine on its date: the dates are chosen around your treatment.",
        "col_date": "Date",
        "col_vaccine": "Vaccine",
        "col_dose": "Dose",
        "today": "today",
        "dose_of": "dose {n} of {m}",
        "one_dose": "single dose",
        "protected_before": "{vaccine}: protection expected from {date}, before you leave.",
        "protected_after": "{vaccine}: protection only from {date}, after you leave; ask about other precautions.",
        "protected": "{vaccine}: protection expected from {date}.",
        "complete_on": "{vaccine}: course complete on {date}.",
        "no_date": "{vaccine}: no date yet; ask the clinic when to have it.",
        "avoid_title": "What to avoid, until when, and why",
        "avoid_on": "{vaccine}: not while you take {drug}, nor after stopping until a blood test shows that your "
        "B cells (white blood cells) have recovered, {why}.",
        "avoid_stopped": "{vaccine}: not until a blood test shows that your B cells (white blood cells) have "
        "recovered{recheck}, {why}.",
        "recheck": " (the test can be done from {date})",
        "avoid_not_started": "{vaccine}: not now, as too little time is left before you start {drug} and it is not "
        "given during the treatment, {why}.",
        "avoid_why": "because it is a live vaccine and {drug} weakens your defence against it",
        "other_live": "Any other live vaccine (such as MMR, chickenpox, oral typhoid or the nasal flu vaccine): "
        "ask first, because {drug} makes live vaccines unsafe.",
        "weaker": "Food, water and insect bites: keep taking care abroad, because vaccines given during "
        "{drug} treatment may protect you less.",
        "ask_title": "Whom to ask",
        "ask_clinic": "About this plan: the travel clinic that made it.",
        "ask_phone": "Telephone:",
        "ask_doctor": "About {drug}: the doctor who treats you (your neurologist).",
        "ask_show": "Show this page before any vaccination, here or abroad.",
    },
    "fr": {
        "title": "Votre plan de vaccination",
        "made": "Établi le {date} par votre centre de vaccination.",
        "name": "Nom :",
        "medicine_not_started": "Vous devez commencer {drug} le {date}.",
        "medicine_on": "Vous êtes traité(e) par {drug}. Votre prochaine dose est prévue le {date}.",
        "medicine_on_no_date": "Vous êtes traité(e) par {drug}.",
        "medicine_stopped": "Vous avez arrêté {drug} le {date}.",
        "leave": "Vous partez le {date}.",
        "when_title": "Vos vaccins, et quand",
        "when_intro": "Faites chaque vaccin à sa date : les dates sont choisies en fonction de votre traitement.",
        "col_date": "Date",
        "col_vaccine": "Vaccin",
        "col_dose": "Dose",
        "today": "aujourd'hui",
        "dose_of": "dose {n} sur {m}",
        "one_dose": "dose unique",
        "protected_before": "{vaccine} : protection attendue à partir du {date}, avant votre départ.",
        "protected_after": "{vaccine} : protection seulement à partir du {date}, après votre départ ; demandez "
        "quelles autres précautions prendre.",
        "protected": "{vaccine} : protection attendue à partir du {date}.",
        "complete_on": "{vaccine} : schéma terminé le {date}.",
        "no_date": "{vaccine} : pas encore de date ; demandez au centre quand le faire.",
        "avoid_title": "À éviter, jusqu'à quand, et pourquoi",
        "avoid_on": "{vaccine} : ni pendant le traitement par {drug}, ni après l'arrêt tant qu'une prise de sang "
        "n'a pas montré le retour de vos lymphocytes B (des globules blancs), {why}.",
        "avoid_stopped": "{vaccine} : pas tant qu'une prise de sang n'a pas montré le retour de vos lymphocytes B "
        "(des globules blancs){recheck}, {why}.",
        "recheck": " (prise de sang possible à partir du {date})",
        "avoid_not_started": "{vaccine} : pas maintenant, car il reste trop peu de temps avant le début de {drug} "
        "et il ne se fait pas pendant le traitement, {why}.",
        "avoid_why": "car c'est un vaccin vivant et {drug} affaiblit vos défenses contre lui",
        "other_live": "Tout autre vaccin vivant (par exemple ROR, varicelle, typhoïde par la bouche ou grippe par "
        "le nez) : demandez avant, car {drug} rend les vaccins vivants dangereux.",
        "weaker": "Nourriture, eau et piqûres d'insectes : restez prudent(e) en voyage, car les vaccins faits "
        "pendant le traitement par {drug} peuvent moins bien protéger.",
        "ask_title": "À qui demander",
        "ask_clinic": "Sur ce plan : le centre de vaccination qui l'a établi.",
        "ask_phone": "Téléphone :",
        "ask_doctor": "Sur {drug} : le médecin qui vous traite (votre neurologue).",
        "ask_show": "Montrez cette page avant toute vaccination, ici ou à l'étranger.",
    },
}


@dataclass(frozen=True)
class Appointment:
    iso: str
    when: str  # the date in words, in the handout's language
    vaccine: str
    dose: str
    today: bool


@dataclass
class Handout:
    lang: str
    text: dict[str, str]
    made: str
    medicine: str
    leave: str | None
    appointments: list[Appointment] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    avoid: list[str] = field(default_factory=list)  # what to avoid, until when and why: one sentence each
    general: list[str] = field(default_factory=list)
    ask_doctor: str = ""


def _drug_words(drug: str, brands: tuple[str, ...]) -> str:
    return f"{drug} ({', '.join(brands)})" if brands else drug


def _medicine(plan: dict[str, Any], t: dict[str, str], drug: str, when: Any) -> str:
    treatment = plan["treatment"]
    phase = treatment["phase"]
    if phase == "not_started":
        return t["medicine_not_started"].format(drug=drug, date=when(treatment["start_date"]))
    if phase == "stopped":
        return t["medicine_stopped"].format(drug=drug, date=when(treatment["stopped_on"]))
    if treatment.get("next_dose"):
        return t["medicine_on"].format(drug=drug, date=when(treatment["next_dose"]))
    return t["medicine_on_no_date"].format(drug=drug)


def _outcome(item: dict[str, Any], t: dict[str, str], drug: str, when: Any, needed_by: str | None) -> str | None:
    """One sentence on what the course gives, never 'protection' for a course given in depletion."""
    name = patient_name(item)
    ready = item.get("ready_on")
    if not item["proposed"]:
        return None
    if ready is None:
        return None
    if item.get("ready_on_means") == SERIES_COMPLETE:
        return t["complete_on"].format(vaccine=name, date=when(ready), drug=drug)
    if needed_by is None:
        return t["protected"].format(vaccine=name, date=when(ready))
    key = "protected_before" if ready <= needed_by else "protected_after"
    return t[key].format(vaccine=name, date=when(ready))


def _avoid(item: dict[str, Any], t: dict[str, str], drug: str, when: Any, phase: str) -> str:
    """One sentence: the live vaccine to avoid, until when (by the therapy's phase), and why."""
    name = patient_name(item)
    why = t["avoid_why"].format(drug=drug)
    if phase == "not_started":
        return t["avoid_not_started"].format(vaccine=name, drug=drug, why=why)
    if phase == "stopped":
        recheck = t["recheck"].format(date=when(item["b_cell_recheck_on"])) if item.get("b_cell_recheck_on") else ""
        return t["avoid_stopped"].format(vaccine=name, recheck=recheck, why=why)
    return t["avoid_on"].format(vaccine=name, drug=drug, why=why)


def handout_context(plan: dict[str, Any], needed_by: str, lang: str, brands: tuple[str, ...]) -> Handout:
    """The handout for a plan answer, in `lang` ("en" or "fr")."""
    t = TEXT[lang]
    when = long_date if lang == "en" else french_date
    drug_named = _drug_words(plan["treatment"]["drug"], brands)
    drug = plan["treatment"]["drug"]
    phase = plan["treatment"]["phase"]
    departure = needed_by or None
    handout = Handout(
        lang=lang,
        text=t,
        made=t["made"].format(date=when(plan["as_of"])),
        medicine=_medicine(plan, t, drug_named, when),
        leave=t["leave"].format(date=when(departure)) if departure else None,
        ask_doctor=t["ask_doctor"].format(drug=drug_named),
    )
    seen: set[str] = set()
    weaker = False
    # A live vaccine planned after stopping means B-cell repletion was confirmed: then other live vaccines are
    # no longer a warning. Without that sign the page warns (the answer does not carry the repletion date).
    live_planned = False
    for item in plan["vaccines"]:
        if item["vaccine"]["id"] in seen:  # the same vaccine asked for twice: once on the patient's page
            continue
        seen.add(item["vaccine"]["id"])
        length = item["series"]["doses"]
        for dose in item["proposed"]:
            label = t["one_dose"] if length == 1 else t["dose_of"].format(n=dose["dose"], m=length)
            handout.appointments.append(
                Appointment(dose["date"], when(dose["date"]), patient_name(item), label, dose["date"] == plan["as_of"])
            )
        outcome = _outcome(item, t, drug, when, departure)
        if outcome is not None:
            handout.outcomes.append(outcome)
        weaker = weaker or item.get("ready_on_means") == SERIES_COMPLETE
        live_planned = live_planned or (item["vaccine"]["live"] and bool(item["windows"]))
        if item["status"] == "avoid" and item["vaccine"]["live"]:
            handout.avoid.append(_avoid(item, t, drug, when, phase))
        elif not item["proposed"] and item["series"]["given"] < length:
            handout.outcomes.append(t["no_date"].format(vaccine=patient_name(item)))
    handout.appointments.sort(key=lambda a: a.iso)
    if phase != "stopped" or not live_planned:
        handout.general.append(t["other_live"].format(drug=drug))
    if weaker:
        handout.general.append(t["weaker"].format(drug=drug))
    return handout
