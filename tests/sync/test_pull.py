"""Pulling what changed in one's scope: everything on a first pull and nothing outside scope;
pages that neither skip nor repeat; edits, voids and reassignments as they happen; families
ahead of their members."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from types import SimpleNamespace

import pytest

from tests.api import assert_problem
from tests.factories import (
    CaregiverFactory,
    VisitFactory,
    family_world,
)
from tests.families import audit_events
from tests.sync import household, keys, pull_all, records_of, sync, upsert, visit_of


@pytest.fixture
def world(coalition) -> SimpleNamespace:
    """Agency a's families, one per relation to its staff, and one of agency b; each with a
    child and two visits."""
    world = family_world(coalition, unassigned=False)
    families = vars(world.families)
    world.visits = {
        name: [VisitFactory(family=f), VisitFactory(family=f)] for name, f in families.items()
    }
    world.records = {name: records_of(f, world.visits[name]) for name, f in families.items()}
    return world


def expected(world, role: str) -> set[tuple[str, str]]:
    return set().union(*(world.records[name] for name in world.visible[role]))


def assert_families_first(changes: list[dict]) -> None:
    """Within the stream, a family comes before any of its caregivers, children and visits."""
    seen_at: dict[str, int] = {}
    for index, change in enumerate(changes):
        if change["entity"] == "family":
            seen_at.setdefault(change["id"], index)
    for index, change in enumerate(changes):
        if change["entity"] == "family" or "data" not in change:
            continue
        family_id = change["data"]["family_id"]
        if family_id in seen_at:
            assert seen_at[family_id] < index, (change["entity"], index, seen_at[family_id])


# --- A first pull --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["home_visitor", "supervisor", "agency_admin"])
def test_a_first_pull_brings_everything_in_scope_and_nothing_else(world, api_as, role):
    changes, _cursor, _requests = pull_all(api_as(world.users[role]))

    assert set(keys(changes)) == expected(world, role)
    assert len(changes) == len(expected(world, role))
    assert all("removed" not in c and "voided" not in c for c in changes)
    assert_families_first(changes)


def test_pulled_records_are_as_get_returns_them(world, api_as):
    api = api_as(world.a.visitor)
    family = world.families.visitors

    changes, _cursor, _requests = pull_all(api)

    by_key = {(c["entity"], c["id"]): c for c in changes}
    pulled_family = by_key[("family", str(family.id))]
    listed = api.get("/families").get_json()["items"][0]
    assert pulled_family["data"] == listed
    assert pulled_family["version"] == listed["version"]
    for visit in world.visits["visitors"]:
        pulled = by_key[("visit", str(visit.id))]
        assert pulled["data"] == api.get(f"/visits/{visit.id}").get_json()
    caregiver = family.primary_caregiver
    assert by_key[("caregiver", str(caregiver.id))]["data"] == (
        api.get(f"/caregivers/{caregiver.id}").get_json()
    )


def test_a_lead_agency_admin_pulls_nothing_of_the_members(world, api_as):
    changes, _cursor, _requests = pull_all(api_as(world.coalition.lead_admin))

    assert changes == []


@pytest.mark.parametrize("role", ["fiscal_host", "admin"])
def test_roles_without_family_data_may_not_pull(world, api_as, role):
    user = getattr(world.coalition, role)
    response = api_as(user).post("/sync", json={"device_id": "x", "changes": []})

    assert_problem(response, 403)


# --- Pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["home_visitor", "supervisor", "agency_admin"])
def test_pages_of_three_walk_every_change_once(world, api_as, role):
    api = api_as(world.users[role])
    whole, _cursor, _requests = pull_all(api, limit=1000)

    paged, cursor, requests = pull_all(api, limit=3)

    assert keys(paged) == keys(whole)
    assert len(set(keys(paged))) == len(paged)
    assert requests == math.ceil(len(whole) / 3)
    assert sync(api, cursor=cursor, limit=3) == {
        "results": [],
        "changes": [],
        "cursor": cursor,
        "more": False,
    }


def test_each_page_says_whether_more_follow(world, api_as):
    api = api_as(world.a.visitor)  # a family, a caregiver, a child and two visits: five
    first = sync(api, limit=3)
    second = sync(api, cursor=first["cursor"], limit=3)

    assert (len(first["changes"]), first["more"]) == (3, True)
    assert (len(second["changes"]), second["more"]) == (2, False)


def test_writes_committed_while_paging_are_neither_skipped_nor_repeated(world, api_as):
    api = api_as(world.a.supervisor)
    office = api_as(world.a.admin)
    pages, cursor = [], None
    first_visit, last_visit = world.visits["visitors"][0], world.visits["supervisors"][1]
    while True:
        answer = sync(api, cursor=cursor, limit=4)
        pages.append(answer["changes"])
        cursor = answer["cursor"]
        if len(pages) == 1:  # another device writes between two pages
            office.patch(f"/visits/{first_visit.id}", json={"notes": "Edited mid-pull"})
            office.patch(f"/visits/{last_visit.id}", json={"notes": "Edited mid-pull"})
        if not answer["more"]:
            break

    stream = [c for page in pages for c in page]
    versions = Counter((c["entity"], c["id"], c.get("version")) for c in stream)
    assert max(versions.values()) == 1
    assert set(keys(stream)) == expected(world, "supervisor")
    # An edited visit sent before its edit comes again, once, at its new version; one not sent
    # yet comes only as it now stands.
    before_edit = set(keys(pages[0]))
    for visit in (first_visit, last_visit):
        seen = [c["version"] for c in stream if c["id"] == str(visit.id)]
        assert seen == ([1, 2] if ("visit", str(visit.id)) in before_edit else [2])


# --- After a pull --------------------------------------------------------------------------


def test_after_a_pull_the_cursor_brings_nothing(world, api_as):
    api = api_as(world.a.admin)
    _changes, cursor, _requests = pull_all(api)

    again = sync(api, cursor=cursor)

    assert (again["changes"], again["more"]) == ([], False)


def test_an_edit_after_the_cursor_comes_back_exactly_once(world, api_as):
    api = api_as(world.a.visitor)
    _changes, cursor, _requests = pull_all(api)
    visit = world.visits["visitors"][0]
    family = world.families.visitors
    api_as(world.a.supervisor).patch(f"/visits/{visit.id}", json={"notes": "Supervisor's note"})
    api_as(world.a.supervisor).patch(f"/families/{family.id}", json={"household_size": 6})

    changes, cursor, _requests = pull_all(api, cursor)

    # In the order they were made: the tablet has the family already, so its visit need not
    # wait for it.
    assert keys(changes) == [("visit", str(visit.id)), ("family", str(family.id))]
    assert changes[0]["version"] == 2
    assert changes[0]["data"]["notes"] == "Supervisor's note"
    assert changes[1]["data"]["household_size"] == 6
    assert pull_all(api, cursor)[0] == []


def test_a_new_member_comes_alone(world, api_as):
    api = api_as(world.a.visitor)
    _changes, cursor, _requests = pull_all(api)
    family = world.families.visitors
    grandmother = CaregiverFactory(family=family, relationship_to_child="grandparent")

    changes, _cursor, _requests = pull_all(api, cursor)

    assert keys(changes) == [("caregiver", str(grandmother.id))]


def test_out_of_scope_edits_never_come(world, api_as):
    api = api_as(world.a.visitor)
    _changes, cursor, _requests = pull_all(api)
    for name in ("colleagues", "agency_b"):
        VisitFactory(family=getattr(world.families, name))
        api_as(world.a.admin).patch(
            f"/visits/{world.visits[name][0].id}", json={"notes": "Not yours"}
        )

    assert pull_all(api, cursor)[0] == []


def test_a_voided_record_comes_as_voided_only(world, api_as):
    api = api_as(world.a.visitor)
    _changes, cursor, _requests = pull_all(api)
    visit = world.visits["visitors"][1]
    child = world.families.visitors.children[0]
    api.delete(f"/visits/{visit.id}", query_string={"reason": "Duplicate"})
    api.delete(f"/children/{child.id}")

    changes, cursor, _requests = pull_all(api, cursor)

    assert changes == [
        {"entity": "visit", "id": str(visit.id), "voided": True},
        {"entity": "child", "id": str(child.id), "voided": True},
    ]
    assert pull_all(api, cursor)[0] == []


def test_a_voided_record_comes_as_voided_on_a_first_pull_too(world, api_as):
    api = api_as(world.a.visitor)
    visit = world.visits["visitors"][1]
    api.delete(f"/visits/{visit.id}")

    changes, _cursor, _requests = pull_all(api)

    assert {"entity": "visit", "id": str(visit.id), "voided": True} in changes


# --- Reassignment --------------------------------------------------------------------------


def test_a_family_reassigned_away_is_removed_with_everything_recorded_for_it(world, api_as):
    visitor = api_as(world.a.visitor)
    _changes, cursor, _requests = pull_all(visitor)
    family = world.families.visitors

    api_as(world.a.supervisor).post(
        f"/families/{family.id}/assignment", json={"home_visitor_id": str(world.a.other_visitor.id)}
    )
    changes, cursor, _requests = pull_all(visitor, cursor)

    assert set(keys(changes)) == world.records["visitors"]
    assert len(changes) == len(world.records["visitors"])
    assert all(c == {"entity": c["entity"], "id": c["id"], "removed": True} for c in changes)
    assert changes[-1]["entity"] == "family"  # a family leaves after its records
    last_pull = audit_events("search", object_type="sync", user_id=world.a.visitor.id)[-1]
    assert last_pull.detail["families_removed"] == [str(family.id)]
    assert "families_sent" not in last_pull.detail
    assert pull_all(visitor, cursor)[0] == []
    assert_problem(visitor.get(f"/visits/{world.visits['visitors'][0].id}"), 404)


def test_a_family_reassigned_to_a_visitor_comes_whole_in_their_next_pull(world, api_as):
    colleague = api_as(world.a.other_visitor)
    _changes, cursor, _requests = pull_all(colleague)
    family = world.families.visitors

    api_as(world.a.supervisor).post(
        f"/families/{family.id}/assignment", json={"home_visitor_id": str(world.a.other_visitor.id)}
    )
    changes, cursor, _requests = pull_all(colleague, cursor)

    assert set(keys(changes)) == world.records["visitors"]
    assert all("data" in c for c in changes)
    assert_families_first(changes)
    assert pull_all(colleague, cursor)[0] == []


def test_a_family_that_comes_back_is_data_again(world, api_as):
    visitor = api_as(world.a.visitor)
    _changes, cursor, _requests = pull_all(visitor)
    family = world.families.visitors
    admin = api_as(world.a.admin)
    admin.post(
        f"/families/{family.id}/assignment", json={"home_visitor_id": str(world.a.other_visitor.id)}
    )
    _removed, cursor, _requests = pull_all(visitor, cursor)

    admin.post(
        f"/families/{family.id}/assignment", json={"home_visitor_id": str(world.a.visitor.id)}
    )
    changes, _cursor, _requests = pull_all(visitor, cursor)

    assert set(keys(changes)) == world.records["visitors"]
    assert all("data" in c for c in changes)


def test_a_reassignment_within_a_supervisors_scope_sends_only_the_family(world, api_as):
    supervisor = api_as(world.a.supervisor)
    _changes, cursor, _requests = pull_all(supervisor)
    family = world.families.visitors

    api_as(world.a.admin).post(
        f"/families/{family.id}/assignment", json={"home_visitor_id": str(world.a.other_visitor.id)}
    )
    changes, _cursor, _requests = pull_all(supervisor, cursor)

    assert keys(changes) == [("family", str(family.id))]
    assert changes[0]["data"]["home_visitor_id"] == str(world.a.other_visitor.id)


def test_a_family_removed_once_is_not_removed_again_as_it_moves_on(world, api_as):
    visitor = api_as(world.a.visitor)
    _changes, cursor, _requests = pull_all(visitor)
    family = world.families.visitors
    admin = api_as(world.a.admin)
    admin.post(
        f"/families/{family.id}/assignment", json={"home_visitor_id": str(world.a.other_visitor.id)}
    )
    removed, cursor, _requests = pull_all(visitor, cursor)
    assert len(removed) == len(world.records["visitors"])

    admin.post(
        f"/families/{family.id}/assignment", json={"home_visitor_id": str(world.a.supervisor.id)}
    )

    assert pull_all(visitor, cursor)[0] == []


# --- Order ---------------------------------------------------------------------------------


def test_a_family_edited_after_its_members_still_comes_first(world, api_as):
    """The tablet stores a caregiver, a child or a visit under its family: on a first pull,
    and on any pull that brings a family it has never seen, the family must come first,
    however long after its members it last changed."""
    api = api_as(world.a.visitor)
    _changes, cursor, _requests = pull_all(api)
    new = household(world.a.agency)
    sync(api, [upsert("family", new["id"], new)])
    sync(api, [upsert("visit", uuid.uuid4(), visit_of(new["id"]))])
    api.patch(f"/families/{new['id']}", json={"household_size": 5})
    family = world.families.visitors
    api.patch(f"/families/{family.id}", json={"household_size": 7})

    for start in (None, cursor):
        for limit in (1000, 3):
            changes, _cursor, _requests = pull_all(api, start, limit=limit)
            assert_families_first(changes)
            assert len(keys(changes)) == len(set(keys(changes)))


@pytest.mark.parametrize("role", ["home_visitor", "supervisor"])
def test_a_family_the_tablet_has_moves_alone_when_edited_while_it_pages(world, api_as, role):
    """Visits logged since the last sync are half pulled when the office edits their family:
    the tablet already had the family, so the visits it received do not come again; the rest
    come once, and the family at its new version."""
    api = api_as(world.users[role])
    _changes, cursor, _requests = pull_all(api)
    family = world.families.visitors
    logged = [str(uuid.uuid4()) for _ in range(4)]
    for visit_id in logged:
        sync(api_as(world.a.visitor), [upsert("visit", visit_id, visit_of(family.id))])

    first = sync(api, cursor=cursor, limit=2)
    api_as(world.a.supervisor).patch(f"/families/{family.id}", json={"household_size": 6})
    rest, _cursor, _requests = pull_all(api, first["cursor"], limit=2)
    stream = first["changes"] + rest

    assert keys(stream) == [("visit", v) for v in logged] + [("family", str(family.id))]
    assert stream[-1]["data"]["household_size"] == 6


def test_a_family_edited_while_a_tablet_pages_loses_nothing(world, api_as):
    """The office edits a new family while the admin's tablet is half-way through its pages:
    the family comes again at its new version, and every member still after it (an agency's
    tablet cannot tell a family new to it, so a member it already had may come once more: a
    repeat, never a gap)."""
    api = api_as(world.a.admin)
    _changes, cursor, _requests = pull_all(api)
    new = household(world.a.agency)
    sync(api_as(world.a.visitor), [upsert("family", new["id"], new)])
    visit_id = str(uuid.uuid4())
    sync(api_as(world.a.visitor), [upsert("visit", visit_id, visit_of(new["id"]))])
    stream = []

    first = sync(api, cursor=cursor, limit=2)
    stream += first["changes"]
    api_as(world.a.supervisor).patch(f"/families/{new['id']}", json={"household_size": 2})
    rest, _cursor, _requests = pull_all(api, first["cursor"], limit=2)
    stream += rest

    wanted = {("family", new["id"]), ("visit", visit_id)}
    wanted |= {("caregiver", c["id"]) for c in new["caregivers"]}
    wanted |= {("child", c["id"]) for c in new["children"]}
    assert set(keys(stream)) == wanted
    last_family = [c for c in stream if c["id"] == new["id"]][-1]
    assert (last_family["version"], last_family["data"]["household_size"]) == (2, 2)
    assert_families_first(stream)
