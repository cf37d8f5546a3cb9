"""Observations over HTTP: every endpoint for every role, in scope and out of it; each code's
subject and value checked (a wrong one is a 422 naming the field, and nothing is written);
the list's filters; reads audited."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from hvcase.common.time import today_in
from hvcase.extensions import db
from hvcase.screenings.models import Observation
from tests.api import assert_problem
from tests.factories import NO_FAMILY_DATA, CaregiverFactory, ObservationFactory, family_world
from tests.families import audit_events

FAMILY_ROLES = ("home_visitor", "supervisor", "agency_admin")


@pytest.fixture
def world(coalition) -> SimpleNamespace:
    """Agency a's families, one per relation to its staff, and one of agency b; each with an
    observation of its child's reading days."""
    world = family_world(coalition, unassigned=False)
    world.observations = SimpleNamespace(
        **{
            name: ObservationFactory(child=f.children[0])
            for name, f in vars(world.families).items()
        }
    )
    return world


def yesterday(world) -> str:
    return (today_in(world.a.agency.timezone) - timedelta(days=1)).isoformat()


def body_for(observation) -> dict:
    return {
        "family_id": str(observation.family_id),
        "subject_id": str(observation.subject_id),
        "code": "early_language_activity",
        "value": 5,
        "observed_on": observation.observed_on.isoformat(),
    }


ONE = [("GET", lambda o: None), ("PUT", body_for), ("DELETE", lambda o: None)]


def call(api, method: str, body, observation):
    kwargs = {} if body(observation) is None else {"json": body(observation)}
    return api.request(method, f"/observations/{observation.id}", **kwargs)


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Observation))


@pytest.mark.parametrize("role", NO_FAMILY_DATA)
def test_fiscal_hosts_and_admins_get_403_on_every_observation_endpoint(world, api_as, role):
    user = world.coalition.fiscal_host if role == "fiscal_host" else world.coalition.admin
    api = api_as(user)
    observation = world.observations.visitors

    assert_problem(api.get("/observations"), 403)
    assert_problem(api.post("/observations", json=body_for(observation)), 403)
    for method, body in ONE:
        assert_problem(call(api, method, body, observation), 403)
    assert db.session.get(Observation, observation.id).value == 3


@pytest.mark.parametrize("role", FAMILY_ROLES)
@pytest.mark.parametrize(("method", "body"), ONE, ids=[m for m, _ in ONE])
def test_each_role_reaches_exactly_the_observations_of_its_families(
    world, api_as, role, method, body
):
    api = api_as(world.users[role])
    for name, observation in vars(world.observations).items():
        response = call(api, method, body, observation)
        if name in world.visible[role]:
            assert response.status_code == 200, (name, response.get_json())
        else:
            assert_problem(response, 404)
            stored = db.session.get(Observation, observation.id)
            assert (stored.version, stored.voided_at, stored.value) == (1, None, 3)


@pytest.mark.parametrize("role", FAMILY_ROLES)
def test_each_role_lists_the_observations_of_its_families_only(world, api_as, role):
    listed = api_as(world.users[role]).get("/observations").get_json()["items"]
    visible = {str(getattr(world.observations, name).id) for name in world.visible[role]}
    assert {item["id"] for item in listed} == visible


def test_an_observation_is_recorded_as_sent_and_a_replay_changes_nothing(world, api_as):
    family = world.families.visitors
    api = api_as(world.a.visitor)
    body = {
        "family_id": str(family.id),
        "subject_id": str(family.children[0].id),
        "code": "birth",
        "value": {"gestational_age_weeks": 35, "gestational_age_days": 2},
        "observed_on": yesterday(world),
    }

    made = api.post("/observations", json=body)

    assert made.status_code == 201, made.get_json()
    assert made.get_json()["value"] == body["value"]
    assert made.get_json()["recorded_by"] == str(world.a.visitor.id)
    again = api.put(f"/observations/{made.get_json()['id']}", json=body)
    assert (again.status_code, again.get_json()["version"]) == (200, 1)


def test_a_family_level_code_takes_no_subject_and_a_mother_only_code_refuses_a_father(
    world, api_as
):
    family = world.families.visitors
    father = CaregiverFactory(family=family, relationship_to_child="father")
    api = api_as(world.a.visitor)
    base = {"family_id": str(family.id), "observed_on": yesterday(world)}

    whole_family = api.post("/observations", json={**base, "code": "tobacco_use", "value": False})
    assert whole_family.status_code == 201, whole_family.get_json()
    before = count()
    fathers = {**base, "code": "postpartum_visit", "value": True, "subject_id": str(father.id)}
    assert_problem(api.post("/observations", json=fathers), 422, "subject_id")
    assert count() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": "yes"}, "value"),  # a boolean code given text
        ({"value": 1}, "value"),  # ... or a number
        ({"code": "early_language_activity", "value": 8}, "value"),  # 0 to 7
        ({"code": "health_insurance", "value": "gold"}, "value"),  # not an insurance code
        ({"code": "no_such_code"}, "code"),
        ({"code": "health_insurance", "value": "medicaid"}, "subject_id"),  # a caregiver's
        ({"subject_id": None}, "subject_id"),  # safe_sleep needs its child
        ({"subject_id": "other family"}, "subject_id"),
        ({"family_id": "agency b"}, "family_id"),
        ({"observed_on": "tomorrow"}, "observed_on"),
    ],
)
def test_a_wrong_code_subject_value_or_day_is_a_422_naming_it(world, api_as, change, field):
    family = world.families.visitors
    body = {
        "family_id": str(family.id),
        "subject_id": str(family.children[0].id),
        "code": "safe_sleep",
        "value": True,
        "observed_on": yesterday(world),
        **change,
    }
    if body["subject_id"] == "other family":
        body["subject_id"] = str(world.families.colleagues.children[0].id)
    if body["family_id"] == "agency b":
        body["family_id"] = str(world.families.agency_b.id)
    if body["observed_on"] == "tomorrow":
        body["observed_on"] = (today_in(world.a.agency.timezone) + timedelta(days=1)).isoformat()
    before = count()

    assert_problem(api_as(world.a.supervisor).post("/observations", json=body), 422, field)
    assert count() == before


def test_the_list_filters_by_code_and_days_and_every_read_is_audited(world, api_as):
    family = world.families.visitors
    api = api_as(world.a.visitor)
    mine = world.observations.visitors
    older = ObservationFactory(
        child=family.children[0],
        code="safe_sleep",
        value=True,
        observed_on=mine.observed_on - timedelta(days=40),
    )
    day = mine.observed_on.isoformat()

    by_code = api.get("/observations", query_string={"code": "safe_sleep"}).get_json()["items"]
    by_day = api.get("/observations", query_string={"from": day, "to": day}).get_json()["items"]
    api.get(f"/observations/{older.id}")

    assert [item["id"] for item in by_code] == [str(older.id)]
    assert [item["id"] for item in by_day] == [str(mine.id)]
    (read,) = audit_events("read", object_id=older.id)
    assert read.object_type == "observation"
    assert read.user_id == world.a.visitor.id


def test_a_post_with_the_id_of_an_existing_observation_is_a_409_and_changes_nothing(world, api_as):
    mine = world.observations.visitors
    body = {**body_for(mine), "id": str(mine.id)}

    assert_problem(api_as(world.a.visitor).post("/observations", json=body), 409)
    stored = db.session.get(Observation, mine.id)
    assert (stored.version, stored.value) == (1, 3)
