"""Safety invariants that must hold for any input (hypothesis), for every loaded therapy profile and label.

1. A live vaccine never gets a window on or after the first dose while therapy is active (or after it is
   stopped without confirmed B-cell repletion).
2. No window ever contains a dose day (given, missed-and-rescheduled, or projected).
3. Every window lies inside [as_of, as_of + horizon], starts on or before it ends, and windows are in
   date order without overlap; the status is the first window's kind, or avoid when there is none.
4. Results come back in request order, whatever the vaccines.
5. Every order of the vaccines gives each vaccine the same answer (and the plan the same warnings).
6. A live vaccine keeps its pre_start window whenever the label and the live history permit a day, whatever
   needed_by says.
7. Protection is never claimed for a dose in B-cell depletion: meets_needed_by null, ready_on no earlier than
   the last dose plus the lead time; a live dose given in depletion is not counted.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from service.domain.schedule import STOPPED, Treatment, build_schedule
from service.domain.windows import plan_timing
from tests.kind_strategies import kind_histories

AS_OF_RANGE = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


def _labelled_offsets(profile, count, jitter):
    """Day offsets of `count` doses spaced as the profile's labelled starter doses, then its default cadence's
    days (30 a month for a calendar cadence: any spacing will do for a list whose first gaps are the starter
    gaps), each starter gap moved by up to the tolerance when `jitter` (a list of -3..3) says so."""
    cadence = profile.cadences[profile.default_cadence]
    maintenance = cadence.days or 30 * cadence.months
    gaps = list(profile.starter_gaps) + [maintenance] * count
    out, day = [0], 0
    for i in range(count - 1):
        day += gaps[i] + (jitter[i] if i < len(profile.starter_gaps) else 0)
        out.append(day)
    return out


@st.composite
def histories(draw, profile):
    """A plausible or implausible treatment history around a random as_of (never one the service must refuse).

    Doses are listed with start_date equal to the earliest (a complete history), earlier than it (a partial
    history), or omitted when they are spaced as the labelled starter doses (within the tolerance).
    """
    as_of = draw(AS_OF_RANGE)
    cadence = draw(st.sampled_from([None, *profile.cadences]))
    kind = draw(st.sampled_from(["planned", "doses", "starter", "assumed", "stopped"]))
    start_date, doses, stopped_on, repletion = None, (), None, None
    if kind == "planned":
        start_date = as_of + timedelta(days=draw(st.integers(1, 400)))
    elif kind == "assumed":
        start_date = as_of - timedelta(days=draw(st.integers(0, 800)))
    elif kind == "starter":
        count = draw(st.integers(2, 12))
        tolerance = profile.starter_tolerance_days
        jitter = draw(st.lists(st.integers(-tolerance, tolerance), min_size=4, max_size=4))
        offsets = _labelled_offsets(profile, count, jitter)
        last = as_of - timedelta(days=draw(st.integers(0, 120)))
        doses = tuple(last - timedelta(days=offsets[-1] - o) for o in offsets)
    else:
        offsets = draw(st.lists(st.integers(0, 900), min_size=1, max_size=30, unique=True))
        doses = tuple(as_of - timedelta(days=o) for o in offsets)
        start_date = min(doses) - timedelta(days=draw(st.sampled_from([0, 0, 1, 5, 12, 27, 200, 900])))
        if kind == "stopped":
            last = max(doses)
            stopped_on = last + timedelta(days=draw(st.integers(0, (as_of - last).days)))
            earliest_repletion = max(stopped_on, last + timedelta(days=profile.repletion_min_days_after_last_dose))
            if earliest_repletion <= as_of and draw(st.booleans()):
                repletion = earliest_repletion + timedelta(days=draw(st.integers(0, (as_of - earliest_repletion).days)))
    treatment = Treatment(
        profile.id,
        doses=doses,
        start_date=start_date,
        cadence=cadence,
        stopped_on=stopped_on,
        b_cell_repletion_on=repletion,
        label=None if profile.label == "strictest" else profile.label,
    )
    horizon = draw(st.integers(60, 1095))
    return as_of, treatment, horizon


@settings(max_examples=200, deadline=None, derandomize=True)
@given(data=st.data(), live=st.booleans())
def test_windows_are_safe_for_any_history(dosed_profile, data, live):
    profile = dosed_profile
    as_of, treatment, horizon = data.draw(histories(profile))
    until = as_of + timedelta(days=horizon)
    schedule = build_schedule(profile, treatment, as_of, until)
    timing = plan_timing(profile, schedule, live, as_of, until)

    dose_days = set(schedule.doses)
    previous_end = None
    for window in timing.windows:
        assert as_of <= window.start <= window.end <= until
        assert not any(window.contains(day) for day in dose_days), (window, sorted(dose_days))
        if previous_end is not None:
            assert window.start > previous_end
        previous_end = window.end
        if live:
            if schedule.phase == STOPPED:
                assert window.kind == "post_therapy"
                assert schedule.b_cell_repletion_on is not None
                assert window.start >= schedule.b_cell_repletion_on and window.start > schedule.stopped_on
                # never before the non-live post-therapy window, never within a dosing interval of a dose
                non_live = plan_timing(profile, schedule, False, as_of, until).windows
                assert non_live and window.start >= non_live[0].start
                assert window.start >= schedule.given[-1] + timedelta(days=profile.repletion_min_days_after_last_dose)
            else:
                assert window.kind == "pre_start"
                assert window.end <= schedule.first_dose - timedelta(days=profile.live_pre_start_days)
    assert timing.status == (timing.windows[0].kind if timing.windows else "avoid")
    assert timing.rules


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=12))
def test_results_come_back_in_request_order(client, catalog, picks):
    entries = [v for v in catalog.vaccines if v.cvx]
    chosen = [entries[i % len(entries)] for i in picks]
    requested = [
        {"cvx": v.cvx[-1]} if i % 2 else {"name": v.aliases[0] if v.aliases else v.name} for i, v in enumerate(chosen)
    ]
    r = client.post(
        "/v1/plans",
        json={
            "as_of": "2026-11-24",
            "vaccines": requested,
            "treatment": {"drug": "ofatumumab", "start_date": "2027-01-05"},
        },
    )
    assert r.status_code == 200, r.get_json()
    answers = r.get_json()["vaccines"]
    assert [a["request"] for a in answers] == requested
    assert [a["vaccine"]["id"] for a in answers] == [v.id for v in chosen]


# ---- real schedules: proposals, spacing, deadlines -------------------------------------------------------

LIVE_HISTORY_CODES = ["03", "21", "37", "19", "111", "94", "25", "174", "56"]
REQUESTABLE = [
    "MMR",
    "Varivax",
    "Stamaril",
    "BCG",
    "FluMist",
    "Vivotif",
    "Vaxchora",
    "Qdenga",
    "Shingrix",
    "Engerix-B",
    "Heplisav-B",
    "Havrix",
    "Twinrix",
    "Gardasil 9",
    "Ixiaro",
    "Imovax",
    "Bexsero",
    "Trumenba",
    "Typhim Vi",
    "Prevnar 20",
    "Jynneos",
    "Ixchiq",
    "Zostavax",
    "ProQuad",
    "Dukoral",
    "Euvichol",
    "Dengvaxia",
    "Encepur",
    "RabAvert",
    "MenQuadfi",
]


@st.composite
def plan_bodies(draw, profile):
    if profile.kind == "dosed":
        as_of, treatment, horizon = draw(histories(profile))
    else:
        _, as_of, treatment, horizon = draw(kind_histories(profile))
        horizon = max(60, min(horizon, 1095))
    iso = date.isoformat
    t = {"drug": profile.name, "doses": [iso(d) for d in treatment.doses]}
    for key in ("start_date", "cadence", "stopped_on", "b_cell_repletion_on", "lymphocytes_normal_on", "label"):
        value = getattr(treatment, key)
        if value is not None:
            t[key] = iso(value) if isinstance(value, date) else value
    immunizations = [
        {
            "cvx": draw(st.sampled_from(LIVE_HISTORY_CODES)),
            "date": iso(as_of - timedelta(days=draw(st.integers(0, 60)))),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    names = draw(st.lists(st.sampled_from(REQUESTABLE), min_size=1, max_size=6, unique=True))
    vaccines = []
    for name in names:
        item: dict = {"name": name}
        if draw(st.booleans()):
            item["needed_by"] = iso(as_of + timedelta(days=draw(st.integers(0, 400))))
        if draw(st.integers(0, 3)) == 0:
            item["given"] = [iso(as_of - timedelta(days=draw(st.integers(0, 200))))]
        vaccines.append(item)
    return {
        "as_of": iso(as_of),
        "treatment": t,
        "immunizations": immunizations,
        "vaccines": vaccines,
        "horizon_days": horizon,
    }


LIVE_REQUESTABLE = [
    "MMR",
    "Varivax",
    "Stamaril",
    "BCG",
    "FluMist",
    "Vivotif",
    "Qdenga",
    "Zostavax",
    "ProQuad",
    "Ixchiq",
    "Dengvaxia",
    "ACAM2000",
]


@st.composite
def live_heavy_bodies(draw, profile):
    """Where spacing bites: a planned start far enough away, recent live vaccines, several live requests."""
    as_of = draw(AS_OF_RANGE)
    iso = date.isoformat
    start = as_of + timedelta(days=draw(st.integers(profile.live_pre_start_days + 12, 200)))
    immunizations = [
        {
            "cvx": draw(st.sampled_from(LIVE_HISTORY_CODES)),
            "date": iso(as_of - timedelta(days=draw(st.integers(0, 35)))),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    names = draw(st.lists(st.sampled_from(LIVE_REQUESTABLE), min_size=2, max_size=6, unique=True))
    return {
        "as_of": iso(as_of),
        "treatment": {"drug": profile.name, "start_date": iso(start)},
        "immunizations": immunizations,
        "vaccines": [{"name": n} for n in names],
        "horizon_days": 365,
    }


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_proposals_are_inside_windows_spaced_and_consistent(client, ruleset, catalog, dosed_profile, data):
    # Written in B-cell depletion (b_cell_repletion_on): the dosed profiles; the continuous and course ones have
    # theirs in tests/test_kind_properties.py.
    any_profile = dosed_profile
    body = data.draw(st.one_of(plan_bodies(any_profile), live_heavy_bodies(any_profile)))
    r = client.post("/v1/plans", json=body)
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    rules = ruleset.vaccine_rules
    conflicts = rules.conflicts
    known_rules = {rule.id for _, rule in ruleset.all_rules()}
    parse = date.fromisoformat
    first_dose = parse(answer["treatment"]["start_date"])
    repletion = body["treatment"].get("b_cell_repletion_on")

    def in_depletion(day):
        return day >= first_dose and (repletion is None or day < parse(repletion))

    live_events = []  # (owner: request index or -1 for history, vaccine, day, proposed?)
    for imm in body["immunizations"]:
        vaccine = catalog.by_cvx(imm["cvx"], "f").vaccine
        live_events.append((-1, vaccine, parse(imm["date"]), False))
    for owner, (request, result) in enumerate(zip(body["vaccines"], answer["vaccines"], strict=True)):
        vaccine = catalog.get(result["vaccine"]["id"])
        # every rule an answer cites is listed, with its source, at GET /v1/rules
        assert result["rules"] and set(result["rules"]) <= known_rules
        spans = [(parse(w["start"]), parse(w["end"])) for w in result["windows"]]
        # the doses given that still count: never a live dose given in B-cell depletion, and none when a maximum
        # interval restarted the course
        given_days = sorted(parse(g) for g in request.get("given", []))
        countable = [g for g in given_days if not (vaccine.live and in_depletion(g))]
        assert result["series"]["given"] in (0, len(countable))
        counted = countable[: result["series"]["given"]]
        days = {i + 1: day for i, day in enumerate(counted)}
        for p in result["proposed"]:
            day = parse(p["date"])
            # every proposed date lies in a returned window
            assert any(start <= day <= end for start, end in spans), (p, spans)
            days[p["dose"]] = day
        # consecutive doses respect every minimum interval of the series the answer cites (the product's
        # standard schedule or another one it has, such as hepatitis B's immunocompromised dosage)
        schedules = [rules.series_for(vaccine), *(a.series for a in rules.alternatives.get(vaccine.id, ()))]
        (series,) = [s for s in schedules if s.rule_id in result["rules"]]
        assert result["series"]["doses"] == series.length
        for dose in series.doses:
            if dose.number in days:
                for interval in dose.intervals:
                    assert days[dose.number] >= interval.minimum.after(days[interval.from_dose])
                    # and never beyond a maximum (Dukoral restarts after 6 weeks)
                    if interval.maximum is not None:
                        assert days[dose.number] <= interval.maximum.after(days[interval.from_dose])
        if result["status"] == "avoid":
            assert result["proposed"] == []
        # a live series is partly proposed only when its partial course protects (never Ty21a's capsules)
        if vaccine.live and result["proposed"] and len(counted) + len(result["proposed"]) < series.length:
            assert series.partial_protects, result
        # protection is never claimed for a dose in depletion: meets_needed_by null, and ready_on no earlier than
        # the last dose plus the lead time
        protective = result["series"]["protective_dose"]
        if any(in_depletion(day) for number, day in days.items() if number <= protective):
            assert result["meets_needed_by"] is None and result["ready_on_means"] in (None, "series_complete")
            if result["ready_on"] is not None:
                lead = timedelta(days=result["series"]["lead_days"])
                assert parse(result["ready_on"]) >= max(days.values()) + lead, result
        elif "needed_by" in request and not result["serology_advised"]:
            # meets_needed_by agrees with ready_on
            ready = result["ready_on"]
            assert result["meets_needed_by"] == (ready is not None and ready <= request["needed_by"])
        else:
            assert result["meets_needed_by"] is None
        if vaccine.live:
            live_events += [(owner, vaccine, parse(d), False) for d in request.get("given", [])]
            live_events += [(owner, vaccine, parse(p["date"]), True) for p in result["proposed"]]
    # no proposed live vaccine conflicts with any other live vaccine, given or proposed
    from service.domain.spacing import LiveEvent

    # (doses of one series are spaced by the series' own intervals instead)
    for i, (oa, va, da, pa) in enumerate(live_events):
        for ob, vb, db, pb in live_events[i + 1 :]:
            if (pa or pb) and not (oa == ob >= 0):
                assert conflicts.conflict(LiveEvent(va, da), LiveEvent(vb, db)) is None, (va.id, da, vb.id, db)


# ---- choices: order-free, the last live window before therapy kept ----------------------------------------


def _answers_by_request(client, body, order):
    """The answer to `body` with its vaccines typed in `order`, listed back in the original order."""
    shuffled = dict(body, vaccines=[body["vaccines"][i] for i in order])
    r = client.post("/v1/plans", json=shuffled)
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    back = [None] * len(order)
    for position, i in enumerate(order):
        back[i] = answer["vaccines"][position]
    return back, answer["warnings"]


@settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_order_of_the_vaccines_gives_each_the_same_answer(client, any_profile, data):
    """Whatever the order the vaccines are typed in, each gets the same answer, and the plan the same warnings."""
    body = data.draw(st.one_of(plan_bodies(any_profile), live_heavy_bodies(any_profile)))
    n = len(body["vaccines"])
    expected, warnings = _answers_by_request(client, body, list(range(n)))
    for order in (list(reversed(range(n))), data.draw(st.permutations(range(n)))):
        got, got_warnings = _answers_by_request(client, body, order)
        assert got == expected, order
        assert got_warnings == warnings


@st.composite
def planned_starts_with_live_vaccines(draw, profile):
    """A planned start with a live window the label allows (start minus the therapy's live lead time on or after
    as_of), live vaccines with or without a needed_by anywhere (before the window ends, after the start), and a
    live history."""
    as_of = draw(AS_OF_RANGE)
    iso = date.isoformat
    start = as_of + timedelta(days=draw(st.integers(profile.live_pre_start_days, 300)))
    immunizations = [
        {
            "cvx": draw(st.sampled_from(LIVE_HISTORY_CODES)),
            "date": iso(as_of - timedelta(days=draw(st.integers(0, 40)))),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    names = draw(st.lists(st.sampled_from(LIVE_REQUESTABLE), min_size=1, max_size=5, unique=True))
    vaccines = []
    for name in names:
        item: dict = {"name": name}
        if draw(st.booleans()):
            item["needed_by"] = iso(as_of + timedelta(days=draw(st.integers(0, 400))))
        vaccines.append(item)
    return {
        "as_of": iso(as_of),
        "treatment": {
            "drug": profile.name,
            "start_date": iso(start),
            **({} if profile.label == "strictest" else {"label": profile.label}),
        },
        "immunizations": immunizations,
        "vaccines": vaccines,
        "horizon_days": draw(st.integers(60, 1095)),
    }


@settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_live_vaccine_keeps_its_pre_start_window_whenever_the_label_permits_a_day(
    client, ruleset, catalog, dosed_profile, data
):
    """needed_by never closes the window: a live vaccine has a pre_start window whenever a day before the start
    is left by the label (its live lead time) and the live vaccines already given (CDSi), whatever needed_by says; only a
    course that protects only whole (Ty21a) may be avoided, and then only when it cannot be completed."""
    from service.domain.spacing import LiveEvent

    any_profile = dosed_profile  # a lead time in days (the continuous and course ones: test_kind_properties.py)
    body = data.draw(planned_starts_with_live_vaccines(any_profile))
    r = client.post("/v1/plans", json=body)
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    parse = date.fromisoformat
    as_of = parse(body["as_of"])
    lead = timedelta(days=any_profile.live_pre_start_days)
    last = min(parse(body["treatment"]["start_date"]) - lead, as_of + timedelta(days=body["horizon_days"]))
    history = [LiveEvent(catalog.by_cvx(i["cvx"], "f").vaccine, parse(i["date"])) for i in body["immunizations"]]
    conflicts = ruleset.vaccine_rules.conflicts
    for result in answer["vaccines"]:
        vaccine = catalog.get(result["vaccine"]["id"])
        free = (
            as_of + timedelta(days=k)
            for k in range((last - as_of).days + 1)
            if all(conflicts.conflict(e, LiveEvent(vaccine, as_of + timedelta(days=k))) is None for e in history)
        )
        if next(free, None) is None:
            continue
        if result["status"] == "avoid":
            series = ruleset.vaccine_rules.series_for(vaccine)
            assert not series.partial_protects and series.length > 1, result
        else:
            assert result["status"] == "pre_start" and result["windows"], result


# ---- real histories: the vaccine history against the first dose, partial dose lists -----------------------


@settings(max_examples=100, deadline=None, derandomize=True)
@given(data=st.data(), cvx=st.sampled_from(LIVE_HISTORY_CODES), in_given=st.booleans())
def test_a_live_vaccine_closer_than_the_lead_time_to_the_first_dose_is_always_flagged(
    ruleset, dosed_profile, data, cvx, in_given
):
    from service.domain.planner import Immunization, PlanRequest, VaccineRequest, make_plan

    lead = dosed_profile.live_pre_start_days
    as_of, treatment, horizon = data.draw(histories(dosed_profile))
    before = data.draw(st.integers(1, lead - 1))
    first = treatment.start_date or min(treatment.doses)
    day = first - timedelta(days=before)
    assume(day <= as_of)
    vaccine = ruleset.catalog.by_cvx(cvx, "f").vaccine
    vaccines = (VaccineRequest(name="Shingrix"),)
    immunizations = ()
    if in_given:
        vaccines += (VaccineRequest(cvx=cvx, given=(day,)),)
    else:
        immunizations = (Immunization(day, cvx=cvx),)
    plan = make_plan(
        PlanRequest(as_of, treatment, vaccines, horizon, immunizations),
        ruleset.therapies,
        ruleset.catalog,
        ruleset.vaccine_rules,
    )
    assert plan.schedule.first_dose == first
    flagged = [w for w in plan.warnings if w.code == "live-vaccine-before-start"]
    assert flagged and vaccine.name in flagged[0].message and day.isoformat() in flagged[0].message
    if plan.schedule.phase == "not_started":
        assert plan.earliest_start is not None and plan.earliest_start >= day + timedelta(days=lead) > first
    else:
        assert plan.earliest_start is None


def _labelled_run(profile, start, cadence, until):
    """The labelled schedule from `start` up to `until`, worked here from the profile's figures independently of
    the planner: the starter gaps, then the first maintenance dose (after the last gap, or one cadence after
    dose 1), then one cadence apart counted from it (calendar months from the same anchor)."""
    from dateutil.relativedelta import relativedelta

    c = profile.cadences[cadence]

    def after(day, k):
        return day + (relativedelta(months=c.months * k) if c.months else timedelta(days=c.days * k))

    run = [start]
    for gap in profile.starter_gaps:
        run.append(run[-1] + timedelta(days=gap))
    if profile.maintenance_from_first_dose:
        anchor, k = start, 1
    else:
        anchor, k = run.pop(), 0
    while True:
        day = after(anchor, k)
        if day > until:
            return [x for x in run if x <= until]
        run.append(day)
        k += 1


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2028, 12, 31)),
    length=st.integers(2, 60),
    late=st.integers(0, 40),
    cut=st.data(),
)
def test_listing_earlier_labelled_doses_never_changes_a_partial_history(dosed_profile, start, length, late, cut):
    profile = dosed_profile
    cadence = cut.draw(st.sampled_from(sorted(profile.cadences)))
    interval = profile.cadences[cadence]
    run = _labelled_run(
        profile, start, cadence, start + timedelta(days=(interval.days or 31 * interval.months) * length)
    )
    assume(len(run) >= 2)
    as_of = run[-1] + timedelta(days=late)  # up to 40 days after the last dose: due, or overdue
    until = as_of + timedelta(days=365)
    keep = cut.draw(st.integers(1, len(run) - 1))  # always fewer than all, so start_date < earliest listed
    more = cut.draw(st.integers(keep, len(run)))

    def build(doses):
        return build_schedule(profile, Treatment(profile.id, tuple(doses), start, cadence), as_of, until)

    part, fuller = build(run[-keep:]), build(run[-more:])
    assert part.partial
    assert (part.phase, part.next_dose, part.overdue, part.upcoming) == (
        fuller.phase,
        fuller.next_dose,
        fuller.overdue,
        fuller.upcoming,
    )
    for live in (True, False):
        assert plan_timing(profile, part, live, as_of, until).windows == (
            plan_timing(profile, fuller, live, as_of, until).windows
        )
