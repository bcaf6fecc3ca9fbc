"""The vaccine history against a continuous or course therapy: vaccines inside a lead time before the start
(or before any course), and live vaccines before the gate opened, are flagged; earliest_start moves."""

from __future__ import annotations


def plan(client, treatment, immunizations):
    body = {"as_of": "2027-03-01", "treatment": treatment, "vaccines": [{"name": "influenza inactivated"}]}
    body["immunizations"] = immunizations
    response = client.post("/v1/plans", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def codes(answer):
    return [w["code"] for w in answer["warnings"]]


def test_a_live_vaccine_inside_the_lead_time_before_a_planned_start_moves_the_earliest_start(client):
    # MMR on 2027-02-20, fingolimod planned 2027-03-10: 1 month from the MMR is 2027-03-20.
    answer = plan(client, {"drug": "fingolimod", "start_date": "2027-03-10"}, [{"name": "MMR", "date": "2027-02-20"}])
    assert codes(answer) == ["live-vaccine-before-start"]
    assert answer["treatment"]["earliest_start"] == "2027-03-20"
    assert "fingolimod" in answer["warnings"][0]["message"]


def test_a_live_vaccine_one_day_outside_the_lead_time_is_not_flagged(client):
    # 2027-02-10 + 1 month = 2027-03-10: exactly the lead time before the start.
    answer = plan(client, {"drug": "fingolimod", "start_date": "2027-03-10"}, [{"name": "MMR", "date": "2027-02-10"}])
    assert codes(answer) == []


def test_a_live_vaccine_during_therapy_and_before_the_gate_is_flagged(client):
    treatment = {"drug": "fingolimod", "start_date": "2026-01-01", "stopped_on": "2027-01-15"}
    # The gate opens 2027-03-15 (2 months after stopping): MMR on 2027-02-20 came before it.
    assert codes(plan(client, treatment, [{"name": "MMR", "date": "2027-02-20"}])) == ["live-vaccine-during-therapy"]
    treatment["stopped_on"] = "2026-12-15"  # gate 2027-02-15: MMR on 2027-02-20 came after it
    assert codes(plan(client, treatment, [{"name": "MMR", "date": "2027-02-20"}])) == []


def test_no_live_vaccine_is_flagged_for_a_therapy_without_restriction(client):
    answer = plan(client, {"drug": "Copaxone", "start_date": "2026-01-01"}, [{"name": "MMR", "date": "2027-02-20"}])
    assert codes(answer) == []


def test_any_vaccine_inside_six_weeks_before_a_later_alemtuzumab_course_is_flagged(client):
    doses = [f"2026-02-0{d}" for d in range(1, 6)] + ["2027-02-01", "2027-02-02", "2027-02-03"]
    treatment = {"drug": "alemtuzumab", "doses": doses, "lymphocytes_normal_on": "2027-02-20"}
    # Influenza on 2027-01-10 is 22 days before course 2 (2027-02-01): inside the 42 days of the label.
    answer = plan(client, treatment, [{"name": "influenza inactivated", "date": "2027-01-10"}])
    assert codes(answer) == ["non-live-vaccine-near-start"]
    assert "2027-02-01" in answer["warnings"][0]["message"]


def test_reasons_give_the_date_and_the_field_a_clinician_acts_on(client):
    def reasons(treatment):
        body = {"as_of": "2027-03-01", "treatment": treatment, "vaccines": [{"name": "yellow fever"}]}
        response = client.post("/v1/plans", json=body)
        assert response.status_code == 200, response.get_json()
        (item,) = response.get_json()["vaccines"]
        return item

    # A start too close for a live vaccine: the start would have to move to as_of + 1 month.
    too_close = reasons({"drug": "fingolimod", "start_date": "2027-03-20"})
    assert too_close["delay_start_to"] == "2027-04-01" and "2027-04-01" in too_close["reason"]
    # A laboratory gate not yet met names the field that would open it.
    assert (
        "treatment.lymphocytes_normal_on"
        in reasons({"drug": "Tecfidera", "start_date": "2026-01-01", "stopped_on": "2027-02-01"})["reason"]
    )
    # Cladribine: a count worth re-checking 30 weeks after the last dose (2026-10-05 + 210 days).
    days = [f"2026-09-0{d}" for d in range(1, 6)] + [f"2026-10-0{d}" for d in range(1, 6)]
    assert "2027-05-03" in reasons({"drug": "Mavenclad", "doses": days})["reason"]
    # The pause advice is said, and no window is opened for it.
    ponesimod = reasons({"drug": "Ponvory", "start_date": "2026-01-01"})
    assert (
        ponesimod["status"] == "avoid"
        and "paus" in ponesimod["reason"]
        and "ponesimod.pause-advice" in ponesimod["rules"]
    )
