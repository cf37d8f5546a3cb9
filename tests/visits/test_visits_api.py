"""Visits over HTTP: every endpoint for every role, in scope and out of it; PUT replays,
If-Match, voiding, the list's filters and order, and Idempotency-Key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from hvcase.common.idempotency import IdempotencyRecord
from hvcase.extensions import db
from tests.api import BASE, assert_problem
from tests.factories import (
    NO_FAMILY_DATA,
    FamilyFactory,
    VisitFactory,
    family_world,
)
from tests.families import audit_events
from tests.visits import (
    completed_visit,
    fresh_visit,
    hours_ago,
    stamp,
    stored_visits,
)

FAMILY_ROLES = ("home_visitor", "supervisor", "agency_admin")


@pytest.fixture
def world(coalition) -> SimpleNamespace:
    """Agency a's families, one per relation to its staff, and one of agency b; each with a
    visit."""
    world = family_world(coalition, unassigned=False)
    families = vars(world.families)
    world.visits = SimpleNamespace(**{name: VisitFactory(family=f) for name, f in families.items()})
    return world


def _put_body(visit) -> dict:
    return completed_visit(visit.family, started_at=stamp(visit.started_at), notes="Read together")


ONE_VISIT = [
    ("GET", lambda v: None),
    ("PATCH", lambda v: {"notes": "Talked about sleep"}),
    ("PUT", _put_body),
    ("DELETE", lambda v: None),
]


def call(api, method: str, body, visit, visit_id=None):
    kwargs = {} if body(visit) is None else {"json": body(visit)}
    return api.request(method, f"/visits/{visit_id or visit.id}", **kwargs)


def denials(user, path: str) -> list:
    return [e for e in audit_events("denied", user_id=user.id) if e.detail["path"] == BASE + path]


# --- Roles without family data -------------------------------------------------------------


@pytest.mark.parametrize("role", NO_FAMILY_DATA)
def test_fiscal_hosts_and_admins_get_403_on_every_visit_endpoint(world, api_as, role):
    user = world.coalition.fiscal_host if role == "fiscal_host" else world.coalition.admin
    api = api_as(user)
    visit = world.visits.visitors

    assert_problem(api.get("/visits"), 403)
    assert_problem(api.post("/visits", json=completed_visit(visit.family)), 403)
    for method, body in ONE_VISIT:
        assert_problem(call(api, method, body, visit), 403)
    assert_problem(api.put(f"/visits/{uuid.uuid4()}", json=completed_visit(visit.family)), 403)

    assert len(audit_events("denied", user_id=user.id)) == 7
    stored = fresh_visit(visit.id)
    assert (stored.version, stored.voided_at, stored.notes) == (1, None, None)
    assert stored_visits() == 5


# --- Roles with family data: in scope and out of it ----------------------------------------


@pytest.mark.parametrize("role", FAMILY_ROLES)
@pytest.mark.parametrize(("method", "body"), ONE_VISIT, ids=[m for m, _ in ONE_VISIT])
def test_each_role_reaches_exactly_the_visits_of_its_families(world, api_as, role, method, body):
    user = world.users[role]
    api = api_as(user)
    for name, visit in vars(world.visits).items():
        response = call(api, method, body, visit)

        if name in world.visible[role]:
            assert response.status_code == 200, (name, response.get_json())
        else:
            assert_problem(response, 404)
            (event,) = denials(user, f"/visits/{visit.id}")
            assert (event.object_type, event.object_id) == ("visit", str(visit.id))
            assert event.detail["status"] == 404
            stored = fresh_visit(visit.id)
            assert (stored.version, stored.voided_at, stored.notes) == (1, None, None)


def test_another_agencys_visit_is_a_404_its_admin_can_see_in_the_audit_log(world, api_as):
    visitor = world.a.visitor
    theirs = world.visits.agency_b

    response = api_as(visitor).get(f"/visits/{theirs.id}")

    assert_problem(response, 404)
    (event,) = denials(visitor, f"/visits/{theirs.id}")
    assert event.object_agency_id == world.b.agency.id
    assert event.actor_agency_id == world.a.agency.id
    seen_by_b = api_as(world.b.admin).get(
        "/audit-events", query_string={"action": "denied", "object_id": str(theirs.id)}
    )
    assert [e["user_id"] for e in seen_by_b.get_json()["items"]] == [str(visitor.id)]


def test_a_guessed_visit_id_gets_the_same_404_as_another_agencys(world, api_as):
    api = api_as(world.a.admin)

    existing = api.get(f"/visits/{world.visits.agency_b.id}")
    missing = api.get(f"/visits/{uuid.uuid4()}")

    assert existing.status_code == missing.status_code == 404
    assert existing.get_json() == missing.get_json()
    assert_problem(api.get("/visits/42"), 404)


def test_a_put_to_another_agencys_visit_is_a_404_and_changes_nothing(world, api_as):
    theirs = world.visits.agency_b
    body = completed_visit(world.families.visitors, notes="Overwritten?")

    response = api_as(world.a.admin).put(f"/visits/{theirs.id}", json=body)

    assert_problem(response, 404)
    stored = fresh_visit(theirs.id)
    assert (stored.family_id, stored.version, stored.notes) == (world.families.agency_b.id, 1, None)


@pytest.mark.parametrize("role", FAMILY_ROLES)
def test_each_role_lists_exactly_the_visits_of_its_families(world, api_as, role):
    response = api_as(world.users[role]).get("/visits")

    assert response.status_code == 200
    listed = {item["id"] for item in response.get_json()["items"]}
    expected = {str(getattr(world.visits, name).id) for name in world.visible[role]}
    assert listed == expected
    assert response.get_json()["total"] == len(expected)


@pytest.mark.parametrize("role", FAMILY_ROLES)
def test_each_role_logs_a_visit_for_a_family_in_scope(world, api_as, role):
    family = world.families.visitors

    response = api_as(world.users[role]).post("/visits", json=completed_visit(family))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["family_id"] == str(family.id)


@pytest.mark.parametrize("role", FAMILY_ROLES)
def test_a_visit_for_a_family_outside_scope_is_a_422_naming_family_id(world, api_as, role):
    api = api_as(world.users[role])
    outside = [n for n in vars(world.families) if n not in world.visible[role]]

    for name in outside:
        family = getattr(world.families, name)
        assert_problem(api.post("/visits", json=completed_visit(family)), 422, "family_id")
        body = completed_visit(family)
        assert_problem(api.put(f"/visits/{uuid.uuid4()}", json=body), 422, "family_id")
    assert stored_visits() == 5


def test_the_home_visitor_defaults_to_the_caller(world, api_as):
    family = world.families.colleagues
    response = api_as(world.a.supervisor).post("/visits", json=completed_visit(family))

    assert response.get_json()["home_visitor_id"] == str(world.a.supervisor.id)


def test_a_home_visitor_may_name_only_themself(world, api_as):
    family = world.families.visitors
    body = completed_visit(family, home_visitor_id=str(world.a.other_visitor.id))

    assert_problem(api_as(world.a.visitor).post("/visits", json=body), 422, "home_visitor_id")


def test_an_agency_admin_logging_a_visit_is_its_home_visitor_unless_naming_one(world, api_as):
    """API.md: ``home_visitor_id`` defaults to the caller, whatever the role."""
    family = world.families.colleagues
    api = api_as(world.a.admin)
    own = api.post("/visits", json=completed_visit(family))
    named = completed_visit(family, home_visitor_id=str(world.a.other_visitor.id))
    for_colleague = api.post("/visits", json=named)

    assert own.get_json()["home_visitor_id"] == str(world.a.admin.id)
    assert for_colleague.get_json()["home_visitor_id"] == str(world.a.other_visitor.id)


def test_a_visit_made_by_another_agencys_visitor_is_refused(world, api_as):
    family = world.families.visitors
    body = completed_visit(family, home_visitor_id=str(world.b.visitor.id))

    assert_problem(api_as(world.a.admin).post("/visits", json=body), 422, "home_visitor_id")


# --- Create, read, versions ----------------------------------------------------------------


def test_a_logged_visit_is_returned_whole_with_version_1(coalition, api, family):
    caregiver, child = family.primary_caregiver, family.children[0]
    body = completed_visit(
        family,
        location="community",
        participants=[str(caregiver.id), str(child.id)],
        topics=["parenting", "child_concerns_asked"],
        notes="Library story time",
    )

    created = api.post("/visits", json=body)
    read = api.get(f"/visits/{created.get_json()['id']}")

    assert created.status_code == 201
    assert created.headers["ETag"] == read.headers["ETag"] == '"1"'
    visit = read.get_json()
    assert visit == created.get_json()
    assert visit["status"] == "completed"
    assert visit["home_visitor_id"] == str(coalition.a.visitor.id)
    assert visit["started_at"] == body["started_at"]
    assert visit["duration_minutes"] == 60
    assert visit["location"] == "community"
    assert visit["participants"] == [str(caregiver.id), str(child.id)]
    assert visit["topics"] == ["parenting", "child_concerns_asked"]
    assert visit["notes"] == "Library story time"
    assert (visit["version"], visit["voided_at"], visit["void_reason"]) == (1, None, None)
    assert len(audit_events("create", object_id=visit["id"])) == 1


def test_a_tablet_may_send_back_what_it_received(api, family):
    visit = api.post("/visits", json=completed_visit(family)).get_json()
    visit["notes"] = "Added at home"

    response = api.put(f"/visits/{visit['id']}", json=visit)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["notes"] == "Added at home"
    assert response.get_json()["version"] == 2


def test_an_unknown_field_is_a_422_naming_it(api, family):
    body = completed_visit(family, mood="good")

    assert_problem(api.post("/visits", json=body), 422, "mood")


def test_a_patch_that_changes_something_is_the_next_version(api, family):
    visit = VisitFactory(family=family)

    response = api.patch(f"/visits/{visit.id}", json={"topics": ["safety"]})

    assert response.status_code == 200
    assert response.get_json()["topics"] == ["safety"]
    assert (response.get_json()["version"], response.headers["ETag"]) == (2, '"2"')
    assert len(audit_events("update", object_id=visit.id)) == 1


def test_a_patch_with_the_values_already_stored_keeps_the_version(api, family):
    visit = VisitFactory(family=family, notes="Same")

    response = api.patch(f"/visits/{visit.id}", json={"notes": "Same", "location": "home"})

    assert response.status_code == 200
    assert response.get_json()["version"] == 1
    assert audit_events("update", object_id=visit.id) == []


# --- PUT with a client id ------------------------------------------------------------------


@pytest.mark.parametrize("exists", [False, True])
def test_a_put_whose_body_names_another_id_is_a_422_naming_id(api, family, exists):
    visit_id = uuid.uuid4()
    if exists:
        api.put(f"/visits/{visit_id}", json=completed_visit(family))
    body = completed_visit(family, id=str(uuid.uuid4()), notes="Meant for another visit")

    assert_problem(api.put(f"/visits/{visit_id}", json=body), 422, "id")
    assert stored_visits() == (1 if exists else 0)
    assert audit_events("update", object_id=visit_id) == []


def test_put_creates_with_the_client_id_then_a_repeat_changes_nothing(api, family):
    visit_id = uuid.uuid4()
    body = completed_visit(family, topics=["health"], ended_at=None, duration_minutes=45)

    first = api.put(f"/visits/{visit_id}", json=body)
    again = api.put(f"/visits/{visit_id}", json=body)

    assert first.status_code == 201
    assert first.get_json()["id"] == str(visit_id)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == '"1"'
    assert stored_visits() == 1
    assert len(audit_events("create", object_id=visit_id)) == 1
    assert audit_events("update", object_id=visit_id) == []


def test_a_put_with_ended_at_only_repeats_the_same_way(api, family):
    visit_id = uuid.uuid4()
    started = hours_ago(30)
    body = completed_visit(
        family, started_at=stamp(started), duration_minutes=None, ended_at=stamp(hours_ago(29))
    )

    first = api.put(f"/visits/{visit_id}", json=body)
    again = api.put(f"/visits/{visit_id}", json=body)

    assert first.status_code == 201
    assert first.get_json()["duration_minutes"] == 60
    assert again.get_json() == first.get_json()
    assert audit_events("update", object_id=visit_id) == []


def test_a_put_replaces_the_writable_fields(api, family):
    visit = VisitFactory(family=family, notes="Old", topics=["health"], location="virtual")
    body = completed_visit(family, started_at=stamp(visit.started_at))

    response = api.put(f"/visits/{visit.id}", json=body)

    assert response.status_code == 200
    replaced = response.get_json()
    assert (replaced["notes"], replaced["topics"], replaced["location"]) == (None, [], "home")
    assert replaced["version"] == 2


def test_a_put_body_naming_another_id_is_a_422(api, family):
    visit = VisitFactory(family=family)
    body = completed_visit(family, id=str(uuid.uuid4()))

    assert_problem(api.put(f"/visits/{visit.id}", json=body), 422, "id")


def test_a_visits_family_cannot_change(coalition, api, family):
    visit = VisitFactory(family=family)
    other = FamilyFactory(home_visitor=coalition.a.visitor)

    assert_problem(api.patch(f"/visits/{visit.id}", json={"family_id": str(other.id)}), 422)
    assert fresh_visit(visit.id).family_id == family.id


# --- If-Match ------------------------------------------------------------------------------


def test_if_match_with_the_current_version_applies(api, family):
    visit = VisitFactory(family=family)

    response = api.patch(f"/visits/{visit.id}", json={"notes": "x"}, headers={"If-Match": '"1"'})

    assert response.status_code == 200
    assert response.get_json()["version"] == 2


def test_a_stale_if_match_is_a_412_and_nothing_changes(api, family):
    visit = VisitFactory(family=family)
    api.patch(f"/visits/{visit.id}", json={"notes": "The other tablet's note"})
    stale = {"If-Match": '"1"'}

    for response in (
        api.patch(f"/visits/{visit.id}", json={"notes": "mine"}, headers=stale),
        api.put(f"/visits/{visit.id}", json=_put_body(visit), headers=stale),
        api.delete(f"/visits/{visit.id}", headers=stale),
    ):
        assert_problem(response, 412)
        assert response.headers["ETag"] == '"2"'

    stored = fresh_visit(visit.id)
    assert (stored.version, stored.notes, stored.voided_at) == (2, "The other tablet's note", None)


# --- Voiding -------------------------------------------------------------------------------


def test_delete_voids_the_visit_which_leaves_the_list_and_answers_its_own_get(api, family):
    visit = VisitFactory(family=family)
    kept = VisitFactory(family=family)

    response = api.delete(f"/visits/{visit.id}", query_string={"reason": "Logged twice"})

    assert response.status_code == 200
    voided = response.get_json()
    assert voided["voided_at"] is not None
    assert (voided["void_reason"], voided["version"]) == ("Logged twice", 2)
    assert [v["id"] for v in api.get("/visits").get_json()["items"]] == [str(kept.id)]
    listed = api.get("/visits", query_string={"include_voided": "true"}).get_json()["items"]
    assert {v["id"] for v in listed} == {str(visit.id), str(kept.id)}
    assert api.get(f"/visits/{visit.id}").get_json() == voided
    assert stored_visits() == 2  # voided, never deleted
    assert len(audit_events("void", object_id=visit.id)) == 1


def test_repeating_a_delete_answers_200_and_changes_nothing(api, family):
    visit = VisitFactory(family=family)

    first = api.delete(f"/visits/{visit.id}", query_string={"reason": "Logged twice"})
    again = api.delete(f"/visits/{visit.id}", query_string={"reason": "Another reason"})

    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert len(audit_events("void", object_id=visit.id)) == 1


def test_a_voided_visit_refuses_edits_with_409(api, family):
    visit = VisitFactory(family=family)
    api.delete(f"/visits/{visit.id}")

    assert_problem(api.patch(f"/visits/{visit.id}", json={"notes": "x"}), 409)
    assert_problem(api.put(f"/visits/{visit.id}", json=_put_body(visit)), 409)
    assert fresh_visit(visit.id).version == 2


# --- The list ------------------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def march(coalition, family):
    """A home visitor's March in Chicago, and a colleague's visit to another family."""
    a = coalition.a
    other_family = FamilyFactory(home_visitor=a.supervisor)
    return SimpleNamespace(
        # 2026-03-10T03:00Z is 22:00 on the 9th in Chicago.
        late_on_the_9th=VisitFactory(family=family, started_at=at("2026-03-10T03:00:00Z")),
        on_the_10th=VisitFactory(family=family, started_at=at("2026-03-10T15:00:00Z")),
        missed_on_the_11th=VisitFactory(
            family=family,
            status="missed",
            started_at=None,
            scheduled_for=at("2026-03-11T16:00:00Z"),
            missed_reason="family_not_home",
        ),
        booked_for_the_12th=VisitFactory(
            family=family,
            status="scheduled",
            started_at=None,
            scheduled_for=at("2026-03-12T14:00:00Z"),
        ),
        other_family=other_family,
        supervisors_visit=VisitFactory(
            family=other_family,
            started_at=at("2026-03-10T18:00:00Z"),
            home_visitor_id=a.supervisor.id,
        ),
    )


def listed(api, **query) -> list[str]:
    response = api.get("/visits", query_string=query)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def ids(*visits) -> list[str]:
    return [str(v.id) for v in visits]


def test_the_list_is_newest_first_by_started_at_else_scheduled_for(coalition, api_as, march):
    everything = listed(api_as(coalition.a.supervisor))

    assert everything == ids(
        march.booked_for_the_12th,
        march.missed_on_the_11th,
        march.supervisors_visit,
        march.on_the_10th,
        march.late_on_the_9th,
    )


def test_the_list_filters_by_family_home_visitor_and_status(coalition, api_as, march, family):
    api = api_as(coalition.a.supervisor)

    assert listed(api, family_id=str(march.other_family.id)) == ids(march.supervisors_visit)
    assert listed(api, home_visitor_id=str(coalition.a.supervisor.id)) == ids(
        march.supervisors_visit
    )
    assert listed(api, status="missed") == ids(march.missed_on_the_11th)
    assert listed(api, status="completed", family_id=str(family.id)) == ids(
        march.on_the_10th, march.late_on_the_9th
    )


def test_from_and_to_are_days_in_the_agencys_time_zone(coalition, api_as, march):
    api = api_as(coalition.a.visitor)

    assert listed(api, **{"from": "2026-03-09", "to": "2026-03-09"}) == ids(march.late_on_the_9th)
    assert listed(api, **{"from": "2026-03-10", "to": "2026-03-10"}) == ids(march.on_the_10th)
    assert listed(api, **{"from": "2026-03-11"}) == ids(
        march.booked_for_the_12th, march.missed_on_the_11th
    )
    assert listed(api, to="2026-03-10") == ids(march.on_the_10th, march.late_on_the_9th)


def test_a_filter_naming_a_family_outside_scope_gives_an_empty_list(coalition, api_as, march):
    api = api_as(coalition.a.visitor)
    theirs = FamilyFactory(home_visitor=coalition.b.visitor)
    VisitFactory(family=theirs)

    assert listed(api, family_id=str(march.other_family.id)) == []
    assert listed(api, family_id=str(theirs.id)) == []
    assert listed(api, home_visitor_id=str(coalition.b.visitor.id)) == []


def test_a_visit_with_no_time_at_all_comes_last(coalition, api_as, march, family):
    """A visit cancelled before it was booked has neither time; it sorts after every dated one
    on every database."""
    undated = VisitFactory(family=family, status="cancelled", started_at=None)

    everything = listed(api_as(coalition.a.visitor))

    assert everything[-1] == str(undated.id)
    assert len(everything) == 5


def test_the_list_is_paged_with_ties_broken_by_id(api, family):
    same_time = hours_ago(50)
    visits = [VisitFactory(family=family, started_at=same_time) for _ in range(5)]

    first = api.get("/visits", query_string={"per_page": 2}).get_json()
    pages = [
        api.get("/visits", query_string={"per_page": 2, "page": n}).get_json() for n in (1, 2, 3)
    ]

    assert (first["page"], first["per_page"], first["total"]) == (1, 2, 5)
    walked = [item["id"] for page in pages for item in page["items"]]
    assert walked == sorted(str(v.id) for v in visits)


def test_bad_list_parameters_are_422(api):
    assert_problem(api.get("/visits", query_string={"status": "done"}), 422, "status")
    assert_problem(api.get("/visits", query_string={"from": "2026-13-01"}), 422, "from")
    assert_problem(api.get("/visits", query_string={"per_page": 201}), 422, "per_page")


def test_a_list_is_one_search_event_with_its_filters(coalition, api):
    family_id = str(uuid.uuid4())
    api.get("/visits", query_string={"family_id": family_id, "status": "completed"})

    (event,) = audit_events("search", user_id=coalition.a.visitor.id)
    assert event.object_type == "visit"
    assert (event.detail["family_id"], event.detail["status"]) == (family_id, "completed")


# --- Idempotency-Key -----------------------------------------------------------------------


def test_a_repeated_post_with_the_same_key_logs_one_visit(api, family):
    key = {"Idempotency-Key": "visit-2026-03-10-lopez"}
    body = completed_visit(family, notes="Tummy time")

    first = api.post("/visits", json=body, headers=key)
    again = api.post("/visits", json=body, headers=key)

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert stored_visits() == 1


def test_the_same_key_with_another_body_is_a_422(api, family):
    key = {"Idempotency-Key": "visit-1"}
    api.post("/visits", json=completed_visit(family), headers=key)

    response = api.post("/visits", json=completed_visit(family, notes="Other"), headers=key)

    assert_problem(response, 422, "Idempotency-Key")
    assert stored_visits() == 1


def test_a_refused_post_leaves_its_key_free_for_a_retry(api, family):
    key = {"Idempotency-Key": "visit-retry"}
    bad = completed_visit(family, duration_minutes=None)

    assert_problem(api.post("/visits", json=bad, headers=key), 422)
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    assert api.post("/visits", json=completed_visit(family), headers=key).status_code == 201
