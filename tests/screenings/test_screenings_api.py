"""Screenings, a child's age and schedule, and the instruments, over HTTP: every endpoint for
every role, in scope and out of it (another agency's record is a 404); the server's scoring,
interval and window rules; the supervisor alerted at once by an urgent result; every read of
a screening audited."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from hvcase.common.reminders import Reminder
from hvcase.common.time import today_in
from hvcase.extensions import db
from hvcase.screenings.ages import add_months
from hvcase.screenings.models import Screening
from tests.api import assert_problem
from tests.factories import NO_FAMILY_DATA, ChildFactory, ScreeningFactory, family_world
from tests.families import audit_events

FAMILY_ROLES = ("home_visitor", "supervisor", "agency_admin")


@pytest.fixture
def world(coalition) -> SimpleNamespace:
    """Agency a's families, one per relation to its staff, and one of agency b; each with a
    PHQ-9 of its primary caregiver."""
    world = family_world(coalition, unassigned=False)
    families = vars(world.families)
    world.screenings = SimpleNamespace(
        **{name: ScreeningFactory(caregiver=f.caregivers[0]) for name, f in families.items()}
    )
    return world


def today(agency) -> date:
    return today_in(agency.timezone)


def body_for(screening) -> dict:
    return {
        "instrument": "phq9",
        "caregiver_id": str(screening.caregiver_id),
        "administered_on": screening.administered_on.isoformat(),
        "responses": [1, 1, 0, 0, 0, 0, 0, 0, 0],
    }


ONE_SCREENING = [
    ("GET", lambda s: None),
    ("PUT", body_for),
    ("DELETE", lambda s: None),
]


def call(api, method: str, body, screening):
    kwargs = {} if body(screening) is None else {"json": body(screening)}
    return api.request(method, f"/screenings/{screening.id}", **kwargs)


# --- Roles ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", NO_FAMILY_DATA)
def test_fiscal_hosts_and_admins_get_403_on_every_screening_endpoint(world, api_as, role):
    user = world.coalition.fiscal_host if role == "fiscal_host" else world.coalition.admin
    api = api_as(user)
    screening = world.screenings.visitors
    child = world.families.visitors.children[0]

    assert_problem(api.get("/screenings"), 403)
    assert_problem(api.post("/screenings", json=body_for(screening)), 403)
    for method, body in ONE_SCREENING:
        assert_problem(call(api, method, body, screening), 403)
    assert_problem(api.get(f"/children/{child.id}/age"), 403)
    assert_problem(api.get(f"/children/{child.id}/schedule"), 403)

    stored = db.session.get(Screening, screening.id)
    assert (stored.version, stored.voided_at) == (1, None)


@pytest.mark.parametrize("role", FAMILY_ROLES)
@pytest.mark.parametrize(("method", "body"), ONE_SCREENING, ids=[m for m, _ in ONE_SCREENING])
def test_each_role_reaches_exactly_the_screenings_of_its_families(
    world, api_as, role, method, body
):
    user = world.users[role]
    api = api_as(user)
    for name, screening in vars(world.screenings).items():
        response = call(api, method, body, screening)

        if name in world.visible[role]:
            assert response.status_code == 200, (name, response.get_json())
        else:
            assert_problem(response, 404)
            stored = db.session.get(Screening, screening.id)
            assert (stored.version, stored.voided_at) == (1, None)


@pytest.mark.parametrize("role", FAMILY_ROLES)
def test_each_role_lists_and_reads_the_ages_and_schedules_of_its_families_only(world, api_as, role):
    api = api_as(world.users[role])
    listed = api.get("/screenings", query_string={"per_page": 200}).get_json()["items"]
    visible = {str(getattr(world.screenings, name).id) for name in world.visible[role]}
    assert {item["id"] for item in listed} == visible
    for name, family in vars(world.families).items():
        child = family.children[0]
        for path in (f"/children/{child.id}/age", f"/children/{child.id}/schedule"):
            response = api.get(path)
            if name in world.visible[role]:
                assert response.status_code == 200, (path, response.get_json())
            else:
                assert_problem(response, 404)


def test_another_agencys_caregiver_in_a_body_is_a_422_naming_it(world, api_as):
    theirs = world.families.agency_b.caregivers[0]
    body = {
        "instrument": "phq9",
        "caregiver_id": str(theirs.id),
        "administered_on": (today(world.a.agency) - timedelta(1)).isoformat(),
        "responses": [0] * 9,
    }
    assert_problem(api_as(world.a.admin).post("/screenings", json=body), 422, "caregiver_id")
    assert len(db.session.scalars(select(Screening)).all()) == len(vars(world.screenings))


# --- Scoring on the server -----------------------------------------------------------------


def test_a_phq9_is_scored_by_the_server_and_an_urgent_one_alerts_the_supervisor(world, api_as):
    family = world.families.visitors  # the home visitor's, whose supervisor is a.supervisor
    caregiver = family.caregivers[0]
    api = api_as(world.a.visitor)
    on = today(world.a.agency) - timedelta(days=1)
    # 1+1+1+1+1+1+1+1+1 = 9: under 10, negative; but item 9 (self-harm) above 0: urgent.
    answers = [1] * 9
    body = {
        "instrument": "phq9",
        "caregiver_id": str(caregiver.id),
        "administered_on": on.isoformat(),
        "responses": answers,
        "total": 0,  # the server's to say: ignored
        "urgent": False,
    }

    response = api.post("/screenings", json=body)

    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert (made["total"], made["result"], made["urgent"]) == (9, "negative", True)
    assert made["referral_recommended"] is False
    assert made["family_id"] == str(family.id)
    (alert,) = db.session.scalars(
        select(Reminder).where(Reminder.subject_id == uuid.UUID(made["id"]))
    )
    assert (alert.kind, alert.recipient_id, alert.family_id) == (
        "urgent_screening",
        world.a.supervisor.id,
        family.id,
    )
    assert alert.status == "pending"

    # Replaying the same body changes nothing and alerts no one again.
    again = api.put(f"/screenings/{made['id']}", json=body)
    assert again.status_code == 200
    assert again.get_json()["version"] == 1
    assert len(db.session.scalars(select(Reminder)).all()) == 1


def test_a_phq9_of_ten_is_positive_and_recommends_a_referral(world, api_as):
    caregiver = world.families.visitors.caregivers[0]
    on = today(world.a.agency) - timedelta(days=1)
    body = {
        "instrument": "phq9",
        "caregiver_id": str(caregiver.id),
        "administered_on": on.isoformat(),
        "responses": [2, 2, 2, 2, 2, 0, 0, 0, 0],  # 2 × 5 = 10
    }
    made = api_as(world.a.visitor).post("/screenings", json=body).get_json()
    assert (made["total"], made["result"], made["referral_recommended"], made["urgent"]) == (
        10,
        "positive",
        True,
        False,
    )
    assert db.session.scalars(select(Reminder)).all() == []


def test_epds_is_positive_at_the_agency_s_threshold(world, api_as):
    caregiver = world.families.visitors.caregivers[0]
    body = {
        "instrument": "epds",
        "caregiver_id": str(caregiver.id),
        "administered_on": (today(world.a.agency) - timedelta(days=1)).isoformat(),
        "responses": [1, 1, 1, 1, 1, 1, 1, 1, 2, 0],  # 8 × 1 + 2 = 10
    }
    api = api_as(world.a.visitor)
    assert api.post("/screenings", json=body).get_json()["result"] == "negative"  # 10 < 13

    world.a.agency.settings = {"epds_positive_at": 10}
    db.session.flush()
    assert api.post("/screenings", json=body).get_json()["result"] == "positive"


def test_bad_answers_are_a_422_naming_the_field_and_nothing_is_written(world, api_as):
    caregiver = world.families.visitors.caregivers[0]
    api = api_as(world.a.visitor)
    on = (today(world.a.agency) - timedelta(days=1)).isoformat()
    base = {"instrument": "phq9", "caregiver_id": str(caregiver.id), "administered_on": on}
    before = len(db.session.scalars(select(Screening)).all())

    assert_problem(api.post("/screenings", json={**base, "responses": [0] * 8}), 422, "responses")
    assert_problem(api.post("/screenings", json={**base, "responses": "none"}), 422, "responses")
    assert_problem(api.post("/screenings", json={**base, "instrument": "x"}), 422, "instrument")
    future = (today(world.a.agency) + timedelta(days=1)).isoformat()
    assert_problem(
        api.post("/screenings", json={**base, "responses": [0] * 9, "administered_on": future}),
        422,
        "administered_on",
    )
    child = world.families.visitors.children[0]
    wrong_subject = {**base, "caregiver_id": None, "child_id": str(child.id), "responses": [0] * 9}
    assert_problem(api.post("/screenings", json=wrong_subject), 422, "caregiver_id", "child_id")

    assert len(db.session.scalars(select(Screening)).all()) == before


# --- Child questionnaires: intervals from corrected age ------------------------------------


def asq3_answers(value: str = "yes") -> dict:
    domains = ("communication", "gross_motor", "fine_motor", "problem_solving", "personal_social")
    return {domain: [value] * 6 for domain in domains}


def test_the_server_chooses_the_interval_from_corrected_age_and_refuses_the_wrong_one(
    world, api_as
):
    family = world.families.visitors
    on = today(world.a.agency) - timedelta(days=1)
    # Born 8 weeks early (32 weeks of 40) exactly 6 months before ``on``: the corrected age
    # counts from 56 days later, so it is 4 months and a few days: the 4-month window (3m0d to
    # 4m30d), not the 6-month one (5m0d to 6m30d).
    birth = add_months(on, -6)
    child = ChildFactory(family=family, birth_date=birth, gestational_age_weeks=32)
    api = api_as(world.a.visitor)
    body = {
        "instrument": "asq3",
        "child_id": str(child.id),
        "administered_on": on.isoformat(),
        "responses": asq3_answers(),
    }

    chosen = api.post("/screenings", json=body)

    assert chosen.status_code == 201, chosen.get_json()
    assert chosen.get_json()["interval"] == 4
    assert chosen.get_json()["zones"]["communication"] == "above"  # 60: all yes
    refused = api.post("/screenings", json={**body, "interval": 6})
    problem = assert_problem(refused, 422, "interval")
    assert "4-month" in problem["errors"]["interval"][0]
    age = api.get(f"/children/{child.id}/age", query_string={"on": on.isoformat()}).get_json()
    assert age["corrected"]["months"] == 4
    assert age["chronological"] == {"months": 6, "days": 0}


def test_a_child_s_schedule_shows_the_recorded_interval_as_completed(world, api_as):
    family = world.families.visitors
    on = today(world.a.agency) - timedelta(days=1)
    birth = add_months(on, -12)  # 12m0d on ``on``, born at term
    child = ChildFactory(family=family, birth_date=birth, gestational_age_weeks=40)
    api = api_as(world.a.visitor)
    body = {
        "instrument": "asq3",
        "child_id": str(child.id),
        "administered_on": on.isoformat(),
        "interval": 12,
        "responses": asq3_answers(),
    }
    made = api.post("/screenings", json=body).get_json()

    schedule = api.get(f"/children/{child.id}/schedule").get_json()["items"]

    by_key = {(item["instrument"], item["interval"]): item for item in schedule}
    assert by_key[("asq3", 12)]["status"] == "completed"
    assert by_key[("asq3", 12)]["screening_id"] == made["id"]
    assert by_key[("asq3", 2)]["status"] == "missed"
    assert by_key[("asq3", 36)]["status"] == "upcoming"
    assert {item["instrument"] for item in schedule} == {"asq3", "asqse2"}


# --- Reads are audited; the instruments --------------------------------------------------


def test_every_read_of_a_screening_is_audited(world, api_as):
    screening = world.screenings.visitors
    api = api_as(world.a.visitor)
    api.get(f"/screenings/{screening.id}")
    api.get("/screenings", query_string={"instrument": "phq9"})

    (read,) = audit_events("read", object_id=screening.id)
    assert (read.object_type, read.user_id) == ("screening", world.a.visitor.id)
    (search,) = audit_events("search", object_type="screening")
    assert search.detail["instrument"] == "phq9"


def test_the_instruments_are_listed_with_a_warning_while_the_example_cutoffs_are_used(
    world, api_as
):
    answer = api_as(world.a.visitor).get("/instruments").get_json()
    assert [item["code"] for item in answer["items"]] == ["asq3", "asqse2", "epds", "ipv", "phq9"]
    assert answer["cutoffs_example"] is True
    asq3 = answer["items"][0]
    assert asq3["intervals"]["24"] == ["23m0d", "25m15d"]


def test_a_post_with_the_id_of_an_existing_screening_is_a_409_and_changes_nothing(world, api_as):
    mine = world.screenings.visitors
    body = {**body_for(mine), "id": str(mine.id)}

    assert_problem(api_as(world.a.visitor).post("/screenings", json=body), 409)
    stored = db.session.get(Screening, mine.id)
    assert (stored.version, stored.responses) == (1, [0] * 9)
