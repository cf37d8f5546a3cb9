"""The contract every entity /sync records must keep, tried on each one the registry holds:
scope (nothing out of it is written, read or pulled), replays that change nothing, creates and
stale edits that never overwrite, records that leave after their family and arrive after it,
and nested records checked against their versions.

The tests are parametrised by ``hvcase.sync.entities.ENTITIES`` at collection time, and each
reads the entity's example in ``tests/sync/examples.py``: registering an entity gives it every
test here, and an entity without an example fails until one is added."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from hvcase import create_app
from hvcase.extensions import db
from hvcase.sync.entities import ENTITIES
from tests.api import ApiClient, assert_problem
from tests.factories import NO_FAMILY_DATA, FamilyFactory, family_world
from tests.sync import keys, pull_all, sync, upsert, void
from tests.sync.examples import EXAMPLES, Example, example_of, how_to_add, missing_examples

FAMILY_ROLES = ("home_visitor", "supervisor", "agency_admin")


def registered() -> list[str]:
    """The entity names the app syncs, known at collection. Domains register their entities
    as ``create_app`` runs (after collection, when the tests' app is made): an app made here
    registers them as the running app does, whichever were imported already."""
    create_app("testing", {"DATABASE_URL": "sqlite://", "REDIS_URL": None})
    return sorted(ENTITIES)


REGISTERED = registered()  # every test below runs on each of them
NOT_FOUND = {"id": ["not found"]}


def stored(entity: str, record_id: Any) -> Any:
    """The record as stored now (not as the test's session remembers it)."""
    db.session.expire_all()
    return db.session.get(ENTITIES[entity].model, uuid.UUID(str(record_id)))


def read(api: ApiClient, example: Example, record_id: Any) -> dict[str, Any]:
    """The record as REST GET answers it to ``api``'s user, asserted 200."""
    response = api.get(f"{example.path}/{record_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def as_stored(entity: str, record_id: Any) -> tuple:
    """What a refused change must leave as it was: the version, the void and the example's
    field (read from the model by the same name where it has one)."""
    record = stored(entity, record_id)
    field = EXAMPLES[entity].field
    return (record.version, record.voided_at, getattr(record, field, None))


def changes_by_key(changes: list[dict]) -> dict[tuple[str, str], int]:
    """Where each (entity, id) comes in a pull; asserted to come once."""
    order = keys(changes)
    assert len(order) == len(set(order)), order
    return {key: index for index, key in enumerate(order)}


@pytest.fixture
def world(coalition) -> SimpleNamespace:
    """Agency a's families, one per relation to its staff (unassigned included), and one of
    agency b; each with a primary caregiver and a child."""
    return family_world(coalition)


@pytest.fixture
def home_family(coalition) -> Any:
    """A family of agency a's home visitor, with a primary caregiver and a child."""
    return FamilyFactory(home_visitor=coalition.a.visitor, children=1)


# --- The registry and its examples ---------------------------------------------------------


def test_every_registered_entity_has_an_example():
    missing = missing_examples(ENTITIES)

    assert not missing, how_to_add(missing)


def test_the_contract_runs_on_every_entity_the_app_syncs(app):
    """What was collected is what the app (made by conftest) syncs: none missed, none extra."""
    assert REGISTERED, "no entity was registered when the tests were collected"
    assert sorted(ENTITIES) == REGISTERED


def test_every_example_names_a_registered_entity():
    """An example left behind by an entity that is no longer synced tests nothing."""
    assert set(EXAMPLES) <= set(ENTITIES), sorted(set(EXAMPLES) - set(ENTITIES))


# --- Scope ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", NO_FAMILY_DATA)
@pytest.mark.parametrize("entity", REGISTERED)
def test_roles_without_family_data_get_403_and_change_nothing(
    coalition, api_as, home_family, entity, role
):
    example = example_of(entity)
    record = example.existing(home_family)
    body = example.edit(read(api_as(coalition.a.admin), example, record.id))
    before = as_stored(entity, record.id)
    changes = [upsert(entity, record.id, body, base_version=1), void(entity, record.id, "Mine")]

    response = api_as(getattr(coalition, role)).post(
        "/sync", json={"device_id": "office-pc", "changes": changes}
    )

    assert_problem(response, 403)
    assert as_stored(entity, record.id) == before


@pytest.mark.parametrize("role", FAMILY_ROLES)
@pytest.mark.parametrize("entity", REGISTERED)
def test_a_record_out_of_scope_is_not_found_everywhere_and_never_pulled(
    world, api_as, entity, role
):
    """Upserted on its version or voided through /sync, it is rejected as an id that exists
    nowhere would be, and left as it was; GET is a 404; no pull brings it. Each record in the
    role's scope is pulled."""
    example = example_of(entity)
    families = vars(world.families)
    records = {name: example.existing(family) for name, family in families.items()}
    hidden = sorted(set(families) - world.visible[role])
    assert "agency_b" in hidden and world.visible[role]
    owners = {"agency_b": api_as(world.b.admin)}
    office = api_as(world.a.admin)
    bodies = {
        name: example.edit(read(owners.get(name, office), example, records[name].id))
        for name in hidden
    }
    before = {name: as_stored(entity, records[name].id) for name in hidden}
    api = api_as(world.users[role])
    changes = []
    for name in hidden:
        record_id = records[name].id
        changes += [
            upsert(entity, record_id, bodies[name], base_version=1),
            void(entity, record_id, "Not mine"),
        ]

    answer = sync(api, changes)

    assert answer["results"] == [
        {"id": change["id"], "status": "rejected", "errors": NOT_FOUND} for change in changes
    ]
    for name in hidden:
        assert as_stored(entity, records[name].id) == before[name], name
        assert_problem(api.get(f"{example.path}/{records[name].id}"), 404)
    pulled, _cursor, _requests = pull_all(api, device="tab-2")
    by_key = {(c["entity"], c["id"]): c for c in pulled}
    for name, record in records.items():
        change = by_key.get((entity, str(record.id)))
        if name in hidden:
            assert change is None, name
        else:
            assert change is not None, name
            assert (change["version"], change["data"]["id"]) == (1, str(record.id))


# --- Replays -------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", REGISTERED)
def test_a_create_sent_twice_is_applied_then_unchanged(api, home_family, entity):
    record_id, body = example_of(entity).new(home_family)
    change = upsert(entity, record_id, body)

    first = sync(api, [change])
    again = sync(api, [change])

    assert first["results"] == [{"id": str(record_id), "status": "applied", "version": 1}]
    assert again["results"] == [{"id": str(record_id), "status": "unchanged", "version": 1}]
    assert stored(entity, record_id).version == 1


@pytest.mark.parametrize("entity", REGISTERED)
def test_an_edit_sent_twice_is_applied_then_unchanged(api, home_family, entity):
    example = example_of(entity)
    record = example.existing(home_family)
    change = upsert(entity, record.id, example.edit(read(api, example, record.id)), base_version=1)

    first = sync(api, [change])
    again = sync(api, [change])

    assert first["results"] == [{"id": str(record.id), "status": "applied", "version": 2}]
    assert again["results"] == [{"id": str(record.id), "status": "unchanged", "version": 2}]
    assert read(api, example, record.id)[example.field] == example.values[0]
    assert stored(entity, record.id).version == 2


@pytest.mark.parametrize("entity", REGISTERED)
def test_a_void_sent_twice_is_applied_then_unchanged(coalition, api_as, home_family, entity):
    example = example_of(entity)
    record = example.existing(home_family)
    staff = {"home_visitor": coalition.a.visitor, "supervisor": coalition.a.supervisor}
    api = api_as(staff[example.void_role])
    change = void(entity, record.id, "Entered twice", base_version=1)

    first = sync(api, [change])
    again = sync(api, [change])

    assert first["results"] == [{"id": str(record.id), "status": "applied", "version": 2}]
    assert again["results"] == [{"id": str(record.id), "status": "unchanged", "version": 2}]
    kept = stored(entity, record.id)
    assert (kept.version, kept.void_reason) == (2, "Entered twice")
    assert kept.voided_at is not None


# --- Creates and stale edits never overwrite -----------------------------------------------


@pytest.mark.parametrize("entity", REGISTERED)
def test_a_create_of_an_existing_record_is_a_conflict_and_changes_nothing(api, home_family, entity):
    example = example_of(entity)
    record = example.existing(home_family)
    held = read(api, example, record.id)

    answer = sync(api, [upsert(entity, record.id, example.edit(held))])

    (result,) = answer["results"]
    assert (result["id"], result["status"], result["version"]) == (str(record.id), "conflict", 1)
    now = read(api, example, record.id)
    assert result["current"] == now
    assert now == held
    assert stored(entity, record.id).version == 1


@pytest.mark.parametrize("entity", REGISTERED)
def test_an_edit_on_a_stale_version_is_a_conflict_and_changes_nothing(
    coalition, api_as, api, home_family, entity
):
    example = example_of(entity)
    record = example.existing(home_family)
    held = read(api, example, record.id)
    office = api_as(coalition.a.supervisor)
    theirs = office.put(f"{example.path}/{record.id}", json=example.edit(held, 1))
    assert theirs.status_code == 200, theirs.get_json()

    answer = sync(api, [upsert(entity, record.id, example.edit(held, 0), base_version=1)])

    (result,) = answer["results"]
    assert (result["id"], result["status"], result["version"]) == (str(record.id), "conflict", 2)
    now = read(api, example, record.id)
    assert result["current"] == now
    assert (now["version"], now[example.field]) == (2, example.values[1])
    assert stored(entity, record.id).version == 2


@pytest.mark.parametrize("entity", REGISTERED)
def test_a_nested_record_on_a_stale_version_makes_the_change_a_conflict(
    coalition, api_as, api, entity
):
    """A caregiver listed in a family upsert at a version older than its own, with a change
    of its own, would undo the office's correction: the whole change is a conflict."""
    example = example_of(entity)
    if not example.nested:
        pytest.skip(f"{entity} has no nested records")
    office = api_as(coalition.a.admin)
    for kind, member_entity in example.nested:
        member_example = example_of(member_entity)
        family = FamilyFactory(home_visitor=coalition.a.visitor, children=1)
        record = example.existing(family)
        held = read(api, example, record.id)
        member = held[kind][0]
        corrected = office.put(
            f"{member_example.path}/{member['id']}", json=member_example.edit(member, 1)
        )
        assert corrected.get_json()["version"] == 2, corrected.get_json()
        mine = {**held, kind: [member_example.edit(member, 0), *held[kind][1:]]}

        answer = sync(api, [upsert(entity, record.id, mine, base_version=held["version"])])

        (result,) = answer["results"]
        assert (result["id"], result["status"]) == (str(record.id), "conflict"), kind
        assert result["current"] == read(api, example, record.id)
        assert stored(entity, record.id).version == held["version"]
        now = read(api, member_example, member["id"])
        assert (now["version"], now[member_example.field]) == (2, member_example.values[1])


# --- Arrivals and removals -----------------------------------------------------------------


def reassign(api: ApiClient, family: Any, home_visitor: Any) -> None:
    response = api.post(
        f"/families/{family.id}/assignment", json={"home_visitor_id": str(home_visitor.id)}
    )
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("entity", REGISTERED)
def test_a_record_leaves_with_its_family_and_before_it(coalition, api_as, api, home_family, entity):
    record = example_of(entity).existing(home_family)
    _changes, cursor, _requests = pull_all(api)

    reassign(api_as(coalition.a.supervisor), home_family, coalition.a.other_visitor)
    changes, _cursor, _requests = pull_all(api, cursor)

    at = changes_by_key(changes)
    mine, its_family = (entity, str(record.id)), ("family", str(home_family.id))
    assert mine in at and its_family in at, keys(changes)
    assert at[mine] <= at[its_family]  # the same change when the record is the family
    for key in (mine, its_family):
        assert changes[at[key]] == {"entity": key[0], "id": key[1], "removed": True}


@pytest.mark.parametrize("entity", REGISTERED)
def test_a_record_arrives_with_its_family_and_after_it(coalition, api_as, home_family, entity):
    record = example_of(entity).existing(home_family)
    colleague = api_as(coalition.a.other_visitor)
    _changes, cursor, _requests = pull_all(colleague)

    reassign(api_as(coalition.a.supervisor), home_family, coalition.a.other_visitor)
    changes, _cursor, _requests = pull_all(colleague, cursor)

    at = changes_by_key(changes)
    mine, its_family = (entity, str(record.id)), ("family", str(home_family.id))
    assert mine in at and its_family in at, keys(changes)
    assert at[its_family] <= at[mine]
    assert changes[at[mine]]["data"]["id"] == str(record.id)
    assert "data" in changes[at[its_family]]
