"""Exactly once: a device that sends a change again (its connection dropped, it restarted, it
was restored from a backup) gets ``unchanged`` with the version the change produced, however
the record moved since, and nothing is written twice. A change without ``base_version`` is a
create: it never overwrites. Another device's change is judged on its own, never taken for a
replay."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from hvcase.common.time import utcnow
from hvcase.extensions import db
from hvcase.sync.models import AppliedChange
from tests.factories import VisitFactory
from tests.families import audit_events
from tests.sync import counts, fresh, household, sync, upsert, visit_of
from tests.visits import hours_ago, hours_ahead, stamp


def writes_of(record_id: Any) -> list[str]:
    """The audited writes of one record, oldest first (reads and searches aside)."""
    return [
        e.action for e in audit_events(object_id=record_id) if e.action not in ("read", "search")
    ]


def booked_then_made(family_id: Any, visit_id: str) -> list[dict]:
    """A visit booked offline, then made: two changes of one new record in one batch."""
    booked = {
        "family_id": str(family_id),
        "status": "scheduled",
        "scheduled_for": stamp(hours_ahead(20)),
    }
    made = visit_of(family_id, started_at=stamp(hours_ago(3)), duration_minutes=45)
    return [upsert("visit", visit_id, booked), upsert("visit", visit_id, made, base_version=1)]


def statuses(answer: dict) -> list[tuple[str, int]]:
    return [(r["status"], r["version"]) for r in answer["results"]]


def test_a_batch_creating_then_editing_a_visit_sent_twice_writes_once(api, family):
    visit_id = str(uuid.uuid4())
    batch = booked_then_made(family.id, visit_id)

    first = sync(api, batch)
    stored = counts()
    again = sync(api, batch)

    assert statuses(first) == [("applied", 1), ("applied", 2)]
    assert again["results"] == [
        {"id": visit_id, "status": "unchanged", "version": 1},
        {"id": visit_id, "status": "unchanged", "version": 2},
    ]
    visit = fresh("visit", visit_id)
    assert (visit.status, visit.version, visit.duration_minutes) == ("completed", 2, 45)
    assert counts() == stored
    assert writes_of(visit_id) == ["create", "update"]


def test_part_of_a_batch_replayed_days_later_keeps_the_edit_made_since(
    coalition, api_as, api, family
):
    """The tablet pushed a batch, lost the answer, and is restored weeks later with the batch
    still queued; meanwhile the supervisor corrected the visit. Each replayed change answers
    the version it produced; the supervisor's edit stands. (Judged on their own, the create
    would be a conflict and the edit, on version 1 of a version 3, a conflict too.)"""
    visit_id = str(uuid.uuid4())
    batch = booked_then_made(family.id, visit_id)
    other_visit = str(uuid.uuid4())
    batch.append(upsert("visit", other_visit, visit_of(family.id)))
    assert statuses(sync(api, batch)) == [("applied", 1), ("applied", 2), ("applied", 1)]
    response = api_as(coalition.a.supervisor).patch(
        f"/visits/{visit_id}", json={"notes": "Corrected by the supervisor"}
    )
    assert response.status_code == 200
    # Weeks pass (the log keeps a device's changes 90 days): age what the server remembers.
    aged = db.session.execute(
        update(AppliedChange)
        .where(AppliedChange.user_id == coalition.a.visitor.id)
        .values(applied_at=utcnow() - timedelta(days=60))
    )
    assert aged.rowcount == 3
    db.session.commit()

    late = sync(api, batch[1:2])
    later = sync(api, batch[:1])

    assert late["results"] == [{"id": visit_id, "status": "unchanged", "version": 2}]
    assert later["results"] == [{"id": visit_id, "status": "unchanged", "version": 1}]
    visit = fresh("visit", visit_id)
    assert (visit.version, visit.status) == (3, "completed")
    assert visit.notes == "Corrected by the supervisor"
    assert writes_of(visit_id) == ["create", "update", "update"]


def test_a_replayed_enrollment_is_unchanged_after_the_office_edits_the_family(
    coalition, api_as, api
):
    new = household(coalition.a.agency, name="Replay")
    change = upsert("family", new["id"], new)
    assert statuses(sync(api, [change])) == [("applied", 1)]
    response = api_as(coalition.a.supervisor).patch(
        f"/families/{new['id']}", json={"household_size": 5}
    )
    assert response.status_code == 200
    stored, written = counts(), len(writes_of(new["id"]))

    again = sync(api, [change])

    assert again["results"] == [{"id": new["id"], "status": "unchanged", "version": 1}]
    family = fresh("family", new["id"])
    assert (family.version, family.household_size) == (2, 5)
    assert sorted((c.id, c.version) for c in family.caregivers) == sorted(
        (uuid.UUID(c["id"]), 1) for c in new["caregivers"]
    )
    assert counts() == stored
    assert len(writes_of(new["id"])) == written


def test_two_devices_creating_one_visit_id_one_after_the_other(api, family):
    visit_id = str(uuid.uuid4())
    hers = visit_of(family.id, notes="Read a book together")
    theirs = visit_of(family.id, notes="Sang songs")

    first = sync(api, [upsert("visit", visit_id, hers)], device="tab-a")
    differing = sync(api, [upsert("visit", visit_id, theirs)], device="tab-b")
    identical = sync(api, [upsert("visit", visit_id, hers)], device="tab-c")

    assert first["results"] == [{"id": visit_id, "status": "applied", "version": 1}]
    assert differing["results"] == [
        {
            "id": visit_id,
            "status": "conflict",
            "version": 1,
            "current": api.get(f"/visits/{visit_id}").get_json(),
        }
    ]
    assert differing["results"][0]["current"]["notes"] == "Read a book together"
    assert identical["results"] == [{"id": visit_id, "status": "unchanged", "version": 1}]
    visit = fresh("visit", visit_id)
    assert (visit.notes, visit.version) == ("Read a book together", 1)
    assert writes_of(visit_id) == ["create"]


def test_an_upsert_without_base_version_on_an_existing_record_is_a_conflict(coalition, api, family):
    """A create meeting a record that differs never overwrites it: a visit, and a family."""
    visit = VisitFactory(family=family)
    enrolled = household(coalition.a.agency, name="Existing")
    sync(api, [upsert("family", enrolled["id"], enrolled)])
    stored, before = counts(), (writes_of(visit.id), writes_of(enrolled["id"]))
    other_visit = visit_of(family.id, started_at=stamp(visit.started_at), notes="Overwrite?")
    other_family = {**enrolled, "phone": "+16125550999", "household_size": 7}

    answer = sync(
        api,
        [upsert("visit", visit.id, other_visit), upsert("family", enrolled["id"], other_family)],
    )

    assert answer["results"] == [
        {
            "id": str(visit.id),
            "status": "conflict",
            "version": 1,
            "current": api.get(f"/visits/{visit.id}").get_json(),
        },
        {
            "id": enrolled["id"],
            "status": "conflict",
            "version": 1,
            "current": api.get(f"/families/{enrolled['id']}").get_json(),
        },
    ]
    assert (fresh("visit", visit.id).notes, fresh("visit", visit.id).version) == (None, 1)
    kept = fresh("family", enrolled["id"])
    assert (kept.phone, kept.household_size, kept.version) == ("+16125550188", 3, 1)
    assert counts() == stored
    assert (writes_of(visit.id), writes_of(enrolled["id"])) == before


def test_another_device_of_the_same_user_sending_the_same_changes_is_judged_on_its_own(
    coalition, api_as, api, family
):
    """The digest log is per device: the batch of tablet A sent from tablet B (the user's
    second tablet, a copy of A's queue) is not a replay. The create now differs from the
    record (made since): a conflict; the edit is identical to the record: unchanged."""
    visit_id = str(uuid.uuid4())
    batch = booked_then_made(family.id, visit_id)
    assert statuses(sync(api, batch, device="tab-a")) == [("applied", 1), ("applied", 2)]

    from_b = sync(api, batch, device="tab-b")

    current = api.get(f"/visits/{visit_id}").get_json()
    assert from_b["results"] == [
        {"id": visit_id, "status": "conflict", "version": 2, "current": current},
        {"id": visit_id, "status": "unchanged", "version": 2},
    ]
    assert fresh("visit", visit_id).version == 2
    assert writes_of(visit_id) == ["create", "update"]

    # The same create, after the office edited the record: a replay on A, a conflict on B.
    later_id = str(uuid.uuid4())
    create = upsert("visit", later_id, visit_of(family.id, notes="First draft"))
    assert statuses(sync(api, [create], device="tab-a")) == [("applied", 1)]
    response = api_as(coalition.a.supervisor).patch(
        f"/visits/{later_id}", json={"notes": "Office draft"}
    )
    assert response.status_code == 200

    on_a = sync(api, [create], device="tab-a")
    on_b = sync(api, [create], device="tab-b")

    assert on_a["results"] == [{"id": later_id, "status": "unchanged", "version": 1}]
    assert on_b["results"] == [
        {
            "id": later_id,
            "status": "conflict",
            "version": 2,
            "current": api.get(f"/visits/{later_id}").get_json(),
        }
    ]
    assert (fresh("visit", later_id).notes, fresh("visit", later_id).version) == (
        "Office draft",
        2,
    )
