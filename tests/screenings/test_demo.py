"""The demo data (``flask seed-demo``) shows what screenings do, read back through the API as
the demo's users see it: ASQ-3 zones of every kind, depression screens positive and negative,
an urgent PHQ-9 that alerted the supervisor, a child screened on corrected age, and a family
with a screening overdue. Every screening of the demo was accepted by the server (else the
seed would have failed with a 422's error)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from hvcase.auth.models import User
from hvcase.common.reminders import Reminder
from hvcase.extensions import db

VISITOR = "visitor1@northside.example.org"
SUPERVISOR = "supervisor@northside.example.org"


@pytest.fixture
def seeded(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def as_demo(seeded, api_as):
    """``as_demo(email)``: a client signed in as that demo user."""

    def make(email: str):
        return api_as(db.session.scalar(select(User).where(User.email == email)))

    return make


def items(api, path: str, **filters: str) -> list[dict]:
    """Every item of a list (one page of 200 holds a demo caseload's)."""
    response = api.get(path, query_string={**filters, "per_page": 200})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] <= 200
    return body["items"]


def children_of(api) -> list[dict]:
    return [child for family in items(api, "/families") for child in family["children"]]


def test_the_demo_asq3_questionnaires_fall_in_every_zone(as_demo):
    api = as_demo(VISITOR)

    zones = {
        zone
        for screening in items(api, "/screenings", instrument="asq3")
        for zone in screening["zones"].values()
    }

    assert {"above", "monitoring", "below"} <= zones


def test_a_demo_toddler_is_below_in_communication_at_18_months_and_so_positive(as_demo):
    api = as_demo(VISITOR)

    # The one positive ASQ-3 of the caseload: the toddler's 18-month questionnaire.
    (eighteen,) = items(api, "/screenings", instrument="asq3", result="positive")

    # Communication: 2 "yes" (10 each) and 4 "not yet" (0) = 20, at or under the example
    # 18-month cutoff 22.5. Problem solving: 3 "yes" = 30, above 25 and up to 37.5.
    assert eighteen["interval"] == 18
    assert eighteen["domain_scores"]["communication"] == 20
    assert eighteen["zones"]["communication"] == "below"
    assert eighteen["zones"]["problem_solving"] == "monitoring"
    assert eighteen["result"] == "positive"
    assert eighteen["referral_recommended"] is True


def test_the_demo_has_an_asqse2_and_a_hits_screen(as_demo):
    api = as_demo(VISITOR)

    assert {s["result"] for s in items(api, "/screenings", instrument="asqse2")} == {
        "positive",
        "negative",
    }
    assert items(api, "/screenings", instrument="ipv")


@pytest.mark.parametrize("instrument", ["phq9", "epds"])
def test_the_demo_has_depression_screens_positive_and_negative(as_demo, instrument):
    api = as_demo(VISITOR)

    results = {s["result"] for s in items(api, "/screenings", instrument=instrument)}

    assert results == {"positive", "negative"}


def test_an_urgent_demo_phq9_alerted_the_supervisor(as_demo):
    supervisor = db.session.scalar(select(User).where(User.email == SUPERVISOR))
    api = as_demo(SUPERVISOR)

    urgent = [s for s in items(api, "/screenings", instrument="phq9") if s["urgent"]]

    # One in each of the supervisor's two home visitors' caseloads.
    assert len(urgent) == 2
    for screening in urgent:
        # PHQ-9 item 9 (thoughts of self-harm) above 0; the total of 2+2+1+2+1+2+1+1+1 = 13.
        assert screening["responses"][8] > 0
        assert screening["total"] == 13
        assert screening["result"] == "positive"
        alerts = db.session.scalars(
            select(Reminder).where(
                Reminder.kind == "urgent_screening",
                Reminder.subject_id == uuid.UUID(screening["id"]),
            )
        ).all()
        assert [(a.recipient_id, a.family_id) for a in alerts] == [
            (supervisor.id, uuid.UUID(screening["family_id"]))
        ]
        family = api.get(f"/families/{screening['family_id']}").get_json()
        assert "urgent_screening" in family["attention"]


def test_a_demo_child_born_at_32_weeks_has_a_corrected_age(as_demo):
    api = as_demo(VISITOR)
    (early,) = [c for c in children_of(api) if c["gestational_age_weeks"] == 32]
    birth = date.fromisoformat(early["birth_date"])

    today = api.get(f"/children/{early['id']}/age").get_json()
    # Due date: 40 − 32 = 8 weeks after the birth, when corrected age is 0m0d; a day later 0m1d.
    on_due_date = api.get(
        f"/children/{early['id']}/age", query_string={"on": str(birth + timedelta(weeks=8))}
    ).get_json()
    day_after = api.get(
        f"/children/{early['id']}/age", query_string={"on": str(birth + timedelta(days=57))}
    ).get_json()

    assert today["corrected"] is not None
    assert (today["corrected"]["months"], today["corrected"]["days"]) < (
        today["chronological"]["months"],
        today["chronological"]["days"],
    )
    assert on_due_date["corrected"] == {"months": 0, "days": 0}
    assert day_after["corrected"] == {"months": 0, "days": 1}


def test_screened_on_corrected_age_the_early_child_is_not_overdue(as_demo):
    api = as_demo(VISITOR)
    (family,) = [
        f
        for f in items(api, "/families")
        if any(c["gestational_age_weeks"] == 32 for c in f["children"])
    ]
    (child,) = family["children"]

    schedule = api.get(f"/children/{child['id']}/schedule").get_json()["items"]

    statuses = {(i["instrument"], i["interval"]): i["status"] for i in schedule}
    # 200 days old, 144 days (about 4m23d) on corrected age: the 2- and 4-month ASQ-3 and the
    # 2-month ASQ:SE-2 are done; the ASQ:SE-2 6-month window (corrected 3m0d to 8m30d) is
    # open, due up to corrected 6m0d.
    assert statuses[("asq3", 2)] == statuses[("asq3", 4)] == "completed"
    assert statuses[("asqse2", 2)] == "completed"
    assert statuses[("asqse2", 6)] == "due"
    assert statuses[("asq3", 6)] == "upcoming"
    assert "screening_overdue" not in family["attention"]


def test_a_demo_family_has_a_screening_overdue(as_demo):
    api = as_demo(VISITOR)

    overdue = [f for f in items(api, "/families") if "screening_overdue" in f["attention"]]

    assert len(overdue) == 1
    (child,) = overdue[0]["children"]
    schedule = api.get(f"/children/{child['id']}/schedule").get_json()["items"]
    statuses = {(i["instrument"], i["interval"]): i["status"] for i in schedule}
    # 600 days old (about 19m22d): the ASQ:SE-2 18-month window (15m0d to 20m30d) is open and
    # the child is past 18m0d; every other interval reached is done.
    assert statuses[("asqse2", 18)] == "overdue"
    assert {s for key, s in statuses.items() if key != ("asqse2", 18)} <= {
        "completed",
        "due",
        "upcoming",
    }


def test_the_demo_records_observations_of_each_kind(as_demo):
    api = as_demo(VISITOR)

    codes = {o["code"] for o in items(api, "/observations")}

    assert {
        "well_child_visit",
        "breastfeeding",
        "safe_sleep",
        "early_language_activity",
        "health_insurance",
        "birth",
    } <= codes
