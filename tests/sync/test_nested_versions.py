"""A family upsert in /sync with an older copy of a caregiver or child is a conflict carrying
the family as it stands, and changes nothing (API.md, Sync, "Nested records"): the office's
correction survives the tablet's next sync."""

from __future__ import annotations

from typing import Any

import pytest

from tests.families import audit_events
from tests.sync import fresh, sync, upsert


@pytest.fixture
def office(coalition, api_as):
    """The agency's office: its admin, at a desk, correcting records."""
    return api_as(coalition.a.admin)


def pulled_family(api, family) -> dict[str, Any]:
    """The family as the tablet holds it (as GET and a pull give it), members with versions."""
    return api.get(f"/families/{family.id}").get_json()


def updates_of(record_id: Any) -> list:
    return [event.user_id for event in audit_events("update", object_id=record_id)]


@pytest.mark.parametrize(
    ("kind", "entity", "correction"),
    [
        ("caregivers", "caregiver", {"first_name": "Carla"}),
        ("children", "child", {"birth_date": "2024-05-30"}),
    ],
)
def test_a_family_upsert_with_a_stale_member_is_a_conflict_carrying_the_family(
    coalition, api, office, family, kind, entity, correction
):
    held = pulled_family(api, family)
    member = held[kind][0]
    corrected = office.put(f"/{kind}/{member['id']}", json={**member, **correction})
    assert corrected.get_json()["version"] == 2

    # The tablet's own edit is on the current family version: only the member is stale.
    mine = {**held, "phone": "+16125550999"}
    answer = sync(api, [upsert("family", family.id, mine, base_version=held["version"])])

    (result,) = answer["results"]
    assert (result["id"], result["status"]) == (str(family.id), "conflict")
    assert result["current"] == api.get(f"/families/{family.id}").get_json()
    assert result["current"][kind][0]["version"] == 2
    stored = fresh("family", family.id)
    assert (stored.phone, stored.version) == ("+16125550100", 1)
    kept = fresh(entity, member["id"])
    assert kept.version == 2
    for name, value in correction.items():
        assert str(getattr(kept, name)) == value
    assert updates_of(family.id) == []
    assert updates_of(member["id"]) == [coalition.a.admin.id]


def test_a_stale_member_sent_as_it_now_stands_is_unchanged(api, office, family):
    held = pulled_family(api, family)
    caregiver = held["caregivers"][0]
    office.put(f"/caregivers/{caregiver['id']}", json={**caregiver, "first_name": "Carla"})
    # The tablet made the very same correction offline, on version 1.
    same = {**held, "caregivers": [{**caregiver, "first_name": "Carla"}]}

    answer = sync(api, [upsert("family", family.id, same, base_version=held["version"])])

    assert answer["results"] == [{"id": str(family.id), "status": "unchanged", "version": 1}]
    assert fresh("caregiver", caregiver["id"]).version == 2


def test_a_replayed_family_upsert_is_unchanged_after_the_office_corrects_its_member(
    coalition, api, office, family
):
    held = pulled_family(api, family)
    caregiver = held["caregivers"][0]
    edited = {**held, "caregivers": [{**caregiver, "employment": "full_time"}]}
    batch = [upsert("family", family.id, edited, base_version=held["version"])]
    first = sync(api, batch)
    assert first["results"][0]["status"] == "applied"
    now = office.get(f"/caregivers/{caregiver['id']}").get_json()
    office.put(f"/caregivers/{caregiver['id']}", json={**now, "first_name": "Carla"})

    # The tablet never got the first answer and sends the batch again (exactly once).
    again = sync(api, batch)

    assert again["results"] == [
        {"id": str(family.id), "status": "unchanged", "version": first["results"][0]["version"]}
    ]
    stored = fresh("caregiver", caregiver["id"])
    assert (stored.first_name, stored.employment, stored.version) == ("Carla", "full_time", 3)
    assert updates_of(caregiver["id"])[-1] == coalition.a.admin.id
