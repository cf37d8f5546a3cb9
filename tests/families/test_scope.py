"""Nobody sees what is not theirs: every family endpoint tried by every role, on families in
and out of scope, on ids guessed from another agency and on ids that exist nowhere; and every
read, search and refusal in the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import update

from hvcase.extensions import db
from hvcase.families.models import Family
from tests.api import BASE, assert_problem
from tests.factories import (
    NO_FAMILY_DATA,
    agency_today,
    family_world,
)
from tests.families import audit_events, caregiver_body, child_body, enrollment_body

FAMILY_ROLES = ("home_visitor", "supervisor", "agency_admin")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # with {family}, {caregiver} or {child}
    body: Callable[[Any, Any], dict] | None = None  # (world, family) -> JSON body
    ok: int = 200
    roles: tuple[str, ...] = FAMILY_ROLES
    discharged: bool = False  # the family must be discharged first (re-enrollment)

    @property
    def target(self) -> str:
        return (
            "caregiver"
            if "{caregiver}" in self.path
            else "child"
            if "{child}" in self.path
            else "family"
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _family_put(world, family) -> dict:
    return {"enrolled_on": str(family.enrolled_on), "phone": family.phone, "household_size": 2}


def _caregiver_put(world, family) -> dict:
    primary = family.primary_caregiver
    return caregiver_body(
        first_name=primary.first_name,
        last_name=primary.last_name,
        birth_date=str(primary.birth_date),
        relationship="mother",
        primary=True,
        education="unknown",
    )


def _child_put(world, family) -> dict:
    child = family.children[0]
    return child_body(first_name=child.first_name, birth_date=str(child.birth_date), sex="F")


def _assignment(world, family) -> dict:
    return {"home_visitor_id": str(family.home_visitor_id or world.a.supervisor.id)}


def _today(world) -> str:
    return str(agency_today(world.a.agency))


ENDPOINTS = [
    Endpoint("GET", "/families/{family}"),
    Endpoint("PATCH", "/families/{family}", lambda w, f: {"household_size": 5}),
    Endpoint("PUT", "/families/{family}", _family_put),
    Endpoint("DELETE", "/families/{family}", roles=("supervisor", "agency_admin")),
    Endpoint(
        "POST", "/families/{family}/assignment", _assignment, roles=("supervisor", "agency_admin")
    ),
    Endpoint("GET", "/families/{family}/assignments"),
    Endpoint(
        "POST",
        "/families/{family}/discharge",
        lambda w, f: {"discharged_on": _today(w), "reason": "moved"},
    ),
    Endpoint("GET", "/families/{family}/enrollments"),
    Endpoint(
        "POST",
        "/families/{family}/enrollments",
        lambda w, f: {"enrolled_on": _today(w)},
        ok=201,
        roles=("supervisor", "agency_admin"),
        discharged=True,
    ),
    Endpoint("GET", "/families/{family}/caregivers"),
    Endpoint("POST", "/families/{family}/caregivers", lambda w, f: caregiver_body(), ok=201),
    Endpoint("GET", "/families/{family}/children"),
    Endpoint("POST", "/families/{family}/children", lambda w, f: child_body(), ok=201),
    Endpoint("GET", "/caregivers/{caregiver}"),
    Endpoint("PATCH", "/caregivers/{caregiver}", lambda w, f: {"employment": "full_time"}),
    Endpoint("PUT", "/caregivers/{caregiver}", _caregiver_put),
    Endpoint("DELETE", "/caregivers/{caregiver}"),
    Endpoint("GET", "/children/{child}"),
    Endpoint("PATCH", "/children/{child}", lambda w, f: {"birth_weight_grams": 3100}),
    Endpoint("PUT", "/children/{child}", _child_put),
    Endpoint("DELETE", "/children/{child}"),
]
# A PUT to an id that exists nowhere creates the record, so it is no "random id" case; a role
# refused the endpoint altogether gets its 403 before any id is looked at.
GUESSABLE = [e for e in ENDPOINTS if e.method != "PUT"]


def path_of(endpoint: Endpoint, family) -> str:
    ids = {"family": family.id}
    if "{caregiver}" in endpoint.path:
        ids["caregiver"] = family.primary_caregiver.id
    if "{child}" in endpoint.path:
        ids["child"] = family.children[0].id
    return endpoint.path.format(**ids)


def target_id(endpoint: Endpoint, family) -> uuid.UUID:
    return {
        "family": lambda: family.id,
        "caregiver": lambda: family.primary_caregiver.id,
        "child": lambda: family.children[0].id,
    }[endpoint.target]()


def call(api, endpoint: Endpoint, world, family, path: str | None = None):
    kwargs = {"json": endpoint.body(world, family)} if endpoint.body else {}
    return api.request(endpoint.method, path or path_of(endpoint, family), **kwargs)


@pytest.fixture
def world(coalition) -> SimpleNamespace:
    """Agency a's families, one per kind of relation to its staff, and one of agency b."""
    return family_world(coalition)


def discharge_all(world) -> None:
    today = agency_today(world.a.agency)
    db.session.execute(
        update(Family).values(
            status="discharged", discharged_on=today - timedelta(days=1), discharge_reason="moved"
        )
    )
    db.session.commit()


def assert_denied(user, status: int, path: str, object_type=None, object_id=None) -> None:
    """One ``denied`` event for this refusal, as the contract wants it."""
    path = path if path.startswith(BASE) else BASE + path
    events = [e for e in audit_events("denied", user_id=user.id) if e.detail["path"] == path]
    assert len(events) == 1, [e.detail for e in audit_events("denied")]
    (event,) = events
    assert event.detail["status"] == status
    assert event.actor_agency_id == user.agency_id
    if object_id is not None:
        assert (event.object_type, event.object_id) == (object_type, str(object_id))


# --- Roles without family data -------------------------------------------------------------


@pytest.mark.parametrize("role", NO_FAMILY_DATA)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_fiscal_hosts_and_admins_get_403_on_every_family_endpoint(world, api_as, role, endpoint):
    user = world.coalition.fiscal_host if role == "fiscal_host" else world.coalition.admin
    family = world.families.visitors
    path = path_of(endpoint, family)

    response = call(api_as(user), endpoint, world, family)

    assert_problem(response, 403)
    assert_denied(user, 403, path)
    stored = db.session.get(Family, family.id)
    db.session.refresh(stored)
    assert (stored.version, stored.voided_at, stored.status) == (1, None, "enrolled")


@pytest.mark.parametrize("role", NO_FAMILY_DATA)
def test_fiscal_hosts_and_admins_may_neither_list_nor_enroll(world, api_as, role):
    user = world.coalition.fiscal_host if role == "fiscal_host" else world.coalition.admin
    api = api_as(user)

    assert_problem(api.get("/families"), 403)
    assert_problem(api.post("/families", json=enrollment_body(world.a.agency)), 403)
    denials = audit_events("denied", user_id=user.id)
    assert sorted((e.detail["method"], e.detail["status"]) for e in denials) == [
        ("GET", 403),
        ("POST", 403),
    ]
    assert audit_events("search") == []


def test_a_lead_agency_admin_sees_no_member_agencys_family(world, api_as):
    lead_admin = world.coalition.lead_admin
    api = api_as(lead_admin)

    assert api.get("/families").get_json()["total"] == 0
    for family in vars(world.families).values():
        assert_problem(api.get(f"/families/{family.id}"), 404)


# --- Roles with family data: in scope and out of it ----------------------------------------


@pytest.mark.parametrize("role", FAMILY_ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_each_role_reaches_exactly_the_families_in_its_scope(world, api_as, role, endpoint):
    user = world.users[role]
    api = api_as(user)
    if endpoint.discharged:
        discharge_all(world)
    for name, family in vars(world.families).items():
        path = path_of(endpoint, family)

        response = call(api, endpoint, world, family)

        if role not in endpoint.roles:
            assert_problem(response, 403)  # the role first, whoever's family it is
            assert_denied(user, 403, path)
        elif name in world.visible[role]:
            assert response.status_code == endpoint.ok, (name, response.get_json())
            assert audit_events("denied", user_id=user.id) == []
        else:
            assert_problem(response, 404)
            assert_denied(user, 404, path, endpoint.target, target_id(endpoint, family))


@pytest.mark.parametrize(
    ("role", "endpoint"),
    [(role, endpoint) for endpoint in GUESSABLE for role in endpoint.roles],
    ids=lambda value: str(value),
)
def test_a_guessed_id_gets_the_same_404_whether_or_not_it_exists(world, api_as, role, endpoint):
    user = world.users[role]
    api = api_as(user)
    theirs = world.families.agency_b
    if endpoint.discharged:
        discharge_all(world)
    random_id = uuid.uuid4()
    random_path = endpoint.path.format(family=random_id, caregiver=random_id, child=random_id)

    existing = call(api, endpoint, world, theirs)
    missing = call(api, endpoint, world, theirs, path=random_path)

    assert existing.status_code == missing.status_code == 404
    assert existing.get_json() == missing.get_json()
    assert_denied(
        user, 404, path_of(endpoint, theirs), endpoint.target, target_id(endpoint, theirs)
    )
    assert_denied(user, 404, random_path, endpoint.target, random_id)
    # Recorded the same way: only the ids differ.
    first, second = audit_events("denied", user_id=user.id)
    assert (first.action, first.object_type, first.detail["status"], first.detail["method"]) == (
        second.action,
        second.object_type,
        second.detail["status"],
        second.detail["method"],
    )


@pytest.mark.parametrize("role", FAMILY_ROLES)
def test_nothing_out_of_scope_changes(world, api_as, role):
    api = api_as(world.users[role])
    theirs = world.families.agency_b
    for endpoint in ENDPOINTS:
        if role in endpoint.roles and endpoint.method != "GET":
            assert call(api, endpoint, world, theirs).status_code == 404

    db.session.expire_all()
    stored = db.session.get(Family, theirs.id)
    assert (stored.version, stored.status, stored.voided_at) == (1, "enrolled", None)
    assert stored.home_visitor_id == world.b.visitor.id
    assert [(c.version, c.voided_at) for c in stored.caregivers] == [(1, None)]
    assert [(c.version, c.voided_at) for c in stored.children] == [(1, None)]


def test_a_malformed_id_is_a_404(world, api_as):
    api = api_as(world.a.admin)

    for path in ("/families/42", "/caregivers/not-a-uuid", "/children/%20"):
        assert_problem(api.get(path), 404)


@pytest.mark.parametrize("role", FAMILY_ROLES)
def test_each_role_lists_exactly_its_families(world, api_as, role):
    response = api_as(world.users[role]).get("/families")

    assert response.status_code == 200
    listed = {item["id"] for item in response.get_json()["items"]}
    expected = {str(getattr(world.families, name).id) for name in world.visible[role]}
    assert listed == expected
    assert response.get_json()["total"] == len(expected)


@pytest.mark.parametrize("role", FAMILY_ROLES)
def test_each_role_enrolls(world, api_as, role):
    response = api_as(world.users[role]).post("/families", json=enrollment_body(world.a.agency))

    assert response.status_code == 201


def test_a_home_visitor_discharges_their_own_family(world, api_as):
    family = world.families.visitors
    response = api_as(world.a.visitor).post(
        f"/families/{family.id}/discharge", json={"discharged_on": _today(world), "reason": "moved"}
    )

    assert response.status_code == 200


# --- The audit trail -----------------------------------------------------------------------


def test_reading_a_family_a_caregiver_and_a_child_is_audited(world, api_as):
    user = world.a.visitor
    api = api_as(user)
    family = world.families.visitors
    caregiver, child = family.primary_caregiver, family.children[0]

    api.get(f"/families/{family.id}")
    api.get(f"/caregivers/{caregiver.id}")
    api.get(f"/children/{child.id}")

    reads = [(e.object_type, e.object_id) for e in audit_events("read", user_id=user.id)]
    assert reads == [
        ("family", str(family.id)),
        ("caregiver", str(caregiver.id)),
        ("child", str(child.id)),
    ]
    for event in audit_events("read"):
        assert event.object_agency_id == world.a.agency.id
        assert event.actor_agency_id == world.a.agency.id


def test_a_list_is_one_search_event_with_its_filters(world, api_as):
    user = world.a.supervisor
    api = api_as(user)

    api.get(
        "/families",
        query_string={
            "q": "rivera",
            "status": "enrolled",
            "home_visitor_id": str(world.a.visitor.id),
        },
    )

    (event,) = audit_events("search", user_id=user.id)
    assert event.object_type == "family"
    assert event.detail["q"] == "rivera"
    assert event.detail["status"] == "enrolled"
    assert event.detail["home_visitor_id"] == str(world.a.visitor.id)
    assert audit_events("read") == []  # one event for the list, not one per family


@pytest.mark.parametrize("collection", ["caregivers", "children", "assignments", "enrollments"])
def test_a_familys_sub_collection_is_one_search_event(world, api_as, collection):
    user = world.a.visitor
    family = world.families.visitors

    response = api_as(user).get(f"/families/{family.id}/{collection}")

    assert response.status_code == 200
    (event,) = audit_events("search", user_id=user.id)
    assert (event.object_type, event.object_id) == ("family", str(family.id))
    assert event.object_agency_id == world.a.agency.id
    assert event.detail["collection"] == collection


def test_a_denial_outlives_the_refused_request(world, api_as):
    """The request is rolled back; its ``denied`` event is kept, with what was tried."""
    user = world.a.visitor
    theirs = world.families.colleagues

    api_as(user).patch(f"/families/{theirs.id}", json={"household_size": 9})

    (event,) = audit_events("denied", user_id=user.id)
    assert event.detail == {
        "status": 404,
        "method": "PATCH",
        "path": f"/api/v1/families/{theirs.id}",
    }
    assert audit_events("update") == []
